/* SPDX-License-Identifier: MIT */
/*
 * layers.c — the math of each layer kind; see layers.h for layouts.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "layers.h"
#include "microgemm.h"

/* ---- conv2d: im2col + one GEMM over the batch ---- */

void conv_pack(const conv_shape *s, const real *w, real *packed) {
    const int KK = s->K * s->K;
    for (int o = 0; o < s->Co; o++)
        for (int c = 0; c < s->Ci; c++)
            for (int k = 0; k < KK; k++)
                packed[((size_t)o * KK + k) * s->Ci + c] = w[((size_t)o * s->Ci + c) * KK + k];
}

void conv_unpack(const conv_shape *s, const real *packed, real *w) {
    const int KK = s->K * s->K;
    for (int o = 0; o < s->Co; o++)
        for (int c = 0; c < s->Ci; c++)
            for (int k = 0; k < KK; k++)
                w[((size_t)o * s->Ci + c) * KK + k] = packed[((size_t)o * KK + k) * s->Ci + c];
}

/* The kx range [*lo, *hi) whose input column lies inside the image. */
static void kx_range(const conv_shape *s, int ox, int *lo, int *hi) {
    int x0 = ox * s->stride - s->pad;
    *lo = x0 < 0 ? -x0 : 0;
    *hi = s->W - x0 < s->K ? s->W - x0 : s->K;
    if (*hi < *lo) *hi = *lo;
}

/* dst[0, n): src[0, hi - lo) placed at [lo, hi), zero outside. A plain
 * loop: the runs are short (K*Ci values) and a memcpy call per run costs
 * more. */
static inline void copy_run(real *restrict dst, const real *restrict src,
                            int lo, int hi, int n) {
    for (int i = 0; i < lo; i++) dst[i] = 0;
    for (int i = lo; i < hi; i++) dst[i] = src[i - lo];
    for (int i = hi; i < n; i++) dst[i] = 0;
}

/* im2col for one input channel (the first layer): each output pixel's
 * K*K taps, row by row. K is a compile-time constant in the common cases
 * (see im2col_1ch), so the short copies become plain moves. */
static inline void im2col_1ch_k(const conv_shape *s, const real *in, real *col, const int K) {
    const int KK = K * K;
    for (int b = 0; b < s->B; b++) {
        const real *img = in + (size_t)b * s->H * s->W;
        for (int oy = 0; oy < s->Ho; oy++)
            for (int ox = 0; ox < s->Wo; ox++) {
                real *row = col + ((size_t)(b * s->Ho + oy) * s->Wo + ox) * KK;
                const int y0 = oy * s->stride - s->pad, x0 = ox * s->stride - s->pad;
                const int inside = y0 >= 0 && x0 >= 0 && y0 + K <= s->H && x0 + K <= s->W;
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++) {
                        const int y = y0 + ky, x = x0 + kx;
                        row[ky * K + kx] = inside || (y >= 0 && y < s->H && x >= 0 && x < s->W)
                                               ? img[(size_t)y * s->W + x] : 0;
                    }
            }
    }
}

static inline void im2col_1ch(const conv_shape *s, const real *in, real *col) {
    switch (s->K) {
    case 3: im2col_1ch_k(s, in, col, 3); break;
    case 5: im2col_1ch_k(s, in, col, 5); break;
    default: im2col_1ch_k(s, in, col, s->K); break;
    }
}

/* One row of col per output pixel, columns (ky, kx, ci). For a fixed ky the
 * in-bounds kx run is contiguous in NHWC memory, so each is one memcpy. */
static inline void im2col(const conv_shape *s, const real *in, real *col) {
    if (s->Ci == 1) {
        im2col_1ch(s, in, col);
        return;
    }
    const int KC = s->K * s->Ci, KKC = s->K * KC;
    for (int b = 0; b < s->B; b++)
        for (int oy = 0; oy < s->Ho; oy++)
            for (int ox = 0; ox < s->Wo; ox++) {
                real *row = col + ((size_t)(b * s->Ho + oy) * s->Wo + ox) * KKC;
                int lo, hi, x0 = ox * s->stride - s->pad;
                kx_range(s, ox, &lo, &hi);
                for (int ky = 0; ky < s->K; ky++) {
                    int iy = oy * s->stride - s->pad + ky;
                    real *dst = row + ky * KC;
                    if (iy < 0 || iy >= s->H || lo == hi) {
                        memset(dst, 0, sizeof(real) * KC);
                        continue;
                    }
                    /* From the first in-bounds pixel: x0 itself may be -pad. */
                    copy_run(dst, in + ((size_t)(b * s->H + iy) * s->W + x0 + lo) * s->Ci,
                             lo * s->Ci, hi * s->Ci, KC);
                }
            }
}

