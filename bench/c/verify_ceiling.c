/* The ceiling of verifyCert {all}: the same number of TLS handshakes, to the same loopback
 * ports, at the same concurrency, from one C process: non-blocking sockets and poll(), one
 * OpenSSL client context (TLS 1.2 at least and TCP_NODELAY, as tofu; no session reuse; no
 * verification), each
 * peer's certificate fetched, DER-encoded and SHA-256 hashed, then the connection closed.
 * Nothing else: no store, no JSON, no certificate summary, no CA lookups.
 *
 *   verify_ceiling PORTS CONCURRENCY     PORTS: one TCP port a line, on 127.0.0.1
 *
 * Connects only to 127.0.0.1. Prints the seconds taken and how many certificates were hashed. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; SSL *ssl; int connected; } slot;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static SSL_CTX *context;
static int *ports; static int port_count, next_port, hashed, failed;
static unsigned char digest_sink;

static void start(slot *s) {
    s->fd = -1; s->ssl = NULL; s->connected = 0;
    if (next_port >= port_count) return;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)ports[next_port++]),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) { perror("socket"); exit(1); }
    int on = 1; /* as tofu's SocketConnector */
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (connect(s->fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
        failed++; close(s->fd); start(s); return;
    }
    s->ssl = SSL_new(context);
    SSL_set_fd(s->ssl, s->fd);
    SSL_set_connect_state(s->ssl);
}

static void finish(slot *s, int ok) {
    if (ok) {
        X509 *certificate = SSL_get1_peer_certificate(s->ssl);
        unsigned char *der = NULL;
        int length = certificate ? i2d_X509(certificate, &der) : -1;
        if (length > 0) {
            unsigned char digest[SHA256_DIGEST_LENGTH];
            SHA256(der, (size_t)length, digest);
            digest_sink ^= digest[0];
            hashed++;
        } else {
            failed++;
        }
        OPENSSL_free(der); X509_free(certificate);
        SSL_shutdown(s->ssl);
    } else {
        failed++;
    }
    SSL_free(s->ssl); close(s->fd);
    ERR_clear_error();
    start(s);
}

/* One step of the handshake; returns the events to wait for, or 0 when the slot moved on. */
static short step(slot *s) {
    int status = SSL_do_handshake(s->ssl);
    if (status == 1) { finish(s, 1); return 0; }
    switch (SSL_get_error(s->ssl, status)) {
    case SSL_ERROR_WANT_READ: return POLLIN;
    case SSL_ERROR_WANT_WRITE: return POLLOUT;
    default: finish(s, 0); return 0;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: verify_ceiling PORTS CONCURRENCY\n"); return 2; }
    FILE *file = fopen(argv[1], "r");
    if (!file) { perror(argv[1]); return 1; }
    int port, room = 1024;
    ports = malloc(sizeof *ports * (size_t)room);
    while (fscanf(file, "%d", &port) == 1) {
        if (port < 1 || port > 65535) { fprintf(stderr, "%d: not a port\n", port); return 1; }
        if (port_count == room) ports = realloc(ports, sizeof *ports * (size_t)(room *= 2));
        ports[port_count++] = port;
    }
    fclose(file);
    int concurrency = atoi(argv[2]);
    if (concurrency < 1) concurrency = 1;
    context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);

    double begun = now();
    slot *slots = calloc((size_t)concurrency, sizeof *slots);
    struct pollfd *polls = calloc((size_t)concurrency, sizeof *polls);
    short *wanted = calloc((size_t)concurrency, sizeof *wanted);
    for (int i = 0; i < concurrency; i++) { start(&slots[i]); wanted[i] = slots[i].fd >= 0 ? POLLOUT : 0; }
    for (;;) {
        int active = 0;
        for (int i = 0; i < concurrency; i++) {
            polls[i].fd = slots[i].fd >= 0 ? slots[i].fd : -1;
            polls[i].events = wanted[i]; polls[i].revents = 0;
            if (slots[i].fd >= 0) active++;
        }
        if (!active) break;
        if (poll(polls, (nfds_t)concurrency, 10000) <= 0) { fprintf(stderr, "no progress for 10 s\n"); return 1; }
        for (int i = 0; i < concurrency; i++) {
            if (slots[i].fd < 0 || !polls[i].revents) continue;
            if (!slots[i].connected) {
                int error = 0; socklen_t length = sizeof error;
                getsockopt(slots[i].fd, SOL_SOCKET, SO_ERROR, &error, &length);
                if (error) { failed++; SSL_free(slots[i].ssl); close(slots[i].fd); start(&slots[i]); wanted[i] = slots[i].fd >= 0 ? POLLOUT : 0; continue; }
                slots[i].connected = 1;
            }
            /* Steps until it waits: a finished slot starts the next port (not yet connected). */
            for (;;) {
                if (slots[i].fd < 0) { wanted[i] = 0; break; }
                if (!slots[i].connected) { wanted[i] = POLLOUT; break; }
                short events = step(&slots[i]);
                if (events) { wanted[i] = events; break; }
            }
        }
    }
    printf("%.3f %d %d\n", now() - begun, hashed, failed);
    return failed ? 1 : 0;
}
