/* SPDX-License-Identifier: MIT */
/*
 * test_gradcheck.c — every backward pass against central finite
 * differences, in double precision: the Makefile compiles layers.c and
 * net.c into this program again with -DDIGIT_REAL_DOUBLE (real = double).
 *
 * Layers are checked one at a time on small random shapes with the scalar
 * objective L = sum(r * out) for a fixed random r, so that the backward
 * pass given dout = r must return dL/d(everything). The whole network is
 * checked for both presets on a batch of 3 random images, with the mean NLL
 * as L, on a sample of every parameter tensor and of the input pixels.
 * Those networks run their 3x3 convolutions as net.c plans them: by
 * Winograd (winograd.c) where it is chosen; `make test` also runs this
 * program with DIGIT_CONV=im2col, and with DIGIT_CONV=winograd2 and
 * winograd4 (every 3x3 conv, the one-channel first layers included, by
 * F(2x2,3x3) or F(4x4,3x3)).
 *
 * Tolerance: with eps = 1e-5, a coordinate passes when
 *     |analytic - numeric| <= 1e-6 * max(|analytic|, |numeric|, 1e-2).
 * In double the difference quotient carries ~1e-10 of rounding noise and
 * O(eps^2) ~ 1e-10 of truncation error (conv, linear, flatten and
 * max-pool are linear near the point, so none at all); the worst error
 * measured is ~2e-8. Real mistakes (a wrong index, a missing term) are
 * percent-sized and stand out by orders of magnitude. The 1e-2 floor keeps
 * gradients that are exactly 0 (max-pool losers, padding) from dividing the
 * noise by nothing.
 *
 * ReLU and max-pool are only piecewise smooth. The layer checks build their
 * inputs away from the kinks (|x| >= 0.1, max-pool values >= 0.01 apart).
 * The network checks cannot, so every perturbed forward pass is compared
 * with the unperturbed one: if any activation changed sign or any max-pool
 * winner moved, the difference straddles a kink and that coordinate is
 * skipped (and counted; the test requires nearly all to be checked). That
 * keeps the result independent of luck, whatever the seed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "digit.h" /* DIGIT_CLASSES */
#include "layers.h"
#include "net.h"
#include "rng.h"
#include "winograd.h"

#define EPS 1e-5
#define TOL 1e-6
#define FLOOR 1e-2

/* A context-taking scalar function: L at the current contents of its
 * buffers. *kink is set when that evaluation crossed a non-smooth point. */
typedef double (*objective)(void *ctx, int *kink);

static rng gen;

static double uniform(double lo, double hi) { return lo + (hi - lo) * rng_uniform(&gen); }

static void fill(real *x, size_t n, double lo, double hi) {
    for (size_t i = 0; i < n; i++) x[i] = (real)uniform(lo, hi);
}

/* Values with |x| in [0.1, 1]: far from the ReLU kink at 0. */
static void fill_away_from_zero(real *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = (real)(uniform(0.1, 1) * (rng_next(&gen) & 1 ? 1 : -1));
}

static double dot(const real *a, const real *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}

/* Worst relative error seen, and coordinates checked / skipped at kinks. */
typedef struct stats {
    double worst;
    int checked, skipped, failed;
} stats;

/* Compares g[i] with the central difference of f in x[i]. */
static void check_coord(stats *st, const char *what, real *x, size_t i, double g,
                        objective f, void *ctx) {
    const real saved = x[i];
    int kink_p = 0, kink_m = 0;
    x[i] = saved + EPS;
    double fp = f(ctx, &kink_p);
    x[i] = saved - EPS;
    double fm = f(ctx, &kink_m);
    x[i] = saved;
    if (kink_p || kink_m) {
        st->skipped++;
        return;
    }
    double num = (fp - fm) / (2 * EPS);
    double scale = fmax(fmax(fabs(g), fabs(num)), FLOOR);
    double err = fabs(g - num) / scale;
    st->checked++;
    if (err > st->worst) st->worst = err;
    if (err > TOL && st->failed++ < 5)
        fprintf(stderr, "  %s[%zu]: analytic %.12g, numeric %.12g (rel err %.2g)\n",
                what, i, g, num, err);
}

/* Every coordinate of x (n of them). */
static void check_all(stats *st, const char *what, real *x, const real *g, size_t n,
                      objective f, void *ctx) {
    for (size_t i = 0; i < n; i++) check_coord(st, what, x, i, g[i], f, ctx);
}

static void report(const char *name, const stats *st) {
    printf("  %-34s %5d coords, worst rel err %.2e%s\n", name, st->checked, st->worst,
           st->skipped ? " (some skipped at kinks)" : "");
    CHECK(st->failed == 0 && st->checked > 0, "%s: %d of %d coordinates off", name,
          st->failed, st->checked);
}

/* ---- conv2d ---- */

typedef struct conv_case {
    conv_shape s;
    real *in, *w, *packed, *bias, *col, *out, *r;
} conv_case;

