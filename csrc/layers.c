/*
 * layers.c — the math of each layer kind; see layers.h for layouts.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "layers.h"

/* ---- conv2d: im2col + one GEMM over the batch ---- */

/* One row of col per output pixel, columns in PyTorch's weight order
 * (ci, ky, kx), so the weight matrix [Co, Ci*K*K] is used as stored. */
static void im2col(const conv_shape *s, const real *in, real *col) {
    const int KK = s->K * s->K, CKK = s->Ci * KK;
    for (int b = 0; b < s->B; b++)
        for (int oy = 0; oy < s->Ho; oy++)
            for (int ox = 0; ox < s->Wo; ox++) {
                real *row = col + ((size_t)(b * s->Ho + oy) * s->Wo + ox) * CKK;
                for (int ky = 0; ky < s->K; ky++) {
                    int iy = oy * s->stride - s->pad + ky;
                    for (int kx = 0; kx < s->K; kx++) {
                        int ix = ox * s->stride - s->pad + kx;
                        real *dst = row + ky * s->K + kx;
                        if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W) {
                            for (int c = 0; c < s->Ci; c++) dst[c * KK] = 0;
                            continue;
                        }
                        const real *src =
                            in + ((size_t)(b * s->H + iy) * s->W + ix) * s->Ci;
                        for (int c = 0; c < s->Ci; c++) dst[c * KK] = src[c];
                    }
                }
            }
}

/* The adjoint of im2col: scatter-add each column entry to its input pixel. */
static void col2im(const conv_shape *s, const real *col, real *in) {
    const int KK = s->K * s->K, CKK = s->Ci * KK;
    memset(in, 0, sizeof(real) * (size_t)s->B * s->H * s->W * s->Ci);
    for (int b = 0; b < s->B; b++)
        for (int oy = 0; oy < s->Ho; oy++)
            for (int ox = 0; ox < s->Wo; ox++) {
                const real *row =
                    col + ((size_t)(b * s->Ho + oy) * s->Wo + ox) * CKK;
                for (int ky = 0; ky < s->K; ky++) {
                    int iy = oy * s->stride - s->pad + ky;
                    if (iy < 0 || iy >= s->H) continue;
                    for (int kx = 0; kx < s->K; kx++) {
                        int ix = ox * s->stride - s->pad + kx;
                        if (ix < 0 || ix >= s->W) continue;
                        const real *src = row + ky * s->K + kx;
                        real *dst =
                            in + ((size_t)(b * s->H + iy) * s->W + ix) * s->Ci;
                        for (int c = 0; c < s->Ci; c++) dst[c] += src[c * KK];
                    }
                }
            }
}

void conv2d_forward(const conv_shape *s, const real *in, const real *w,
                    const real *bias, real *col, real *out) {
    const int rows = s->B * s->Ho * s->Wo, CKK = s->Ci * s->K * s->K;
    im2col(s, in, col);
    for (int r = 0; r < rows; r++)
        memcpy(out + (size_t)r * s->Co, bias, sizeof(real) * s->Co);
    gemm(0, 1, rows, s->Co, CKK, col, w, out, 1);
}

void conv2d_backward(const conv_shape *s, const real *col, const real *w,
                     const real *dout, real *dw, real *dbias, real *dcol,
                     real *din) {
    const int rows = s->B * s->Ho * s->Wo, CKK = s->Ci * s->K * s->K;
    for (int c = 0; c < s->Co; c++) dbias[c] = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < s->Co; c++) dbias[c] += dout[(size_t)r * s->Co + c];
    gemm(1, 0, s->Co, CKK, rows, dout, col, dw, 0);
    if (din) {
        gemm(0, 0, rows, CKK, s->Co, dout, w, dcol, 0);
        col2im(s, dcol, din);
    }
}

/* ---- ReLU ---- */

void relu_forward(real *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

void relu_backward(const real *out, real *d, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = out[i] > 0 ? d[i] : 0;
}

/* ---- max-pool ---- */

void maxpool_forward(int B, int H, int W, int C, int K, const real *in,
                     real *out, int32_t *arg) {
    const int Ho = H / K, Wo = W / K;
    for (int b = 0; b < B; b++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int c = 0; c < C; c++) {
                    /* Scan row by row keeping the first maximum, as PyTorch. */
                    int32_t best = ((b * H + oy * K) * W + ox * K) * C + c;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++) {
                            int32_t i =
                                ((b * H + oy * K + ky) * W + ox * K + kx) * C + c;
                            if (in[i] > in[best]) best = i;
                        }
                    size_t o = ((size_t)(b * Ho + oy) * Wo + ox) * C + c;
                    out[o] = in[best];
                    arg[o] = best;
                }
}

void maxpool_backward(int B, int H, int W, int C, int K, const int32_t *arg,
                      const real *dout, real *din) {
    const size_t n_out = (size_t)B * (H / K) * (W / K) * C;
    memset(din, 0, sizeof(real) * (size_t)B * H * W * C);
    for (size_t o = 0; o < n_out; o++) din[arg[o]] += dout[o];
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

void linear_forward(int B, int Ni, int No, const real *in, const real *w,
                    const real *bias, real *out) {
    for (int b = 0; b < B; b++) memcpy(out + (size_t)b * No, bias, sizeof(real) * No);
    gemm(0, 1, B, No, Ni, in, w, out, 1);
}

void linear_backward(int B, int Ni, int No, const real *in, const real *w,
                     const real *dout, real *dw, real *dbias, real *din) {
    for (int o = 0; o < No; o++) dbias[o] = 0;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < No; o++) dbias[o] += dout[(size_t)b * No + o];
    gemm(1, 0, No, Ni, B, dout, in, dw, 0);
    if (din) gemm(0, 0, B, Ni, No, dout, w, din, 0);
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
        real lse = mx + (real)log(sum);
        for (int i = 0; i < N; i++) y[i] = x[i] - lse;
    }
}

double nll_loss(int B, int N, const real *logp, const uint8_t *labels,
                real *dlogits) {
    double loss = 0;
    for (int b = 0; b < B; b++) {
        const real *lp = logp + (size_t)b * N;
        loss -= lp[labels[b]];
        if (!dlogits) continue;
        real *d = dlogits + (size_t)b * N;
        for (int i = 0; i < N; i++)
            d[i] = ((real)exp((double)lp[i]) - (i == labels[b])) / (real)B;
    }
    return loss / B;
}
