/* emulator_soak.c -- 10,000 hostile requests against twilio-verify-emulator
 * (issue 23): oversized and 1 MiB bodies, forms of too many pairs, bad and
 * missing auth, garbage request lines, foreign Host and Origin headers,
 * huge headers and query strings, chunked bodies, slowloris connections
 * that send half a request and hold it (bounded in time), and valid
 * requests mixed in, which must keep getting right answers.  Meanwhile the
 * emulator's RSS is sampled; at the end its peak (VmHWM) must be under the
 * bound, the request log within its budget, the emulator still answering,
 * and SIGTERM must stop it with status 0.
 *
 *   emulator_soak EMULATOR [REQUESTS=10000] [RSS_BOUND_MB=64] [THREADS=6]
 *
 * Prints one line of figures and "emulator soak: ok" (exit 0), or what went
 * wrong (exit 1).  No timing assertions: only a time limit per socket
 * operation (10 s) so a dead emulator fails instead of hanging.  Binds
 * nothing; talks to 127.0.0.1 only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define TOKEN "soak-token-0123456789"
/* base64("AC0123456789abcdef0123456789abcdef:soak-token-0123456789") */
#define GOOD_AUTH "QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzb2FrLXRva2VuLTAxMjM0NTY3ODk="
#define SVC "VA0123456789abcdef0123456789abcdef"

enum { K_VALID, K_BADAUTH, K_NOAUTH, K_BIGBODY, K_MIBPAIRS, K_MANYPAIRS, K_GARBAGE, K_HOST, K_ORIGIN,
       K_HUGEHEADER, K_MANYHEADERS, K_HUGEQUERY, K_CHUNKED, K_TRUNCATED, K_SLOW, K_NKINDS };
static const char *const kind_names[K_NKINDS] = {
    "valid", "bad auth", "no auth", "2 MiB body", "1 MiB of pairs", "2,000 pairs", "garbage line",
    "foreign Host", "cross-origin control", "200 KiB header", "2,000 headers", "100 KiB query",
    "chunked 3 MiB", "cut-off body", "slowloris"};

typedef struct soak {
    unsigned port;
    pid_t pid;
    long total, next;
    long answered[K_NKINDS], closed[K_NKINDS], sent[K_NKINDS];
    long status[600];
    char failure[512];
    int failed;
    long peak_kb;
    int stop_sampler;
    pthread_mutex_t lock;
} soak;

static void fail(soak *s, const char *fmt, const char *a, long b) {
    pthread_mutex_lock(&s->lock);
    if (!s->failed) snprintf(s->failure, sizeof s->failure, fmt, a, b);
    s->failed = 1;
    pthread_mutex_unlock(&s->lock);
}

