/*
 * fanout_floor: the physical floor for notifying N watchers over loopback TCP on this machine. N
 * connections between two processes, as between a server and its watchers: the parent accepts them and,
 * each round, writes a 50-byte message to every server-side socket from one thread (as a server sends one
 * notification per watcher); the child waits on the N client sockets with epoll and reads them. Prints
 * the median, over ROUNDS, of the time from the first write to the last message read, as one JSON line.
 * Each process holds N sockets, so N can reach the open-files limit (both ends in one process would stop
 * at half of it).
 *
 *   fanout_floor N ROUNDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGE = 50 };

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void signal_byte(int fd) {
    char c = 1;
    if (write(fd, &c, 1) != 1) { perror("pipe write"); exit(70); }
}

static void await_byte(int fd) {
    char c;
    if (read(fd, &c, 1) != 1) { fprintf(stderr, "fanout_floor: the other process ended\n"); exit(70); }
}

/* The watchers' side: connect N sockets, then per round tell the writer it may start and read N messages. */
static int watchers(int n, int rounds, struct sockaddr_in addr, int go, int done, volatile uint64_t *started_at,
                    uint64_t *times) {
    int *sockets = calloc((size_t)n, sizeof(int));
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        sockets[i] = socket(AF_INET, SOCK_STREAM, 0);
        /* Spread over 127.0.0.x source addresses so one source address never runs out of ports. */
        struct sockaddr_in source = {.sin_family = AF_INET};
        source.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i / 20000));
        if (sockets[i] < 0 || bind(sockets[i], (struct sockaddr *)&source, sizeof source) ||
            connect(sockets[i], (struct sockaddr *)&addr, sizeof addr)) { perror("connect"); return 69; }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, sockets[i], &ev);
    }
    struct epoll_event *events = calloc(1024, sizeof(struct epoll_event));
    char buf[MESSAGE];
    for (int r = 0; r < rounds; r++) {
        signal_byte(go);
        int received = 0;
        while (received < n) {
            int ready = epoll_wait(ep, events, 1024, 5000);
            if (ready <= 0) { fprintf(stderr, "fanout_floor: timed out\n"); return 70; }
            for (int k = 0; k < ready; k++) {
                if (read(sockets[events[k].data.u32], buf, MESSAGE) == MESSAGE) received++;
            }
        }
        times[r] = now_ns() - *started_at;
        await_byte(done);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: fanout_floor N ROUNDS\n"); return 64; }
    int n = atoi(argv[1]), rounds = atoi(argv[2]);
    if (n < 1 || rounds < 1) { fprintf(stderr, "fanout_floor: N and ROUNDS must be positive\n"); return 64; }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4096) ||
        getsockname(listener, (struct sockaddr *)&addr, &len)) { perror("listen"); return 69; }
    /* The writer's start stamp and the watchers' per-round times, shared by both processes. */
    size_t shared_size = sizeof(uint64_t) * (size_t)(rounds + 1);
    uint64_t *shared = mmap(NULL, shared_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) { perror("mmap"); return 71; }
    int go[2], done[2];
    if (pipe(go) || pipe(done)) { perror("pipe"); return 71; }
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 71; }
    if (child == 0) {
        close(listener);
        _exit(watchers(n, rounds, addr, go[1], done[0], &shared[0], shared + 1));
    }
    int *sockets = calloc((size_t)n, sizeof(int));
    int one = 1;
    for (int i = 0; i < n; i++) {
        sockets[i] = accept(listener, NULL, NULL);
        if (sockets[i] < 0) { perror("accept"); kill(child, SIGKILL); return 69; }
        setsockopt(sockets[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char message[MESSAGE] = {0};
    for (int r = 0; r < rounds; r++) {
        await_byte(go[0]);
        shared[0] = now_ns();
        for (int i = 0; i < n; i++) {
            if (write(sockets[i], message, MESSAGE) != MESSAGE) { perror("write"); kill(child, SIGKILL); return 70; }
        }
        signal_byte(done[1]);
    }
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 70;
    uint64_t *times = shared + 1;
    qsort(times, (size_t)rounds, sizeof(uint64_t), compare);
    printf("{\"tool\":\"fanout-floor\",\"watchers\":%d,\"rounds\":%d,\"last_p50_us\":%.1f}\n", n, rounds,
           (double)times[rounds / 2] / 1000.0);
    return 0;
}
