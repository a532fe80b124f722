/* SPDX-License-Identifier: MIT */
/*
 * net.c — shapes, layouts and the batch forward/backward pass of an
 * architecture table. Compiled with `real` = float for the library and
 * double for the gradient-check test (see real.h).
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "net.h"
#include "rng.h"
#include "conv1ch.h"
#include "cpu.h"
#include "parallel.h"
#include "winograd.h"

static tensor_plan *put_tensor(tensor_plan *t, const char *layer, const char *what,
                               int rank, const int *shape, size_t offset) {
    snprintf(t->name, sizeof t->name, "%s.%s", layer, what);
    t->rank = rank;
    t->count = 1;
    for (int i = 0; i < rank; i++) {
        t->shape[i] = shape[i];
        t->count *= (size_t)shape[i];
    }
    t->offset = offset;
    return t;
}

static void add_tensor(net_plan *p, const char *layer, const char *what,
                       int rank, const int *shape, size_t offset) {
    put_tensor(&p->tensor[p->ntensors++], layer, what, rank, shape, offset);
}

/* A batch norm's parameters and buffers, in PyTorch's state_dict order. */
static void add_batchnorm(net_plan *p, layer_plan *L) {
    const char *name = L->spec->name;
    int C = L->in_c;
    L->w_off = p->nparams, L->w_count = (size_t)C;
    L->b_off = L->w_off + L->w_count, L->b_count = (size_t)C;
    add_tensor(p, name, "weight", 1, &C, L->w_off);
    add_tensor(p, name, "bias", 1, &C, L->b_off);
    L->buf_off = p->nbuffers;
    put_tensor(&p->buffer[p->nbuffer_tensors++], name, "running_mean", 1, &C, p->nbuffers);
    put_tensor(&p->buffer[p->nbuffer_tensors++], name, "running_var", 1, &C, p->nbuffers + C);
    p->nbuffers += 2 * (size_t)C;
    L->count_index = p->ncounts;
    tensor_plan *t = put_tensor(&p->buffer[p->nbuffer_tensors++], name,
                                "num_batches_tracked", 0, NULL, (size_t)p->ncounts++);
    t->is_count = 1;
    L->stat_off = p->nstats;
    p->nstats += (size_t)C;
    p->nbatchnorm++;
}

/* Fills out_* and the parameter layout of one layer from its input shape. */
static int plan_layer(net_plan *p, layer_plan *L) {
    const layer_spec *s = L->spec;
    L->out_c = L->in_c, L->out_h = L->in_h, L->out_w = L->in_w;
    switch (s->kind) {
    case LAYER_CONV: {
        if (s->out <= 0 || s->k <= 0 || s->stride <= 0 || s->pad < 0) return 0;
        L->out_c = s->out;
        L->out_h = (L->in_h + 2 * s->pad - s->k) / s->stride + 1;
        L->out_w = (L->in_w + 2 * s->pad - s->k) / s->stride + 1;
        if (L->in_h + 2 * s->pad < s->k || L->in_w + 2 * s->pad < s->k) return 0;
        L->fan_in = L->in_c * s->k * s->k;
        int ws[4] = {s->out, L->in_c, s->k, s->k};
        L->w_off = p->nparams, L->w_count = (size_t)s->out * L->fan_in;
        L->b_off = L->w_off + L->w_count, L->b_count = s->no_bias ? 0 : (size_t)s->out;
        add_tensor(p, s->name, "weight", 4, ws, L->w_off);
        if (L->b_count) add_tensor(p, s->name, "bias", 1, &s->out, L->b_off);
        snprintf(L->description, sizeof L->description,
                 "conv2d %d->%d %dx%d pad %d stride %d", L->in_c, s->out, s->k,
                 s->k, s->pad, s->stride);
        break;
    }
    case LAYER_MAXPOOL:
        if (s->k <= 0 || L->in_h < s->k || L->in_w < s->k) return 0;
        L->out_h = L->in_h / s->k, L->out_w = L->in_w / s->k;
        snprintf(L->description, sizeof L->description, "max-pool %dx%d",
                 s->k, s->k);
        break;
    case LAYER_FLATTEN:
        L->out_c = L->in_c * L->in_h * L->in_w, L->out_h = L->out_w = 1;
        snprintf(L->description, sizeof L->description, "flatten (C,H,W)");
        break;
    case LAYER_LINEAR: {
        if (L->in_h != 1 || L->in_w != 1 || s->out <= 0) return 0;
        L->out_c = s->out;
        L->fan_in = L->in_c;
        int ws[2] = {s->out, L->in_c};
        L->w_off = p->nparams, L->w_count = (size_t)s->out * L->in_c;
        L->b_off = L->w_off + L->w_count, L->b_count = s->no_bias ? 0 : (size_t)s->out;
        add_tensor(p, s->name, "weight", 2, ws, L->w_off);
        if (L->b_count) add_tensor(p, s->name, "bias", 1, &s->out, L->b_off);
        snprintf(L->description, sizeof L->description, "linear %d->%d",
                 L->in_c, s->out);
        break;
    }
    case LAYER_RELU:
        snprintf(L->description, sizeof L->description, "ReLU");
        break;
    case LAYER_BATCHNORM:
        add_batchnorm(p, L);
        snprintf(L->description, sizeof L->description, "batch-norm %dd %d",
                 L->in_h == 1 && L->in_w == 1 ? 1 : 2, L->in_c);
        break;
    case LAYER_DROPOUT:
        if (!(s->p >= 0 && s->p < 1)) return 0;
        snprintf(L->description, sizeof L->description, "dropout %g", (double)s->p);
        break;
    case LAYER_LOG_SOFTMAX:
        if (L->in_h != 1 || L->in_w != 1) return 0;
        snprintf(L->description, sizeof L->description, "log-softmax");
        break;
    }
    p->nparams += L->w_count + L->b_count;
    return 1;
}

