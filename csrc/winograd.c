/* SPDX-License-Identifier: MIT */
/*
 * winograd.c — F(2x2, 3x3) and F(4x4, 3x3) convolutions; see winograd.h
 * for the method and the layouts. A tile has m x m outputs (m = 2 or 4),
 * n x n inputs (n = m + 2) and P = n * n points. The transforms work on
 * vectors of CW channels, each transform unrolled for its tile size.
 */
#include "internal.h"

#include <string.h>

#include "cpu.h"
#include "microgemm.h"
#include "winograd.h"

enum { CW = 16 }; /* channels per transform block */
enum { MAX_N = 6, MAX_P = 36 }; /* F(4x4, 3x3) */
typedef real row[CW];           /* one point (or pixel) of a block */
/* Tiles per chunk (see chunk_of). */
enum { WINO_CHUNK2 = 64, WINO_CHUNK4 = 32 };

int wino_fits(const conv_shape *s) {
    return s->K == 3 && s->stride == 1 && (s->pad == 0 || s->pad == 1) &&
           s->Ho == s->H + 2 * s->pad - 2 && s->Wo == s->W + 2 * s->pad - 2;
}

static int side_in(int m) { return m + 2; }
int wino_points(int m) { return side_in(m) * side_in(m); }

static int tiles_y(const conv_shape *s, int m) { return (s->Ho + m - 1) / m; }
static int tiles_x(const conv_shape *s, int m) { return (s->Wo + m - 1) / m; }

size_t wino_tiles(const conv_shape *s, int m) { return (size_t)tiles_y(s, m) * tiles_x(s, m); }

/* Measured on a Zen 4 (digit-bench --layers, 16 images, forward +
 * backward, both tiles beside a test run): basic's conv2 (576 products
 * against 784) 1946 against 2382 us, compact's (324 against 400) 354
 * against 410. F(4x4)'s transforms cost more per product, so near a tie
 * F(2x2) keeps the shape. */
int wino_choose_tile(const conv_shape *s) {
    const size_t p2 = (size_t)wino_points(2) * wino_tiles(s, 2);
    const size_t p4 = (size_t)wino_points(4) * wino_tiles(s, 4);
    return 10 * p4 <= 9 * p2 ? 4 : 2;
}

/* Points of [P][T][C] arrays lie POINT_PAD reals further apart than T*C:
 * T*C is often a multiple of 4 KiB, and P streams that far apart would all
 * fall into the same few L1 sets. */
enum { POINT_PAD = 16 };

static size_t point_stride(size_t T, int C) { return T * (size_t)C + POINT_PAD; }

/* Per image, with the padding counted once per image: B images' sizes
 * then cover one batch's padded arrays. */
size_t wino_v_size(const conv_shape *s, int m) {
    return (size_t)wino_points(m) * point_stride(wino_tiles(s, m), s->Ci);
}
size_t wino_m_size(const conv_shape *s, int m) {
    return (size_t)wino_points(m) * point_stride(wino_tiles(s, m), s->Co);
}
/* U, then its transpose Ut [P][Co][Ci] for the input gradient's products
 * (so that all three are row-major products for microgemm.c). */
size_t wino_u_size(const conv_shape *s, int m) {
    return 2 * (size_t)wino_points(m) * s->Ci * s->Co;
}

/* ---- the tile transforms, CW channels at a time ----
 * Each 2-D transform is a 1-D transform down the columns, then along the
 * rows, on vectors of CW channels (a GCC/clang vector type: each clone of
 * DIGIT_HOT compiles it at its own width, with the same arithmetic). The
 * 1-D transforms read x[0, ni) and write y[0, no). */

typedef real vec __attribute__((vector_size(sizeof(real) * CW)));
#define INLINE static inline __attribute__((always_inline))

/* Loads and stores as fixed-size copies (one vector instruction each);
 * macros rather than functions, since clang refuses a vector wider than
 * the default target's as a value crossing a call, inlined or not. */
#define VLOAD(v, p) memcpy(&(v), (p), sizeof(vec))
#define VSTORE(p, v) memcpy((p), &(v), sizeof(vec))

