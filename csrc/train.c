/*
 * train.c — the training loop: shuffled mini-batches, Adam, the schedule,
 * per-epoch evaluation, progress callbacks, and checkpoints that let a run
 * stop anywhere and resume to the very same model, bit for bit.
 *
 * Reproducibility rests on two facts: each epoch's shuffle is a pure
 * function of (seed, epoch), and a checkpoint records everything else that
 * evolves (weights, Adam moments and step, position, loss so far).
 */
#include "model_io.h"
#include "optim.h"
#include "parallel.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CKPT_FILE_LIMIT ((size_t)1 << 30)

/* The options' struct_size must be one some header produced. */
static digit_status check_size(const char *what, size_t size) {
    return digit_check_size(what, size, DIGIT_SIZE_THROUGH(digit_train_options, checkpoint_path),
                            sizeof(digit_train_options));
}

static void defaults(digit_train_options *o, const arch_spec *a) {
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
}

DIGIT_API digit_status digit_train_options_init(digit_train_options *o, size_t size,
                                                const char *preset) {
    digit_clear_error();
    if (!o) return digit_null("digit_train_options_init", "opt");
    digit_status st = check_size("digit_train_options_init: size", size);
    if (st != DIGIT_OK) return st;
    if (!preset) return digit_null("digit_train_options_init", "preset");
    const arch_spec *a = arch_find(preset);
    if (!a)
        return digit_fail(DIGIT_ERR_ARGUMENT, "unknown architecture '%s' (known: basic, compact)",
                          preset);
    digit_train_options full;
    defaults(&full, a);
    full.struct_size = size;
    memcpy(o, &full, size);
    return DIGIT_OK;
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
    return DIGIT_OK;
}

DIGIT_API digit_status digit_train_options_check(const digit_train_options *o) {
    digit_clear_error();
    if (!o) return digit_null("digit_train_options_check", "opt");
    digit_status st = check_size("digit_train_options_check: opt", o->struct_size);
    return st != DIGIT_OK ? st : check_options(o);
}

/* Images a worker runs through the network at once. Its share of a batch
 * goes through in micro-batches of this size, their gradients summed: small
 * enough that a micro-batch's im2col stays in cache (measured here: 8 to 16
 * beat 32 and 64 by ~10%), large enough for long GEMM rows. */
#define TRAIN_MICRO 16

/* One thread's share of a batch: its scratch and its gradient. */
typedef struct worker {
    net_work work;
    float *grads;         /* the share's gradient */
    float *micro_grads;   /* one micro-batch's, added into grads */
    uint8_t *labels;
    int start, count;     /* images [start, start+count) of the batch */
    double loss;
} worker;

/* Everything that evolves during a run. */
typedef struct trainer {
    digit_model *model;
    const digit_dataset *train, *test;
    digit_train_options opt;
    adam opt_state;
    int nworkers;
    worker *workers;
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
} trainer;

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

/* ---- checkpoints ---- */

/* A checkpoint is a model file plus the Adam moments as extra tensors
 * ("optimizer.exp_avg.<name>", "optimizer.exp_avg_sq.<name>") and the run's
 * options and position as "checkpoint.*" metadata. Doubles are written in
 * hex ("%a") so they come back exactly. */
#define CKPT_FORMAT "libdigit-checkpoint-1"
#define CKPT_KEYS 13

static void milestones_text(const digit_train_options *o, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int i = 0; i < o->milestone_count; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), i ? ",%d" : "%d", o->milestones[i]);
}

