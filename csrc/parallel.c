/* SPDX-License-Identifier: MIT */
/*
 * parallel.c — running fn(ctx, i) for i in [0, n) on several threads.
 *
 * A pool of helper threads, started the first time they are needed and
 * kept for later calls, so that a training batch or a predict call wakes
 * threads instead of creating them. The indices are handed out one at a
 * time to whichever thread asks first (the caller included), and the
 * caller waits only for indices that were taken: a helper whose vCPU the
 * host has stalled does not hold up work it never started.
 *
 * One call uses the pool at a time. A parallel_run made meanwhile
 * (another thread of the host, or fn itself calling parallel_run) starts
 * threads of its own, as every call did before the pool; a parallel_share
 * runs its indices on the calling thread. After fork() the child starts a
 * pool of its own (the parent's helpers do not exist there).
 */
#include "internal.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "parallel.h"

#define PARALLEL_MAX PARALLEL_MAX_WORKERS
_Static_assert(PARALLEL_MAX <= 0xffff, "a call's index count fits its ticket");

/* ---- threads per call (the fallback) ---- */

typedef struct job {
    void (*fn)(void *, int);
    void *ctx;
    int index;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    j->fn(j->ctx, j->index);
    return NULL;
}

static void run_with_new_threads(int n, void (*fn)(void *ctx, int index), void *ctx) {
    pthread_t tid[PARALLEL_MAX];
    job jobs[PARALLEL_MAX];
    int started[PARALLEL_MAX] = {0};
    for (int i = 1; i < n; i++) {
        jobs[i] = (job){fn, ctx, i};
        started[i] = pthread_create(&tid[i], NULL, run_job, &jobs[i]) == 0;
    }
    fn(ctx, 0);
    for (int i = 1; i < n; i++) {
        if (started[i]) pthread_join(tid[i], NULL);
        else fn(ctx, i);
    }
}

/* ---- the pool ----
 *
 * A call is published as a ticket: its number, its count of indices n and
 * the next index, in one 64-bit word. A thread takes index i of call c by
 * moving the ticket from (c, n, i) to (c, n, i + 1) with a compare-and-
 * swap, so an index is taken once, and a thread that is late (the call it
 * saw is over) can take nothing from a newer call by mistake: its ticket
 * no longer matches. n travels in the ticket, not beside it, because the
 * caller stores the next call's fn and ctx before it publishes that call:
 * a late thread that read the next call's n beside an old ticket would
 * have seen an index left where there was none. fn and ctx are read
 * before the swap and used only if it succeeds, which it can only while
 * the call is unfinished, i.e. before the caller stores the next ones.
 *
 * A thread that runs out of work polls for SPIN_NS before it sleeps on a
 * condition variable: one predict call of a single image hands work to
 * the helpers a few times (net.c), a few microseconds apart, and waking a
 * sleeping thread takes longer than the work handed over. */

/* 50 us: about one single-image predict call of the largest preset, so
 * that back-to-back calls find the helpers awake, and short next to a
 * training batch, so that training spends <1% of a core polling. */
#define SPIN_NS 50000

typedef void (*part_fn)(void *, int);

typedef struct pool {
    pthread_mutex_t lock;          /* only for sleeping: wake, done */
    pthread_cond_t wake, done;
    int helpers;                   /* started; changed by the pool's user only */
    _Atomic uint64_t ticket;       /* call, n and the next index (ticket_of) */
    _Atomic part_fn fn;            /* the current call's */
    void *_Atomic ctx;
    _Atomic int finished;          /* indices of the current call done */
    _Atomic int sleepers;          /* helpers waiting on wake */
    _Atomic int caller_sleeps;     /* the caller waits on done */
} pool;

static pool the_pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
                        .done = PTHREAD_COND_INITIALIZER};
/* Held by the one call that uses the pool. */
static pthread_mutex_t pool_user = PTHREAD_MUTEX_INITIALIZER;

/* call (32 bits) | n (16) | next index (16); n <= PARALLEL_MAX. */
static uint64_t ticket_of(uint32_t call, int n) {
    return (uint64_t)call << 32 | (uint64_t)(uint32_t)n << 16;
}
static uint32_t call_of(uint64_t ticket) { return (uint32_t)(ticket >> 32); }
static uint32_t count_of(uint64_t ticket) { return (uint32_t)(ticket >> 16) & 0xffff; }
static uint32_t index_of(uint64_t ticket) { return (uint32_t)ticket & 0xffff; }

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Polls until ready(p, arg) or SPIN_NS have passed; returns the last answer. */
static int spin_until(pool *p, int (*ready)(pool *, uint32_t), uint32_t arg) {
    uint64_t start = 0;
    for (int round = 0;; round++) {
        if (ready(p, arg)) return 1;
        cpu_relax();
        if (round % 64 == 63) { /* the clock only now and then: it costs ~20 ns */
            uint64_t t = now_ns();
            if (!start) start = t;
            else if (t - start > SPIN_NS) return ready(p, arg);
        }
    }
}

