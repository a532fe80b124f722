/* SPDX-License-Identifier: MIT */
/*
 * winograd.c — F(2x2, 3x3) convolutions; see winograd.h for the method and
 * the layouts. The transforms work on CW channels at a time, copied into
 * small local blocks, so that every arithmetic loop has a fixed length and
 * no aliasing: the compiler turns each into a few vector instructions.
 */
#include "internal.h"

#include <string.h>

#include "cpu.h"
#include "microgemm.h"
#include "winograd.h"

enum { CW = 16 }; /* channels per transform block */
/* Tiles per chunk (see chunk_rows). On a Zen 4 (digit-bench, basic, 1 and
 * 2 threads) 32 and 64 ran alike within the noise, 128 a little slower. */
enum { WINO_CHUNK = 64 };

int wino_fits(const conv_shape *s) {
    return s->K == 3 && s->stride == 1 && (s->pad == 0 || s->pad == 1) &&
           s->Ho == s->H + 2 * s->pad - 2 && s->Wo == s->W + 2 * s->pad - 2;
}

static int tiles_y(const conv_shape *s) { return (s->Ho + 1) / 2; }
static int tiles_x(const conv_shape *s) { return (s->Wo + 1) / 2; }

size_t wino_tiles(const conv_shape *s) { return (size_t)tiles_y(s) * tiles_x(s); }
/* Points of [16][T][C] arrays lie POINT_PAD reals further apart than T*C:
 * T*C is often a multiple of 4 KiB, and 16 streams that far apart would all
 * fall into the same few L1 sets. */
enum { POINT_PAD = 16 };

static size_t point_stride(size_t T, int C) { return T * (size_t)C + POINT_PAD; }

/* Per image, with the padding counted once per image: B images' sizes
 * then cover one batch's padded arrays. */
size_t wino_v_size(const conv_shape *s) { return WINO_POINTS * point_stride(wino_tiles(s), s->Ci); }
size_t wino_m_size(const conv_shape *s) { return WINO_POINTS * point_stride(wino_tiles(s), s->Co); }
/* U, then its transpose Ut [16][Co][Ci] for the input gradient's products
 * (so that all three are row-major products for microgemm.c). */
size_t wino_u_size(const conv_shape *s) { return 2 * (size_t)WINO_POINTS * s->Ci * s->Co; }

/* ---- the transforms of one block of CW channels ---- */

/* v = B^T d B. */
static inline void input_transform(real d[16][CW], real v[16][CW]) {
    real t[16][CW];
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < CW; c++) {
            t[0 + j][c] = d[0 + j][c] - d[8 + j][c];
            t[4 + j][c] = d[4 + j][c] + d[8 + j][c];
            t[8 + j][c] = d[8 + j][c] - d[4 + j][c];
            t[12 + j][c] = d[4 + j][c] - d[12 + j][c];
        }
    for (int i = 0; i < 16; i += 4)
        for (int c = 0; c < CW; c++) {
            v[i + 0][c] = t[i + 0][c] - t[i + 2][c];
            v[i + 1][c] = t[i + 1][c] + t[i + 2][c];
            v[i + 2][c] = t[i + 2][c] - t[i + 1][c];
            v[i + 3][c] = t[i + 1][c] - t[i + 3][c];
        }
}

/* y = A^T m A (2x2 from 4x4). */
static inline void output_transform(real m[16][CW], real y[4][CW]) {
    real t[8][CW];
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < CW; c++) {
            t[0 + j][c] = m[0 + j][c] + m[4 + j][c] + m[8 + j][c];
            t[4 + j][c] = m[4 + j][c] - m[8 + j][c] - m[12 + j][c];
        }
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < CW; c++) {
            y[2 * i + 0][c] = t[4 * i + 0][c] + t[4 * i + 1][c] + t[4 * i + 2][c];
            y[2 * i + 1][c] = t[4 * i + 1][c] - t[4 * i + 2][c] - t[4 * i + 3][c];
        }
}

