/* SPDX-License-Identifier: MIT */
/*
 * parallel.c — a fork-join over pthreads. Threads are created per call:
 * a batch costs milliseconds, a thread start microseconds, and nothing
 * lingers in the host process between calls.
 */
#include "internal.h"

#include <cblas.h>
#include <pthread.h>
#include <unistd.h>

#include "parallel.h"

#define PARALLEL_MAX PARALLEL_MAX_WORKERS

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

void parallel_run(int n, void (*fn)(void *ctx, int index), void *ctx) {
    if (n > PARALLEL_MAX) n = PARALLEL_MAX;
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
