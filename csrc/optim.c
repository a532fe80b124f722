/* SPDX-License-Identifier: MIT */
/*
 * optim.c — Adam and the learning-rate schedule.
 */
#include "internal.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "optim.h"

int adam_init(adam *a, size_t n) {
    a->n = n;
    a->m = calloc(n, sizeof(float));
    a->v = calloc(n, sizeof(float));
    a->step = 0;
    a->beta1 = 0.9, a->beta2 = 0.999, a->eps = 1e-8, a->weight_decay = 0;
    if (a->m && a->v) return 1;
    adam_free(a);
    return 0;
}

void adam_free(adam *a) {
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

void adam_begin(adam *a) { a->step++; }

/* The same sequence of operations as PyTorch's single-tensor Adam:
 *   m = lerp(m, g, 1-b1); v = b2*v + (1-b2)*g*g
 *   p -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
 * beta1 may change between steps (OneCycleLR's cycled momentum); the bias
 * correction uses the current one, as PyTorch does. */
static inline void add_block(float *restrict g, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] += x[i];
}

static inline void update_block(float *restrict p, float *restrict m, float *restrict v,
                                const float *restrict g, size_t n, float step_size,
                                float bc2_sqrt, float w1, float b2, float w2, float eps) {
    for (size_t i = 0; i < n; i++) {
        m[i] += w1 * (g[i] - m[i]);
        v[i] = v[i] * b2 + w2 * g[i] * g[i];
        float denom = DIGIT_SQRTF(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

DIGIT_HOT void adam_update(const adam *a, float *p, const float *const *grads,
                           int ngrads, size_t lo, size_t hi, double lr) {
    const double bc1 = 1 - pow(a->beta1, (double)a->step);
    const double bc2 = 1 - pow(a->beta2, (double)a->step);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float w1 = (float)(1 - a->beta1), b2 = (float)a->beta2,
                w2 = (float)(1 - a->beta2), eps = (float)a->eps;
    float *m = a->m, *v = a->v;
    /* AdamW decays the parameter before the step: p *= 1 - lr * wd. */
    if (a->weight_decay != 0) {
        const float decay = (float)(1 - lr * a->weight_decay);
        for (size_t i = lo; i < hi; i++) p[i] *= decay;
    }
    /* In blocks: the parts' gradients summed (in order) into a local
     * array first, so that the update loop has no pointer it could alias
     * and runs on full vectors; each element's arithmetic is unchanged. */
    enum { BLOCK = 512 };
    for (size_t at = lo; at < hi; at += BLOCK) {
        const size_t n = hi - at < BLOCK ? hi - at : BLOCK;
        float g[BLOCK];
        memcpy(g, grads[0] + at, sizeof(float) * n);
        for (int k = 1; k < ngrads; k++) add_block(g, grads[k] + at, n);
        update_block(p + at, m + at, v + at, g, n, step_size, bc2_sqrt, w1, b2, w2, eps);
    }
}

double multistep_lr(double base, double gamma, const int *milestones, int n,
                    int epoch) {
    double lr = base;
    for (int i = 0; i < n; i++)
        if (epoch >= milestones[i]) lr *= gamma;
    return lr;
}
