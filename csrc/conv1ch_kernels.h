/* SPDX-License-Identifier: MIT */
/*
 * conv1ch_kernels.h — the bodies of the one-channel convolution kernels,
 * included by conv1ch.c once per path of cpu.h with
 *   KERNEL_NAME(x)  the path's name for x (forward_avx2, ...),
 *   KERNEL_ATTR     the path's target attribute (empty: portable),
 *   KERNEL_LANES    reals per vector register on that path,
 *   KERNEL_PX       output pixels computed together in forward.
 * Channels go in blocks of KERNEL_LANES, each one vector value (a GCC/clang
 * vector type, so every path compiles the same arithmetic in the same
 * order: the results are identical, only the width differs).
 */

#include "kernel_vec.h"

/* NP output pixels of a row from row0 (the padded input at their first
 * window), channels [c0, c0 + n) with wk and out already at c0. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(pixels)(const real *row0, int Wp, const real *wk, int Cop, KERNEL_NAME(vec) bv,
                    const int K, const int NP, real *out, int Co, int n) {
    KERNEL_NAME(vec) acc[KERNEL_PX];
    for (int p = 0; p < NP; p++) acc[p] = bv;
    for (int ky = 0; ky < K; ky++) {
        const real *row = row0 + (size_t)ky * Wp;
        for (int kx = 0; kx < K; kx++) {
            KERNEL_NAME(vec) w;
            memcpy(&w, wk + (size_t)(ky * K + kx) * Cop, sizeof w);
            for (int p = 0; p < NP; p++) acc[p] += row[p + kx] * w;
        }
    }
    for (int p = 0; p < NP; p++) KERNEL_NAME(store)(out + (size_t)p * Co, acc[p], n);
}

static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(forward_k)(const conv_shape *s, const real *padded, const real *wk,
                       const real *bias, real *out, const int K) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad, Cop = co_padded(s->Co);
    for (int b = 0; b < s->B; b++) {
        const real *img = padded + (size_t)b * Hp * Wp;
        for (int c0 = 0; c0 < s->Co; c0 += KERNEL_LANES) {
            const int n = s->Co - c0 < KERNEL_LANES ? s->Co - c0 : KERNEL_LANES;
            KERNEL_NAME(vec) bv = {0};
            if (bias) bv = KERNEL_NAME(load)(bias + c0, n);
            for (int y = 0; y < s->Ho; y++) {
                real *orow = out + ((size_t)b * s->Ho + y) * s->Wo * s->Co + c0;
                const real *irow = img + (size_t)y * Wp;
                int x = 0;
                for (; x + KERNEL_PX <= s->Wo; x += KERNEL_PX)
                    KERNEL_NAME(pixels)(irow + x, Wp, wk + c0, Cop, bv, K, KERNEL_PX,
                                        orow + (size_t)x * s->Co, s->Co, n);
                for (; x < s->Wo; x++)
                    KERNEL_NAME(pixels)(irow + x, Wp, wk + c0, Cop, bv, K, 1,
                                        orow + (size_t)x * s->Co, s->Co, n);
            }
        }
    }
}

/* sums[k] += v[k] for k < T, through memory (see below). */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(add_into)(real sums[][KERNEL_LANES], const KERNEL_NAME(vec) *v, int T) {
    for (int k = 0; k < T; k++)
        KERNEL_NAME(store)(sums[k], KERNEL_NAME(load)(sums[k], KERNEL_LANES) + v[k],
                           KERNEL_LANES);
}

/* Accumulators the weight gradient keeps in registers at once: AVX-512 has
 * 32 vector registers, the other paths 16, and the sums need two more (the
 * output gradient and a product). More would be written back to the stack
 * at every pixel (GCC did so with all 26 of 5x5 at once, at a third of the
 * speed). */
#define KERNEL_TAP_BUDGET (KERNEL_LANES == 16 ? 16 : 10)
_Static_assert(KERNEL_TAP_BUDGET >= CONV1CH_MAX_K, "a tap row must fit the register budget");

