/* What the same-work ceilings share: tofu's pin row (the columns tofu-rpc selects, in its
 * order), the answer tofu-rpc builds from it (protocol/openrpc.json's Pin), host keys, times
 * and line-at-a-time NDJSON service. Header-only: each ceiling is one .c file that includes
 * this and whichever backends it needs (pin_sqlite.h, pin_pg.h), so it links only those.
 *
 * Nothing here checks a row as strictly as tofu's RowDecoding does (it re-hashes the DER and
 * re-parses the host key and every time of every row read): a ceiling reads what the
 * statement returns and shows it. That checking is work tofu does and these programs do not,
 * unless run with --check-rows (pin_check.h: the SQLite ceilings), which adds most of it. */
#ifndef PIN_COMMON_H
#define PIN_COMMON_H

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sources/TofuStore/RowDecoding.swift: pinNames. */
#define PIN_COLUMNS "id, host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer, serialNumber, " \
    "notBefore, notAfter, subjectAltNames, publicKey, pinnedAt, lastVerifiedAt, policy, " \
    "nextDer, nextSha256Fingerprint, nextSpkiSha256, nextSubject, nextIssuer, nextSerialNumber, " \
    "nextNotBefore, nextNotAfter, nextSubjectAltNames, nextPublicKey, nextStagedAt"
#define PIN_COLUMN_COUNT 28
#define PIN_INSERT_COLUMNS "host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer, serialNumber, " \
    "notBefore, notAfter, subjectAltNames, publicKey, pinnedAt, lastVerifiedAt, policy, " \
    "nextDer, nextSha256Fingerprint, nextSpkiSha256, nextSubject, nextIssuer, nextSerialNumber, " \
    "nextNotBefore, nextNotAfter, nextSubjectAltNames, nextPublicKey, nextStagedAt"
enum { C_ID, C_HOST, C_ADDRESS, C_PORT, C_DER, C_SHA, C_SPKI, C_SUBJECT, C_ISSUER, C_SERIAL, C_NOT_BEFORE, C_NOT_AFTER,
       C_SANS, C_PUBLIC_KEY, C_PINNED_AT, C_LAST_VERIFIED_AT, C_POLICY, C_NEXT = 13, C_NEXT_STAGED_AT = 27 };

/* One pin row as a backend returned it: text columns by pointer and length (owned by the
 * backend's statement or result until the next call), NULL as text == NULL; port as a number.
 * The DER columns are carried (the statement selects them) but no answer here shows them. */
typedef struct {
    const char *text[PIN_COLUMN_COUNT];
    size_t length[PIN_COLUMN_COUNT];
    long long port;
} pin_row;

static inline void fail(const char *what, const char *why) {
    fprintf(stderr, "%s: %s\n", what, why ? why : "failed");
    exit(1);
}

static inline json_t *row_string(const pin_row *row, int column) {
    return row->text[column] ? json_stringn_nocheck(row->text[column], row->length[column]) : json_null();
}

/* A certificate summary (the pin's own at offset 0, the staged one at C_NEXT), as
 * Sources/TofuServer/PinJSON.swift's `certificate` builds it. SANs are stored one per line. */
static inline json_t *certificate_json(const pin_row *row, int offset) {
    json_t *object = json_object();
    json_object_set_new_nocheck(object, "subject", row_string(row, C_SUBJECT + offset));
    json_object_set_new_nocheck(object, "issuer", row_string(row, C_ISSUER + offset));
    json_object_set_new_nocheck(object, "serialNumber", row_string(row, C_SERIAL + offset));
    json_object_set_new_nocheck(object, "sha256Fingerprint", row_string(row, C_SHA + offset));
    json_object_set_new_nocheck(object, "spkiSha256", row_string(row, C_SPKI + offset));
    json_object_set_new_nocheck(object, "notBefore", row_string(row, C_NOT_BEFORE + offset));
    json_object_set_new_nocheck(object, "notAfter", row_string(row, C_NOT_AFTER + offset));
    json_t *names = json_array();
    const char *sans = row->text[C_SANS + offset];
    size_t length = sans ? row->length[C_SANS + offset] : 0;
    for (size_t start = 0; length > 0 && start <= length;) {
        const char *end = memchr(sans + start, '\n', length - start);
        size_t stop = end ? (size_t)(end - sans) : length;
        json_array_append_new(names, json_stringn_nocheck(sans + start, stop - start));
        start = stop + 1;
    }
    json_object_set_new_nocheck(object, "subjectAltNames", names);
    json_object_set_new_nocheck(object, "publicKey", row_string(row, C_PUBLIC_KEY + offset));
    return object;
}