/* dm = A dy A^T (4x4 from 2x2): the transpose of output_transform. */
static inline void output_transform_t(real dy[4][CW], real dm[16][CW]) {
    real t[8][CW]; /* [4 rows][2 columns] */
    for (int j = 0; j < 2; j++)
        for (int c = 0; c < CW; c++) {
            t[0 + j][c] = dy[0 + j][c];
            t[2 + j][c] = dy[0 + j][c] + dy[2 + j][c];
            t[4 + j][c] = dy[0 + j][c] - dy[2 + j][c];
            t[6 + j][c] = -dy[2 + j][c];
        }
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < CW; c++) {
            dm[4 * i + 0][c] = t[2 * i][c];
            dm[4 * i + 1][c] = t[2 * i][c] + t[2 * i + 1][c];
            dm[4 * i + 2][c] = t[2 * i][c] - t[2 * i + 1][c];
            dm[4 * i + 3][c] = -t[2 * i + 1][c];
        }
}

/* dd = B dv B^T: the transpose of input_transform. */
static inline void input_transform_t(real dv[16][CW], real dd[16][CW]) {
    real t[16][CW];
    for (int j = 0; j < 4; j++)
        for (int c = 0; c < CW; c++) {
            t[0 + j][c] = dv[0 + j][c];
            t[4 + j][c] = dv[4 + j][c] - dv[8 + j][c] + dv[12 + j][c];
            t[8 + j][c] = -dv[0 + j][c] + dv[4 + j][c] + dv[8 + j][c];
            t[12 + j][c] = -dv[12 + j][c];
        }
    for (int i = 0; i < 16; i += 4)
        for (int c = 0; c < CW; c++) {
            dd[i + 0][c] = t[i + 0][c];
            dd[i + 1][c] = t[i + 1][c] - t[i + 2][c] + t[i + 3][c];
            dd[i + 2][c] = -t[i + 0][c] + t[i + 1][c] + t[i + 2][c];
            dd[i + 3][c] = -t[i + 3][c];
        }
}

/* ---- kernels: U = G g G^T, dw = G^T dU G (per channel pair; small) ---- */

void wino_pack(const conv_shape *s, const real *w, real *U) {
    const size_t plane = (size_t)s->Ci * s->Co;
    real *Ut = U + WINO_POINTS * plane;
    for (int o = 0; o < s->Co; o++)
        for (int c = 0; c < s->Ci; c++) {
            const real *g = w + ((size_t)o * s->Ci + c) * 9;
            real t[4][3]; /* G g */
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = (g[j] + g[3 + j] + g[6 + j]) * (real)0.5;
                t[2][j] = (g[j] - g[3 + j] + g[6 + j]) * (real)0.5;
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                real u[4] = {t[i][0], (t[i][0] + t[i][1] + t[i][2]) * (real)0.5,
                             (t[i][0] - t[i][1] + t[i][2]) * (real)0.5, t[i][2]};
                for (int j = 0; j < 4; j++) {
                    U[(size_t)(4 * i + j) * plane + (size_t)c * s->Co + o] = u[j];
                    Ut[(size_t)(4 * i + j) * plane + (size_t)o * s->Ci + c] = u[j];
                }
            }
        }
}

static void unpack_grad(const conv_shape *s, const real *dU, real *dw) {
    const size_t plane = (size_t)s->Ci * s->Co;
    for (int o = 0; o < s->Co; o++)
        for (int c = 0; c < s->Ci; c++) {
            real d[16];
            for (int p = 0; p < 16; p++) d[p] = dU[(size_t)p * plane + (size_t)c * s->Co + o];
            real t[3][4]; /* G^T d */
            for (int j = 0; j < 4; j++) {
                t[0][j] = d[j] + (d[4 + j] + d[8 + j]) * (real)0.5;
                t[1][j] = (d[4 + j] - d[8 + j]) * (real)0.5;
                t[2][j] = (d[4 + j] + d[8 + j]) * (real)0.5 + d[12 + j];
            }
            real *g = dw + ((size_t)o * s->Ci + c) * 9;
            for (int i = 0; i < 3; i++) {
                g[3 * i + 0] = t[i][0] + (t[i][1] + t[i][2]) * (real)0.5;
                g[3 * i + 1] = (t[i][1] - t[i][2]) * (real)0.5;
                g[3 * i + 2] = (t[i][1] + t[i][2]) * (real)0.5 + t[i][3];
            }
        }
}