static size_t conv_in_n(const conv_shape *s) { return (size_t)s->B * s->H * s->W * s->Ci; }
static size_t conv_out_n(const conv_shape *s) { return (size_t)s->B * s->Ho * s->Wo * s->Co; }
static size_t conv_w_n(const conv_shape *s) { return (size_t)s->Co * s->Ci * s->K * s->K; }
static size_t conv_col_n(const conv_shape *s) {
    return (size_t)s->B * s->Ho * s->Wo * s->Ci * s->K * s->K;
}

static double conv_objective(void *ctx, int *kink) {
    conv_case *c = ctx;
    (void)kink; /* linear: no kinks */
    conv_pack(&c->s, c->w, c->packed);
    conv2d_forward(&c->s, c->in, c->packed, c->bias, c->col, c->out);
    return dot(c->r, c->out, conv_out_n(&c->s));
}

static void check_conv(int B, int H, int W, int Ci, int Co, int K, int pad, int stride) {
    conv_case c;
    int Ho = (H + 2 * pad - K) / stride + 1, Wo = (W + 2 * pad - K) / stride + 1;
    c.s = (conv_shape){B, H, W, Ci, Ho, Wo, Co, K, pad, stride};
    size_t nin = conv_in_n(&c.s), nout = conv_out_n(&c.s), nw = conv_w_n(&c.s);
    size_t ncol = conv_col_n(&c.s);
    c.in = malloc(sizeof(real) * nin), c.w = malloc(sizeof(real) * nw);
    c.packed = malloc(sizeof(real) * nw), c.bias = malloc(sizeof(real) * Co);
    c.col = malloc(sizeof(real) * ncol), c.out = malloc(sizeof(real) * nout);
    c.r = malloc(sizeof(real) * nout);
    fill(c.in, nin, -1, 1), fill(c.w, nw, -1, 1), fill(c.bias, (size_t)Co, -1, 1);
    fill(c.r, nout, -1, 1);

    real *dw = malloc(sizeof(real) * nw), *dpacked = malloc(sizeof(real) * nw);
    real *db = malloc(sizeof(real) * Co), *dcol = malloc(sizeof(real) * ncol);
    real *din = malloc(sizeof(real) * nin);
    int kink = 0;
    conv_objective(&c, &kink); /* fills col for backward */
    conv2d_backward(&c.s, c.col, c.packed, c.r, dpacked, dw, db, dcol, din);

    char name[96];
    snprintf(name, sizeof name, "conv2d B%d %dx%dx%d->%d k%d p%d s%d", B, H, W, Ci, Co, K,
             pad, stride);
    stats st = {0};
    check_all(&st, "dw", c.w, dw, nw, conv_objective, &c);
    check_all(&st, "dbias", c.bias, db, (size_t)Co, conv_objective, &c);
    check_all(&st, "din", c.in, din, nin, conv_objective, &c);
    report(name, &st);
    free(c.in), free(c.w), free(c.packed), free(c.bias), free(c.col), free(c.out);
    free(c.r), free(dw), free(dpacked), free(db), free(dcol), free(din);
}

static void test_conv(void) {
    check_conv(2, 5, 5, 1, 3, 3, 1, 1); /* like basic conv1 */
    check_conv(2, 6, 5, 2, 3, 3, 0, 2); /* stride 2, a row and column unused */
    check_conv(1, 4, 4, 3, 2, 2, 1, 2); /* even kernel, padding and stride */
    check_conv(2, 5, 4, 2, 4, 5, 2, 3); /* windows mostly padding */
    check_conv(2, 3, 3, 4, 2, 1, 0, 1); /* 1x1, like compact conv3 */
    check_conv(1, 7, 7, 1, 2, 5, 0, 1); /* like compact conv1 */
}

/* ---- relu ---- */

typedef struct vec_case {
    size_t n, nout;
    real *x, *out, *r;
    int B, H, W, C, K, relu; /* shapes for max-pool and flatten */
    int32_t *arg;
} vec_case;

static double relu_objective(void *ctx, int *kink) {
    vec_case *v = ctx;
    (void)kink;
    memcpy(v->out, v->x, sizeof(real) * v->n);
    relu_forward(v->out, v->n);
    return dot(v->r, v->out, v->n);
}

static void test_relu(void) {
    enum { N = 60 };
    real x[N], out[N], r[N], d[N];
    vec_case v = {N, N, x, out, r, 0, 0, 0, 0, 0, 0, NULL};
    fill_away_from_zero(x, N);
    fill(r, N, -1, 1);
    int kink = 0;
    relu_objective(&v, &kink);
    memcpy(d, r, sizeof d);
    relu_backward(out, d, N);
    stats st = {0};
    check_all(&st, "relu dx", x, d, N, relu_objective, &v);
    report("relu", &st);
}

/* ---- max-pool (alone and with the fused ReLU) ---- */

