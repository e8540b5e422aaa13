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
 *   pin_server [--snapshot-per-read] [--check-rows] [--write-thread] STORE.sqlite
 *                         (jansson + SQLite; --snapshot-per-read: the lookups of one read share
 *                         one read transaction, as tofu-rpc's do; --check-rows: each row read is
 *                         checked as tofu's RowDecoding checks it, pin_check.h; --write-thread:
 *                         deletes run and are answered on a thread of their own, below;
 *                         --hand-off-input: a thread that reads a delete runs it and answers it,
 *                         and hands the input to another first, below; --spin-us N: each
 *                         request also spins for N us of CPU, a server as much slower per request
 *                         as N, to see what a round trip does with the server's CPU alone)
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

#ifndef WITH_PG
/* --write-thread: tofu-rpc's write lane in C. The input thread parses and checks a deleteCert
 * as it does every line (as tofu-rpc's input thread decodes a call before it dispatches it),
 * queues its id and host key for ONE write thread (a mutex + condvar FIFO) and goes back to
 * read() at once: it never waits for a commit's flush or another process's write lock, so it
 * stays free to answer reads. The write thread runs the transaction on its own connection and
 * writes the answer line itself, under the output lock the input thread's writes hold too
 * (tofu-rpc's lane writes its answer itself when the output is idle). The cost this measures:
 * one more thread hop (a wake-up, a context switch) per write than answering on the input thread. */
#include <pthread.h>

typedef struct queued_delete {
    struct queued_delete *next;
    json_t *id;            /* the request's id, copied: the write thread owns it */
    size_t key_length;
    char key[600];
} queued_delete;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    queued_delete *head, *tail;
    int closing;           /* the input is at its end: drain, then stop */
    pthread_t thread;
} lane = {.lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;
static int write_thread, hand_off;

/* --hand-off-input (leader/follower): the input is never left unread while a write waits
 * either, but the hop is taken off the round trip's path. The thread holding the input reads and answers what
 * it read; when that holds deletes, it hands the input to a thread waiting for it (or starts
 * one), then runs its deletes in their turn (the order they were read in) and answers them.
 * The thread woken to take the input wakes while the delete runs, not before it. */
typedef struct { queued_delete *head, *tail; } delete_list;
static _Thread_local delete_list *collected;  /* the deletes of the read being answered */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t input_free, turn, exited;
    int input_held, waiting, at_end, running;  /* running: threads started, not ended */
    unsigned long next_ticket, serving;
} relay = {.lock = PTHREAD_MUTEX_INITIALIZER, .input_free = PTHREAD_COND_INITIALIZER, .turn = PTHREAD_COND_INITIALIZER,
           .exited = PTHREAD_COND_INITIALIZER};

static void pthread_check(int code, const char *what) {
    if (code) fail(what, strerror(code));
}

static void lock_output(int begin) {
    pthread_check(begin ? pthread_mutex_lock(&output_lock) : pthread_mutex_unlock(&output_lock), "output lock");
}
#endif

static const char *const list_names[] = {"host", NULL};
static const char *const delete_names[] = {"host", NULL};

/* deleteCert's answer: the pin deleted, or -32001 when none was. */
static json_t *delete_answer(json_t *id, const char *key, size_t key_length) {
#ifdef WITH_PG
    (void)key_length;
    json_t *result = pg_delete(&store, key);
#else
    if (!writer.db) sqlite_open(&writer, store_path, 1);
    json_t *result = sqlite_delete(&writer, key, key_length);
#endif
    return result ? response(id, result) : error_response(id, -32001, "No certificate is pinned for this host");
}

#ifndef WITH_PG
static void queue_delete(json_t *id, const char *key, size_t key_length) {
    queued_delete *call = malloc(sizeof *call);
    if (!call) fail("deleteCert", "out of memory");
    if (key_length >= sizeof call->key) fail("deleteCert", "a host key longer than the queue holds");
    call->next = NULL;
    call->id = id ? json_deep_copy(id) : NULL;
    if (id && !call->id) fail("deleteCert", "out of memory");
    memcpy(call->key, key, key_length + 1);
    call->key_length = key_length;
    if (hand_off) {
        if (collected->tail) collected->tail->next = call; else collected->head = call;
        collected->tail = call;
        return;
    }
    pthread_check(pthread_mutex_lock(&lane.lock), "write lane lock");
    if (lane.tail) lane.tail->next = call; else lane.head = call;
    lane.tail = call;
    pthread_check(pthread_cond_signal(&lane.ready), "write lane signal");
    pthread_check(pthread_mutex_unlock(&lane.lock), "write lane unlock");
}

