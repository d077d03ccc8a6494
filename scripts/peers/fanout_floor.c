/*
 * fanout_floor: the physical floor for notifying N watchers over loopback TCP on this machine. N
 * connections; one thread writes a 50-byte message to each server-side socket (as a server sends one
 * notification per watcher), another waits on the N client sockets with epoll and reads them. Prints
 * the median, over ROUNDS, of the time from the first write to the last message read, as one JSON line.
 *
 *   fanout_floor N ROUNDS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGE = 50 };
static int n;
static int *server_side, *client_side;
static volatile uint64_t started_at;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *writer(void *arg) {
    (void)arg;
    char message[MESSAGE] = {0};
    started_at = now_ns();
    for (int i = 0; i < n; i++) {
        if (write(server_side[i], message, MESSAGE) != MESSAGE) { perror("write"); exit(70); }
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: fanout_floor N ROUNDS\n"); return 64; }
    n = atoi(argv[1]);
    int rounds = atoi(argv[2]);
    server_side = calloc((size_t)n, sizeof(int));
    client_side = calloc((size_t)n, sizeof(int));
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 4096) ||
        getsockname(listener, (struct sockaddr *)&addr, &len)) { perror("listen"); return 69; }
    int one = 1;
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        client_side[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client_side[i], (struct sockaddr *)&addr, sizeof addr)) { perror("connect"); return 69; }
        server_side[i] = accept(listener, NULL, NULL);
        if (server_side[i] < 0) { perror("accept"); return 69; }
        setsockopt(server_side[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, client_side[i], &ev);
    }
    uint64_t *times = calloc((size_t)rounds, sizeof(uint64_t));
    struct epoll_event *events = calloc(1024, sizeof(struct epoll_event));
    char buf[MESSAGE];
    for (int r = 0; r < rounds; r++) {
        pthread_t thread;
        pthread_create(&thread, NULL, writer, NULL);
        int received = 0;
        while (received < n) {
            int ready = epoll_wait(ep, events, 1024, 5000);
            if (ready <= 0) { fprintf(stderr, "fanout_floor: timed out\n"); return 70; }
            for (int k = 0; k < ready; k++) {
                if (read(client_side[events[k].data.u32], buf, MESSAGE) == MESSAGE) received++;
            }
        }
        times[r] = now_ns() - started_at;
        pthread_join(thread, NULL);
    }
    qsort(times, (size_t)rounds, sizeof(uint64_t), compare);
    printf("{\"tool\":\"fanout-floor\",\"watchers\":%d,\"rounds\":%d,\"last_p50_us\":%.1f}\n", n, rounds,
           (double)times[rounds / 2] / 1000.0);
    return 0;
}