static conv_shape conv_of(const layer_plan *L, int B) {
    conv_shape s = {B, L->in_h, L->in_w, L->in_c, L->out_h, L->out_w,
                    L->out_c, L->spec->k, L->spec->pad, L->spec->stride};
    return s;
}

static int choose_conv(const conv_shape *s, int first) {
    const char *force = getenv("DIGIT_CONV");
    if (force && !strcmp(force, "im2col")) return CONV_IM2COL;
    const int winograd = force && (!strcmp(force, "winograd") || !strcmp(force, "winograd2") ||
                                   !strcmp(force, "winograd4"));
    if (winograd && wino_fits(s)) return CONV_WINOGRAD;
    if (wino_fits(s) && s->Ci >= WINO_MIN_CHANNELS) return CONV_WINOGRAD;
    /* The one-channel kernels where digit-bench --layers measured them
     * faster than im2col + OpenBLAS (forward + backward, 16 images, Zen 4):
     * on AVX-512 with whole vectors of 16 channels (basic's conv1 195 vs
     * 520 us, compact's 266 vs 466, strong's 719 vs 903; 24 channels lose,
     * 684 vs 569), on AVX2 for 3x3 (352 vs 520); the portable path loses
     * to OpenBLAS everywhere. Backward has no din, hence first layers only. */
    if (first && conv1ch_fits(s)) {
        cpu_path path = cpu_path_active();
        if ((path == CPU_AVX512 && s->Co % 16 == 0) || (path == CPU_AVX2 && s->K == 3))
            return CONV_ONE_CHANNEL;
    }
    return CONV_IM2COL;
}

/* The Winograd tile of a conv on CONV_WINOGRAD: winograd.c's choice, or
 * the one DIGIT_CONV=winograd2 or winograd4 forces. */
static int choose_wino_tile(const conv_shape *s) {
    const char *force = getenv("DIGIT_CONV");
    if (force && !strcmp(force, "winograd2")) return 2;
    if (force && !strcmp(force, "winograd4")) return 4;
    return wino_choose_tile(s);
}

/* A one-channel first layer followed by a 2x2 max-pool (and maybe a ReLU)
 * runs the pool itself (conv1ch_forward_pooled, conv1ch_backward_pooled):
 * the convolution's output and its gradient, the largest arrays of the
 * network, are then never written or read. The results are the same bits. */
