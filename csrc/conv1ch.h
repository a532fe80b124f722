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

/* The same on a given path (the tests compare them; a path the CPU cannot
 * run must not be given). */
void conv1ch_forward_on(cpu_path path, const conv_shape *s, const real *in,
                        const real *wk, const real *bias, real *padded, real *out);
void conv1ch_backward_on(cpu_path path, const conv_shape *s, const real *padded,
                         const real *dout, real *dw, real *dbias);

#endif