/* ---- walking the tiles ---- */

/* The tile's 4x4 input pixels (row-major), NULL where outside the image. */
static void tile_inputs(const conv_shape *s, const real *img, int ty, int tx,
                        const real *px[16]) {
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            int y = 2 * ty - s->pad + i, x = 2 * tx - s->pad + j;
            px[4 * i + j] = y >= 0 && y < s->H && x >= 0 && x < s->W
                                ? img + ((size_t)y * s->W + x) * s->Ci : NULL;
        }
}

/* The tile's 2x2 output pixels, NULL where past the output's edge. */
static void tile_outputs(const conv_shape *s, const real *img, int ty, int tx,
                         const real *px[4]) {
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            int y = 2 * ty + i, x = 2 * tx + j;
            px[2 * i + j] = y < s->Ho && x < s->Wo ? img + ((size_t)y * s->Wo + x) * s->Co : NULL;
        }
}

/* Whether all k_count pointers are set: a tile away from the edges. */
static inline int all_set(int k_count, const real *const *px) {
    int all = 1;
    for (int k = 0; k < k_count; k++) all &= px[k] != NULL;
    return all;
}

/* rows[k][0, CW) = src[k][c0, c0 + n), zero past n and for a NULL src.
 * `full`: every src is set and n == CW, the common case, which then runs
 * as k_count straight vector copies with no test between them (basic's
 * conv2 forward: 762-764 -> 743-754 us per 16 images on a Zen 4). */
static inline void load_block(int k_count, const real *const *src, int c0, int n, int full,
                              real rows[][CW]) {
    if (full) {
        for (int k = 0; k < k_count; k++) memcpy(rows[k], src[k] + c0, sizeof rows[k]);
        return;
    }
    for (int k = 0; k < k_count; k++) {
        if (!src[k]) {
            memset(rows[k], 0, sizeof rows[k]);
            continue;
        }
        if (n == CW) { /* the common case: a fixed-length copy */
            memcpy(rows[k], src[k] + c0, sizeof rows[k]);
            continue;
        }
        int c = 0;
        for (; c < n; c++) rows[k][c] = src[k][c0 + c];
        for (; c < CW; c++) rows[k][c] = 0;
    }
}

/* dst[k][c0, c0 + n) = rows[k][0, n). */
static inline void store_block(int k_count, real *const *dst, int c0, int n,
                               real rows[][CW]) {
    if (n == CW) {
        for (int k = 0; k < k_count; k++) memcpy(dst[k] + c0, rows[k], sizeof rows[k]);
        return;
    }
    for (int k = 0; k < k_count; k++) memcpy(dst[k] + c0, rows[k], sizeof(real) * (size_t)n);
}

/* A [16][rows][C] array holding tiles [t0, t0 + rows): all of a pass's
 * tiles (V) or one chunk of them (M, dM, dV). */
typedef struct {
    real *base;
    size_t rows, t0;
    int C;
} points;

/* Point p of tile t. */
static inline real *point_at(points a, int p, size_t t) {
    return a.base + (size_t)p * point_stride(a.rows, a.C) + (t - a.t0) * (size_t)a.C;
}

/* The image of tile t and the tile's row and column in it. */
static inline const real *tile_image(const conv_shape *s, const real *base, size_t per_image,
                                     size_t t, int *ty, int *tx) {
    const int tw = tiles_x(s);
    const size_t per = wino_tiles(s);
    *ty = (int)(t % per / (size_t)tw), *tx = (int)(t % (size_t)tw);
    return base + t / per * per_image;
}

DIGIT_HOT static void transform_inputs(const conv_shape *s, const real *in, points V,
                                       size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, in, (size_t)s->H * s->W * s->Ci, t, &ty, &tx);
        const real *px[16];
        tile_inputs(s, img, ty, tx, px);
        real *vp[16];
        for (int p = 0; p < 16; p++) vp[p] = point_at(V, p, t);
        const int inside = all_set(16, px);
        for (int c0 = 0; c0 < s->Ci; c0 += CW) {
            const int n = s->Ci - c0 < CW ? s->Ci - c0 : CW;
            real d[16][CW], v[16][CW];
            load_block(16, px, c0, n, inside && n == CW, d);
            input_transform(d, v);
            store_block(16, vp, c0, n, v);
        }
    }
}