/* F(2x2): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 * A^T = [1 1 1 0; 0 1 -1 -1]. */
INLINE void bt4(const vec *x, vec *y) {
    y[0] = x[0] - x[2], y[1] = x[1] + x[2], y[2] = x[2] - x[1], y[3] = x[1] - x[3];
}
INLINE void b4(const vec *x, vec *y) { /* the transpose of bt4 */
    y[0] = x[0], y[1] = x[1] - x[2] + x[3], y[2] = -x[0] + x[1] + x[2], y[3] = -x[3];
}
INLINE void at4(const vec *x, vec *y) { y[0] = x[0] + x[1] + x[2], y[1] = x[1] - x[2] - x[3]; }
INLINE void a2(const vec *x, vec *y) { /* the transpose of at4 */
    y[0] = x[0], y[1] = x[0] + x[1], y[2] = x[0] - x[1], y[3] = -x[1];
}

/* F(4x4), Lavin and Gray's points 0, 1, -1, 2, -2 and infinity:
 * B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
 *        0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 * A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]. */
INLINE void bt6(const vec *x, vec *y) {
    const vec a = x[4] - x[2], b = x[3] - x[1];
    y[0] = (real)4 * x[0] - (real)5 * x[2] + x[4];
    y[1] = (x[3] + x[4]) - (real)4 * (x[1] + x[2]);
    y[2] = (x[4] - x[3]) + (real)4 * (x[1] - x[2]);
    y[3] = a + (real)2 * b;
    y[4] = a - (real)2 * b;
    y[5] = (real)4 * x[1] - (real)5 * x[3] + x[5];
}
INLINE void b6(const vec *x, vec *y) { /* the transpose of bt6 */
    y[0] = (real)4 * x[0];
    y[1] = (real)4 * (x[2] - x[1]) + (real)2 * (x[4] - x[3]) + (real)4 * x[5];
    y[2] = (real)-5 * x[0] - (real)4 * (x[1] + x[2]) - (x[3] + x[4]);
    y[3] = (x[1] - x[2]) + (real)2 * (x[3] - x[4]) - (real)5 * x[5];
    y[4] = x[0] + x[1] + x[2] + x[3] + x[4];
    y[5] = x[5];
}
INLINE void at6(const vec *x, vec *y) {
    const vec a = x[1] + x[2], b = x[1] - x[2], d = x[3] + x[4], e = x[3] - x[4];
    y[0] = x[0] + a + d;
    y[1] = b + (real)2 * e;
    y[2] = a + (real)4 * d;
    y[3] = b + (real)8 * e + x[5];
}
INLINE void a4(const vec *x, vec *y) { /* the transpose of at6 */
    const vec a = x[0] + x[2], b = x[1] + x[3], d = x[0] + (real)4 * x[2],
              e = (real)2 * x[1] + (real)8 * x[3];
    y[0] = x[0], y[1] = a + b, y[2] = a - b, y[3] = d + e, y[4] = d - e, y[5] = x[3];
}

/* The 1-D transforms of tile side m: inputs (n from n), their transpose,
 * outputs (m from n) and their transpose (n from m). */
INLINE void t_in(int m, const vec *x, vec *y) { m == 4 ? bt6(x, y) : bt4(x, y); }
INLINE void t_in_t(int m, const vec *x, vec *y) { m == 4 ? b6(x, y) : b4(x, y); }
INLINE void t_out(int m, const vec *x, vec *y) { m == 4 ? at6(x, y) : at4(x, y); }
INLINE void t_out_t(int m, const vec *x, vec *y) { m == 4 ? a4(x, y) : a2(x, y); }

/* A 2-D transform of an ni x ni block into an no x no block by the 1-D
 * transform `f`: block element k at in[k] + off, written to y[k]. */
#define TRANSFORM_2D(f, m, ni, no, in, off, y)                                  \
    do {                                                                        \
        vec t_[MAX_P];                                                          \
        for (int j_ = 0; j_ < (ni); j_++) {                                     \
            vec x_[MAX_N], c_[MAX_N];                                           \
            for (int i_ = 0; i_ < (ni); i_++) VLOAD(x_[i_], (in)[(ni) * i_ + j_] + (off)); \
            f(m, x_, c_);                                                       \
            for (int i_ = 0; i_ < (no); i_++) t_[(ni) * i_ + j_] = c_[i_];      \
        }                                                                       \
        for (int i_ = 0; i_ < (no); i_++) f(m, t_ + (ni) * i_, (y) + (no) * i_); \
    } while (0)

