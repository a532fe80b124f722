/* SPDX-License-Identifier: MIT */
/*
 * test_abi.c — the 2.0 contract that digit.h states for every function
 * (csrc/handles.c holds the shared size check):
 *
 *   - sized structures: each struct that crosses the API refuses a
 *     struct_size of 0, one below the 2.0 layout, one above the library's
 *     sizeof and huge values (DIGIT_ERR_ARGUMENT, the message naming the
 *     argument), and writes nothing then; the exact size works and nothing
 *     past struct_size is written (a guard pattern follows each buffer);
 *     the progress structs handed to callbacks carry the library's sizeof;
 *   - NULL arguments: every pointer the header does not mark "may be NULL"
 *     is refused with DIGIT_ERR_ARGUMENT and a message naming the function
 *     and the argument; the "may be NULL" ones work with NULL; accessors
 *     give 0 / NULL for a NULL handle.
 */
#define _GNU_SOURCE 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "testfiles.h"

/* ---- sized structures ---- */

/* Bytes after the structure that the library must leave alone. */
enum { GUARD = 64, PATTERN = 0xA5 };

/* A structure of `size` bytes followed by GUARD bytes, all PATTERN, with
 * struct_size set to `struct_size`. */
static unsigned char *guarded(size_t size, size_t struct_size) {
    unsigned char *p = malloc(size + GUARD);
    memset(p, PATTERN, size + GUARD);
    memcpy(p, &struct_size, sizeof struct_size);
    return p;
}

/* 1 if bytes [from, to) all still hold PATTERN. */
static int untouched(const unsigned char *p, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (p[i] != PATTERN) return 0;
    return 1;
}

static size_t struct_size_of(const unsigned char *p) {
    size_t s;
    memcpy(&s, p, sizeof s);
    return s;
}

/* Calls the function under test on a structure at `buf`. */
typedef digit_status (*sized_call)(void *buf, void *ctx);

/* The struct_size values every structure must refuse, its own size being
 * `size` (the 2.0 layout is the whole structure in 2.0). */
static size_t bad_sizes(size_t size, size_t out[6]) {
    out[0] = 0;
    out[1] = sizeof(size_t); /* just the struct_size field */
    out[2] = size - 1;
    out[3] = size + 1;
    out[4] = (size_t)1 << 40;
    out[5] = SIZE_MAX;
    return 6;
}

/* The checks for one structure: `name` is what its messages must contain
 * ("digit_evaluate: out"). Returns the successful call's buffer (size +
 * GUARD bytes, caller frees) for field checks. */
static unsigned char *check_sized(const char *name, size_t size, sized_call call, void *ctx) {
    size_t bad[6];
    size_t nbad = bad_sizes(size, bad);
    for (size_t i = 0; i < nbad; i++) {
        unsigned char *p = guarded(size, bad[i]);
        digit_status st = call(p, ctx);
        CHECK(st == DIGIT_ERR_ARGUMENT, "%s: struct_size %zu gave '%s'", name, bad[i],
              digit_status_name(st));
        CHECK(strstr(digit_last_error(), name) && strstr(digit_last_error(), "struct_size"),
              "%s: struct_size %zu: message '%s'", name, bad[i], digit_last_error());
        CHECK(struct_size_of(p) == bad[i] && untouched(p, sizeof(size_t), size + GUARD),
              "%s: a refused struct_size %zu was written to", name, bad[i]);
        free(p);
    }
    /* The exact size: accepted, nothing written past it. */
    unsigned char *p = guarded(size, size);
    CHECK_OK(call(p, ctx));
    CHECK(struct_size_of(p) == size, "%s: struct_size became %zu", name, struct_size_of(p));
    CHECK(untouched(p, size, size + GUARD), "%s: wrote past struct_size", name);
    /* And in a buffer of exactly struct_size bytes (ASan sees any access
     * past it). */
    unsigned char *tight = malloc(size);
    memcpy(tight, p, size);
    CHECK_OK(call(tight, ctx));
    free(tight);
    return p;
}

typedef struct abi_ctx {
    digit_model *model;
    digit_dataset *ds;
    const char *ckpt;
    digit_checkpoint_info *info;      /* for the options call */
    digit_train_options *options;     /* for the info call (may be NULL) */
    int preset_compact;
} abi_ctx;