/* A Pin as PinJSON.pin builds it (no PEM). */
static inline json_t *pin_json(const pin_row *row) {
    json_t *object = certificate_json(row, 0);
    json_object_set_new_nocheck(object, "host", row_string(row, C_HOST));
    json_object_set_new_nocheck(object, "address", row_string(row, C_ADDRESS));
    json_object_set_new_nocheck(object, "port", json_integer(row->port));
    json_object_set_new_nocheck(object, "pinnedAt", row_string(row, C_PINNED_AT));
    json_object_set_new_nocheck(object, "lastVerifiedAt", row_string(row, C_LAST_VERIFIED_AT));
    json_object_set_new_nocheck(object, "policy", row_string(row, C_POLICY));
    if (row->text[C_SHA + C_NEXT]) {
        json_t *next = certificate_json(row, C_NEXT);
        json_object_set_new_nocheck(next, "stagedAt", row_string(row, C_NEXT_STAGED_AT));
        json_object_set_new_nocheck(object, "next", next);
    } else {
        json_object_set_new_nocheck(object, "next", json_null());
    }
    return object;
}

/* The history's words for a certificate (PinStore.describe). */
static inline int describe_certificate(const pin_row *row, char *out, size_t room) {
    return snprintf(out, room, "subject=%.*s; serial=%.*s; notAfter=%.*s", (int)row->length[C_SUBJECT], row->text[C_SUBJECT],
                    (int)row->length[C_SERIAL], row->text[C_SERIAL], (int)row->length[C_NOT_AFTER], row->text[C_NOT_AFTER]);
}

/* Now, as tofu writes times: 2026-11-29T04:00:00Z. */
static inline void timestamp_now(char out[21]) {
    struct timespec now; clock_gettime(CLOCK_REALTIME, &now);
    struct tm parts; gmtime_r(&now.tv_sec, &parts);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &parts);
}

/* A host key in tofu's canonical form (`name_port`) from what a request may give: `name`,
 * `name_port`, `name:port`. Lowercased, no trailing dot, port 1-65535, default 443. The
 * bench's hosts are names; IPv6 forms and tofu's full validation are not done here.
 * Returns the length, or 0 for what is not a host key. */
static inline size_t host_key(const char *text, size_t length, char *out, size_t room, char *address, size_t address_room, long *port) {
    size_t name_length = length; long number = 443;
    for (size_t i = length; i > 0; i--) {
        char c = text[i - 1];
        if (c == '_' || c == ':') {
            if (i == length) return 0;
            number = 0;
            for (size_t j = i; j < length; j++) {
                if (!isdigit((unsigned char)text[j]) || number > 65535) return 0;
                number = number * 10 + (text[j] - '0');
            }
            name_length = i - 1;
            break;
        }
        if (!isdigit((unsigned char)c)) break;
    }
    if (name_length > 0 && text[name_length - 1] == '.') name_length--;
    if (name_length == 0 || name_length >= address_room || number < 1 || number > 65535) return 0;
    for (size_t i = 0; i < name_length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!(isalnum(c) || c == '-' || c == '.')) return 0;
        address[i] = (char)tolower(c);
    }
    address[name_length] = 0;
    *port = number;
    int written = snprintf(out, room, "%s_%ld", address, number);
    return written > 0 && (size_t)written < room ? (size_t)written : 0;
}

/* A JSON-RPC request line, parsed and checked as tofu-rpc checks the parts these programs use:
 * jsonrpc "2.0", a method, params an object whose names are all in `allowed` (a NULL-ended
 * list). Returns the parsed request (the caller frees it), *method and *params pointing into it. */
