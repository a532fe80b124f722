/* SPDX-License-Identifier: MIT */
/*
 * microgemm.h — a small GEMM of libdigit's own for the Winograd
 * convolution's products (winograd.c): 16 products per pass with K and N
 * of 8 to a few hundred, where OpenBLAS spends a third of its time packing
 * both operands and zeroing the output before it multiplies; and for the
 * linear layers' gradients (layers.c), whose operands OpenBLAS would copy
 * whole on every call. These operate
 * on the operands where they are (row-major, any row stride), keep an
 * R x (NV vectors) block of C in registers, and come in the portable, AVX2
 * and AVX-512 versions of cpu.h, which give identical bits (no fused
 * multiply-add; the same order of additions on every path).
 *
 *   C[M,N] = A[M,K] x B[K,N], overwriting C, or with add, C += A x B.
 *   A's element (i, k) is at A[i * a_row + k * a_col]: (K, 1) for a
 *   row-major A, (1, lda) for the transpose of a row-major [K, M] array.
 *   B and C are row-major with row strides ldb and ldc. Sums over k go
 *   in blocks of MGEMM_KBLOCK, each block summed in registers and then
 *   added to C, as a blocked GEMM does.
 */
#ifndef DIGIT_MICROGEMM_H
#define DIGIT_MICROGEMM_H

#include "cpu.h"
#include "real.h"

#define MGEMM_KBLOCK 128

void mgemm(int M, int N, int K, const real *A, int a_row, int a_col, const real *B,
           int ldb, real *C, int ldc, int add);
/* Whether mgemm is the faster choice for products N columns wide: on
 * AVX-512, N in whole vectors of 16 (see microgemm.c). */
int mgemm_wins(int N);
/* The same on a given path (tests; the CPU must run it). */
void mgemm_on(cpu_path path, int M, int N, int K, const real *A, int a_row, int a_col,
              const real *B, int ldb, real *C, int ldc, int add);

#endif
