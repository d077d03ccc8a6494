/*
 * watch_ref: the reference instrument for watch fan-out lag. Raw sockets, epoll, one thread, no
 * ZooKeeper library: N watcher connections each do the ZooKeeper handshake and hold one watch on a
 * znode; a writer connection setData's it once per round. Lag of a watcher = the moment epoll reported
 * its socket readable with the notification in it (one CLOCK_MONOTONIC stamp per epoll_wait return, the
 * earliest this process can know) minus the moment the writer's setData was handed to write(2).
 * scripts/bench runs it beside `zkstorm run` against the same server at the same N; the ratio of the two
 * is zkstorm's fidelity.
 *
 *   watch_ref HOST:PORT MODE N ROUNDS [INTERVAL_MS] [SOURCES]
 *
 * MODE: immediate    one-shot getData watches, each watcher re-arms the moment its event arrives
 *       after-round  one-shot getData watches, every watcher re-arms once the round is over
 *       persistent   addWatch PERSISTENT (mode 0) on the znode
 *       recursive    addWatch PERSISTENT_RECURSIVE (mode 1) on the parent, setData on the child
 * SOURCES: spread the watcher connections over 127.0.0.1 .. 127.0.0.SOURCES (default: one address per
 * 10,000 connections) so large N does not run out of ephemeral ports.
 *
 * One warm-up round is not counted. Per round (stderr): first, median and last watcher lag. At the end,
 * one JSON line (stdout): the medians over rounds of first/median/last, and percentiles of every
 * (watcher, round) lag. Everything lives under /zkref-PID (created, and left for the server's next start;
 * the bench's servers are throw-away).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IMMEDIATE, AFTER_ROUND, PERSISTENT, RECURSIVE };
enum { OP_CREATE = 1, OP_GETDATA = 4, OP_SETDATA = 5, OP_PING = 11, OP_ADDWATCH = 106 };
enum { XID_NOTIFICATION = -1, XID_PING = -2 };
enum { BUF = 64 * 1024, MAX_EVENTS = 1024, HANDSHAKE_WINDOW = 200 };

typedef struct {
    int fd;
    int handshaken;
    int xid;
    int outstanding; /* requests sent, replies not yet read (arm, re-arm, writes) */
    size_t have;
    unsigned char *in;
} conn_t;

static int mode, n, writer_index;
static conn_t *conns;
static int ep;
static struct sockaddr_in server;
static char watched[256], watch_target[256];
static int round_active = -1; /* the round being measured, or -1 */
static uint64_t send_stamp;
static uint64_t *arrival; /* per watcher, this round; 0 = not yet */
static int notified_this_round;
static long rearms_outstanding;
static long stray;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "watch_ref: %s: %s\n", what, strerror(errno));
    exit(70);
}

/* ---- jute ---- */
typedef struct {
    unsigned char b[512];
    size_t len;
} out_t;
static void put32(out_t *o, int32_t v) {
    uint32_t x = htonl((uint32_t)v);
    memcpy(o->b + o->len, &x, 4);
    o->len += 4;
}
static void put64(out_t *o, int64_t v) {
    put32(o, (int32_t)((uint64_t)v >> 32));
    put32(o, (int32_t)(v & 0xffffffff));
}
static void putbuf(out_t *o, const void *p, int32_t len) {
    put32(o, len);
    if (len > 0) memcpy(o->b + o->len, p, (size_t)len), o->len += (size_t)len;
}
static void putstr(out_t *o, const char *s) { putbuf(o, s, (int32_t)strlen(s)); }
static void begin(out_t *o, int32_t xid, int32_t type) {
    o->len = 4;
    put32(o, xid);
    put32(o, type);
}
static void finish(out_t *o) {
    uint32_t x = htonl((uint32_t)(o->len - 4));
    memcpy(o->b, &x, 4);
}
static int32_t get32(const unsigned char *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    return (int32_t)ntohl(x);
}

static void send_frame(conn_t *c, out_t *o) {
    finish(o);
    if (write(c->fd, o->b, o->len) != (ssize_t)o->len) die("write");
    c->outstanding++;
}

static void send_getdata(conn_t *c, int watch) {
    out_t o;
    begin(&o, ++c->xid, OP_GETDATA);
    putstr(&o, watched);
    o.b[o.len++] = (unsigned char)watch;
    send_frame(c, &o);
}

static void send_arm(conn_t *c) {
    if (mode == IMMEDIATE || mode == AFTER_ROUND) {
        send_getdata(c, 1);
        return;
    }
    out_t o;
    begin(&o, ++c->xid, OP_ADDWATCH);
    putstr(&o, watch_target);
    put32(&o, mode == PERSISTENT ? 0 : 1);
    send_frame(c, &o);
}

static void send_create(conn_t *c, const char *path) {
    out_t o;
    begin(&o, ++c->xid, OP_CREATE);
    putstr(&o, path);
    putbuf(&o, "", 0);
    put32(&o, 1); /* ACL vector: world:anyone, all permissions */
    put32(&o, 31);
    putstr(&o, "world");
    putstr(&o, "anyone");
    put32(&o, 0);
    send_frame(c, &o);
}

