/* SPDX-License-Identifier: MIT */
/*
 * test_handles.c — csrc/handles.c and the handle rules of digit.h for
 * calls made while a model is being trained:
 *
 *   - from inside on_batch / on_epoch, the calls that modify or train the
 *     model being trained (set / remove metadata, mutable weights, a nested
 *     digit_train) get DIGIT_ERR_BUSY and change nothing; read-only calls
 *     (predict, evaluate, save, metadata, weights, clone, layers) work and
 *     see the weights of the last step; other handles are unrestricted;
 *     another thread gets DIGIT_ERR_BUSY too;
 *   - digit_model_free of the model from a callback stops training after
 *     the current batch; digit_train returns DIGIT_ERR_BUSY and frees it;
 *   - digit_dataset_free of a dataset the run uses is deferred to its end.
 * `make asan-test` runs this file with LeakSanitizer: a deferred free that
 * never happens is a leak, one that happens too early a use after free.
 */
#define _GNU_SOURCE 1

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "testfiles.h"

/* A BUSY refusal naming the call. */
#define CHECK_BUSY(call, name) CHECK_ERR(call, DIGIT_ERR_BUSY, name)

/* What the callbacks do, and what they saw. */
typedef struct probe {
    digit_model *model;        /* the model being trained */
    digit_model *other;        /* another model: unrestricted */
    digit_dataset *train, *test;
    const char *save_path;
    const uint8_t *images;     /* PROBE_IMAGES images to classify */
    int probed_batch, probed_epoch; /* the probes ran (once each) */
    float *saved_weights;      /* copy of the weights when saved */
    /* free handles from a callback */
    int free_model_at_batch;   /* 1-based global batch count, 0: never */
    int free_model_at_epoch;
    int stop_too;              /* also return non-zero when freeing */
    int free_test_at_epoch, free_train_at_batch;
    int batches, epochs;
} probe;

enum { PROBE_IMAGES = 5 };

/* A second thread's attempts on the model while it is trained. */
typedef struct racer {
    digit_model *model;
    const digit_dataset *ds;
    digit_status set, train;
    float *weights;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    r->set = digit_model_set_metadata(r->model, "racer", "x");
    r->weights = digit_model_weights_mutable(r->model);
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.threads = 1;
    r->train = digit_train(r->model, r->ds, NULL, &o, NULL);
    return NULL;
}

