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

static void add_tensor(net_plan *p, const char *layer, const char *what,
                       int rank, const int *shape, size_t offset) {
    tensor_plan *t = &p->tensor[p->ntensors++];
    snprintf(t->name, sizeof t->name, "%s.%s", layer, what);
    t->rank = rank;
    t->count = 1;
    for (int i = 0; i < rank; i++) {
        t->shape[i] = shape[i];
        t->count *= (size_t)shape[i];
    }
    t->offset = offset;
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
        L->b_off = L->w_off + L->w_count, L->b_count = (size_t)s->out;
        add_tensor(p, s->name, "weight", 4, ws, L->w_off);
        add_tensor(p, s->name, "bias", 1, &s->out, L->b_off);
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
        L->b_off = L->w_off + L->w_count, L->b_count = (size_t)s->out;
        add_tensor(p, s->name, "weight", 2, ws, L->w_off);
        add_tensor(p, s->name, "bias", 1, &s->out, L->b_off);
        snprintf(L->description, sizeof L->description, "linear %d->%d",
                 L->in_c, s->out);
        break;
    }
    case LAYER_RELU:
        snprintf(L->description, sizeof L->description, "ReLU");
        break;
    case LAYER_LOG_SOFTMAX:
        if (L->in_h != 1 || L->in_w != 1) return 0;
        snprintf(L->description, sizeof L->description, "log-softmax");
        break;
    }
    p->nparams += L->w_count + L->b_count;
    return 1;
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
            size_t col = (size_t)L->out_h * L->out_w * L->fan_in;
            L->pack_off = p->npacked;
            p->npacked += L->w_count;
            if (L->w_count > p->conv_w_max) p->conv_w_max = L->w_count;
            L->col_off = p->col_per_image;
            p->col_per_image += col;
            if (col > p->col_max_per_image) p->col_max_per_image = col;
        }
        if (L->spec->kind == LAYER_MAXPOOL) {
            L->arg_off = p->arg_per_image;
            p->arg_per_image += out_n;
        }
        /* ReLU then max-pool run as one pass (they commute). */
        if (L->spec->kind == LAYER_MAXPOOL && i > 0 &&
            p->layer[i - 1].spec->kind == LAYER_RELU)
            p->layer[i - 1].fused = L->fused = 1;
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
    size_t n_arg = B * p->arg_per_image;
    size_t reals = n_act * (training ? 2 : 1) + n_col + n_dcol + n_dpacked;
    /* One block: reals first, then the int32 argmax array (aligned). */
    size_t bytes = reals * sizeof(real) + n_arg * sizeof(int32_t) + 64;
    /* Not zeroed: every layer writes its whole output before anything reads
     * it, and zeroing ~0.5 MB per image showed up in single-image latency. */
    w->block = malloc(bytes);
    if (!w->block) return 0;
    real *r = w->block;
    w->act = r, r += n_act;
    if (training) w->dact = r, r += n_act;
    w->col = r, r += n_col;
    if (training) w->dcol = r, r += n_dcol, w->dpacked = r, r += n_dpacked;
    w->arg = (int32_t *)r;
    w->capacity = capacity;
    w->training = training;
    return 1;
}

void net_work_free(net_work *w) {
    free(w->block);
    memset(w, 0, sizeof *w);
}

static conv_shape conv_of(const layer_plan *L, int B) {
    conv_shape s = {B, L->in_h, L->in_w, L->in_c, L->out_h, L->out_w,
                    L->out_c, L->spec->k, L->spec->pad, L->spec->stride};
    return s;
}

static real *col_of(const layer_plan *L, net_work *w, int B) {
    return w->col + (w->training ? (size_t)B * L->col_off : 0);
}

void net_pack(const net_plan *p, const real *params, real *packed) {
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        if (L->spec->kind != LAYER_CONV) continue;
        conv_shape s = conv_of(L, 1);
        conv_pack(&s, params + L->w_off, packed + L->pack_off);
    }
}

