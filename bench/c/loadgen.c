/* tofu's load generator for `make bench`: drives child processes over pipes with NDJSON
 * lines and measures them. The same code drives tofu-rpc and the reference programs, so the
 * ratios compare servers, not clients.
 *
 *   loadgen roundtrip N REQUESTS -- CMD [ARGS...]   one request at a time, after 200 to warm up
 *                                                   (lines 0-199; the N measured are the next
 *                                                   ones); median and p99 in us, and the
 *                                                   child's CPU per measured request in us
 *   loadgen pipelined N REQUESTS [--procs K] -- CMD [ARGS...]
 *                                                   all N written at once to each of K children
 *                                                   (default 1) started together; answers per
 *                                                   second over all of them, seconds, and
 *                                                   the children's CPU per request in us
 *
 * REQUESTS is a file of request lines, used in turn. With --procs, a `%d` in REQUESTS is the
 * child's index (0 … K-1), so each child can work on hosts of its own. Exits 3 when any
 * answer was an error: a figure is only given for work that was done. A child's CPU is the
 * time its threads ran while the requests were measured (each thread's /proc schedstat,
 * kernel and user, in nanoseconds): its start and end are not in it. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char **lines; size_t *lengths; size_t line_count;
    int to_child, from_child; pid_t pid;
    long answered;
    long column, errors; /* where the answer being read is; answers that are errors */
} child;

static long total;

/* Nanoseconds the threads of `pid` have run (each thread's /proc/PID/task/TID/schedstat). */
static double cpu_ns(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (!tasks) return 0;
    double total = 0;
    struct dirent *entry;
    while ((entry = readdir(tasks))) {
        if (entry->d_name[0] == '.') continue;
        char file[320];
        snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat", (int)pid, entry->d_name);
        FILE *stat = fopen(file, "r");
        if (!stat) continue;
        unsigned long long ran = 0;
        if (fscanf(stat, "%llu", &ran) == 1) total += (double)ran;
        fclose(stat);
    }
    closedir(tasks);
    return total;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void load(child *c, const char *pattern, int index) {
    char path[4096];
    const char *mark = strstr(pattern, "%d");
    if (mark) snprintf(path, sizeof path, "%.*s%d%s", (int)(mark - pattern), pattern, index, mark + 2);
    else snprintf(path, sizeof path, "%s", pattern);
    FILE *file = fopen(path, "r");
    if (!file) { perror(path); exit(1); }
    char *line = NULL; size_t capacity = 0; ssize_t length;
    while ((length = getline(&line, &capacity, file)) > 0) {
        c->lines = realloc(c->lines, (c->line_count + 1) * sizeof *c->lines);
        c->lengths = realloc(c->lengths, (c->line_count + 1) * sizeof *c->lengths);
        c->lines[c->line_count] = strdup(line); c->lengths[c->line_count] = (size_t)length; c->line_count++;
    }
    fclose(file);
    if (!c->line_count) { fprintf(stderr, "%s: no request lines\n", path); exit(1); }
}

static void spawn(child *c, char **argv) {
    int in[2], out[2];
    if (pipe(in) || pipe(out)) { perror("pipe"); exit(1); }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0); dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execvp(argv[0], argv); perror(argv[0]); _exit(127);
    }
    close(in[0]); close(out[1]);
    c->to_child = in[1]; c->from_child = out[0]; c->pid = pid;
}

static void write_all(child *c, const char *data, size_t length) {
    while (length) {
        ssize_t written = write(c->to_child, data, length);
        if (written < 0) { if (errno == EINTR) continue; perror("write"); exit(1); }
        data += written; length -= (size_t)written;
    }
}

static void send_request(child *c, long i) { write_all(c, c->lines[i % (long)c->line_count], c->lengths[i % (long)c->line_count]); }

static char buffer[1 << 20];

/* Reads what the child has sent; returns the newlines in it. An answer that starts `{"e` is
 * an error (tofu-rpc and the C programs sort their keys: `{"error":…` before `{"id":…`). */