static inline void add_run(real *restrict dst, const real *restrict src, int n) {
    for (int i = 0; i < n; i++) dst[i] += src[i];
}

/* The adjoint of im2col: each column run is added back to its pixels. */
static inline void col2im(const conv_shape *s, const real *col, real *in) {
    const int KC = s->K * s->Ci, KKC = s->K * KC;
    memset(in, 0, sizeof(real) * (size_t)s->B * s->H * s->W * s->Ci);
    for (int b = 0; b < s->B; b++)
        for (int oy = 0; oy < s->Ho; oy++)
            for (int ox = 0; ox < s->Wo; ox++) {
                const real *row = col + ((size_t)(b * s->Ho + oy) * s->Wo + ox) * KKC;
                int lo, hi, x0 = ox * s->stride - s->pad;
                kx_range(s, ox, &lo, &hi);
                for (int ky = 0; ky < s->K && lo < hi; ky++) {
                    int iy = oy * s->stride - s->pad + ky;
                    if (iy < 0 || iy >= s->H) continue;
                    add_run(in + ((size_t)(b * s->H + iy) * s->W + x0 + lo) * s->Ci,
                            row + ky * KC + lo * s->Ci, (hi - lo) * s->Ci);
                }
            }
}

/* Fills each of `rows` rows of out[rows, n] with bias. */
static inline void fill_bias(real *restrict out, const real *restrict bias,
                                size_t rows, int n) {
    if (!bias) {
        memset(out, 0, sizeof(real) * rows * (size_t)n);
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < n; c++) out[r * n + c] = bias[c];
}

/* db[c] = sum over rows of d[r, c]. */
static inline void column_sums(const real *restrict d, size_t rows, int n,
                                  real *restrict db) {
    for (int c = 0; c < n; c++) db[c] = 0;
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < n; c++) db[c] += d[r * n + c];
}

/* The layer functions are multiversioned whole, so the copy, bias and sum
 * loops inlined into them are vectorised for the CPU at hand. */
DIGIT_HOT void conv2d_forward(const conv_shape *s, const real *in, const real *packed,
                    const real *bias, real *col, real *out) {
    const int rows = s->B * s->Ho * s->Wo, KKC = s->Ci * s->K * s->K;
    im2col(s, in, col);
    fill_bias(out, bias, (size_t)rows, s->Co);
    gemm(0, 1, rows, s->Co, KKC, col, packed, out, 1);
}

DIGIT_HOT void conv2d_backward(const conv_shape *s, const real *col, const real *packed,
                     const real *dout, real *dpacked, real *dw, real *dbias,
                     real *dcol, real *din) {
    const int rows = s->B * s->Ho * s->Wo, KKC = s->Ci * s->K * s->K;
    if (dbias) column_sums(dout, (size_t)rows, s->Co, dbias);
    gemm(1, 0, s->Co, KKC, rows, dout, col, dpacked, 0);
    conv_unpack(s, dpacked, dw);
    if (din) {
        gemm(0, 0, rows, KKC, s->Co, dout, packed, dcol, 0);
        col2im(s, dcol, din);
    }
}

/* ---- ReLU ---- */

