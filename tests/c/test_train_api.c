/* SPDX-License-Identifier: MIT */
/*
 * test_train_api.c — csrc/train.c through the API, on small synthetic sets
 * (tests/c/test_train.c trains on MNIST end to end): options (defaults,
 * refusals, digit_train_options_check, the limits), determinism, progress
 * callbacks and cancellation, checkpoints (resume bit for bit, refusals,
 * digit_checkpoint_read), and regressions from fuzzing and review.
 */
#define _GNU_SOURCE 1

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "testfiles.h"

/* ---- training ---- */

static void test_train_options(void) {
    digit_train_options o;
    CHECK_OK(digit_train_options_init_default(&o, "basic"));
    CHECK(o.struct_size == sizeof o, "struct_size");
    CHECK(o.epochs == 10 && o.batch_size == 64 && o.learning_rate == 0.001 &&
              o.milestone_count == 0 && o.seed == 1 && o.threads == 0 &&
              !o.on_batch && !o.on_epoch && !o.checkpoint_path,
          "basic defaults");
    CHECK_OK(digit_train_options_init_default(&o, "compact"));
    CHECK(o.epochs == 10 && o.batch_size == 64 && o.learning_rate == 0.001 &&
              o.milestone_count == 2 && o.milestones[0] == 5 && o.milestones[1] == 8 &&
              o.gamma == 0.01,
          "compact defaults");
    CHECK_ERR(digit_train_options_init_default(&o, "vgg"), DIGIT_ERR_ARGUMENT, "vgg");
    CHECK_ERR(digit_train_options_init(NULL, sizeof(digit_train_options), "basic"), DIGIT_ERR_ARGUMENT, "NULL");

    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    digit_dataset *ds = synth_dataset(20, 1);
    float *before = malloc(sizeof(float) * digit_model_param_count(m));
    memcpy(before, digit_model_weights(m), sizeof(float) * digit_model_param_count(m));
#define BAD_OPT(field_edit, sub)                                             \
    do {                                                                     \
        digit_train_options_init_default(&o, "compact");                             \
        field_edit;                                                          \
        CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, sub); \
    } while (0)
    BAD_OPT(o.epochs = 0, "epochs");
    BAD_OPT(o.epochs = -3, "epochs");
    BAD_OPT(o.batch_size = 0, "batch");
    BAD_OPT(o.learning_rate = -1, "learning rate");
    BAD_OPT(o.learning_rate = 0, "learning rate");
    BAD_OPT(o.learning_rate = NAN, "learning rate");
    BAD_OPT(o.learning_rate = INFINITY, "learning rate");
    BAD_OPT(o.gamma = 0, "gamma");
    BAD_OPT((o.milestones[0] = 5, o.milestones[1] = 5), "milestones");
    BAD_OPT((o.milestones[0] = 8, o.milestones[1] = 5), "milestones");
    BAD_OPT(o.milestones[0] = 0, "milestones");
    BAD_OPT(o.milestone_count = DIGIT_MAX_MILESTONES + 1, "milestone");
    BAD_OPT(o.threads = -1, "threads");
    BAD_OPT(o.struct_size = 0, "struct_size");
