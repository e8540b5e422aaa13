#ifndef TOFU_COPENSSL_SHIM_H
#define TOFU_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/crypto.h>

/* OpenSSL spells these as macros, which Swift cannot call. */
static inline long tofu_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long tofu_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long tofu_SSL_CTX_set_client_session_callbacks_only(SSL_CTX *ctx) {
    return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
}
static inline long tofu_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}
static inline void tofu_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }
static inline int tofu_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
static inline GENERAL_NAME *tofu_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}
static inline void tofu_GENERAL_NAMES_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }

/* The one-line name form PI prints (`CN = kong`, `C = US, O = Cisco, CN = dnac`), with
   UTF-8 left readable instead of escaped as \XX. Control characters stay escaped. */
static inline unsigned long tofu_name_print_flags(void) { return XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB; }

#endif