static void send_ping(conn_t *c) {
    out_t o;
    begin(&o, XID_PING, OP_PING);
    finish(&o);
    if (write(c->fd, o.b, o.len) != (ssize_t)o.len) die("write ping");
}

/* ---- connections ---- */
static void open_conn(int i, int sources) {
    conn_t *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket (raise ulimit -n)");
    if (sources > 1) {
        struct sockaddr_in local = {.sin_family = AF_INET};
        local.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i % sources));
        if (bind(c->fd, (struct sockaddr *)&local, sizeof local)) die("bind source address");
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server)) die("connect");
    out_t o = {.len = 4};
    put32(&o, 0);     /* protocolVersion */
    put64(&o, 0);     /* lastZxidSeen */
    put32(&o, 30000); /* timeOut */
    put64(&o, 0);     /* sessionId */
    unsigned char passwd[16] = {0};
    putbuf(&o, passwd, 16);
    o.b[o.len++] = 0; /* readOnly */
    finish(&o);
    if (write(c->fd, o.b, o.len) != (ssize_t)o.len) die("write handshake");
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->in = malloc(BUF);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) die("epoll_ctl");
}

static void frame(int i, const unsigned char *p, int32_t len, uint64_t stamp) {
    conn_t *c = &conns[i];
    if (!c->handshaken) {
        c->handshaken = 1;
        return;
    }
    int32_t xid = get32(p), err = get32(p + 12);
    if (xid == XID_PING) return;
    if (xid == XID_NOTIFICATION) {
        if (i == writer_index) return;
        if (round_active < 0 || arrival[i]) {
            stray++;
            return;
        }
        arrival[i] = stamp;
        notified_this_round++;
        if (mode == IMMEDIATE) {
            send_getdata(c, 1);
            rearms_outstanding++;
        }
        return;
    }
    (void)len;
    if (err != 0 && !(err == -110 && i == writer_index)) { /* -110 NODEEXISTS is fine for setup creates */
        fprintf(stderr, "watch_ref: connection %d: reply xid %d error %d\n", i, xid, err);
        exit(70);
    }
    c->outstanding--;
    if (i != writer_index && (mode == IMMEDIATE || mode == AFTER_ROUND) && round_active != -2) rearms_outstanding--;
}