void net_forward(const net_plan *p, const real *params, const real *packed,
                 net_work *w, int B) {
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        const real *in = w->act + (size_t)B * L->in_act;
        real *out = w->act + (size_t)B * L->out_act;
        size_t n_out = (size_t)B * L->out_c * L->out_h * L->out_w;
        switch (L->spec->kind) {
        case LAYER_CONV: {
            conv_shape s = conv_of(L, B);
            conv2d_forward(&s, in, packed + L->pack_off, params + L->b_off,
                           col_of(L, w, B), out);
            break;
        }
        case LAYER_RELU:
            if (!L->fused) relu_forward(out, n_out);
            break;
        case LAYER_MAXPOOL:
            maxpool_forward(B, L->in_h, L->in_w, L->in_c, L->spec->k, L->fused,
                            in, out, w->training ? w->arg + (size_t)B * L->arg_off : NULL);
            break;
        case LAYER_FLATTEN:
            flatten_forward(B, L->in_h, L->in_w, L->in_c, in, out);
            break;
        case LAYER_LINEAR:
            linear_forward(B, L->in_c, L->out_c, in, params + L->w_off,
                           params + L->b_off, out);
            break;
        case LAYER_LOG_SOFTMAX:
            log_softmax_forward(B, L->in_c, in, out);
            break;
        }
    }
}

double net_backward(const net_plan *p, const real *params, const real *packed,
                    real *grads, net_work *w, int B, const uint8_t *labels,
                    double norm) {
    const layer_plan *last = &p->layer[p->nlayers - 1];
    /* Log-softmax + NLL: the gradient w.r.t. the logits in one step. */
    double loss = nll_loss(B, DIGIT_CLASSES, w->act + (size_t)B * last->out_act,
                           labels, norm, w->dact + (size_t)B * last->in_act);
    for (int i = p->nlayers - 2; i >= 0; i--) {
        const layer_plan *L = &p->layer[i];
        const real *in = w->act + (size_t)B * L->in_act;
        const real *out = w->act + (size_t)B * L->out_act;
        const real *dout = w->dact + (size_t)B * L->out_act;
        /* The first layer's input gradient is never needed. */
        real *din = i == 0 ? NULL : w->dact + (size_t)B * L->in_act;
        switch (L->spec->kind) {
        case LAYER_CONV: {
            conv_shape s = conv_of(L, B);
            conv2d_backward(&s, col_of(L, w, B), packed + L->pack_off, dout,
                            w->dpacked, grads + L->w_off, grads + L->b_off,
                            w->dcol, din);
            break;
        }
        case LAYER_RELU:
            if (!L->fused)
                relu_backward(out, w->dact + (size_t)B * L->out_act,
                              (size_t)B * L->out_c * L->out_h * L->out_w);
            break;
        case LAYER_MAXPOOL:
            if (din)
                maxpool_backward(B, L->in_h, L->in_w, L->in_c, L->spec->k, L->fused,
                                 w->arg + (size_t)B * L->arg_off, out, dout, din);
            break;
        case LAYER_FLATTEN:
            if (din) flatten_backward(B, L->in_h, L->in_w, L->in_c, dout, din);
            break;
        case LAYER_LINEAR:
            linear_backward(B, L->in_c, L->out_c, in, params + L->w_off, dout,
                            grads + L->w_off, grads + L->b_off, din);
            break;
        case LAYER_LOG_SOFTMAX: break; /* only last, handled above */
        }
    }
    return loss;
}

void net_init_params(const net_plan *p, real *params, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < p->nlayers; i++) {
        const layer_plan *L = &p->layer[i];
        if (!L->w_count) continue;
        double bound = 1.0 / sqrt((double)L->fan_in);
        for (size_t j = 0; j < L->w_count; j++)
            params[L->w_off + j] = (real)((2 * rng_uniform(&r) - 1) * bound);
        for (size_t j = 0; j < L->b_count; j++)
            params[L->b_off + j] = (real)((2 * rng_uniform(&r) - 1) * bound);
    }
}
