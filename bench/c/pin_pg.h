/* tofu's PostgreSQL store from C through libpq, connected as tofu-rpc connects
 * (Sources/TofuStore/PostgreSQL/PGConnection.swift: the URI as dbname, connect_timeout,
 * application_name, statement/lock/idle timeouts in `options`, UTF8) and running the statements
 * tofu-rpc runs (PostgreSQLBackend.swift, PGSchema.swift), each prepared once.
 *
 * A write is tofu's transaction: BEGIN; the host's advisory lock
 * (pg_advisory_xact_lock(hashtextextended('tofu pin tofu <key>', 0))); the pin's row; the
 * change; the history row; COMMIT. One statement at a time, each waiting for its answer, as
 * tofu does (libpq's pipeline mode could send the tail of a transaction in one round trip). */
#ifndef PIN_PG_H
#define PIN_PG_H

#include "pin_common.h"
#include "pin_x509.h"
#include <libpq-fe.h>

#define TOFU_PG_MIGRATIONS 2 /* PGSchema.migrations.count */
#define TOFU_PG_TIMEOUT_MS 5000 /* tofu-rpc's --store-timeout-ms default */

typedef struct { PGconn *connection; } pg_store;

static inline PGresult *pg_checked(pg_store *store, PGresult *result, const char *what) {
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(what, PQerrorMessage(store->connection));
    return result;
}

static inline void pg_simple(pg_store *store, const char *sql) {
    PQclear(pg_checked(store, PQexec(store->connection, sql), sql));
}

static inline void pg_prepare(pg_store *store, const char *name, const char *sql) {
    PQclear(pg_checked(store, PQprepare(store->connection, name, sql, 0, NULL), sql));
}

static inline PGresult *pg_run(pg_store *store, const char *name, int count, const char *const *values, const int *lengths, const int *formats) {
    return pg_checked(store, PQexecPrepared(store->connection, name, count, values, lengths, formats, 0), name);
}