/* v = B^T d B; y = A^T m A; dm = A dy A^T; dd = B dv B^T. */
INLINE void input_transform(int m, const real *const *d, size_t off, vec *v) {
    TRANSFORM_2D(t_in, m, side_in(m), side_in(m), d, off, v);
}
INLINE void output_transform(int m, const real *const *mm, size_t off, vec *y) {
    TRANSFORM_2D(t_out, m, side_in(m), m, mm, off, y);
}
INLINE void output_transform_t(int m, const real *const *dy, size_t off, vec *dm) {
    TRANSFORM_2D(t_out_t, m, m, side_in(m), dy, off, dm);
}
INLINE void input_transform_t(int m, const real *const *dv, size_t off, vec *dd) {
    TRANSFORM_2D(t_in_t, m, side_in(m), side_in(m), dv, off, dd);
}

/* ---- kernels: U = G g G^T, dw = G^T dU G, CW output channels at a time
 * (U and dU hold them side by side) ---- */

/* G x (n from 3), x[k] = in[k * is]. F(2x2): G = [1 0 0; 1/2 1/2 1/2;
 * 1/2 -1/2 1/2; 0 0 1]. F(4x4): G = [1/4 0 0; -1/6 -1/6 -1/6;
 * -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1], with the sixths
 * and their halves as products by their reciprocals (done one channel pair
 * at a time and by division, unpack_grad took 4.3% of basic's training
 * profile; 1.2% now). */
static const real SIXTH = (real)(1.0 / 6), TWELFTH = (real)(1.0 / 12),
                  TWENTYFOURTH = (real)(1.0 / 24);

static inline void g_1d(int m, const row *in, int is, row *out, int os) {
    for (int c = 0; c < CW; c++) {
        const real x0 = in[0][c], x1 = in[is][c], x2 = in[2 * is][c];
        if (m == 2) {
            out[0][c] = x0;
            out[os][c] = (x0 + x1 + x2) * (real)0.5;
            out[2 * os][c] = (x0 - x1 + x2) * (real)0.5;
            out[3 * os][c] = x2;
            continue;
        }
        out[0][c] = x0 * (real)0.25;
        out[os][c] = -(x0 + x1 + x2) * SIXTH;
        out[2 * os][c] = -(x0 - x1 + x2) * SIXTH;
        out[3 * os][c] = x0 * TWENTYFOURTH + x1 * TWELFTH + x2 * SIXTH;
        out[4 * os][c] = x0 * TWENTYFOURTH - x1 * TWELFTH + x2 * SIXTH;
        out[5 * os][c] = x2;
    }
}

/* G^T x (3 from n): the transpose of g_1d. */
static inline void gt_1d(int m, const row *in, int is, row *out, int os) {
    for (int c = 0; c < CW; c++) {
        const real x0 = in[0][c], x1 = in[is][c], x2 = in[2 * is][c], x3 = in[3 * is][c];
        if (m == 2) {
            out[0][c] = x0 + (x1 + x2) * (real)0.5;
            out[os][c] = (x1 - x2) * (real)0.5;
            out[2 * os][c] = (x1 + x2) * (real)0.5 + x3;
            continue;
        }
        const real x4 = in[4 * is][c], x5 = in[5 * is][c];
        out[0][c] = x0 * (real)0.25 - (x1 + x2) * SIXTH + (x3 + x4) * TWENTYFOURTH;
        out[os][c] = (x2 - x1) * SIXTH + (x3 - x4) * TWELFTH;
        out[2 * os][c] = (x3 + x4 - x1 - x2) * SIXTH + x5;
    }
}