static digit_status call_layer(void *buf, void *ctx) {
    return digit_model_layer(((abi_ctx *)ctx)->model, 3, buf);
}
static digit_status call_tensor(void *buf, void *ctx) {
    return digit_model_tensor(((abi_ctx *)ctx)->model, 2, buf);
}
static digit_status call_evaluate(void *buf, void *ctx) {
    abi_ctx *c = ctx;
    return digit_evaluate(c->model, c->ds, buf);
}
static digit_status call_ckpt_info(void *buf, void *ctx) {
    abi_ctx *c = ctx;
    return digit_checkpoint_read(c->ckpt, buf, c->options);
}
static digit_status call_ckpt_options(void *buf, void *ctx) {
    abi_ctx *c = ctx;
    digit_checkpoint_info_init(c->info);
    return digit_checkpoint_read(c->ckpt, c->info, buf);
}

static void test_init_helpers(void) {
    /* The inline initialisers record the caller's sizeof and zero the
     * rest (its fields: padding bytes are unspecified in C). */
    unsigned char buf[sizeof(digit_evaluation) + GUARD];
#define CHECK_INIT(type, init, zero)                                         \
    do {                                                                     \
        memset(buf, PATTERN, sizeof buf);                                    \
        init((type *)(void *)buf);                                           \
        CHECK(struct_size_of(buf) == sizeof(type), #init " sets %zu",        \
              struct_size_of(buf));                                          \
        type v_;                                                             \
        memcpy(&v_, buf, sizeof v_);                                         \
        CHECK(zero, #init " leaves a field non-zero");                       \
        CHECK(untouched(buf, sizeof(type), sizeof(type) + GUARD),            \
              #init " writes past the structure");                           \
    } while (0)
    CHECK_INIT(digit_layer_info, digit_layer_info_init,
               !v_.name && !v_.description && !v_.out_channels && !v_.out_height &&
                   !v_.out_width && !v_.param_count);
    CHECK_INIT(digit_tensor_info, digit_tensor_info_init,
               !v_.name && !v_.rank && !v_.shape[0] && !v_.shape[3] && !v_.offset &&
                   !v_.count);
    CHECK_INIT(digit_evaluation, digit_evaluation_init,
               v_.loss == 0 && v_.accuracy == 0 && !v_.count && !v_.confusion[0][0] &&
                   !v_.confusion[9][9]);
    CHECK_INIT(digit_checkpoint_info, digit_checkpoint_info_init,
               !v_.arch[0] && !v_.arch[DIGIT_MAX_ARCH_NAME - 1] && !v_.epochs_done &&
                   !v_.batches_done);
#undef CHECK_INIT
    digit_train_options o;
    memset(&o, PATTERN, sizeof o);
    CHECK_OK(digit_train_options_init_default(&o, "compact"));
    CHECK(o.struct_size == sizeof o, "options struct_size %zu", o.struct_size);
    /* Every sized structure begins with struct_size. */
    CHECK(offsetof(digit_layer_info, struct_size) == 0 &&
              offsetof(digit_tensor_info, struct_size) == 0 &&
              offsetof(digit_evaluation, struct_size) == 0 &&
              offsetof(digit_checkpoint_info, struct_size) == 0 &&
              offsetof(digit_train_options, struct_size) == 0 &&
              offsetof(digit_batch_progress, struct_size) == 0 &&
              offsetof(digit_epoch_progress, struct_size) == 0,
          "struct_size is not first");
    CHECK(sizeof(((digit_checkpoint_info *)0)->arch) == DIGIT_MAX_ARCH_NAME, "arch field");
    for (size_t i = 0; digit_preset_name(i); i++)
        CHECK(strlen(digit_preset_name(i)) < DIGIT_MAX_ARCH_NAME, "preset %zu name", i);
}

static void test_layer_and_tensor_sizes(digit_model *m) {
    abi_ctx c = {.model = m};
    unsigned char *p = check_sized("digit_model_layer: out", sizeof(digit_layer_info),
                                   call_layer, &c);
    digit_layer_info want, got;
    digit_layer_info_init(&want);
    CHECK_OK(digit_model_layer(m, 3, &want));
    memcpy(&got, p, sizeof got);
    CHECK(!strcmp(got.name, want.name) && got.param_count == want.param_count &&
              got.out_channels == want.out_channels,
          "layer fields from the guarded buffer");
    free(p);

    p = check_sized("digit_model_tensor: out", sizeof(digit_tensor_info), call_tensor, &c);
    digit_tensor_info tw, tg;
    digit_tensor_info_init(&tw);
    CHECK_OK(digit_model_tensor(m, 2, &tw));
    memcpy(&tg, p, sizeof tg);
    CHECK(!strcmp(tg.name, tw.name) && tg.count == tw.count && tg.offset == tw.offset,
          "tensor fields from the guarded buffer");
    free(p);

    /* A bad index and a bad size: refused either way. */
    digit_layer_info L;
    digit_layer_info_init(&L);
    L.struct_size = 0;
    CHECK(digit_model_layer(m, 999, &L) == DIGIT_ERR_ARGUMENT, "bad index and size");
}

static void test_evaluation_size(digit_model *m, digit_dataset *ds) {
    abi_ctx c = {.model = m, .ds = ds};
    unsigned char *p = check_sized("digit_evaluate: out", sizeof(digit_evaluation),
                                   call_evaluate, &c);
    digit_evaluation want, got;
    digit_evaluation_init(&want);
    CHECK_OK(digit_evaluate(m, ds, &want));
    memcpy(&got, p, sizeof got);
    CHECK(got.count == want.count && got.loss == want.loss &&
              !memcmp(got.confusion, want.confusion, sizeof got.confusion),
          "evaluation from the guarded buffer");
    free(p);
}

static void test_checkpoint_sizes(const char *ckpt) {
    digit_checkpoint_info info;
    abi_ctx c = {.ckpt = ckpt, .info = &info};
    unsigned char *p = check_sized("digit_checkpoint_read: info",
                                   sizeof(digit_checkpoint_info), call_ckpt_info, &c);
    digit_checkpoint_info got;
    memcpy(&got, p, sizeof got);
    CHECK(!strcmp(got.arch, "compact") && got.epochs_done == 1 && got.batches_done == 0,
          "checkpoint info %s %d %d", got.arch, got.epochs_done, got.batches_done);
    free(p);
    /* With options too: the info is checked either way. */
    digit_train_options o;
    digit_train_options_init_default(&o, "basic");
    c.options = &o;
    p = check_sized("digit_checkpoint_read: info", sizeof(digit_checkpoint_info),
                    call_ckpt_info, &c);
    free(p);
    c.options = NULL;

    p = check_sized("digit_checkpoint_read: options", sizeof(digit_train_options),
                    call_ckpt_options, &c);
    digit_train_options ran;
    memcpy(&ran, p, sizeof ran);
    CHECK(ran.epochs == 1 && ran.batch_size == 20 && ran.seed == 5 && ran.threads == 1 &&
              ran.milestone_count == 2 && !ran.on_batch && !ran.on_epoch &&
              !ran.checkpoint_path && !ran.user,
          "options read back: %d epochs, batch %d, seed %llu", ran.epochs, ran.batch_size,
          (unsigned long long)ran.seed);
    free(p);

    /* A refused options size leaves the (good) info unwritten too. */
    digit_checkpoint_info_init(&info);
    digit_train_options_init_default(&o, "basic");
    o.struct_size = 3;
    CHECK_ERR(digit_checkpoint_read(ckpt, &info, &o), DIGIT_ERR_ARGUMENT,
              "digit_checkpoint_read: options");
    CHECK(info.arch[0] == '\0' && info.epochs_done == 0, "info written on refusal");
}

/* digit_train_options_init takes the size as an argument. */
static void test_options_init_size(void) {
    const size_t size = sizeof(digit_train_options);
    size_t bad[6];
    size_t nbad = bad_sizes(size, bad);
    for (size_t i = 0; i < nbad; i++) {
        unsigned char *p = guarded(size, 12345);
        digit_status st = digit_train_options_init((digit_train_options *)(void *)p, bad[i],
                                                   "basic");
        CHECK(st == DIGIT_ERR_ARGUMENT, "size %zu gave '%s'", bad[i], digit_status_name(st));
        CHECK(strstr(digit_last_error(), "digit_train_options_init: size") != NULL,
              "size %zu: message '%s'", bad[i], digit_last_error());
        CHECK(struct_size_of(p) == 12345 && untouched(p, sizeof(size_t), size + GUARD),
              "refused size %zu: the structure was written to", bad[i]);
        free(p);
    }
    unsigned char *p = guarded(size, 0);
    CHECK_OK(digit_train_options_init((digit_train_options *)(void *)p, size, "compact"));
    CHECK(struct_size_of(p) == size, "struct_size %zu", struct_size_of(p));
    CHECK(untouched(p, size, size + GUARD), "init wrote past the structure");
    digit_train_options o;
    memcpy(&o, p, sizeof o);
    CHECK(o.epochs == 10 && o.milestone_count == 2, "compact defaults");
    free(p);
}

/* digit_train_options_check and digit_train read the options' size. */
static void test_options_sizes(digit_dataset *ds) {
    const size_t size = sizeof(digit_train_options);
    size_t bad[6];
    size_t nbad = bad_sizes(size, bad);
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 2, &m));
    digit_model *before;
    CHECK_OK(digit_model_clone(m, &before));
    for (size_t i = 0; i < nbad; i++) {
        digit_train_options o;
        digit_train_options_init_default(&o, "compact");
        o.epochs = 1, o.batch_size = 20, o.threads = 1;
        o.struct_size = bad[i];
        unsigned char copy[sizeof o];
        memcpy(copy, &o, sizeof o);
        CHECK_ERR(digit_train_options_check(&o), DIGIT_ERR_ARGUMENT,
                  "digit_train_options_check: opt");
        CHECK(strstr(digit_last_error(), "struct_size") != NULL, "message '%s'",
              digit_last_error());
        CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "digit_train: opt");
        CHECK(strstr(digit_last_error(), "struct_size") != NULL, "message '%s'",
              digit_last_error());
        CHECK(!memcmp(copy, &o, sizeof o), "the options were written to");
    }
    CHECK(same_weights(m, before), "refused options changed the model");
    /* The exact size, in a buffer of exactly that size. */
    digit_train_options *o = malloc(size);
    CHECK_OK(digit_train_options_init(o, size, "compact"));
    o->epochs = 1, o->batch_size = 20, o->threads = 1;
    CHECK_OK(digit_train_options_check(o));
    CHECK_OK(digit_train(m, ds, NULL, o, NULL));
    CHECK(!same_weights(m, before), "training with exact-size options did nothing");
    free(o);
    digit_model_free(before);
    digit_model_free(m);
}

