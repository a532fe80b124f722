/* SPDX-License-Identifier: MIT */
/*
 * train.c — the training loop: shuffled mini-batches, Adam, the schedule,
 * per-epoch evaluation, progress callbacks, and checkpoints that let a run
 * stop anywhere and resume to the very same model, bit for bit.
 *
 * Reproducibility rests on two facts: each epoch's shuffle is a pure
 * function of (seed, epoch), and a checkpoint records everything else that
 * evolves (weights, Adam moments and step, position, loss so far).
 */
#include "train.h"

#include "augment.h"
#include "layers.h"
#include "parallel.h"
#include "rng.h"
#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

digit_status train_check_size(const char *what, size_t size) {
    /* Exactly a layout some header produced: 2.0's (through
     * checkpoint_path) or this one. */
    const size_t v2_0 = DIGIT_SIZE_THROUGH(digit_train_options, checkpoint_path);
    if (size == v2_0) return DIGIT_OK;
    return digit_check_size(what, size, sizeof(digit_train_options), sizeof(digit_train_options));
}

/* An arch_spec field of 0 means "the default" for fields whose 0 is not a
 * usable value. */
static double or_default(double v, double def) { return v != 0 ? v : def; }

void train_defaults(digit_train_options *o, const arch_spec *a) {
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->epochs = a->epochs;
    o->batch_size = a->batch_size;
    o->learning_rate = a->learning_rate;
    o->gamma = a->gamma;
    o->milestone_count = a->nmilestones;
    memcpy(o->milestones, a->milestones, sizeof(int) * (size_t)a->nmilestones);
    o->seed = 1;
    o->threads = 0;
    o->schedule = a->schedule;
    o->pct_start = or_default(a->pct_start, 0.3);
    o->div_factor = or_default(a->div_factor, 25);
    o->final_div_factor = or_default(a->final_div_factor, 1e4);
    o->cycle_momentum = a->cycle_momentum;
    o->beta1 = or_default(a->beta1, 0.9);
    o->beta2 = or_default(a->beta2, 0.999);
    o->weight_decay = a->weight_decay;
    o->label_smoothing = a->label_smoothing;
    o->augment_rotate = a->augment_rotate;
    o->augment_scale = a->augment_scale;
    o->augment_shift = a->augment_shift;
    o->augment_shear = a->augment_shear;
}

DIGIT_API digit_status digit_train_options_init(digit_train_options *o, size_t size,
                                                const char *preset) {
    digit_clear_error();
    if (!o) return digit_null("digit_train_options_init", "opt");
    digit_status st = train_check_size("digit_train_options_init: size", size);
    if (st != DIGIT_OK) return st;
    if (!preset) return digit_null("digit_train_options_init", "preset");
    const arch_spec *a = arch_find(preset);
    if (!a)
        return digit_fail(DIGIT_ERR_ARGUMENT, "unknown architecture '%s' (known: %s)",
                          preset, arch_names());
    digit_train_options full;
    train_defaults(&full, a);
    full.struct_size = size;
    memcpy(o, &full, size);
    return DIGIT_OK;
}

/* The 2.1 fields: Adam, the loss and augmentation. */
static digit_status check_added(const digit_train_options *o) {
    if (!(o->beta1 >= 0 && o->beta1 < 1))
        return digit_fail(DIGIT_ERR_ARGUMENT, "beta1 must be in [0, 1), not %g", o->beta1);
    if (!(o->beta2 >= 0 && o->beta2 < 1))
        return digit_fail(DIGIT_ERR_ARGUMENT, "beta2 must be in [0, 1), not %g", o->beta2);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return digit_fail(DIGIT_ERR_ARGUMENT, "weight decay must be >= 0, not %g",
                          o->weight_decay);
    if (!(o->label_smoothing >= 0 && o->label_smoothing <= 1))
        return digit_fail(DIGIT_ERR_ARGUMENT, "label smoothing must be 0..1, not %g",
                          o->label_smoothing);
    digit_status st = schedule_check(o, 0);
    return st != DIGIT_OK ? st : augment_check(o);
}