DIGIT_HOT void wino_pack(const conv_shape *s, int m, const real *w, real *U) {
    const int n = side_in(m), P = wino_points(m);
    const size_t plane = (size_t)s->Ci * s->Co;
    for (int c = 0; c < s->Ci; c++)
        for (int o0 = 0; o0 < s->Co; o0 += CW) {
            const int no = s->Co - o0 < CW ? s->Co - o0 : CW;
            row g[9] = {{0}}, t[3 * MAX_N], u[MAX_P]; /* t = G g, u = t G^T */
            for (int o = 0; o < no; o++)
                for (int k = 0; k < 9; k++) g[k][o] = w[((size_t)(o0 + o) * s->Ci + c) * 9 + k];
            for (int j = 0; j < 3; j++) g_1d(m, g + j, 3, t + j, 3);
            for (int i = 0; i < n; i++) g_1d(m, t + 3 * i, 1, u + n * i, 1);
            for (int p = 0; p < P; p++)
                memcpy(U + (size_t)p * plane + (size_t)c * s->Co + o0, u[p],
                       sizeof(real) * (size_t)no);
        }
    real *Ut = U + (size_t)P * plane;
    for (int p = 0; p < P; p++)
        for (int o = 0; o < s->Co; o++)
            for (int c = 0; c < s->Ci; c++)
                Ut[(size_t)p * plane + (size_t)o * s->Ci + c] =
                    U[(size_t)p * plane + (size_t)c * s->Co + o];
}

DIGIT_HOT static void unpack_grad(const conv_shape *s, int m, const real *dU, real *dw) {
    const int n = side_in(m), P = wino_points(m);
    const size_t plane = (size_t)s->Ci * s->Co;
    for (int c = 0; c < s->Ci; c++)
        for (int o0 = 0; o0 < s->Co; o0 += CW) {
            const int no = s->Co - o0 < CW ? s->Co - o0 : CW;
            row d[MAX_P], t[3 * MAX_N], g[9]; /* t = G^T d, g = t G */
            for (int p = 0; p < P; p++) {
                memcpy(d[p], dU + (size_t)p * plane + (size_t)c * s->Co + o0,
                       sizeof(real) * (size_t)no);
                for (int o = no; o < CW; o++) d[p][o] = 0;
            }
            for (int j = 0; j < n; j++) gt_1d(m, d + j, n, t + j, n);
            for (int i = 0; i < 3; i++) gt_1d(m, t + n * i, 1, g + 3 * i, 1);
            for (int o = 0; o < no; o++)
                for (int k = 0; k < 9; k++) dw[((size_t)(o0 + o) * s->Ci + c) * 9 + k] = g[k][o];
        }
}

/* ---- walking the tiles ---- */

/* The tile's n x n input pixels (row-major), NULL where outside the image. */
static void tile_inputs(const conv_shape *s, int m, const real *img, int ty, int tx,
                        const real *px[MAX_P]) {
    const int n = side_in(m);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int y = m * ty - s->pad + i, x = m * tx - s->pad + j;
            px[n * i + j] = y >= 0 && y < s->H && x >= 0 && x < s->W
                                ? img + ((size_t)y * s->W + x) * s->Ci : NULL;
        }
}

/* The tile's m x m output pixels, NULL where past the output's edge. */
static void tile_outputs(const conv_shape *s, int m, const real *img, int ty, int tx,
                         const real *px[16]) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            int y = m * ty + i, x = m * tx + j;
            px[m * i + j] = y < s->Ho && x < s->Wo ? img + ((size_t)y * s->Wo + x) * s->Co : NULL;
        }
}

/* Whether all k_count pointers are set: a tile away from the edges. */
static inline int all_set(int k_count, const real *const *px) {
    int all = 1;
    for (int k = 0; k < k_count; k++) all &= px[k] != NULL;
    return all;
}

/* rows[k][0, CW) = src[k][c0, c0 + n), zero past n and for a NULL src. */
static inline void load_block(int k_count, const real *const *src, int c0, int n, row *rows) {
    for (int k = 0; k < k_count; k++) {
        if (!src[k]) {
            memset(rows[k], 0, sizeof rows[k]);
            continue;
        }
        if (n == CW) { /* a fixed-length copy */
            memcpy(rows[k], src[k] + c0, sizeof rows[k]);
            continue;
        }
        int c = 0;
        for (; c < n; c++) rows[k][c] = src[k][c0 + c];
        for (; c < CW; c++) rows[k][c] = 0;
    }
}