static void fuse_pool_into_conv(net_plan *p, int pool) {
    layer_plan *P = &p->layer[pool];
    const int conv = pool - 1 - P->fused;
    if (P->spec->k != 2 || conv < 0) return;
    layer_plan *C = &p->layer[conv];
    if (C->spec->kind != LAYER_CONV || C->conv_path != CONV_ONE_CHANNEL ||
        C->out_w > CONV1CH_POOL_MAX_W)
        return;
    C->pool_fused = pool;
    P->in_conv = 1;
}

int net_plan_build(net_plan *p, const arch_spec *arch) {
    memset(p, 0, sizeof *p);
    p->arch = arch;
    p->nlayers = arch->nlayers;
    int c = 1, h = DIGIT_IMAGE_SIDE, w = DIGIT_IMAGE_SIDE;
    size_t act = (size_t)DIGIT_IMAGE_PIXELS; /* the input comes first */
    size_t in_act = 0;
    for (int i = 0; i < arch->nlayers; i++) {
        layer_plan *L = &p->layer[i];
        L->spec = &arch->layers[i];
        L->in_c = c, L->in_h = h, L->in_w = w, L->in_act = in_act;
        if (!plan_layer(p, L)) return 0;
        size_t out_n = (size_t)L->out_c * L->out_h * L->out_w;
        if (L->spec->kind == LAYER_RELU) {
            L->out_act = in_act; /* in place */
        } else {
            L->out_act = act;
            act += out_n;
        }
        if (L->spec->kind == LAYER_CONV) {
            const conv_shape s = conv_of(L, 1);
            L->conv_path = choose_conv(&s, i == 0);
            size_t col = (size_t)L->out_h * L->out_w * L->fan_in, packed = L->w_count;
            if (L->conv_path == CONV_WINOGRAD) {
                L->wino_m = choose_wino_tile(&s);
                col = wino_v_size(&s, L->wino_m), packed = wino_u_size(&s, L->wino_m);
            }
            if (L->conv_path == CONV_ONE_CHANNEL)
                col = conv1ch_in_size(&s), packed = conv1ch_w_size(&s);
            L->pack_off = p->npacked;
            p->npacked += packed;
            if (packed > p->conv_w_max) p->conv_w_max = packed;
            if (L->conv_path == CONV_WINOGRAD && wino_m_size(&s, L->wino_m) > p->wino_max_per_image)
                p->wino_max_per_image = wino_m_size(&s, L->wino_m);
            L->col_off = p->col_per_image;
            p->col_per_image += col;
            if (col > p->col_max_per_image) p->col_max_per_image = col;
        }
        if (L->spec->kind == LAYER_MAXPOOL) {
            L->arg_off = p->arg_per_image;
            p->arg_per_image += out_n;
        }
        if (L->spec->kind == LAYER_DROPOUT) {
            L->mask_off = p->mask_per_image;
            p->mask_per_image += out_n;
        }
        /* A batch norm folds into the conv or linear layer before it. */
        if (L->spec->kind == LAYER_BATCHNORM) {
            if (i == 0 || (p->layer[i - 1].spec->kind != LAYER_CONV &&
                           p->layer[i - 1].spec->kind != LAYER_LINEAR))
                return 0;
            p->layer[i - 1].bn_next = 1;
        }
        /* ReLU then max-pool run as one pass (they commute). */
        if (L->spec->kind == LAYER_MAXPOOL && i > 0 &&
            p->layer[i - 1].spec->kind == LAYER_RELU)
            p->layer[i - 1].fused = L->fused = 1;
        if (L->spec->kind == LAYER_MAXPOOL) fuse_pool_into_conv(p, i);
        c = L->out_c, h = L->out_h, w = L->out_w, in_act = L->out_act;
    }
    const layer_plan *last = &p->layer[arch->nlayers - 1];
    if (arch->nlayers < 2 || last->spec->kind != LAYER_LOG_SOFTMAX ||
        last->out_c != DIGIT_CLASSES)
        return 0;
    p->act_per_image = act;
    p->logp_act = last->out_act;
    return 1;
}

