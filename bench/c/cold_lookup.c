/* The floor of a cold lookup in this design (a client that starts the server over pipes, the
 * server opens the store and answers one lookup): what `tofu listcerts --host K` does, in C.
 * The client starts SERVER STORE (bench/c/pin_server.c: jansson and SQLite only), sends one
 * `listCerts {host}` request, reads the answer, parses it with jansson and prints PI's line
 * (`host=<key>;  subject=<subject>`) for each pin, then closes the pipe and waits for the server.
 *
 *   cold_lookup SERVER STORE HOST */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: cold_lookup SERVER STORE HOST\n"); return 2; }
    int in[2], out[2];
    if (pipe(in) || pipe(out)) { perror("pipe"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        dup2(in[0], 0); dup2(out[1], 1);
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        execl(argv[1], argv[1], argv[2], (char *)NULL);
        perror(argv[1]); _exit(127);
    }
    close(in[0]); close(out[1]);
    json_t *request = json_pack("{s:s, s:i, s:s, s:{s:s}}", "jsonrpc", "2.0", "id", 1, "method", "listCerts", "params", "host", argv[3]);
    char *text = json_dumps(request, JSON_COMPACT);
    size_t length = strlen(text);
    text = realloc(text, length + 2); text[length++] = '\n';
    if (write(in[1], text, length) != (ssize_t)length) { perror("write"); return 1; }
    free(text); json_decref(request);
    size_t room = 1 << 16, have = 0;
    char *answer = malloc(room);
    for (;;) {
        if (have == room) answer = realloc(answer, room *= 2);
        ssize_t got = read(out[0], answer + have, room - have);
        if (got <= 0) { fprintf(stderr, "the server stopped without answering\n"); return 1; }
        have += (size_t)got;
        if (memchr(answer, '\n', have)) break;
    }
    close(in[1]);
    json_error_t error;
    json_t *response = json_loadb(answer, have, JSON_DISABLE_EOF_CHECK, &error);
    json_t *certs = response ? json_object_get(json_object_get(response, "result"), "certs") : NULL;
    if (!json_is_array(certs)) { fprintf(stderr, "unexpected answer: %.*s", (int)have, answer); return 1; }
    size_t index; json_t *pin;
    json_array_foreach(certs, index, pin) {
        printf("host=%s;  subject=%s\n", json_string_value(json_object_get(pin, "host")), json_string_value(json_object_get(pin, "subject")));
    }
    json_decref(response); free(answer);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