#undef BAD_OPT
    CHECK(!memcmp(before, digit_model_weights(m), sizeof(float) * digit_model_param_count(m)),
          "refused options leave the model untouched");
    digit_train_options_init_default(&o, "compact");
    CHECK_ERR(digit_train(NULL, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_train(m, NULL, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_train(m, ds, NULL, NULL, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    free(before);
    digit_dataset_free(ds);
    digit_model_free(m);
}


static void test_determinism(void) {
    digit_dataset *ds = synth_dataset(512, 5);
    for (int threads = 1; threads <= 2; threads++) {
        digit_train_options o;
        digit_train_options_init_default(&o, "basic");
        o.epochs = 1, o.seed = 3, o.threads = threads;
        digit_status s1, s2;
        digit_model *a = train_fresh("basic", 1, ds, &o, NULL, &s1);
        digit_model *b = train_fresh("basic", 1, ds, &o, NULL, &s2);
        CHECK(s1 == DIGIT_OK && s2 == DIGIT_OK, "training failed: %s", digit_last_error());
        CHECK(same_weights(a, b), "threads=%d: two runs differ", threads);
        digit_model *fresh;
        digit_model_create("basic", 1, &fresh);
        CHECK(!same_weights(a, fresh), "training changed nothing");
        digit_model_free(fresh);
        /* Another shuffling seed gives another model. */
        o.seed = 4;
        digit_model *c = train_fresh("basic", 1, ds, &o, NULL, &s1);
        CHECK(s1 == DIGIT_OK && !same_weights(a, c), "seed does not matter");
        digit_model_free(a);
        digit_model_free(b);
        digit_model_free(c);
    }
    digit_dataset_free(ds);

    /* Networks without batch norm run fixed parts of each batch, and the
     * update slices of the parameters, whichever thread takes them: the
     * thread count must not change a bit. A last batch of 8, and
     * speedrun's parts of 64 images (4 micro-batches each), are covered. */
    ds = synth_dataset(264, 8);
    const char *presets[] = {"basic", "speedrun"};
    for (int k = 0; k < 2; k++) {
        digit_model *one = NULL;
        for (int threads = 1; threads <= 3; threads++) {
            digit_train_options o;
            digit_train_options_init_default(&o, presets[k]);
            o.epochs = 1, o.seed = 2, o.threads = threads;
            o.schedule = DIGIT_SCHEDULE_MULTISTEP; /* one-cycle needs more steps */
            digit_status st;
            digit_model *m = train_fresh(presets[k], 1, ds, &o, NULL, &st);
            CHECK(st == DIGIT_OK, "%s, %d threads: %s", presets[k], threads, digit_last_error());
            if (threads == 1) one = m;
            else CHECK(same_weights(one, m), "%s: %d threads differ from 1", presets[k], threads);
            if (threads > 1) digit_model_free(m);
        }
        digit_model_free(one);
    }
    digit_dataset_free(ds);

    /* A last batch of one image, split between more threads than it has
     * images (and more than this machine may have cores). */
    ds = synth_dataset(65, 6);
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.threads = 3;
    digit_status s1, s2;
    digit_model *a = train_fresh("compact", 1, ds, &o, NULL, &s1);
    digit_model *b = train_fresh("compact", 1, ds, &o, NULL, &s2);
    CHECK(s1 == DIGIT_OK && s2 == DIGIT_OK && same_weights(a, b),
          "65 images on 3 threads: %s", digit_last_error());
    int finite = 1;
    for (size_t i = 0; a && i < digit_model_param_count(a); i++)
        finite &= isfinite(digit_model_weights(a)[i]) != 0;
    CHECK(finite, "weights stay finite");
    digit_model_free(a);
    digit_model_free(b);
    digit_dataset_free(ds);
}

/* ---- digit_train_options_check and the limits ---- */

/* One edit of the compact defaults and what the check must say. */
typedef struct bad_option {
    const char *what;         /* for failure messages */
    void (*edit)(digit_train_options *o);
    const char *message;      /* a part of the message: the option's name */
} bad_option;

#define EDIT(name, ...)                                                      \
    static void name(digit_train_options *o) { __VA_ARGS__; }
EDIT(epochs_zero, o->epochs = 0)
EDIT(epochs_negative, o->epochs = -1)
EDIT(epochs_past, o->epochs = DIGIT_MAX_EPOCHS + 1)
EDIT(batch_zero, o->batch_size = 0)
EDIT(batch_negative, o->batch_size = -64)
EDIT(batch_past, o->batch_size = DIGIT_MAX_BATCH_SIZE + 1)
EDIT(lr_zero, o->learning_rate = 0)
EDIT(lr_negative, o->learning_rate = -0.001)
EDIT(lr_nan, o->learning_rate = NAN)
EDIT(lr_inf, o->learning_rate = INFINITY)
EDIT(gamma_zero, o->gamma = 0)
EDIT(gamma_negative, o->gamma = -0.5)
EDIT(gamma_nan, o->gamma = NAN)
EDIT(gamma_inf, o->gamma = INFINITY)
EDIT(count_negative, o->milestone_count = -1)
EDIT(count_past, o->milestone_count = DIGIT_MAX_MILESTONES + 1)
EDIT(milestone_zero, o->milestones[0] = 0)
EDIT(milestone_past, (o->milestone_count = 1, o->milestones[0] = DIGIT_MAX_EPOCHS + 1))
EDIT(milestone_equal, o->milestones[1] = o->milestones[0])
EDIT(milestone_down, (o->milestones[0] = 8, o->milestones[1] = 5))
EDIT(threads_negative, o->threads = -1)
EDIT(threads_past, o->threads = DIGIT_MAX_THREADS + 1)

static const bad_option BAD_OPTIONS[] = {
    {"epochs 0", epochs_zero, "epochs must be 1..100000, not 0"},
    {"epochs -1", epochs_negative, "epochs"},
    {"epochs max+1", epochs_past, "epochs"},
    {"batch 0", batch_zero, "batch size"},
    {"batch -64", batch_negative, "batch size"},
    {"batch max+1", batch_past, "batch size"},
    {"lr 0", lr_zero, "learning rate"},
    {"lr -0.001", lr_negative, "learning rate"},
    {"lr NaN", lr_nan, "learning rate"},
    {"lr inf", lr_inf, "learning rate"},
    {"gamma 0", gamma_zero, "gamma"},
    {"gamma -0.5", gamma_negative, "gamma"},
    {"gamma NaN", gamma_nan, "gamma"},
    {"gamma inf", gamma_inf, "gamma"},
    {"milestone count -1", count_negative, "milestone count"},
    {"milestone count max+1", count_past, "milestone count"},
    {"milestone 0", milestone_zero, "milestones"},
    {"milestone max+1", milestone_past, "milestones"},
    {"milestones 5,5", milestone_equal, "milestones"},
    {"milestones 8,5", milestone_down, "milestones"},
    {"threads -1", threads_negative, "threads"},
    {"threads max+1", threads_past, "threads"},
};

/* The boundary values the limits allow. */
EDIT(epochs_one, o->epochs = 1)
EDIT(epochs_max, o->epochs = DIGIT_MAX_EPOCHS)
EDIT(batch_one, o->batch_size = 1)
EDIT(batch_max, o->batch_size = DIGIT_MAX_BATCH_SIZE)
EDIT(count_none, o->milestone_count = 0)
EDIT(count_max, {
    o->milestone_count = DIGIT_MAX_MILESTONES;
    for (int i = 0; i < DIGIT_MAX_MILESTONES; i++) o->milestones[i] = i + 1;
})
EDIT(milestone_top, {
    o->milestone_count = 2;
    o->milestones[0] = 1, o->milestones[1] = DIGIT_MAX_EPOCHS;
})
EDIT(threads_zero, o->threads = 0)
EDIT(threads_max, o->threads = DIGIT_MAX_THREADS)
EDIT(tiny_rates, (o->learning_rate = 1e-300, o->gamma = 1e-300))
#undef EDIT

static const bad_option GOOD_OPTIONS[] = {
    {"epochs 1", epochs_one, ""},       {"epochs max", epochs_max, ""},
    {"batch 1", batch_one, ""},         {"batch max", batch_max, ""},
    {"no milestones", count_none, ""},  {"16 milestones", count_max, ""},
    {"milestone max", milestone_top, ""}, {"threads 0", threads_zero, ""},
    {"threads max", threads_max, ""},   {"tiny rates", tiny_rates, ""},
};

static int stop_first_batch(const digit_batch_progress *p, void *user) {
    ++*(int *)user;
    (void)p;
    return 1;
}

static void test_options_check(void) {
    digit_train_options o;
    for (size_t i = 0; digit_preset_name(i); i++) {
        CHECK_OK(digit_train_options_init_default(&o, digit_preset_name(i)));
        CHECK_OK(digit_train_options_check(&o));
    }
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    digit_dataset *ds = synth_dataset(20, 1);
    digit_model *before;
    CHECK_OK(digit_model_clone(m, &before));

    /* Each out-of-range field: the check names it, and digit_train refuses
     * the same options with the same message, touching nothing. */
    for (size_t i = 0; i < sizeof BAD_OPTIONS / sizeof *BAD_OPTIONS; i++) {
        const bad_option *b = &BAD_OPTIONS[i];
        digit_train_options_init_default(&o, "compact");
        b->edit(&o);
        digit_status st = digit_train_options_check(&o);
        CHECK(st == DIGIT_ERR_ARGUMENT, "%s: check gave '%s'", b->what, digit_status_name(st));
        CHECK(strstr(digit_last_error(), b->message) != NULL, "%s: message '%s' lacks '%s'",
              b->what, digit_last_error(), b->message);
        char message[512];
        snprintf(message, sizeof message, "%s", digit_last_error());
        int batches = 0;
        o.on_batch = stop_first_batch, o.user = &batches;
        st = digit_train(m, ds, NULL, &o, NULL);
        CHECK(st == DIGIT_ERR_ARGUMENT && !strcmp(message, digit_last_error()) && batches == 0,
              "%s: digit_train gave '%s' (%s), the check '%s'", b->what,
              digit_status_name(st), digit_last_error(), message);
    }
    CHECK(same_weights(m, before), "refused options changed the model");

    /* The boundary values: the check and digit_train accept them (a
     * callback stops each run at its first batch). */
    for (size_t i = 0; i < sizeof GOOD_OPTIONS / sizeof *GOOD_OPTIONS; i++) {
        const bad_option *g = &GOOD_OPTIONS[i];
        digit_train_options_init_default(&o, "compact");
        g->edit(&o);
        digit_status st = digit_train_options_check(&o);
        CHECK(st == DIGIT_OK, "%s: refused: %s", g->what, digit_last_error());
        int batches = 0;
        o.on_batch = stop_first_batch, o.user = &batches;
        st = digit_train(m, ds, NULL, &o, NULL);
        CHECK(st == DIGIT_ERR_CANCELLED && batches == 1, "%s: digit_train gave '%s' (%s)",
              g->what, digit_status_name(st), digit_last_error());
    }
    /* The check reads the options only. */
    digit_train_options_init_default(&o, "compact");
    digit_train_options copy = o;
    CHECK_OK(digit_train_options_check(&o));
    CHECK(!memcmp(&copy, &o, sizeof o), "the check changed the options");
    digit_model_free(before);
    digit_model_free(m);
    digit_dataset_free(ds);
}

/* Callbacks that record progress and stop at a chosen point. */
typedef struct watch {
    int stop_epoch, stop_batch; /* on_batch stops here (1-based) */
    int stop_after_epoch;       /* on_epoch stops after this one */
    int batches, epochs;        /* calls seen */
    digit_batch_progress last_batch;
    digit_epoch_progress last_epoch;
} watch;

static int on_batch(const digit_batch_progress *p, void *user) {
    watch *w = user;
    w->batches++;
    w->last_batch = *p;
    return p->epoch == w->stop_epoch && p->batch == w->stop_batch;
}

static int on_epoch(const digit_epoch_progress *p, void *user) {
    watch *w = user;
    w->epochs++;
    w->last_epoch = *p;
    return p->epoch == w->stop_after_epoch;
}

static void test_callbacks(void) {
    digit_dataset *ds = synth_dataset(100, 6), *test = synth_dataset(30, 7);
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    watch w = {0};
    o.epochs = 2, o.batch_size = 32, o.on_batch = on_batch, o.on_epoch = on_epoch;
    o.user = &w, o.milestones[0] = 1, o.milestone_count = 1, o.gamma = 0.5;
    digit_model *m;
    digit_model_create("compact", 1, &m);
    CHECK_OK(digit_train(m, ds, test, &o, NULL));
    /* 100 images in batches of 32: 4 batches, the last of 4 images. */
    CHECK(w.batches == 8 && w.epochs == 2, "%d batches, %d epochs", w.batches, w.epochs);
    CHECK(w.last_batch.epoch == 2 && w.last_batch.batch == 4 &&
              w.last_batch.batches_per_epoch == 4 && w.last_batch.images_seen == 100 &&
              isfinite(w.last_batch.loss),
          "last batch %d/%d of %d, %zu seen", w.last_batch.epoch, w.last_batch.batch,
          w.last_batch.batches_per_epoch, w.last_batch.images_seen);
    CHECK(w.last_batch.learning_rate == 0.0005, "epoch 2 rate %g", w.last_batch.learning_rate);
    CHECK(w.last_epoch.epoch == 2 && w.last_epoch.epochs == 2 &&
              w.last_epoch.learning_rate == 0.0005 && w.last_epoch.test_accuracy >= 0 &&
              w.last_epoch.test_accuracy <= 1 && isfinite(w.last_epoch.test_loss) &&
              isfinite(w.last_epoch.train_loss) && w.last_epoch.seconds >= 0,
          "epoch progress");
    /* Without a test set the test figures are NaN. */
    o.epochs = 1;
    w = (watch){0};
    CHECK_OK(digit_train(m, ds, NULL, &o, NULL));
    CHECK(isnan(w.last_epoch.test_accuracy) && isnan(w.last_epoch.test_loss), "NaN test");

    /* on_batch returning 1 stops right after that batch. */
    w = (watch){.stop_epoch = 1, .stop_batch = 3};
    digit_model *before;
    digit_model_clone(m, &before);
    CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_CANCELLED, "cancel");
    CHECK(w.batches == 3 && w.epochs == 0, "%d batches ran, %d epochs", w.batches, w.epochs);
    CHECK(!same_weights(m, before), "the batches before the stop were applied");
    /* on_epoch returning 1 stops after that epoch. */
    o.epochs = 3;
    w = (watch){.stop_after_epoch = 1};
    CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_CANCELLED, "cancel");
    CHECK(w.epochs == 1 && w.batches == 4, "%d epochs ran", w.epochs);
    digit_model_free(before);
    digit_model_free(m);
    digit_dataset_free(ds);
    digit_dataset_free(test);
}

/* Checkpoint runs: 256 images, batches of 32 (8 per epoch), 2 epochs, the
 * rate halved after epoch 1 so a resume must get the schedule right too. */
static void ckpt_options(digit_train_options *o, const char *ckpt, watch *w) {
    digit_train_options_init_default(o, "compact");
    o->epochs = 2, o->batch_size = 32, o->seed = 9, o->threads = 1;
    o->milestones[0] = 1, o->milestone_count = 1, o->gamma = 0.5;
    o->checkpoint_path = ckpt;
    if (w) o->on_batch = on_batch, o->on_epoch = on_epoch, o->user = w;
}

/* Trains until `w` stops it, then resumes from the checkpoint in a model
 * whose own weights differ (the checkpoint must carry them), and compares
 * with the uninterrupted run `ref`. */
static void check_resume(const char *dir, const char *tag, const digit_dataset *ds,
                         digit_model *ref, watch w) {
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, tag);
    digit_train_options o;
    ckpt_options(&o, ckpt, &w);
    digit_status st;
    digit_model *m = train_fresh("compact", 1, ds, &o, NULL, &st);
    CHECK(st == DIGIT_ERR_CANCELLED, "%s: run ended with '%s'", tag, digit_status_name(st));
    ckpt_options(&o, ckpt, NULL);
    o.checkpoint_path = NULL;
    digit_model *r = train_fresh("compact", 77, ds, &o, ckpt, &st);
    CHECK(st == DIGIT_OK, "%s: resume failed: %s", tag, digit_last_error());
    CHECK(st == DIGIT_OK && same_weights(r, ref), "%s: resumed model differs", tag);
    digit_model_free(m);
    digit_model_free(r);
}

