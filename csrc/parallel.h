/* SPDX-License-Identifier: MIT */
/*
 * parallel.h — running one function on several threads. libdigit splits
 * batches between its own threads (OpenBLAS runs single-threaded inside
 * each), because the batch halves are large, independent and need no
 * synchronisation until the gradients are summed.
 */
#ifndef DIGIT_PARALLEL_H
#define DIGIT_PARALLEL_H

/* At most this many threads share one batch or one predict call. */
#define PARALLEL_MAX_WORKERS 64

/* Calls fn(ctx, i) for i in [0, n): i = 0 on the calling thread, the rest
 * on new threads, and returns when all are done. Should a thread fail to
 * start, its part runs on the calling thread instead: the work is the same
 * either way, only slower. */
void parallel_run(int n, void (*fn)(void *ctx, int index), void *ctx);

/* The number of threads to use for a request of `threads` (0 = one per
 * online core), never more than `max_useful`. */
int parallel_threads(int threads, int max_useful);

/* The thread count set with digit_set_threads (0 = one per core). */
int parallel_default_threads(void);

/* libdigit's threads each call OpenBLAS; keep OpenBLAS itself on one thread
 * so the two levels of threading do not fight over the cores. */
void parallel_blas_single(void);

#endif
