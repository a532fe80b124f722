/* SPDX-License-Identifier: MIT */
/*
 * test_layers.c — csrc/layers.c on tiny cases worked out by hand (real =
 * float here; test_gradcheck.c checks the gradients in double): conv2d
 * with padding, stride and channels, max-pool (plain and with the fused
 * ReLU), flatten, linear, log-softmax and the NLL loss.
 */

#include "internal.h" /* first, as in the library's own files */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "layers.h"
#include "helpers.h"

/* ---- layers on hand-computed cases (real = float here) ---- */

static void check_array(const char *what, const real *got, const double *want,
                        size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= tol, "%s[%zu] = %.9g, want %.9g", what, i,
              (double)got[i], want[i]);
}

static void test_conv_pad_stride(void) {
    /* One 3x3 image x = [1 2 3; 4 5 6; 7 8 9], K=2, pad 1, stride 2, so
     * Ho = Wo = (3 + 2 - 2)/2 + 1 = 2 and window (oy,ox) covers input rows
     * 2oy-1..2oy, cols 2ox-1..2ox (row/col -1 is padding).
     * Channel 0: w = [1 2; 3 4], bias 0.5
     *   (0,0): only x00 under w11:           4*1         = 4   -> 4.5
     *   (0,1): x01*w10 + x02*w11 = 2*3 + 3*4  = 18          -> 18.5
     *   (1,0): x10*w01 + x20*w11 = 4*2 + 7*4  = 36          -> 36.5
     *   (1,1): 5*1 + 6*2 + 8*3 + 9*4          = 77          -> 77.5
     * Channel 1: w = [1 0; 0 -1], bias -1
     *   (0,0): -x00 = -1 -> -2;  (0,1): -x02 = -3 -> -4
     *   (1,0): -x20 = -7 -> -8;  (1,1): x11 - x22 = 5 - 9 = -4 -> -5 */
    const real in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const real w[8] = {1, 2, 3, 4, 1, 0, 0, -1}, bias[2] = {0.5f, -1};
    conv_shape s = {1, 3, 3, 1, 2, 2, 2, 2, 1, 2};
    real packed[8], col[4 * 4], out[8];
    conv_pack(&s, w, packed); /* one input channel: the same order */
    conv2d_forward(&s, in, packed, bias, col, out);
    /* NHWC output: (oy, ox, channel). */
    const double want[8] = {4.5, -2, 18.5, -4, 36.5, -8, 77.5, -5};
    check_array("conv pad/stride", out, want, 8, 1e-5);
}

static void test_conv_channels(void) {
    /* Two input channels, stored NHWC: pixel (y,x) holds (c0, c1).
     * c0 = [1 2; 3 4], c1 = [10 20; 30 40]; K=2, no pad -> 1x1 output.
     * w[0][0] = [1 -1; 2 0], w[0][1] = [0.5 0; 0 0.25], bias 0.25:
     *   1*1 - 2*1 + 3*2 + 4*0 + 10*0.5 + 40*0.25 = 1 - 2 + 6 + 5 + 10 = 20
     *   -> 20.25. Image 2 is image 1 doubled -> 40 + 0.25 = 40.25. */
    const real in[16] = {1, 10, 2, 20, 3, 30, 4, 40, 2, 20, 4, 40, 6, 60, 8, 80};
    const real w[8] = {1, -1, 2, 0, 0.5f, 0, 0, 0.25f}, bias[1] = {0.25f};
    conv_shape s = {2, 2, 2, 2, 1, 1, 1, 2, 0, 1};
    real packed[8], unpacked[8], col[2 * 8], out[2];
    /* Packing reorders [Co, Ci, K, K] to [Co, K, K, Ci]: here (c, ky, kx)
     * -> (ky, kx, c), i.e. the two channels interleaved, and back. */
    conv_pack(&s, w, packed);
    const double want_packed[8] = {1, 0.5, -1, 0, 2, 0, 0, 0.25};
    check_array("conv_pack", packed, want_packed, 8, 0);
    conv_unpack(&s, packed, unpacked);
    CHECK(memcmp(unpacked, w, sizeof unpacked) == 0, "conv_unpack inverts conv_pack");
    conv2d_forward(&s, in, packed, bias, col, out);
    const double want[2] = {20.25, 40.25};
    check_array("conv channels", out, want, 2, 1e-5);

    /* Backward with dout = (1, 2): dbias = 1 + 2 = 3; dw = sum over images
     * of dout * input patch = image1 + 2*image2 = 5*image1 (in w's order
     * c, ky, kx): [5 10 15 20 50 100 150 200]; din = dout_b * w (NHWC). */
    const real dout[2] = {1, 2};
    real dpacked[8], dw[8], db[1], dcol[16], din[16];
    conv2d_backward(&s, col, packed, dout, dpacked, dw, db, dcol, din);
    const double want_dw[8] = {5, 10, 15, 20, 50, 100, 150, 200};
    const double want_db[1] = {3};
    const double want_din[16] = {1, 0.5, -1, 0, 2, 0, 0, 0.25,
                                 2, 1,   -2, 0, 4, 0, 0, 0.5};
    check_array("conv dw", dw, want_dw, 8, 1e-4);
    check_array("conv dbias", db, want_db, 1, 1e-6);
    check_array("conv din", din, want_din, 16, 1e-6);
}

