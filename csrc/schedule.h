/* SPDX-License-Identifier: MIT */
/*
 * schedule.h — learning-rate (and Adam beta1) schedules, computed as
 * PyTorch's torch.optim.lr_scheduler defines them (schedule.c).
 */
#ifndef DIGIT_SCHEDULE_H
#define DIGIT_SCHEDULE_H

#include "internal.h"

/* The rate of step `step` (0-based over the whole run; `total` steps) in
 * 0-based `epoch` under o->schedule. Per-epoch schedules ignore the step. */
double schedule_lr(const digit_train_options *o, int epoch, int64_t step, int64_t total);
/* Adam's beta1 at `step`: o->beta1, or OneCycleLR's cycled momentum. */
double schedule_beta1(const digit_train_options *o, int64_t step, int64_t total);
/* DIGIT_OK, or DIGIT_ERR_ARGUMENT naming the schedule option that is out
 * of range or does not fit a run of `total` steps (total 0: not known yet). */
digit_status schedule_check(const digit_train_options *o, int64_t total);

#endif
