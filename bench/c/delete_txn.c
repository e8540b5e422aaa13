/* The ceiling of deleteCert on SQLite: per host key, tofu's delete transaction from C in one
 * process (no pipes, no JSON-RPC): BEGIN IMMEDIATE; the pin's row read; DELETE; the history
 * row INSERTed; COMMIT, synced (WAL, synchronous=FULL, as tofu's writer); then the answer's
 * Pin built and dumped with jansson. Each operation is timed alone.
 *
 *   delete_txn [--check-rows] STORE HOSTS [WARM [PAUSE]]    HOSTS: one canonical host key a line
 *                                                           (each pinned); --check-rows: the row
 *                                                           read is checked as tofu's (pin_check.h)
 *
 * The first WARM deletes (default 0) are not timed: as loadgen warms tofu-rpc up, they let the
 * WAL file grow to its working size (a commit that grows the file also syncs its size).
 * Between two deletes the program sleeps PAUSE microseconds (default 300, untimed), as a
 * client's round trip leaves the disk a moment between two commits: on a virtual disk a
 * synced commit issued the instant the last one returned waits behind it (measured here:
 * 1-5 ms back to back, 0.4 ms with the pause), which would time the disk's queue, not the work.
 * Prints the median and the 99th percentile of one timed operation, in microseconds. */
#include "pin_sqlite.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int compare(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--check-rows") == 0) { check_rows = 1; argv++; argc--; }
    if (argc < 3 || argc > 5) { fprintf(stderr, "usage: delete_txn [--check-rows] STORE HOSTS [WARM [PAUSE]]\n"); return 2; }
    long warm = argc >= 4 ? atol(argv[3]) : 0;
    useconds_t pause = argc == 5 ? (useconds_t)atol(argv[4]) : 300;
    json_object_seed(0);
    sqlite_store store;
    sqlite_open(&store, argv[1], 1);
    FILE *hosts = fopen(argv[2], "r");
    if (!hosts) fail(argv[2], strerror(errno));
    char *line = NULL; size_t capacity = 0; ssize_t length;
    size_t count = 0, room = 1024;
    double *samples = malloc(room * sizeof *samples);
    while ((length = getline(&line, &capacity, hosts)) > 0) {
        while (length && (line[length - 1] == '\n' || line[length - 1] == '\r')) line[--length] = 0;
        if (!length) continue;
        usleep(pause);
        double start = now();
        json_t *answer = sqlite_delete(&store, line, (size_t)length);
        if (!answer) fail(line, "not pinned");
        char *text = json_dumps(answer, JSON_COMPACT | JSON_SORT_KEYS);
        double elapsed = (now() - start) * 1e6;
        free(text); json_decref(answer);
        if (warm > 0) { warm--; continue; }
        samples[count] = elapsed;
        if (++count == room) samples = realloc(samples, (room *= 2) * sizeof *samples);
    }
    if (!count) fail(argv[2], "no host keys");
    qsort(samples, count, sizeof *samples, compare);
    printf("%.1f %.1f\n", samples[count / 2], samples[count * 99 / 100]);
    return 0;
}