/* The progress structures carry the library's own sizeof. */
typedef struct sizes_seen {
    int batches, epochs, bad_batch, bad_epoch;
} sizes_seen;

static int size_on_batch(const digit_batch_progress *p, void *user) {
    sizes_seen *s = user;
    s->batches++;
    s->bad_batch += p->struct_size != sizeof *p;
    return 0;
}

static int size_on_epoch(const digit_epoch_progress *p, void *user) {
    sizes_seen *s = user;
    s->epochs++;
    s->bad_epoch += p->struct_size != sizeof *p;
    return 0;
}

static void test_progress_sizes(digit_dataset *ds, digit_dataset *test) {
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 3, &m));
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    sizes_seen s = {0};
    o.epochs = 2, o.batch_size = 8, o.threads = 1;
    o.on_batch = size_on_batch, o.on_epoch = size_on_epoch, o.user = &s;
    CHECK_OK(digit_train(m, ds, test, &o, NULL));
    CHECK(s.batches == 6 && s.epochs == 2, "%d batches, %d epochs", s.batches, s.epochs);
    CHECK(s.bad_batch == 0, "%d batch progress structs with another struct_size", s.bad_batch);
    CHECK(s.bad_epoch == 0, "%d epoch progress structs with another struct_size", s.bad_epoch);
    digit_model_free(m);
}

