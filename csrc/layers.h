/* SPDX-License-Identifier: MIT */
/*
 * layers.h — forward and backward passes of the layer kinds, as plain
 * functions over caller-owned buffers (no allocation, no state).
 *
 * Activations are NHWC: image b, row y, column x, channel c lives at
 * ((b*H + y)*W + x)*C + c. That keeps a convolution one long GEMM over the
 * whole batch (rows = B*Ho*Wo output pixels) and makes every im2col copy a
 * contiguous run. Parameters keep PyTorch's layouts (conv [Co, Ci, K, K],
 * linear [No, Ni]); convolutions work on a packed copy of their weights,
 * [Co, K, K, Ci], that matches the im2col column order.
 *
 * Backward functions overwrite (not accumulate) the parameter gradients.
 */
#ifndef DIGIT_LAYERS_H
#define DIGIT_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "real.h"

typedef struct conv_shape {
    int B, H, W, Ci;   /* input  [B, H, W, Ci] */
    int Ho, Wo, Co;    /* output [B, Ho, Wo, Co] */
    int K, pad, stride;
} conv_shape;

/* w [Co, Ci, K, K] (PyTorch) -> packed [Co, K, K, Ci], and back for grads. */
void conv_pack(const conv_shape *s, const real *w, real *packed);
void conv_unpack(const conv_shape *s, const real *packed, real *w);

/* col: [B*Ho*Wo, K*K*Ci] scratch that backward reuses;
 * out = col x packed^T + bias (bias NULL: none, as bias=False in PyTorch,
 * for a convolution that a batch norm follows). */
void conv2d_forward(const conv_shape *s, const real *in, const real *packed,
                    const real *bias, real *col, real *out);
/* dw in PyTorch layout, via dpacked (scratch of the weights' size). din may
 * be NULL (first layer); dcol is scratch of col's size when din is set.
 * dbias NULL: the layer has no bias. */
void conv2d_backward(const conv_shape *s, const real *col, const real *packed,
                     const real *dout, real *dpacked, real *dw, real *dbias,
                     real *dcol, real *din);

/* In place: x = max(x, 0); backward zeroes d where the output was 0. */
void relu_forward(real *x, size_t n);
void relu_backward(const real *out, real *d, size_t n);

/* K x K window, stride K, floor mode (as PyTorch's MaxPool2d(K)). arg
 * records the winning input index per output for backward; NULL skips that
 * (inference). With relu set,
 * the output is max(0, window max): ReLU then pooling in one pass, since
 * max and ReLU commute. */
void maxpool_forward(int B, int H, int W, int C, int K, int relu,
                     const real *in, real *out, int32_t *arg);
/* With relu set, gradients pass only where the output was positive. */
void maxpool_backward(int B, int H, int W, int C, int K, int relu,
                      const int32_t *arg, const real *out, const real *dout,
                      real *din);

/* NHWC -> PyTorch's flatten order (C, H, W) per image, and back. */
void flatten_forward(int B, int H, int W, int C, const real *in, real *out);
void flatten_backward(int B, int H, int W, int C, const real *dout, real *din);

/* out[B,No] = in[B,Ni] x w[No,Ni]^T + b. din may be NULL; bias and dbias
 * NULL: no bias. */
void linear_forward(int B, int Ni, int No, const real *in, const real *w,
                    const real *bias, real *out);
void linear_backward(int B, int Ni, int No, const real *in, const real *w,
                     const real *dout, real *dw, real *dbias, real *din);

/* ---- batch normalisation (BatchNorm2d over NHWC rows, BatchNorm1d over
 * [B, C]: both are `rows` rows of C channels) ----
 *
 * Training normalises with the statistics of the whole mini-batch. A batch
 * split between threads computes partial sums per part (batchnorm_sums,
 * batchnorm_grad_sums, in double so that the parts' order is the only
 * rounding that depends on the split), adds them in a fixed order and
 * hands the totals to the elementwise passes. `count` is the number of rows
 * in the whole batch. */

/* sum[c] += x, sumsq[c] += x*x over the rows. */
void batchnorm_sums(size_t rows, int C, const real *x, double *sum, double *sumsq);
/* Mean and biased variance from the totals. */
void batchnorm_moments(int C, double count, const double *sum, const double *sumsq,
                       real *mean, real *var);
/* y = (x - mean) / sqrt(var + eps) * gamma + beta, as PyTorch's CPU kernel
 * computes it: alpha = gamma * invstd, y = x * alpha + (beta - mean * alpha). */
void batchnorm_forward(size_t rows, int C, const real *x, const real *mean,
                       const real *var, double eps, const real *gamma,
                       const real *beta, real *y);
/* sum_dy[c] += dy, sum_dyxc[c] += dy * (x - mean) over the rows. */
void batchnorm_grad_sums(size_t rows, int C, const real *x, const real *mean,
                         const real *dy, double *sum_dy, double *sum_dyxc);
/* From the whole batch's sums: dx = (dy - mean(dy) - (x - mean) *
 * sum_dyxc * invstd^2 / count) * invstd * gamma. dgamma and dbeta (may be
 * NULL: another part of the batch writes them) = sum_dyxc * invstd, sum_dy. */
void batchnorm_backward(size_t rows, int C, const real *x, const real *mean,
                        const real *var, double eps, const real *gamma,
                        const double *sum_dy, const double *sum_dyxc, double count,
                        const real *dy, real *dx, real *dgamma, real *dbeta);

/* ---- dropout ----
 * Inverted dropout (as torch.nn.Dropout): each element is zeroed with
 * probability p and the rest scaled by 1/(1-p), so evaluation is the
 * identity. `mask` (n) receives 0 or 1/(1-p) per element; the caller draws
 * it (see net.c: one generator per image, so the draw does not depend on
 * how a batch is split). */
void dropout_forward(size_t n, const real *in, const real *mask, real *out);
void dropout_backward(size_t n, const real *mask, const real *dout, real *din);

/* Row-wise log-softmax of [B, N]; out may equal in. */
void log_softmax_forward(int B, int N, const real *in, real *out);
/* Sum of the negative log-likelihoods of log-probabilities logp[B,N] at
 * labels, divided by `norm`, and its gradient with respect to the logits
 * that produced them: (softmax - onehot) / norm. norm is the whole batch's
 * size when a batch is split between threads. */
double nll_loss(int B, int N, const real *logp, const uint8_t *labels,
                double norm, real *dlogits);
/* The same with label smoothing s (torch.nn.CrossEntropyLoss's
 * label_smoothing): the target is (1-s) onehot + s/N, so the loss is
 * (1-s) * nll + s * mean over classes of -logp, and the gradient
 * (softmax - target) / norm. s = 0 is nll_loss exactly. */
double cross_entropy_loss(int B, int N, const real *logp, const uint8_t *labels,
                          double smoothing, double norm, real *dlogits);

#endif