/* dst[k][c0, c0 + n) = rows[k][0, n). */
static inline void store_block(int k_count, real *const *dst, int c0, int n, row *rows) {
    if (n == CW) {
        for (int k = 0; k < k_count; k++) memcpy(dst[k] + c0, rows[k], sizeof rows[k]);
        return;
    }
    for (int k = 0; k < k_count; k++) memcpy(dst[k] + c0, rows[k], sizeof(real) * (size_t)n);
}

/* A [P][rows][C] array holding tiles [t0, t0 + rows): all of a pass's
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
static inline const real *tile_image(const conv_shape *s, int m, const real *base,
                                     size_t per_image, size_t t, int *ty, int *tx) {
    const int tw = tiles_x(s, m);
    const size_t per = wino_tiles(s, m);
    *ty = (int)(t % per / (size_t)tw), *tx = (int)(t % (size_t)tw);
    return base + t / per * per_image;
}

/* Pointers to a block's local rows, for the transforms' partial blocks. */
static void rows_of(row *rows, int k_count, const real **px) {
    for (int k = 0; k < k_count; k++) px[k] = rows[k];
}

/* The blocks of a tile: a full block of channels (n == CW) of a tile
 * inside the image goes straight from memory to memory; any other through
 * local rows, zero-padded (load_block) and stored in part (store_block).
 * What a transform reads: src at c0 when `direct`, else the local rows
 * (local_p pointing at `local`), filled from src; *off is the offset. */
static inline const real *const *block_source(int k_count, const real *const *src, int c0,
                                              int n, int direct, row *local,
                                              const real *const *local_p, size_t *off) {
    if (direct) {
        *off = (size_t)c0;
        return src;
    }
    load_block(k_count, src, c0, n, local);
    *off = 0;
    return local_p;
}

/* f(m, ...) with m a constant, so that each tile size gets its own
 * unrolled copy of the transform. */
#define BY_TILE(f, m, ...) ((m) == 4 ? f(4, __VA_ARGS__) : f(2, __VA_ARGS__))

DIGIT_HOT static void transform_inputs(const conv_shape *s, int m, const real *in, points V,
                                       size_t t0, size_t t1) {
    const int P = wino_points(m);
    row d[MAX_P];
    const real *dp[MAX_P];
    rows_of(d, P, dp);
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, m, in, (size_t)s->H * s->W * s->Ci, t, &ty, &tx);
        const real *px[MAX_P];
        tile_inputs(s, m, img, ty, tx, px);
        real *vp[MAX_P];
        for (int p = 0; p < P; p++) vp[p] = point_at(V, p, t);
        const int inside = all_set(P, px);
        for (int c0 = 0; c0 < s->Ci; c0 += CW) {
            const int n = s->Ci - c0 < CW ? s->Ci - c0 : CW;
            vec v[MAX_P];
            size_t off;
            const real *const *src = block_source(P, px, c0, n, inside && n == CW, d, dp, &off);
            BY_TILE(input_transform, m, src, off, v);
            store_block(P, vp, c0, n, (row *)v);
        }
    }
}

DIGIT_HOT static void transform_outputs(const conv_shape *s, int m, points M, const real *bias,
                                        real *out, size_t t0, size_t t1) {
    const int P = wino_points(m);
    row mm[MAX_P];
    const real *mmp[MAX_P];
    rows_of(mm, P, mmp);
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, m, out, (size_t)s->Ho * s->Wo * s->Co, t, &ty, &tx);
        const real *px[16];
        tile_outputs(s, m, img, ty, tx, px);
        const real *mp[MAX_P];
        for (int p = 0; p < P; p++) mp[p] = point_at(M, p, t);
        for (int c0 = 0; c0 < s->Co; c0 += CW) {
            const int n = s->Co - c0 < CW ? s->Co - c0 : CW;
            vec y[16];
            size_t off;
            const real *const *src = block_source(P, mp, c0, n, n == CW, mm, mmp, &off);
            BY_TILE(output_transform, m, src, off, y);
            for (int k = 0; k < m * m; k++) {
                if (!px[k]) continue;
                real *dst = (real *)px[k] + c0;
                if (n == CW) {
                    if (bias) {
                        vec b;
                        VLOAD(b, bias + c0);
                        y[k] += b;
                    }
                    VSTORE(dst, y[k]);
                    continue;
                }
                const real *yk = (const real *)&y[k];
                if (bias)
                    for (int c = 0; c < n; c++) dst[c] = yk[c] + bias[c0 + c];
                else
                    for (int c = 0; c < n; c++) dst[c] = yk[c];
            }
        }
    }
}

