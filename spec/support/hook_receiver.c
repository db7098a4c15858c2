/*
 * hook_receiver.c -- a loopback HTTP receiver for the webhook delivery
 * specs (spec/emulator_webhooks_spec.lua); built as build/hook-receiver.
 *
 *   hook-receiver --out FILE [--status N] [--delay-ms N]
 *
 * Binds 127.0.0.1 on a free port and prints it on stdout's first line.
 * Each request (one per connection, served in turn) is appended to FILE
 * as one JSON line {"method", "target", "headers": {lower-case name:
 * value}, "body"} before the answer (status N, default 200, after
 * delay-ms) is sent.  SIGTERM stops it.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ (1024 * 1024)

static void serve(int fd, const char *outpath, int status, long delay_ms) {
    char *buf = malloc(MAX_REQ + 1);
    size_t len = 0;
    char *hend = NULL;
    if (!buf) return;
    while (len < MAX_REQ) {
        ssize_t n = read(fd, buf + len, MAX_REQ - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = '\0';
        if ((hend = strstr(buf, "\r\n\r\n")) != NULL) break;
    }
    if (!hend) {
        free(buf);
        return;
    }
    *hend = '\0';
    size_t hlen = (size_t)(hend - buf) + 4;
    cJSON *rec = cJSON_CreateObject(), *hdrs = cJSON_CreateObject();
    cJSON_AddItemToObject(rec, "headers", hdrs);
    char *line = buf, *next;
    long clen = 0;
    int first = 1;
    for (; line && *line; line = next) {
        next = strstr(line, "\r\n");
        if (next) *next = '\0', next += 2;
        if (first) {
            char method[16] = "", target[4096] = "";
            sscanf(line, "%15s %4095s", method, target);
            cJSON_AddStringToObject(rec, "method", method);
            cJSON_AddStringToObject(rec, "target", target);
            first = 0;
            continue;
        }
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ') v++;
        for (char *p = line; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        if (strcmp(line, "content-length") == 0) clen = strtol(v, NULL, 10);
        cJSON_DeleteItemFromObject(hdrs, line);
        cJSON_AddStringToObject(hdrs, line, v);
    }
    if (clen < 0 || clen > MAX_REQ) clen = 0;
    while (len < hlen + (size_t)clen) {
        ssize_t n = read(fd, buf + len, MAX_REQ - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    size_t blen = len > hlen ? len - hlen : 0;
    if (blen > (size_t)clen) blen = (size_t)clen;
    char *body = malloc(blen + 1);
    if (body) {
        memcpy(body, buf + hlen, blen);
        body[blen] = '\0';
        cJSON_AddStringToObject(rec, "body", body);
        free(body);
    }
    char *text = cJSON_PrintUnformatted(rec);
    FILE *f = fopen(outpath, "a");
    if (f && text) {
        fprintf(f, "%s\n", text);
        fclose(f);
    } else if (f) {
        fclose(f);
    }
    free(text);
    cJSON_Delete(rec);
    free(buf);
    if (delay_ms > 0) {
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    char resp[256];
    int n = snprintf(resp, sizeof resp, "HTTP/1.1 %d Answer\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                                        "Connection: close\r\n\r\nok", status);
    if (write(fd, resp, (size_t)n) < 0) {
        /* the emulator gave up (timeout): nothing to do */
    }
}

int main(int argc, char **argv) {
    const char *out = NULL;
    int status = 200;
    long delay_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else if (!strcmp(argv[i], "--status")) status = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--delay-ms")) delay_ms = atol(argv[i + 1]);
    }
    if (!out) {
        fprintf(stderr, "usage: hook-receiver --out FILE [--status N] [--delay-ms N]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        perror("hook-receiver");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        serve(c, out, status, delay_ms);
        close(c);
    }
}