static int dial(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until EOF (Connection: close); the status, 0 when no status line
 * came, -1 on a timeout.  The body (cut at cap) into buf when given. */
static int read_answer(int fd, char *buf, size_t cap, size_t *got) {
    char tmp[65536];
    size_t n = 0;
    int status = 0;
    for (;;) {
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
        if (r <= 0) break;
        if (n == 0 && r >= 12 && memcmp(tmp, "HTTP/1.", 7) == 0) status = atoi(tmp + 9);
        if (buf && n < cap) memcpy(buf + n, tmp, (size_t)r < cap - n ? (size_t)r : cap - n);
        n += (size_t)r;
    }
    if (got) *got = n;
    return status;
}

static char *repeat(const char *unit, size_t times) {
    size_t ul = strlen(unit);
    char *s = malloc(ul * times + 1);
    if (!s) abort();
    for (size_t i = 0; i < times; i++) memcpy(s + i * ul, unit, ul);
    s[ul * times] = '\0';
    return s;
}

/* One request of kind k: send, read, check what may come back. */
static void one(soak *s, int k, long i) {
    char head[4096], host[64];
    snprintf(host, sizeof host, "127.0.0.1:%u", s->port);
    int fd = dial(s->port);
    if (fd < 0) {
        fail(s, "connect failed (%s, request %ld): the emulator stopped answering", kind_names[k], i);
        return;
    }
    char *body = NULL;
    size_t blen = 0;
    const char *method = "GET", *path = "/v2/Services?PageSize=1", *ctype = NULL, *auth = GOOD_AUTH;
    const char *extra = "", *hhost = host;
    int allowed[4] = {0, 0, 0, 0}, may_close = 0;
    char pathbuf[256];
    switch (k) {
    case K_VALID:
        if (i % 2) {
            snprintf(pathbuf, sizeof pathbuf, "/v2/Services/%s/Entities/soak-user-%04ld", SVC, i % 10000);
            path = pathbuf;
            allowed[0] = 404;
        } else {
            allowed[0] = 200;
        }
        break;
    case K_BADAUTH:
        auth = "QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp3cm9uZw==";
        allowed[0] = 401;
        break;
    case K_NOAUTH:
        auth = NULL;
        method = "POST";
        path = "/v2/Nope";
        ctype = "application/x-www-form-urlencoded";
        body = repeat("FriendlyName=x&", 50);
        blen = strlen(body);
        allowed[0] = 401;
        break;
    case K_BIGBODY: /* over EMU_BODY_MAX */
        method = "POST";
        path = "/v2/Services";
        ctype = "application/x-www-form-urlencoded";
        body = repeat("FriendlyName=xxxxxxxxxxxxxx&", 2 * 1024 * 1024 / 28 + 1);
        blen = strlen(body);
        allowed[0] = 413;
        may_close = 1; /* it may stop reading */
        break;
    case K_MIBPAIRS: /* the amplification of issue 23 item 2, unauthenticated */
        auth = NULL;
        method = "POST";
        path = "/v2/Nope";
        ctype = "application/x-www-form-urlencoded";
        body = repeat("a=&", 349525);
        blen = strlen(body);
        allowed[0] = 401;
        break;
    case K_MANYPAIRS:
        method = "POST";
        path = "/v2/Services";
        ctype = "application/x-www-form-urlencoded";
        body = repeat("FriendlyName=x&", 2000);
        blen = strlen(body);
        allowed[0] = 413;
        break;
    case K_GARBAGE: {
        static const char *const lines[] = {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "\x01\x02\x03 / HTTP/1.1\r\n\r\n",
                                            "GET / HTTP/9.9\r\nHost: x\r\n\r\n", "GET /%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"};
        const char *l = lines[i % 5];
        if (send_all(fd, l, strlen(l)) == 0) {
            int st = read_answer(fd, NULL, 0, NULL);
            pthread_mutex_lock(&s->lock);
            s->sent[k]++;
            if (st > 0) s->answered[k]++, s->status[st < 600 ? st : 599]++;
            else s->closed[k]++;
            pthread_mutex_unlock(&s->lock);
            if (st < 0) fail(s, "%s: no answer and no close in 10 s (request %ld)", kind_names[k], i);
        }
        close(fd);
        return;
    }
    case K_HOST:
        hhost = (i % 3 == 0) ? "evil.example" : (i % 3 == 1) ? "localhost.evil.example" : "127.0.0.1:1";
        allowed[0] = 403;
        break;
    case K_ORIGIN:
        method = "POST";
        path = "/__emulator/reset";
        auth = NULL;
        extra = (i % 2) ? "Origin: http://evil.example\r\n" : "Sec-Fetch-Site: cross-site\r\n";
        ctype = (i % 2) ? "text/plain" : NULL;
        body = (i % 2) ? repeat("x", 10) : NULL;
        blen = body ? strlen(body) : 0;
        allowed[0] = 403;
        break;
    case K_HUGEHEADER: {
        char *v = repeat("h", 200 * 1024);
        char *x = malloc(strlen(v) + 32);
        sprintf(x, "X-Huge: %s\r\n", v);
        free(v);
        extra = x;
        allowed[0] = 431;
        allowed[1] = 413;
        allowed[2] = 400;
        may_close = 1;
        break;
    }
    case K_MANYHEADERS: {
        char *x = repeat("X-Many: 0123456789abcdef0123456789abcdef\r\n", 2000);
        extra = x;
        allowed[0] = 431;
        allowed[1] = 413;
        allowed[2] = 400;
        may_close = 1;
        break;
    }
    case K_HUGEQUERY: {
        char *q = repeat("PageSize=1&", 100 * 1024 / 11);
        char *p = malloc(strlen(q) + 32);
        sprintf(p, "/v2/Services?%s", q);
        free(q);
        path = p;
        allowed[0] = 414;
        allowed[1] = 413;
        allowed[2] = 431;
        allowed[3] = 400;
        may_close = 1;
        break;
    }
    case K_CHUNKED: {
        method = "POST";
        path = "/__emulator/faults";
        auth = NULL;
        ctype = "application/json";
        extra = "Transfer-Encoding: chunked\r\n";
        /* 3 MiB in 64 KiB chunks */
        char *chunk = repeat("{", 65536);
        size_t n = 48, cl = 0;
        body = malloc(n * (65536 + 16) + 8);
        for (size_t c = 0; c < n; c++) cl += (size_t)sprintf(body + cl, "10000\r\n%s\r\n", chunk);
        cl += (size_t)sprintf(body + cl, "0\r\n\r\n");
        blen = cl;
        free(chunk);
        allowed[0] = 413;
        may_close = 1;
        break;
    }
    case K_TRUNCATED: /* announces more than it sends, then closes */
        method = "POST";
        path = "/v2/Services";
        ctype = "application/x-www-form-urlencoded";
        body = repeat("FriendlyName=x&", 10);
        blen = strlen(body);
        break;
    default:
        break;
    }
    int n = snprintf(head, sizeof head, "%s %.200s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s%s%s%s", method,
                     strlen(path) > 200 ? "" : path, "", hhost, auth ? "Authorization: Basic " : "", auth ? auth : "",
                     auth ? "\r\n" : "", ctype ? "Content-Type: " : "");
    if (ctype) n += snprintf(head + n, sizeof head - (size_t)n, "%s\r\n", ctype);
    if (!strstr(extra, "chunked") && (body || strcmp(method, "POST") == 0))
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n",
                      k == K_TRUNCATED ? blen + 1000 : blen);
    int ok = 1;
    if (strlen(path) > 200) { /* the long query: its own request line */
        char *line = malloc(strlen(path) + 64);
        sprintf(line, "%s %s HTTP/1.1\r\n", method, path);
        ok = send_all(fd, line, strlen(line)) == 0;
        free(line);
        char *rest = strstr(head, "\r\n") + 2;
        ok = ok && send_all(fd, rest, strlen(rest)) == 0;
    } else {
        ok = send_all(fd, head, (size_t)n) == 0;
    }
    ok = ok && send_all(fd, extra, strlen(extra)) == 0 && send_all(fd, "\r\n", 2) == 0;
    if (ok && body) ok = send_all(fd, body, blen) == 0 || may_close;
    if (k == K_TRUNCATED) shutdown(fd, SHUT_WR);
    int st = read_answer(fd, NULL, 0, NULL);
    close(fd);
    pthread_mutex_lock(&s->lock);
    s->sent[k]++;
    if (st > 0) s->answered[k]++, s->status[st < 600 ? st : 599]++;
    else s->closed[k]++;
    pthread_mutex_unlock(&s->lock);
    if (st < 0) fail(s, "%s: no answer and no close in 10 s (request %ld)", kind_names[k], i);
    else if (k == K_TRUNCATED) {
        /* a cut-off body is never answered as if complete */
        if (st >= 200 && st < 300) fail(s, "%s: answered %ld", kind_names[k], st);
    } else if (st == 0 && !ok && may_close) {
        /* refused while sending: fine */
    } else if (st == 0 && !may_close) {
        fail(s, "%s: the connection closed without an answer (request %ld)", kind_names[k], i);
    } else if (st > 0 && allowed[0] && st != allowed[0] && st != allowed[1] && st != allowed[2] && st != allowed[3]) {
        char what[96];
        snprintf(what, sizeof what, "%s (request %ld)", kind_names[k], i);
        fail(s, "%s: unexpected status %ld", what, st);
    }
    free(body);
    if (k == K_HUGEHEADER || k == K_MANYHEADERS) free((char *)extra);
    if (k == K_HUGEQUERY) free((char *)path);
}