DIGIT_HOT static void transform_outputs(const conv_shape *s, points M, const real *bias,
                                        real *out, size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, out, (size_t)s->Ho * s->Wo * s->Co, t, &ty, &tx);
        const real *px[4];
        tile_outputs(s, img, ty, tx, px);
        const real *mp[16];
        for (int p = 0; p < 16; p++) mp[p] = point_at(M, p, t);
        for (int c0 = 0; c0 < s->Co; c0 += CW) {
            const int n = s->Co - c0 < CW ? s->Co - c0 : CW;
            real m[16][CW], y[4][CW];
            load_block(16, mp, c0, n, n == CW, m);
            output_transform(m, y);
            for (int k = 0; k < 4; k++) {
                if (!px[k]) continue;
                real *dst = (real *)px[k] + c0;
                if (bias)
                    for (int c = 0; c < n; c++) dst[c] = y[k][c] + bias[c0 + c];
                else
                    for (int c = 0; c < n; c++) dst[c] = y[k][c];
            }
        }
    }
}

/* dM = A dY A^T per tile: the output gradient in the transformed domain. */
DIGIT_HOT static void transform_output_grads(const conv_shape *s, const real *dout, points dM,
                                             size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, dout, (size_t)s->Ho * s->Wo * s->Co, t, &ty, &tx);
        const real *px[4];
        tile_outputs(s, img, ty, tx, px);
        real *mp[16];
        for (int p = 0; p < 16; p++) mp[p] = point_at(dM, p, t);
        const int inside = all_set(4, px);
        for (int c0 = 0; c0 < s->Co; c0 += CW) {
            const int n = s->Co - c0 < CW ? s->Co - c0 : CW;
            real dy[4][CW], dm[16][CW];
            load_block(4, px, c0, n, inside && n == CW, dy);
            output_transform_t(dy, dm);
            store_block(16, mp, c0, n, dm);
        }
    }
}

/* din += B dV B^T per tile, each added to its 4x4 input pixels. */
DIGIT_HOT static void scatter_input_grads(const conv_shape *s, points dV, real *din, size_t t0,
                                          size_t t1) {
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, din, (size_t)s->H * s->W * s->Ci, t, &ty, &tx);
        const real *px[16];
        tile_inputs(s, img, ty, tx, px);
        const real *vp[16];
        for (int p = 0; p < 16; p++) vp[p] = point_at(dV, p, t);
        for (int c0 = 0; c0 < s->Ci; c0 += CW) {
            const int n = s->Ci - c0 < CW ? s->Ci - c0 : CW;
            real dv[16][CW], dd[16][CW];
            load_block(16, vp, c0, n, n == CW, dv);
            input_transform_t(dv, dd);
            for (int k = 0; k < 16; k++) {
                if (!px[k]) continue;
                real *dst = (real *)px[k] + c0;
                for (int c = 0; c < n; c++) dst[c] += dd[k][c];
            }
        }
    }
}

/* ---- the passes ---- */

/* C (+)= A x B for one point's product, A row-major or (ta) transposed. */
static void product(int ta, int M, int N, int K, const real *A, const real *B, real *C,
                    int add) {
    if (mgemm_wins(N)) mgemm(M, N, K, A, ta ? 1 : K, ta ? M : 1, B, N, C, N, add);
    else gemm(ta, 0, M, N, K, A, B, C, add);
}

/* The tiles go through in chunks of WINO_CHUNK, each through the
 * transforms and the 16 products before the next: a chunk's M, dM and dV
 * (and V's share) stay in the core's L2 cache, where a whole micro-batch's
 * (3 MB for basic's conv2) would go out to memory between the steps. */
