/* SPDX-License-Identifier: MIT */
/*
 * test_conv1ch.c — csrc/conv1ch.c (one-channel convolutions) and csrc/cpu.c:
 * each shape against the im2col convolution of layers.c on random data
 * (forward, weight and bias gradients), and every kernel path this CPU can
 * run (cpu.h) against the portable one, which must agree bit for bit; and
 * the weight gradient read from a max-pool's gradient against the pool's
 * backward followed by the plain one.
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

/* conv1ch_forward_pooled against conv1ch_forward then maxpool_forward
 * (with and without argmax), and conv1ch_backward_pooled against
 * maxpool_backward then conv1ch_backward: bit for bit on every path, with
 * and without the ReLU between them; odd output sizes leave a row and a
 * column outside every window. Ties in the pool (windows of zero input)
 * exercise its first-wins argmax. */
static void check_pooled(int B, int H, int W, int Co, int K, int pad, uint64_t seed) {
    conv_shape s = {B, H, W, 1, H + 2 * pad - K + 1, W + 2 * pad - K + 1, Co, K, pad, 1};
    char name[64];
    snprintf(name, sizeof name, "pooled B%d %dx%d 1->%d %dx%d pad %d", B, H, W, Co, K, K, pad);
    rng r;
    rng_seed(&r, seed);
    const int Hq = s.Ho / 2, Wq = s.Wo / 2;
    const size_t n_out = (size_t)B * s.Ho * s.Wo * Co, n_q = (size_t)B * Hq * Wq * Co;
    const size_t n_w = (size_t)Co * K * K;
    real *in = randoms(&r, (size_t)B * H * W), *w = randoms(&r, n_w);
    /* The top rows zero: the outputs there all equal the bias, and every
     * window of them ties. */
    for (int b = 0; b < B; b++) memset(in + (size_t)b * H * W, 0, sizeof(real) * (size_t)W * (H / 2));
    real *wk = zeros(conv1ch_w_size(&s)), *padded = zeros((size_t)B * conv1ch_in_size(&s));
    real *out = zeros(n_out), *pooled = zeros(n_q), *dq = randoms(&r, n_q), *din = zeros(n_out);
    real *dw0 = zeros(n_w), *db0 = zeros((size_t)Co), *dw1 = zeros(n_w), *db1 = zeros((size_t)Co);
    real *bias = randoms(&r, (size_t)Co), *fused = zeros(n_q), *plain = zeros(n_q);
    int32_t *arg = malloc(sizeof(int32_t) * (n_q + 1)), *arg1 = malloc(sizeof(int32_t) * (n_q + 1));
    if (!arg || !arg1) abort();
    conv1ch_pack(&s, w, wk);
    conv1ch_forward(&s, in, wk, bias, padded, out);
    for (int relu = 0; relu < 2; relu++) {
        maxpool_forward(B, s.Ho, s.Wo, Co, 2, relu, out, pooled, arg);
        maxpool_forward(B, s.Ho, s.Wo, Co, 2, relu, out, plain, NULL);
        for (int path = CPU_PORTABLE; path <= (int)cpu_path_best(); path++) {
            conv1ch_forward_pooled_on((cpu_path)path, &s, in, wk, bias, padded, relu, fused, arg1);
            CHECK(!memcmp(fused, pooled, sizeof(real) * n_q) &&
                      !memcmp(arg1, arg, sizeof(int32_t) * n_q),
                  "%s%s: the %s path's fused forward gives the pool's values and argmax", name,
                  relu ? " relu" : "", cpu_path_name((cpu_path)path));
            conv1ch_forward_pooled_on((cpu_path)path, &s, in, wk, bias, padded, relu, fused, NULL);
            CHECK(!memcmp(fused, plain, sizeof(real) * n_q),
                  "%s%s: the %s path's fused forward without argmax gives the pool's values",
                  name, relu ? " relu" : "", cpu_path_name((cpu_path)path));
        }
        maxpool_backward(B, s.Ho, s.Wo, Co, 2, relu, arg, pooled, dq, din);
        const conv1ch_pool pool = {arg, pooled, dq, relu};
        for (int path = CPU_PORTABLE; path <= (int)cpu_path_best(); path++) {
            conv1ch_backward_on((cpu_path)path, &s, padded, din, dw0, db0);
            conv1ch_backward_pooled_on((cpu_path)path, &s, padded, &pool, dw1, db1);
            CHECK(!memcmp(dw1, dw0, sizeof(real) * n_w) &&
                      !memcmp(db1, db0, sizeof(real) * (size_t)Co),
                  "%s%s: the %s path gives the unpooled gradient's bits", name,
                  relu ? " relu" : "", cpu_path_name((cpu_path)path));
        }
    }
    real *all[] = {in, w, wk, padded, out, pooled, dq, din, dw0, db0, dw1, db1, bias, fused,
                   plain};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(arg), free(arg1);
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
    /* basic's and compact's first layers with their pools, then odd sizes
     * and a partial block of channels. */
    check_pooled(3, 28, 28, 32, 3, 1, 9);
    check_pooled(3, 28, 28, 16, 5, 0, 10);
    check_pooled(2, 9, 7, 21, 3, 0, 11);
    check_pooled(1, 6, 6, 5, 5, 2, 12);
    return test_summary("test_conv1ch");
}
