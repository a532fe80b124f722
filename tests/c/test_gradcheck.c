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
    return nll_loss(c->B, DIGIT_CLASSES, net_logp(c->p, &c->w, c->B), c->labels, c->B,
                    NULL);
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
 * net_backward leaves in dact. */
static void input_gradient(net_case *c, real *din) {
    const layer_plan *L = &c->p->layer[0];
    conv_shape s = {c->B, L->in_h, L->in_w, L->in_c, L->out_h, L->out_w,
                    L->out_c, L->spec->k, L->spec->pad, L->spec->stride};
    size_t nw = L->w_count, ncol = (size_t)c->B * L->out_h * L->out_w * L->fan_in;
    real *dpacked = malloc(sizeof(real) * nw), *dw = malloc(sizeof(real) * nw);
    real *db = malloc(sizeof(real) * L->b_count), *dcol = malloc(sizeof(real) * ncol);
    conv2d_backward(&s, c->w.col + (size_t)c->B * L->col_off, c->packed + L->pack_off,
                    c->w.dact + (size_t)c->B * L->out_act, dpacked, dw, db, dcol, din);
    free(dpacked), free(dw), free(db), free(dcol);
}

static void check_net(const char *arch_name) {
    net_plan plan;
    const arch_spec *arch = arch_find(arch_name);
    CHECK(arch && net_plan_build(&plan, arch), "plan for %s", arch_name);
    if (!arch) return;
    net_case c = {0};
    c.p = &plan, c.B = 3;
    CHECK(net_work_alloc(&c.w, &plan, c.B, 1), "work");
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

    printf("  %s (loss %.6f):\n", arch_name, loss);
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
    printf("networks:\n");
    check_net("basic");
    check_net("compact");
    return test_summary("test_gradcheck");
}