int net_work_alloc(net_work *w, const net_plan *p, int capacity, int training) {
    memset(w, 0, sizeof *w);
    size_t B = (size_t)capacity;
    size_t n_act = B * p->act_per_image;
    size_t n_col = B * (training ? p->col_per_image : p->col_max_per_image);
    size_t n_dcol = training ? B * p->col_max_per_image : 0;
    size_t n_dpacked = training ? p->conv_w_max : 0;
    size_t n_mask = training ? B * p->mask_per_image : 0;
    size_t n_stat = training ? p->nstats : 0;
    size_t n_arg = B * p->arg_per_image;
    size_t n_wino = B * p->wino_max_per_image;
    size_t reals = n_act * (training ? 2 : 1) + n_col + n_dcol + n_dpacked + n_mask + 2 * n_stat +
                   n_wino;
    /* One block: the doubles, the reals, then the int32 argmax array. */
    size_t bytes = 4 * n_stat * sizeof(double) + reals * sizeof(real) +
                   n_arg * sizeof(int32_t) + 64;
    /* Not zeroed: every layer writes its whole output before anything reads
     * it, and zeroing ~0.5 MB per image showed up in single-image latency. */
    w->block = malloc(bytes);
    if (!w->block) return 0;
    double *d = w->block;
    w->bn_sum = d, d += n_stat;
    w->bn_sq = d, d += n_stat;
    w->bn_gsum = d, d += n_stat;
    w->bn_gsumxc = d, d += n_stat;
    real *r = (real *)d;
    w->act = r, r += n_act;
    if (training) w->dact = r, r += n_act;
    w->col = r, r += n_col;
    if (training) w->dcol = r, r += n_dcol, w->dpacked = r, r += n_dpacked;
    w->mask = r, r += n_mask;
    w->wino = r, r += n_wino;
    w->bn_mean = r, r += n_stat;
    w->bn_var = r, r += n_stat;
    w->arg = (int32_t *)r;
    w->capacity = capacity;
    w->training = training;
    w->bn_owner = 1;
    return 1;
}

void net_work_free(net_work *w) {
    free(w->block);
    memset(w, 0, sizeof *w);
}

static real *col_of(const layer_plan *L, net_work *w, int B) {
    return w->col + (w->training ? (size_t)B * L->col_off : 0);
}

void net_pack(const net_plan *p, const real *params, real *packed) {
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        if (L->spec->kind != LAYER_CONV) continue;
        conv_shape s = conv_of(L, 1);
        real *dst = packed + L->pack_off;
        switch (L->conv_path) {
        case CONV_WINOGRAD: wino_pack(&s, L->wino_m, params + L->w_off, dst); break;
        case CONV_ONE_CHANNEL: conv1ch_pack(&s, params + L->w_off, dst); break;
        default: conv_pack(&s, params + L->w_off, dst); break;
        }
    }
}

size_t net_bn_rows(const net_plan *p, int i, int B) {
    const layer_plan *L = &p->layer[i];
    return (size_t)B * L->in_h * L->in_w;
}

/* A folded network (inference without running statistics) skips its batch
 * norms: the layer before writes straight into the batch norm's output,
 * with the folded bias kept in the batch norm's bias slot. */
static int folded(const net_work *w) { return !w->training && !w->running; }

/* Where layer i writes, and the bias it adds (NULL: none). */
static real *out_of(const net_plan *p, const net_work *w, int B, int i) {
    const layer_plan *L = &p->layer[i];
    if (L->bn_next && folded(w)) L = &p->layer[i + 1];
    return w->act + (size_t)B * L->out_act;
}

static const real *bias_of(const net_plan *p, const net_work *w, const real *params, int i) {
    const layer_plan *L = &p->layer[i];
    if (L->bn_next && folded(w)) return params + p->layer[i + 1].b_off;
    return L->b_count ? params + L->b_off : NULL;
}

/* Image b's mask of dropout layer i: its own generator, so a batch split
 * any way between threads draws the same masks. */