static int new_call(pool *p, uint32_t seen) { return call_of(atomic_load(&p->ticket)) != seen; }
static int all_finished(pool *p, uint32_t n) { return (uint32_t)atomic_load(&p->finished) == n; }

/* Takes and runs indices of call `call` until none is left. */
static void take_indices(pool *p, uint32_t call) {
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if (call_of(t) != call) return;
        const uint32_t n = count_of(t), i = index_of(t);
        if (i >= n) return;
        part_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue; /* another thread took it, or a new call began */
        fn(ctx, (int)i);
        if ((uint32_t)atomic_fetch_add(&p->finished, 1) + 1 == n &&
            atomic_load(&p->caller_sleeps)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_broadcast(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
        t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

/* Returns the number of the first call after `seen`. The sleeper count and
 * the ticket are sequentially consistent on both sides, so either the
 * publisher sees a sleeper and signals, or the sleeper sees the call. */
static uint32_t wait_for_call(pool *p, uint32_t seen) {
    if (!spin_until(p, new_call, seen)) {
        pthread_mutex_lock(&p->lock);
        atomic_fetch_add(&p->sleepers, 1);
        while (!new_call(p, seen)) pthread_cond_wait(&p->wake, &p->lock);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->lock);
    }
    return call_of(atomic_load(&p->ticket));
}

static void *helper_main(void *arg) {
    pool *p = arg;
    /* One before the current call: a helper started for a call joins it. */
    uint32_t seen = call_of(atomic_load(&p->ticket)) - 1;
    for (;;) {
        seen = wait_for_call(p, seen);
        take_indices(p, seen);
    }
    return NULL; /* not reached: helpers live as long as the process */
}

/* Starts helpers up to `want`. Fewer may start (the caller then takes
 * their indices). */
static void start_helpers(pool *p, int want) {
    while (p->helpers < want) {
        pthread_t tid;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0) return;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&tid, &attr, helper_main, p) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) return;
        p->helpers++;
    }
}

/* In a child of fork() the parent's helpers are gone and the locks may have
 * been held by threads that no longer exist: start over. */
static void reset_in_child(void) {
    pool *p = &the_pool;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    pthread_mutex_init(&pool_user, NULL);
    p->helpers = 0;
    atomic_store(&p->sleepers, 0);
    atomic_store(&p->caller_sleeps, 0);
}

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, reset_in_child); }

/* Runs the call on the pool, whose user the caller is. */
static void run_on_pool(int n, part_fn fn, void *ctx) {
    pool *p = &the_pool;
    start_helpers(p, n - 1);
    uint32_t call = call_of(atomic_load(&p->ticket)) + 1;
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    atomic_store(&p->ticket, ticket_of(call, n)); /* publishes the stores above */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    take_indices(p, call);
    if (!spin_until(p, all_finished, (uint32_t)n)) {
        pthread_mutex_lock(&p->lock);
        atomic_store(&p->caller_sleeps, 1);
        while (!all_finished(p, (uint32_t)n)) pthread_cond_wait(&p->done, &p->lock);
        atomic_store(&p->caller_sleeps, 0);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Whether the calling thread became the pool's user (and may run on it). */
static int claim_pool(void) {
    pthread_once(&pool_once, register_fork_handler);
    return pthread_mutex_trylock(&pool_user) == 0;
}

void parallel_run(int n, part_fn fn, void *ctx) {
    if (n > PARALLEL_MAX) n = PARALLEL_MAX;
    if (n <= 1) {
        if (n == 1) fn(ctx, 0);
        return;
    }
    if (!claim_pool()) {
        run_with_new_threads(n, fn, ctx);
        return;
    }
    run_on_pool(n, fn, ctx);
    pthread_mutex_unlock(&pool_user);
}

void parallel_share(int n, part_fn fn, void *ctx) {
    if (n > PARALLEL_MAX) n = PARALLEL_MAX;
    if (n > 1 && claim_pool()) {
        run_on_pool(n, fn, ctx);
        pthread_mutex_unlock(&pool_user);
        return;
    }
    for (int i = 0; i < n; i++) fn(ctx, i);
}

int parallel_threads(int threads, int max_useful) {
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    if (threads > PARALLEL_MAX) threads = PARALLEL_MAX;
    if (threads > max_useful) threads = max_useful;
    return threads > 0 ? threads : 1;
}

void parallel_blas_single(void) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

/* Threads for inference and evaluation; written rarely, read per call. */
static _Atomic int default_threads;

int parallel_default_threads(void) { return default_threads; }

DIGIT_API void digit_set_threads(int threads) {
    default_threads = threads < 0 ? 0 : threads > DIGIT_MAX_THREADS ? DIGIT_MAX_THREADS : threads;
}

DIGIT_API int digit_threads(void) { return parallel_threads(default_threads, 1 << 30); }
