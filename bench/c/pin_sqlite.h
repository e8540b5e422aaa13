/* tofu's SQLite store from C, opened as tofu-rpc opens it (Sources/TofuStore/SQLite/StoreFile.swift
 * and GRDB's set-up), with the statements tofu-rpc runs (SQLiteBackend.swift, PinStore.swift).
 *
 * Read connection: SQLITE_OPEN_READWRITE | CREATE | NOMUTEX | EXRESCODE (GRDB's flags),
 * `PRAGMA foreign_keys = ON` (GRDB's default), a busy handler sleeping 1 ms a try,
 * `PRAGMA query_only = 1`, GRDB's format check (`SELECT * FROM sqlite_master LIMIT 1`) and
 * tofu's schema check (the tables, and the migrations applied). Write connection: the same
 * flags, `PRAGMA journal_mode = WAL` and `PRAGMA synchronous = FULL`, every change one
 * BEGIN IMMEDIATE transaction. */
#ifndef PIN_SQLITE_H
#define PIN_SQLITE_H

#include "pin_common.h"
#include "pin_check.h"
#include <sqlite3.h>
#include <sys/stat.h>

#define TOFU_MIGRATIONS 4 /* Sources/TofuStore/SQLite/Schema.swift */

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *list, *row, *delete, *event, *insert;
} sqlite_store;

static inline int busy_wait(void *unused, int attempt) {
    (void)unused;
    if (attempt >= 5000) return 0;
    usleep(1000);
    return 1;
}

static inline void sqlite_check(sqlite_store *store, int code, const char *what) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) fail(what, sqlite3_errmsg(store->db));
}

static inline void sqlite_exec(sqlite_store *store, const char *sql) {
    sqlite_check(store, sqlite3_exec(store->db, sql, NULL, NULL, NULL), sql);
}

static inline sqlite3_stmt *sqlite_prepare(sqlite_store *store, const char *sql) {
    sqlite3_stmt *statement = NULL;
    sqlite_check(store, sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL), sql);
    return statement;
}

