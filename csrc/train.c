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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CKPT_FILE_LIMIT ((size_t)1 << 30)

DIGIT_API digit_status digit_train_options_init(digit_train_options *o,
                                                const char *preset) {
    digit_clear_error();
    if (!o) return digit_fail(DIGIT_ERR_ARGUMENT, "options is NULL");
    const arch_spec *a = arch_find(preset);
    if (!a)
        return digit_fail(DIGIT_ERR_ARGUMENT, "unknown architecture '%s' (known: basic, compact)",
                          preset ? preset : "(null)");
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
    return DIGIT_OK;
}

static digit_status check_options(const digit_train_options *o) {
    if (o->epochs < 1 || o->epochs > 100000)
        return digit_fail(DIGIT_ERR_ARGUMENT, "epochs must be 1..100000, not %d", o->epochs);
    if (o->batch_size < 1 || o->batch_size > 65536)
        return digit_fail(DIGIT_ERR_ARGUMENT, "batch size must be 1..65536, not %d",
                          o->batch_size);
    if (!(o->learning_rate > 0) || !isfinite(o->learning_rate))
        return digit_fail(DIGIT_ERR_ARGUMENT, "learning rate must be positive, not %g",
                          o->learning_rate);
    if (!(o->gamma > 0) || !isfinite(o->gamma))
        return digit_fail(DIGIT_ERR_ARGUMENT, "gamma must be positive, not %g", o->gamma);
    if (o->milestone_count < 0 || o->milestone_count > DIGIT_MAX_MILESTONES)
        return digit_fail(DIGIT_ERR_ARGUMENT, "milestone count must be 0..%d, not %d",
                          DIGIT_MAX_MILESTONES, o->milestone_count);
    for (int i = 0; i < o->milestone_count; i++)
        if (o->milestones[i] < 1 || (i && o->milestones[i] <= o->milestones[i - 1]))
            return digit_fail(DIGIT_ERR_ARGUMENT,
                              "milestones must be positive and increasing (at %d)",
                              o->milestones[i]);
    if (o->threads < 0 || o->threads > 1024)
        return digit_fail(DIGIT_ERR_ARGUMENT, "threads must be 0..1024, not %d", o->threads);
    return DIGIT_OK;
}

/* One thread's share of a batch: its scratch and its gradient. */
typedef struct worker {
    net_work work;
    float *grads;
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
    int epoch, batch;     /* position: next batch to run, 0-based */
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

#define CKPT_KEYS 12

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
    char v[CKPT_KEYS][64], milestones[DIGIT_MAX_MILESTONES * 12 + 1] = "";
    for (int i = 0; i < t->opt.milestone_count; i++)
        snprintf(milestones + strlen(milestones), sizeof milestones - strlen(milestones),
                 i ? ",%d" : "%d", t->opt.milestones[i]);
    /* Doubles in hex ("%a") so they come back exactly. */
    const char *keys[CKPT_KEYS] = {
        "checkpoint.format", "checkpoint.epoch", "checkpoint.batch",
        "checkpoint.step", "checkpoint.loss_sum", "checkpoint.batch_size",
        "checkpoint.seed", "checkpoint.learning_rate", "checkpoint.gamma",
        "checkpoint.milestones", "checkpoint.train_count", "checkpoint.epochs"};
    snprintf(v[0], 64, "libdigit-checkpoint-1");
    snprintf(v[1], 64, "%d", t->epoch);
    snprintf(v[2], 64, "%d", t->batch);
    snprintf(v[3], 64, "%lld", (long long)t->opt_state.step);
    snprintf(v[4], 64, "%a", t->loss_sum);
    snprintf(v[5], 64, "%d", t->opt.batch_size);
    snprintf(v[6], 64, "%llu", (unsigned long long)t->opt.seed);
    snprintf(v[7], 64, "%a", t->opt.learning_rate);
    snprintf(v[8], 64, "%a", t->opt.gamma);
    snprintf(v[10], 64, "%zu", t->n);
    snprintf(v[11], 64, "%d", t->opt.epochs);
    const char *values[CKPT_KEYS];
    for (int i = 0; i < CKPT_KEYS; i++) values[i] = i == 9 ? milestones : v[i];
    uint8_t *buf;
    size_t size;
    digit_status st = model_serialize(t->model, extra, 2 * (size_t)p->ntensors, keys,
                                      values, CKPT_KEYS, &buf, &size);
    if (st != DIGIT_OK) return st;
    st = digit_write_file_atomic(t->opt.checkpoint_path, buf, size);
    free(buf);
    return st;
}

