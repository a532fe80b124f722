/* SPDX-License-Identifier: MIT */
/*
 * microgemm.c — see microgemm.h. The kernel is written once
 * (microgemm_kernels.h) and compiled per path at its vector width.
 */
#include "internal.h"

/* The kernels pass vector values between always-inlined helpers of one
 * target; gcc's note that such values change the ABI between targets does
 * not apply to them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <string.h>

#include "microgemm.h"

#define KERNEL_NAME(x) x##_portable
#define KERNEL_ATTR
#define KERNEL_LANES 4
#define KERNEL_ROWS 4
#include "microgemm_kernels.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef KERNEL_LANES
#undef KERNEL_ROWS

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MGEMM_X86 1
#define KERNEL_NAME(x) x##_avx2
#define KERNEL_ATTR __attribute__((target("avx2,fma")))
#define KERNEL_LANES 8
#define KERNEL_ROWS 3
#include "microgemm_kernels.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef KERNEL_LANES
#undef KERNEL_ROWS

#define KERNEL_NAME(x) x##_avx512
#define KERNEL_ATTR __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define KERNEL_LANES 16
#define KERNEL_ROWS 4
#include "microgemm_kernels.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef KERNEL_LANES
#undef KERNEL_ROWS
#endif

void mgemm_on(cpu_path path, int M, int N, int K, const real *A, int a_row, int a_col,
              const real *B, int ldb, real *C, int ldc, int add) {
    switch (path) {
#ifdef MGEMM_X86
    case CPU_AVX512: mgemm_avx512(M, N, K, A, a_row, a_col, B, ldb, C, ldc, add); return;
    case CPU_AVX2: mgemm_avx2(M, N, K, A, a_row, a_col, B, ldb, C, ldc, add); return;
#endif
    default: mgemm_portable(M, N, K, A, a_row, a_col, B, ldb, C, ldc, add); return;
    }
}

/* Measured against OpenBLAS on a Zen 4 (digit-bench --layers, 16
 * images): basic's Winograd conv2 forward 795 vs 925 us, backward 1602 vs
 * 1850; basic's fc1 backward see linear_backward. A partial vector costs a
 * slow copy, and the narrower paths were slower than OpenBLAS on the same
 * machine, so they keep OpenBLAS. */
int mgemm_wins(int N) { return cpu_path_active() == CPU_AVX512 && N % 16 == 0; }

void mgemm(int M, int N, int K, const real *A, int a_row, int a_col, const real *B, int ldb,
           real *C, int ldc, int add) {
    mgemm_on(cpu_path_active(), M, N, K, A, a_row, a_col, B, ldb, C, ldc, add);
}