static size_t chunk_rows(size_t T) { return T < WINO_CHUNK ? T : WINO_CHUNK; }
/* One past the last tile of the chunk from t0. */
static size_t chunk_end(size_t T, size_t t0) { return T - t0 < WINO_CHUNK ? T : t0 + WINO_CHUNK; }

/* Tiles [t0, t1): transformed, multiplied and transformed back. */
static void forward_chunk(const conv_shape *s, const real *in, const real *U, const real *bias,
                          points v, points m, real *out, size_t t0, size_t t1) {
    transform_inputs(s, in, v, t0, t1);
    for (int p = 0; p < 16; p++)
        product(0, (int)(t1 - t0), s->Co, s->Ci, point_at(v, p, t0),
                U + (size_t)p * s->Ci * s->Co, point_at(m, p, t0), 0);
    transform_outputs(s, m, bias, out, t0, t1);
}

DIGIT_HOT void wino_forward(const conv_shape *s, const real *in, const real *U,
                            const real *bias, real *V, real *M, real *out) {
    const size_t T = (size_t)s->B * wino_tiles(s);
    const points v = {V, T, 0, s->Ci};
    for (size_t t0 = 0; t0 < T; t0 += WINO_CHUNK)
        forward_chunk(s, in, U, bias, v, (points){M, chunk_rows(T), t0, s->Co}, out, t0,
                      chunk_end(T, t0));
}

/* Part `part` of `parts` of a forward pass: its share of the tiles, in
 * chunks, with M laid out over all the pass's tiles so that the parts
 * write disjoint rows of it. Each output element is the same sum as in
 * wino_forward: the parts split the rows of each product, not its sums. */
DIGIT_HOT void wino_forward_part(const conv_shape *s, const real *in, const real *U,
                                 const real *bias, real *V, real *M, real *out, int part,
                                 int parts) {
    const size_t T = (size_t)s->B * wino_tiles(s);
    const size_t lo = T * (size_t)part / (size_t)parts, hi = T * (size_t)(part + 1) / (size_t)parts;
    const points v = {V, T, 0, s->Ci}, m = {M, T, 0, s->Co};
    for (size_t t0 = lo; t0 < hi; t0 += WINO_CHUNK)
        forward_chunk(s, in, U, bias, v, m, out, t0, chunk_end(hi, t0));
}

DIGIT_HOT void wino_backward(const conv_shape *s, const real *V, const real *U,
                             const real *dout, real *dU, real *dw, real *dbias,
                             real *dM, real *dV, real *din) {
    const size_t T = (size_t)s->B * wino_tiles(s);
    const size_t rows = (size_t)s->B * s->Ho * s->Wo, plane = (size_t)s->Ci * s->Co;
    if (dbias) {
        for (int c = 0; c < s->Co; c++) dbias[c] = 0;
        for (size_t r = 0; r < rows; r++)
            for (int c = 0; c < s->Co; c++) dbias[c] += dout[r * s->Co + c];
    }
    if (din) memset(din, 0, sizeof(real) * (size_t)s->B * s->H * s->W * s->Ci);
    /* Ut [16][Co][Ci]: dV = dM U^T as a row-major product. */
    const real *Ut = U + (size_t)WINO_POINTS * plane;
    for (size_t t0 = 0; t0 < T; t0 += WINO_CHUNK) {
        const size_t t1 = chunk_end(T, t0);
        const int n = (int)(t1 - t0);
        const points v = {(real *)V, T, 0, s->Ci}, dm = {dM, chunk_rows(T), t0, s->Co};
        const points dv = {dV, chunk_rows(T), t0, s->Ci};
        transform_output_grads(s, dout, dm, t0, t1);
        for (int p = 0; p < 16; p++) /* dU = V^T dM, summed over the chunks */
            product(1, s->Ci, s->Co, n, point_at(v, p, t0), point_at(dm, p, t0),
                    dU + (size_t)p * plane, t0 > 0);
        if (!din) continue;
        for (int p = 0; p < 16; p++)
            product(0, n, s->Ci, s->Co, point_at(dm, p, t0), Ut + (size_t)p * plane,
                    point_at(dv, p, t0), 0);
        scatter_input_grads(s, dv, din, t0, t1);
    }
    unpack_grad(s, dU, dw);
}