/* Everything a callback may and may not do to the model it trains. */
static void probe_model(probe *p, const char *where) {
    digit_model *m = p->model;
    size_t n = digit_model_param_count(m);
    float *before = malloc(sizeof(float) * n);
    memcpy(before, digit_model_weights(m), sizeof(float) * n);

    /* Modifying or training it: BUSY, nothing changes. */
    CHECK_BUSY(digit_model_set_metadata(m, "from_callback", "x"), "digit_model_set_metadata");
    CHECK_BUSY(digit_model_set_metadata(m, "note", "changed"), "digit_model_set_metadata");
    CHECK_BUSY(digit_model_remove_metadata(m, "note"), "digit_model_remove_metadata");
    CHECK_BUSY(digit_model_remove_metadata(m, "absent"), "digit_model_remove_metadata");
    CHECK(digit_model_weights_mutable(m) == NULL, "%s: mutable weights handed out", where);
    CHECK(strstr(digit_last_error(), "digit_model_weights_mutable") &&
              strstr(digit_last_error(), "being trained"),
          "%s: message '%s'", where, digit_last_error());
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.batch_size = 8, o.threads = 1;
    CHECK_BUSY(digit_train(m, p->train, NULL, &o, NULL), "digit_train");
    CHECK(digit_model_metadata(m, "from_callback") == NULL, "%s: metadata set", where);
    CHECK(digit_model_metadata(m, "note") && !strcmp(digit_model_metadata(m, "note"), "kept"),
          "%s: metadata changed", where);

    /* Another thread is refused as well. */
    racer r = {m, p->train, DIGIT_OK, DIGIT_OK, NULL};
    pthread_t th;
    pthread_create(&th, NULL, race, &r);
    pthread_join(th, NULL);
    CHECK(r.set == DIGIT_ERR_BUSY && r.train == DIGIT_ERR_BUSY && r.weights == NULL,
          "%s: another thread got set '%s', train '%s', weights %p", where,
          digit_status_name(r.set), digit_status_name(r.train), (void *)r.weights);
    CHECK(!memcmp(before, digit_model_weights(m), sizeof(float) * n),
          "%s: refused calls changed the weights", where);

    /* Read-only calls work. */
    float prob[PROBE_IMAGES * 10], again[PROBE_IMAGES * 10];
    int labels[PROBE_IMAGES];
    CHECK_OK(digit_predict_u8(m, p->images, PROBE_IMAGES, DIGIT_OUTPUT_PROBABILITIES, prob,
                              labels));
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    CHECK_OK(digit_evaluate(m, p->test, &ev));
    CHECK(ev.count == digit_dataset_count(p->test), "%s: evaluated %zu", where, ev.count);
    CHECK_OK(digit_model_save(m, p->save_path));
    if (!p->saved_weights) p->saved_weights = malloc(sizeof(float) * n);
    memcpy(p->saved_weights, digit_model_weights(m), sizeof(float) * n);
    CHECK(digit_model_metadata(m, "note") != NULL, "%s: metadata unreadable", where);
    CHECK(digit_model_metadata_key(m, 0) != NULL, "%s: metadata key", where);
    CHECK(digit_model_weights(m) != NULL, "%s: const weights", where);
    digit_layer_info L;
    digit_layer_info_init(&L);
    CHECK_OK(digit_model_layer(m, 0, &L));
    CHECK(digit_model_summary(m, NULL, 0) > 0, "%s: summary", where);
    digit_model *copy = NULL;
    CHECK_OK(digit_model_clone(m, &copy));
    /* The clone is not being trained: it may be changed and predicts what
     * the model predicts. */
    CHECK_OK(digit_model_set_metadata(copy, "from_callback", "x"));
    CHECK(digit_model_weights_mutable(copy) != NULL, "%s: clone weights", where);
    CHECK_OK(digit_predict_u8(copy, p->images, PROBE_IMAGES, DIGIT_OUTPUT_PROBABILITIES,
                              again, NULL));
    CHECK(!memcmp(prob, again, sizeof prob), "%s: clone predicts otherwise", where);
    digit_model_free(copy);

    /* Other handles are unrestricted, training included. */
    CHECK_OK(digit_model_set_metadata(p->other, "from_callback", where));
    CHECK(digit_model_weights_mutable(p->other) != NULL, "%s: other model weights", where);
    o.batch_size = 16;
    CHECK_OK(digit_train(p->other, p->test, NULL, &o, NULL));
    free(before);
}

static int probe_on_batch(const digit_batch_progress *bp, void *user) {
    probe *p = user;
    p->batches++;
    /* The probes run in the first test only (the one with `other`). */
    if (p->other && bp->epoch == 1 && bp->batch == 2 && !p->probed_batch) {
        p->probed_batch = 1;
        probe_model(p, "on_batch");
    }
    if (p->free_train_at_batch && p->batches == p->free_train_at_batch)
        digit_dataset_free(p->train);
    if (p->free_model_at_batch && p->batches == p->free_model_at_batch) {
        digit_model_free(p->model);
        return p->stop_too;
    }
    return 0;
}

static int probe_on_epoch(const digit_epoch_progress *ep, void *user) {
    probe *p = user;
    p->epochs++;
    if (p->other && ep->epoch == 1 && !p->probed_epoch) {
        p->probed_epoch = 1;
        probe_model(p, "on_epoch");
    }
    if (p->free_test_at_epoch && ep->epoch == p->free_test_at_epoch)
        digit_dataset_free(p->test);
    if (p->free_model_at_epoch && ep->epoch == p->free_model_at_epoch) {
        digit_model_free(p->model);
        return p->stop_too;
    }
    return 0;
}

/* 48 images in batches of 16: 3 batches an epoch. */
enum { TRAIN_N = 48, TEST_N = 16, BATCH = 16, BATCHES = 3 };

static void options(digit_train_options *o, probe *p, int epochs) {
    digit_train_options_init_default(o, "compact");
    o->epochs = epochs, o->batch_size = BATCH, o->threads = 2, o->seed = 4;
    o->on_batch = probe_on_batch, o->on_epoch = probe_on_epoch, o->user = p;
}

