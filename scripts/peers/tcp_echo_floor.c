/*
 * tcp_echo_floor: the physical floor for one request in flight on loopback. A server thread echoes
 * each message; the client sends MESSAGE_SIZE bytes, waits for them back, COUNT times, with
 * TCP_NODELAY on both sides, and prints the median and p99 round trip as one JSON line.
 *
 *   tcp_echo_floor COUNT MESSAGE_SIZE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int message_size;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int read_full(int fd, char *buf, int n) {
    int got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, (size_t)(n - got));
        if (r <= 0) return -1;
        got += (int)r;
    }
    return 0;
}

static void *serve(void *arg) {
    int listener = *(int *)arg;
    int fd = accept(listener, NULL, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *buf = malloc((size_t)message_size);
    while (read_full(fd, buf, message_size) == 0) {
        if (write(fd, buf, (size_t)message_size) != message_size) break;
    }
    close(fd);
    free(buf);
    return NULL;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: tcp_echo_floor COUNT MESSAGE_SIZE\n");
        return 64;
    }
    long count = atol(argv[1]);
    message_size = atoi(argv[2]);
    if (count < 1 || message_size < 1) return 64;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 1) ||
        getsockname(listener, (struct sockaddr *)&addr, &len)) {
        perror("tcp_echo_floor: listen");
        return 69;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, serve, &listener);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr)) {
        perror("tcp_echo_floor: connect");
        return 69;
    }
    char *buf = calloc(1, (size_t)message_size);
    uint64_t *rtt = calloc((size_t)count, sizeof(uint64_t));
    long warmup = count / 10;
    for (long i = -warmup; i < count; i++) {
        uint64_t t = now_ns();
        if (write(fd, buf, (size_t)message_size) != message_size || read_full(fd, buf, message_size)) {
            fprintf(stderr, "tcp_echo_floor: echo failed\n");
            return 70;
        }
        if (i >= 0) rtt[i] = now_ns() - t;
    }
    close(fd);
    pthread_join(thread, NULL);
    qsort(rtt, (size_t)count, sizeof(uint64_t), compare);
    printf("{\"tool\":\"tcp-echo\",\"inflight\":1,\"ops\":%ld,\"p50_us\":%.1f,\"p99_us\":%.1f}\n", count,
           (double)rtt[count / 2] / 1000.0, (double)rtt[count * 99 / 100] / 1000.0);
    return 0;
}