static inline json_t *parse_request(const char *line, size_t length, const char **method, json_t **params, json_t **id) {
    json_error_t error;
    json_t *request = json_loadb(line, length, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    *method = NULL; *params = NULL; *id = NULL;
    if (!request || !json_is_object(request)) return request;
    json_t *version = json_object_get(request, "jsonrpc");
    if (!version || !json_is_string(version) || strcmp(json_string_value(version), "2.0")) return request;
    *id = json_object_get(request, "id");
    json_t *name = json_object_get(request, "method");
    if (name && json_is_string(name)) *method = json_string_value(name);
    *params = json_object_get(request, "params");
    return request;
}

static inline int only_names(json_t *params, const char *const *allowed) {
    const char *key; json_t *value;
    json_object_foreach(params, key, value) {
        int known = 0;
        for (const char *const *name = allowed; *name; name++) if (!strcmp(key, *name)) known = 1;
        if (!known) return 0;
    }
    return 1;
}

static inline json_t *response(json_t *id, json_t *result) {
    json_t *answer = json_object();
    json_object_set_new_nocheck(answer, "jsonrpc", json_string("2.0"));
    json_object_set_nocheck(answer, "id", id ? id : json_null());
    json_object_set_new_nocheck(answer, "result", result);
    return answer;
}

static inline json_t *error_response(json_t *id, int code, const char *message) {
    json_t *answer = json_object(), *error = json_object();
    json_object_set_new_nocheck(error, "code", json_integer(code));
    json_object_set_new_nocheck(error, "message", json_string(message));
    json_object_set_new_nocheck(answer, "jsonrpc", json_string("2.0"));
    json_object_set_nocheck(answer, "id", id ? id : json_null());
    json_object_set_new_nocheck(answer, "error", error);
    return answer;
}

/* NDJSON service on stdin/stdout: each complete line read is answered by `handle`, and the
 * answers of one read go out in one write (as tofu-rpc coalesces them). `around_read`, when
 * set, is called with 1 before the lines of one read are answered and with 0 after. */
typedef json_t *(*request_handler)(const char *line, size_t length, void *context);
static void (*around_read)(int begin);
/* When set, called with 1 before each write of answers to stdout and with 0 after it: a
 * server whose other threads write answers too (pin_server --write-thread) holds its output
 * lock there. A handler that answers elsewhere returns NULL. */
static void (*around_write)(int begin);

static inline void write_all(int fd, const char *data, size_t length) {
    while (length) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) exit(1);
        data += n; length -= (size_t)n;
    }
}

static inline void write_answers(const char *data, size_t length) {
    if (around_write) around_write(1);
    write_all(1, data, length);
    if (around_write) around_write(0);
}

static inline void serve_lines(request_handler handle, void *context) {
    static char input[1 << 20];
    size_t have = 0, out_room = 1 << 22, out = 0;
    char *output = malloc(out_room);
    ssize_t got;
    while ((got = read(0, input + have, sizeof input - have)) > 0) {
        have += (size_t)got;
        size_t start = 0;
        if (around_read) around_read(1);
        for (size_t i = 0; i < have; i++) {
            if (input[i] != '\n') continue;
            size_t length = i - start;
            if (length && input[start + length - 1] == '\r') length--;
            json_t *answer = handle(input + start, length, context);
            start = i + 1;
            if (!answer) continue;
            for (;;) {
                size_t size = json_dumpb(answer, output + out, out_room - out - 1, JSON_COMPACT | JSON_SORT_KEYS);
                if (size && size < out_room - out - 1) { out += size; output[out++] = '\n'; break; }
                if (out) { write_answers(output, out); out = 0; continue; }
                out_room *= 2; output = realloc(output, out_room);
            }
            json_decref(answer);
        }
        if (around_read) around_read(0);
        memmove(input, input + start, have - start); have -= start;
        if (have == sizeof input) fail("request", "a line longer than 1 MiB");
        if (out) { write_answers(output, out); out = 0; }
    }
}

#endif
