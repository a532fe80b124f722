/* SPDX-License-Identifier: MIT */
/*
 * real.h — the scalar type of the network math. The library is built with
 * float; the gradient-check test compiles layers.c and net.c a second time
 * with -DDIGIT_REAL_DOUBLE so finite differences are not drowned by float32
 * rounding; the kernels they call (conv1ch, microgemm, winograd) are
 * compiled for either.
 */
#ifndef DIGIT_REAL_H
#define DIGIT_REAL_H

#include <cblas.h>
#include <stdint.h>

#ifdef DIGIT_REAL_DOUBLE
typedef double real;
typedef int64_t real_bits; /* an integer as wide as real: vector comparisons' lane masks */
#define REAL_GEMM cblas_dgemm
#define REAL_GEMV cblas_dgemv
#else
typedef float real;
typedef int32_t real_bits;
#define REAL_GEMM cblas_sgemm
#define REAL_GEMV cblas_sgemv
#endif

/* C[M,N] = A[M,K] x B[K,N] (+ C when accumulate), all row-major; ta/tb say
 * that A or B is stored transposed. Leading dimensions follow from shapes. */
static inline void gemm(int ta, int tb, int M, int N, int K, const real *A,
                        const real *B, real *C, int accumulate) {
    REAL_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, M, N, K, (real)1, A,
              ta ? M : K, B, tb ? K : N, accumulate ? (real)1 : (real)0, C,
              N);
}

/* y[M] = A[M,N] x[N] + y (A row-major). For one input row this reads the
 * matrix once, where a GEMM would first copy all of it into packed panels. */
static inline void gemv(int M, int N, const real *A, const real *x, real *y) {
    REAL_GEMV(CblasRowMajor, CblasNoTrans, M, N, (real)1, A, N, x, 1, (real)1, y, 1);
}

#endif