static void test_maxpool(void) {
    /* 4x4, two channels (NHWC), K=2. Channel 0, row by row:
     *   1 3 | 2  2        window (0,0): 1 3 3 0  -> 3, first at (0,1)
     *   3 0 | 2  1        window (0,1): 2 2 2 1  -> 2, first at (0,2)
     *   5 6 | -1 -2       window (1,0): 5 6 7 8  -> 8 at (3,1)
     *   7 8 | -3 -4       window (1,1): -1..-4   -> -1 at (2,2)
     * Channel 1 = -channel 0: maxima 0 at (1,1), -1 at (1,3), -5 at (2,0),
     * 4 at (3,3). The winning index is ((y*4 + x)*2 + c). */
    const real c0[16] = {1, 3, 2, 2, 3, 0, 2, 1, 5, 6, -1, -2, 7, 8, -3, -4};
    real in[32], out[8], din[32];
    int32_t arg[8];
    for (int p = 0; p < 16; p++) in[2 * p] = c0[p], in[2 * p + 1] = -c0[p];
    maxpool_forward(1, 4, 4, 2, 2, 0, in, out, arg);
    const double want[8] = {3, 0, 2, -1, 8, -5, -1, 4};
    check_array("maxpool", out, want, 8, 0);
    const int32_t want_arg[8] = {(0 * 4 + 1) * 2, (1 * 4 + 1) * 2 + 1,
                                 (0 * 4 + 2) * 2, (1 * 4 + 3) * 2 + 1,
                                 (3 * 4 + 1) * 2, (2 * 4 + 0) * 2 + 1,
                                 (2 * 4 + 2) * 2, (3 * 4 + 3) * 2 + 1};
    for (int o = 0; o < 8; o++)
        CHECK(arg[o] == want_arg[o], "arg[%d] = %d, want %d", o, arg[o], want_arg[o]);
    /* Backward routes each output gradient to its winner, zero elsewhere. */
    const real dout[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    maxpool_backward(1, 4, 4, 2, 2, 0, arg, out, dout, din);
    double sum = 0;
    for (int i = 0; i < 32; i++) sum += din[i];
    CHECK(sum == 36, "din sums to %g", sum);
    for (int o = 0; o < 8; o++)
        CHECK(din[want_arg[o]] == dout[o], "din at winner %d", o);

    /* With the ReLU fused in: max(0, window max), so the outputs 0, -1,
     * -5, -1 become 0 and pass no gradient; only the positive outputs 3, 2,
     * 8, 4 (dout 1, 3, 5, 8) pass theirs to their winners. */
    maxpool_forward(1, 4, 4, 2, 2, 1, in, out, arg);
    const double want_relu[8] = {3, 0, 2, 0, 8, 0, 0, 4};
    check_array("maxpool+relu", out, want_relu, 8, 0);
    maxpool_backward(1, 4, 4, 2, 2, 1, arg, out, dout, din);
    sum = 0;
    for (int i = 0; i < 32; i++) sum += din[i];
    CHECK(sum == 1 + 3 + 5 + 8, "din sums to %g", sum);
    CHECK(din[want_arg[0]] == 1 && din[want_arg[7]] == 8 && din[want_arg[1]] == 0,
          "relu-gated routing");

    /* Floor mode: a 3x3 input with K=2 gives 1x1 from the top-left 2x2;
     * the 100 in the last row is outside every window. */
    const real odd[9] = {1, 4, 0, 2, 3, 0, 0, 0, 100};
    real one[1];
    int32_t a1[1];
    maxpool_forward(1, 3, 3, 1, 2, 0, odd, one, a1);
    CHECK(one[0] == 4 && a1[0] == 1, "floor mode gives %g at %d", (double)one[0], a1[0]);
}

static void test_flatten(void) {
    /* NHWC [1,2,2,3] holding 100c + 10y + x; PyTorch's flatten of the
     * NCHW tensor is c-major: 0 1 10 11 | 100 101 110 111 | 200 ... */
    real in[12], out[12], back[12];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) in[(y * 2 + x) * 3 + c] = (real)(100 * c + 10 * y + x);
    flatten_forward(1, 2, 2, 3, in, out);
    const double want[12] = {0, 1, 10, 11, 100, 101, 110, 111, 200, 201, 210, 211};
    check_array("flatten", out, want, 12, 0);
    flatten_backward(1, 2, 2, 3, out, back);
    CHECK(memcmp(in, back, sizeof in) == 0, "flatten backward inverts forward");
}