static digit_status save_checkpoint(const trainer *t) {
    const net_plan *p = &t->model->plan;
    st_entry extra[2 * NET_MAX_TENSORS];
    char names[2 * NET_MAX_TENSORS][64];
    for (int i = 0; i < p->ntensors; i++) {
        const tensor_plan *tp = &p->tensor[i];
        snprintf(names[2 * i], 64, "optimizer.exp_avg.%s", tp->name);
        snprintf(names[2 * i + 1], 64, "optimizer.exp_avg_sq.%s", tp->name);
        extra[2 * i] = (st_entry){names[2 * i], tp->rank, tp->shape,
                                  t->opt_state.m + tp->offset, tp->count};
        extra[2 * i + 1] = (st_entry){names[2 * i + 1], tp->rank, tp->shape,
                                      t->opt_state.v + tp->offset, tp->count};
    }
    const digit_train_options *o = &t->opt;
    char v[CKPT_KEYS][200];
    const char *keys[CKPT_KEYS] = {
        "checkpoint.format", "checkpoint.epoch", "checkpoint.batch",
        "checkpoint.step", "checkpoint.loss_sum", "checkpoint.batch_size",
        "checkpoint.seed", "checkpoint.learning_rate", "checkpoint.gamma",
        "checkpoint.milestones", "checkpoint.train_count", "checkpoint.epochs",
        "checkpoint.threads"};
    snprintf(v[0], 200, CKPT_FORMAT);
    snprintf(v[1], 200, "%d", t->epoch);
    snprintf(v[2], 200, "%d", t->batch);
    snprintf(v[3], 200, "%lld", (long long)t->opt_state.step);
    snprintf(v[4], 200, "%a", t->loss_sum);
    snprintf(v[5], 200, "%d", o->batch_size);
    snprintf(v[6], 200, "%llu", (unsigned long long)o->seed);
    snprintf(v[7], 200, "%a", o->learning_rate);
    snprintf(v[8], 200, "%a", o->gamma);
    milestones_text(o, v[9], 200);
    snprintf(v[10], 200, "%zu", t->n);
    snprintf(v[11], 200, "%d", o->epochs);
    snprintf(v[12], 200, "%d", o->threads);
    const char *values[CKPT_KEYS];
    for (int i = 0; i < CKPT_KEYS; i++) values[i] = v[i];
    uint8_t *buf;
    size_t size;
    digit_status st = model_serialize(t->model, extra, 2 * (size_t)p->ntensors, keys,
                                      values, CKPT_KEYS, &buf, &size);
    if (st != DIGIT_OK) return st;
    st = digit_write_file_atomic(o->checkpoint_path, buf, size);
    free(buf);
    return st;
}

static digit_status meta_int(const char *path, const st_file *f, const char *key,
                            long long lo, long long hi, long long *out) {
    const char *s = st_meta(f, key);
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    /* errno: strtoll saturates out-of-range text ("99999999999999999999")
     * to LLONG_MAX, which must not pass for a value in range. */
    if (!s || end == s || *end || errno == ERANGE || v < lo || v > hi)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint field %s is missing or invalid",
                          path, key);
    *out = v;
    return DIGIT_OK;
}

/* The seed, a full uint64: decimal digits only, no sign, no overflow.
 * (It was read with meta_int's int64 range, which took seeds >= 2^63 only
 * through strtoll's saturation and so also took any overflowing number.) */
static digit_status meta_seed(const char *path, const st_file *f, uint64_t *out) {
    const char *s = st_meta(f, "checkpoint.seed");
    char *end = NULL;
    errno = 0;
    unsigned long long v = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
    if (!end || *end || errno == ERANGE)
        return digit_fail(DIGIT_ERR_FORMAT,
                          "%s: checkpoint field checkpoint.seed is missing or invalid", path);
    *out = (uint64_t)v;
    return DIGIT_OK;
}

static digit_status meta_double(const char *path, const st_file *f, const char *key,
                               double *out) {
    const char *s = st_meta(f, key);
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || !isfinite(v))
        return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint field %s is missing or invalid",
                          path, key);
    *out = v;
    return DIGIT_OK;
}