static void test_sized_structures(void) {
    char dir[512], ckpt[600];
    make_dir(dir, sizeof dir, "abi");
    path_in(ckpt, sizeof ckpt, dir, "run.ckpt");
    digit_dataset *ds = synth_dataset(20, 3), *test = synth_dataset(10, 4);
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));

    /* The checkpoint the checkpoint_read checks read. */
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.batch_size = 20, o.seed = 5, o.threads = 1, o.checkpoint_path = ckpt;
    digit_model *trained = NULL;
    digit_status st;
    trained = train_fresh("compact", 1, ds, &o, NULL, &st);
    CHECK_OK(st);
    digit_model_free(trained);

    test_init_helpers();
    test_layer_and_tensor_sizes(m);
    test_evaluation_size(m, test);
    test_checkpoint_sizes(ckpt);
    test_options_init_size();
    test_options_sizes(ds);
    test_progress_sizes(ds, test);
    digit_model_free(m);
    digit_dataset_free(ds);
    digit_dataset_free(test);
}

/* ---- NULL arguments ---- */

/* A call that must be refused for its NULL argument: DIGIT_ERR_ARGUMENT
 * and "<function>: <argument> is NULL". */
#define CHECK_NULL(call, function, argument)                                 \
    CHECK_ERR(call, DIGIT_ERR_ARGUMENT, function ": " argument " is NULL")