static double pool_objective(void *ctx, int *kink) {
    vec_case *v = ctx;
    (void)kink;
    maxpool_forward(v->B, v->H, v->W, v->C, v->K, v->relu, v->x, v->out, v->arg);
    return dot(v->r, v->out, v->nout);
}

/* Distinct values 0.01 apart, none within 0.005 of 0: a perturbation of
 * 1e-6 can neither change a window's winner nor cross the ReLU. */
static void fill_distinct(real *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (real)(((double)i - n / 2.0 + 0.5) * 0.01);
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&gen, i + 1);
        real t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

static void check_pool(int B, int H, int W, int C, int K, int relu) {
    vec_case v = {0};
    v.B = B, v.H = H, v.W = W, v.C = C, v.K = K, v.relu = relu;
    v.n = (size_t)B * H * W * C;
    v.nout = (size_t)B * (H / K) * (W / K) * C;
    v.x = malloc(sizeof(real) * v.n), v.out = malloc(sizeof(real) * v.nout);
    v.r = malloc(sizeof(real) * v.nout), v.arg = malloc(sizeof(int32_t) * v.nout);
    real *din = malloc(sizeof(real) * v.n);
    fill_distinct(v.x, v.n);
    fill(v.r, v.nout, -1, 1);
    int kink = 0;
    pool_objective(&v, &kink);
    maxpool_backward(B, H, W, C, K, relu, v.arg, v.out, v.r, din);
    char name[96];
    snprintf(name, sizeof name, "maxpool%s B%d %dx%dx%d k%d", relu ? "+relu" : "", B, H,
             W, C, K);
    stats st = {0};
    check_all(&st, "din", v.x, din, v.n, pool_objective, &v);
    report(name, &st);
    free(v.x), free(v.out), free(v.r), free(v.arg), free(din);
}

static void test_pool(void) {
    check_pool(2, 4, 4, 3, 2, 0);
    check_pool(2, 5, 7, 2, 2, 0); /* floor mode: last row and column dropped */
    check_pool(1, 6, 6, 2, 3, 0);
    check_pool(2, 4, 4, 3, 2, 1);
    check_pool(2, 5, 5, 2, 2, 1);
}

/* ---- flatten ---- */

static double flatten_objective(void *ctx, int *kink) {
    vec_case *v = ctx;
    (void)kink;
    flatten_forward(v->B, v->H, v->W, v->C, v->x, v->out);
    return dot(v->r, v->out, v->n);
}

static void test_flatten(void) {
    enum { B = 2, H = 3, W = 2, C = 4, N = B * H * W * C };
    real x[N], out[N], r[N], din[N];
    vec_case v = {N, N, x, out, r, B, H, W, C, 0, 0, NULL};
    fill(x, N, -1, 1);
    fill(r, N, -1, 1);
    flatten_backward(B, H, W, C, r, din);
    stats st = {0};
    check_all(&st, "din", x, din, N, flatten_objective, &v);
    report("flatten", &st);
}

/* ---- linear ---- */

typedef struct linear_case {
    int B, Ni, No;
    real *in, *w, *b, *out, *r;
} linear_case;

static double linear_objective(void *ctx, int *kink) {
    linear_case *c = ctx;
    (void)kink;
    linear_forward(c->B, c->Ni, c->No, c->in, c->w, c->b, c->out);
    return dot(c->r, c->out, (size_t)c->B * c->No);
}

static void test_linear(void) {
    enum { B = 3, Ni = 7, No = 4 };
    real in[B * Ni], w[No * Ni], b[No], out[B * No], r[B * No];
    real dw[No * Ni], db[No], din[B * Ni];
    linear_case c = {B, Ni, No, in, w, b, out, r};
    fill(in, B * Ni, -1, 1), fill(w, No * Ni, -1, 1), fill(b, No, -1, 1);
    fill(r, B * No, -1, 1);
    linear_backward(B, Ni, No, in, w, r, dw, db, din);
    stats st = {0};
    check_all(&st, "dw", w, dw, No * Ni, linear_objective, &c);
    check_all(&st, "dbias", b, db, No, linear_objective, &c);
    check_all(&st, "din", in, din, B * Ni, linear_objective, &c);
    report("linear 7->4", &st);
}

/* ---- log-softmax + NLL ---- */

typedef struct nll_case {
    int B, N;
    double norm;
    real *z, *logp;
    const uint8_t *labels;
} nll_case;

static double nll_objective(void *ctx, int *kink) {
    nll_case *c = ctx;
    (void)kink;
    log_softmax_forward(c->B, c->N, c->z, c->logp);
    return nll_loss(c->B, c->N, c->logp, c->labels, c->norm, NULL);
}

/* norm = B is the mean loss; a larger norm is one part of a batch split
 * between threads (gradient and loss both divided by the whole batch). */