static digit_status meta_milestones(const char *path, const st_file *f,
                                    digit_train_options *o) {
    const char *s = st_meta(f, "checkpoint.milestones");
    if (!s) return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint lacks its milestones", path);
    o->milestone_count = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > DIGIT_MAX_EPOCHS || o->milestone_count == DIGIT_MAX_MILESTONES ||
            (*end && *end != ','))
            return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint milestones are invalid", path);
        o->milestones[o->milestone_count++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return DIGIT_OK;
}

/* Everything the checkpoint's metadata says about its run. */
static digit_status read_info(const char *path, const st_file *f,
                              digit_checkpoint_info *info, digit_train_options *o,
                              long long *step, long long *train_count, double *loss_sum) {
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    const char *format = st_meta(f, "checkpoint.format"), *arch = st_meta(f, "arch");
    if (!format || strcmp(format, CKPT_FORMAT) || !arch || !arch_find(arch))
        return digit_fail(DIGIT_ERR_FORMAT, "%s: not a libdigit checkpoint", path);
    snprintf(info->arch, sizeof info->arch, "%s", arch);
    defaults(o, arch_find(arch));
    long long epoch = 0, batch = 0, bs = 0, epochs = 0, threads = 0;
    digit_status st = meta_int(path, f, "checkpoint.epoch", 0, DIGIT_MAX_EPOCHS, &epoch);
    if (!st) st = meta_int(path, f, "checkpoint.batch", 0, INT32_MAX, &batch);
    if (!st) st = meta_int(path, f, "checkpoint.step", 0, INT64_MAX, step);
    if (!st) st = meta_int(path, f, "checkpoint.batch_size", 1, DIGIT_MAX_BATCH_SIZE, &bs);
    if (!st) st = meta_int(path, f, "checkpoint.train_count", 1, UINT32_MAX, train_count);
    if (!st) st = meta_int(path, f, "checkpoint.epochs", 1, DIGIT_MAX_EPOCHS, &epochs);
    if (!st) st = meta_int(path, f, "checkpoint.threads", 0, DIGIT_MAX_THREADS, &threads);
    if (!st) st = meta_seed(path, f, &o->seed);
    if (!st) st = meta_double(path, f, "checkpoint.learning_rate", &o->learning_rate);
    if (!st) st = meta_double(path, f, "checkpoint.gamma", &o->gamma);
    if (!st) st = meta_double(path, f, "checkpoint.loss_sum", loss_sum);
    if (!st) st = meta_milestones(path, f, o);
    if (st) return st;
    o->batch_size = (int)bs, o->epochs = (int)epochs, o->threads = (int)threads;
    info->epochs_done = (int)epoch, info->batches_done = (int)batch;
    return DIGIT_OK;
}

/* Reads and parses a checkpoint file; *buf backs *f until freed. */
static digit_status open_checkpoint(const char *path, uint8_t **buf, st_file *f) {
    size_t size;
    digit_status st = digit_read_file(path, CKPT_FILE_LIMIT, 0, buf, &size);
    if (st != DIGIT_OK) return st;
    st = st_parse(path, *buf, size, f);
    if (st != DIGIT_OK) free(*buf);
    return st;
}

DIGIT_API digit_status digit_checkpoint_read(const char *path, digit_checkpoint_info *info,
                                             digit_train_options *options) {
    digit_clear_error();
    if (!path) return digit_null("digit_checkpoint_read", "path");
    if (!info) return digit_null("digit_checkpoint_read", "info");
    digit_status st = digit_check_size("digit_checkpoint_read: info", info->struct_size,
                                       DIGIT_SIZE_THROUGH(digit_checkpoint_info, batches_done),
                                       sizeof *info);
    if (st == DIGIT_OK && options) st = check_size("digit_checkpoint_read: options",
                                                   options->struct_size);
    if (st != DIGIT_OK) return st;
    uint8_t *buf;
    st_file f;
    st = open_checkpoint(path, &buf, &f);
    if (st != DIGIT_OK) return st;
    long long step, count;
    double loss;
    digit_checkpoint_info full_info;
    digit_train_options full_options;
    st = read_info(path, &f, &full_info, &full_options, &step, &count, &loss);
    st_free(&f);
    free(buf);
    if (st != DIGIT_OK) return st;
    full_info.struct_size = info->struct_size;
    memcpy(info, &full_info, info->struct_size);
    if (options) {
        full_options.struct_size = options->struct_size;
        memcpy(options, &full_options, options->struct_size);
    }
    return DIGIT_OK;
}

