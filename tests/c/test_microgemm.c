/* SPDX-License-Identifier: MIT */
/*
 * test_microgemm.c — csrc/microgemm.c against OpenBLAS's sgemm on random
 * operands: plain and transposed A, row strides wider than the rows, sizes
 * around the register blocks (rows of 3, 4 or 6; 1, 2 or 4 vectors of 4,
 * 8 or 16 lanes) and around the k-block, K = 0, overwriting C and adding
 * to it; and every kernel path this CPU runs against the portable one, bit
 * for bit.
 */

#include "internal.h" /* first, as in the library's own files */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "microgemm.h"
#include "kernel_check.h"
#include "rng.h"

/* Relative to the largest |C|: a different order of additions than
 * OpenBLAS's, with sums of up to a few hundred products. */
#define TOLERANCE 1e-5

static void check_case(int M, int N, int K, int transposed, int pad, int add, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    /* A as stored: [M][K + pad] or, transposed, [K][M + pad]. */
    const int lda = transposed ? M + pad : K + pad, ldb = N + pad, ldc = N + pad;
    const size_t na = transposed ? (size_t)K * lda : (size_t)M * lda;
    real *A = randoms(&r, na), *B = randoms(&r, (size_t)K * ldb);
    real *got = randoms(&r, (size_t)M * ldc);
    real *want = malloc(sizeof(real) * ((size_t)M * ldc + 1));
    real *start = malloc(sizeof(real) * ((size_t)M * ldc + 1));
    real *path = malloc(sizeof(real) * ((size_t)M * ldc + 1));
    if (!want || !start || !path) abort();
    /* The same starting C (and padding) for every call. */
    memcpy(start, got, sizeof(real) * (size_t)M * ldc);
    memcpy(want, got, sizeof(real) * (size_t)M * ldc);
    REAL_GEMM(CblasRowMajor, transposed ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1,
              A, lda, B, ldb, add ? 1 : 0, want, ldc);
    mgemm_on(CPU_PORTABLE, M, N, K, A, transposed ? 1 : lda, transposed ? lda : 1, B, ldb, got,
             ldc, add);
    double diff = 0, scale = 0;
    int pad_kept = 1;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= N) {
                pad_kept &= got[at] == start[at];
                continue;
            }
            diff = fmax(diff, fabs((double)got[at] - (double)want[at]));
            scale = fmax(scale, fabs((double)want[at]));
        }
    CHECK(diff <= TOLERANCE * (scale > 0 ? scale : 1), "M%d N%d K%d%s%s: error %.3g of %.3g", M,
          N, K, transposed ? " (A^T)" : "", add ? " (C +=)" : "", diff, scale);
    CHECK(pad_kept, "M%d N%d K%d: columns past N untouched", M, N, K);
    for (int p = CPU_AVX2; p <= (int)cpu_path_best(); p++) {
        memcpy(path, start, sizeof(real) * (size_t)M * ldc);
        mgemm_on((cpu_path)p, M, N, K, A, transposed ? 1 : lda, transposed ? lda : 1, B, ldb,
                 path, ldc, add);
        int same = 1;
        for (int i = 0; i < M; i++) same &= !memcmp(path + (size_t)i * ldc, got + (size_t)i * ldc,
                                                    sizeof(real) * (size_t)N);
        CHECK(same, "M%d N%d K%d: the %s path gives the portable path's bits", M, N, K,
              cpu_path_name((cpu_path)p));
    }
    free(A), free(B), free(want), free(got), free(start), free(path);
}

int main(void) {
    /* One OpenBLAS thread, as the library runs it (parallel_blas_single):
     * its own threads are invisible to ThreadSanitizer. */
    openblas_set_num_threads(1);
    /* The Winograd products of the presets (T x Ci x Co and transposed),
     * then edges of every block. */
    const int shapes[][3] = {{784, 64, 32}, {784, 32, 64}, {32, 64, 784}, {400, 32, 16},
                             {1, 1, 1},     {5, 7, 3},     {6, 16, 1},    {7, 17, 129},
                             {13, 33, 128}, {12, 64, 256}, {3, 96, 48},   {2, 5, 0},
                             {9, 400, 40}};
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; t < 2; t++)
            for (int pad = 0; pad <= 3; pad += 3)
                for (int add = 0; add < 2; add++)
                    check_case(shapes[i][0], shapes[i][1], shapes[i][2], t, pad, add, seed++);
    return test_summary("test_microgemm");
}
