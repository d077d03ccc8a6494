/*
 * pace_floor: the machine's own floor for keeping a schedule. One thread sleeps to absolute
 * deadlines PERIOD_US apart (clock_nanosleep, TIMER_ABSTIME) and records how late each wake-up is,
 * until SECONDS have passed or SIGTERM/SIGINT arrives; then it prints one JSON line with the wake
 * count, the lateness percentiles in ms and the share of wakes more than 1 ms late. With SAMPLES_FILE
 * it also writes every wake's lateness in ns, one per line in wake order, so a caller can judge only
 * the window it cares about (the end of a run).
 *
 * Run beside `zkstorm replay` it shows what the scheduler alone does to a pacer under that load: no
 * protocol, no sockets, no allocation; a pacer cannot be more punctual than this.
 *
 *   pace_floor PERIOD_US SECONDS [SAMPLES_FILE]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if ((argc != 3 && argc != 4) || atol(argv[1]) <= 0 || atof(argv[2]) <= 0) {
        fprintf(stderr, "usage: pace_floor PERIOD_US SECONDS [SAMPLES_FILE]\n");
        return 64;
    }
    uint64_t period = (uint64_t)atol(argv[1]) * 1000;
    size_t capacity = (size_t)(atof(argv[2]) * 1e9 / (double)period) + 1;
    uint64_t *late = malloc(capacity * sizeof *late);
    if (late == NULL) {
        perror("pace_floor: malloc");
        return 71;
    }
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    uint64_t start = now_ns() + 1000000;
    size_t n = 0;
    while (n < capacity && !stop) {
        uint64_t deadline = start + n * period;
        struct timespec ts = {(time_t)(deadline / 1000000000ull), (long)(deadline % 1000000000ull)};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0 && stop) break;
        uint64_t now = now_ns();
        late[n++] = now > deadline ? now - deadline : 0;
    }
    if (n == 0) {
        printf("{\"wakes\": 0}\n");
        return 0;
    }
    if (argc == 4) {
        FILE *out = fopen(argv[3], "w");
        if (out == NULL) {
            perror("pace_floor: SAMPLES_FILE");
            return 73;
        }
        for (size_t i = 0; i < n; i++) fprintf(out, "%lu\n", (unsigned long)late[i]);
        fclose(out);
    }
    qsort(late, n, sizeof *late, compare);
    size_t over = 0;
    for (size_t i = 0; i < n; i++) over += late[i] > 1000000;
    printf("{\"wakes\": %zu, \"period_us\": %lu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, "
           "\"max_ms\": %.3f, \"late_pct\": %.2f}\n",
           n, (unsigned long)(period / 1000), late[n / 2] / 1e6, late[n * 99 / 100] / 1e6,
           late[n * 999 / 1000] / 1e6, late[n - 1] / 1e6, 100.0 * over / n);
    free(late);
    return 0;
}
