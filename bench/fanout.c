/* SSE fan-out client, and its floor. Built and run by bench/fanout.py (cc -O2 -o fanout fanout.c).
 * One thread, epoll, non-blocking sockets, so the client is never what saturates first.
 *
 *   fanout clients PORT PATH TOKEN N GOFILE [TOTAL]
 *       N streams of PATH; creates GOFILE once every one has shown the line "ready"; reads until
 *       `event: end` or EOF. Lines "<i> <unix time>" give latency = time read - time printed.
 *       With FANOUT_TRACE=PREFIX, also writes PREFIX.<pid>: per line, the time printed and the ms
 *       until the daemon read it (its "timestamp"), the first client and the last client got it.
 *   fanout floor N RATE TOTAL
 *       a bare server in this process (head, frames and chunking as lph sends them) and the
 *       same client, forked, on it: TOTAL lines at RATE lines/s, batched about once a millisecond.
 *   fanout idle PORT PATH TOKEN N SECONDS [HEARTBEAT_S]
 *       N idle streams held SECONDS: gaps between received bytes; then one more stream's time
 *       to its response head and to its first frame.
 * Each prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PENDING_MAX 256 /* connects awaiting their head at once: a full listen backlog costs 1 s SYN retries */
#define BUCKETS 6000000 /* latency histogram: 0.01 ms buckets up to 60 s, the last one "or more" */

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static double wall(void) { return clock_s(CLOCK_REALTIME); } /* comparable with the agent's time.time() */
static double mono(void) { return clock_s(CLOCK_MONOTONIC); }

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void *grow(void *p, size_t *cap, size_t need) {
    if (need <= *cap) return p;
    while (*cap < need) *cap = *cap ? *cap * 2 : 256;
    if (!(p = realloc(p, *cap))) { perror("realloc"); exit(1); }
    return p;
}

/* ---- latencies: exact to 0.01 ms, in constant memory however many lines ---- */
static uint32_t *hist;
static uint64_t nlat;
static double maxlat;

/* FANOUT_TRACE: per line, the wall times it was printed, read by the daemon, first and last received. */
static double (*trace)[4];
static long trace_n;

static void record(double s) {
    double ms = s < 0 ? 0 : s * 1e3;
    long b = (long)(ms * 100);
    hist[b < BUCKETS ? b : BUCKETS - 1]++;
    nlat++;
    if (ms > maxlat) maxlat = ms;
}

/* The p-quantile in ms, as bench/measures.py's pct: the sorted value at index int(p * n). */
static double quantile(double p) {
    uint64_t rank = (uint64_t)(p * nlat), seen = 0;
    if (rank >= nlat) rank = nlat - 1;
    for (long b = 0; b < BUCKETS; b++)
        if ((seen += hist[b]) > rank) return b == BUCKETS - 1 ? maxlat : (b + 0.5) / 100;
    return maxlat;
}

/* ---- one client stream: HTTP head, then chunked (or plain) body, then SSE lines ---- */
enum { CONNECTING, HEAD, BODY, DONE };
struct conn {
    int fd, state, status;
    bool chunked, ended, ready, ordered, in_seq;
    long left, skip;        /* de-chunking: data bytes left in this chunk; CRLF bytes to skip after it */
    char size[24];          /* the chunk-size line so far */
    int size_len;
    char *line;             /* a partial line carried to the next read */
    size_t len, cap;
    long last_id, expect, lines, fields;
    char event[16];
    double first_byte, first_frame, last_byte; /* monotonic */
};

static struct {
    struct conn *c;
    int n, opened, awaiting, connected, failed, ready, unready_done, done, ep;
    long late, beats;
    const char *gofile;
    bool went;
    double window, period, max_gap; /* idle mode: window start, heartbeat period, largest gap seen */
    struct sockaddr_in addr;
    char request[1024];
} g;

static void carry(struct conn *c, const char *s, size_t n) {
    c->line = grow(c->line, &c->cap, c->len + n + 1);
    memcpy(c->line + c->len, s, n);
    c->len += n;
}