static void test_linear(void) {
    /* in = [[1,2,3],[-1,0,1]], w = [[1,0,-1],[0.5,0.5,0.5]], b = [0.25,-1]
     *   row 0: 1 - 3 + 0.25 = -1.75;  0.5*6 - 1 = 2
     *   row 1: -1 - 1 + 0.25 = -1.75; 0.5*0 - 1 = -1 */
    const real in[6] = {1, 2, 3, -1, 0, 1}, w[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
    const real b[2] = {0.25f, -1};
    real out[4];
    linear_forward(2, 3, 2, in, w, b, out);
    const double want[4] = {-1.75, 2, -1.75, -1};
    check_array("linear", out, want, 4, 1e-6);
    /* dout = [[1,0],[0,2]]: dw = dout^T in = [[1,2,3],[-2,0,2]];
     * dbias = column sums = [1,2]; din = dout w = [[1,0,-1],[1,1,1]]. */
    const real dout[4] = {1, 0, 0, 2};
    real dw[6], db[2], din[6];
    linear_backward(2, 3, 2, in, w, dout, dw, db, din);
    const double want_dw[6] = {1, 2, 3, -2, 0, 2}, want_db[2] = {1, 2};
    const double want_din[6] = {1, 0, -1, 1, 1, 1};
    check_array("linear dw", dw, want_dw, 6, 1e-6);
    check_array("linear dbias", db, want_db, 2, 1e-6);
    check_array("linear din", din, want_din, 6, 1e-6);
}

/* A layer whose gradients are wide enough for microgemm.c's products
 * (mgemm_wins on AVX-512; OpenBLAS elsewhere) against sums in double: the
 * forward, the weight gradient and the input gradient. */
static void test_linear_wide(void) {
    enum { B = 5, NI = 48, NO = 32 };
    real in[B * NI], w[NO * NI], b[NO], dout[B * NO];
    real out[B * NO], dw[NO * NI], din[B * NI];
    double want[B * NO], want_dw[NO * NI], want_din[B * NI];
    for (int i = 0; i < B * NI; i++) in[i] = (real)((i * 37 % 101) / 50.0 - 1);
    for (int i = 0; i < NO * NI; i++) w[i] = (real)((i * 53 % 97) / 97.0 - 0.5);
    for (int i = 0; i < NO; i++) b[i] = (real)(i % 5 - 2) / 4;
    for (int i = 0; i < B * NO; i++) dout[i] = (real)((i * 29 % 61) / 30.0 - 1);
    for (int r = 0; r < B; r++)
        for (int o = 0; o < NO; o++) {
            double acc = b[o];
            for (int i = 0; i < NI; i++) acc += (double)in[r * NI + i] * w[o * NI + i];
            want[r * NO + o] = acc;
        }
    for (int o = 0; o < NO; o++)
        for (int i = 0; i < NI; i++) {
            double acc = 0;
            for (int r = 0; r < B; r++) acc += (double)dout[r * NO + o] * in[r * NI + i];
            want_dw[o * NI + i] = acc;
        }
    for (int r = 0; r < B; r++)
        for (int i = 0; i < NI; i++) {
            double acc = 0;
            for (int o = 0; o < NO; o++) acc += (double)dout[r * NO + o] * w[o * NI + i];
            want_din[r * NI + i] = acc;
        }
    /* What the outputs held before must not show through. */
    for (int i = 0; i < B * NO; i++) out[i] = 7;
    for (int i = 0; i < NO * NI; i++) dw[i] = 7;
    for (int i = 0; i < B * NI; i++) din[i] = 7;
    linear_forward(B, NI, NO, in, w, b, out);
    check_array("wide linear", out, want, B * NO, 1e-5);
    linear_backward(B, NI, NO, in, w, dout, dw, NULL, din);
    check_array("wide linear dw", dw, want_dw, NO * NI, 1e-5);
    check_array("wide linear din", din, want_din, B * NI, 1e-5);
}

static void test_log_softmax_nll(void) {
    /* Row [1,2,3]: lse = 3 + ln(1 + e^-1 + e^-2) = 3.407605964, so
     * logp = [-2.407605964, -1.407605964, -0.407605964].
     * Row [0,0,0]: -ln 3 = -1.098612289 each. */
    const real z[6] = {1, 2, 3, 0, 0, 0};
    real lp[6];
    log_softmax_forward(2, 3, z, lp);
    const double want[6] = {-2.407605964, -1.407605964, -0.407605964,
                            -1.098612289, -1.098612289, -1.098612289};
    check_array("log_softmax", lp, want, 6, 1e-6);

    /* Large logits: [1000, 1000, 1000] must neither overflow nor lose
     * precision: -ln 3 each, as PyTorch's (x - max) - log(sum) gives in
     * float. Computing x - (max + log(sum)) instead rounds max + log(sum)
     * to float at 1000 (ulp 6e-5) and is off by ~2e-5. */
    const real big[3] = {1000, 1000, 1000};
    real lp_big[3];
    log_softmax_forward(1, 3, big, lp_big);
    for (int i = 0; i < 3; i++)
        CHECK(fabs(lp_big[i] + 1.098612289) < 1e-6,
              "log_softmax([1000,1000,1000])[%d] = %.8f, want -1.09861229", i,
              (double)lp_big[i]);

    /* NLL of the first two rows at labels (2, 0):
     *   (0.407605964 + 1.098612289) / 2 = 0.753109127.
     * Gradient (softmax - onehot) / B with softmax row 0 =
     * [0.090030573, 0.244728471, 0.665240956], row 1 = 1/3 each:
     *   row 0: [0.045015287, 0.122364236, (0.665240956 - 1)/2 = -0.167379522]
     *   row 1: [(1/3 - 1)/2 = -0.333333333, 1/6, 1/6]. */
    const uint8_t labels[2] = {2, 0};
    real d[6];
    double loss = nll_loss(2, 3, lp, labels, 2, d);
    CHECK_NEAR(loss, 0.753109127, 1e-6);
    const double want_d[6] = {0.045015287, 0.122364236, -0.167379522,
                              -0.333333333, 0.166666667, 0.166666667};
    check_array("nll gradient", d, want_d, 6, 1e-6);
    CHECK_NEAR(nll_loss(2, 3, lp, labels, 2, NULL), loss, 0); /* NULL gradient */
    /* These two rows as half of a batch of 4: everything divided by 4. */
    CHECK_NEAR(nll_loss(2, 3, lp, labels, 4, d), 0.753109127 / 2, 1e-6);
    CHECK_NEAR(d[2], -0.167379522 / 2, 1e-6);
}

int main(void) {
    test_conv_pad_stride();
    test_conv_channels();
    test_maxpool();
    test_flatten();
    test_linear();
    test_linear_wide();
    test_log_softmax_nll();
    return test_summary("test_layers");
}