static void test_checkpoints(void) {
    char dir[512], ckpt[600];
    make_dir(dir, sizeof dir, "ckpt");
    digit_dataset *ds = synth_dataset(256, 10);
    digit_train_options o;
    digit_status st;

    /* A: uninterrupted, checkpointing after each epoch. */
    path_in(ckpt, sizeof ckpt, dir, "a.ckpt");
    ckpt_options(&o, ckpt, NULL);
    digit_model *a = train_fresh("compact", 1, ds, &o, NULL, &st);
    CHECK_OK(st);
    CHECK(count_entries(dir, NULL) == 1, "only the checkpoint file is left");
    /* A checkpoint is also a loadable model file. */
    digit_model *as_model = NULL;
    CHECK_OK(digit_model_load(ckpt, &as_model));
    CHECK(as_model && same_weights(as_model, a), "checkpoint as a model");
    CHECK(as_model && digit_model_metadata_key(as_model, 0) == NULL,
          "checkpoint fields are not user metadata");
    digit_model_free(as_model);

    /* A finished 2-epoch checkpoint resumed by a 1-epoch run is refused:
     * the model would come back with more training than asked for. */
    {
        digit_train_options shorter;
        ckpt_options(&shorter, NULL, NULL);
        shorter.epochs = 1;
        digit_model *m = train_fresh("compact", 1, ds, &shorter, ckpt, &st);
        CHECK(st == DIGIT_ERR_ARGUMENT && strstr(digit_last_error(), "more than this run's 1"),
              "resuming past the end: %s (%s)", digit_status_name(st), digit_last_error());
        digit_model_free(m);
    }

    /* B: stopped mid-epoch 1, mid-epoch 2, at the last batch of epoch 1,
     * and by the epoch callback; each resumed to the same bits as A. */
    check_resume(dir, "mid-epoch-1", ds, a, (watch){.stop_epoch = 1, .stop_batch = 3});
    check_resume(dir, "mid-epoch-2", ds, a, (watch){.stop_epoch = 2, .stop_batch = 5});
    check_resume(dir, "after-epoch-1", ds, a, (watch){.stop_after_epoch = 1});
    check_resume(dir, "last-batch-of-epoch-1", ds, a,
                 (watch){.stop_epoch = 1, .stop_batch = 8});

    /* A finished checkpoint continued for one more epoch equals a 3-epoch
     * run. */
    ckpt_options(&o, NULL, NULL);
    o.epochs = 3;
    digit_model *three = train_fresh("compact", 1, ds, &o, NULL, &st);
    digit_model *more = train_fresh("compact", 5, ds, &o, ckpt, &st);
    CHECK(st == DIGIT_OK && same_weights(three, more), "continued run differs: %s",
          digit_last_error());
    digit_model_free(three);
    digit_model_free(more);

    /* Resuming with other options or another model is refused clearly. */
    digit_model *m;
    digit_model_create("compact", 1, &m);
    ckpt_options(&o, NULL, NULL);
    o.seed = 10;
    CHECK_ERR(digit_train(m, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "seed");
    ckpt_options(&o, NULL, NULL);
    o.batch_size = 16;
    CHECK_ERR(digit_train(m, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "batch size");
    ckpt_options(&o, NULL, NULL);
    o.learning_rate = 0.002;
    CHECK_ERR(digit_train(m, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "learning rate");
    digit_dataset *fewer = synth_dataset(200, 10);
    ckpt_options(&o, NULL, NULL);
    CHECK_ERR(digit_train(m, fewer, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "images");
    digit_dataset_free(fewer);
    digit_model *basic;
    digit_model_create("basic", 1, &basic);
    CHECK_ERR(digit_train(basic, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "architecture");
    digit_model_free(basic);
    /* A plain model file is not a checkpoint; a missing file is an I/O error. */
    char plain[600];
    path_in(plain, sizeof plain, dir, "plain.safetensors");
    digit_model_save(m, plain);
    CHECK_ERR(digit_train(m, ds, NULL, &o, plain), DIGIT_ERR_FORMAT, "checkpoint");
    path_in(plain, sizeof plain, dir, "nothing.ckpt");
    CHECK_ERR(digit_train(m, ds, NULL, &o, plain), DIGIT_ERR_IO, plain);
    digit_model_free(m);
    digit_model_free(a);
    digit_dataset_free(ds);
}

/* ---- regressions from fuzzing and review ---- */

/* Seeds are uint64: a checkpoint of a run seeded at or above 2^63 must be
 * readable and resumable, and a seed past 2^64 (or signed, or spaced) is
 * refused. The seed used to be range-checked as an int64 with strtoll, so
 * big seeds passed only through its saturation, and so did any overflowing
 * number, silently read as 2^64 - 1. */
static void test_checkpoint_big_seed(void) {
    char dir[512], ckpt[600];
    make_dir(dir, sizeof dir, "big-seed");
    digit_dataset *ds = synth_dataset(64, 4);
    const uint64_t seeds[] = {(uint64_t)1 << 63, UINT64_MAX};
    for (size_t i = 0; i < 2; i++) {
        path_in(ckpt, sizeof ckpt, dir, i ? "max.ckpt" : "half.ckpt");
        digit_train_options o;
        digit_train_options_init_default(&o, "compact");
        o.epochs = 1, o.batch_size = 32, o.threads = 1, o.seed = seeds[i];
        o.checkpoint_path = ckpt;
        digit_status st;
        digit_model *one = train_fresh("compact", 1, ds, &o, NULL, &st);
        CHECK_OK(st);
        digit_checkpoint_info info;
        digit_checkpoint_info_init(&info);
        digit_train_options ran;
        digit_train_options_init_default(&ran, "basic");
        CHECK_OK(digit_checkpoint_read(ckpt, &info, &ran));
        CHECK(ran.seed == seeds[i], "seed %llu read back as %llu",
              (unsigned long long)seeds[i], (unsigned long long)ran.seed);
        o.epochs = 2, o.checkpoint_path = NULL;
        digit_model *two = train_fresh("compact", 1, ds, &o, NULL, &st);
        digit_model *resumed = train_fresh("compact", 2, ds, &o, ckpt, &st);
        CHECK(st == DIGIT_OK && same_weights(two, resumed),
              "seed %llu: resume failed or differs: %s", (unsigned long long)seeds[i],
              digit_last_error());
        digit_model_free(one);
        digit_model_free(two);
        digit_model_free(resumed);
    }
    /* Not a number, negative, or past 2^64: refused. */
    const char *bad[] = {"-1", "18446744073709551616", "12x", "", " 5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char meta[1024];
        snprintf(meta, sizeof meta,
                 "{\"__metadata__\":{\"arch\":\"compact\","
                 "\"checkpoint.format\":\"libdigit-checkpoint-1\",\"checkpoint.epoch\":\"1\","
                 "\"checkpoint.batch\":\"0\",\"checkpoint.step\":\"2\","
                 "\"checkpoint.loss_sum\":\"0\",\"checkpoint.batch_size\":\"32\","
                 "\"checkpoint.seed\":\"%s\",\"checkpoint.learning_rate\":\"0.001\","
                 "\"checkpoint.gamma\":\"0.1\",\"checkpoint.milestones\":\"\","
                 "\"checkpoint.train_count\":\"64\",\"checkpoint.epochs\":\"2\","
                 "\"checkpoint.threads\":\"1\"}}",
                 bad[i]);
        uint64_t n = strlen(meta);
        uint8_t *b = malloc(8 + n);
        memcpy(b, &n, 8);
        memcpy(b + 8, meta, n);
        path_in(ckpt, sizeof ckpt, dir, "bad.ckpt");
        write_bytes(ckpt, b, 8 + n);
        free(b);
        digit_checkpoint_info info;
        digit_checkpoint_info_init(&info);
        CHECK_ERR(digit_checkpoint_read(ckpt, &info, NULL), DIGIT_ERR_FORMAT, "checkpoint.seed");
    }
    digit_dataset_free(ds);
}

/* A checkpoint whose options are each well formed but out of range (shear
 * 512 degrees, found by fuzz_model) is refused when read, not handed to
 * the caller. */
static void test_checkpoint_options_in_range(void) {
    size_t n;
    uint8_t *b = read_bytes("fuzz/corpus/model/checkpoint2-meta.safetensors", &n);
    CHECK(b != NULL, "the format-2 checkpoint seed is readable (run from the repository root)");
    if (!b) return;
    digit_checkpoint_info info;
    digit_checkpoint_info_init(&info);
    digit_train_options ran;
    digit_train_options_init_default(&ran, "basic");
    char dir[512], ckpt[600];
    make_dir(dir, sizeof dir, "ckpt-range");
    path_in(ckpt, sizeof ckpt, dir, "ok.ckpt");
    write_bytes(ckpt, b, n);
    CHECK_OK(digit_checkpoint_read(ckpt, &info, &ran));
    const char key[] = "\"checkpoint.augment_shear\":\"0x0p+0\"";
    uint8_t *at = memmem(b, n, key, sizeof key - 1);
    CHECK(at != NULL, "the seed records the shear");
    if (at) {
        memcpy(at + sizeof key - 8, "0x1p+9", 6); /* same length: 512 degrees */
        path_in(ckpt, sizeof ckpt, dir, "shear.ckpt");
        write_bytes(ckpt, b, n);
        CHECK_ERR(digit_checkpoint_read(ckpt, &info, &ran), DIGIT_ERR_FORMAT,
                  "checkpoint options are invalid: augment_shear");
    }
    free(b);
}

int main(void) {
    if (!make_test_root("test-train-api")) return 1;
    test_checkpoint_options_in_range();
    test_train_options();
    test_options_check();
    test_determinism();
    test_callbacks();
    test_checkpoints();
    test_checkpoint_big_seed();
    remove_tree(test_root);
    return test_summary("test_train_api");
}