static void test_calls_from_callbacks(const char *dir, const uint8_t *images) {
    char path[600];
    path_in(path, sizeof path, dir, "from-callback.safetensors");
    probe p = {0};
    p.train = synth_dataset(TRAIN_N, 1);
    p.test = synth_dataset(TEST_N, 2);
    p.save_path = path;
    p.images = images;
    CHECK_OK(digit_model_create("compact", 1, &p.model));
    CHECK_OK(digit_model_create("compact", 2, &p.other));
    CHECK_OK(digit_model_set_metadata(p.model, "note", "kept"));
    digit_train_options o;
    options(&o, &p, 2);
    CHECK_OK(digit_train(p.model, p.train, p.test, &o, NULL));
    CHECK(p.probed_batch && p.probed_epoch, "probes ran: batch %d, epoch %d", p.probed_batch,
          p.probed_epoch);
    CHECK(p.batches == 2 * BATCHES && p.epochs == 2, "%d batches, %d epochs", p.batches,
          p.epochs);
    /* The refusals changed nothing. */
    CHECK(!strcmp(digit_model_metadata(p.model, "note"), "kept") &&
              !digit_model_metadata(p.model, "from_callback") &&
              !digit_model_metadata(p.model, "racer"),
          "metadata after training");
    /* The file saved from on_epoch holds the weights of that moment. */
    digit_model *saved = NULL;
    CHECK_OK(digit_model_load(path, &saved));
    size_t n = digit_model_param_count(p.model);
    CHECK(saved && p.saved_weights &&
              !memcmp(digit_model_weights(saved), p.saved_weights, sizeof(float) * n),
          "the file saved from a callback");
    CHECK(saved && !same_weights(saved, p.model), "training went on after the save");
    digit_model_free(saved);
    /* Once training returns, the model may be modified again. */
    CHECK_OK(digit_model_set_metadata(p.model, "after", "yes"));
    CHECK_OK(digit_model_remove_metadata(p.model, "note"));
    CHECK(digit_model_weights_mutable(p.model) != NULL, "mutable weights after training");
    CHECK(!strcmp(digit_model_metadata(p.other, "from_callback"), "on_epoch"),
          "the other model's metadata");
    free(p.saved_weights);
    digit_model_free(p.model);
    digit_model_free(p.other);
    digit_dataset_free(p.train);
    digit_dataset_free(p.test);
}

/* digit_model_free from a callback: `p` says where; digit_train must return
 * BUSY after `want_batches` batches and `want_epochs` epoch callbacks, and
 * the model is gone (LeakSanitizer checks it was freed). */
static void check_free_model(const char *what, probe p, int epochs, int want_batches,
                             int want_epochs, const char *ckpt) {
    p.train = synth_dataset(TRAIN_N, 1);
    p.test = synth_dataset(TEST_N, 2);
    CHECK_OK(digit_model_create("compact", 1, &p.model));
    CHECK_OK(digit_model_set_metadata(p.model, "note", "kept")); /* memory to leak */
    digit_train_options o;
    options(&o, &p, epochs);
    o.checkpoint_path = ckpt;
    digit_status st = digit_train(p.model, p.train, p.test, &o, NULL);
    CHECK(st == DIGIT_ERR_BUSY, "%s: digit_train returned '%s'", what, digit_status_name(st));
    CHECK(strstr(digit_last_error(), "digit_train") && strstr(digit_last_error(), "freed"),
          "%s: message '%s'", what, digit_last_error());
    CHECK(p.batches == want_batches && p.epochs == want_epochs,
          "%s: %d batches and %d epochs ran, want %d and %d", what, p.batches, p.epochs,
          want_batches, want_epochs);
    /* p.model is freed: not touched again. */
    digit_dataset_free(p.train);
    digit_dataset_free(p.test);
}

