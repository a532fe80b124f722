/* SPDX-License-Identifier: MIT */
/*
 * parallel.h — running one function on several threads. libdigit splits
 * batches between its own threads (OpenBLAS runs single-threaded inside
 * each), because a batch's parts are large, independent and need no
 * synchronisation until the gradients are summed.
 */
#ifndef DIGIT_PARALLEL_H
#define DIGIT_PARALLEL_H

/* At most this many threads share one batch or one predict call. */
#define PARALLEL_MAX_WORKERS 64

/* Calls fn(ctx, i) once for each i in [0, n), on the calling thread and up
 * to n - 1 threads of a pool kept between calls (parallel.c), and returns
 * when all are done. Any thread may run any index, and one thread may run
 * several: what index i computes must depend on i only. Should threads
 * fail to start, the calling thread runs their indices: the work is the
 * same either way, only slower. */
void parallel_run(int n, void (*fn)(void *ctx, int index), void *ctx);

/* The same for work split finer than a batch (one image's layers, see
 * net.c): runs on the pool when it is free and otherwise every index on
 * the calling thread, because starting threads would cost more than the
 * work. Cheap to call many times in a row: helpers poll for a while
 * before they sleep. */
void parallel_share(int n, void (*fn)(void *ctx, int index), void *ctx);

/* The number of threads to use for a request of `threads` (0 = one per
 * online core), never more than `max_useful`. */
int parallel_threads(int threads, int max_useful);

/* The thread count set with digit_set_threads (0 = one per core). */
int parallel_default_threads(void);

/* libdigit's threads each call OpenBLAS; keep OpenBLAS itself on one thread
 * so the two levels of threading do not fight over the cores. */
void parallel_blas_single(void);

#endif
