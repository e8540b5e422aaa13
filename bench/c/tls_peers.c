/* Loopback TLS hosts for the verifyCert {all} rows: COUNT listening sockets on 127.0.0.1
 * (ports chosen by the kernel, printed one a line), served by one thread with epoll and
 * OpenSSL: each connection gets the TLS handshake with CERT/KEY, then is read until the
 * client closes. Light enough that the clients, not the hosts, set the pace (the Python
 * fixture of the tests, one interpreter for every host, is slower than the clients it serves).
 *
 *   tls_peers CERT KEY COUNT        serves until stdin closes */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct { int fd; SSL *ssl; int listening, handshaken; } peer;

static int epoll_fd;
static SSL_CTX *context;

static void watch(peer *p, int op, unsigned events) {
    struct epoll_event event = {.events = events, .data.ptr = p};
    if (epoll_ctl(epoll_fd, op, p->fd, &event) != 0) { perror("epoll_ctl"); exit(1); }
}

static void drop(peer *p) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, p->fd, NULL);
    SSL_free(p->ssl); close(p->fd); free(p);
    ERR_clear_error();
}

/* Moves a connection on as far as it goes without waiting. */
static void drive(peer *p) {
    char sink[4096];
    for (;;) {
        int status = p->handshaken ? SSL_read(p->ssl, sink, sizeof sink) : SSL_do_handshake(p->ssl);
        if (status > 0) { p->handshaken = 1; continue; }
        switch (SSL_get_error(p->ssl, status)) {
        case SSL_ERROR_WANT_READ: watch(p, EPOLL_CTL_MOD, EPOLLIN); return;
        case SSL_ERROR_WANT_WRITE: watch(p, EPOLL_CTL_MOD, EPOLLOUT); return;
        default: drop(p); return; /* closed, or failed: either way this connection is done */
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: tls_peers CERT KEY COUNT\n"); return 2; }
    int count = atoi(argv[3]);
    signal(SIGPIPE, SIG_IGN); /* a client that closes after its handshake is not an error */
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    context = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(context, argv[1]) != 1 || SSL_CTX_use_PrivateKey_file(context, argv[2], SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr); return 1;
    }
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < count; i++) {
        peer *p = calloc(1, sizeof *p);
        p->listening = 1;
        p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t length = sizeof address;
        if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&address, sizeof address) || listen(p->fd, 128)
            || getsockname(p->fd, (struct sockaddr *)&address, &length)) { perror("listen"); return 1; }
        printf("%d\n", ntohs(address.sin_port));
        watch(p, EPOLL_CTL_ADD, EPOLLIN);
    }
    fflush(stdout);
    peer input = {.fd = 0};
    watch(&input, EPOLL_CTL_ADD, EPOLLIN);
    struct epoll_event events[256];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, 256, -1);
        if (ready < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < ready; i++) {
            peer *p = events[i].data.ptr;
            if (p == &input) return 0;
            if (!p->listening) { drive(p); continue; }
            int fd;
            while ((fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                peer *connection = calloc(1, sizeof *connection);
                connection->fd = fd;
                connection->ssl = SSL_new(context);
                SSL_set_fd(connection->ssl, fd);
                SSL_set_accept_state(connection->ssl);
                watch(connection, EPOLL_CTL_ADD, EPOLLIN);
                drive(connection);
            }
        }
    }
}