/* Opens `path`, which must be a current tofu store; `writer` opens it for writing. */
static inline void sqlite_open(sqlite_store *store, const char *path, int writer) {
    memset(store, 0, sizeof *store);
    struct stat info;
    if (lstat(path, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size == 0) fail(path, "not a tofu store file");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | 0x02000000 /* SQLITE_OPEN_EXRESCODE */;
    if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) fail(path, sqlite3_errmsg(store->db));
    sqlite3_busy_handler(store->db, busy_wait, NULL);
    sqlite_exec(store, "PRAGMA foreign_keys = ON");
    if (writer) {
        sqlite_exec(store, "PRAGMA journal_mode = WAL");
        sqlite_exec(store, "PRAGMA synchronous = FULL");
    } else {
        sqlite_exec(store, "PRAGMA query_only = 1");
    }
    sqlite_exec(store, "SELECT * FROM sqlite_master LIMIT 1");
    sqlite3_stmt *tables = sqlite_prepare(store, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('pin', 'event', 'dnac_server', 'grdb_migrations')");
    sqlite_check(store, sqlite3_step(tables), "schema");
    if (sqlite3_column_int(tables, 0) != 4) fail(path, "not a tofu store");
    sqlite3_finalize(tables);
    sqlite3_stmt *applied = sqlite_prepare(store, "SELECT count(*) FROM grdb_migrations");
    sqlite_check(store, sqlite3_step(applied), "migrations");
    if (sqlite3_column_int(applied, 0) != TOFU_MIGRATIONS) fail(path, "not at this tofu's schema version");
    sqlite3_finalize(applied);
    store->list = sqlite_prepare(store, "SELECT " PIN_COLUMNS " FROM pin WHERE host = ? ORDER BY host LIMIT ?");
    if (writer) {
        store->row = sqlite_prepare(store, "SELECT " PIN_COLUMNS " FROM pin WHERE host = ?");
        store->delete = sqlite_prepare(store, "DELETE FROM pin WHERE host = ?");
        store->event = sqlite_prepare(store, "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES (?, ?, ?, ?, ?)");
        store->insert = sqlite_prepare(store, "INSERT INTO pin (" PIN_INSERT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
}

/* The current row of `statement` as a pin_row (valid until the statement moves on). */
static inline void sqlite_row(sqlite3_stmt *statement, pin_row *row) {
    for (int column = 0; column < PIN_COLUMN_COUNT; column++) {
        if (column == C_DER || column == C_DER + C_NEXT) {
            row->text[column] = sqlite3_column_blob(statement, column);
            row->length[column] = (size_t)sqlite3_column_bytes(statement, column);
            continue;
        }
        row->text[column] = (const char *)sqlite3_column_text(statement, column);
        row->length[column] = (size_t)sqlite3_column_bytes(statement, column);
    }
    row->port = sqlite3_column_int64(statement, C_PORT);
}

/* listCerts {host}: the page of one host key, as a `{certs, nextCursor}` result. */
static inline json_t *sqlite_list_host(sqlite_store *store, const char *key, size_t length) {
    sqlite3_stmt *statement = store->list;
    sqlite3_bind_text(statement, 1, key, (int)length, SQLITE_STATIC);
    sqlite3_bind_int64(statement, 2, 1001);
    json_t *certs = json_array();
    int code;
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        pin_row row; sqlite_row(statement, &row);
        if (check_rows && !check_row(&row, key, length)) fail(key, "a row tofu would refuse");
        json_array_append_new(certs, pin_json(&row));
    }
    sqlite_check(store, code, "listCerts");
    sqlite3_reset(statement);
    json_t *result = json_object();
    json_object_set_new_nocheck(result, "certs", certs);
    json_object_set_new_nocheck(result, "nextCursor", json_null());
    return result;
}

/* deleteCert {host}: in one synced IMMEDIATE transaction, the row read, deleted and the
 * deletion recorded in the history, as PinStore.delete does. Returns `{deleted: Pin}`, or
 * NULL when there is no such pin (nothing changes). */
static inline json_t *sqlite_delete(sqlite_store *store, const char *key, size_t length) {
    sqlite_exec(store, "BEGIN IMMEDIATE");
    sqlite3_bind_text(store->row, 1, key, (int)length, SQLITE_STATIC);
    int code = sqlite3_step(store->row);
    sqlite_check(store, code, "deleteCert read");
    if (code != SQLITE_ROW) {
        sqlite3_reset(store->row);
        sqlite_exec(store, "ROLLBACK");
        return NULL;
    }
    pin_row row; sqlite_row(store->row, &row);
    if (check_rows && !check_row(&row, key, length)) fail(key, "a row tofu would refuse");
    json_t *deleted = pin_json(&row);
    char detail[2048], at[21];
    describe_certificate(&row, detail, sizeof detail);
    timestamp_now(at);
    sqlite3_bind_text(store->event, 1, at, -1, SQLITE_STATIC);
    sqlite3_bind_text(store->event, 2, key, (int)length, SQLITE_STATIC);
    sqlite3_bind_text(store->event, 3, "deleted", -1, SQLITE_STATIC);
    sqlite3_bind_text(store->event, 4, row.text[C_SHA], (int)row.length[C_SHA], SQLITE_TRANSIENT);
    sqlite3_bind_text(store->event, 5, detail, -1, SQLITE_STATIC);
    sqlite3_reset(store->row);
    sqlite3_bind_text(store->delete, 1, key, (int)length, SQLITE_STATIC);
    sqlite_check(store, sqlite3_step(store->delete), "deleteCert delete");
    sqlite3_reset(store->delete);
    sqlite_check(store, sqlite3_step(store->event), "deleteCert history");
    sqlite3_reset(store->event);
    sqlite_exec(store, "COMMIT");
    json_t *result = json_object();
    json_object_set_new_nocheck(result, "deleted", deleted);
    return result;
}

#endif
