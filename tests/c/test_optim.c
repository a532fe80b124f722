/* SPDX-License-Identifier: MIT */
/*
 * test_optim.c — csrc/optim.c: two Adam steps against PyTorch's numbers
 * worked out by hand, and the MultiStepLR schedule.
 */

#include "internal.h" /* first, as in the library's own files */

#include <math.h>

#include "optim.h"
#include "helpers.h"

/* ---- Adam and the schedule ---- */

static void test_adam(void) {
    /* PyTorch's Adam (lr 0.01, betas 0.9/0.999, eps 1e-8), two steps:
     *   m = m + 0.1 (g - m); v = 0.999 v + 0.001 g^2
     *   p -= lr/(1 - 0.9^t) * m / (sqrt(v)/sqrt(1 - 0.999^t) + 1e-8)
     * Step 1 (bc1 = 0.1, bc2 = 0.001): m = 0.1 g, v = 0.001 g^2, so the
     * update is lr * g/(|g| + 1e-8) ~ 0.01 sign(g):
     *   p0: 1 - 0.01 * 0.1/(0.1 + 1e-8) = 0.9900000010
     *   p1: -0.5 + 0.01 * 0.2/(0.2 + 1e-8) = -0.4900000005
     *   p2: 0.25 - 0.01 = 0.24; p3 (g = 0): m = v = 0, unchanged 0.
     * Step 2 (bc1 = 0.19, bc2 = 0.001999, lr/bc1 = 0.0526315789):
     *   p0: g 0.3 -> m = 0.009 + 0.03 = 0.039, v = 0.999e-5 + 9e-5 =
     *       9.999e-5, denom = sqrt(v)/sqrt(bc2) = 0.223651547,
     *       update = 0.0526315789 * 0.174378405 = 0.0091778108
     *       -> 0.9808221902
     *   p1: g 0.1 -> m = -0.018 + 0.01 = -0.008, v = 3.996e-5 + 1e-5 =
     *       4.996e-5, denom 0.158090162, update -0.0026633702
     *       -> -0.4873366303
     *   p2: g -4 -> m = 0.36 - 0.4 = -0.04, v = 0.015984 + 0.016 = 0.031984,
     *       denom 4.000000010, update -0.0005263158 -> 0.2405263158
     *   p3: still 0. */
    adam a;
    CHECK(adam_init(&a, 4), "adam_init");
    float p[4] = {1, -0.5f, 0.25f, 0};
    const float g1[4] = {0.1f, -0.2f, 4, 0};
    /* Step 2's gradient arrives in two parts (as from two threads), which
     * adam_update adds: 0.3 = 0.5 - 0.2, 0.1 = 0.25 - 0.15, -4 = -1 - 3. */
    const float g2a[4] = {0.5f, 0.25f, -1, 0}, g2b[4] = {-0.2f, -0.15f, -3, 0};
    const float *step1[1] = {g1}, *step2[2] = {g2a, g2b};
    adam_begin(&a);
    adam_update(&a, p, step1, 1, 0, 4, 0.01);
    CHECK(a.step == 1, "step %lld", (long long)a.step);
    CHECK_NEAR(p[0], 0.9900000010, 2e-7);
    CHECK_NEAR(p[1], -0.4900000005, 2e-7);
    CHECK_NEAR(p[2], 0.24, 2e-7);
    CHECK(p[3] == 0, "zero gradient leaves p3 at %g", (double)p[3]);
    CHECK_NEAR(a.m[0], 0.01, 1e-8);
    CHECK_NEAR(a.v[1], 4e-5, 1e-11);
    /* The update may be split into ranges (threads): [0,1) and [1,4). */
    adam_begin(&a);
    adam_update(&a, p, step2, 2, 0, 1, 0.01);
    adam_update(&a, p, step2, 2, 1, 4, 0.01);
    CHECK(a.step == 2, "step %lld", (long long)a.step);
    CHECK_NEAR(p[0], 0.9808221902, 3e-7);
    CHECK_NEAR(p[1], -0.4873366303, 3e-7);
    CHECK_NEAR(p[2], 0.2405263158, 3e-7);
    CHECK(p[3] == 0, "p3 %g", (double)p[3]);
    CHECK_NEAR(a.m[0], 0.039, 1e-8);
    CHECK_NEAR(a.v[2], 0.031984, 1e-8);
    adam_free(&a);
}

static void test_multistep(void) {
    /* MultiStepLR(milestones=[5,8], gamma=0.01) from 0.001: epochs 0-4 use
     * 1e-3, 5-7 use 1e-5, 8 and later 1e-7. */
    const int ms[2] = {5, 8};
    for (int e = 0; e <= 10; e++) {
        double want = e < 5 ? 1e-3 : e < 8 ? 1e-5 : 1e-7;
        double got = multistep_lr(0.001, 0.01, ms, 2, e);
        CHECK(fabs(got - want) <= want * 1e-12, "epoch %d: %g, want %g", e, got, want);
    }
    CHECK(multistep_lr(0.001, 0.01, ms, 0, 9) == 0.001, "no milestones");
}

int main(void) {
    test_adam();
    test_multistep();
    return test_summary("test_optim");
}