/* Runs a queued delete and writes its answer (this thread's buffer: *output, *room bytes). */
static void run_delete(queued_delete *call, char **output, size_t *room) {
    json_t *answer = delete_answer(call->id, call->key, call->key_length);
    size_t size;  /* dumped once, as serve_lines dumps, into a buffer grown when it was short */
    while ((size = json_dumpb(answer, *output, *room - 1, JSON_COMPACT | JSON_SORT_KEYS)) > *room - 1) {
        *room = 2 * size;
        if (!(*output = realloc(*output, *room))) fail("deleteCert", "out of memory");
    }
    if (!size) fail("deleteCert", "the answer could not be dumped");
    (*output)[size] = '\n';
    write_answers(*output, size + 1);
    json_decref(answer);
    json_decref(call->id);
    free(call);
}

/* The write thread: each queued delete in turn, its answer written by this thread. */
static void *write_lane(void *unused) {
    (void)unused;
    size_t room = 1 << 16;
    char *output = malloc(room);
    if (!output) fail("write thread", "out of memory");
    for (;;) {
        pthread_check(pthread_mutex_lock(&lane.lock), "write lane lock");
        while (!lane.head && !lane.closing) pthread_check(pthread_cond_wait(&lane.ready, &lane.lock), "write lane wait");
        queued_delete *call = lane.head;
        if (call) {
            lane.head = call->next;
            if (!lane.head) lane.tail = NULL;
        }
        pthread_check(pthread_mutex_unlock(&lane.lock), "write lane unlock");
        if (!call) break;
        run_delete(call, &output, &room);
    }
    free(output);
    return NULL;
}
#endif

#ifndef WITH_PG
static json_t *handle(const char *line, size_t length, void *unused);

/* --hand-off-input: each thread's loop. Holding the input, it reads and answers as serve_lines
 * does (the answers of one read in one write); deletes are collected, and once the input is
 * handed on they run in the order they were read (tickets), on the one writer connection. */
static void *relay_thread(void *unused) {
    (void)unused;
    static char input[1 << 20];  /* the input's state belongs to the thread holding it */
    static size_t have;
    size_t out_room = 1 << 16, room = 1 << 16;
    char *answers = malloc(out_room), *output = malloc(room);
    if (!answers || !output) fail("hand-off thread", "out of memory");
    delete_list mine = {NULL, NULL};
    collected = &mine;
    pthread_check(pthread_mutex_lock(&relay.lock), "relay lock");
    for (;;) {
        while (relay.input_held && !relay.at_end) {
            relay.waiting++;
            pthread_check(pthread_cond_wait(&relay.input_free, &relay.lock), "relay wait");
            relay.waiting--;
        }
        if (relay.at_end) break;
        relay.input_held = 1;
        pthread_check(pthread_mutex_unlock(&relay.lock), "relay unlock");
        int ended = 0;
        while (!mine.head && !ended) {  /* this thread holds the input until it reads a delete */
            ssize_t got = read(0, input + have, sizeof input - have);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) { ended = 1; break; }
            have += (size_t)got;
            size_t start = 0, out = 0;
            for (size_t i = 0; i < have; i++) {
                if (input[i] != '\n') continue;
                size_t length = i - start;
                if (length && input[start + length - 1] == '\r') length--;
                json_t *answer = handle(input + start, length, NULL);
                start = i + 1;
                if (!answer) continue;
                size_t size;
                while ((size = json_dumpb(answer, answers + out, out_room - out - 1, JSON_COMPACT | JSON_SORT_KEYS)) > out_room - out - 1) {
                    out_room = 2 * (out + size + 1);
                    if (!(answers = realloc(answers, out_room))) fail("hand-off thread", "out of memory");
                }
                if (!size) fail("answer", "could not be dumped");
                out += size;
                answers[out++] = '\n';
                json_decref(answer);
            }
            memmove(input, input + start, have - start); have -= start;
            if (have == sizeof input) fail("request", "a line longer than 1 MiB");
            if (out) write_answers(answers, out);
        }
        unsigned long ticket = relay.next_ticket++;  /* the input's holder alone counts tickets */
        pthread_t next;
        pthread_check(pthread_mutex_lock(&relay.lock), "relay lock");
        relay.input_held = 0;
        if (ended) {
            relay.at_end = 1;
            pthread_check(pthread_cond_broadcast(&relay.input_free), "relay broadcast");
        } else if (relay.waiting) {
            pthread_check(pthread_cond_signal(&relay.input_free), "relay signal");
        } else {
            relay.running++;
            pthread_check(pthread_create(&next, NULL, relay_thread, NULL), "hand-off thread");
            pthread_check(pthread_detach(next), "hand-off thread detach");
        }
        while (relay.serving != ticket) pthread_check(pthread_cond_wait(&relay.turn, &relay.lock), "relay turn");
        pthread_check(pthread_mutex_unlock(&relay.lock), "relay unlock");
        for (queued_delete *call = mine.head, *after; call; call = after) {
            after = call->next;
            run_delete(call, &output, &room);
        }
        mine.head = mine.tail = NULL;
        pthread_check(pthread_mutex_lock(&relay.lock), "relay lock");
        relay.serving++;
        pthread_check(pthread_cond_broadcast(&relay.turn), "relay turn broadcast");
    }
    relay.running--;
    pthread_check(pthread_cond_broadcast(&relay.exited), "relay exit");
    pthread_check(pthread_mutex_unlock(&relay.lock), "relay unlock");
    free(answers);
    free(output);
    return NULL;
}
#endif

