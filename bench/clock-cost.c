/* What one timestamp costs on a node, and the TSC rate against CLOCK_MONOTONIC: explains why
 * rdma-agent latency takes its samples from the TSC (docs/BENCHMARKS.md). Build on the host and
 * run on a lab node (no compiler there):
 *   gcc -O2 -static -o build/clock-cost bench/clock-cost.c
 *   lab/lab push node1 build/clock-cost /tmp/clock-cost && lab/lab ssh node1 /tmp/clock-cost
 * x86 only (rdtsc). Prints the node's clocksource too. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static double ns_between(const struct timespec *a, const struct timespec *b) {
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

int main(void) {
    char cs[64] = "?";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f) {
        if (fscanf(f, "%63s", cs) != 1) cs[0] = '?';
        fclose(f);
    }
    const int n = 20000;
    struct timespec a, b, t;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) clock_gettime(CLOCK_MONOTONIC, &t);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("clocksource %s: clock_gettime(CLOCK_MONOTONIC) %.0f ns per call\n", cs, ns_between(&a, &b) / n);
    volatile unsigned long long sink = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) sink += __rdtsc();
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("rdtsc %.0f ns per call\n", ns_between(&a, &b) / n);
    for (int k = 0; k < 3; k++) {  /* long windows: the rate, not the cost of reading it */
        unsigned long long c0 = __rdtsc();
        clock_gettime(CLOCK_MONOTONIC, &a);
        usleep(300000);
        clock_gettime(CLOCK_MONOTONIC, &b);
        unsigned long long c1 = __rdtsc();
        printf("TSC rate over %.0f ms: %.1f MHz\n", ns_between(&a, &b) / 1e6, (double)(c1 - c0) / ns_between(&a, &b) * 1e3);
    }
    return (int)(sink & 0);
}