static digit_status check_options(const digit_train_options *o) {
    if (o->epochs < 1 || o->epochs > DIGIT_MAX_EPOCHS)
        return digit_fail(DIGIT_ERR_ARGUMENT, "epochs must be 1..%d, not %d", DIGIT_MAX_EPOCHS,
                          o->epochs);
    if (o->batch_size < 1 || o->batch_size > DIGIT_MAX_BATCH_SIZE)
        return digit_fail(DIGIT_ERR_ARGUMENT, "batch size must be 1..%d, not %d",
                          DIGIT_MAX_BATCH_SIZE, o->batch_size);
    if (!(o->learning_rate > 0) || !isfinite(o->learning_rate))
        return digit_fail(DIGIT_ERR_ARGUMENT, "learning rate must be positive, not %g",
                          o->learning_rate);
    if (!(o->gamma > 0) || !isfinite(o->gamma))
        return digit_fail(DIGIT_ERR_ARGUMENT, "gamma must be positive, not %g", o->gamma);
    if (o->milestone_count < 0 || o->milestone_count > DIGIT_MAX_MILESTONES)
        return digit_fail(DIGIT_ERR_ARGUMENT, "milestone count must be 0..%d, not %d",
                          DIGIT_MAX_MILESTONES, o->milestone_count);
    for (int i = 0; i < o->milestone_count; i++)
        if (o->milestones[i] < 1 || o->milestones[i] > DIGIT_MAX_EPOCHS ||
            (i && o->milestones[i] <= o->milestones[i - 1]))
            return digit_fail(DIGIT_ERR_ARGUMENT,
                              "milestones must be positive and increasing (at %d)",
                              o->milestones[i]);
    if (o->threads < 0 || o->threads > DIGIT_MAX_THREADS)
        return digit_fail(DIGIT_ERR_ARGUMENT, "threads must be 0..%d, not %d", DIGIT_MAX_THREADS,
                          o->threads);
    return check_added(o);
}

/* A caller's options, completed: fields past its struct_size (an older
 * header) take the defaults of the model's architecture. */
static digit_status full_options(const digit_train_options *o, const arch_spec *a,
                                 digit_train_options *full) {
    train_defaults(full, a);
    digit_status st = train_check_size("digit_train: opt", o->struct_size);
    if (st != DIGIT_OK) return st;
    memcpy(full, o, o->struct_size);
    full->struct_size = sizeof *full;
    return DIGIT_OK;
}

DIGIT_API digit_status digit_train_options_check(const digit_train_options *o) {
    digit_clear_error();
    if (!o) return digit_null("digit_train_options_check", "opt");
    digit_status st = train_check_size("digit_train_options_check: opt", o->struct_size);
    if (st != DIGIT_OK) return st;
    /* Fields past an old caller's size are not its business. */
    digit_train_options full;
    train_defaults(&full, arch_at(0));
    memcpy(&full, o, o->struct_size);
    return check_options(&full);
}

/* Images a worker runs through the network at once: a batch goes through
 * in parts of micro-batches of this size, their gradients summed. Small
 * enough that a micro-batch's scratch stays in cache (measured on a Zen 4
 * with the Winograd kernels: 16 beat 32 and 64), large enough for long
 * GEMM rows. Networks with batch norm run each worker's whole share at
 * once instead (see bn_step). */
#define TRAIN_MICRO 16
/* Parts of one batch at most (each has a gradient buffer). */
#define TRAIN_MAX_PARTS 64

/* The epoch's order: Fisher-Yates from a generator seeded by (seed, epoch). */
static void shuffle(uint32_t *perm, size_t n, uint64_t seed, int epoch) {
    rng r;
    uint64_t mix = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1));
    rng_seed(&r, mix);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&r, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the loop ---- */

DIGIT_HOT static void add_into(float *restrict sum, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) sum[i] += x[i];
}

/* Images [at, at + n) of worker w's share into its network input,
 * augmented if asked for and normalised, with their labels. */
