/* SPDX-License-Identifier: MIT */
/*
 * test_parallel.c — csrc/parallel.c: every index of a call runs exactly
 * once, over many calls in a row (helpers polling and helpers asleep,
 * the index count changing from call to call),
 * with parallel_share nested in parallel_run (it must run on the caller),
 * and with several host threads using the pool at once. Under TSan
 * (`make tsan-test`) this is the pool's race check.
 */
#include "internal.h" /* first, as in the library's own files */

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "parallel.h"

enum { MAX_N = 8 };

typedef struct counts {
    _Atomic int runs[MAX_N];
    _Atomic int nested_on_caller; /* outer indices whose nested share ran whole */
} counts;

static void count_index(void *ctx, int i) {
    counts *c = ctx;
    atomic_fetch_add(&c->runs[i], 1);
}

/* Each index of n = 2..MAX_N runs once per call, in calls back to back. */
static void check_calls(void (*run)(int, void (*)(void *, int), void *), const char *name) {
    for (int n = 0; n <= MAX_N; n++) {
        counts c;
        memset(&c, 0, sizeof c);
        enum { CALLS = 2000 };
        for (int k = 0; k < CALLS; k++) run(n, count_index, &c);
        int bad = 0;
        for (int i = 0; i < MAX_N; i++) bad += atomic_load(&c.runs[i]) != (i < n ? CALLS : 0);
        CHECK(bad == 0, "%s n=%d: an index ran more or less than once per call", name, n);
    }
}

/* Calls back to back whose n keeps changing, each with a ctx of its own:
 * a helper still polling after one call must take nothing of the next
 * before it is published, whatever that call's n (a late helper once read
 * the next call's larger n beside the finished call's ticket and ran an
 * index twice). New helpers start mid-stream as n grows. */
static void check_changing_n(void (*run)(int, void (*)(void *, int), void *), const char *name) {
    enum { CALLS = 4000 };
    int bad = 0;
    for (int k = 0; k < CALLS; k++) {
        const int n = 1 + (k * 7 + k / 3) % MAX_N; /* grows and shrinks */
        counts c;
        memset(&c, 0, sizeof c);
        run(n, count_index, &c);
        for (int i = 0; i < MAX_N; i++) bad += atomic_load(&c.runs[i]) != (i < n ? 1 : 0);
    }
    CHECK(bad == 0, "%s, changing n: %d indices ran more or less than once", name, bad);
}

/* After a pause the helpers are asleep: a call must still run everything. */
static void check_after_sleep(void) {
    counts c;
    memset(&c, 0, sizeof c);
    for (int k = 0; k < 5; k++) {
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
        parallel_share(3, count_index, &c);
    }
    CHECK(atomic_load(&c.runs[0]) == 5 && atomic_load(&c.runs[1]) == 5 &&
              atomic_load(&c.runs[2]) == 5,
          "indices lost after the helpers slept");
}

static void nested_index(void *ctx, int i) {
    counts *c = ctx;
    counts inner;
    memset(&inner, 0, sizeof inner);
    parallel_share(4, count_index, &inner);
    int ok = 1;
    for (int k = 0; k < 4; k++) ok &= atomic_load(&inner.runs[k]) == 1;
    if (ok) atomic_fetch_add(&c->nested_on_caller, 1);
    atomic_fetch_add(&c->runs[i], 1);
}

/* parallel_share inside parallel_run: the pool is taken, so the inner
 * call runs every index itself instead of waiting for it. */
static void check_nested(void) {
    counts c;
    memset(&c, 0, sizeof c);
    parallel_run(3, nested_index, &c);
    CHECK(atomic_load(&c.nested_on_caller) == 3, "nested shares: %d of 3 complete",
          atomic_load(&c.nested_on_caller));
    for (int i = 0; i < 3; i++) CHECK(atomic_load(&c.runs[i]) == 1, "outer index %d", i);
}

static void *host_thread(void *arg) {
    counts *c = arg;
    for (int k = 0; k < 500; k++) parallel_share(2, count_index, c);
    for (int k = 0; k < 20; k++) parallel_run(2, count_index, c);
    return NULL;
}

/* Host threads compete for the pool: the losers run on their own. */
static void check_host_threads(void) {
    enum { HOSTS = 4 };
    counts c[HOSTS];
    pthread_t th[HOSTS];
    for (int h = 0; h < HOSTS; h++) {
        memset(&c[h], 0, sizeof c[h]);
        pthread_create(&th[h], NULL, host_thread, &c[h]);
    }
    for (int h = 0; h < HOSTS; h++) {
        pthread_join(th[h], NULL);
        CHECK(atomic_load(&c[h].runs[0]) == 520 && atomic_load(&c[h].runs[1]) == 520,
              "host thread %d: %d and %d runs of 520", h, atomic_load(&c[h].runs[0]),
              atomic_load(&c[h].runs[1]));
    }
}

int main(void) {
    check_changing_n(parallel_run, "parallel_run");
    check_changing_n(parallel_share, "parallel_share");
    check_calls(parallel_run, "parallel_run");
    check_calls(parallel_share, "parallel_share");
    check_after_sleep();
    check_nested();
    check_host_threads();
    return test_summary("test_parallel");
}