DIGIT_HOT void relu_forward(real *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

DIGIT_HOT void relu_backward(const real *out, real *d, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = out[i] > 0 ? d[i] : 0;
}

/* ---- max-pool ---- */

/* One output pixel's C channels: the running maximum over the window, kept
 * first-wins on ties (as PyTorch), vectorised across channels. */
static inline void pool_pixel(const real *in, int32_t base, int W, int C, int K,
                              int relu, real *restrict out, int32_t *restrict arg) {
    for (int c = 0; c < C; c++) out[c] = in[base + c];
    if (arg)
        for (int c = 0; c < C; c++) arg[c] = base + c;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            if (!ky && !kx) continue;
            int32_t at = base + (ky * W + kx) * C;
            if (arg) {
                for (int c = 0; c < C; c++)
                    if (in[at + c] > out[c]) out[c] = in[at + c], arg[c] = at + c;
            } else {
                for (int c = 0; c < C; c++) out[c] = in[at + c] > out[c] ? in[at + c] : out[c];
            }
        }
    if (relu)
        for (int c = 0; c < C; c++) out[c] = out[c] > 0 ? out[c] : 0;
}

/* The 2x2 window with argmax (training), in scan order with first-wins
 * ties, as selects that vectorise across channels. */
static inline void pool2_pixel_arg(const real *in, int32_t base, int W, int C, int relu,
                                   real *restrict out, int32_t *restrict arg) {
    const int32_t o1 = C, o2 = W * C, o3 = W * C + C;
    const real *a = in + base;
    for (int i = 0; i < C; i++) {
        real m = a[i];
        int32_t at = base + i;
        if (a[o1 + i] > m) m = a[o1 + i], at = base + o1 + i;
        if (a[o2 + i] > m) m = a[o2 + i], at = base + o2 + i;
        if (a[o3 + i] > m) m = a[o3 + i], at = base + o3 + i;
        out[i] = relu && m < 0 ? 0 : m;
        arg[i] = at;
    }
}

/* The 2x2 window without argmax (inference): four loads and three maxes
 * per channel, which vectorise cleanly. */
static inline void pool2_pixel(const real *in, int32_t base, int W, int C, int relu,
                               real *restrict out) {
    const real *a = in + base, *b = a + C, *c = a + (size_t)W * C, *d = c + C;
    for (int i = 0; i < C; i++) {
        real m = a[i] > b[i] ? a[i] : b[i];
        real n = c[i] > d[i] ? c[i] : d[i];
        m = m > n ? m : n;
        out[i] = relu && m < 0 ? 0 : m;
    }
}

DIGIT_HOT void maxpool_forward(int B, int H, int W, int C, int K, int relu,
                               const real *in, real *out, int32_t *arg) {
    const int Ho = H / K, Wo = W / K;
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                size_t o = ((size_t)(b * Ho + oy) * Wo + ox) * C;
                int32_t base = ((b * H + oy * K) * W + ox * K) * C;
                if (K == 2 && arg) pool2_pixel_arg(in, base, W, C, relu, out + o, arg + o);
                else if (K == 2) pool2_pixel(in, base, W, C, relu, out + o);
                else pool_pixel(in, base, W, C, K, relu, out + o, arg ? arg + o : NULL);
            }
}

/* A 2x2 window's four inputs: the gradient to the one that won, zero to
 * the others; selects that vectorise across channels. */
static inline void unpool2_pixel(const int32_t *arg, const real *out, const real *dout,
                                 int32_t base, int W, int C, int relu, real *restrict din) {
    const int32_t o1 = C, o2 = W * C, o3 = W * C + C;
    for (int i = 0; i < C; i++) {
        real g = !relu || out[i] > 0 ? dout[i] : 0;
        int32_t at = arg[i] - base - i;
        din[base + i] = at == 0 ? g : 0;
        din[base + o1 + i] = at == o1 ? g : 0;
        din[base + o2 + i] = at == o2 ? g : 0;
        din[base + o3 + i] = at == o3 ? g : 0;
    }
}

/* Windows do not overlap, so each input pixel receives either its window's
 * gradient or zero: written directly, row by row, with no scatter. */
DIGIT_HOT void maxpool_backward(int B, int H, int W, int C, int K, int relu,
                                const int32_t *arg, const real *out,
                                const real *dout, real *din) {
    const int Ho = H / K, Wo = W / K;
    /* Floor mode leaves edge rows/columns outside every window. */
    if (H % K || W % K) memset(din, 0, sizeof(real) * (size_t)B * H * W * C);
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                size_t o = ((size_t)(b * Ho + oy) * Wo + ox) * C;
                int32_t base = ((b * H + oy * K) * W + ox * K) * C;
                if (K == 2) {
                    unpool2_pixel(arg + o, out + o, dout + o, base, W, C, relu, din);
                    continue;
                }
                for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++) {
                        int32_t at = base + (ky * W + kx) * C;
                        for (int c = 0; c < C; c++)
                            din[at + c] = arg[o + c] == at + c && (!relu || out[o + c] > 0)
                                              ? dout[o + c] : 0;
                    }
            }
}

