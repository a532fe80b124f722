/* SPDX-License-Identifier: MIT */
/*
 * schedule.c — OneCycleLR, CosineAnnealingLR, ExponentialLR and MultiStepLR
 * in closed form. PyTorch computes CosineAnnealingLR recursively from the
 * previous rate; the closed form (its _get_closed_form_lr) is the same
 * function, and only the last bits can differ.
 */
#include "schedule.h"

#include <math.h>

#include "optim.h"

#define PI 3.14159265358979323846
/* OneCycleLR's base_momentum and max_momentum defaults. */
#define ONECYCLE_BASE_MOMENTUM 0.85
#define ONECYCLE_MAX_MOMENTUM 0.95

/* OneCycleLR's anneal_strategy='cos': from start to end as pct goes 0 -> 1. */
static double anneal_cos(double start, double end, double pct) {
    return end + (start - end) / 2.0 * (cos(PI * pct) + 1);
}

/* Two phases as PyTorch lays them out (three_phase=False): up until step
 * pct_start * total - 1, then down until total - 1. */
static double onecycle(double pct_start, int64_t step, int64_t total, double first,
                       double peak, double last) {
    double end1 = pct_start * (double)total - 1, end2 = (double)total - 1;
    double s = (double)step;
    if (s <= end1) return anneal_cos(first, peak, s / end1);
    return anneal_cos(peak, last, (s - end1) / (end2 - end1));
}

double schedule_lr(const digit_train_options *o, int epoch, int64_t step, int64_t total) {
    switch (o->schedule) {
    case DIGIT_SCHEDULE_ONECYCLE: {
        double initial = o->learning_rate / o->div_factor;
        return onecycle(o->pct_start, step, total, initial, o->learning_rate,
                        initial / o->final_div_factor);
    }
    case DIGIT_SCHEDULE_COSINE:
        return o->learning_rate * (1 + cos(PI * epoch / o->epochs)) / 2;
    case DIGIT_SCHEDULE_EXPONENTIAL:
        return o->learning_rate * pow(o->gamma, epoch);
    default:
        return multistep_lr(o->learning_rate, o->gamma, o->milestones, o->milestone_count,
                            epoch);
    }
}

double schedule_beta1(const digit_train_options *o, int64_t step, int64_t total) {
    if (o->schedule != DIGIT_SCHEDULE_ONECYCLE || !o->cycle_momentum) return o->beta1;
    return onecycle(o->pct_start, step, total, ONECYCLE_MAX_MOMENTUM, ONECYCLE_BASE_MOMENTUM,
                    ONECYCLE_MAX_MOMENTUM);
}

digit_status schedule_check(const digit_train_options *o, int64_t total) {
    if (o->schedule < DIGIT_SCHEDULE_MULTISTEP || o->schedule > DIGIT_SCHEDULE_EXPONENTIAL)
        return digit_fail(DIGIT_ERR_ARGUMENT, "schedule must be 0..3, not %d", o->schedule);
    if (o->schedule != DIGIT_SCHEDULE_ONECYCLE) return DIGIT_OK;
    if (!(o->pct_start > 0 && o->pct_start < 1))
        return digit_fail(DIGIT_ERR_ARGUMENT, "pct_start must be in (0, 1), not %g",
                          o->pct_start);
    if (!(o->div_factor > 0) || !isfinite(o->div_factor))
        return digit_fail(DIGIT_ERR_ARGUMENT, "div_factor must be positive, not %g",
                          o->div_factor);
    if (!(o->final_div_factor > 0) || !isfinite(o->final_div_factor))
        return digit_fail(DIGIT_ERR_ARGUMENT, "final_div_factor must be positive, not %g",
                          o->final_div_factor);
    /* Each phase needs a step to span, or its pct divides by zero (PyTorch
     * fails the same way). */
    if (total && !(o->pct_start * (double)total - 1 > 0 &&
                   (double)total - 1 > o->pct_start * (double)total - 1))
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "schedule onecycle with pct_start %g does not fit a run of %lld steps",
                          o->pct_start, (long long)total);
    return DIGIT_OK;
}