static void check_nll(double norm) {
    enum { B = 4, N = 10 };
    real z[B * N], logp[B * N], dz[B * N];
    const uint8_t labels[B] = {3, 0, 9, 3};
    nll_case c = {B, N, norm, z, logp, labels};
    fill(z, B * N, -3, 3);
    log_softmax_forward(B, N, z, logp);
    double loss = nll_loss(B, N, logp, labels, norm, dz);
    int kink = 0;
    CHECK(fabs(loss - nll_objective(&c, &kink)) < 1e-15, "loss with and without gradient");
    char name[64];
    snprintf(name, sizeof name, "log-softmax + nll (norm %g)", norm);
    stats st = {0};
    check_all(&st, "dz", z, dz, B * N, nll_objective, &c);
    report(name, &st);
}

/* ---- the whole network ---- */

typedef struct net_case {
    const net_plan *p;
    net_work w;
    real *params, *packed;
    uint8_t labels[8];
    int B;
    /* Signs of every activation and all max-pool winners at the base
     * point: a perturbed pass that differs has crossed a kink. */
    unsigned char *sign;
    int32_t *arg;
} net_case;

static size_t act_n(const net_case *c) { return (size_t)c->B * c->p->act_per_image; }
static size_t arg_n(const net_case *c) { return (size_t)c->B * c->p->arg_per_image; }

static int pattern_changed(const net_case *c) {
    const real *a = c->w.act;
    for (size_t i = 0; i < act_n(c); i++)
        if ((a[i] > 0) != c->sign[i]) return 1;
    return memcmp(c->arg, c->w.arg, sizeof(int32_t) * arg_n(c)) != 0;
}

static double net_objective(void *ctx, int *kink) {
    net_case *c = ctx;
    net_pack(c->p, c->params, c->packed);
    net_forward(c->p, c->params, c->packed, &c->w, c->B);
    *kink = pattern_changed(c);
    return cross_entropy_loss(c->B, DIGIT_CLASSES, net_logp(c->p, &c->w, c->B), c->labels,
                              c->w.label_smoothing, c->B, NULL);
}

/* Up to `want` indices of [0, n): the ends and random ones between. */
static size_t sample(size_t n, size_t want, size_t *idx) {
    if (n <= want) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        return n;
    }
    idx[0] = 0, idx[1] = n - 1;
    for (size_t i = 2; i < want; i++) idx[i] = (size_t)rng_below(&gen, n);
    return want;
}

/* dL/d(input) is not kept by net_backward (the first layer needs none), so
 * it is taken from the first convolution's output gradient, which
 * net_backward leaves in dact (or, where that conv runs the max-pool after
 * it, the pool's gradient, spread here as maxpool_backward does). */
static void input_gradient(net_case *c, real *din) {
    const layer_plan *L = &c->p->layer[0];
    conv_shape s = {c->B, L->in_h, L->in_w, L->in_c, L->out_h, L->out_w,
                    L->out_c, L->spec->k, L->spec->pad, L->spec->stride};
    size_t nw = L->w_count, ncol = (size_t)c->B * L->out_h * L->out_w * L->fan_in;
    real *dpacked = malloc(sizeof(real) * nw), *dw = malloc(sizeof(real) * nw);
    real *db = malloc(sizeof(real) * (L->b_count + 1)), *dcol = malloc(sizeof(real) * ncol);
    const real *col = c->w.col + (size_t)c->B * L->col_off, *packed = c->packed + L->pack_off;
    const real *dout = c->w.dact + (size_t)c->B * L->out_act;
    real *unpooled = NULL;
    if (L->pool_fused) { /* the conv ran the pool: its gradient is the pool's, spread */
        const layer_plan *P = &c->p->layer[L->pool_fused];
        unpooled = malloc(sizeof(real) * (size_t)c->B * L->out_h * L->out_w * L->out_c);
        maxpool_backward(c->B, P->in_h, P->in_w, P->in_c, P->spec->k, P->fused,
                         c->w.arg + (size_t)c->B * P->arg_off,
                         c->w.act + (size_t)c->B * P->out_act,
                         c->w.dact + (size_t)c->B * P->out_act, unpooled);
        dout = unpooled;
    }
    if (L->conv_path == CONV_ONE_CHANNEL) { /* no din: by im2col from the input */
        real *pk = malloc(sizeof(real) * nw), *col1 = malloc(sizeof(real) * ncol);
        real *out1 = malloc(sizeof(real) * (size_t)c->B * L->out_h * L->out_w * L->out_c);
        conv_pack(&s, c->params + L->w_off, pk);
        conv2d_forward(&s, c->w.act, pk, NULL, col1, out1);
        conv2d_backward(&s, col1, pk, dout, dpacked, dw, NULL, dcol, din);
        free(pk), free(col1), free(out1);
    } else if (L->conv_path == CONV_WINOGRAD) {
        const int m = L->wino_m;
        real *dU = malloc(sizeof(real) * wino_u_size(&s, m));
        real *dM = malloc(sizeof(real) * c->B * wino_m_size(&s, m));
        real *dV = malloc(sizeof(real) * c->B * wino_v_size(&s, m));
        wino_backward(&s, m, col, packed, dout, dU, dw, L->b_count ? db : NULL, dM, dV, din);
        free(dU), free(dM), free(dV);
    } else {
        conv2d_backward(&s, col, packed, dout, dpacked, dw, L->b_count ? db : NULL, dcol, din);
    }
    free(dpacked), free(dw), free(db), free(dcol), free(unpooled);
}

