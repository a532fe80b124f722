/* SPDX-License-Identifier: MIT */
/*
 * test_winograd.c — csrc/winograd.c against the direct convolution of
 * layers.c on random data: the forward output, the weight, bias and input
 * gradients, over shapes with even and odd sizes, padding 0 and 1, and
 * channel counts below, at and past the transforms' block of 16.
 *
 * The measure is the largest difference divided by the largest magnitude
 * of the direct result. In float it must stay under TOLERANCE; the worst
 * measured here is printed with -v.
 */

#include "internal.h" /* first, as in the library's own files */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layers.h"
#include "kernel_check.h"
#include "rng.h"
#include "winograd.h"

/* F(2x2,3x3) in float differs from im2col + GEMM by a few ulps of the
 * largest value, F(4x4,3x3) by more (its transforms multiply by up to 8
 * and divide by 24); the tolerances are well over what is measured (see
 * -v), and a wrong coefficient is off by percents. */
static double tolerance(int m) { return m == 4 ? 2e-5 : 2e-6; }

static int verbose;
static double worst[2][4]; /* [m == 4][what] */
static const char *const WHAT[4] = {"output", "weight gradient", "bias gradient",
                                    "input gradient"};

static void compare(int m, int k, const char *shape, const real *got, const real *want,
                    size_t n) {
    double e = rel_error(got, want, n);
    if (e > worst[m == 4][k]) worst[m == 4][k] = e;
    CHECK(e <= tolerance(m), "%s %s: relative error %.3g", shape, WHAT[k], e);
}