static void test_null_models(digit_model *m, const char *path) {
    digit_model *out = (digit_model *)1;
    CHECK_NULL(digit_model_create("basic", 1, NULL), "digit_model_create", "out");
    CHECK_NULL(digit_model_clone(NULL, &out), "digit_model_clone", "model");
    CHECK(out == NULL, "digit_model_clone(NULL model) left *out set");
    CHECK_NULL(digit_model_clone(m, NULL), "digit_model_clone", "out");
    digit_layer_info L;
    digit_layer_info_init(&L);
    CHECK_NULL(digit_model_layer(NULL, 0, &L), "digit_model_layer", "model");
    CHECK_NULL(digit_model_layer(m, 0, NULL), "digit_model_layer", "out");
    digit_tensor_info T;
    digit_tensor_info_init(&T);
    CHECK_NULL(digit_model_tensor(NULL, 0, &T), "digit_model_tensor", "model");
    CHECK_NULL(digit_model_tensor(m, 0, NULL), "digit_model_tensor", "out");
    CHECK_NULL(digit_model_set_metadata(NULL, "k", "v"), "digit_model_set_metadata", "model");
    CHECK_NULL(digit_model_set_metadata(m, NULL, "v"), "digit_model_set_metadata", "key");
    CHECK_NULL(digit_model_set_metadata(m, "k", NULL), "digit_model_set_metadata", "value");
    CHECK_NULL(digit_model_remove_metadata(NULL, "k"), "digit_model_remove_metadata", "model");
    CHECK_NULL(digit_model_remove_metadata(m, NULL), "digit_model_remove_metadata", "key");
    CHECK(digit_model_weights_mutable(NULL) == NULL, "mutable weights of NULL");
    CHECK(strstr(digit_last_error(), "digit_model_weights_mutable: model is NULL") != NULL,
          "message '%s'", digit_last_error());
    CHECK_NULL(digit_model_save(NULL, path), "digit_model_save", "model");
    CHECK_NULL(digit_model_save(m, NULL), "digit_model_save", "path");
    out = (digit_model *)1;
    CHECK_NULL(digit_model_load(NULL, &out), "digit_model_load", "path");
    CHECK(out == NULL, "digit_model_load(NULL path) left *out set");
    CHECK_NULL(digit_model_load(path, NULL), "digit_model_load", "out");
    out = (digit_model *)1;
    CHECK_NULL(digit_model_load_memory(NULL, 10, &out), "digit_model_load_memory", "data");
    CHECK(out == NULL, "digit_model_load_memory(NULL data) left *out set");
    CHECK_NULL(digit_model_load_memory("12345678", 8, NULL), "digit_model_load_memory", "out");

    /* A NULL preset is named as NULL. */
    out = (digit_model *)1;
    CHECK_ERR(digit_model_create(NULL, 1, &out), DIGIT_ERR_ARGUMENT, "preset");
    CHECK(out == NULL, "out cleared");
    CHECK(strstr(digit_last_error(), "preset") != NULL,
                  "digit_model_create(NULL preset): message '%s' does not name 'preset'",
                  digit_last_error());
}