static void gather(trainer *t, worker *w, int at, int n) {
    const uint8_t *images = digit_dataset_images(t->train);
    const uint8_t *y = digit_dataset_labels(t->train);
    const uint32_t *order = t->perm + (size_t)t->step_batch * t->opt.batch_size + w->start;
    float *in = net_input(&w->work);
    int augment = augment_enabled(&t->opt);
    for (int k = 0; k < n; k++) {
        uint32_t img = order[at + k];
        const uint8_t *src = images + (size_t)img * DIGIT_IMAGE_PIXELS;
        if (augment) {
            augment_image(&t->opt, t->epoch, img, src, w->augmented);
            src = w->augmented;
        }
        model_normalise_u8(t->model, src, 1, in + (size_t)k * DIGIT_IMAGE_PIXELS);
        w->labels[k] = y[img];
    }
    /* Dropout masks: per (seed, step) and position in the batch. */
    w->work.dropout_seed = t->opt.seed ^ (0x94d049bb133111ebULL *
                                          (uint64_t)((int64_t)t->epoch * t->batches +
                                                     t->step_batch + 1));
    w->work.first_image = (uint64_t)(w->start + at);
}

/* The parts of the current batch (networks without batch norm). */
static int batch_parts(const trainer *t) {
    return (t->step_size + t->part_size - 1) / t->part_size;
}

/* Worker i takes parts of the batch until none is left: each a
 * micro-batch, forward and backward, into the part's own gradient. A
 * stalled thread then holds up at most one part, which the others do not
 * wait for. The loss is normalised by the whole batch so that the parts'
 * gradients simply add up. */
static void train_part(void *ctx, int i) {
    trainer *t = ctx;
    worker *w = &t->workers[i];
    const net_plan *p = &t->model->plan;
    for (int part; (part = t->next_part++) < batch_parts(t);) {
        w->start = part * t->part_size;
        int count = t->step_size - w->start < t->part_size ? t->step_size - w->start
                                                            : t->part_size;
        t->part_loss[part] = 0;
        for (int at = 0; at < count; at += TRAIN_MICRO) {
            int n = count - at < TRAIN_MICRO ? count - at : TRAIN_MICRO;
            gather(t, w, at, n);
            float *g = at == 0 ? t->part_grads[part] : w->micro_grads;
            net_forward(p, t->model->params, t->packed, &w->work, n);
            t->part_loss[part] += net_backward(p, t->model->params, t->packed, g, &w->work, n,
                                               w->labels, t->step_size);
            if (at) add_into(t->part_grads[part], g, p->nparams);
        }
    }
}

/* ---- networks with batch norm ----
 *
 * A batch norm needs the statistics of the whole batch (PyTorch's), while
 * each worker holds only its share. So the pass is cut at every batch norm:
 * the workers run up to it and sum its input per channel; the calling
 * thread adds the workers' sums in worker order (so a thread count gives
 * one result, whatever the timing), turns them into mean and variance,
 * hands them to every worker and updates the running statistics; the
 * workers go on to the next batch norm. Backward is cut the same way, at
 * each batch norm's gradient sums. Each cut is one parallel_run: the
 * threads are joined and restarted instead of meeting at a barrier, which
 * costs ~0.1 ms per cut and cannot deadlock when a thread fails to start
 * (parallel_run then runs that part on the calling thread).
 *
 * A worker's share goes through in one piece rather than in micro-batches:
 * the statistics must be known before any image passes a batch norm, and
 * keeping the whole share's activations is what that takes. The networks
 * without batch norm keep the micro-batch path (train_part), unchanged. */

enum { PHASE_FORWARD, PHASE_TAIL, PHASE_BACKWARD };

/* One phase of a worker's share:
 *   PHASE_FORWARD: layers [phase_from, phase_to), then the input sums of
 *     batch norm phase_bn (= phase_to); the first also gathers the images;
 *   PHASE_TAIL: layers [phase_from, end), the loss, backward down to the
 *     output of the last batch norm phase_bn, and its gradient sums;
 *   PHASE_BACKWARD: backward through [phase_from, phase_to), then the
 *     gradient sums of batch norm phase_bn (-1: none, the input reached). */