static void check_net(const char *arch_name, double smoothing) {
    net_plan plan;
    const arch_spec *arch = arch_find(arch_name);
    CHECK(arch && net_plan_build(&plan, arch), "plan for %s", arch_name);
    if (!arch) return;
    net_case c = {0};
    c.p = &plan, c.B = 3;
    CHECK(net_work_alloc(&c.w, &plan, c.B, 1), "work");
    /* Dropout draws the same masks on every pass of the same seed. */
    c.w.dropout_seed = 99, c.w.label_smoothing = smoothing;
    c.params = malloc(sizeof(real) * plan.nparams);
    c.packed = malloc(sizeof(real) * (plan.npacked + 1));
    real *grads = malloc(sizeof(real) * plan.nparams);
    net_init_params(&plan, c.params, 7);
    /* Inputs as the library feeds them: (pixel/255 - mean) / std. */
    real *x = net_input(&c.w);
    for (size_t i = 0; i < (size_t)c.B * 784; i++)
        x[i] = (real)((uniform(0, 1) - arch->mean) / arch->std);
    for (int b = 0; b < c.B; b++) c.labels[b] = (uint8_t)rng_below(&gen, 10);

    net_pack(&plan, c.params, c.packed);
    net_forward(&plan, c.params, c.packed, &c.w, c.B);
    double loss = net_backward(&plan, c.params, c.packed, grads, &c.w, c.B, c.labels, c.B);
    c.sign = malloc(act_n(&c) + 1), c.arg = malloc(sizeof(int32_t) * (arg_n(&c) + 1));
    for (size_t i = 0; i < act_n(&c); i++) c.sign[i] = c.w.act[i] > 0;
    memcpy(c.arg, c.w.arg, sizeof(int32_t) * arg_n(&c));
    real *din = malloc(sizeof(real) * (size_t)c.B * 784);
    input_gradient(&c, din);
    int kink = 0;
    CHECK(fabs(net_objective(&c, &kink) - loss) < 1e-12 && !kink,
          "%s: loss %.15g from backward", arch_name, loss);

    printf("  %s (loss %.6f, label smoothing %g):\n", arch_name, loss, smoothing);
    size_t idx[24];
    stats all = {0};
    for (int t = 0; t < plan.ntensors; t++) {
        const tensor_plan *tp = &plan.tensor[t];
        size_t n = sample(tp->count, 16, idx);
        stats st = {0};
        for (size_t k = 0; k < n; k++)
            check_coord(&st, tp->name, c.params + tp->offset, idx[k],
                        grads[tp->offset + idx[k]], net_objective, &c);
        report(tp->name, &st);
        all.checked += st.checked, all.skipped += st.skipped;
    }
    /* The input pixels, through the same forward pass. */
    size_t n = sample((size_t)c.B * 784, 24, idx);
    stats st = {0};
    for (size_t k = 0; k < n; k++)
        check_coord(&st, "input", x, idx[k], din[idx[k]], net_objective, &c);
    report("input pixels", &st);
    all.checked += st.checked, all.skipped += st.skipped;
    CHECK(all.skipped * 20 <= all.checked, "%s: %d coordinates skipped at kinks, %d checked",
          arch_name, all.skipped, all.checked);
    if (all.skipped) printf("  %d coordinates skipped at kinks\n", all.skipped);

    free(din), free(c.sign), free(c.arg), free(grads), free(c.params), free(c.packed);
    net_work_free(&c.w);
}

/* ---- batch norm (training: batch statistics) ---- */

typedef struct bn_case {
    size_t rows;
    int C;
    real *x, *gamma, *beta, *mean, *var, *y, *r;
} bn_case;

/* The whole batch's statistics, then the normalisation. */
static double bn_objective(void *ctx, int *kink) {
    bn_case *c = ctx;
    (void)kink;
    double sum[8] = {0}, sq[8] = {0};
    batchnorm_sums(c->rows, c->C, c->x, sum, sq);
    batchnorm_moments(c->C, (double)c->rows, sum, sq, c->mean, c->var);
    batchnorm_forward(c->rows, c->C, c->x, c->mean, c->var, NET_BN_EPS, c->gamma, c->beta,
                      c->y);
    return dot(c->r, c->y, c->rows * (size_t)c->C);
}

