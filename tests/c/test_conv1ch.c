/* SPDX-License-Identifier: MIT */
/*
 * test_conv1ch.c — csrc/conv1ch.c (one-channel convolutions) and csrc/cpu.c:
 * each shape against the im2col convolution of layers.c on random data
 * (forward, weight and bias gradients), and every kernel path this CPU can
 * run (cpu.h) against the portable one, which must agree bit for bit.
 */

#include "internal.h" /* first, as in the library's own files */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv1ch.h"
#include "cpu.h"
#include "layers.h"
#include "kernel_check.h"
#include "rng.h"

/* A different summation order than im2col's GEMM: the weight gradient sums
 * thousands of products, so its relative difference reaches ~1e-6. */
#define TOLERANCE 1e-5

static void check_shape(int B, int H, int W, int Co, int K, int pad, uint64_t seed) {
    conv_shape s = {B, H, W, 1, H + 2 * pad - K + 1, W + 2 * pad - K + 1, Co, K, pad, 1};
    char name[64];
    snprintf(name, sizeof name, "B%d %dx%d 1->%d %dx%d pad %d", B, H, W, Co, K, K, pad);
    CHECK(conv1ch_fits(&s), "%s fits", name);
    rng r;
    rng_seed(&r, seed);
    const size_t n_in = (size_t)B * H * W, n_out = (size_t)B * s.Ho * s.Wo * Co;
    const size_t n_w = (size_t)Co * K * K, n_col = (size_t)B * s.Ho * s.Wo * K * K;
    real *in = randoms(&r, n_in), *w = randoms(&r, n_w), *bias = randoms(&r, (size_t)Co);
    real *dout = randoms(&r, n_out);
    real *packed = zeros(n_w), *col = zeros(n_col), *out = zeros(n_out), *dpacked = zeros(n_w);
    real *dw = zeros(n_w), *db = zeros((size_t)Co);
    conv_pack(&s, w, packed);
    conv2d_forward(&s, in, packed, bias, col, out);
    conv2d_backward(&s, col, packed, dout, dpacked, dw, db, NULL, NULL);

    real *wk = zeros(conv1ch_w_size(&s)), *padded = zeros((size_t)B * conv1ch_in_size(&s));
    real *out0 = zeros(n_out), *dw0 = zeros(n_w), *db0 = zeros((size_t)Co);
    real *out1 = zeros(n_out), *dw1 = zeros(n_w), *db1 = zeros((size_t)Co);
    conv1ch_pack(&s, w, wk);
    conv1ch_forward_on(CPU_PORTABLE, &s, in, wk, bias, padded, out0);
    conv1ch_backward_on(CPU_PORTABLE, &s, padded, dout, dw0, db0);
    CHECK(rel_error(out0, out, n_out) <= TOLERANCE, "%s output: %.3g", name,
          rel_error(out0, out, n_out));
    CHECK(rel_error(dw0, dw, n_w) <= TOLERANCE, "%s weight gradient: %.3g", name,
          rel_error(dw0, dw, n_w));
    CHECK(rel_error(db0, db, (size_t)Co) <= TOLERANCE, "%s bias gradient", name);

    for (int path = CPU_AVX2; path <= (int)cpu_path_best(); path++) {
        conv1ch_forward_on((cpu_path)path, &s, in, wk, bias, padded, out1);
        conv1ch_backward_on((cpu_path)path, &s, padded, dout, dw1, db1);
        CHECK(!memcmp(out1, out0, sizeof(real) * n_out) && !memcmp(dw1, dw0, sizeof(real) * n_w) &&
                  !memcmp(db1, db0, sizeof(real) * (size_t)Co),
              "%s: the %s path gives the portable path's bits", name,
              cpu_path_name((cpu_path)path));
    }
    /* No bias. */
    conv1ch_forward_on(cpu_path_active(), &s, in, wk, NULL, padded, out1);
    for (size_t i = 0; i < n_out; i++) out[i] -= bias[i % (size_t)Co];
    CHECK(rel_error(out1, out, n_out) <= TOLERANCE, "%s without bias", name);

    real *all[] = {in, w, bias, dout, packed, col, out, dpacked, dw, db, wk, padded,
                   out0, dw0, db0, out1, dw1, db1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

int main(void) {
    /* One OpenBLAS thread, as the library runs it (parallel_blas_single):
     * its own threads are invisible to ThreadSanitizer. */
    openblas_set_num_threads(1);
    printf("kernel paths: best %s, active %s\n", cpu_path_name(cpu_path_best()),
           cpu_path_name(cpu_path_active()));
    CHECK(cpu_path_active() <= cpu_path_best(), "DIGIT_CPU never asks for more than the CPU has");
    conv_shape k9 = {1, 28, 28, 1, 20, 20, 8, 9, 0, 1}, two = {1, 8, 8, 2, 6, 6, 4, 3, 0, 1};
    CHECK(!conv1ch_fits(&k9) && !conv1ch_fits(&two), "9x9 and two channels do not fit");
    /* The presets' first layers, then odd sizes and channel counts that
     * leave a partial block of 16 and a partial row of 4 pixels. */
    check_shape(3, 28, 28, 32, 3, 1, 1);
    check_shape(3, 28, 28, 16, 5, 0, 2);
    check_shape(2, 28, 28, 32, 5, 2, 3);
    check_shape(2, 28, 28, 24, 5, 0, 4);
    check_shape(2, 7, 9, 5, 3, 0, 5);
    check_shape(1, 6, 5, 37, 7, 3, 6);
    check_shape(1, 4, 4, 1, 1, 0, 7);
    check_shape(64, 28, 28, 32, 5, 2, 8);
    return test_summary("test_conv1ch");
}
