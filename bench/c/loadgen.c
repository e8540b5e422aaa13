/* tofu's load generator for `make bench`: drives one child process over pipes with NDJSON
 * lines and measures it. The same code drives tofu-rpc and the reference programs, so the
 * ratios compare servers, not clients.
 *
 *   loadgen roundtrip N REQUESTS -- CMD [ARGS...]   one request at a time; median and p99 in us
 *   loadgen pipelined N REQUESTS -- CMD [ARGS...]   all N written at once; answers per second
 *
 * REQUESTS is a file of request lines, used in turn. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char **lines; static size_t *lengths; static size_t line_count;
static int to_child, from_child; static long total;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void load(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) { perror(path); exit(1); }
    char *line = NULL; size_t capacity = 0; ssize_t length;
    while ((length = getline(&line, &capacity, file)) > 0) {
        lines = realloc(lines, (line_count + 1) * sizeof *lines);
        lengths = realloc(lengths, (line_count + 1) * sizeof *lengths);
        lines[line_count] = strdup(line); lengths[line_count] = (size_t)length; line_count++;
    }
    fclose(file);
    if (!line_count) { fprintf(stderr, "%s: no request lines\n", path); exit(1); }
}

static void spawn(char **argv) {
    int in[2], out[2];
    if (pipe(in) || pipe(out)) { perror("pipe"); exit(1); }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0); dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execvp(argv[0], argv); perror(argv[0]); _exit(127);
    }
    close(in[0]); close(out[1]);
    to_child = in[1]; from_child = out[0];
}

static void write_all(const char *data, size_t length) {
    while (length) {
        ssize_t written = write(to_child, data, length);
        if (written < 0) { if (errno == EINTR) continue; perror("write"); exit(1); }
        data += written; length -= (size_t)written;
    }
}

static char buffer[1 << 20]; static size_t buffered;

/* Reads until `count` more newlines have arrived. */
static void read_lines(long count) {
    while (count > 0) {
        ssize_t got = read(from_child, buffer, sizeof buffer);
        if (got <= 0) { fprintf(stderr, "the child stopped answering\n"); exit(1); }
        for (ssize_t i = 0; i < got; i++) if (buffer[i] == '\n') count--;
    }
}

static void *writer(void *unused) {
    (void)unused;
    for (long i = 0; i < total; i++) write_all(lines[i % line_count], lengths[i % line_count]);
    return NULL;
}

static int compare(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[4], "--")) { fprintf(stderr, "usage: loadgen roundtrip|pipelined N REQUESTS -- CMD [ARGS...]\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    total = atol(argv[2]); load(argv[3]); spawn(argv + 5);
    (void)buffered;
    if (!strcmp(argv[1], "roundtrip")) {
        double *samples = malloc(sizeof(double) * (size_t)total);
        for (long i = 0; i < 200 && i < total; i++) { write_all(lines[i % line_count], lengths[i % line_count]); read_lines(1); }
        for (long i = 0; i < total; i++) {
            double start = now();
            write_all(lines[i % line_count], lengths[i % line_count]);
            read_lines(1);
            samples[i] = (now() - start) * 1e6;
        }
        qsort(samples, (size_t)total, sizeof *samples, compare);
        printf("%.1f %.1f\n", samples[total / 2], samples[total * 99 / 100]);
    } else {
        pthread_t thread; double start = now();
        pthread_create(&thread, NULL, writer, NULL);
        read_lines(total);
        double elapsed = now() - start;
        pthread_join(thread, NULL);
        printf("%.0f %.3f\n", total / elapsed, elapsed);
    }
    close(to_child);
    int status; wait(&status);
    return 0;
}
