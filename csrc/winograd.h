/* SPDX-License-Identifier: MIT */
/*
 * winograd.h — 3x3 stride-1 convolutions by Winograd's minimal filtering
 * F(m x m, 3x3), m = 2 or 4: each m x m block of outputs ("tile") comes
 * from an n x n block of inputs (n = m + 2) with P = n * n multiplies per
 * channel pair, where the direct (im2col) convolution of layers.c does
 * 9 m^2: 16 instead of 36 (2.25x fewer) for F(2x2), 36 instead of 144
 * (4x fewer) for F(4x4), whose transforms cost more and round more.
 *
 * With d an n x n input block, g a 3x3 kernel and Y the m x m outputs:
 *   Y = A^T [ (G g G^T) .* (B^T d B) ] A
 * The P products become P GEMMs over all tiles of the batch and all
 * channels (microgemm.c): M[p] = V[p] x U[p] for p = 0..P-1, where
 *   V [P][T][Ci]   transformed input  (B^T d B per tile and channel)
 *   U [P][Ci][Co]  transformed kernel (G g G^T), the "packed" weights
 *   M [P][T][Co]   products, turned into outputs by A^T M A
 * T = B * tiles per image, tiles in row-major order over ceil(Ho/m) x
 * ceil(Wo/m); a tile hanging over the output's edge computes outputs that
 * are dropped (and, backward, have zero gradient). The tiles go through
 * in chunks of a few dozen, each transformed, multiplied and transformed
 * back before the next, so M holds one chunk at a time; V keeps all of
 * them for backward. The P points of each lie rows*C plus a little
 * padding apart (see winograd.c).
 *
 * Backward is the transpose of each step:
 *   dM = A dY A^T;  dV[p] = dM[p] x U[p]^T;  din += B dV B^T (scattered
 *   back over the overlapping n x n blocks);  dU[p] = V[p]^T x dM[p];
 *   dw = G^T dU G.
 * The results equal the direct convolution's up to rounding (the tests
 * compare the two; see tests/c/test_winograd.c for the tolerances).
 *
 * Every function takes the tile side m (2 or 4) after the shape; one
 * layer must use the same m throughout (net.c keeps it in its plan).
 */
#ifndef DIGIT_WINOGRAD_H
#define DIGIT_WINOGRAD_H

#include <stddef.h>

#include "layers.h"
#include "real.h"

/* Whether a convolution has the shape F(m x m, 3x3) computes: 3x3,
 * stride 1, padding 0 or 1. */
int wino_fits(const conv_shape *s);

/* Below this many input channels the products are too thin to beat
 * im2col; net.c then picks another path (see conv_path in net.h). */
#define WINO_MIN_CHANNELS 8

/* The tile side for a shape that fits: 4 where F(4x4) does at least a
 * tenth fewer products than F(2x2), counting the outputs its tiles compute
 * past the edge (14x14 outputs: 16 tiles x 36 = 576 against 49 x 16 =
 * 784; 10x10: 324 against 400), else 2. */
int wino_choose_tile(const conv_shape *s);

/* Points per tile, (m + 2)^2; tiles of one image, ceil(Ho/m) * ceil(Wo/m). */
int wino_points(int m);
size_t wino_tiles(const conv_shape *s, int m);

/* Reals of V (one image: P * tiles * Ci), of M or dM (P * tiles * Co)
 * and of the packed weights (U and its transpose, 2 * P * Ci * Co). */
size_t wino_v_size(const conv_shape *s, int m);
size_t wino_m_size(const conv_shape *s, int m);
size_t wino_u_size(const conv_shape *s, int m);

/* w [Co, Ci, 3, 3] (PyTorch) -> U [P][Ci][Co], then Ut [P][Co][Ci]. */
void wino_pack(const conv_shape *s, int m, const real *w, real *U);

/* out [B, Ho, Wo, Co] = conv(in) + bias (bias NULL: none). V (kept for
 * backward) and M are scratch of wino_v_size and wino_m_size per image. */
void wino_forward(const conv_shape *s, int m, const real *in, const real *U,
                  const real *bias, real *V, real *M, real *out);

/* The same pass split into `parts` (for threads to share, see net.c):
 * part `part` computes its share of the tiles. M here holds the whole
 * pass's products (wino_m_size per image). The parts together give
 * wino_forward's result, bit for bit on the microgemm path. */
void wino_forward_part(const conv_shape *s, int m, const real *in, const real *U,
                       const real *bias, real *V, real *M, real *out, int part, int parts);

/* From V of the forward pass and dout [B, Ho, Wo, Co]: dw in PyTorch
 * layout (dU: scratch of wino_u_size), dbias (NULL: no bias) and, when din
 * is not NULL, din [B, H, W, Ci] (overwritten). dM is scratch of
 * wino_m_size per image, dV of wino_v_size per image (only with din). */
void wino_backward(const conv_shape *s, int m, const real *V, const real *U,
                   const real *dout, real *dU, real *dw, real *dbias,
                   real *dM, real *dV, real *din);

#endif
