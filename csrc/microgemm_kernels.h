/* SPDX-License-Identifier: MIT */
/*
 * microgemm_kernels.h — the body of microgemm.c's kernel, included once per
 * path of cpu.h with
 *   KERNEL_NAME(x)  the path's name for x,
 *   KERNEL_ATTR     its target attribute (empty: portable),
 *   KERNEL_LANES    reals per vector register,
 *   KERNEL_ROWS     rows of C computed together (the register block is
 *                   KERNEL_ROWS x up to 4 vectors).
 */

#include "kernel_vec.h"

/* C[R rows, NV vectors from column j] for k in [k0, k1): summed in
 * registers, then stored, or with add, added to C. `last` is the number
 * of columns in the last vector (KERNEL_LANES but at the edge). */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(block)(const int R, const int NV, int last, int k0, int k1, const real *A,
                   int a_row, int a_col, const real *B, int ldb, real *C, int ldc, int add) {
    KERNEL_NAME(vec) acc[KERNEL_ROWS][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = (KERNEL_NAME(vec)){0};
    for (int k = k0; k < k1; k++) {
        KERNEL_NAME(vec) b[4];
        const real *brow = B + (size_t)k * ldb;
        for (int v = 0; v < NV; v++)
            b[v] = KERNEL_NAME(load)(brow + v * KERNEL_LANES, v == NV - 1 ? last : KERNEL_LANES);
        for (int r = 0; r < R; r++) {
            const real a = A[(size_t)r * a_row + (size_t)k * a_col];
            for (int v = 0; v < NV; v++) acc[r][v] += a * b[v];
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) {
            real *c = C + (size_t)r * ldc + v * KERNEL_LANES;
            const int n = v == NV - 1 ? last : KERNEL_LANES;
            if (add) KERNEL_NAME(store)(c, KERNEL_NAME(load)(c, n) + acc[r][v], n);
            else KERNEL_NAME(store)(c, acc[r][v], n);
        }
}

/* Columns [j, j + NV vectors) of C, all M rows, in blocks of KERNEL_ROWS:
 * the panel of B they read (at most MGEMM_KBLOCK x 4 vectors) stays in L1
 * while the row blocks pass over it, where a row-block-first order would
 * stream all of a wide B once per row block. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(cols)(const int NV, int last, int M, int k0, int k1, const real *A, int a_row,
                  int a_col, const real *B, int ldb, real *C, int ldc, int add) {
    int i = 0;
    for (; i + KERNEL_ROWS <= M; i += KERNEL_ROWS)
        KERNEL_NAME(block)(KERNEL_ROWS, NV, last, k0, k1, A + (size_t)i * a_row, a_row, a_col, B,
                           ldb, C + (size_t)i * ldc, ldc, add);
    for (; i < M; i++)
        KERNEL_NAME(block)(1, NV, last, k0, k1, A + (size_t)i * a_row, a_row, a_col, B, ldb,
                           C + (size_t)i * ldc, ldc, add);
}

KERNEL_ATTR static void KERNEL_NAME(mgemm)(int M, int N, int K, const real *A, int a_row,
                                          int a_col, const real *B, int ldb, real *C,
                                          int ldc, int add) {
    for (int k0 = 0; k0 < K || k0 == 0; k0 += MGEMM_KBLOCK) {
        const int k1 = K - k0 < MGEMM_KBLOCK ? K : k0 + MGEMM_KBLOCK;
        const int add_block = add || k0 > 0;
        /* Column blocks of 4 vectors, then 2, then 1. */
        int j = 0;
        for (; j + 4 * KERNEL_LANES <= N; j += 4 * KERNEL_LANES)
            KERNEL_NAME(cols)(4, KERNEL_LANES, M, k0, k1, A, a_row, a_col, B + j, ldb, C + j, ldc,
                              add_block);
        if (j + 2 * KERNEL_LANES <= N) {
            KERNEL_NAME(cols)(2, KERNEL_LANES, M, k0, k1, A, a_row, a_col, B + j, ldb, C + j, ldc,
                              add_block);
            j += 2 * KERNEL_LANES;
        }
        for (; j < N; j += KERNEL_LANES) {
            const int n = N - j < KERNEL_LANES ? N - j : KERNEL_LANES;
            KERNEL_NAME(cols)(1, n, M, k0, k1, A, a_row, a_col, B + j, ldb, C + j, ldc,
                              add_block);
        }
        if (K == 0) break;
    }
}
