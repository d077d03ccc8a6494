/*
 * zkbench: the Apache ZooKeeper C client (libzookeeper_mt) doing pipelined getData or setData on one
 * znode with a fixed number of requests in flight, one session. The peer that scripts/bench runs
 * beside zkstorm's own client on the same work.
 *
 *   zkbench HOST:PORT get|set INFLIGHT COUNT VALUE_SIZE PATH
 *
 * Prints one JSON line: tool, op, inflight, ops, seconds, ops_per_sec, p50_us, p99_us.
 * Creates PATH (and its parent) if missing; removes nothing it did not create.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zookeeper/zookeeper.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int in_flight = 0;
static long completed = 0;
static long failures = 0;
static int connected = 0;
static uint64_t *latencies;
static uint64_t *sent_at;
static long warmup;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)path; (void)ctx;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&lock);
        connected = state == ZOO_CONNECTED_STATE ? 1 : -1;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
}

static void finish(int rc, const void *data) {
    uint64_t t = now_ns();
    long index = (long)(intptr_t)data;
    pthread_mutex_lock(&lock);
    if (rc != ZOK) failures++;
    latencies[index] = t - sent_at[index];
    completed++;
    in_flight--;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
}

static void data_done(int rc, const char *value, int len, const struct Stat *stat, const void *data) {
    (void)value; (void)len; (void)stat;
    finish(rc, data);
}

static void stat_done(int rc, const struct Stat *stat, const void *data) {
    (void)stat;
    finish(rc, data);
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: zkbench HOST:PORT get|set INFLIGHT COUNT VALUE_SIZE PATH\n");
        return 64;
    }
    const char *hosts = argv[1];
    int is_set = strcmp(argv[2], "set") == 0;
    int window = atoi(argv[3]);
    long count = atol(argv[4]);
    int value_size = atoi(argv[5]);
    const char *path = argv[6];
    if (window < 1 || count < 1 || value_size < 0 || (!is_set && strcmp(argv[2], "get") != 0)) {
        fprintf(stderr, "zkbench: bad arguments\n");
        return 64;
    }
    warmup = count / 10;
    latencies = calloc((size_t)(count + warmup), sizeof(uint64_t));
    sent_at = calloc((size_t)(count + warmup), sizeof(uint64_t));
    char *value = malloc((size_t)value_size + 1);
    memset(value, 'x', (size_t)value_size);

    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(hosts, watcher, 10000, 0, 0, 0);
    if (!zh) {
        fprintf(stderr, "zkbench: zookeeper_init(%s) failed: %s\n", hosts, strerror(errno));
        return 69;
    }
    pthread_mutex_lock(&lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    while (connected == 0) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&lock);
    if (connected != 1) {
        fprintf(stderr, "zkbench: could not connect to %s within 10 s\n", hosts);
        return 69;
    }

    /* Create the parent and the znode if they are missing (NODEEXISTS is fine). */
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        zoo_create(zh, parent, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    }
    zoo_create(zh, path, value, value_size, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);

    long total = count + warmup;
    uint64_t start = 0;
    for (long i = 0; i < total; i++) {
        pthread_mutex_lock(&lock);
        while (in_flight >= window) pthread_cond_wait(&changed, &lock);
        if (i == warmup) {
            /* Drain the warm-up requests so the measured window starts clean. */
            while (in_flight > 0) pthread_cond_wait(&changed, &lock);
            start = now_ns();
        }
        in_flight++;
        pthread_mutex_unlock(&lock);
        sent_at[i] = now_ns();
        int rc = is_set ? zoo_aset(zh, path, value, value_size, -1, stat_done, (void *)(intptr_t)i)
                        : zoo_aget(zh, path, 0, data_done, (void *)(intptr_t)i);
        if (rc != ZOK) {
            fprintf(stderr, "zkbench: request failed: %s\n", zerror(rc));
            return 69;
        }
    }
    pthread_mutex_lock(&lock);
    while (in_flight > 0) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    uint64_t elapsed = now_ns() - start;

    qsort(latencies + warmup, (size_t)count, sizeof(uint64_t), compare);
    double seconds = (double)elapsed / 1e9;
    printf("{\"tool\":\"c\",\"op\":\"%s\",\"inflight\":%d,\"ops\":%ld,\"errors\":%ld,\"seconds\":%.6f,"
           "\"ops_per_sec\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
           is_set ? "set" : "get", window, count, failures, seconds, (double)count / seconds,
           (double)latencies[warmup + count / 2] / 1000.0, (double)latencies[warmup + count * 99 / 100] / 1000.0);
    zookeeper_close(zh);
    return failures ? 70 : 0;
}