static void test_null_predict(digit_model *m, digit_dataset *ds) {
    uint8_t img[DIGIT_IMAGE_PIXELS] = {0};
    float f[DIGIT_IMAGE_PIXELS] = {0}, out[10];
    int label = -1;
    CHECK_NULL(digit_predict_u8(NULL, img, 1, DIGIT_OUTPUT_PROBABILITIES, out, &label),
               "digit_predict_u8", "model");
    CHECK_NULL(digit_predict_u8(m, NULL, 1, DIGIT_OUTPUT_PROBABILITIES, out, &label),
               "digit_predict_u8", "images");
    CHECK_NULL(digit_predict_f32(NULL, f, 1, DIGIT_OUTPUT_PROBABILITIES, out, &label),
               "digit_predict_f32", "model");
    CHECK_NULL(digit_predict_f32(m, NULL, 1, DIGIT_OUTPUT_PROBABILITIES, out, &label),
               "digit_predict_f32", "images");
    /* out and labels may be NULL, either or both. */
    CHECK_OK(digit_predict_u8(m, img, 1, DIGIT_OUTPUT_PROBABILITIES, NULL, &label));
    CHECK(label >= 0 && label <= 9, "label %d", label);
    CHECK_OK(digit_predict_u8(m, img, 1, DIGIT_OUTPUT_PROBABILITIES, out, NULL));
    CHECK_OK(digit_predict_u8(m, img, 1, DIGIT_OUTPUT_PROBABILITIES, NULL, NULL));
    CHECK_OK(digit_predict_f32(m, f, 1, DIGIT_OUTPUT_LOG_PROBABILITIES, NULL, NULL));
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    CHECK_NULL(digit_evaluate(NULL, ds, &ev), "digit_evaluate", "model");
    CHECK_NULL(digit_evaluate(m, NULL, &ev), "digit_evaluate", "dataset");
    CHECK_NULL(digit_evaluate(m, ds, NULL), "digit_evaluate", "out");
}

static void test_null_datasets(digit_dataset *ds) {
    uint8_t img[DIGIT_IMAGE_PIXELS] = {0}, lab[1] = {0};
    digit_dataset *out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_load(NULL, "l", &out), "digit_dataset_load", "images_path");
    CHECK(out == NULL, "digit_dataset_load(NULL images_path) left *out set");
    out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_load("i", NULL, &out), "digit_dataset_load", "labels_path");
    CHECK(out == NULL, "digit_dataset_load(NULL labels_path) left *out set");
    CHECK_NULL(digit_dataset_load("i", "l", NULL), "digit_dataset_load", "out");
    out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_load_mnist(NULL, 1, &out), "digit_dataset_load_mnist", "dir");
    CHECK(out == NULL, "digit_dataset_load_mnist(NULL dir) left *out set");
    CHECK_NULL(digit_dataset_load_mnist("/tmp", 1, NULL), "digit_dataset_load_mnist", "out");
    out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_create(NULL, lab, 1, &out), "digit_dataset_create", "images");
    CHECK(out == NULL, "digit_dataset_create(NULL images) left *out set");
    CHECK_NULL(digit_dataset_create(img, NULL, 1, &out), "digit_dataset_create", "labels");
    CHECK_NULL(digit_dataset_create(img, lab, 1, NULL), "digit_dataset_create", "out");
    out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_slice(NULL, 0, 1, &out), "digit_dataset_slice", "dataset");
    CHECK(out == NULL, "digit_dataset_slice(NULL dataset) left *out set");
    CHECK_NULL(digit_dataset_slice(ds, 0, 1, NULL), "digit_dataset_slice", "out");
    out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_load_folder(NULL, &out), "digit_dataset_load_folder", "dir");
    CHECK(out == NULL, "digit_dataset_load_folder(NULL dir) left *out set");
    CHECK_NULL(digit_dataset_load_folder("/tmp", NULL), "digit_dataset_load_folder", "out");
    out = (digit_dataset *)1;
    CHECK_NULL(digit_dataset_concat(NULL, ds, &out), "digit_dataset_concat", "a");
    CHECK(out == NULL, "digit_dataset_concat(NULL a) left *out set");
    CHECK_NULL(digit_dataset_concat(ds, NULL, &out), "digit_dataset_concat", "b");
    CHECK_NULL(digit_dataset_concat(ds, ds, NULL), "digit_dataset_concat", "out");
}