/* The run being resumed must be the one that wrote the checkpoint. */
static digit_status check_same_run(const char *path, const trainer *t,
                                   const digit_checkpoint_info *info,
                                   const digit_train_options *a, long long count) {
    const digit_train_options *b = &t->opt;
    const char *what = NULL;
    char had[64] = "", has[64] = "";
    if (strcmp(info->arch, t->model->plan.arch->name))
        what = "architecture", snprintf(had, 64, "%s", info->arch),
        snprintf(has, 64, "%s", t->model->plan.arch->name);
    else if (a->batch_size != b->batch_size)
        what = "batch size", snprintf(had, 64, "%d", a->batch_size),
        snprintf(has, 64, "%d", b->batch_size);
    else if (a->seed != b->seed)
        what = "seed", snprintf(had, 64, "%llu", (unsigned long long)a->seed),
        snprintf(has, 64, "%llu", (unsigned long long)b->seed);
    else if (a->learning_rate != b->learning_rate)
        what = "learning rate", snprintf(had, 64, "%g", a->learning_rate),
        snprintf(has, 64, "%g", b->learning_rate);
    else if (a->gamma != b->gamma)
        what = "gamma", snprintf(had, 64, "%g", a->gamma), snprintf(has, 64, "%g", b->gamma);
    else if ((size_t)count != t->n)
        what = "training images", snprintf(had, 64, "%lld", count),
        snprintf(has, 64, "%zu", t->n);
    else {
        milestones_text(a, had, sizeof had);
        milestones_text(b, has, sizeof has);
        if (strcmp(had, has)) what = "milestones";
    }
    if (what)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: checkpoint was written with %s %s, this run uses %s", path,
                          what, had[0] ? had : "(none)", has[0] ? has : "(none)");
    if (info->batches_done > t->batches)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint position is past the epoch's end",
                          path);
    /* Resuming past the end would hand back more training than asked for. */
    if (info->epochs_done > b->epochs ||
        (info->epochs_done == b->epochs && info->batches_done > 0))
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: checkpoint has trained %d epoch(s), more than this run's %d", path,
                          info->epochs_done, b->epochs);
    return DIGIT_OK;
}

/* Loads one optimizer moment tensor into `dst`. */
static digit_status load_moment(const char *path, const st_file *f, const char *kind,
                                const tensor_plan *tp, float *dst) {
    char name[64];
    snprintf(name, sizeof name, "optimizer.%s.%s", kind, tp->name);
    const st_tensor *x = st_find(f, name);
    if (!x || strcmp(x->dtype, "F32") || x->end - x->begin != tp->count * sizeof(float))
        return digit_fail(DIGIT_ERR_FORMAT, "%s: optimizer tensor %s is missing or malformed",
                          path, name);
    memcpy(dst + tp->offset, f->data + x->begin, x->end - x->begin);
    return DIGIT_OK;
}

