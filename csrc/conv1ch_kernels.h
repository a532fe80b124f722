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

/* Integers as wide as real, one vector of them: a comparison's lane masks,
 * and the argmax indices beside them; and the indices as kept (int32_t). */
typedef real_bits KERNEL_NAME(ivec) __attribute__((vector_size(sizeof(real) * KERNEL_LANES)));
typedef int32_t KERNEL_NAME(index) __attribute__((vector_size(sizeof(int32_t) * KERNEL_LANES)));

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

/* Two rows of the convolution's output into rows[2][2 Wq] (channels
 * [c0, c0 + KERNEL_LANES) of the block, as forward_k computes rows), then
 * the 2x2 max-pool of each pair of columns: the values and argmax indices
 * layers.c's maxpool_forward gives, by the same comparisons as vector
 * masks (with arg, first-wins in scan order; without, its pairwise
 * maxima), and with relu the negative maxima zeroed. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(pool_rows)(const conv_shape *s, const real *img, int Wp, const real *wk, int Cop,
                       KERNEL_NAME(vec) bv, const int K, int b, int qy, int c0, int n, int relu,
                       real *pooled, int32_t *arg) {
    const int Hq = s->Ho / 2, Wq = s->Wo / 2, Co = s->Co;
    real rows[2][CONV1CH_POOL_MAX_W][KERNEL_LANES];
    for (int r = 0; r < 2; r++) {
        const real *irow = img + (size_t)(2 * qy + r) * Wp;
        int x = 0;
        for (; x + KERNEL_PX <= 2 * Wq; x += KERNEL_PX)
            KERNEL_NAME(pixels)(irow + x, Wp, wk + c0, Cop, bv, K, KERNEL_PX, rows[r][x],
                                KERNEL_LANES, KERNEL_LANES);
        for (; x < 2 * Wq; x++)
            KERNEL_NAME(pixels)(irow + x, Wp, wk + c0, Cop, bv, K, 1, rows[r][x], KERNEL_LANES,
                                KERNEL_LANES);
    }
    KERNEL_NAME(ivec) lane;
    for (int c = 0; c < KERNEL_LANES; c++) lane[c] = c;
    for (int qx = 0; qx < Wq; qx++) {
        const size_t o = ((size_t)(b * Hq + qy) * Wq + qx) * Co + c0;
        KERNEL_NAME(vec) v[4];
        memcpy(&v[0], rows[0][2 * qx], sizeof v[0]), memcpy(&v[1], rows[0][2 * qx + 1], sizeof v[1]);
        memcpy(&v[2], rows[1][2 * qx], sizeof v[2]), memcpy(&v[3], rows[1][2 * qx + 1], sizeof v[3]);
        KERNEL_NAME(vec) m;
        if (arg) {
            /* The window's pixels in the output, as maxpool_forward's indices. */
            const int32_t base = (int32_t)(((b * s->Ho + 2 * qy) * s->Wo + 2 * qx) * Co + c0);
            const int32_t step[4] = {0, Co, s->Wo * Co, s->Wo * Co + Co};
            m = v[0];
            KERNEL_NAME(ivec) at = base + lane;
            for (int k = 1; k < 4; k++) {
                const KERNEL_NAME(ivec) t = v[k] > m; /* -1 where v[k] wins */
                m = (KERNEL_NAME(vec))(((KERNEL_NAME(ivec))v[k] & t) | ((KERNEL_NAME(ivec))m & ~t));
                at = ((base + step[k] + lane) & t) | (at & ~t);
            }
            const KERNEL_NAME(index) kept = __builtin_convertvector(at, KERNEL_NAME(index));
            if (n == KERNEL_LANES) memcpy(arg + o, &kept, sizeof kept);
            else memcpy(arg + o, &kept, sizeof(int32_t) * (size_t)n);
        } else {
            const KERNEL_NAME(ivec) t0 = v[0] > v[1], t1 = v[2] > v[3];
            const KERNEL_NAME(vec) m0 =
                (KERNEL_NAME(vec))(((KERNEL_NAME(ivec))v[0] & t0) | ((KERNEL_NAME(ivec))v[1] & ~t0));
            const KERNEL_NAME(vec) m1 =
                (KERNEL_NAME(vec))(((KERNEL_NAME(ivec))v[2] & t1) | ((KERNEL_NAME(ivec))v[3] & ~t1));
            const KERNEL_NAME(ivec) t = m0 > m1;
            m = (KERNEL_NAME(vec))(((KERNEL_NAME(ivec))m0 & t) | ((KERNEL_NAME(ivec))m1 & ~t));
        }
        if (relu) m = (KERNEL_NAME(vec))((KERNEL_NAME(ivec))m & ~(m < 0));
        KERNEL_NAME(store)(pooled + o, m, n);
    }
}