static int stop_at_once(const digit_batch_progress *p, void *user) {
    (void)p, (void)user;
    return 1;
}

static void test_null_training(digit_model *m, digit_dataset *ds, const char *ckpt) {
    digit_train_options o;
    CHECK_NULL(digit_train_options_init(NULL, sizeof o, "basic"), "digit_train_options_init",
               "opt");
    CHECK_ERR(digit_train_options_init(&o, sizeof o, NULL), DIGIT_ERR_ARGUMENT, "preset is NULL");
    CHECK_NULL(digit_train_options_check(NULL), "digit_train_options_check", "opt");
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.batch_size = 20, o.threads = 1;
    CHECK_NULL(digit_train(NULL, ds, NULL, &o, NULL), "digit_train", "model");
    /* The header names these `train` and `opt`; the messages say "training
     * set" and "options". Both are checked to name the function and say
     * NULL; the exact argument names are pending. */
    CHECK_ERR(digit_train(m, NULL, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "digit_train: ");
    CHECK(strstr(digit_last_error(), "is NULL") != NULL, "message '%s'", digit_last_error());
    CHECK(strstr(digit_last_error(), "digit_train: train is NULL") != NULL,
                  "message '%s' does not name the argument `train`", digit_last_error());
    CHECK_ERR(digit_train(m, ds, NULL, NULL, NULL), DIGIT_ERR_ARGUMENT, "digit_train: ");
    CHECK(strstr(digit_last_error(), "is NULL") != NULL, "message '%s'", digit_last_error());
    CHECK(strstr(digit_last_error(), "digit_train: opt is NULL") != NULL,
                  "message '%s' does not name the argument `opt`", digit_last_error());
    /* test, resume_path and the callbacks may be NULL (a cancel at the
     * first batch keeps it short). */
    CHECK_OK(digit_train(m, ds, NULL, &o, NULL));
    o.on_batch = stop_at_once;
    o.on_epoch = NULL;
    CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_CANCELLED, "cancel");

    digit_checkpoint_info info;
    digit_checkpoint_info_init(&info);
    CHECK_NULL(digit_checkpoint_read(NULL, &info, NULL), "digit_checkpoint_read", "path");
    CHECK_NULL(digit_checkpoint_read(ckpt, NULL, NULL), "digit_checkpoint_read", "info");
    CHECK_OK(digit_checkpoint_read(ckpt, &info, NULL)); /* options may be NULL */
    CHECK(info.epochs_done == 1, "epochs done %d", info.epochs_done);
}

static void test_null_images(const char *path) {
    uint8_t px[DIGIT_IMAGE_PIXELS], gray[4] = {0, 255, 0, 0};
    CHECK_NULL(digit_image_load(NULL, px, NULL), "digit_image_load", "path");
    CHECK_NULL(digit_image_load(path, NULL, NULL), "digit_image_load", "out");
    CHECK_NULL(digit_image_load_memory(NULL, 10, px, NULL), "digit_image_load_memory",
               "data");
    CHECK_NULL(digit_image_load_memory(gray, 4, NULL, NULL), "digit_image_load_memory",
               "out");
    digit_pixels p;
    digit_pixels_init(&p);
    p.data = gray, p.width = 2, p.height = 2, p.channels = 1;
    CHECK_NULL(digit_image_preprocess(NULL, px, NULL), "digit_image_preprocess", "pixels");
    CHECK_NULL(digit_image_preprocess(&p, NULL, NULL), "digit_image_preprocess", "out");
    CHECK_NULL(digit_image_save_png(NULL, gray, 2, 2), "digit_image_save_png", "path");
    CHECK_NULL(digit_image_save_png(path, NULL, 2, 2), "digit_image_save_png", "gray");
}