static void check_batchnorm(size_t rows, int C) {
    bn_case c = {rows, C, 0, 0, 0, 0, 0, 0, 0};
    size_t n = rows * (size_t)C;
    c.x = malloc(sizeof(real) * n), c.y = malloc(sizeof(real) * n), c.r = malloc(sizeof(real) * n);
    c.gamma = malloc(sizeof(real) * C), c.beta = malloc(sizeof(real) * C);
    c.mean = malloc(sizeof(real) * C), c.var = malloc(sizeof(real) * C);
    real *dx = malloc(sizeof(real) * n), *dg = malloc(sizeof(real) * C),
         *db = malloc(sizeof(real) * C);
    fill(c.x, n, -2, 3), fill(c.r, n, -1, 1), fill(c.gamma, (size_t)C, 0.5, 1.5);
    fill(c.beta, (size_t)C, -1, 1);
    int kink = 0;
    bn_objective(&c, &kink);
    double gs[8] = {0}, gx[8] = {0};
    batchnorm_grad_sums(rows, C, c.x, c.mean, c.r, gs, gx);
    batchnorm_backward(rows, C, c.x, c.mean, c.var, NET_BN_EPS, c.gamma, gs, gx, (double)rows,
                       c.r, dx, dg, db);
    char name[64];
    snprintf(name, sizeof name, "batch norm %zu rows x %d", rows, C);
    stats st = {0};
    check_all(&st, "dx", c.x, dx, n, bn_objective, &c);
    check_all(&st, "dgamma", c.gamma, dg, (size_t)C, bn_objective, &c);
    check_all(&st, "dbeta", c.beta, db, (size_t)C, bn_objective, &c);
    report(name, &st);

    /* The batch cut in two parts whose sums are added, as two threads do:
     * the same dx, to rounding. */
    size_t half = rows / 2;
    double s2[8] = {0}, q2[8] = {0}, g2[8] = {0}, x2[8] = {0};
    batchnorm_sums(half, C, c.x, s2, q2);
    batchnorm_sums(rows - half, C, c.x + half * C, s2, q2);
    real m2[8], v2[8];
    batchnorm_moments(C, (double)rows, s2, q2, m2, v2);
    batchnorm_grad_sums(half, C, c.x, m2, c.r, g2, x2);
    batchnorm_grad_sums(rows - half, C, c.x + half * C, m2, c.r + half * C, g2, x2);
    real *dx2 = malloc(sizeof(real) * n);
    batchnorm_backward(half, C, c.x, m2, v2, NET_BN_EPS, c.gamma, g2, x2, (double)rows, c.r,
                       dx2, NULL, NULL);
    batchnorm_backward(rows - half, C, c.x + half * C, m2, v2, NET_BN_EPS, c.gamma, g2, x2,
                       (double)rows, c.r + half * C, dx2 + half * C, NULL, NULL);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(dx2[i] - dx[i]));
    CHECK(worst < 1e-12, "%s: split batch dx differs by %g", name, worst);
    free(c.x), free(c.y), free(c.r), free(c.gamma), free(c.beta), free(c.mean), free(c.var);
    free(dx), free(dg), free(db), free(dx2);
}

static void test_batchnorm(void) {
    check_batchnorm(12, 3);   /* BatchNorm2d: 3 images of 2x2, 3 channels */
    check_batchnorm(3, 5);    /* BatchNorm1d: 3 rows */
    check_batchnorm(2, 4);    /* the smallest batch PyTorch trains */
}

/* Against PyTorch's formulas by hand: x = [1, 2, 3, 6] in one channel has
 * mean 3, biased variance 3.5, unbiased 14/3. */
static void test_batchnorm_values(void) {
    real x[4] = {1, 2, 3, 6}, g = 2, b = 0.5, mean, var, y[4];
    double sum = 0, sq = 0;
    batchnorm_sums(4, 1, x, &sum, &sq);
    batchnorm_moments(1, 4, &sum, &sq, &mean, &var);
    batchnorm_forward(4, 1, x, &mean, &var, NET_BN_EPS, &g, &b, y);
    CHECK(fabs(mean - 3) < 1e-15 && fabs(var - 3.5) < 1e-15, "mean %g var %g", mean, var);
    CHECK(fabs(y[3] - (3 / sqrt(3.5 + 1e-5) * 2 + 0.5)) < 1e-12, "y[3] = %.15g", y[3]);
}

/* ---- dropout (a fixed mask: linear) ---- */

typedef struct drop_case { size_t n; real *x, *mask, *out, *r; } drop_case;

static double dropout_objective(void *ctx, int *kink) {
    drop_case *c = ctx;
    (void)kink;
    dropout_forward(c->n, c->x, c->mask, c->out);
    return dot(c->r, c->out, c->n);
}

static void test_dropout(void) {
    enum { N = 40 };
    real x[N], mask[N], out[N], r[N], dx[N];
    drop_case c = {N, x, mask, out, r};
    fill(x, N, -1, 1), fill(r, N, -1, 1);
    for (int i = 0; i < N; i++) mask[i] = rng_uniform(&gen) < 0.4 ? 0 : (real)(1 / 0.6);
    dropout_backward(N, mask, r, dx);
    stats st = {0};
    check_all(&st, "dx", x, dx, N, dropout_objective, &c);
    report("dropout p 0.4", &st);
}