static void bn_part(void *ctx, int i) {
    trainer *t = ctx;
    worker *w = &t->workers[i];
    const net_plan *p = &t->model->plan;
    const float *params = t->model->params;
    int B = w->count;
    if (!B) return;
    switch (t->phase_kind) {
    case PHASE_FORWARD:
        if (t->phase_from == 0) {
            gather(t, w, 0, B);
            w->work.bn_batch = t->step_size;
            w->work.bn_owner = i == t->bn_owner;
        }
        net_forward_span(p, params, t->packed, &w->work, B, t->phase_from, t->phase_to);
        net_bn_sums(p, &w->work, B, t->phase_bn);
        break;
    case PHASE_TAIL:
        net_forward_span(p, params, t->packed, &w->work, B, t->phase_from, p->nlayers);
        w->loss = net_loss(p, &w->work, B, w->labels, t->step_size);
        net_backward_span(p, params, t->packed, w->grads, &w->work, B, t->phase_bn + 1,
                          p->nlayers - 1);
        net_bn_grad_sums(p, &w->work, B, t->phase_bn);
        break;
    case PHASE_BACKWARD:
        net_backward_span(p, params, t->packed, w->grads, &w->work, B, t->phase_from,
                          t->phase_to);
        if (t->phase_bn >= 0) net_bn_grad_sums(p, &w->work, B, t->phase_bn);
        break;
    }
}

/* The workers' sums for batch norm i (a = sum, b = sum of squares; or the
 * gradient sums), added in worker order into tot[0..C) and tot[C..2C). */
static void bn_reduce(trainer *t, int i, int grad, double *tot) {
    const layer_plan *L = &t->model->plan.layer[i];
    const size_t C = (size_t)L->in_c;
    memset(tot, 0, sizeof(double) * 2 * C);
    for (int k = 0; k < t->nworkers; k++) {
        const net_work *w = &t->workers[k].work;
        if (!t->workers[k].count) continue;
        const double *a = (grad ? w->bn_gsum : w->bn_sum) + L->stat_off;
        const double *b = (grad ? w->bn_gsumxc : w->bn_sq) + L->stat_off;
        for (size_t c = 0; c < C; c++) tot[c] += a[c], tot[C + c] += b[c];
    }
}

/* Forward statistics of batch norm i from the workers' sums: to every
 * worker, and into the model's running statistics. */
static void bn_share_stats(trainer *t, int i) {
    const net_plan *p = &t->model->plan;
    const layer_plan *L = &p->layer[i];
    const size_t C = (size_t)L->in_c;
    size_t rows = net_bn_rows(p, i, t->step_size);
    bn_reduce(t, i, 0, t->bn_tot);
    net_work *w0 = &t->workers[0].work;
    batchnorm_moments(L->in_c, (double)rows, t->bn_tot, t->bn_tot + C, w0->bn_mean + L->stat_off,
                      w0->bn_var + L->stat_off);
    for (int k = 1; k < t->nworkers; k++) {
        net_work *w = &t->workers[k].work;
        memcpy(w->bn_mean + L->stat_off, w0->bn_mean + L->stat_off, sizeof(float) * C);
        memcpy(w->bn_var + L->stat_off, w0->bn_var + L->stat_off, sizeof(float) * C);
    }
    net_bn_update_running(p, i, w0->bn_mean + L->stat_off, w0->bn_var + L->stat_off, rows,
                          t->model->buffers, t->model->counts);
}

/* Gradient sums of batch norm i from the workers' partial ones, to all. */
static void bn_share_grads(trainer *t, int i) {
    const layer_plan *L = &t->model->plan.layer[i];
    const size_t C = (size_t)L->in_c;
    bn_reduce(t, i, 1, t->bn_tot);
    for (int k = 0; k < t->nworkers; k++) {
        net_work *w = &t->workers[k].work;
        memcpy(w->bn_gsum + L->stat_off, t->bn_tot, sizeof(double) * C);
        memcpy(w->bn_gsumxc + L->stat_off, t->bn_tot + C, sizeof(double) * C);
    }
}

static void bn_phase(trainer *t, int kind, int from, int to, int bn) {
    t->phase_kind = kind, t->phase_from = from, t->phase_to = to, t->phase_bn = bn;
    parallel_run(t->nworkers, bn_part, t);
}

