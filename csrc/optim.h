/* SPDX-License-Identifier: MIT */
/*
 * optim.h — Adam as PyTorch's torch.optim.Adam computes it, and the
 * multi-step learning-rate schedule (torch.optim.lr_scheduler.MultiStepLR).
 */
#ifndef DIGIT_OPTIM_H
#define DIGIT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct adam {
    size_t n;
    float *m, *v;          /* first and second moments (exp_avg, exp_avg_sq) */
    int64_t step;
    double beta1, beta2, eps;
    double weight_decay;   /* decoupled (AdamW); 0: plain Adam */
} adam;

int adam_init(adam *a, size_t n);   /* 0 on allocation failure */
void adam_free(adam *a);

/* One step is adam_begin (counts it) and then adam_update over [lo, hi),
 * which may be split between threads. The gradient is the sum of `ngrads`
 * arrays (the parts of a batch that threads computed), added in order so
 * the result does not depend on timing. */
void adam_begin(adam *a);
void adam_update(const adam *a, float *params, const float *const *grads,
                 int ngrads, size_t lo, size_t hi, double lr);

/* The rate for 0-based `epoch`: base * gamma^(milestones passed), where a
 * milestone m is passed once m epochs have completed. */
double multistep_lr(double base, double gamma, const int *milestones, int n,
                    int epoch);

#endif