/* Every image's convolution, by blocks of channels and rows of output;
 * with pool, pairs of rows go through pool_rows, and out and arg are the
 * pool's (see there). */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(forward_k)(const conv_shape *s, const real *padded, const real *wk,
                       const real *bias, const int pool, int relu, real *out, int32_t *arg,
                       const int K) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad, Cop = co_padded(s->Co);
    for (int b = 0; b < s->B; b++) {
        const real *img = padded + (size_t)b * Hp * Wp;
        for (int c0 = 0; c0 < s->Co; c0 += KERNEL_LANES) {
            const int n = s->Co - c0 < KERNEL_LANES ? s->Co - c0 : KERNEL_LANES;
            KERNEL_NAME(vec) bv = {0};
            if (bias) bv = KERNEL_NAME(load)(bias + c0, n);
            for (int qy = 0; pool && qy < s->Ho / 2; qy++)
                KERNEL_NAME(pool_rows)(s, img, Wp, wk, Cop, bv, K, b, qy, c0, n, relu, out, arg);
            for (int y = 0; !pool && y < s->Ho; y++) {
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

/* Rows 2 qy and 2 qy + 1 of image b's output gradient, channels
 * [c0, c0 + n), from a 2x2 max-pool's (see conv1ch_pool): the values
 * maxpool_backward would write (the pool's gradient at the pixel its
 * argmax names, where with relu its output is positive; +0 elsewhere),
 * zero past n and in a last column no window covers. Each pooled cell is
 * read once for its four pixels, as bit masks on whole vectors. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(pooled_rows)(const conv_shape *s, const conv1ch_pool *pool, int b, int qy, int c0,
                         const int n, real rows[2][CONV1CH_POOL_MAX_W][KERNEL_LANES]) {
    const int Wq = s->Wo / 2, Co = s->Co, relu = pool->relu;
    const size_t q0 = ((size_t)(b * (s->Ho / 2) + qy) * Wq) * Co + c0;
    const int32_t *arg = pool->arg + q0;
    const real *out = pool->out + q0, *dout = pool->dout + q0;
    /* Where in its window the argmax lies: its index less the window's first. */
    KERNEL_NAME(ivec) first;
    for (int c = 0; c < KERNEL_LANES; c++)
        first[c] = (int32_t)(((b * s->Ho + 2 * qy) * s->Wo) * Co + c0 + c);
    const int32_t right = Co, below = s->Wo * Co;
    for (int qx = 0; qx < Wq; qx++, first += 2 * Co) {
        KERNEL_NAME(index) at = {0};
        if (n == KERNEL_LANES) memcpy(&at, arg + (size_t)qx * Co, sizeof at);
        else memcpy(&at, arg + (size_t)qx * Co, sizeof(int32_t) * (size_t)n);
        const KERNEL_NAME(ivec) off = __builtin_convertvector(at, KERNEL_NAME(ivec)) - first;
        KERNEL_NAME(ivec) g = (KERNEL_NAME(ivec))KERNEL_NAME(load)(dout + (size_t)qx * Co, n);
        if (relu) g &= KERNEL_NAME(load)(out + (size_t)qx * Co, n) > 0;
        const KERNEL_NAME(ivec) px[4] = {g & (off == 0), g & (off == right), g & (off == below),
                                         g & (off == below + right)};
        memcpy(rows[0][2 * qx], &px[0], sizeof px[0]);
        memcpy(rows[0][2 * qx + 1], &px[1], sizeof px[1]);
        memcpy(rows[1][2 * qx], &px[2], sizeof px[2]);
        memcpy(rows[1][2 * qx + 1], &px[3], sizeof px[3]);
    }
    if (s->Wo % 2) memset(rows[0][s->Wo - 1], 0, sizeof rows[0][0]),
                   memset(rows[1][s->Wo - 1], 0, sizeof rows[1][0]);
}

/* The weight gradient of channels [c0, c0 + n): one sum per tap (plus one
 * for the bias) over every output pixel. The sums go by levels, a group
 * of tap rows over one output row in registers, then the image, then the
 * batch: tens of thousands of products added into one float would lose
 * digits that a GEMM's blocked sums keep, and Adam magnifies such
 * differences in the gradients that are near zero. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(backward_block)(const conv_shape *s, const real *padded, const real *dout,
                            const conv1ch_pool *pool, int c0, int n, real *dw, real *dbias,
                            const int K) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad, KK = K * K;
    /* Tap rows in groups of R (a constant once K is), the rest last. */
    const int R = K <= KERNEL_TAP_BUDGET / K ? K : KERNEL_TAP_BUDGET / K;
    real total[CONV1CH_MAX_K * CONV1CH_MAX_K + 1][KERNEL_LANES] = {{0}};
    for (int b = 0; b < s->B; b++) {
        const real *img = padded + (size_t)b * Hp * Wp;
        real image[CONV1CH_MAX_K * CONV1CH_MAX_K + 1][KERNEL_LANES] = {{0}};
        /* With pool, the gradient's rows are built in pairs into `rows`
         * (stride KERNEL_LANES, zero past n); a last row no window covers
         * is zero. */
        real rows[2][CONV1CH_POOL_MAX_W][KERNEL_LANES];
        for (int y = 0; y < s->Ho; y++) {
            const real *d = rows[y % 2][0];
            int stride = KERNEL_LANES, lanes = KERNEL_LANES;
            if (!pool) {
                d = dout + ((size_t)b * s->Ho + y) * s->Wo * s->Co + c0;
                stride = s->Co, lanes = n;
            } else if (y % 2 == 0 && y + 1 < s->Ho) {
                KERNEL_NAME(pooled_rows)(s, pool, b, y / 2, c0, n, rows);
            } else if (y % 2 == 0) {
                memset(rows[0], 0, sizeof rows[0]);
            }
            int ky = 0;
            for (; ky + R <= K; ky += R)
                KERNEL_NAME(tap_rows)(img + (size_t)(y + ky) * Wp, Wp, d, s->Wo, stride, lanes, K,
                                      R, image + ky * K, ky == 0 ? image[KK] : NULL);
            if (ky < K)
                KERNEL_NAME(tap_rows)(img + (size_t)(y + ky) * Wp, Wp, d, s->Wo, stride, lanes, K,
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
KERNEL_NAME(backward_k)(const conv_shape *s, const real *padded, const real *dout,
                        const conv1ch_pool *pool, real *dw, real *dbias, const int K) {
    for (int c0 = 0; c0 < s->Co; c0 += KERNEL_LANES) {
        const int n = s->Co - c0 < KERNEL_LANES ? s->Co - c0 : KERNEL_LANES;
        if (n == KERNEL_LANES) /* a constant: whole-vector loads and stores */
            KERNEL_NAME(backward_block)(s, padded, dout, pool, c0, KERNEL_LANES, dw, dbias, K);
        else
            KERNEL_NAME(backward_block)(s, padded, dout, pool, c0, n, dw, dbias, K);
    }
}

/* The path's entry points, with K = 3 and 5 unrolled. */
KERNEL_ATTR static void KERNEL_NAME(forward)(const conv_shape *s, const real *padded,
                                             const real *wk, const real *bias, real *out) {
    switch (s->K) {
    case 3: KERNEL_NAME(forward_k)(s, padded, wk, bias, 0, 0, out, NULL, 3); break;
    case 5: KERNEL_NAME(forward_k)(s, padded, wk, bias, 0, 0, out, NULL, 5); break;
    default: KERNEL_NAME(forward_k)(s, padded, wk, bias, 0, 0, out, NULL, s->K); break;
    }
}

KERNEL_ATTR static void KERNEL_NAME(forward_pooled)(const conv_shape *s, const real *padded,
                                                    const real *wk, const real *bias, int relu,
                                                    real *pooled, int32_t *arg) {
    switch (s->K) {
    case 3: KERNEL_NAME(forward_k)(s, padded, wk, bias, 1, relu, pooled, arg, 3); break;
    case 5: KERNEL_NAME(forward_k)(s, padded, wk, bias, 1, relu, pooled, arg, 5); break;
    default: KERNEL_NAME(forward_k)(s, padded, wk, bias, 1, relu, pooled, arg, s->K); break;
    }
}

/* dout, or with pool, the pool's gradient (dout unused). */
KERNEL_ATTR static void KERNEL_NAME(backward)(const conv_shape *s, const real *padded,
                                              const real *dout, const conv1ch_pool *pool,
                                              real *dw, real *dbias) {
    switch (s->K) {
    case 3: KERNEL_NAME(backward_k)(s, padded, dout, pool, dw, dbias, 3); break;
    case 5: KERNEL_NAME(backward_k)(s, padded, dout, pool, dw, dbias, 5); break;
    default: KERNEL_NAME(backward_k)(s, padded, dout, pool, dw, dbias, s->K); break;
    }
}