static long read_some(child *c) {
    ssize_t got = read(c->from_child, buffer, sizeof buffer);
    if (got <= 0) { fprintf(stderr, "the child stopped answering\n"); exit(1); }
    long lines = 0;
    for (ssize_t i = 0; i < got; i++) {
        if (c->column == 2 && buffer[i] == 'e') c->errors++;
        if (buffer[i] == '\n') { lines++; c->column = 0; } else c->column++;
    }
    return lines;
}

static void read_lines(child *c, long count) {
    while (count > 0) count -= read_some(c);
}

static void *writer(void *argument) {
    child *c = argument;
    for (long i = 0; i < total; i++) send_request(c, i);
    return NULL;
}

static int compare(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

static void usage(void) {
    fprintf(stderr, "usage: loadgen roundtrip|pipelined N REQUESTS [--procs K] -- CMD [ARGS...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 6) usage();
    int procs = 1, command = 4;
    if (!strcmp(argv[4], "--procs")) {
        if (argc < 8) usage();
        procs = atoi(argv[5]);
        command = 6;
    }
    if (strcmp(argv[command], "--") || procs < 1 || command + 1 >= argc) usage();
    if (procs > 1 && strcmp(argv[1], "pipelined")) usage();
    signal(SIGPIPE, SIG_IGN);
    total = atol(argv[2]);
    child *children = calloc((size_t)procs, sizeof *children);
    for (int k = 0; k < procs; k++) load(&children[k], argv[3], k);
    for (int k = 0; k < procs; k++) spawn(&children[k], argv + command + 1);
    if (!strcmp(argv[1], "roundtrip")) {
        child *c = &children[0];
        double *samples = malloc(sizeof(double) * (size_t)total);
        long warm = total < 200 ? total : 200;
        for (long i = 0; i < warm; i++) { send_request(c, i); read_lines(c, 1); }
        double cpu = cpu_ns(c->pid);
        for (long i = 0; i < total; i++) {
            double start = now();
            send_request(c, warm + i);
            read_lines(c, 1);
            samples[i] = (now() - start) * 1e6;
        }
        cpu = (cpu_ns(c->pid) - cpu) / 1e3 / (double)total;
        qsort(samples, (size_t)total, sizeof *samples, compare);
        printf("%.1f %.1f %.1f\n", samples[total / 2], samples[total * 99 / 100], cpu);
    } else if (!strcmp(argv[1], "pipelined")) {
        pthread_t *threads = calloc((size_t)procs, sizeof *threads);
        struct pollfd *polls = calloc((size_t)procs, sizeof *polls);
        /* A child's CPU is counted from its first answers on (its start is not in it). */
        double cpu = 0, counted = 0;
        double start = now();
        for (int k = 0; k < procs; k++) pthread_create(&threads[k], NULL, writer, &children[k]);
        for (int done = 0; done < procs;) {
            for (int k = 0; k < procs; k++) {
                polls[k].fd = children[k].answered < total ? children[k].from_child : -1;
                polls[k].events = POLLIN; polls[k].revents = 0;
            }
            if (poll(polls, (nfds_t)procs, -1) < 0 && errno != EINTR) { perror("poll"); exit(1); }
            for (int k = 0; k < procs; k++) {
                if (!polls[k].revents || children[k].answered >= total) continue;
                long before = children[k].answered;
                children[k].answered += read_some(&children[k]);
                if (!before && children[k].answered) {
                    cpu -= cpu_ns(children[k].pid);
                    counted += (double)(total - children[k].answered);
                }
                if (children[k].answered >= total) done++;
            }
        }
        double elapsed = now() - start;
        for (int k = 0; k < procs; k++) cpu += cpu_ns(children[k].pid);
        for (int k = 0; k < procs; k++) pthread_join(threads[k], NULL);
        printf("%.0f %.3f %.1f\n", (double)total * procs / elapsed, elapsed, counted > 0 ? cpu / 1e3 / counted : 0);
    } else {
        usage();
    }
    for (int k = 0; k < procs; k++) close(children[k].to_child);
    int failed = 0;
    for (int k = 0; k < procs; k++) {
        int status;
        waitpid(children[k].pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    if (failed) fprintf(stderr, "a child did not exit cleanly\n");
    long errors = 0;
    for (int k = 0; k < procs; k++) errors += children[k].errors;
    if (errors) { fprintf(stderr, "%ld answers were errors\n", errors); return 3; }
    return failed;
}
