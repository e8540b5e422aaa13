/* A certificate's summary from PEM, as Sources/TofuTLS/X509Certificate.swift's `summary` makes
 * it with OpenSSL (subject and issuer in OpenSSL's one-line form, serial in hex, SHA-256
 * fingerprint in colon-separated uppercase hex, SPKI pin in base64, RFC 3339 times, SANs,
 * the key's kind and size), into the pin_row a new pin's INSERT and answer are made from. */
#ifndef PIN_X509_H
#define PIN_X509_H

#include "pin_common.h"
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

typedef struct {
    unsigned char *der; int der_length;
    char fingerprint[96], spki[48], serial[256], not_before[21], not_after[21], public_key[96];
    char *subject, *issuer; char sans[4096];
} certificate_summary;

static inline char *name_text(const X509_NAME *name) {
    BIO *bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    char *data; long length = BIO_get_mem_data(bio, &data);
    char *text = strndup(data, (size_t)length);
    BIO_free(bio);
    return text;
}

static inline void time_text(const ASN1_TIME *time, char out[21]) {
    struct tm parts;
    if (!time || ASN1_TIME_to_tm(time, &parts) != 1) fail("certificate", "a time cannot be read");
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &parts);
}

static inline void append_ia5(char *out, size_t room, const ASN1_STRING *string) {
    size_t used = strlen(out);
    const unsigned char *data = ASN1_STRING_get0_data(string);
    for (int i = 0; i < ASN1_STRING_length(string) && used + 5 < room; i++) {
        unsigned char byte = data[i];
        if (byte >= 0x20 && byte <= 0x7E && byte != '\\') out[used++] = (char)byte;
        else used += (size_t)snprintf(out + used, room - used, "\\x%02X", byte);
    }
    out[used] = 0;
}

/* Parses exactly one PEM certificate; 0 when the text is not one. */
static inline int summarise_pem(const char *pem, size_t length, certificate_summary *summary) {
    memset(summary, 0, sizeof *summary);
    BIO *bio = BIO_new_mem_buf(pem, (int)length);
    X509 *certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509 *another = certificate ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!certificate || another) { X509_free(certificate); X509_free(another); return 0; }
    summary->der_length = i2d_X509(certificate, &summary->der);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(summary->der, (size_t)summary->der_length, digest);
    char *cursor = summary->fingerprint;
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) cursor += sprintf(cursor, i ? ":%02X" : "%02X", digest[i]);
    unsigned char *spki = NULL;
    int spki_length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &spki);
    SHA256(spki, (size_t)spki_length, digest);
    OPENSSL_free(spki);
    EVP_EncodeBlock((unsigned char *)summary->spki, digest, SHA256_DIGEST_LENGTH);
    summary->subject = name_text(X509_get_subject_name(certificate));
    summary->issuer = name_text(X509_get_issuer_name(certificate));
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), NULL);
    char *hex = BN_bn2hex(serial);
    snprintf(summary->serial, sizeof summary->serial, "%s", hex);
    OPENSSL_free(hex); BN_free(serial);
    time_text(X509_get0_notBefore(certificate), summary->not_before);
    time_text(X509_get0_notAfter(certificate), summary->not_after);
    GENERAL_NAMES *names = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    ERR_clear_error();
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
        size_t used = strlen(summary->sans);
        if (used) summary->sans[used++] = '\n', summary->sans[used] = 0;
        char *end = summary->sans + used; size_t room = sizeof summary->sans - used;
        switch (entry->type) {
        case GEN_DNS: snprintf(end, room, "DNS:"); append_ia5(summary->sans, sizeof summary->sans, entry->d.ia5); break;
        case GEN_EMAIL: snprintf(end, room, "email:"); append_ia5(summary->sans, sizeof summary->sans, entry->d.ia5); break;
        case GEN_URI: snprintf(end, room, "URI:"); append_ia5(summary->sans, sizeof summary->sans, entry->d.ia5); break;
        case GEN_IPADD: {
            char address[INET6_ADDRSTRLEN] = "";
            int count = ASN1_STRING_length(entry->d.iPAddress);
            if (count == 4 || count == 16) inet_ntop(count == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(entry->d.iPAddress), address, sizeof address);
            snprintf(end, room, "IP:%s", address);
            break;
        }
        default: snprintf(end, room, "other:%d", entry->type);
        }
    }
    GENERAL_NAMES_free(names);
    EVP_PKEY *key = X509_get0_pubkey(certificate);
    int bits = key ? EVP_PKEY_get_bits(key) : 0;
    switch (key ? EVP_PKEY_get_base_id(key) : 0) {
    case EVP_PKEY_RSA: case EVP_PKEY_RSA_PSS: snprintf(summary->public_key, sizeof summary->public_key, "RSA %d", bits); break;
    case EVP_PKEY_DSA: snprintf(summary->public_key, sizeof summary->public_key, "DSA %d", bits); break;
    case EVP_PKEY_ED25519: snprintf(summary->public_key, sizeof summary->public_key, "Ed25519"); break;
    case EVP_PKEY_ED448: snprintf(summary->public_key, sizeof summary->public_key, "Ed448"); break;
    case EVP_PKEY_EC: {
        char group[80]; size_t group_length = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &group_length) != 1) { snprintf(summary->public_key, sizeof summary->public_key, "EC %d", bits); break; }
        int nid = OBJ_sn2nid(group);
        const char *nist = nid != NID_undef ? EC_curve_nid2nist(nid) : NULL;
        snprintf(summary->public_key, sizeof summary->public_key, "EC %s", nist ? nist : group);
        break;
    }
    default: snprintf(summary->public_key, sizeof summary->public_key, key ? "%s %d" : "unknown", key ? OBJ_nid2sn(EVP_PKEY_get_base_id(key)) : "", bits);
    }
    X509_free(certificate);
    return 1;
}

static inline void summary_free(certificate_summary *summary) {
    OPENSSL_free(summary->der); free(summary->subject); free(summary->issuer);
}

/* The row a new pin of `summary` for `key` will be (policy certificate, nothing staged). */
static inline void summary_row(const certificate_summary *summary, const char *key, const char *address, long port, const char *pinned_at, pin_row *row) {
    memset(row, 0, sizeof *row);
#define SET(column, value) (row->text[column] = (value), row->length[column] = strlen(value))
    SET(C_HOST, key); SET(C_ADDRESS, address); row->port = port;
    row->text[C_DER] = (const char *)summary->der; row->length[C_DER] = (size_t)summary->der_length;
    SET(C_SHA, summary->fingerprint); SET(C_SPKI, summary->spki); SET(C_SUBJECT, summary->subject); SET(C_ISSUER, summary->issuer);
    SET(C_SERIAL, summary->serial); SET(C_NOT_BEFORE, summary->not_before); SET(C_NOT_AFTER, summary->not_after);
    SET(C_SANS, summary->sans); SET(C_PUBLIC_KEY, summary->public_key); SET(C_PINNED_AT, pinned_at); SET(C_POLICY, "certificate");
#undef SET
}

#endif