static void bn_step(trainer *t) {
    const net_plan *p = &t->model->plan;
    int bn[NET_MAX_LAYERS], nbn = 0;
    for (int i = 0; i < p->nlayers; i++)
        if (p->layer[i].spec->kind == LAYER_BATCHNORM) bn[nbn++] = i;
    /* The batch's totals of dgamma and dbeta go into one worker's gradient:
     * the first with images (a last batch may leave worker 0 none). */
    t->bn_owner = 0;
    while (!t->workers[t->bn_owner].count) t->bn_owner++;
    for (int k = 0; k < t->nworkers; k++) t->workers[k].loss = 0;
    int from = 0;
    for (int k = 0; k < nbn; k++) {
        bn_phase(t, PHASE_FORWARD, from, bn[k], bn[k]);
        bn_share_stats(t, bn[k]);
        from = bn[k];
    }
    bn_phase(t, PHASE_TAIL, from, p->nlayers, bn[nbn - 1]);
    bn_share_grads(t, bn[nbn - 1]);
    for (int k = nbn - 1; k >= 0; k--) {
        bn_phase(t, PHASE_BACKWARD, k ? bn[k - 1] + 1 : 0, bn[k] + 1, k ? bn[k - 1] : -1);
        if (k) bn_share_grads(t, bn[k - 1]);
    }
}

/* The update goes in slices of this many parameters that the threads take
 * in turn (next_slice), so a stalled thread holds up one slice rather than
 * its fixed half. Adam is elementwise: the split changes no bit. */
#define UPDATE_SLICE (16 * 1024)

/* Slices of the parameters: the parts' gradients summed, in part order,
 * and Adam applied. */
static void update_part(void *ctx, int i) {
    trainer *t = ctx;
    (void)i;
    const float *grads[TRAIN_MAX_PARTS > PARALLEL_MAX_WORKERS ? TRAIN_MAX_PARTS
                                                              : PARALLEL_MAX_WORKERS];
    int n = 0;
    if (t->nparts)
        for (int k = 0; k < batch_parts(t); k++) grads[n++] = t->part_grads[k];
    else
        for (int k = 0; k < t->nworkers; k++)
            if (t->workers[k].count) grads[n++] = t->workers[k].grads;
    const size_t np = t->model->plan.nparams;
    for (size_t lo; (lo = (size_t)t->next_slice++ * UPDATE_SLICE) < np;) {
        size_t hi = np - lo < UPDATE_SLICE ? np : lo + UPDATE_SLICE;
        adam_update(&t->opt_state, t->model->params, grads, n, lo, hi, t->step_lr);
    }
}

/* One optimisation step on batch b of the epoch; returns the batch loss. */
static double train_step(trainer *t, int b, int B, double lr) {
    t->step_batch = b, t->step_size = B, t->step_lr = lr;
    for (int i = 0; i < t->nworkers; i++) {
        t->workers[i].start = B * i / t->nworkers;
        t->workers[i].count = B * (i + 1) / t->nworkers - t->workers[i].start;
    }
    net_pack(&t->model->plan, t->model->params, t->packed);
    if (t->model->plan.nbatchnorm) {
        bn_step(t);
    } else {
        t->next_part = 0;
        parallel_run(t->nworkers, train_part, t);
    }
    adam_begin(&t->opt_state);
    t->next_slice = 0;
    parallel_run(t->nworkers, update_part, t);
    t->model->weights_version++; /* an evaluation from a callback re-packs */
    double loss = 0;
    if (t->nparts)
        for (int k = 0; k < batch_parts(t); k++) loss += t->part_loss[k];
    else
        for (int i = 0; i < t->nworkers; i++) loss += t->workers[i].loss;
    return loss;
}

/* A callback freed the model: stop; digit_train reports it and frees. */
static int freed_by_callback(const trainer *t) {
    digit_handles_lock();
    int freed = t->model->free_pending;
    digit_handles_unlock();
    return freed;
}

static int64_t total_steps(const trainer *t) {
    return (int64_t)t->opt.epochs * t->batches;
}

/* Runs the rest of the current epoch; *lr receives the last step's rate. */
static digit_status run_epoch(trainer *t, double *lr) {
    const digit_train_options *o = &t->opt;
    shuffle(t->perm, t->n, o->seed, t->epoch);
    while (t->batch < t->batches) {
        int b = t->batch;
        size_t left = t->n - (size_t)b * o->batch_size;
        int B = left < (size_t)o->batch_size ? (int)left : o->batch_size;
        int64_t step = (int64_t)t->epoch * t->batches + b;
        *lr = schedule_lr(o, t->epoch, step, total_steps(t));
        t->opt_state.beta1 = schedule_beta1(o, step, total_steps(t));
        double loss = train_step(t, b, B, *lr);
        t->loss_sum += loss;
        t->batch++;
        if (o->on_batch) {
            digit_batch_progress p = {sizeof p, t->epoch + 1, b + 1, t->batches, (float)loss,
                                      (size_t)b * o->batch_size + (size_t)B, *lr};
            if (o->on_batch(&p, o->user)) return DIGIT_ERR_CANCELLED;
            if (freed_by_callback(t)) return DIGIT_ERR_BUSY;
        }
    }
    return DIGIT_OK;
}