/* ---- flatten ---- */

void flatten_forward(int B, int H, int W, int C, const real *in, real *out) {
    const size_t n = (size_t)H * W * C;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < H * W; p++)
            for (int c = 0; c < C; c++)
                out[b * n + (size_t)c * H * W + p] = in[b * n + (size_t)p * C + c];
}

void flatten_backward(int B, int H, int W, int C, const real *dout, real *din) {
    const size_t n = (size_t)H * W * C;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < H * W; p++)
            for (int c = 0; c < C; c++)
                din[b * n + (size_t)p * C + c] = dout[b * n + (size_t)c * H * W + p];
}

/* ---- linear ---- */

DIGIT_HOT void linear_forward(int B, int Ni, int No, const real *in, const real *w,
                    const real *bias, real *out) {
    fill_bias(out, bias, (size_t)B, No);
    /* A few rows (single-image inference): one pass over the weights each. */
    if (B <= 2)
        for (int b = 0; b < B; b++) gemv(No, Ni, w, in + (size_t)b * Ni, out + (size_t)b * No);
    else
        gemm(0, 1, B, No, Ni, in, w, out, 1);
}

/* Both gradients are products Ni columns wide that microgemm.c reads in
 * place where it wins (mgemm_wins), where OpenBLAS first copies `in` or
 * all of w (1.6 MB for basic's fc1) into packed panels on every call. On a
 * Zen 4 (digit-bench --layers, 16 images) basic's fc1 backward went from
 * 347-354 to 289-297 us. */
DIGIT_HOT void linear_backward(int B, int Ni, int No, const real *in, const real *w,
                               const real *dout, real *dw, real *dbias, real *din) {
    const int own = mgemm_wins(Ni);
    if (dbias) column_sums(dout, (size_t)B, No, dbias);
    if (own) mgemm(No, Ni, B, dout, 1, No, in, Ni, dw, Ni, 0);
    else gemm(1, 0, No, Ni, B, dout, in, dw, 0);
    if (din && own) mgemm(B, Ni, No, dout, No, 1, w, Ni, din, Ni, 0);
    else if (din) gemm(0, 0, B, Ni, No, dout, w, din, 0);
}

/* ---- batch normalisation ---- */

DIGIT_HOT void batchnorm_sums(size_t rows, int C, const real *x, double *sum, double *sumsq) {
    for (size_t r = 0; r < rows; r++) {
        const real *row = x + r * (size_t)C;
        for (int c = 0; c < C; c++) {
            double v = (double)row[c];
            sum[c] += v;
            sumsq[c] += v * v;
        }
    }
}

/* E[x^2] - E[x]^2 in double: activations are O(1) and batches a few
 * hundred thousand rows, so the cancellation costs ~1e-12 relative, far
 * below float; and a single pass needs one exchange between threads, not
 * two. */
void batchnorm_moments(int C, double count, const double *sum, const double *sumsq,
                       real *mean, real *var) {
    for (int c = 0; c < C; c++) {
        double m = sum[c] / count, v = sumsq[c] / count - m * m;
        mean[c] = (real)m;
        var[c] = (real)(v > 0 ? v : 0);
    }
}

static double invstd_of(real var, double eps) { return 1.0 / sqrt((double)var + eps); }

DIGIT_HOT void batchnorm_forward(size_t rows, int C, const real *x, const real *mean,
                                 const real *var, double eps, const real *gamma,
                                 const real *beta, real *y) {
    real alpha[C], shift[C];
    for (int c = 0; c < C; c++) {
        alpha[c] = (real)(invstd_of(var[c], eps) * (double)gamma[c]);
        shift[c] = beta[c] - mean[c] * alpha[c];
    }
    for (size_t r = 0; r < rows; r++) {
        const real *xi = x + r * (size_t)C;
        real *yi = y + r * (size_t)C;
        for (int c = 0; c < C; c++) yi[c] = xi[c] * alpha[c] + shift[c];
    }
}

