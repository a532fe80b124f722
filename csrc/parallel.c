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
 * One call uses the pool at a time; a call made meanwhile (another thread
 * of the host, or fn itself calling parallel_run) starts threads of its
 * own, as every call did before the pool. After fork() the child starts a
 * pool of its own (the parent's helpers do not exist there).
 */
#include "internal.h"

#include <cblas.h>
#include <pthread.h>
#include <unistd.h>

#include "parallel.h"

#define PARALLEL_MAX PARALLEL_MAX_WORKERS

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

/* ---- the pool ---- */

typedef struct pool {
    pthread_mutex_t lock;      /* everything below */
    pthread_cond_t wake, done;
    int helpers;               /* started */
    uint64_t generation;       /* bumped for every call */
    void (*fn)(void *, int);
    void *ctx;
    int n, next;               /* indices [next, n) are still to be taken */
    int running;               /* indices taken and not finished */
} pool;

static pool the_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        PTHREAD_COND_INITIALIZER, 0, 0, NULL, NULL, 0, 0, 0};
/* Held by the one call that uses the pool. */
static pthread_mutex_t pool_user = PTHREAD_MUTEX_INITIALIZER;

/* Runs indices until none is left; called and returns with p->lock held. */
static void take_indices(pool *p) {
    while (p->next < p->n) {
        int i = p->next++;
        void (*fn)(void *, int) = p->fn;
        void *ctx = p->ctx;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        fn(ctx, i);
        pthread_mutex_lock(&p->lock);
        if (--p->running == 0 && p->next >= p->n) pthread_cond_broadcast(&p->done);
    }
}

static void *helper_main(void *arg) {
    pool *p = arg;
    pthread_mutex_lock(&p->lock);
    uint64_t seen = p->generation;
    for (;;) {
        while (p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        seen = p->generation;
        take_indices(p);
    }
    return NULL; /* not reached: helpers live as long as the process */
}

/* Starts helpers up to `want`; with p->lock held. Fewer may start (the
 * caller then takes their indices). */
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
    p->helpers = 0, p->n = p->next = p->running = 0;
}

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, reset_in_child); }

void parallel_run(int n, void (*fn)(void *ctx, int index), void *ctx) {
    if (n > PARALLEL_MAX) n = PARALLEL_MAX;
    if (n <= 1) {
        if (n == 1) fn(ctx, 0);
        return;
    }
    pool *p = &the_pool;
    pthread_once(&pool_once, register_fork_handler);
    if (pthread_mutex_trylock(&pool_user) != 0) {
        run_with_new_threads(n, fn, ctx);
        return;
    }
    pthread_mutex_lock(&p->lock);
    start_helpers(p, n - 1);
    p->fn = fn, p->ctx = ctx, p->n = n, p->next = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    take_indices(p);
    while (p->running > 0) pthread_cond_wait(&p->done, &p->lock);
    p->n = p->next = 0; /* a helper that wakes late finds nothing to do */
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&pool_user);
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