/* Reads what epoll reported; every frame of the batch carries the batch's stamp. */
static void poll_once(int timeout_ms) {
    static struct epoll_event events[MAX_EVENTS];
    int ready = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
    uint64_t stamp = now_ns();
    if (ready < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < ready; k++) {
        int i = (int)events[k].data.u32;
        conn_t *c = &conns[i];
        for (;;) {
            ssize_t got = read(c->fd, c->in + c->have, BUF - c->have);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (got <= 0) {
                fprintf(stderr, "watch_ref: connection %d closed by the server\n", i);
                exit(69);
            }
            c->have += (size_t)got;
            size_t at = 0;
            while (c->have - at >= 4) {
                int32_t len = get32(c->in + at);
                if (len < 0 || (size_t)len + 4 > BUF) {
                    fprintf(stderr, "watch_ref: bad frame length %d\n", len);
                    exit(70);
                }
                if (c->have - at < (size_t)len + 4) break;
                frame(i, c->in + at + 4, len, stamp);
                at += (size_t)len + 4;
            }
            memmove(c->in, c->in + at, c->have - at);
            c->have -= at;
            if ((size_t)got < BUF - c->have) break;
        }
    }
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t last_ping;
static void keep_alive(void) {
    if (now_ns() - last_ping < 5000000000ull) return;
    last_ping = now_ns();
    for (int i = 0; i <= n; i++)
        if (conns[i].handshaken) send_ping(&conns[i]);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: watch_ref HOST:PORT immediate|after-round|persistent|recursive N ROUNDS [INTERVAL_MS] [SOURCES]\n");
        return 64;
    }
    char host[64];
    int port;
    if (sscanf(argv[1], "%63[^:]:%d", host, &port) != 2) { fprintf(stderr, "watch_ref: bad HOST:PORT\n"); return 64; }
    const char *modes[] = {"immediate", "after-round", "persistent", "recursive"};
    mode = -1;
    for (int m = 0; m < 4; m++)
        if (!strcmp(argv[2], modes[m])) mode = m;
    if (mode < 0) { fprintf(stderr, "watch_ref: unknown mode %s\n", argv[2]); return 64; }
    n = atoi(argv[3]);
    int rounds = atoi(argv[4]);
    int interval_ms = argc > 5 ? atoi(argv[5]) : 250;
    int sources = argc > 6 ? atoi(argv[6]) : 1 + n / 10000;
    if (n < 1 || rounds < 1) { fprintf(stderr, "watch_ref: N and ROUNDS must be positive\n"); return 64; }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1) { fprintf(stderr, "watch_ref: bad host %s\n", host); return 64; }

    ep = epoll_create1(0);
    conns = calloc((size_t)n + 1, sizeof(conn_t));
    arrival = calloc((size_t)n, sizeof(uint64_t));
    writer_index = n;
    char root[64], dir[96];
    snprintf(root, sizeof root, "/zkref-%d", (int)getpid());
    snprintf(dir, sizeof dir, "%s/watched", root);
    snprintf(watched, sizeof watched, "%s/w0", dir);
    snprintf(watch_target, sizeof watch_target, "%s", mode == RECURSIVE ? dir : watched);

    /* The writer: handshake, then the tree. */
    round_active = -2;
    open_conn(writer_index, 1);
    conn_t *w = &conns[writer_index];
    while (!w->handshaken) poll_once(1000);
    send_create(w, root);
    send_create(w, dir);
    send_create(w, watched);
    while (w->outstanding) poll_once(1000);

    /* Watchers: at most HANDSHAKE_WINDOW handshakes in flight (the server's accept backlog). */
    int opened = 0, established = 0;
    while (established < n) {
        while (opened < n && opened - established < HANDSHAKE_WINDOW) open_conn(opened++, sources);
        poll_once(100);
        established = 0;
        for (int i = 0; i < opened; i++) established += conns[i].handshaken;
        keep_alive();
    }
    for (int i = 0; i < n; i++) {
        send_arm(&conns[i]);
        if (i % HANDSHAKE_WINDOW == 0) poll_once(0);
    }
    for (;;) {
        long waiting = 0;
        for (int i = 0; i < n; i++) waiting += conns[i].outstanding;
        if (!waiting) break;
        poll_once(100);
    }
    rearms_outstanding = 0;
    round_active = -1;

    uint64_t *first = calloc((size_t)rounds, 8), *median = calloc((size_t)rounds, 8), *last = calloc((size_t)rounds, 8);
    uint64_t *lags = calloc((size_t)rounds * (size_t)n, 8), *sorted = calloc((size_t)n, 8);
    size_t lag_count = 0;
    long missing = 0;
    const char *payload = "watch_ref";
    for (int r = 0; r <= rounds; r++) { /* round 0 is the warm-up */
        uint64_t start = now_ns();
        while (rearms_outstanding > 0 && now_ns() - start < 5000000000ull) poll_once(10);
        keep_alive();
        while (now_ns() - start < (uint64_t)interval_ms * 1000000ull) poll_once(1);
        memset(arrival, 0, (size_t)n * 8);
        notified_this_round = 0;
        round_active = r;
        out_t o;
        begin(&o, ++w->xid, OP_SETDATA);
        putstr(&o, watched);
        putbuf(&o, payload, (int32_t)strlen(payload));
        put32(&o, -1);
        finish(&o);
        send_stamp = now_ns();
        if (write(w->fd, o.b, o.len) != (ssize_t)o.len) die("write setData");
        w->outstanding++;
        while (notified_this_round < n && now_ns() - send_stamp < 5000000000ull) poll_once(100);
        round_active = -1;
        size_t got = 0;
        for (int i = 0; i < n; i++)
            if (arrival[i]) sorted[got++] = arrival[i] > send_stamp ? arrival[i] - send_stamp : 0;
        if (mode == AFTER_ROUND) {
            for (int i = 0; i < n; i++)
                if (arrival[i]) send_getdata(&conns[i], 1), rearms_outstanding++;
        }
        if (r == 0) continue;
        missing += n - (long)got;
        if (!got) { fprintf(stderr, "round %d: no notification\n", r); continue; }
        memcpy(lags + lag_count, sorted, got * 8);
        lag_count += got;
        qsort(sorted, got, 8, compare);
        first[r - 1] = sorted[0];
        median[r - 1] = sorted[(got - 1) / 2];
        last[r - 1] = sorted[got - 1];
        fprintf(stderr, "round %d: first %.1f µs, median %.1f µs, last %.1f µs (%zu/%d notified)\n", r,
                sorted[0] / 1e3, sorted[(got - 1) / 2] / 1e3, sorted[got - 1] / 1e3, got, n);
    }
    qsort(first, (size_t)rounds, 8, compare);
    qsort(median, (size_t)rounds, 8, compare);
    qsort(last, (size_t)rounds, 8, compare);
    qsort(lags, lag_count, 8, compare);
#define PCT(q) (lag_count ? lags[(size_t)((double)(lag_count - 1) * (q))] / 1e3 : 0.0)
    printf("{\"tool\":\"reference\",\"mode\":\"%s\",\"watchers\":%d,\"rounds\":%d,\"first_p50_us\":%.1f,"
           "\"median_p50_us\":%.1f,\"last_p50_us\":%.1f,\"lag_p50_us\":%.1f,\"lag_p90_us\":%.1f,\"lag_p99_us\":%.1f,"
           "\"lag_max_us\":%.1f,\"missing\":%ld,\"stray\":%ld,\"sources\":%d}\n",
           modes[mode], n, rounds, first[(rounds - 1) / 2] / 1e3, median[(rounds - 1) / 2] / 1e3,
           last[(rounds - 1) / 2] / 1e3, PCT(0.5), PCT(0.9), PCT(0.99), PCT(1.0), missing, stray, sources);
    return 0;
}
