/* SPDX-License-Identifier: MIT */
/*
 * train.h — the state of a training run, shared by the loop (train.c) and
 * the checkpoints that save and restore it (checkpoint.c).
 */
#ifndef DIGIT_TRAIN_H
#define DIGIT_TRAIN_H

#include "model.h"
#include "optim.h"

/* One thread's share of a batch: its scratch and its gradient. */
typedef struct worker {
    net_work work;
    float *grads;         /* batch norm networks: the share's gradient */
    float *micro_grads;   /* a micro-batch's after a part's first, added in */
    uint8_t *labels;
    uint8_t *augmented;   /* the micro-batch's images after augmentation */
    int start, count;     /* images [start, start+count) of the batch */
    double loss;
} worker;

/* Everything that evolves during a run. */
typedef struct trainer {
    digit_model *model;
    const digit_dataset *train, *test;
    digit_train_options opt;
    adam opt_state;
    int nworkers;         /* threads, each with its worker's scratch */
    worker *workers;
    /* Networks without batch norm: the batch in parts of part_size images
     * (TRAIN_MICRO, more for batches over TRAIN_MAX_PARTS micro-batches)
     * that the workers take in turn (next_part); each part's gradient and
     * loss has its own slot, summed in part order, so the result does not
     * depend on which thread ran which part. */
    int nparts, part_size;
    float **part_grads;
    double *part_loss;
    _Atomic int next_part;
    _Atomic int next_slice;   /* the update's (train.c) */
    float *packed;        /* conv weights as the convolutions read them */
    uint32_t *perm;
    size_t n;
    int batches;          /* per epoch */
    int epoch, batch;     /* position: next batch to run, 0-based; batch ==
                             batches: the epoch's batches are done, its
                             evaluation is not (a cancel on its last batch) */
    double loss_sum;      /* over the current epoch's batches so far */
    int step_batch, step_size; /* the batch being run and its size */
    double step_lr;
    /* Batch-norm networks: the phase the workers run next (see train.c). */
    int phase_kind, phase_from, phase_to, phase_bn;
    int bn_owner;         /* the worker whose gradient holds dgamma, dbeta */
    double *bn_tot;       /* 2 * plan.nstats: the batch's summed sums */
} trainer;

/* The options' struct_size must be one some header produced. */
digit_status train_check_size(const char *what, size_t size);
/* The defaults of architecture `a` (digit_train_options_init). */
void train_defaults(digit_train_options *o, const arch_spec *a);

/* checkpoint.c: the run's state to o->checkpoint_path, and back. */
digit_status checkpoint_save(const trainer *t);
digit_status checkpoint_restore(trainer *t, const char *path);

#endif