static void draw_mask(const net_plan *p, const net_work *w, int i, int b, real *mask) {
    const layer_plan *L = &p->layer[i];
    size_t n = (size_t)L->out_c * L->out_h * L->out_w;
    rng r;
    uint64_t key = w->dropout_seed ^ (0x9e3779b97f4a7c15ULL * (w->first_image + (uint64_t)b + 1));
    rng_seed(&r, key + 0xd1b54a32d192ed03ULL * (uint64_t)(i + 1));
    const double q = (double)L->spec->p;
    const real keep = (real)(1.0 / (1.0 - q));
    for (size_t k = 0; k < n; k++) mask[k] = rng_uniform(&r) < q ? 0 : keep;
}

static void forward_batchnorm(const net_plan *p, const real *params, net_work *w, int B,
                              int i, const real *in, real *out) {
    const layer_plan *L = &p->layer[i];
    const real *mean, *var;
    if (w->training) {
        mean = w->bn_mean + L->stat_off, var = w->bn_var + L->stat_off;
    } else if (w->running) {
        mean = w->running + L->buf_off, var = w->running + L->buf_off + L->in_c;
    } else {
        return; /* folded into the layer before */
    }
    batchnorm_forward(net_bn_rows(p, i, B), L->in_c, in, mean, var, NET_BN_EPS,
                      params + L->w_off, params + L->b_off, out);
}

/* ---- one pass's large layers shared between threads (w->share) ----
 * Below these sizes a layer takes a few microseconds, no more than handing
 * it over costs. */
#define SHARE_MIN_POINTS 256          /* Winograd tile points per part */
#define SHARE_MIN_WEIGHTS (64 * 1024) /* a linear layer's weights */
#define SHARE_ROW_ALIGN 16            /* linear rows per part: whole vectors */

typedef struct shared_layer {
    const conv_shape *s;
    const real *in, *w, *bias;
    real *V, *M, *out;
    int Ni, No, parts, m;
} shared_layer;

static void wino_part(void *ctx, int k) {
    const shared_layer *j = ctx;
    wino_forward_part(j->s, j->m, j->in, j->w, j->bias, j->V, j->M, j->out, k, j->parts);
}

static void wino_forward_shared(const net_work *w, const conv_shape *s, int m, const real *in,
                                const real *U, const real *bias, real *V, real *out) {
    int parts = (int)(s->B * wino_tiles(s, m) * wino_points(m) / SHARE_MIN_POINTS);
    parts = parts < w->share ? parts : w->share;
    if (parts <= 1) {
        wino_forward(s, m, in, U, bias, V, w->wino, out);
        return;
    }
    shared_layer j = {s, in, U, bias, V, w->wino, out, 0, 0, parts, m};
    parallel_share(parts, wino_part, &j);
}

/* Rows [lo, hi) of part k: out = W x + b for one image splits by rows. */
static void linear_part(void *ctx, int k) {
    const shared_layer *j = ctx;
    int per = (j->No + j->parts - 1) / j->parts;
    per = (per + SHARE_ROW_ALIGN - 1) / SHARE_ROW_ALIGN * SHARE_ROW_ALIGN;
    int lo = k * per, hi = lo + per < j->No ? lo + per : j->No;
    if (lo >= hi) return;
    linear_forward(1, j->Ni, hi - lo, j->in, j->w + (size_t)lo * j->Ni,
                   j->bias ? j->bias + lo : NULL, j->out + lo);
}

static void linear_forward_shared(const net_work *w, int B, int Ni, int No, const real *in,
                                  const real *weights, const real *bias, real *out) {
    if (B != 1 || w->share <= 1 || (size_t)Ni * No < SHARE_MIN_WEIGHTS) {
        linear_forward(B, Ni, No, in, weights, bias, out);
        return;
    }
    int parts = (No + SHARE_ROW_ALIGN - 1) / SHARE_ROW_ALIGN;
    parts = parts < w->share ? parts : w->share;
    shared_layer j = {NULL, in, weights, bias, NULL, NULL, out, Ni, No, parts, 0};
    parallel_share(parts, linear_part, &j);
}