static inline void pg_open(pg_store *store, const char *uri) {
    char timeout[16], options[256];
    snprintf(timeout, sizeof timeout, "%d", TOFU_PG_TIMEOUT_MS / 1000 > 2 ? TOFU_PG_TIMEOUT_MS / 1000 : 2);
    snprintf(options, sizeof options, "-c statement_timeout=%d -c lock_timeout=%d -c idle_in_transaction_session_timeout=%d",
             TOFU_PG_TIMEOUT_MS, TOFU_PG_TIMEOUT_MS, TOFU_PG_TIMEOUT_MS > 60000 ? TOFU_PG_TIMEOUT_MS : 60000);
    const char *keywords[] = {"dbname", "connect_timeout", "application_name", "options", "client_encoding", NULL};
    const char *values[] = {uri, timeout, "tofu-ceiling", options, "UTF8", NULL};
    store->connection = PQconnectdbParams(keywords, values, 1);
    if (!store->connection || PQstatus(store->connection) != CONNECTION_OK) fail("PostgreSQL", store->connection ? PQerrorMessage(store->connection) : NULL);
    const char *schema[] = {"tofu"};
    PQclear(pg_checked(store, PQexecParams(store->connection, "SELECT set_config('search_path', $1, false)", 1, NULL, schema, NULL, NULL, 0), "search_path"));
    PGresult *version = pg_checked(store, PQexec(store->connection, "SELECT max(version) FROM migration"), "schema version");
    if (PQgetisnull(version, 0, 0) || atoi(PQgetvalue(version, 0, 0)) != TOFU_PG_MIGRATIONS) fail(uri, "not at this tofu's schema version");
    PQclear(version);
    pg_prepare(store, "list", "SELECT " PIN_COLUMNS " FROM pin WHERE host = $1 ORDER BY host LIMIT $2");
    pg_prepare(store, "lock", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
    pg_prepare(store, "row", "SELECT " PIN_COLUMNS " FROM pin WHERE host = $1");
    pg_prepare(store, "delete", "DELETE FROM pin WHERE host = $1");
    pg_prepare(store, "event", "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES ($1, $2, $3, $4, $5)");
    pg_prepare(store, "insert", "INSERT INTO pin (" PIN_INSERT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                                "$15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)");
}

static inline void pg_row(PGresult *result, int index, pin_row *row) {
    for (int column = 0; column < PIN_COLUMN_COUNT; column++) {
        if (PQgetisnull(result, index, column)) { row->text[column] = NULL; row->length[column] = 0; continue; }
        row->text[column] = PQgetvalue(result, index, column);
        row->length[column] = (size_t)PQgetlength(result, index, column);
    }
    row->port = atoll(PQgetvalue(result, index, C_PORT));
}

static inline json_t *pg_list_host(pg_store *store, const char *key) {
    const char *values[] = {key, "1001"};
    PGresult *result = pg_run(store, "list", 2, values, NULL, NULL);
    json_t *certs = json_array();
    for (int i = 0; i < PQntuples(result); i++) {
        pin_row row; pg_row(result, i, &row);
        json_array_append_new(certs, pin_json(&row));
    }
    PQclear(result);
    json_t *answer = json_object();
    json_object_set_new_nocheck(answer, "certs", certs);
    json_object_set_new_nocheck(answer, "nextCursor", json_null());
    return answer;
}

static inline void pg_begin_locked(pg_store *store, const char *key) {
    pg_simple(store, "BEGIN");
    char lock[640];
    snprintf(lock, sizeof lock, "tofu pin tofu %s", key);
    const char *values[] = {lock};
    PQclear(pg_run(store, "lock", 1, values, NULL, NULL));
}

static inline void pg_record(pg_store *store, const char *key, const char *kind, const char *fingerprint, const char *detail) {
    char at[21]; timestamp_now(at);
    const char *values[] = {at, key, kind, fingerprint, detail};
    PQclear(pg_run(store, "event", 5, values, NULL, NULL));
}

/* deleteCert {host}: `{deleted: Pin}`, or NULL when there is no such pin (nothing changes). */
static inline json_t *pg_delete(pg_store *store, const char *key) {
    pg_begin_locked(store, key);
    const char *values[] = {key};
    PGresult *found = pg_run(store, "row", 1, values, NULL, NULL);
    if (PQntuples(found) == 0) { PQclear(found); pg_simple(store, "ROLLBACK"); return NULL; }
    pin_row row; pg_row(found, 0, &row);
    json_t *deleted = pin_json(&row);
    char detail[2048]; describe_certificate(&row, detail, sizeof detail);
    char fingerprint[96]; snprintf(fingerprint, sizeof fingerprint, "%s", row.text[C_SHA]);
    PQclear(found);
    PQclear(pg_run(store, "delete", 1, values, NULL, NULL));
    pg_record(store, key, "deleted", fingerprint, detail);
    pg_simple(store, "COMMIT");
    json_t *answer = json_object();
    json_object_set_new_nocheck(answer, "deleted", deleted);
    return answer;
}

/* pinCert {host, pem}: pins if nothing is pinned (`pinned`), `matched` if the same certificate
 * is; NULL for a different pin (tofu's -32002; nothing changes). */
static inline json_t *pg_pin(pg_store *store, const char *key, const char *address, long port, const certificate_summary *summary) {
    pg_begin_locked(store, key);
    const char *lookup[] = {key};
    PGresult *found = pg_run(store, "row", 1, lookup, NULL, NULL);
    json_t *answer = json_object();
    if (PQntuples(found) > 0) {
        pin_row row; pg_row(found, 0, &row);
        int same = !strcmp(row.text[C_SHA], summary->fingerprint);
        json_object_set_new_nocheck(answer, "pin", pin_json(&row));
        json_object_set_new_nocheck(answer, "pinStatus", json_string("matched"));
        PQclear(found);
        pg_simple(store, "COMMIT");
        if (!same) { json_decref(answer); return NULL; }
        return answer;
    }
    PQclear(found);
    char at[21]; timestamp_now(at);
    pin_row row; summary_row(summary, key, address, port, at, &row);
    char port_text[8]; snprintf(port_text, sizeof port_text, "%ld", port);
    const char *values[27] = {0}; int lengths[27] = {0}, formats[27] = {0};
    for (int column = C_HOST; column < PIN_COLUMN_COUNT; column++) values[column - 1] = row.text[column];
    values[C_PORT - 1] = port_text;
    lengths[C_DER - 1] = (int)row.length[C_DER]; formats[C_DER - 1] = 1;
    PQclear(pg_run(store, "insert", 27, values, lengths, formats));
    char detail[2048]; describe_certificate(&row, detail, sizeof detail);
    pg_record(store, key, "pinned", summary->fingerprint, detail);
    pg_simple(store, "COMMIT");
    json_object_set_new_nocheck(answer, "pin", pin_json(&row));
    json_object_set_new_nocheck(answer, "pinStatus", json_string("pinned"));
    return answer;
}

#endif
