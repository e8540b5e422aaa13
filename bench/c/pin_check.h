/* The strict read of a pin row that tofu's RowDecoding does on every read, in C, for the
 * ceilings' `--check-rows` runs (make bench's rows "... that also checks each row as tofu-rpc
 * does"): the DER hashed again (SHA-256, fetched from OpenSSL's providers once) against the
 * fingerprint column, of the pin and of a staged certificate; every time canonical (a real UTC
 * second, `YYYY-MM-DDTHH:MM:SSZ`); the policy one of tofu's; the host key the one looked up, and
 * `address_port`. A row that fails stops the program: these stores hold only rows tofu wrote.
 * Not the whole of RowDecoding (no UTF-8 or text checks, no host-key grammar): a floor of it. */
#ifndef PIN_CHECK_H
#define PIN_CHECK_H

#include "pin_common.h"
#include <openssl/evp.h>

static int check_rows = 0;

static inline int check_time(const char *text, size_t length) {
    if (length != 20) return 0;
    for (int i = 0; i < 20; i++) {
        char c = text[i];
        switch (i) {
        case 4: case 7: if (c != '-') return 0; break;
        case 10: if (c != 'T') return 0; break;
        case 13: case 16: if (c != ':') return 0; break;
        case 19: if (c != 'Z') return 0; break;
        default: if (c < '0' || c > '9') return 0;
        }
    }
#define NUMBER(at, n) ({ int v = 0; for (int k = (at); k < (at) + (n); k++) v = v * 10 + (text[k] - '0'); v; })
    int year = NUMBER(0, 4), month = NUMBER(5, 2), day = NUMBER(8, 2);
    if (month < 1 || month > 12 || NUMBER(11, 2) > 23 || NUMBER(14, 2) > 59 || NUMBER(17, 2) > 59) return 0;
#undef NUMBER
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    int days = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11) ? 30 : 31;
    return day >= 1 && day <= days;
}

/* The DER's SHA-256 as tofu writes a fingerprint (uppercase hex pairs joined by ':') equals `text`. */
static inline int check_fingerprint(const unsigned char *der, size_t der_length, const char *text, size_t length) {
    static EVP_MD *sha256;
    if (!sha256 && !(sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) fail("OpenSSL", "no SHA-256");
    unsigned char digest[32];
    unsigned int size = 0;
    if (!der || der_length == 0 || !EVP_Digest(der, der_length, digest, &size, sha256, NULL) || size != 32) return 0;
    if (!text || length != 95) return 0;
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        if (text[3 * i] != hex[digest[i] >> 4] || text[3 * i + 1] != hex[digest[i] & 15]) return 0;
        if (i < 31 && text[3 * i + 2] != ':') return 0;
    }
    return 1;
}

#define COLUMN_TIME(row, column) ((row)->text[column] && check_time((row)->text[column], (row)->length[column]))

/* The row `row`, read for the host key `key`, is one tofu would accept. */
static inline int check_row(const pin_row *row, const char *key, size_t length) {
    if (!row->text[C_HOST] || row->length[C_HOST] != length || memcmp(row->text[C_HOST], key, length) != 0) return 0;
    char expected[300];
    int made = snprintf(expected, sizeof expected, "%.*s_%lld", (int)row->length[C_ADDRESS], row->text[C_ADDRESS] ? row->text[C_ADDRESS] : "", row->port);
    if (made < 0 || (size_t)made != length || memcmp(expected, key, length) != 0) return 0;
    if (!check_fingerprint((const unsigned char *)row->text[C_DER], row->length[C_DER], row->text[C_SHA], row->length[C_SHA])) return 0;
    if (!COLUMN_TIME(row, C_NOT_BEFORE) || !COLUMN_TIME(row, C_NOT_AFTER) || !COLUMN_TIME(row, C_PINNED_AT)) return 0;
    if (row->text[C_LAST_VERIFIED_AT] && !COLUMN_TIME(row, C_LAST_VERIFIED_AT)) return 0;
    const char *policy = row->text[C_POLICY];
    size_t policy_length = row->length[C_POLICY];
    if (!policy || !((policy_length == 11 && !memcmp(policy, "certificate", 11)) || (policy_length == 9 && !memcmp(policy, "publicKey", 9)))) return 0;
    if (row->text[C_DER + C_NEXT]) {
        if (!check_fingerprint((const unsigned char *)row->text[C_DER + C_NEXT], row->length[C_DER + C_NEXT], row->text[C_SHA + C_NEXT], row->length[C_SHA + C_NEXT])) return 0;
        if (!COLUMN_TIME(row, C_NOT_BEFORE + C_NEXT) || !COLUMN_TIME(row, C_NOT_AFTER + C_NEXT) || !COLUMN_TIME(row, C_NEXT_STAGED_AT)) return 0;
    }
    return 1;
}

#endif
