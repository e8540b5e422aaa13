/* A ceiling for pipelined requests: what any server built on jansson could do with no work
 * but JSON. Each request line is parsed as tofu-rpc parses it, and answered with a fixed
 * answer (argv[1]: a file holding one answer of tofu-rpc's, e.g. to listCerts {host}) whose
 * id is set to the request's and which is dumped as tofu-rpc dumps (compact, sorted keys);
 * one write per batch of complete lines. No store, no logic: the answer's size alone. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int write_all(const char *data, size_t length) {
    for (size_t done = 0; done < length;) { ssize_t n = write(1, data + done, length - done); if (n <= 0) return 0; done += (size_t)n; }
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: jansson_answer ANSWER_FILE\n"); return 2; }
    json_error_t error;
    json_t *answer = json_load_file(argv[1], 0, &error);
    if (!answer) { fprintf(stderr, "%s: %s\n", argv[1], error.text); return 2; }
    static char input[1 << 20]; size_t have = 0; ssize_t got;
    char *output = malloc(1 << 24);
    while ((got = read(0, input + have, sizeof input - have)) > 0) {
        have += (size_t)got; size_t start = 0, out = 0;
        for (size_t i = 0; i < have; i++) {
            if (input[i] != '\n') continue;
            if (out > (1 << 23)) { if (!write_all(output, out)) return 1; out = 0; }
            json_t *request = json_loadb(input + start, i - start, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
            json_t *id = request ? json_object_get(request, "id") : NULL;
            json_object_set(answer, "id", id ? id : json_null());
            size_t room = (1 << 24) - out - 1;
            size_t length = json_dumpb(answer, output + out, room, JSON_COMPACT | JSON_SORT_KEYS);
            if (length == 0 || length > room) { fprintf(stderr, "answer too large for the buffer\n"); return 1; }
            out += length; output[out++] = '\n';
            json_decref(request); start = i + 1;
        }
        memmove(input, input + start, have - start); have -= start;
        if (!write_all(output, out)) return 1;
    }
    return 0;
}