/* ---- cross-entropy with label smoothing ---- */

static double smooth_objective(void *ctx, int *kink) {
    nll_case *c = ctx;
    (void)kink;
    log_softmax_forward(c->B, c->N, c->z, c->logp);
    return cross_entropy_loss(c->B, c->N, c->logp, c->labels, 0.1, c->norm, NULL);
}

static void test_label_smoothing(void) {
    enum { B = 3, N = 10 };
    real z[B * N], logp[B * N], dz[B * N];
    const uint8_t labels[B] = {1, 7, 1};
    nll_case c = {B, N, B, z, logp, labels};
    fill(z, B * N, -3, 3);
    log_softmax_forward(B, N, z, logp);
    double loss = cross_entropy_loss(B, N, logp, labels, 0.1, B, dz);
    /* By hand: (1 - s) * nll + s * mean(-logp), averaged over the batch. */
    double want = 0;
    for (int b = 0; b < B; b++) {
        double all = 0;
        for (int i = 0; i < N; i++) all -= logp[b * N + i];
        want += 0.9 * -logp[b * N + labels[b]] + 0.1 * all / N;
    }
    CHECK(fabs(loss - want / B) < 1e-13, "smoothed loss %.15g, by hand %.15g", loss, want / B);
    stats st = {0};
    check_all(&st, "dz", z, dz, B * N, smooth_objective, &c);
    report("log-softmax + cross-entropy (s 0.1)", &st);
}

/* ---- inference folds each batch norm into the layer before ---- */

static void check_fold(const char *arch_name) {
    net_plan plan;
    const arch_spec *arch = arch_find(arch_name);
    CHECK(arch && net_plan_build(&plan, arch), "plan for %s", arch_name);
    if (!arch) return;
    enum { B = 4 };
    real *params = malloc(sizeof(real) * plan.nparams), *folded = malloc(sizeof(real) * plan.nparams);
    real *buffers = malloc(sizeof(real) * (plan.nbuffers + 1));
    real *packed = malloc(sizeof(real) * (plan.npacked + 1));
    int64_t counts[NET_MAX_LAYERS];
    net_init_params(&plan, params, 3);
    net_init_buffers(&plan, buffers, counts);
    /* Trained-looking batch norms: gammas, betas and statistics off 1/0. */
    for (int i = 0; i < plan.nlayers; i++) {
        const layer_plan *L = &plan.layer[i];
        if (L->spec->kind != LAYER_BATCHNORM) continue;
        fill(params + L->w_off, L->w_count, 0.5, 1.5), fill(params + L->b_off, L->b_count, -0.5, 0.5);
        fill(buffers + L->buf_off, (size_t)L->in_c, -0.3, 0.3);
        fill(buffers + L->buf_off + L->in_c, (size_t)L->in_c, 0.2, 2);
    }
    net_work a, b;
    CHECK(net_work_alloc(&a, &plan, B, 0) && net_work_alloc(&b, &plan, B, 0), "work");
    fill(net_input(&a), (size_t)B * 784, -0.4, 2.8);
    memcpy(net_input(&b), net_input(&a), sizeof(real) * B * 784);
    a.running = buffers;                 /* batch norms with running statistics */
    net_pack(&plan, params, packed);
    net_forward(&plan, params, packed, &a, B);
    net_fold(&plan, params, buffers, folded);
    net_pack(&plan, folded, packed);
    net_forward(&plan, folded, packed, &b, B); /* folded */
    double worst = 0;
    const real *la = net_logp(&plan, &a, B), *lb = net_logp(&plan, &b, B);
    for (int i = 0; i < B * DIGIT_CLASSES; i++) worst = fmax(worst, fabs(la[i] - lb[i]));
    printf("  %-34s worst |difference| %.2e\n", "folded batch norm", worst);
    CHECK(worst < 1e-9, "%s: folded and unfolded outputs differ by %g", arch_name, worst);
    net_work_free(&a), net_work_free(&b);
    free(params), free(folded), free(buffers), free(packed);
}

/* ---- a batch split between workers, as train.c runs batch-norm nets ---- */

/* Two workers of 3 and 2 images each run the pass in phases cut at every
 * batch norm, their sums added between phases: the gradient must equal
 * the one of the whole batch at once. */