static digit_status restore_checkpoint(trainer *t, const char *path) {
    uint8_t *buf;
    st_file f;
    digit_status st = open_checkpoint(path, &buf, &f);
    if (st != DIGIT_OK) return st;
    digit_checkpoint_info info;
    digit_train_options ran;
    long long step, count;
    double loss_sum;
    digit_model *saved = NULL;
    st = read_info(path, &f, &info, &ran, &step, &count, &loss_sum);
    if (!st) st = check_same_run(path, t, &info, &ran, count);
    if (!st) st = model_from_st(path, &f, &saved);
    const net_plan *p = &t->model->plan;
    for (int i = 0; !st && i < p->ntensors; i++) {
        st = load_moment(path, &f, "exp_avg", &p->tensor[i], t->opt_state.m);
        if (!st) st = load_moment(path, &f, "exp_avg_sq", &p->tensor[i], t->opt_state.v);
    }
    if (!st) {
        memcpy(t->model->params, saved->params, sizeof(float) * p->nparams);
        t->opt_state.step = step;
        t->epoch = info.epochs_done;
        t->batch = info.batches_done;
        t->loss_sum = loss_sum;
    }
    digit_model_free(saved);
    st_free(&f);
    free(buf);
    return st;
}

/* ---- the loop ---- */

/* A worker's part of the current batch: gather its images (normalised) in
 * shuffled order, forward, backward. The loss is normalised by the whole
 * batch so that the parts' gradients simply add up. */
DIGIT_HOT static void add_into(float *restrict sum, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) sum[i] += x[i];
}

static void train_part(void *ctx, int i) {
    trainer *t = ctx;
    worker *w = &t->workers[i];
    w->loss = 0;
    const uint8_t *images = digit_dataset_images(t->train);
    const uint8_t *y = digit_dataset_labels(t->train);
    const uint32_t *order = t->perm + (size_t)t->step_batch * t->opt.batch_size + w->start;
    const net_plan *p = &t->model->plan;
    float *in = net_input(&w->work);
    for (int at = 0; at < w->count; at += TRAIN_MICRO) {
        int n = w->count - at < TRAIN_MICRO ? w->count - at : TRAIN_MICRO;
        for (int k = 0; k < n; k++) {
            uint32_t img = order[at + k];
            model_normalise_u8(t->model, images + (size_t)img * DIGIT_IMAGE_PIXELS, 1,
                               in + (size_t)k * DIGIT_IMAGE_PIXELS);
            w->labels[k] = y[img];
        }
        float *g = at == 0 ? w->grads : w->micro_grads;
        net_forward(p, t->model->params, t->packed, &w->work, n);
        w->loss += net_backward(p, t->model->params, t->packed, g, &w->work, n,
                                w->labels, t->step_size);
        if (at) add_into(w->grads, g, p->nparams);
    }
}

/* A worker's slice of the parameters: sum the parts' gradients, in worker
 * order, and apply Adam. */
static void update_part(void *ctx, int i) {
    trainer *t = ctx;
    const float *grads[PARALLEL_MAX_WORKERS];
    int n = 0;
    for (int k = 0; k < t->nworkers; k++)
        if (t->workers[k].count) grads[n++] = t->workers[k].grads;
    size_t np = t->model->plan.nparams;
    size_t lo = np * (size_t)i / (size_t)t->nworkers;
    size_t hi = np * (size_t)(i + 1) / (size_t)t->nworkers;
    adam_update(&t->opt_state, t->model->params, grads, n, lo, hi, t->step_lr);
}