/* The mix: per 100 requests, 1 of 2 MiB, 2 of 1 MiB pairs, 1 chunked. */
static int kind_of(long i) {
    int r = (int)(i % 100);
    if (r == 0) return K_BIGBODY;
    if (r == 50 || r == 75) return K_MIBPAIRS;
    if (r == 25) return K_CHUNKED;
    static const int rest[] = {K_VALID,     K_VALID,      K_BADAUTH,   K_NOAUTH, K_MANYPAIRS,
                               K_GARBAGE,   K_HOST,       K_ORIGIN,    K_VALID,  K_HUGEHEADER,
                               K_MANYHEADERS, K_HUGEQUERY, K_TRUNCATED, K_BADAUTH, K_VALID};
    return rest[r % (int)(sizeof rest / sizeof rest[0])];
}

static void *worker(void *arg) {
    soak *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        long i = s->next < s->total ? s->next++ : -1;
        int failed = s->failed;
        pthread_mutex_unlock(&s->lock);
        if (i < 0 || failed) break;
        one(s, kind_of(i), i);
    }
    return NULL;
}

/* Slowloris: 40 connections at a time send half a request and hold it for
 * 1.5 s, then close; 200 in all.  Counted among the requests. */
static void *slowloris(void *arg) {
    soak *s = arg;
    enum { AT_ONCE = 40, ROUNDS = 5 };
    for (int round = 0; round < ROUNDS && !s->failed; round++) {
        int fds[AT_ONCE];
        for (int c = 0; c < AT_ONCE; c++) {
            fds[c] = dial(s->port);
            char half[128];
            int n = snprintf(half, sizeof half, "POST /v2/Services HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: 100\r\nX-Slow:", s->port);
            if (fds[c] >= 0) send_all(fds[c], half, (size_t)n);
        }
        struct timespec ts = {1, 500000000};
        nanosleep(&ts, NULL);
        for (int c = 0; c < AT_ONCE; c++)
            if (fds[c] >= 0) close(fds[c]);
        pthread_mutex_lock(&s->lock);
        s->sent[K_SLOW] += AT_ONCE;
        s->closed[K_SLOW] += AT_ONCE;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

static long rss_kb(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0) v = atol(line + fl);
    fclose(f);
    return v;
}

static void *sampler(void *arg) {
    soak *s = arg;
    while (!s->stop_sampler) {
        long kb = rss_kb(s->pid, "VmRSS:");
        if (kb > s->peak_kb) s->peak_kb = kb;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static pid_t start_emulator(const char *exe, unsigned *port) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(exe, exe, "--port", "0", "--account-sid", ACCOUNT, "--auth-token", TOKEN, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[32] = "";
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t r = read(p[0], buf + n, 1);
        if (r <= 0 || buf[n] == '\n') break;
        n++;
    }
    close(p[0]);
    buf[n] = '\0';
    *port = (unsigned)atoi(buf);
    return *port ? pid : -1;
}

/* A whole GET with the account's credentials: status, body into buf. */
static int get(unsigned port, const char *path, char *buf, size_t cap, size_t *got) {
    int fd = dial(port);
    if (fd < 0) return -1;
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n",
                     path, port, GOOD_AUTH);
    int st = send_all(fd, req, (size_t)n) == 0 ? read_answer(fd, buf, cap, got) : -1;
    close(fd);
    return st;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s EMULATOR [REQUESTS] [RSS_BOUND_MB] [THREADS]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    soak s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    long requests = argc > 2 ? atol(argv[2]) : 10000;
    long bound_mb = argc > 3 ? atol(argv[3]) : 64;
    int threads = argc > 4 ? atoi(argv[4]) : 6;
    if (threads < 1 || threads > 64) threads = 6;
    s.total = requests - 200; /* the slowloris thread makes the other 200 */
    s.pid = start_emulator(argv[1], &s.port);
    if (s.pid < 0) {
        fprintf(stderr, "emulator soak: cannot start %s\n", argv[1]);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rss0 = rss_kb(s.pid, "VmRSS:");
    pthread_t th[64], slow, samp;
    pthread_create(&samp, NULL, sampler, &s);
    pthread_create(&slow, NULL, slowloris, &s);
    for (int t = 0; t < threads; t++) pthread_create(&th[t], NULL, worker, &s);
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    pthread_join(slow, NULL);
    /* afterwards: still answering, right, and the log within its budget */
    static char logbuf[16 * 1024 * 1024];
    size_t got = 0;
    int st = get(s.port, "/v2/Services?PageSize=1", logbuf, sizeof logbuf, &got);
    if (st != 200) fail(&s, "after the soak a valid request got %s %ld", "status", st);
    st = get(s.port, "/__emulator/requests", logbuf, sizeof logbuf, &got);
    if (st != 200) fail(&s, "GET /__emulator/requests: %s %ld", "status", st);
    if (got > 9 * 1024 * 1024) fail(&s, "the request log is %s%ld bytes (budget 8 MiB)", "", (long)got);
    s.stop_sampler = 1;
    pthread_join(samp, NULL);
    long hwm = rss_kb(s.pid, "VmHWM:");
    if (hwm > s.peak_kb) s.peak_kb = hwm;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kill(s.pid, SIGTERM);
    int wst = 0;
    waitpid(s.pid, &wst, 0);
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0) fail(&s, "the emulator did not exit cleanly on SIGTERM%s (%ld)", "", (long)wst);
    if (s.peak_kb > bound_mb * 1024) fail(&s, "peak RSS over the bound: %s%ld kB", "", s.peak_kb);
    long sent = 0, answered = 0, closed = 0;
    for (int k = 0; k < K_NKINDS; k++) sent += s.sent[k], answered += s.answered[k], closed += s.closed[k];
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("emulator soak: %ld hostile requests (%d kinds) in %.1f s: %ld answered, %ld closed (slowloris, "
           "refused uploads); RSS %ld kB at start, peak %ld kB (bound %ld MB); log %zu bytes at the end\n",
           sent, K_NKINDS, secs, answered, closed, rss0, s.peak_kb, bound_mb, got);
    printf("  by kind:");
    for (int k = 0; k < K_NKINDS; k++) printf(" %s %ld/%ld;", kind_names[k], s.answered[k], s.sent[k]);
    printf("\n  statuses:");
    for (int c = 0; c < 600; c++)
        if (s.status[c]) printf(" %d x%ld", c, s.status[c]);
    printf("\n");
    if (s.failed) {
        printf("emulator soak: FAILED: %s\n", s.failure);
        return 1;
    }
    printf("emulator soak: ok\n");
    return 0;
}