static void forward_layer(const net_plan *p, const real *params, const real *packed,
                          net_work *w, int B, int i) {
    const layer_plan *L = &p->layer[i];
    const real *in = w->act + (size_t)B * L->in_act;
    real *out = out_of(p, w, B, i);
    size_t per = (size_t)L->out_c * L->out_h * L->out_w, n_out = (size_t)B * per;
    switch (L->spec->kind) {
    case LAYER_CONV: {
        conv_shape s = conv_of(L, B);
        const real *wk = packed + L->pack_off, *bias = bias_of(p, w, params, i);
        switch (L->conv_path) {
        case CONV_WINOGRAD:
            wino_forward_shared(w, &s, L->wino_m, in, wk, bias, col_of(L, w, B), out);
            break;
        case CONV_ONE_CHANNEL:
            if (L->pool_fused) {
                const layer_plan *P = &p->layer[L->pool_fused];
                conv1ch_forward_pooled(&s, in, wk, bias, col_of(L, w, B), P->fused,
                                       out_of(p, w, B, L->pool_fused),
                                       w->training ? w->arg + (size_t)B * P->arg_off : NULL);
            } else {
                conv1ch_forward(&s, in, wk, bias, col_of(L, w, B), out);
            }
            break;
        default: conv2d_forward(&s, in, wk, bias, col_of(L, w, B), out); break;
        }
        break;
    }
    case LAYER_RELU:
        if (!L->fused) relu_forward(out, n_out);
        break;
    case LAYER_MAXPOOL:
        if (L->in_conv) break;
        maxpool_forward(B, L->in_h, L->in_w, L->in_c, L->spec->k, L->fused,
                        in, out, w->training ? w->arg + (size_t)B * L->arg_off : NULL);
        break;
    case LAYER_FLATTEN:
        flatten_forward(B, L->in_h, L->in_w, L->in_c, in, out);
        break;
    case LAYER_LINEAR:
        linear_forward_shared(w, B, L->in_c, L->out_c, in, params + L->w_off,
                              bias_of(p, w, params, i), out);
        break;
    case LAYER_LOG_SOFTMAX:
        log_softmax_forward(B, L->in_c, in, out);
        break;
    case LAYER_BATCHNORM:
        forward_batchnorm(p, params, w, B, i, in, out);
        break;
    case LAYER_DROPOUT:
        if (!w->training) {
            memcpy(out, in, sizeof(real) * n_out);
            break;
        }
        real *mask = w->mask + (size_t)B * L->mask_off;
        for (int b = 0; b < B; b++) draw_mask(p, w, i, b, mask + (size_t)b * per);
        dropout_forward(n_out, in, mask, out);
        break;
    }
}

void net_bn_sums(const net_plan *p, net_work *w, int B, int i) {
    const layer_plan *L = &p->layer[i];
    double *sum = w->bn_sum + L->stat_off, *sq = w->bn_sq + L->stat_off;
    memset(sum, 0, sizeof(double) * (size_t)L->in_c);
    memset(sq, 0, sizeof(double) * (size_t)L->in_c);
    batchnorm_sums(net_bn_rows(p, i, B), L->in_c, w->act + (size_t)B * L->in_act, sum, sq);
}

void net_forward_span(const net_plan *p, const real *params, const real *packed,
                      net_work *w, int B, int from, int to) {
    for (int i = from; i < to; i++) forward_layer(p, params, packed, w, B, i);
}

void net_forward(const net_plan *p, const real *params, const real *packed,
                 net_work *w, int B) {
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        if (L->spec->kind == LAYER_BATCHNORM && w->training) {
            /* The whole batch is here: its own sums are the totals. */
            net_bn_sums(p, w, B, i);
            batchnorm_moments(L->in_c, (double)net_bn_rows(p, i, B), w->bn_sum + L->stat_off,
                              w->bn_sq + L->stat_off, w->bn_mean + L->stat_off,
                              w->bn_var + L->stat_off);
        }
        forward_layer(p, params, packed, w, B, i);
    }
}

double net_loss(const net_plan *p, net_work *w, int B, const uint8_t *labels, double norm) {
    const layer_plan *last = &p->layer[p->nlayers - 1];
    /* Log-softmax + NLL: the gradient w.r.t. the logits in one step. */
    return cross_entropy_loss(B, DIGIT_CLASSES, w->act + (size_t)B * last->out_act, labels,
                              w->label_smoothing, norm, w->dact + (size_t)B * last->in_act);
}