/* Calls fn on each whole line of p[0..n) (a partial one from the last read first), without
 * its \r\n and NUL-terminated; keeps a trailing partial line; stops when fn answers false.
 * Answers the bytes used. */
typedef bool (*line_fn)(struct conn *, char *, size_t, double);
static size_t split(struct conn *c, char *p, size_t n, double now, line_fn fn) {
    size_t used = 0;
    while (used < n) {
        char *s = p + used, *q = memchr(s, '\n', n - used);
        if (!q) { carry(c, s, n - used); return n; }
        size_t len = q - s;
        used += len + 1;
        if (c->len) { carry(c, s, len); s = c->line; len = c->len; c->len = 0; }
        if (len && s[len - 1] == '\r') len--;
        s[len] = 0; /* overwrites the \r or \n, already read */
        if (!fn(c, s, len, now)) break;
    }
    return used;
}

static void maybe_go(void) {
    if (!g.gofile || g.went || g.opened < g.n || g.ready + g.unready_done < g.n) return;
    int fd = open(g.gofile, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
    g.went = true;
}

static bool head_line(struct conn *c, char *s, size_t n, double now) {
    (void)now;
    if (!c->status) {
        c->status = strncmp(s, "HTTP/1.", 7) == 0 ? atoi(s + 9) : -1;
        if (c->status != 200 && g.failed == 0) fprintf(stderr, "fanout: %s\n", s);
    } else if (n == 0) {
        g.awaiting--;
        c->state = BODY;
        if (c->status == 200) g.connected++; else g.failed++, c->ended = true; /* refused (429, 404…) */
        return false;
    } else if (!strncasecmp(s, "transfer-encoding:", 18) && strcasestr(s + 18, "chunked")) {
        c->chunked = true;
    }
    return true;
}

/* A data line's JSON "text": "ready", or "<i> <time printed>". */
static void text(struct conn *c, const char *json, double now) {
    const char *t = strstr(json, "\"text\":\"");
    if (!t) return;
    t += 8;
    if (!strncmp(t, "ready\"", 6)) {
        if (!c->ready) c->ready = true, g.ready++, maybe_go();
        return;
    }
    char *end;
    long i = strtol(t, &end, 10);
    if (end == t || *end != ' ') return;
    double printed = strtod(end + 1, &end);
    if (*end != '"') return;
    record(now - printed);
    if (trace && i >= 1 && i <= trace_n) {
        double *t = trace[i - 1];
        const char *ts = strstr(json, "\"timestamp\":\"");
        struct tm tm = {0};
        int ms = 0;
        if (ts && sscanf(ts + 13, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7) {
            tm.tm_year -= 1900, tm.tm_mon -= 1;
            t[1] = timegm(&tm) + ms / 1e3;
        }
        t[0] = printed;
        if (!t[2] || now < t[2]) t[2] = now;
        if (now > t[3]) t[3] = now;
    }
    c->in_seq &= i == c->expect; /* 1, 2, 3, … each exactly once */
    c->expect = i + 1;
    c->lines++;
}

static bool sse_line(struct conn *c, char *s, size_t n, double now) {
    if (n == 0) { /* a blank line ends a frame */
        if (c->fields && !c->first_frame) c->first_frame = mono();
        if (c->fields && !strcmp(c->event, "end")) c->ended = true;
        c->fields = 0, c->event[0] = 0;
        return !c->ended;
    }
    if (s[0] == ':') { /* a comment: lph's heartbeat */
        if (g.window) g.beats++;
        return true;
    }
    char *v = strchr(s, ':');
    v = v ? v + 1 + (v[1] == ' ') : s + n;
    c->fields++;
    if (!strncmp(s, "id:", 3)) {
        long id = strtol(v, 0, 10);
        c->ordered &= id > c->last_id;
        c->last_id = id;
    } else if (!strncmp(s, "event:", 6)) {
        snprintf(c->event, sizeof c->event, "%s", v);
    } else if (!strncmp(s, "data:", 5)) {
        text(c, v, now);
    }
    return true;
}

/* The body: with chunked transfer encoding, strips the size lines and CRLFs around each chunk. */
static void body(struct conn *c, char *p, size_t n, double now) {
    if (!c->chunked) { split(c, p, n, now, sse_line); return; }
    while (n > 0 && !c->ended) {
        if (c->left > 0) {
            size_t k = n < (size_t)c->left ? n : (size_t)c->left;
            split(c, p, k, now, sse_line);
            p += k, n -= k, c->left -= k;
            if (c->left == 0) c->skip = 2;
        } else if (c->skip > 0) {
            p++, n--, c->skip--;
        } else {
            char ch = *p++;
            n--;
            if (ch != '\n') { if (c->size_len < (int)sizeof c->size - 1) c->size[c->size_len++] = ch; continue; }
            c->size[c->size_len] = 0, c->size_len = 0;
            c->left = strtol(c->size, 0, 16);
            if (c->left == 0) c->ended = true; /* the last chunk: the response is over */
        }
    }
}

static void feed(struct conn *c, char *p, size_t n, double now) {
    if (c->state == HEAD) {
        size_t k = split(c, p, n, now, head_line);
        p += k, n -= k;
    }
    if (c->state == BODY && n) body(c, p, n, now);
}

static void finish(struct conn *c) {
    if (c->state == CONNECTING || c->state == HEAD) g.awaiting--, g.failed++;
    close(c->fd);
    c->state = DONE;
    g.done++;
    if (!c->ready) g.unready_done++, maybe_go();
}

static void open_one(struct conn *c) {
    memset(c, 0, sizeof *c);
    c->ordered = c->in_seq = true, c->expect = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    g.awaiting++;
    if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&g.addr, sizeof g.addr) < 0 && errno != EINPROGRESS)) {
        if (!g.failed) perror("fanout: connect"); /* once: stderr is a pipe nobody reads until the end */
        finish(c);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void on_event(struct conn *c, uint32_t events) {
    static char buf[1 << 16];
    if (c->state == CONNECTING) { /* connected (or refused): send the request */
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        size_t n = strlen(g.request);
        if (err || write(c->fd, g.request, n) != (ssize_t)n) { finish(c); return; }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->state = HEAD;
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    ssize_t n = read(c->fd, buf, sizeof buf - 1);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) { finish(c); return; }
    double now = wall(), t = mono();
    if (!c->first_byte) c->first_byte = t;
    if (g.window && t > g.window && c->last_byte) { /* a gap ending in the idle window */
        double gap = t - c->last_byte;
        if (gap > g.max_gap) g.max_gap = gap;
        if (gap > g.period + 2) g.late++;
    }
    c->last_byte = t;
    feed(c, buf, n, now);
    if (c->ended) finish(c);
}

/* Runs the streams until every one is done, or, with `idle` > 0, for `idle` seconds once all have their head. */
static void run(double idle) {
    struct epoll_event evs[1024];
    while (g.done < g.n) {
        while (g.opened < g.n && g.awaiting < PENDING_MAX) open_one(&g.c[g.opened++]);
        if (idle && !g.window && g.opened == g.n && g.awaiting == 0) {
            g.window = mono();
            fprintf(stderr, "connected %d\n", g.connected); /* bench/fanout.py samples the daemon's RSS now */
        }
        if (g.window && mono() >= g.window + idle) return;
        int k = epoll_wait(g.ep, evs, 1024, 100);
        for (int i = 0; i < k; i++) on_event(evs[i].data.ptr, evs[i].events);
    }
}

static void setup(const char *port, const char *path, const char *token, int n) {
    g.n = n;
    g.c = calloc(n + 1, sizeof *g.c); /* one more: idle mode's new client */
    g.ep = epoll_create1(0);
    g.addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(atoi(port)), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    snprintf(g.request, sizeof g.request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n", path, token);
}

static int clients(const char *port, const char *path, const char *token, int n, const char *gofile, long total) {
    hist = calloc(BUCKETS, sizeof *hist);
    const char *tracefile = getenv("FANOUT_TRACE");
    if (tracefile && total) trace = calloc(total, sizeof *trace), trace_n = total;
    setup(port, path, token, n);
    g.gofile = gofile;
    run(0);
    if (trace) {
        char name[4096];
        snprintf(name, sizeof name, "%s.%d", tracefile, (int)getpid());
        FILE *f = fopen(name, "w");
        for (long i = 0; f && i < trace_n; i++)
            fprintf(f, "%ld %.6f %.3f %.3f %.3f\n", i + 1, trace[i][0], (trace[i][1] - trace[i][0]) * 1e3,
                    (trace[i][2] - trace[i][0]) * 1e3, (trace[i][3] - trace[i][0]) * 1e3);
        if (f) fclose(f);
    }
    int complete = 0;
    bool ordered = true;
    long lines = 0;
    for (int i = 0; i < n; i++) {
        struct conn *c = &g.c[i];
        complete += c->status == 200 && c->in_seq && (total ? c->lines == total : c->ended);
        ordered &= c->ordered;
        lines += c->lines;
    }
    printf("{\"clients\": %d, \"connected\": %d, \"failed\": %d, \"complete\": %d, \"ordered\": %s, ", n, g.connected,
           g.failed, complete, ordered ? "true" : "false");
    if (total) printf("\"lines_expected\": %ld, ", total);
    printf("\"lines_received\": %ld, ", lines);
    if (nlat) printf("\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, ", quantile(.5), quantile(.99), maxlat);
    else printf("\"p50_ms\": null, \"p99_ms\": null, \"max_ms\": null, ");
    printf("\"client_cpu_s\": %.3f}\n", cpu_seconds());
    return 0;
}

static int idle(const char *port, const char *path, const char *token, int n, double seconds, double period) {
    setup(port, path, token, n);
    g.period = period;
    run(seconds);
    double end = mono();
    int open = 0;
    for (int i = 0; i < g.opened; i++) {
        struct conn *c = &g.c[i];
        if (c->state != BODY) continue;
        open++;
        double gap = end - c->last_byte; /* the trailing gap: a heartbeat that never came */
        if (gap > g.max_gap) g.max_gap = gap;
        if (gap > period + 2) g.late++;
    }
    struct conn *c = &g.c[n]; /* a new client while the others stay connected */
    double t0 = mono();
    g.n++, g.opened++;
    open_one(c);
    struct epoll_event evs[1024];
    while (c->state != DONE && !c->first_frame && mono() < t0 + 5) {
        int k = epoll_wait(g.ep, evs, 1024, 10);
        for (int i = 0; i < k; i++) on_event(evs[i].data.ptr, evs[i].events);
    }
    printf("{\"clients\": %d, \"connected\": %d, \"failed\": %d, \"heartbeats\": %ld, \"heartbeats_late\": %ld, "
           "\"max_gap_s\": %.3f, \"new_client_head_ms\": ",
           n, open, g.failed, g.beats, g.late, g.max_gap);
    if (c->first_byte) printf("%.3f", (c->first_byte - t0) * 1e3); else printf("null");
    printf(", \"new_client_first_frame_ms\": ");
    if (c->first_frame) printf("%.3f", (c->first_frame - t0) * 1e3); else printf("null");
    printf(", \"cpu_s\": %.3f}\n", cpu_seconds());
    return 0;
}

/* ---- the floor: a bare server sending lph's bytes ---- */
struct peer {
    int fd, match; /* match: how much of "\r\n\r\n" ended the request so far */
    bool answered;
    char *out;     /* what the socket would not take yet: sent, in order, on EPOLLOUT */
    size_t len, off, cap;
};
static struct peer *peers;
static int npeers, answered, listener;
static size_t pending; /* bytes queued over all peers */

static const char HEAD_BYTES[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                                 "X-Accel-Buffering: no\r\nDate: Mon, 30 Nov 2026 09:34:55 GMT\r\nServer: lph\r\n"
                                 "transfer-encoding: chunked\r\n\r\n";

static void drop(struct peer *p) {
    close(p->fd);
    p->fd = -1;
    pending -= p->len - p->off;
    p->len = p->off = 0;
}

static void watch(struct peer *p, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = p};
    epoll_ctl(g.ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* One write per socket; what it would not take waits, in order, for EPOLLOUT (a floor must not drop). */
static void queue(struct peer *p, const char *s, size_t n) {
    if (p->fd < 0) return;
    if (p->len == p->off) {
        ssize_t w = write(p->fd, s, n);
        if (w < 0 && errno != EAGAIN) { drop(p); return; }
        if (w == (ssize_t)n) return;
        if (w > 0) s += w, n -= w;
        p->len = p->off = 0;
        watch(p, EPOLLIN | EPOLLOUT);
    }
    p->out = grow(p->out, &p->cap, p->len + n);
    memcpy(p->out + p->len, s, n);
    p->len += n, pending += n;
}

static void flush(struct peer *p) {
    ssize_t w = write(p->fd, p->out + p->off, p->len - p->off);
    if (w < 0) { if (errno != EAGAIN) drop(p); return; }
    p->off += w, pending -= w;
    if (p->off == p->len) p->len = p->off = 0, watch(p, EPOLLIN);
}

/* An SSE frame of one job log line, with lph's keys, wrapped in nothing: chunks hold batches. */
static int frame(char *s, size_t cap, long id, const char *text) {
    char stamp[32];
    double now = wall();
    time_t secs = (time_t)now;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t k = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + k, sizeof stamp - k, ".%03dZ", (int)((now - secs) * 1000));
    return snprintf(s, cap, "id: %ld\nevent: log\ndata: {\"id\":%ld,\"stream\":\"log\",\"job_id\":1,\"level\":\"info\","
                    "\"source\":\"agent\",\"timestamp\":\"%s\",\"text\":\"%s\"}\n\n", id, id, stamp, text);
}

/* Lines lo..hi as one chunk, written to every peer. Ids: the "ready" frame is 1, line i is i + 1. */
static void send_lines(long lo, long hi) {
    static char *buf;
    static size_t cap;
    size_t len = 16; /* room in front for the chunk-size line */
    for (long i = lo; i <= hi; i++) {
        char text[64];
        snprintf(text, sizeof text, "%ld %.6f", i, wall());
        buf = grow(buf, &cap, len + 512);
        len += frame(buf + len, 512, i + 1, text);
    }
    char size[16];
    int k = snprintf(size, sizeof size, "%zx\r\n", len - 16);
    memcpy(buf + 16 - k, size, k);
    buf = grow(buf, &cap, len + 2);
    memcpy(buf + len, "\r\n", 2);
    for (int i = 0; i < npeers; i++) queue(&peers[i], buf + 16 - k, len - 16 + k + 2);
}

static void on_peer(struct peer *p, uint32_t events) {
    if (events & EPOLLOUT) flush(p);
    if (p->fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    char b[2048];
    ssize_t n = read(p->fd, b, sizeof b);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) { drop(p); return; } /* the client left (at the end: it read `event: end`) */
    for (ssize_t i = 0; i < n && !p->answered; i++) {
        p->match = b[i] == "\r\n\r\n"[p->match] ? p->match + 1 : b[i] == '\r';
        if (p->match < 4) continue;
        char chunk[512];
        int k = frame(chunk + 16, sizeof chunk - 32, 1, "ready"), h = snprintf(chunk, 16, "%x\r\n", k);
        memmove(chunk + h, chunk + 16, k);
        memcpy(chunk + h + k, "\r\n", 2);
        p->answered = true, answered++;
        queue(p, HEAD_BYTES, sizeof HEAD_BYTES - 1);
        queue(p, chunk, h + k + 2);
    }
}

static void serve(int timeout_ms) {
    struct epoll_event evs[1024];
    int k = epoll_wait(g.ep, evs, 1024, timeout_ms);
    for (int i = 0; i < k; i++) {
        if (evs[i].data.ptr) { on_peer(evs[i].data.ptr, evs[i].events); continue; }
        int fd;
        while (npeers < g.n && (fd = accept4(listener, 0, 0, SOCK_NONBLOCK)) >= 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            peers[npeers] = (struct peer){.fd = fd};
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &peers[npeers++]};
            epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev);
        }
    }
}

static int floor_(int n, double rate, long total) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4096)) { perror("listen"); return 1; }
    getsockname(listener, (struct sockaddr *)&addr, &alen);
    char dir[] = "/tmp/fanout-floor.XXXXXX", go[64], port[16];
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    snprintf(go, sizeof go, "%s/go", dir);
    snprintf(port, sizeof port, "%d", ntohs(addr.sin_port));
    int out[2];
    pipe(out);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) { /* the client, in its own process as against lph */
        close(listener), close(out[0]);
        dup2(out[1], 1);
        unsetenv("FANOUT_TRACE"); /* the trace is lph's */
        exit(clients(port, "/jobs/1/logs/stream", "floor", n, go, total));
    }
    close(out[1]);
    g.n = n, g.ep = epoll_create1(0);
    peers = calloc(n, sizeof *peers);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = 0};
    epoll_ctl(g.ep, EPOLL_CTL_ADD, listener, &ev);
    struct stat st;
    while (answered < n && waitpid(child, 0, WNOHANG) == 0) serve(100);
    while (stat(go, &st) < 0 && waitpid(child, 0, WNOHANG) == 0) serve(1); /* the agent polls its go file too */
    double start = wall();
    for (long sent = 0; sent < total;) { /* like the agent: line i is due at start + i / rate */
        long due = (long)((wall() - start) * rate);
        if (due > total) due = total;
        if (due > sent) send_lines(sent + 1, due), sent = due;
        serve(1);
    }
    static const char end[] = "1f\r\nevent: end\ndata: {\"job_id\":1}\n\n\r\n0\r\n\r\n";
    for (int i = 0; i < npeers; i++) queue(&peers[i], end, sizeof end - 1);
    while (pending > 0) serve(10);
    double cpu = cpu_seconds();
    char json[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof json - 1 && (r = read(out[0], json + len, sizeof json - 1 - len)) > 0) len += r;
    waitpid(child, 0, 0);
    json[len] = 0;
    char *brace = strrchr(json, '}');
    if (!brace) { fprintf(stderr, "fanout: the client printed nothing\n"); return 1; }
    *brace = 0;
    printf("%s, \"server_cpu_s\": %.3f}\n", json, cpu);
    unlink(go), rmdir(dir);
    return 0;
}

int main(int argc, char **argv) {
    struct rlimit l; /* up to 10,000 streams: as many descriptors as allowed */
    if (getrlimit(RLIMIT_NOFILE, &l) == 0) l.rlim_cur = l.rlim_max, setrlimit(RLIMIT_NOFILE, &l);
    if (argc >= 7 && !strcmp(argv[1], "clients"))
        return clients(argv[2], argv[3], argv[4], atoi(argv[5]), argv[6], argc > 7 ? atol(argv[7]) : 0);
    if (argc >= 5 && !strcmp(argv[1], "floor")) return floor_(atoi(argv[2]), atof(argv[3]), atol(argv[4]));
    if (argc >= 7 && !strcmp(argv[1], "idle"))
        return idle(argv[2], argv[3], argv[4], atoi(argv[5]), atof(argv[6]), argc > 7 ? atof(argv[7]) : 15);
    fprintf(stderr, "usage: fanout clients PORT PATH TOKEN N GOFILE [TOTAL] | floor N RATE TOTAL\n"
                    "     | idle PORT PATH TOKEN N SECONDS [HEARTBEAT_S]\n");
    return 2;
}