/* The checkpoint's value for `key` must equal what this run would write. */
static digit_status expect_meta(const char *path, const st_file *f, const char *key,
                                const char *want, const char *what) {
    const char *got = st_meta(f, key);
    if (!got)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: not a libdigit checkpoint (no %s)", path, key);
    if (strcmp(got, want) != 0)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: checkpoint was written with %s %s, this run uses %s",
                          path, what, got, want);
    return DIGIT_OK;
}

static digit_status parse_int_meta(const char *path, const st_file *f, const char *key,
                                   long long lo, long long hi, long long *out) {
    const char *s = st_meta(f, key);
    char *end;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || end == s || *end || v < lo || v > hi)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint field %s is missing or invalid",
                          path, key);
    *out = v;
    return DIGIT_OK;
}

static digit_status restore_checkpoint(trainer *t, const char *path) {
    uint8_t *buf;
    size_t size;
    digit_status st = digit_read_file(path, CKPT_FILE_LIMIT, 0, &buf, &size);
    if (st != DIGIT_OK) return st;
    st_file f;
    st = st_parse(path, buf, size, &f);
    if (st != DIGIT_OK) {
        free(buf);
        return st;
    }
    digit_model *saved = NULL;
    char want[128];
    st = expect_meta(path, &f, "checkpoint.format", "libdigit-checkpoint-1", "format");
    if (st == DIGIT_OK) st = expect_meta(path, &f, "arch", t->model->plan.arch->name, "architecture");
    snprintf(want, sizeof want, "%d", t->opt.batch_size);
    if (st == DIGIT_OK) st = expect_meta(path, &f, "checkpoint.batch_size", want, "batch size");
    snprintf(want, sizeof want, "%llu", (unsigned long long)t->opt.seed);
    if (st == DIGIT_OK) st = expect_meta(path, &f, "checkpoint.seed", want, "seed");
    snprintf(want, sizeof want, "%a", t->opt.learning_rate);
    if (st == DIGIT_OK) st = expect_meta(path, &f, "checkpoint.learning_rate", want, "learning rate");
    snprintf(want, sizeof want, "%zu", t->n);
    if (st == DIGIT_OK) st = expect_meta(path, &f, "checkpoint.train_count", want, "training images");
    long long epoch = 0, batch = 0, step = 0;
    if (st == DIGIT_OK) st = parse_int_meta(path, &f, "checkpoint.epoch", 0, 100000, &epoch);
    if (st == DIGIT_OK) st = parse_int_meta(path, &f, "checkpoint.batch", 0, t->batches - 1, &batch);
    if (st == DIGIT_OK) st = parse_int_meta(path, &f, "checkpoint.step", 0, INT64_MAX, &step);
    const char *ls = st_meta(&f, "checkpoint.loss_sum");
    if (st == DIGIT_OK && !ls)
        st = digit_fail(DIGIT_ERR_FORMAT, "%s: checkpoint lacks its loss sum", path);
    if (st == DIGIT_OK) st = model_from_st(path, &f, &saved);
    const net_plan *p = &t->model->plan;
    for (int i = 0; st == DIGIT_OK && i < p->ntensors; i++) {
        const tensor_plan *tp = &p->tensor[i];
        for (int k = 0; st == DIGIT_OK && k < 2; k++) {
            char name[64];
            snprintf(name, sizeof name, "optimizer.%s.%s", k ? "exp_avg_sq" : "exp_avg",
                     tp->name);
            const st_tensor *x = st_find(&f, name);
            if (!x || strcmp(x->dtype, "F32") || x->end - x->begin != tp->count * sizeof(float))
                st = digit_fail(DIGIT_ERR_FORMAT, "%s: optimizer tensor %s is missing or malformed",
                                path, name);
            else
                memcpy((k ? t->opt_state.v : t->opt_state.m) + tp->offset, f.data + x->begin,
                       x->end - x->begin);
        }
    }
    if (st == DIGIT_OK) {
        memcpy(t->model->params, saved->params, sizeof(float) * p->nparams);
        t->opt_state.step = step;
        t->epoch = (int)epoch;
        t->batch = (int)batch;
        t->loss_sum = strtod(ls, NULL);
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
static void train_part(void *ctx, int i) {
    trainer *t = ctx;
    worker *w = &t->workers[i];
    w->loss = 0;
    if (!w->count) return;
    const uint8_t *images = digit_dataset_images(t->train);
    const uint8_t *y = digit_dataset_labels(t->train);
    const uint32_t *order = t->perm + (size_t)t->step_batch * t->opt.batch_size + w->start;
    float *in = net_input(&w->work);
    for (int k = 0; k < w->count; k++) {
        model_normalise_u8(t->model, images + (size_t)order[k] * DIGIT_IMAGE_PIXELS, 1,
                           in + (size_t)k * DIGIT_IMAGE_PIXELS);
        w->labels[k] = y[order[k]];
    }
    const net_plan *p = &t->model->plan;
    net_forward(p, t->model->params, t->packed, &w->work, w->count);
    w->loss = net_backward(p, t->model->params, t->packed, w->grads, &w->work,
                           w->count, w->labels, t->step_size);
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
            digit_batch_progress p = {t->epoch + 1, b + 1, t->batches, (float)loss,
                                      (size_t)b * o->batch_size + (size_t)B, lr};
            if (o->on_batch(&p, o->user)) return DIGIT_ERR_CANCELLED;
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
        digit_epoch_progress p = {t->epoch + 1, o->epochs, t->loss_sum / t->batches,
                                  NAN, NAN, now() - start, lr};
        if (t->test) {
            digit_evaluation ev;
            if ((st = digit_evaluate(t->model, t->test, &ev)) != DIGIT_OK) break;
            p.test_loss = ev.loss, p.test_accuracy = ev.accuracy;
        }
        t->epoch++, t->batch = 0, t->loss_sum = 0;
        if (o->checkpoint_path && (st = save_checkpoint(t)) != DIGIT_OK) break;
        if (o->on_epoch && o->on_epoch(&p, o->user))
            st = digit_fail(DIGIT_ERR_CANCELLED, "training cancelled after epoch %d", p.epoch);
    }
    return st;
}

static digit_status trainer_init(trainer *t, digit_model *m, const digit_dataset *train,
                                 const digit_dataset *test, const digit_train_options *o) {
    memset(t, 0, sizeof *t);
    t->model = m, t->train = train, t->test = test;
    /* Callers built against an older, shorter struct get defaults for the
     * fields they do not know. */
    digit_train_options_init(&t->opt, m->plan.arch->name);
    size_t n = o->struct_size < sizeof t->opt ? o->struct_size : sizeof t->opt;
    if (n < offsetof(digit_train_options, epochs))
        return digit_fail(DIGIT_ERR_ARGUMENT, "options.struct_size is %zu; use digit_train_options_init",
                          o->struct_size);
    memcpy(&t->opt, o, n);
    t->opt.struct_size = sizeof t->opt;
    digit_status st = check_options(&t->opt);
    if (st != DIGIT_OK) return st;
    t->n = digit_dataset_count(train);
    if (t->n > UINT32_MAX)
        return digit_fail(DIGIT_ERR_ARGUMENT, "training set of %zu images is too large", t->n);
    t->batches = (int)((t->n + (size_t)t->opt.batch_size - 1) / (size_t)t->opt.batch_size);
    int bs = (size_t)t->opt.batch_size < t->n ? t->opt.batch_size : (int)t->n;
    t->nworkers = parallel_threads(t->opt.threads, bs);
    if (t->nworkers > PARALLEL_MAX_WORKERS) t->nworkers = PARALLEL_MAX_WORKERS;
    int cap = (bs + t->nworkers - 1) / t->nworkers;
    t->workers = calloc((size_t)t->nworkers, sizeof *t->workers);
    int ok = t->workers && adam_init(&t->opt_state, m->plan.nparams) &&
             (t->packed = malloc(sizeof(float) * (m->plan.npacked + 1))) &&
             (t->perm = malloc(sizeof(uint32_t) * t->n));
    for (int i = 0; ok && i < t->nworkers; i++) {
        worker *w = &t->workers[i];
        ok = net_work_alloc(&w->work, &m->plan, cap, 1) &&
             (w->grads = malloc(sizeof(float) * m->plan.nparams)) &&
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
        free(t->workers[i].labels);
    }
    free(t->workers);
    free(t->packed);
    free(t->perm);
}

DIGIT_API digit_status digit_train(digit_model *m, const digit_dataset *train,
                                   const digit_dataset *test,
                                   const digit_train_options *o,
                                   const char *resume_path) {
    digit_clear_error();
    if (!m || !train || !o)
        return digit_fail(DIGIT_ERR_ARGUMENT, "model, training set or options is NULL");
    trainer t;
    digit_status st = trainer_init(&t, m, train, test, o);
    if (st == DIGIT_OK && resume_path) st = restore_checkpoint(&t, resume_path);
    if (st == DIGIT_OK) {
        parallel_blas_single();
        st = train_loop(&t);
    }
    trainer_free(&t);
    return st;
}