static digit_status cancelled(trainer *t) {
    if (t->opt.checkpoint_path) {
        digit_status st = checkpoint_save(t);
        if (st != DIGIT_OK) return st;
    }
    return digit_fail(DIGIT_ERR_CANCELLED, "training cancelled at epoch %d, batch %d",
                      t->epoch + 1, t->batch);
}

static digit_status train_loop(trainer *t) {
    const digit_train_options *o = &t->opt;
    digit_status st = DIGIT_OK;
    while (t->epoch < o->epochs && st == DIGIT_OK) {
        /* The epoch's rate for the report (per-batch schedules: the last
         * batch's); an epoch with nothing left to run reports this. */
        double lr = schedule_lr(o, t->epoch, (int64_t)(t->epoch + 1) * t->batches - 1,
                                total_steps(t));
        double start = now();
        st = run_epoch(t, &lr);
        if (st == DIGIT_ERR_CANCELLED) {
            st = cancelled(t);
            break;
        }
        if (st == DIGIT_ERR_BUSY) break;
        digit_epoch_progress p = {sizeof p, t->epoch + 1, o->epochs, t->loss_sum / t->batches,
                                  NAN, NAN, now() - start, lr};
        if (t->test) {
            digit_evaluation ev;
            digit_evaluation_init(&ev);
            if ((st = digit_evaluate(t->model, t->test, &ev)) != DIGIT_OK) break;
            p.test_loss = ev.loss, p.test_accuracy = ev.accuracy;
        }
        t->epoch++, t->batch = 0, t->loss_sum = 0;
        if (o->checkpoint_path && (st = checkpoint_save(t)) != DIGIT_OK) break;
        /* A stop asked for after the last epoch has nothing left to stop. */
        if (o->on_epoch && o->on_epoch(&p, o->user) && t->epoch < o->epochs)
            st = digit_fail(DIGIT_ERR_CANCELLED, "training cancelled after epoch %d", p.epoch);
        if (st == DIGIT_OK && freed_by_callback(t)) break;
    }
    return st;
}