/* --spin-us: CPU each request also spends, in ns. */
static long spin_ns;

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
#ifndef WITH_PG
        if (write_thread || hand_off) { queue_delete(id, key, key_length); goto done; }
#endif
        answer = delete_answer(id, key, key_length);
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
    if (spin_ns) {
        struct timespec from, now;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &from);
        do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        while ((now.tv_sec - from.tv_sec) * 1000000000L + (now.tv_nsec - from.tv_nsec) < spin_ns);
    }
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
        else if (strcmp(argv[1], "--write-thread") == 0) write_thread = 1;
        else if (strcmp(argv[1], "--hand-off-input") == 0) hand_off = 1;
        else if (strcmp(argv[1], "--spin-us") == 0 && argc > 3) { spin_ns = (long)(atof(argv[2]) * 1000); argv++; argc--; }
        else break;
    }
#endif
    if (argc != 2) { fprintf(stderr, "usage: %s [--snapshot-per-read] [--check-rows] [--write-thread | --hand-off-input] [--spin-us N] STORE\n", argv[0]); return 2; }
    json_object_seed(0);
#ifdef WITH_PG
    pg_open(&store, argv[1]);
#else
    store_path = argv[1];
    sqlite_open(&reader, store_path, 0);
    if (write_thread && hand_off) fail("--write-thread", "and --hand-off-input are two designs: one at a time");
    if ((write_thread || hand_off) && !sqlite3_threadsafe()) fail("--write-thread", "this SQLite was built without threads");
    if (hand_off) {  /* this thread is the first to hold the input; the others are started as needed */
        around_write = lock_output;
        relay.running = 1;
        relay_thread(NULL);
        pthread_check(pthread_mutex_lock(&relay.lock), "relay lock");
        while (relay.running) pthread_check(pthread_cond_wait(&relay.exited, &relay.lock), "relay exit wait");
        pthread_check(pthread_mutex_unlock(&relay.lock), "relay unlock");
        return 0;
    }
    if (write_thread) {
        around_write = lock_output;
        pthread_check(pthread_create(&lane.thread, NULL, write_lane, NULL), "write thread");
    }
#endif
    serve_lines(handle, NULL);
#ifndef WITH_PG
    if (write_thread) {  /* the input's end: the queued deletes are answered before the exit */
        pthread_check(pthread_mutex_lock(&lane.lock), "write lane lock");
        lane.closing = 1;
        pthread_check(pthread_cond_signal(&lane.ready), "write lane signal");
        pthread_check(pthread_mutex_unlock(&lane.lock), "write lane unlock");
        pthread_check(pthread_join(lane.thread, NULL), "write thread join");
    }
#endif
    return 0;
}