static void test_free_model_from_callback(const char *dir) {
    /* After batch 2 of epoch 1: no further batch, no epoch callback. */
    check_free_model("on_batch", (probe){.free_model_at_batch = 2}, 2, 2, 0, NULL);
    /* Freeing and asking to stop at once: still BUSY (the model is gone). */
    check_free_model("on_batch + stop", (probe){.free_model_at_batch = 2, .stop_too = 1}, 2,
                     2, 0, NULL);
    /* On the last batch of an epoch. */
    check_free_model("last batch", (probe){.free_model_at_batch = BATCHES}, 2, BATCHES, 0,
                     NULL);
    /* After epoch 1 of 3: epoch 2 does not start. */
    check_free_model("on_epoch", (probe){.free_model_at_epoch = 1}, 3, BATCHES, 1, NULL);
    check_free_model("on_epoch + stop", (probe){.free_model_at_epoch = 1, .stop_too = 1}, 3,
                     BATCHES, 1, NULL);
    /* After the last epoch: nothing left to stop, but the model is freed
     * and digit_train says so. */
    check_free_model("after the last epoch", (probe){.free_model_at_epoch = 2}, 2,
                     2 * BATCHES, 2, NULL);
    /* With a checkpoint configured. */
    char ckpt[600];
    path_in(ckpt, sizeof ckpt, dir, "freed.ckpt");
    check_free_model("with a checkpoint", (probe){.free_model_at_batch = BATCHES + 1}, 2,
                     BATCHES + 1, 1, ckpt);
    /* The checkpoint of the completed epoch is intact and readable. */
    digit_checkpoint_info info;
    digit_checkpoint_info_init(&info);
    CHECK_OK(digit_checkpoint_read(ckpt, &info, NULL));
    CHECK(info.epochs_done == 1 && info.batches_done == 0, "checkpoint at %d/%d",
          info.epochs_done, info.batches_done);
}

/* digit_dataset_free from a callback: deferred to the end of the run. */
static void test_free_dataset_from_callback(void) {
    /* The test set freed after epoch 1 of 3: epochs 2 and 3 still evaluate
     * on it (ASan: no use after free), and it is released at the end
     * (LSan: no leak). */
    probe p = {.free_test_at_epoch = 1};
    p.train = synth_dataset(TRAIN_N, 1);
    p.test = synth_dataset(TEST_N, 2);
    CHECK_OK(digit_model_create("compact", 1, &p.model));
    digit_train_options o;
    options(&o, &p, 3);
    CHECK_OK(digit_train(p.model, p.train, p.test, &o, NULL));
    CHECK(p.epochs == 3, "%d epochs", p.epochs);
    digit_model *ref;
    CHECK_OK(digit_model_create("compact", 1, &ref));
    probe q = {0};
    q.train = p.train;
    options(&o, &q, 3);
    o.on_batch = NULL, o.on_epoch = NULL;
    CHECK_OK(digit_train(ref, p.train, NULL, &o, NULL));
    CHECK(same_weights(p.model, ref), "the run with a freed test set trained otherwise");
    digit_model_free(ref);
    digit_dataset_free(p.train);
    /* p.test is gone. */

    /* The training set freed in batch 1 of 2 epochs: every later batch
     * still reads it. */
    p = (probe){.free_train_at_batch = 1, .model = p.model};
    p.train = synth_dataset(TRAIN_N, 1);
    p.test = synth_dataset(TEST_N, 2);
    options(&o, &p, 2);
    CHECK_OK(digit_train(p.model, p.train, p.test, &o, NULL));
    CHECK(p.batches == 2 * BATCHES, "%d batches", p.batches);
    digit_dataset_free(p.test);
    /* p.train is gone. */

    /* One dataset as both training and test set, freed once from
     * on_epoch: released once, at the end. */
    p = (probe){.free_test_at_epoch = 1, .model = p.model};
    p.train = p.test = synth_dataset(TRAIN_N, 3);
    options(&o, &p, 2);
    CHECK_OK(digit_train(p.model, p.train, p.test, &o, NULL));
    CHECK(p.epochs == 2, "%d epochs", p.epochs);

    /* Freed and the model freed too, in the same callback. */
    p = (probe){.free_train_at_batch = 2, .free_model_at_batch = 2, .model = p.model};
    p.train = synth_dataset(TRAIN_N, 1);
    options(&o, &p, 2);
    CHECK_ERR(digit_train(p.model, p.train, NULL, &o, NULL), DIGIT_ERR_BUSY, "freed");
    /* Both are gone. */

    /* A dataset not in use is freed at once, from a callback or not. */
    digit_dataset *unused = synth_dataset(4, 1);
    digit_dataset_free(unused);
}

int main(void) {
    if (!make_test_root("test-handles")) return 1;
    char dir[512];
    make_dir(dir, sizeof dir, "handles");
    uint8_t images[PROBE_IMAGES * DIGIT_IMAGE_PIXELS], labels[PROBE_IMAGES];
    synth_images(PROBE_IMAGES, 11, images, labels);
    test_calls_from_callbacks(dir, images);
    test_free_model_from_callback(dir);
    test_free_dataset_from_callback();
    remove_tree(test_root);
    return test_summary("test_handles");
}
