/* The same-work ceiling of tofu-rpc's hot paths: an NDJSON JSON-RPC server over stdio that
 * answers what `make bench` sends tofu-rpc, doing the work tofu-rpc must do and nothing else:
 *
 *   listCerts {host}      parse the line with jansson (as tofu-rpc: JSON_DECODE_ANY |
 *                         JSON_REJECT_DUPLICATES), check jsonrpc/method/params, normalise the
 *                         host key, read its row with the prepared statement tofu-rpc uses,
 *                         build the same Pin object, dump it compact with sorted keys;
 *   deleteCert {host}     the same, in tofu's write transaction (read, delete, history row,
 *                         commit: synced on SQLite, committed on PostgreSQL) answering {deleted};
 *   pinCert {host, pem}   (PostgreSQL build) the PEM summarised with OpenSSL as tofu does, then
 *                         tofu's pin-if-absent transaction, answering {pin, pinStatus}.
 *
 * The answers of one read() go out in one write(). Anything else gets a -32601/-32602 error.
 *
 *   pin_server [--snapshot-per-read] [--check-rows] STORE.sqlite   (jansson + SQLite;
 *                         --snapshot-per-read: the lookups of one read share one read
 *                         transaction, as tofu-rpc's do; --check-rows: each row read is checked
 *                         as tofu's RowDecoding checks it, pin_check.h)
 *   pin_server_pg postgresql://…          (built with -DWITH_PG: + libpq and OpenSSL)
 *
 * Loopback only: the PostgreSQL URI is the bench's own throwaway cluster. */
#include "pin_common.h"
#ifdef WITH_PG
#include "pin_pg.h"
static pg_store store;
#else
#include "pin_sqlite.h"
static sqlite_store reader, writer;
static const char *store_path;
#endif

static const char *const list_names[] = {"host", NULL};
static const char *const delete_names[] = {"host", NULL};

static json_t *handle(const char *line, size_t length, void *unused) {
    (void)unused;
    const char *method; json_t *params, *id;
    json_t *request = parse_request(line, length, &method, &params, &id);
    json_t *answer = NULL;
    if (!method || !params || !json_is_object(params)) {
        answer = error_response(id, -32600, "Invalid Request");
        goto done;
    }
    json_t *host = json_object_get(params, "host");
    char key[600], address[512]; long port = 0;
    if (!host || !json_is_string(host) || !host_key(json_string_value(host), json_string_length(host), key, sizeof key, address, sizeof address, &port)) {
        answer = error_response(id, -32602, "Invalid params");
        goto done;
    }
    size_t key_length = strlen(key);
    (void)key_length;
    if (!strcmp(method, "listCerts")) {
        if (!only_names(params, list_names)) { answer = error_response(id, -32602, "Invalid params"); goto done; }
#ifdef WITH_PG
        answer = response(id, pg_list_host(&store, key));
#else
        answer = response(id, sqlite_list_host(&reader, key, key_length));
#endif
    } else if (!strcmp(method, "deleteCert")) {
        if (!only_names(params, delete_names)) { answer = error_response(id, -32602, "Invalid params"); goto done; }
#ifdef WITH_PG
        json_t *result = pg_delete(&store, key);
#else
        if (!writer.db) sqlite_open(&writer, store_path, 1);
        json_t *result = sqlite_delete(&writer, key, key_length);
#endif
        answer = result ? response(id, result) : error_response(id, -32001, "No certificate is pinned for this host");
#ifdef WITH_PG
    } else if (!strcmp(method, "pinCert")) {
        static const char *const pin_names[] = {"host", "pem", NULL};
        json_t *pem = json_object_get(params, "pem");
        certificate_summary summary;
        if (!only_names(params, pin_names) || !pem || !json_is_string(pem) || !summarise_pem(json_string_value(pem), json_string_length(pem), &summary)) {
            answer = error_response(id, -32602, "Invalid params");
            goto done;
        }
        json_t *result = pg_pin(&store, key, address, port, &summary);
        summary_free(&summary);
        answer = result ? response(id, result) : error_response(id, -32002, "A different certificate is pinned for this host");
#endif
    } else {
        answer = error_response(id, -32601, "Method not found");
    }
done:
    json_decref(request);
    return answer;
}

#ifndef WITH_PG
/* --snapshot-per-read: the lookups of one read share one read transaction, as tofu-rpc's do. */
static void snapshot_per_read(int begin) {
    if (sqlite3_exec(reader.db, begin ? "BEGIN DEFERRED" : "COMMIT", NULL, NULL, NULL) != SQLITE_OK) fail("snapshot", sqlite3_errmsg(reader.db));
}
#endif

int main(int argc, char **argv) {
#ifndef WITH_PG
    for (; argc > 2 && argv[1][0] == '-'; argv++, argc--) {
        if (strcmp(argv[1], "--snapshot-per-read") == 0) around_read = snapshot_per_read;
        else if (strcmp(argv[1], "--check-rows") == 0) check_rows = 1;
        else break;
    }
#endif
    if (argc != 2) { fprintf(stderr, "usage: %s [--snapshot-per-read] [--check-rows] STORE\n", argv[0]); return 2; }
    json_object_seed(0);
#ifdef WITH_PG
    pg_open(&store, argv[1]);
#else
    store_path = argv[1];
    sqlite_open(&reader, store_path, 0);
#endif
    serve_lines(handle, NULL);
    return 0;
}