/* dM = A dY A^T per tile: the output gradient in the transformed domain. */
DIGIT_HOT static void transform_output_grads(const conv_shape *s, int m, const real *dout,
                                             points dM, size_t t0, size_t t1) {
    const int P = wino_points(m);
    row dy[16];
    const real *dyp[16];
    rows_of(dy, m * m, dyp);
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, m, dout, (size_t)s->Ho * s->Wo * s->Co, t, &ty, &tx);
        const real *px[16];
        tile_outputs(s, m, img, ty, tx, px);
        real *mp[MAX_P];
        for (int p = 0; p < P; p++) mp[p] = point_at(dM, p, t);
        const int inside = all_set(m * m, px);
        for (int c0 = 0; c0 < s->Co; c0 += CW) {
            const int n = s->Co - c0 < CW ? s->Co - c0 : CW;
            vec dm[MAX_P];
            size_t off;
            const real *const *src =
                block_source(m * m, px, c0, n, inside && n == CW, dy, dyp, &off);
            BY_TILE(output_transform_t, m, src, off, dm);
            store_block(P, mp, c0, n, (row *)dm);
        }
    }
}

/* din += B dV B^T per tile, each added to its n x n input pixels. */
DIGIT_HOT static void scatter_input_grads(const conv_shape *s, int m, points dV, real *din,
                                          size_t t0, size_t t1) {
    const int P = wino_points(m);
    row dv[MAX_P];
    const real *dvp[MAX_P];
    rows_of(dv, P, dvp);
    for (size_t t = t0; t < t1; t++) {
        int ty, tx;
        const real *img = tile_image(s, m, din, (size_t)s->H * s->W * s->Ci, t, &ty, &tx);
        const real *px[MAX_P];
        tile_inputs(s, m, img, ty, tx, px);
        const real *vp[MAX_P];
        for (int p = 0; p < P; p++) vp[p] = point_at(dV, p, t);
        for (int c0 = 0; c0 < s->Ci; c0 += CW) {
            const int n = s->Ci - c0 < CW ? s->Ci - c0 : CW;
            vec dd[MAX_P];
            size_t off;
            const real *const *src = block_source(P, vp, c0, n, n == CW, dv, dvp, &off);
            BY_TILE(input_transform_t, m, src, off, dd);
            for (int k = 0; k < P; k++) {
                if (!px[k]) continue;
                real *dst = (real *)px[k] + c0;
                if (n == CW) {
                    vec d;
                    VLOAD(d, dst);
                    d += dd[k];
                    VSTORE(dst, d);
                    continue;
                }
                const real *ddk = (const real *)&dd[k];
                for (int c = 0; c < n; c++) dst[c] += ddk[c];
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

/* The tiles go through in chunks, each through the transforms and the P
 * products before the next: a chunk's M, dM and dV (and V's share) stay
 * in the core's L2 cache, where a whole micro-batch's (2.4 to 3 MB of M
 * for basic's conv2) would go out to memory between the steps. On a Zen 4
 * (digit-bench, basic) F(2x2)'s chunks of 32 and 64 ran alike within the
 * noise, 128 a little slower; F(4x4)'s of 16, 32 and 64 alike. */
static size_t chunk_of(int m) { return m == 4 ? WINO_CHUNK4 : WINO_CHUNK2; }
static size_t chunk_rows(size_t T, int m) { return T < chunk_of(m) ? T : chunk_of(m); }
/* One past the last tile of the chunk from t0. */
static size_t chunk_end(size_t T, size_t t0, int m) {
    return T - t0 < chunk_of(m) ? T : t0 + chunk_of(m);
}

/* Tiles [t0, t1): transformed, multiplied and transformed back. */
static void forward_chunk(const conv_shape *s, int m, const real *in, const real *U,
                          const real *bias, points v, points mm, real *out, size_t t0,
                          size_t t1) {
    transform_inputs(s, m, in, v, t0, t1);
    for (int p = 0; p < wino_points(m); p++)
        product(0, (int)(t1 - t0), s->Co, s->Ci, point_at(v, p, t0),
                U + (size_t)p * s->Ci * s->Co, point_at(mm, p, t0), 0);
    transform_outputs(s, m, mm, bias, out, t0, t1);
}

DIGIT_HOT void wino_forward(const conv_shape *s, int m, const real *in, const real *U,
                            const real *bias, real *V, real *M, real *out) {
    const size_t T = (size_t)s->B * wino_tiles(s, m);
    const points v = {V, T, 0, s->Ci};
    for (size_t t0 = 0; t0 < T; t0 += chunk_of(m))
        forward_chunk(s, m, in, U, bias, v, (points){M, chunk_rows(T, m), t0, s->Co}, out, t0,
                      chunk_end(T, t0, m));
}

/* Part `part` of `parts` of a forward pass: its share of the tiles, in
 * chunks, with M laid out over all the pass's tiles so that the parts
 * write disjoint rows of it. Each output element is the same sum as in
 * wino_forward: the parts split the rows of each product, not its sums. */
DIGIT_HOT void wino_forward_part(const conv_shape *s, int m, const real *in, const real *U,
                                 const real *bias, real *V, real *M, real *out, int part,
                                 int parts) {
    const size_t T = (size_t)s->B * wino_tiles(s, m);
    const size_t lo = T * (size_t)part / (size_t)parts, hi = T * (size_t)(part + 1) / (size_t)parts;
    const points v = {V, T, 0, s->Ci}, mm = {M, T, 0, s->Co};
    for (size_t t0 = lo; t0 < hi; t0 += chunk_of(m))
        forward_chunk(s, m, in, U, bias, v, mm, out, t0, chunk_end(hi, t0, m));
}

DIGIT_HOT void wino_backward(const conv_shape *s, int m, const real *V, const real *U,
                             const real *dout, real *dU, real *dw, real *dbias,
                             real *dM, real *dV, real *din) {
    const int P = wino_points(m);
    const size_t T = (size_t)s->B * wino_tiles(s, m);
    const size_t rows = (size_t)s->B * s->Ho * s->Wo, plane = (size_t)s->Ci * s->Co;
    if (dbias) {
        for (int c = 0; c < s->Co; c++) dbias[c] = 0;
        for (size_t r = 0; r < rows; r++)
            for (int c = 0; c < s->Co; c++) dbias[c] += dout[r * s->Co + c];
    }
    if (din) memset(din, 0, sizeof(real) * (size_t)s->B * s->H * s->W * s->Ci);
    /* Ut [P][Co][Ci]: dV = dM U^T as a row-major product. */
    const real *Ut = U + (size_t)P * plane;
    for (size_t t0 = 0; t0 < T; t0 += chunk_of(m)) {
        const size_t t1 = chunk_end(T, t0, m);
        const int n = (int)(t1 - t0);
        const points v = {(real *)V, T, 0, s->Ci}, dm = {dM, chunk_rows(T, m), t0, s->Co};
        const points dv = {dV, chunk_rows(T, m), t0, s->Ci};
        transform_output_grads(s, m, dout, dm, t0, t1);
        for (int p = 0; p < P; p++) /* dU = V^T dM, summed over the chunks */
            product(1, s->Ci, s->Co, n, point_at(v, p, t0), point_at(dm, p, t0),
                    dU + (size_t)p * plane, t0 > 0);
        if (!din) continue;
        for (int p = 0; p < P; p++)
            product(0, n, s->Ci, s->Co, point_at(dm, p, t0), Ut + (size_t)p * plane,
                    point_at(dv, p, t0), 0);
        scatter_input_grads(s, m, dv, din, t0, t1);
    }
    unpack_grad(s, m, dU, dw);
}
