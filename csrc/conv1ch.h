/* SPDX-License-Identifier: MIT */
/*
 * conv1ch.h — convolutions of a one-channel input (the first layer of
 * every preset), computed directly rather than by im2col + GEMM: with
 * K*K = 9 or 25 taps the GEMM is too thin for OpenBLAS (about a quarter of
 * its peak), while a direct loop keeps a few output pixels' channels in
 * vector registers and reuses each weight vector for all of them.
 *
 * Layouts: the weights are packed as wk [K*K][Co'] (Co' = Co rounded up to
 * a block of 16, zero-padded), the input is copied into a zero-padded
 * image [B][H + 2 pad][W + 2 pad] that forward leaves for backward, and
 * the output is NHWC as everywhere. Stride 1 and K <= 7 only.
 *
 * The kernels exist for each path of cpu.h and give the same bits on all.
 */
#ifndef DIGIT_CONV1CH_H
#define DIGIT_CONV1CH_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "layers.h"
#include "real.h"

#define CONV1CH_MAX_K 7

int conv1ch_fits(const conv_shape *s);
/* Reals of wk, and of one image's padded copy. */
size_t conv1ch_w_size(const conv_shape *s);
size_t conv1ch_in_size(const conv_shape *s);

/* w [Co, 1, K, K] (PyTorch) -> wk. */
void conv1ch_pack(const conv_shape *s, const real *w, real *wk);

/* out = conv(in) + bias (NULL: none); padded: scratch of conv1ch_in_size
 * per image, kept for backward. */
void conv1ch_forward(const conv_shape *s, const real *in, const real *wk,
                     const real *bias, real *padded, real *out);
/* dw (PyTorch layout) and dbias (NULL: no bias) from the forward pass's
 * padded input and dout. There is no input gradient: a one-channel input
 * is the image. */
void conv1ch_backward(const conv_shape *s, const real *padded, const real *dout,
                      real *dw, real *dbias);

/* The widest output row the pooled kernels below take. */
#define CONV1CH_POOL_MAX_W 64

/* conv1ch_forward followed by a 2x2 max-pool (stride 2, floor mode), with
 * relu a ReLU between them, in one pass: each pair of output rows is
 * pooled while in cache, and the convolution's own output never written.
 * pooled and arg (NULL: not kept, as in inference) are maxpool_forward's,
 * bit for bit. Wo <= CONV1CH_POOL_MAX_W. */
void conv1ch_forward_pooled(const conv_shape *s, const real *in, const real *wk,
                            const real *bias, real *padded, int relu, real *pooled,
                            int32_t *arg);

/* The output gradient as a 2x2 max-pool after the convolution holds it
 * (layers.c's maxpool_backward, with an optional ReLU between them): the
 * gradient of an output pixel is the pool's where the pool took that
 * pixel (and, with relu, its output is positive), zero elsewhere. The
 * weight gradient builds each row of it in registers' reach instead of
 * reading the full-size gradient that maxpool_backward would write. */
typedef struct conv1ch_pool {
    const int32_t *arg;   /* the pool's argmax: [B][Ho/2][Wo/2][Co] indices into
                             the convolution's output */
    const real *out;      /* the pool's output, same shape (read with relu) */
    const real *dout;     /* the pool's output gradient, same shape */
    int relu;
} conv1ch_pool;

/* conv1ch_backward with the output gradient given as `pool`'s; the same
 * bits as maxpool_backward followed by conv1ch_backward. Wo <=
 * CONV1CH_POOL_MAX_W. */
void conv1ch_backward_pooled(const conv_shape *s, const real *padded, const conv1ch_pool *pool,
                             real *dw, real *dbias);

/* The same on a given path (the tests compare them; a path the CPU cannot
 * run must not be given). */
void conv1ch_forward_on(cpu_path path, const conv_shape *s, const real *in,
                        const real *wk, const real *bias, real *padded, real *out);
void conv1ch_backward_on(cpu_path path, const conv_shape *s, const real *padded,
                         const real *dout, real *dw, real *dbias);
void conv1ch_forward_pooled_on(cpu_path path, const conv_shape *s, const real *in,
                               const real *wk, const real *bias, real *padded, int relu,
                               real *pooled, int32_t *arg);
void conv1ch_backward_pooled_on(cpu_path path, const conv_shape *s, const real *padded,
                                const conv1ch_pool *pool, real *dw, real *dbias);

#endif