/* One optimisation step on batch b of the epoch; returns the batch loss. */
static double train_step(trainer *t, int b, int B, double lr) {
    t->step_batch = b, t->step_size = B, t->step_lr = lr;
    for (int i = 0; i < t->nworkers; i++) {
        t->workers[i].start = B * i / t->nworkers;
        t->workers[i].count = B * (i + 1) / t->nworkers - t->workers[i].start;
    }
    net_pack(&t->model->plan, t->model->params, t->packed);
    parallel_run(t->nworkers, train_part, t);
    adam_begin(&t->opt_state);
    parallel_run(t->nworkers, update_part, t);
    double loss = 0;
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

static digit_status run_epoch(trainer *t, double lr) {
    const digit_train_options *o = &t->opt;
    shuffle(t->perm, t->n, o->seed, t->epoch);
    while (t->batch < t->batches) {
        int b = t->batch;
        size_t left = t->n - (size_t)b * o->batch_size;
        int B = left < (size_t)o->batch_size ? (int)left : o->batch_size;
        double loss = train_step(t, b, B, lr);
        t->loss_sum += loss;
        t->batch++;
        if (o->on_batch) {
            digit_batch_progress p = {sizeof p, t->epoch + 1, b + 1, t->batches, (float)loss,
                                      (size_t)b * o->batch_size + (size_t)B, lr};
            if (o->on_batch(&p, o->user)) return DIGIT_ERR_CANCELLED;
            if (freed_by_callback(t)) return DIGIT_ERR_BUSY;
        }
    }
    return DIGIT_OK;
}

static digit_status cancelled(trainer *t) {
    if (t->opt.checkpoint_path) {
        digit_status st = save_checkpoint(t);
        if (st != DIGIT_OK) return st;
    }
    return digit_fail(DIGIT_ERR_CANCELLED, "training cancelled at epoch %d, batch %d",
                      t->epoch + 1, t->batch);
}

static digit_status train_loop(trainer *t) {
    const digit_train_options *o = &t->opt;
    digit_status st = DIGIT_OK;
    while (t->epoch < o->epochs && st == DIGIT_OK) {
        double lr = multistep_lr(o->learning_rate, o->gamma, o->milestones,
                                 o->milestone_count, t->epoch);
        double start = now();
        st = run_epoch(t, lr);
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
        if (o->checkpoint_path && (st = save_checkpoint(t)) != DIGIT_OK) break;
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
    defaults(&t->opt, m->plan.arch);
    digit_status st = check_size("digit_train: opt", o->struct_size);
    if (st != DIGIT_OK) return st;
    memcpy(&t->opt, o, o->struct_size);
    t->opt.struct_size = sizeof t->opt;
    st = check_options(&t->opt);
    if (st != DIGIT_OK) return st;
    t->n = digit_dataset_count(train);
    if (t->n > UINT32_MAX)
        return digit_fail(DIGIT_ERR_ARGUMENT, "training set of %zu images is too large", t->n);
    t->batches = (int)((t->n + (size_t)t->opt.batch_size - 1) / (size_t)t->opt.batch_size);
    int bs = (size_t)t->opt.batch_size < t->n ? t->opt.batch_size : (int)t->n;
    t->nworkers = parallel_threads(t->opt.threads, bs);
    if (t->nworkers > PARALLEL_MAX_WORKERS) t->nworkers = PARALLEL_MAX_WORKERS;
    int share = (bs + t->nworkers - 1) / t->nworkers;
    int cap = share < TRAIN_MICRO ? share : TRAIN_MICRO;
    t->workers = calloc((size_t)t->nworkers, sizeof *t->workers);
    int ok = t->workers && adam_init(&t->opt_state, m->plan.nparams) &&
             (t->packed = malloc(sizeof(float) * (m->plan.npacked + 1))) &&
             (t->perm = malloc(sizeof(uint32_t) * t->n));
    for (int i = 0; ok && i < t->nworkers; i++) {
        worker *w = &t->workers[i];
        ok = net_work_alloc(&w->work, &m->plan, cap, 1) &&
             (w->grads = malloc(sizeof(float) * m->plan.nparams)) &&
             (share <= cap || (w->micro_grads = malloc(sizeof(float) * m->plan.nparams))) &&
             (w->labels = malloc((size_t)cap));
    }
    if (!ok) return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate training state");
    return DIGIT_OK;
}

static void trainer_free(trainer *t) {
    adam_free(&t->opt_state);
    for (int i = 0; t->workers && i < t->nworkers; i++) {
        net_work_free(&t->workers[i].work);
        free(t->workers[i].grads);
        free(t->workers[i].micro_grads);
        free(t->workers[i].labels);
    }
    free(t->workers);
    free(t->packed);
    free(t->perm);
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
    if (st == DIGIT_OK && resume_path) st = restore_checkpoint(&t, resume_path);
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