/* Accessors return 0 / NULL for a NULL handle; the frees take NULL. */
static void test_null_accessors(digit_model *m) {
    CHECK(digit_model_arch(NULL) == NULL, "arch");
    CHECK(digit_model_param_count(NULL) == 0, "param count");
    CHECK(digit_model_layer_count(NULL) == 0, "layer count");
    CHECK(digit_model_tensor_count(NULL) == 0, "tensor count");
    CHECK(digit_model_summary(NULL, NULL, 0) == 0, "summary");
    char buf[8] = "xxxxxxx";
    CHECK(digit_model_summary(NULL, buf, sizeof buf) == 0, "summary into a buffer");
    CHECK(digit_model_metadata(NULL, "k") == NULL, "metadata");
    CHECK(digit_model_metadata(m, NULL) == NULL, "metadata of a NULL key");
    CHECK(digit_model_metadata_key(NULL, 0) == NULL, "metadata key");
    CHECK(digit_model_weights(NULL) == NULL, "weights");
    float mean = 5, std = 5, want_mean, want_std;
    digit_model_normalization(NULL, &mean, &std);
    CHECK(mean == 0 && std == 1, "NULL model normalisation %g %g", (double)mean, (double)std);
    /* Either out pointer may be NULL. */
    digit_model_normalization(m, &want_mean, &want_std);
    mean = std = -7;
    digit_model_normalization(m, NULL, &std);
    digit_model_normalization(m, &mean, NULL);
    digit_model_normalization(m, NULL, NULL);
    CHECK(mean == want_mean && std == want_std && std > 0, "normalisation %g %g",
          (double)mean, (double)std);
    /* buf may be NULL when cap is 0. */
    CHECK(digit_model_summary(m, NULL, 0) > 0, "summary length");
    CHECK(digit_dataset_count(NULL) == 0, "dataset count");
    CHECK(digit_dataset_images(NULL) == NULL && digit_dataset_labels(NULL) == NULL,
          "dataset arrays");
    digit_model_free(NULL);
    digit_dataset_free(NULL);
}

static void test_null_arguments(void) {
    char dir[512], path[600], ckpt[600];
    make_dir(dir, sizeof dir, "null");
    path_in(path, sizeof path, dir, "model.safetensors");
    path_in(ckpt, sizeof ckpt, dir, "run.ckpt");
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    digit_dataset *ds = synth_dataset(20, 9);
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.batch_size = 20, o.threads = 1, o.checkpoint_path = ckpt;
    digit_status st;
    digit_model *trained = train_fresh("compact", 1, ds, &o, NULL, &st);
    CHECK_OK(st);
    digit_model_free(trained);

    test_null_models(m, path);
    test_null_predict(m, ds);
    test_null_datasets(ds);
    test_null_training(m, ds, ckpt);
    test_null_images(path);
    test_null_accessors(m);
    digit_dataset_free(ds);
    digit_model_free(m);
}

/* A caller built against 2.0's digit_train_options (which ended at
 * checkpoint_path) is served: its fields filled, nothing written past them,
 * and training with such a struct takes the preset's defaults for the rest. */
static void test_options_of_2_0(void) {
    const size_t v2_0 = offsetof(digit_train_options, checkpoint_path) + sizeof(const char *);
    unsigned char buf[sizeof(digit_train_options) + 16];
    memset(buf, 0xA5, sizeof buf);
    digit_train_options *o = (digit_train_options *)buf;
    CHECK_OK(digit_train_options_init(o, v2_0, "compact"));
    CHECK(o->struct_size == v2_0 && o->epochs == 10, "2.0 options: size %zu epochs %d",
          o->struct_size, o->epochs);
    int untouched = 1;
    for (size_t i = v2_0; i < sizeof buf; i++) untouched &= buf[i] == 0xA5;
    CHECK(untouched, "nothing written past the 2.0 layout");
    CHECK_OK(digit_train_options_check(o));
    CHECK_ERR(digit_train_options_init(o, v2_0 + 8, "compact"), DIGIT_ERR_ARGUMENT, "struct_size");
}

int main(void) {
    if (!make_test_root("test-abi")) return 1;
    test_options_of_2_0();
    test_sized_structures();
    test_null_arguments();
    remove_tree(test_root);
    return test_summary("test_abi");
}