DIGIT_HOT void batchnorm_grad_sums(size_t rows, int C, const real *x, const real *mean,
                                   const real *dy, double *sum_dy, double *sum_dyxc) {
    for (size_t r = 0; r < rows; r++) {
        const real *xi = x + r * (size_t)C, *gi = dy + r * (size_t)C;
        for (int c = 0; c < C; c++) {
            sum_dy[c] += (double)gi[c];
            sum_dyxc[c] += (double)gi[c] * ((double)xi[c] - (double)mean[c]);
        }
    }
}

DIGIT_HOT void batchnorm_backward(size_t rows, int C, const real *x, const real *mean,
                                  const real *var, double eps, const real *gamma,
                                  const double *sum_dy, const double *sum_dyxc, double count,
                                  const real *dy, real *dx, real *dgamma, real *dbeta) {
    real k[C], mdy[C], scale[C];
    for (int c = 0; c < C; c++) {
        double is = invstd_of(var[c], eps);
        k[c] = (real)(sum_dyxc[c] * is * is / count);
        mdy[c] = (real)(sum_dy[c] / count);
        scale[c] = (real)(is * (double)gamma[c]);
        if (dgamma) dgamma[c] = (real)(sum_dyxc[c] * is);
        if (dbeta) dbeta[c] = (real)sum_dy[c];
    }
    for (size_t r = 0; r < rows; r++) {
        const real *xi = x + r * (size_t)C, *gi = dy + r * (size_t)C;
        real *di = dx + r * (size_t)C;
        for (int c = 0; c < C; c++)
            di[c] = (gi[c] - mdy[c] - (xi[c] - mean[c]) * k[c]) * scale[c];
    }
}

/* ---- dropout ---- */

DIGIT_HOT void dropout_forward(size_t n, const real *in, const real *mask, real *out) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] * mask[i];
}

DIGIT_HOT void dropout_backward(size_t n, const real *mask, const real *dout, real *din) {
    for (size_t i = 0; i < n; i++) din[i] = dout[i] * mask[i];
}

/* ---- log-softmax and the loss ---- */

void log_softmax_forward(int B, int N, const real *in, real *out) {
    for (int b = 0; b < B; b++) {
        const real *x = in + (size_t)b * N;
        real *y = out + (size_t)b * N;
        real mx = x[0];
        for (int i = 1; i < N; i++) mx = x[i] > mx ? x[i] : mx;
        double sum = 0;
        for (int i = 0; i < N; i++) sum += exp((double)(x[i] - mx));
        /* (x - max) - log(sum), not x - (max + log(sum)): rounding then
         * happens at the scale of the result, not of the max. */
        real ls = (real)log(sum);
        for (int i = 0; i < N; i++) y[i] = (x[i] - mx) - ls;
    }
}

double nll_loss(int B, int N, const real *logp, const uint8_t *labels,
                double norm, real *dlogits) {
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const real *lp = logp + (size_t)b * N;
        loss -= lp[labels[b]];
        if (!dlogits) continue;
        real *d = dlogits + (size_t)b * N;
        for (int i = 0; i < N; i++)
            d[i] = (real)((exp((double)lp[i]) - (i == labels[b])) / norm);
    }
    return loss / norm;
}

double cross_entropy_loss(int B, int N, const real *logp, const uint8_t *labels,
                          double smoothing, double norm, real *dlogits) {
    if (smoothing == 0) return nll_loss(B, N, logp, labels, norm, dlogits);
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const real *lp = logp + (size_t)b * N;
        double all = 0;
        for (int i = 0; i < N; i++) all -= lp[i];
        loss += (1 - smoothing) * -(double)lp[labels[b]] + smoothing * all / N;
        if (!dlogits) continue;
        real *d = dlogits + (size_t)b * N;
        for (int i = 0; i < N; i++) {
            double target = (1 - smoothing) * (i == labels[b]) + smoothing / N;
            d[i] = (real)((exp((double)lp[i]) - target) / norm);
        }
    }
    return loss / norm;
}
