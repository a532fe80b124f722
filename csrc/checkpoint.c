/* SPDX-License-Identifier: MIT */
/*
 * checkpoint.c — a training run's state to a file and back, so that a run
 * stopped anywhere resumes to the very same model, bit for bit.
 *
 * A checkpoint is a model file (its batch-norm buffers included) plus the
 * Adam moments as extra tensors ("optimizer.exp_avg.<name>",
 * "optimizer.exp_avg_sq.<name>") and the run's options and position as
 * "checkpoint.*" metadata. Doubles are written in hex ("%a") so they come
 * back exactly. Nothing random needs saving: the shuffle, the augmentation
 * and the dropout masks are pure functions of (seed, epoch, batch, image).
 *
 * Format 2 (libdigit 2.1) adds the options of 2.1; a format-1 file (2.0)
 * is read with their defaults, which are what 2.0 ran with.
 */
#include "model_io.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_FILE_LIMIT ((size_t)1 << 30)


#define CKPT_FORMAT "libdigit-checkpoint-2"
#define CKPT_FORMAT_1 "libdigit-checkpoint-1"
#define CKPT_KEYS 13

/* The options added in format 2, as metadata "checkpoint.<name>". */
typedef struct added_field { const char *name; size_t off; int is_int; } added_field;
#define ADDED(f, i) {"checkpoint." #f, offsetof(digit_train_options, f), i}
static const added_field ADDED_FIELDS[] = {
    ADDED(schedule, 1), ADDED(pct_start, 0), ADDED(div_factor, 0),
    ADDED(final_div_factor, 0), ADDED(cycle_momentum, 1), ADDED(beta1, 0),
    ADDED(beta2, 0), ADDED(weight_decay, 0), ADDED(label_smoothing, 0),
    ADDED(augment_rotate, 0), ADDED(augment_scale, 0), ADDED(augment_shift, 0),
    ADDED(augment_shear, 0),
};
#define NADDED (sizeof ADDED_FIELDS / sizeof *ADDED_FIELDS)

static void added_text(const digit_train_options *o, const added_field *f, char *buf,
                       size_t cap) {
    const char *at = (const char *)o + f->off;
    if (f->is_int) {
        int v;
        memcpy(&v, at, sizeof v);
        snprintf(buf, cap, "%d", v);
    } else {
        double v;
        memcpy(&v, at, sizeof v);
        snprintf(buf, cap, "%a", v);
    }
}

static void milestones_text(const digit_train_options *o, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int i = 0; i < o->milestone_count; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), i ? ",%d" : "%d", o->milestones[i]);
}

digit_status checkpoint_save(const trainer *t) {
    const net_plan *p = &t->model->plan;
    st_entry extra[2 * NET_MAX_TENSORS];
    char names[2 * NET_MAX_TENSORS][64];
    for (int i = 0; i < p->ntensors; i++) {
        const tensor_plan *tp = &p->tensor[i];
        snprintf(names[2 * i], 64, "optimizer.exp_avg.%s", tp->name);
        snprintf(names[2 * i + 1], 64, "optimizer.exp_avg_sq.%s", tp->name);
        extra[2 * i] = (st_entry){names[2 * i], tp->rank, tp->shape,
                                  t->opt_state.m + tp->offset, tp->count, 0};
        extra[2 * i + 1] = (st_entry){names[2 * i + 1], tp->rank, tp->shape,
                                      t->opt_state.v + tp->offset, tp->count, 0};
    }
    const digit_train_options *o = &t->opt;
    char v[CKPT_KEYS + NADDED][200];
    const char *keys[CKPT_KEYS + NADDED] = {
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
    for (size_t i = 0; i < NADDED; i++) {
        keys[CKPT_KEYS + i] = ADDED_FIELDS[i].name;
        added_text(o, &ADDED_FIELDS[i], v[CKPT_KEYS + i], 200);
    }
    const char *values[CKPT_KEYS + NADDED];
    for (size_t i = 0; i < CKPT_KEYS + NADDED; i++) values[i] = v[i];
    uint8_t *buf;
    size_t size;
    digit_status st = model_serialize(t->model, extra, 2 * (size_t)p->ntensors, keys,
                                      values, CKPT_KEYS + NADDED, &buf, &size);
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

/* A format-2 option; its range is checked with the rest once all are
 * read (read_info). */
static digit_status meta_added(const char *path, const st_file *f, const added_field *a,
                               digit_train_options *o) {
    char *at = (char *)o + a->off;
    if (a->is_int) {
        long long v = 0;
        digit_status st = meta_int(path, f, a->name, INT32_MIN, INT32_MAX, &v);
        int iv = (int)v;
        if (!st) memcpy(at, &iv, sizeof iv);
        return st;
    }
    double v = 0;
    digit_status st = meta_double(path, f, a->name, &v);
    if (!st) memcpy(at, &v, sizeof v);
    return st;
}

/* Everything the checkpoint's metadata says about its run. */
static digit_status read_info(const char *path, const st_file *f,
                              digit_checkpoint_info *info, digit_train_options *o,
                              long long *step, long long *train_count, double *loss_sum) {
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    const char *format = st_meta(f, "checkpoint.format"), *arch = st_meta(f, "arch");
    int v2 = format && !strcmp(format, CKPT_FORMAT);
    if (!format || (!v2 && strcmp(format, CKPT_FORMAT_1)) || !arch || !arch_find(arch))
        return digit_fail(DIGIT_ERR_FORMAT, "%s: not a libdigit checkpoint", path);
    snprintf(info->arch, sizeof info->arch, "%s", arch);
    train_defaults(o, arch_find(arch));
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
    for (size_t i = 0; v2 && !st && i < NADDED; i++) st = meta_added(path, f, &ADDED_FIELDS[i], o);
    if (st) return st;
    o->batch_size = (int)bs, o->epochs = (int)epochs, o->threads = (int)threads;
    info->epochs_done = (int)epoch, info->batches_done = (int)batch;
    /* Options a run could not have been started with mean a damaged or
     * forged file: refused here, so that no caller is handed them. */
    if (digit_train_options_check(o) != DIGIT_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", digit_last_error());
        return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint options are invalid: %s", path, why);
    }
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
    if (st == DIGIT_OK && options) st = train_check_size("digit_checkpoint_read: options",
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
    /* %a of the doubles added in 2.1 is exact, if not pretty. */
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
    for (size_t i = 0; !what && i < NADDED; i++) {
        const added_field *f = &ADDED_FIELDS[i];
        if (memcmp((const char *)a + f->off, (const char *)b + f->off,
                   f->is_int ? sizeof(int) : sizeof(double)) == 0)
            continue;
        what = f->name + strlen("checkpoint.");
        added_text(a, f, had, sizeof had);
        added_text(b, f, has, sizeof has);
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

digit_status checkpoint_restore(trainer *t, const char *path) {
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
        memcpy(t->model->buffers, saved->buffers, sizeof(float) * p->nbuffers);
        memcpy(t->model->counts, saved->counts, sizeof(int64_t) * (size_t)p->ncounts);
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

