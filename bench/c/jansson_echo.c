/* The floor for pipelined requests: parse each line with jansson (as tofu-rpc does, duplicate
 * keys rejected) and write it back serialised, one write per batch of complete lines. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    static char input[1 << 20]; size_t have = 0; ssize_t got;
    char *output = malloc(1 << 22);
    while ((got = read(0, input + have, sizeof input - have)) > 0) {
        have += (size_t)got; size_t start = 0, out = 0;
        for (size_t i = 0; i < have; i++) {
            if (input[i] != '\n') continue;
            json_error_t error;
            json_t *value = json_loadb(input + start, i - start, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
            char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
            size_t length = strlen(text);
            memcpy(output + out, text, length); out += length; output[out++] = '\n';
            free(text); json_decref(value); start = i + 1;
        }
        memmove(input, input + start, have - start); have -= start;
        for (size_t done = 0; done < out;) { ssize_t n = write(1, output + done, out - done); if (n <= 0) return 1; done += (size_t)n; }
    }
    return 0;
}