void net_bn_grad_sums(const net_plan *p, net_work *w, int B, int i) {
    const layer_plan *L = &p->layer[i];
    double *gs = w->bn_gsum + L->stat_off, *gx = w->bn_gsumxc + L->stat_off;
    memset(gs, 0, sizeof(double) * (size_t)L->in_c);
    memset(gx, 0, sizeof(double) * (size_t)L->in_c);
    batchnorm_grad_sums(net_bn_rows(p, i, B), L->in_c, w->act + (size_t)B * L->in_act,
                        w->bn_mean + L->stat_off, w->dact + (size_t)B * L->out_act, gs, gx);
}

static void backward_batchnorm(const net_plan *p, const real *params, real *grads,
                               net_work *w, int B, int i, real *din) {
    const layer_plan *L = &p->layer[i];
    const size_t C = (size_t)L->in_c;
    double count = (double)net_bn_rows(p, i, w->bn_batch ? w->bn_batch : B);
    real *dg = grads + L->w_off, *db = grads + L->b_off;
    /* The batch's totals enter the gradient once: in the first part's. */
    if (!w->bn_owner) {
        memset(dg, 0, sizeof(real) * C), memset(db, 0, sizeof(real) * C);
        dg = db = NULL;
    }
    batchnorm_backward(net_bn_rows(p, i, B), L->in_c, w->act + (size_t)B * L->in_act,
                       w->bn_mean + L->stat_off, w->bn_var + L->stat_off, NET_BN_EPS,
                       params + L->w_off, w->bn_gsum + L->stat_off, w->bn_gsumxc + L->stat_off,
                       count, w->dact + (size_t)B * L->out_act, din, dg, db);
}

static void backward_layer(const net_plan *p, const real *params, const real *packed,
                           real *grads, net_work *w, int B, int i) {
    const layer_plan *L = &p->layer[i];
    const real *in = w->act + (size_t)B * L->in_act;
    const real *out = w->act + (size_t)B * L->out_act;
    const real *dout = w->dact + (size_t)B * L->out_act;
    size_t n_out = (size_t)B * L->out_c * L->out_h * L->out_w;
    /* The first layer's input gradient is never needed. */
    real *din = i == 0 ? NULL : w->dact + (size_t)B * L->in_act;
    switch (L->spec->kind) {
    case LAYER_CONV: {
        conv_shape s = conv_of(L, B);
        real *dbias = L->b_count ? grads + L->b_off : NULL, *dw = grads + L->w_off;
        const real *col = col_of(L, w, B), *wk = packed + L->pack_off;
        switch (L->conv_path) {
        case CONV_WINOGRAD:
            wino_backward(&s, L->wino_m, col, wk, dout, w->dpacked, dw, dbias, w->wino, w->dcol,
                          din);
            break;
        case CONV_ONE_CHANNEL: /* always the first layer: no din */
            if (L->pool_fused) {
                const layer_plan *P = &p->layer[L->pool_fused];
                const conv1ch_pool pool = {w->arg + (size_t)B * P->arg_off,
                                           w->act + (size_t)B * P->out_act,
                                           w->dact + (size_t)B * P->out_act, P->fused};
                conv1ch_backward_pooled(&s, col, &pool, dw, dbias);
            } else {
                conv1ch_backward(&s, col, dout, dw, dbias);
            }
            break;
        default: conv2d_backward(&s, col, wk, dout, w->dpacked, dw, dbias, w->dcol, din); break;
        }
        break;
    }
    case LAYER_RELU:
        if (!L->fused) relu_backward(out, w->dact + (size_t)B * L->out_act, n_out);
        break;
    case LAYER_MAXPOOL:
        if (din && !L->in_conv)
            maxpool_backward(B, L->in_h, L->in_w, L->in_c, L->spec->k, L->fused,
                             w->arg + (size_t)B * L->arg_off, out, dout, din);
        break;
    case LAYER_FLATTEN:
        if (din) flatten_backward(B, L->in_h, L->in_w, L->in_c, dout, din);
        break;
    case LAYER_LINEAR:
        linear_backward(B, L->in_c, L->out_c, in, params + L->w_off, dout, grads + L->w_off,
                        L->b_count ? grads + L->b_off : NULL, din);
        break;
    case LAYER_BATCHNORM:
        backward_batchnorm(p, params, grads, w, B, i, din);
        break;
    case LAYER_DROPOUT:
        if (din) dropout_backward(n_out, w->mask + (size_t)B * L->mask_off, dout, din);
        break;
    case LAYER_LOG_SOFTMAX: break; /* only last, see net_loss */
    }
}