static void check_split(const char *arch_name) {
    net_plan plan;
    const arch_spec *arch = arch_find(arch_name);
    CHECK(arch && net_plan_build(&plan, arch), "plan for %s", arch_name);
    if (!arch) return;
    enum { B = 5 };
    const int part[2] = {3, 2};
    real *params = malloc(sizeof(real) * plan.nparams);
    real *packed = malloc(sizeof(real) * (plan.npacked + 1));
    real *whole_g = malloc(sizeof(real) * plan.nparams);
    real *g[2] = {malloc(sizeof(real) * plan.nparams), malloc(sizeof(real) * plan.nparams)};
    net_init_params(&plan, params, 5);
    net_pack(&plan, params, packed);
    uint8_t labels[B];
    net_work whole, w[2];
    CHECK(net_work_alloc(&whole, &plan, B, 1), "work");
    for (int k = 0; k < 2; k++) CHECK(net_work_alloc(&w[k], &plan, part[k], 1), "work");
    fill(net_input(&whole), (size_t)B * 784, -0.4, 2.8);
    for (int b = 0; b < B; b++) labels[b] = (uint8_t)rng_below(&gen, 10);
    whole.dropout_seed = 4;
    net_forward(&plan, params, packed, &whole, B);
    double loss = net_backward(&plan, params, packed, whole_g, &whole, B, labels, B);
    for (int k = 0; k < 2; k++) {
        memcpy(net_input(&w[k]), net_input(&whole) + (size_t)(k ? part[0] : 0) * 784,
               sizeof(real) * part[k] * 784);
        w[k].dropout_seed = 4, w[k].first_image = k ? (uint64_t)part[0] : 0;
        w[k].bn_batch = B, w[k].bn_owner = k == 0;
    }
    int bn[NET_MAX_LAYERS], nbn = 0, from = 0;
    for (int i = 0; i < plan.nlayers; i++)
        if (plan.layer[i].spec->kind == LAYER_BATCHNORM) bn[nbn++] = i;
    for (int j = 0; j < nbn; j++) {
        const layer_plan *L = &plan.layer[bn[j]];
        double sum[128] = {0}, sq[128] = {0};
        for (int k = 0; k < 2; k++) {
            net_forward_span(&plan, params, packed, &w[k], part[k], from, bn[j]);
            net_bn_sums(&plan, &w[k], part[k], bn[j]);
            for (int c = 0; c < L->in_c; c++)
                sum[c] += w[k].bn_sum[L->stat_off + c], sq[c] += w[k].bn_sq[L->stat_off + c];
        }
        for (int k = 0; k < 2; k++)
            batchnorm_moments(L->in_c, (double)net_bn_rows(&plan, bn[j], B), sum, sq,
                              w[k].bn_mean + L->stat_off, w[k].bn_var + L->stat_off);
        from = bn[j];
    }
    double split_loss = 0;
    for (int k = 0; k < 2; k++) {
        net_forward_span(&plan, params, packed, &w[k], part[k], from, plan.nlayers);
        split_loss += net_loss(&plan, &w[k], part[k], labels + (k ? part[0] : 0), B);
        net_backward_span(&plan, params, packed, g[k], &w[k], part[k], bn[nbn - 1] + 1,
                          plan.nlayers - 1);
    }
    for (int j = nbn - 1; j >= 0; j--) {
        const layer_plan *L = &plan.layer[bn[j]];
        double gs[128] = {0}, gx[128] = {0};
        for (int k = 0; k < 2; k++) {
            net_bn_grad_sums(&plan, &w[k], part[k], bn[j]);
            for (int c = 0; c < L->in_c; c++)
                gs[c] += w[k].bn_gsum[L->stat_off + c], gx[c] += w[k].bn_gsumxc[L->stat_off + c];
        }
        for (int k = 0; k < 2; k++) {
            memcpy(w[k].bn_gsum + L->stat_off, gs, sizeof(double) * L->in_c);
            memcpy(w[k].bn_gsumxc + L->stat_off, gx, sizeof(double) * L->in_c);
            net_backward_span(&plan, params, packed, g[k], &w[k], part[k],
                              j ? bn[j - 1] + 1 : 0, bn[j] + 1);
        }
    }
    double worst = 0, scale = 0;
    for (size_t i = 0; i < plan.nparams; i++) {
        worst = fmax(worst, fabs(g[0][i] + g[1][i] - whole_g[i]));
        scale = fmax(scale, fabs(whole_g[i]));
    }
    printf("  %-34s worst |difference| %.2e (of %.2e), loss %.2e\n", "split batch gradient",
           worst, scale, fabs(split_loss - loss));
    CHECK(worst < 1e-12 * fmax(scale, 1) && fabs(split_loss - loss) < 1e-12,
          "%s: split gradient differs by %g", arch_name, worst);
    net_work_free(&whole), net_work_free(&w[0]), net_work_free(&w[1]);
    free(params), free(packed), free(whole_g), free(g[0]), free(g[1]);
}

int main(void) {
    rng_seed(&gen, 12345);
    printf("layers (eps %g, tolerance %g):\n", EPS, TOL);
    test_conv();
    test_relu();
    test_pool();
    test_flatten();
    test_linear();
    check_nll(4);
    check_nll(10);
    test_batchnorm();
    test_batchnorm_values();
    test_dropout();
    test_label_smoothing();
    printf("networks:\n");
    check_net("basic", 0);
    check_net("compact", 0);
    check_net("strong", 0);
    check_net("strong", 0.1);
    check_net("speedrun", 0);
    check_fold("strong");
    check_split("strong");
    return test_summary("test_gradcheck");
}