static void check_tile(int m, int B, int H, int W, int Ci, int Co, int pad, uint64_t seed) {
    conv_shape s = {B, H, W, Ci, H + 2 * pad - 2, W + 2 * pad - 2, Co, 3, pad, 1};
    char shape[80];
    snprintf(shape, sizeof shape, "F(%dx%d) B%d %dx%d %d->%d pad %d", m, m, B, H, W, Ci, Co,
             pad);
    CHECK(wino_fits(&s), "%s fits", shape);
    rng r;
    rng_seed(&r, seed);
    const size_t n_in = (size_t)B * H * W * Ci, n_out = (size_t)B * s.Ho * s.Wo * Co;
    const size_t n_w = (size_t)Co * Ci * 9, n_col = (size_t)B * s.Ho * s.Wo * Ci * 9;
    real *in = randoms(&r, n_in), *w = randoms(&r, n_w), *bias = randoms(&r, (size_t)Co);
    real *dout = randoms(&r, n_out);

    /* The direct convolution. */
    real *packed = zeros(n_w), *col = zeros(n_col), *out = zeros(n_out);
    real *dpacked = zeros(n_w), *dw = zeros(n_w), *db = zeros((size_t)Co);
    real *dcol = zeros(n_col), *din = zeros(n_in);
    conv_pack(&s, w, packed);
    conv2d_forward(&s, in, packed, bias, col, out);
    conv2d_backward(&s, col, packed, dout, dpacked, dw, db, dcol, din);

    /* Winograd. */
    real *U = zeros(wino_u_size(&s, m)), *V = zeros(B * wino_v_size(&s, m));
    real *M = zeros(B * wino_m_size(&s, m)), *dU = zeros(wino_u_size(&s, m));
    real *dV = zeros(B * wino_v_size(&s, m)), *wout = zeros(n_out), *wdw = zeros(n_w);
    real *wdb = zeros((size_t)Co), *wdin = zeros(n_in);
    wino_pack(&s, m, w, U);
    wino_forward(&s, m, in, U, bias, V, M, wout);
    wino_backward(&s, m, V, U, dout, dU, wdw, wdb, M, dV, wdin);

    compare(m, 0, shape, wout, out, n_out);
    compare(m, 1, shape, wdw, dw, n_w);
    compare(m, 2, shape, wdb, db, (size_t)Co);
    compare(m, 3, shape, wdin, din, n_in);

    /* Without bias and without an input gradient (a first layer). */
    wino_forward(&s, m, in, U, NULL, V, M, wout);
    for (size_t i = 0; i < n_out; i++) out[i] -= bias[i % (size_t)Co];
    compare(m, 0, shape, wout, out, n_out);
    memset(wdw, 0, sizeof(real) * n_w);
    wino_backward(&s, m, V, U, dout, dU, wdw, NULL, M, NULL, NULL);
    compare(m, 1, shape, wdw, dw, n_w);

    real *all[] = {in, w, bias, dout, packed, col, out, dpacked, dw, db, dcol, din,
                   U, V, M, dU, dV, wout, wdw, wdb, wdin};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static void test_fits(void) {
    conv_shape same = {1, 14, 14, 32, 14, 14, 64, 3, 1, 1};
    conv_shape valid = {1, 12, 12, 16, 10, 10, 32, 3, 0, 1};
    conv_shape k5 = {1, 28, 28, 1, 24, 24, 16, 5, 0, 1};
    conv_shape strided = {1, 14, 14, 8, 7, 7, 8, 3, 1, 2};
    CHECK(wino_fits(&same) && wino_fits(&valid), "3x3 stride 1 pad 0/1 fit");
    CHECK(!wino_fits(&k5) && !wino_fits(&strided), "5x5 and stride 2 do not");
    CHECK(wino_tiles(&same, 2) == 49 && wino_tiles(&valid, 2) == 25, "2x2 tiles per image");
    CHECK(wino_tiles(&same, 4) == 16 && wino_tiles(&valid, 4) == 9, "4x4 tiles per image");
    conv_shape odd = {1, 7, 7, 48, 7, 7, 96, 3, 1, 1};
    CHECK(wino_tiles(&odd, 2) == 16, "7x7 output: 4x4 tiles, the last ones half used");
    CHECK(wino_points(2) == 16 && wino_points(4) == 36, "points per tile");
    /* 14x14: 16 x 36 = 576 products against 49 x 16 = 784; 10x10: 324
     * against 400; 7x7: 144 against 256; 6x6: 144 against 144, a tie. */
    conv_shape tie = {1, 8, 8, 16, 6, 6, 16, 3, 0, 1};
    CHECK(wino_choose_tile(&same) == 4 && wino_choose_tile(&valid) == 4 &&
              wino_choose_tile(&odd) == 4 && wino_choose_tile(&tie) == 2,
          "the tile chosen by the count of products");
}

/* Each shape with either tile. */
static void check_shape(int B, int H, int W, int Ci, int Co, int pad, uint64_t seed) {
    check_tile(2, B, H, W, Ci, Co, pad, seed);
    check_tile(4, B, H, W, Ci, Co, pad, seed);
}

int main(int argc, char **argv) {
    /* One OpenBLAS thread, as the library runs it (parallel_blas_single):
     * its own threads are invisible to ThreadSanitizer. */
    openblas_set_num_threads(1);
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    test_fits();
    /* The presets' shapes (basic conv2, compact conv2, strong conv2/conv3),
     * then odd sizes, one channel, and channel counts around the block,
     * and a batch of several chunks of tiles (F(2x2): 245 tiles, 3 full
     * chunks of 64 and a part, chunks across images; F(4x4): 80 tiles in
     * chunks of 32). */
    check_shape(2, 14, 14, 32, 64, 1, 1);
    check_shape(2, 12, 12, 16, 32, 0, 2);
    check_shape(2, 14, 14, 32, 48, 1, 3);
    check_shape(2, 7, 7, 48, 96, 1, 4);
    check_shape(3, 5, 9, 1, 3, 1, 5);
    check_shape(1, 3, 3, 17, 5, 0, 6);
    check_shape(2, 6, 11, 33, 15, 0, 7);
    check_shape(1, 4, 4, 16, 16, 1, 8);
    check_shape(5, 14, 14, 32, 64, 1, 9);
    if (verbose)
        for (int t = 0; t < 2; t++)
            for (int k = 0; k < 4; k++)
                printf("F(%dx%d) worst relative error, %s: %.3g\n", 2 + 2 * t, 2 + 2 * t,
                       WHAT[k], worst[t][k]);
    return test_summary("test_winograd");
}