void net_backward_span(const net_plan *p, const real *params, const real *packed,
                       real *grads, net_work *w, int B, int from, int to) {
    for (int i = to - 1; i >= from; i--) backward_layer(p, params, packed, grads, w, B, i);
}

double net_backward(const net_plan *p, const real *params, const real *packed,
                    real *grads, net_work *w, int B, const uint8_t *labels,
                    double norm) {
    double loss = net_loss(p, w, B, labels, norm);
    for (int i = p->nlayers - 2; i >= 0; i--) {
        if (p->layer[i].spec->kind == LAYER_BATCHNORM) net_bn_grad_sums(p, w, B, i);
        backward_layer(p, params, packed, grads, w, B, i);
    }
    return loss;
}

void net_init_params(const net_plan *p, real *params, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        if (L->spec->kind == LAYER_BATCHNORM) { /* weight 1, bias 0; no draws */
            for (size_t j = 0; j < L->w_count; j++) params[L->w_off + j] = 1;
            for (size_t j = 0; j < L->b_count; j++) params[L->b_off + j] = 0;
            continue;
        }
        if (!L->w_count) continue;
        double bound = 1.0 / sqrt((double)L->fan_in);
        for (size_t j = 0; j < L->w_count; j++)
            params[L->w_off + j] = (real)((2 * rng_uniform(&r) - 1) * bound);
        for (size_t j = 0; j < L->b_count; j++)
            params[L->b_off + j] = (real)((2 * rng_uniform(&r) - 1) * bound);
    }
}

void net_init_buffers(const net_plan *p, real *buffers, int64_t *counts) {
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        if (L->spec->kind != LAYER_BATCHNORM) continue;
        for (int c = 0; c < L->in_c; c++) {
            buffers[L->buf_off + c] = 0;
            buffers[L->buf_off + L->in_c + c] = 1;
        }
        counts[L->count_index] = 0;
    }
}

void net_bn_update_running(const net_plan *p, int i, const real *mean, const real *var,
                           size_t rows, real *buffers, int64_t *counts) {
    const layer_plan *L = &p->layer[i];
    real *rm = buffers + L->buf_off, *rv = rm + L->in_c;
    /* PyTorch refuses a single row; one row has no unbiased variance, so
     * it enters uncorrected. */
    double unbias = rows > 1 ? (double)rows / (double)(rows - 1) : 1;
    const real m = (real)NET_BN_MOMENTUM;
    for (int c = 0; c < L->in_c; c++) {
        rm[c] = (1 - m) * rm[c] + m * mean[c];
        rv[c] = (1 - m) * rv[c] + m * (real)((double)var[c] * unbias);
    }
    counts[L->count_index]++;
}

void net_fold(const net_plan *p, const real *params, const real *buffers, real *out) {
    memcpy(out, params, sizeof(real) * p->nparams);
    for (int i = 0; i + 1 < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i], *N = &p->layer[i + 1];
        if (!L->bn_next) continue;
        const real *rm = buffers + N->buf_off, *rv = rm + N->in_c;
        size_t per = L->w_count / (size_t)L->out_c; /* weights per output channel */
        for (int c = 0; c < L->out_c; c++) {
            double scale = (double)params[N->w_off + c] / sqrt((double)rv[c] + NET_BN_EPS);
            for (size_t k = 0; k < per; k++)
                out[L->w_off + (size_t)c * per + k] =
                    (real)((double)params[L->w_off + (size_t)c * per + k] * scale);
            double b = L->b_count ? (double)params[L->b_off + c] : 0;
            out[N->b_off + c] = (real)((b - (double)rm[c]) * scale + (double)params[N->b_off + c]);
        }
    }
}