/* R tap rows of the weight gradient over one output row: for r < R and
 * kx < K, sums[r * K + kx] += sum over x of in[r * Wp + x + kx] * d[x], and
 * with the bias, bias += sum of d[x]. in is the input at the first tap row,
 * d the output gradient's row at channel c0. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(tap_rows)(const real *in, int Wp, const real *d, int Wo, int Co, int n, const int K,
                      const int R, real sums[][KERNEL_LANES], real bias[KERNEL_LANES]) {
    KERNEL_NAME(vec) acc[KERNEL_TAP_BUDGET + 1] = {{0}};
    for (int x = 0; x < Wo; x++) {
        const KERNEL_NAME(vec) dv = KERNEL_NAME(load)(d + (size_t)x * Co, n);
        if (bias) acc[R * K] += dv;
        for (int r = 0; r < R; r++)
            for (int kx = 0; kx < K; kx++) acc[r * K + kx] += in[(size_t)r * Wp + x + kx] * dv;
    }
    KERNEL_NAME(add_into)(sums, acc, R * K);
    if (bias) KERNEL_NAME(add_into)((real(*)[KERNEL_LANES])bias, acc + R * K, 1);
}

/* The weight gradient of channels [c0, c0 + n): one sum per tap (plus one
 * for the bias) over every output pixel. The sums go by levels, a group
 * of tap rows over one output row in registers, then the image, then the
 * batch: tens of thousands of products added into one float would lose
 * digits that a GEMM's blocked sums keep, and Adam magnifies such
 * differences in the gradients that are near zero. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(backward_block)(const conv_shape *s, const real *padded, const real *dout, int c0,
                            int n, real *dw, real *dbias, const int K) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad, KK = K * K;
    /* Tap rows in groups of R (a constant once K is), the rest last. */
    const int R = K <= KERNEL_TAP_BUDGET / K ? K : KERNEL_TAP_BUDGET / K;
    real total[CONV1CH_MAX_K * CONV1CH_MAX_K + 1][KERNEL_LANES] = {{0}};
    for (int b = 0; b < s->B; b++) {
        const real *img = padded + (size_t)b * Hp * Wp;
        real image[CONV1CH_MAX_K * CONV1CH_MAX_K + 1][KERNEL_LANES] = {{0}};
        for (int y = 0; y < s->Ho; y++) {
            const real *d = dout + ((size_t)b * s->Ho + y) * s->Wo * s->Co + c0;
            int ky = 0;
            for (; ky + R <= K; ky += R)
                KERNEL_NAME(tap_rows)(img + (size_t)(y + ky) * Wp, Wp, d, s->Wo, s->Co, n, K, R,
                                      image + ky * K, ky == 0 ? image[KK] : NULL);
            if (ky < K)
                KERNEL_NAME(tap_rows)(img + (size_t)(y + ky) * Wp, Wp, d, s->Wo, s->Co, n, K,
                                      K % R, image + ky * K, NULL);
        }
        KERNEL_NAME(vec) iv[CONV1CH_MAX_K * CONV1CH_MAX_K + 1];
        for (int k = 0; k <= KK; k++) iv[k] = KERNEL_NAME(load)(image[k], KERNEL_LANES);
        KERNEL_NAME(add_into)(total, iv, KK + 1);
    }
    for (int c = 0; c < n; c++) {
        for (int k = 0; k < KK; k++) dw[(size_t)(c0 + c) * KK + k] = total[k][c];
        if (dbias) dbias[c0 + c] = total[KK][c];
    }
}

static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(backward_k)(const conv_shape *s, const real *padded, const real *dout, real *dw,
                        real *dbias, const int K) {
    for (int c0 = 0; c0 < s->Co; c0 += KERNEL_LANES) {
        const int n = s->Co - c0 < KERNEL_LANES ? s->Co - c0 : KERNEL_LANES;
        KERNEL_NAME(backward_block)(s, padded, dout, c0, n, dw, dbias, K);
    }
}

/* The path's entry points, with K = 3 and 5 unrolled. */
KERNEL_ATTR static void KERNEL_NAME(forward)(const conv_shape *s, const real *padded,
                                             const real *wk, const real *bias, real *out) {
    switch (s->K) {
    case 3: KERNEL_NAME(forward_k)(s, padded, wk, bias, out, 3); break;
    case 5: KERNEL_NAME(forward_k)(s, padded, wk, bias, out, 5); break;
    default: KERNEL_NAME(forward_k)(s, padded, wk, bias, out, s->K); break;
    }
}

KERNEL_ATTR static void KERNEL_NAME(backward)(const conv_shape *s, const real *padded,
                                              const real *dout, real *dw, real *dbias) {
    switch (s->K) {
    case 3: KERNEL_NAME(backward_k)(s, padded, dout, dw, dbias, 3); break;
    case 5: KERNEL_NAME(backward_k)(s, padded, dout, dw, dbias, 5); break;
    default: KERNEL_NAME(backward_k)(s, padded, dout, dw, dbias, s->K); break;
    }
}
