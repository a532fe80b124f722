/* SPDX-License-Identifier: MIT */
/*
 * winograd.h — 3x3 stride-1 convolutions by Winograd's minimal filtering
 * F(2x2, 3x3): each 2x2 block of outputs ("tile") comes from a 4x4 block
 * of inputs with 16 multiplies per channel pair instead of 36, i.e. 2.25x
 * fewer than the direct (im2col) convolution of layers.c.
 *
 * With d a 4x4 input block, g a 3x3 kernel and Y the 2x2 outputs:
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * The 16 products become 16 GEMMs over all tiles of the batch and all
 * channels (microgemm.c): M[p] = V[p] x U[p] for p = 0..15, where
 *   V [16][T][Ci]   transformed input  (B^T d B per tile and channel)
 *   U [16][Ci][Co]  transformed kernel (G g G^T), the "packed" weights
 *   M [16][T][Co]   products, turned into outputs by A^T M A
 * T = B * tiles per image, tiles in row-major order over ceil(Ho/2) x
 * ceil(Wo/2); a tile hanging over the output's edge computes outputs that
 * are dropped (and, backward, have zero gradient). The tiles go through
 * in chunks of a few dozen, each transformed, multiplied and transformed
 * back before the next, so M holds one chunk at a time; V keeps all of
 * them for backward. The 16 points of each lie rows*C plus a little
 * padding apart (see winograd.c).
 *
 * Backward is the transpose of each step:
 *   dM = A dY A^T;  dV[p] = dM[p] x U[p]^T;  din += B dV B^T (scattered
 *   back over the overlapping 4x4 blocks);  dU[p] = V[p]^T x dM[p];
 *   dw = G^T dU G.
 * The results equal the direct convolution's up to rounding (the tests
 * compare the two; see tests/c/test_winograd.c for the tolerance).
 */
#ifndef DIGIT_WINOGRAD_H
#define DIGIT_WINOGRAD_H

#include <stddef.h>

#include "layers.h"
#include "real.h"

#define WINO_POINTS 16 /* 4x4 transformed values per tile */

/* Whether a convolution has the shape F(2x2,3x3) computes: 3x3, stride 1,
 * padding 0 or 1. */
int wino_fits(const conv_shape *s);

/* Below this many input channels the 16 GEMMs are too thin to beat
 * im2col; net.c then picks another path (see conv_path in net.h). */
#define WINO_MIN_CHANNELS 8

/* Tiles of one image: ceil(Ho/2) * ceil(Wo/2). */
size_t wino_tiles(const conv_shape *s);

/* Reals of V (one image: 16 * tiles * Ci), of M or dM (16 * tiles * Co)
 * and of the packed weights (U and its transpose, 2 * 16 * Ci * Co). */
size_t wino_v_size(const conv_shape *s);
size_t wino_m_size(const conv_shape *s);
size_t wino_u_size(const conv_shape *s);

/* w [Co, Ci, 3, 3] (PyTorch) -> U [16][Ci][Co], then Ut [16][Co][Ci]. */
void wino_pack(const conv_shape *s, const real *w, real *U);

/* out [B, Ho, Wo, Co] = conv(in) + bias (bias NULL: none). V (kept for
 * backward) and M are scratch of wino_v_size and wino_m_size per image. */
void wino_forward(const conv_shape *s, const real *in, const real *U,
                  const real *bias, real *V, real *M, real *out);

/* The same pass split into `parts` (for threads to share, see net.c):
 * part `part` computes its share of the tiles. M here holds the whole
 * pass's products (wino_m_size per image). The parts together give
 * wino_forward's result, bit for bit on the microgemm path. */
void wino_forward_part(const conv_shape *s, const real *in, const real *U,
                       const real *bias, real *V, real *M, real *out, int part, int parts);

/* From V of the forward pass and dout [B, Ho, Wo, Co]: dw in PyTorch
 * layout (dU: scratch of wino_u_size), dbias (NULL: no bias) and, when din
 * is not NULL, din [B, H, W, Ci] (overwritten). dM is scratch of
 * wino_m_size per image, dV of wino_v_size per image (only with din). */
void wino_backward(const conv_shape *s, const real *V, const real *U,
                   const real *dout, real *dU, real *dw, real *dbias,
                   real *dM, real *dV, real *din);

#endif