static digit_status trainer_init(trainer *t, digit_model *m, const digit_dataset *train,
                                 const digit_dataset *test, const digit_train_options *o) {
    memset(t, 0, sizeof *t);
    t->model = m, t->train = train, t->test = test;
    /* Callers built against an older, shorter struct get defaults for the
     * fields they do not know. */
    digit_status st = full_options(o, m->plan.arch, &t->opt);
    if (st != DIGIT_OK) return st;
    st = check_options(&t->opt);
    if (st != DIGIT_OK) return st;
    t->n = digit_dataset_count(train);
    if (t->n > UINT32_MAX)
        return digit_fail(DIGIT_ERR_ARGUMENT, "training set of %zu images is too large", t->n);
    t->batches = (int)((t->n + (size_t)t->opt.batch_size - 1) / (size_t)t->opt.batch_size);
    if ((st = schedule_check(&t->opt, total_steps(t))) != DIGIT_OK) return st;
    int bs = (size_t)t->opt.batch_size < t->n ? t->opt.batch_size : (int)t->n;
    t->nworkers = parallel_threads(t->opt.threads, bs);
    if (t->nworkers > PARALLEL_MAX_WORKERS) t->nworkers = PARALLEL_MAX_WORKERS;
    int share = (bs + t->nworkers - 1) / t->nworkers;
    int bn = m->plan.nbatchnorm > 0;
    /* Scratch for the images a worker runs at once: its share (batch norm)
     * or one micro-batch. */
    int cap = bn ? share : bs < TRAIN_MICRO ? bs : TRAIN_MICRO;
    if (!bn) { /* parts: whole micro-batches, at most TRAIN_MAX_PARTS */
        int micro = (bs + TRAIN_MICRO - 1) / TRAIN_MICRO;
        t->part_size = (micro + TRAIN_MAX_PARTS - 1) / TRAIN_MAX_PARTS * TRAIN_MICRO;
        t->nparts = (bs + t->part_size - 1) / t->part_size;
    }
    t->workers = calloc((size_t)t->nworkers, sizeof *t->workers);
    int ok = t->workers && adam_init(&t->opt_state, m->plan.nparams) &&
             (t->packed = malloc(sizeof(float) * (m->plan.npacked + 1))) &&
             (t->perm = malloc(sizeof(uint32_t) * t->n)) &&
             (t->bn_tot = malloc(sizeof(double) * (2 * m->plan.nstats + 1))) &&
             (t->part_grads = calloc((size_t)t->nparts + 1, sizeof *t->part_grads)) &&
             (t->part_loss = calloc((size_t)t->nparts + 1, sizeof *t->part_loss));
    for (int k = 0; ok && k < t->nparts; k++)
        ok = (t->part_grads[k] = malloc(sizeof(float) * m->plan.nparams)) != NULL;
    for (int i = 0; ok && i < t->nworkers; i++) {
        worker *w = &t->workers[i];
        ok = net_work_alloc(&w->work, &m->plan, cap, 1) &&
             (!bn || (w->grads = malloc(sizeof(float) * m->plan.nparams))) &&
             (bn || t->part_size <= TRAIN_MICRO ||
              (w->micro_grads = malloc(sizeof(float) * m->plan.nparams))) &&
             (w->labels = malloc((size_t)cap)) &&
             (w->augmented = malloc(DIGIT_IMAGE_PIXELS));
        if (ok) w->work.label_smoothing = t->opt.label_smoothing;
    }
    if (!ok) return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate training state");
    t->opt_state.beta1 = t->opt.beta1, t->opt_state.beta2 = t->opt.beta2;
    t->opt_state.weight_decay = t->opt.weight_decay;
    return DIGIT_OK;
}

static void trainer_free(trainer *t) {
    adam_free(&t->opt_state);
    for (int i = 0; t->workers && i < t->nworkers; i++) {
        net_work_free(&t->workers[i].work);
        free(t->workers[i].grads);
        free(t->workers[i].micro_grads);
        free(t->workers[i].labels);
        free(t->workers[i].augmented);
    }
    free(t->workers);
    for (int k = 0; t->part_grads && k < t->nparts; k++) free(t->part_grads[k]);
    free(t->part_grads);
    free(t->part_loss);
    free(t->packed);
    free(t->perm);
    free(t->bn_tot);
}

/* Marks the model as being trained; a second run on it (from its own
 * callback, or a racing thread) is refused. */
static digit_status claim(digit_model *m) {
    digit_handles_lock();
    int busy = m->training;
    m->training = 1;
    digit_handles_unlock();
    if (busy)
        return digit_fail(DIGIT_ERR_BUSY, "digit_train: model is already being trained");
    return DIGIT_OK;
}

/* Ends the run's hold on the model, carrying out a free a callback asked
 * for. */
static digit_status release(digit_model *m, digit_status st) {
    digit_handles_lock();
    m->training = 0;
    int freed = m->free_pending;
    digit_handles_unlock();
    if (!freed) return st;
    model_release(m);
    return digit_fail(DIGIT_ERR_BUSY, "digit_train: a callback freed the model; training stopped");
}

DIGIT_API digit_status digit_train(digit_model *m, const digit_dataset *train,
                                   const digit_dataset *test,
                                   const digit_train_options *o,
                                   const char *resume_path) {
    digit_clear_error();
    if (!m) return digit_null("digit_train", "model");
    if (!train) return digit_null("digit_train", "train");
    if (!o) return digit_null("digit_train", "opt");
    digit_status st = claim(m);
    if (st != DIGIT_OK) return st;
    dataset_pin(train);
    dataset_pin(test);
    trainer t;
    st = trainer_init(&t, m, train, test, o);
    if (st == DIGIT_OK && resume_path) st = checkpoint_restore(&t, resume_path);
    if (st == DIGIT_OK) {
        parallel_blas_single();
        m->weights_version++;
        st = train_loop(&t);
    }
    trainer_free(&t);
    dataset_unpin(train);
    dataset_unpin(test);
    return release(m, st);
}
