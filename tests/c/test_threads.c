/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c — libdigit used from several threads at once, for
 * ThreadSanitizer (`make tsan-test`); it runs as an ordinary test too.
 *
 *   - 4 threads classify with one shared model (each call itself splitting
 *     its batch over 2 worker threads) and must agree, bit for bit, with a
 *     single-threaded reference;
 *   - meanwhile a 5th thread trains another model with threads = 2 and a
 *     checkpoint, and its result must equal a run of its own;
 *   - 4 threads decode PNGs (from memory and from files) at once;
 *   - 4 threads save one model over the same path at once (temporary names
 *     must not collide) and fail calls to check per-thread error messages;
 *   - a forked child classifies with the thread pool of its own.
 * Data is synthetic and small: the point is the interleavings, not speed.
 */
#define _GNU_SOURCE 1

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "helpers.h"
#include "testfiles.h"
#include "digit.h"

enum { THREADS = 4, IMAGES = 96, TRAIN_IMAGES = 128, ROUNDS = 3 };


/* CHECK counts in plain globals; threads record failures here instead and
 * the main thread checks them after joining. */
typedef struct result {
    int failures;
    char first[256];
} result;

static void fail(result *r, const char *what) {
    if (!r->failures++) snprintf(r->first, sizeof r->first, "%s: %s", what, digit_last_error());
}

/* ---- prediction from several threads ---- */

typedef struct predict_job {
    const digit_model *model;
    const uint8_t *images;
    const float *want;
    result r;
} predict_job;

static void *predict_worker(void *arg) {
    predict_job *j = arg;
    float probs[IMAGES * DIGIT_CLASSES];
    int labels[IMAGES];
    for (int round = 0; round < ROUNDS; round++) {
        if (digit_predict_u8(j->model, j->images, IMAGES, DIGIT_OUTPUT_PROBABILITIES, probs,
                             labels) != DIGIT_OK)
            fail(&j->r, "predict");
        else if (memcmp(probs, j->want, sizeof probs) != 0)
            fail(&j->r, "probabilities differ from the reference");
    }
    return NULL;
}

/* ---- training alongside ---- */

typedef struct train_job {
    digit_model *model;
    const digit_dataset *data;
    const char *checkpoint;
    int batches;
    result r;
} train_job;

static int count_batch(const digit_batch_progress *p, void *user) {
    (void)p;
    ((train_job *)user)->batches++;
    return 0;
}

static void *train_worker(void *arg) {
    train_job *j = arg;
    digit_train_options o;
    if (digit_train_options_init_default(&o, "compact") != DIGIT_OK) fail(&j->r, "options");
    o.epochs = 2, o.batch_size = 32, o.threads = 2, o.seed = 5;
    o.on_batch = count_batch, o.user = j;
    o.checkpoint_path = j->checkpoint;
    if (digit_train(j->model, j->data, NULL, &o, NULL) != DIGIT_OK) fail(&j->r, "train");
    return NULL;
}

static void test_predict_and_train(void) {
    digit_set_threads(2);
    uint8_t *images = malloc((size_t)TRAIN_IMAGES * DIGIT_IMAGE_PIXELS),
            *labels = malloc(TRAIN_IMAGES);
    synth_images(TRAIN_IMAGES, 777, images, labels);
    digit_dataset *ds = NULL;
    CHECK_OK(digit_dataset_create(images, labels, TRAIN_IMAGES, &ds));
    digit_model *shared = NULL, *a = NULL, *b = NULL;
    CHECK_OK(digit_model_create("compact", 1, &shared));
    CHECK_OK(digit_model_create("compact", 9, &a));
    CHECK_OK(digit_model_create("compact", 9, &b));
    if (!ds || !shared || !a || !b) return;

    /* References, computed alone. */
    static float want[IMAGES * DIGIT_CLASSES];
    CHECK_OK(digit_predict_u8(shared, images, IMAGES, DIGIT_OUTPUT_PROBABILITIES, want, NULL));
    char ckpt_a[512], ckpt_b[512];
    snprintf(ckpt_a, sizeof ckpt_a, "%s/a.ckpt", test_root);
    snprintf(ckpt_b, sizeof ckpt_b, "%s/b.ckpt", test_root);
    train_job alone = {a, ds, ckpt_a, 0, {0, ""}};
    train_worker(&alone);
    CHECK(alone.r.failures == 0, "training alone: %s", alone.r.first);

    /* Everything at once. */
    pthread_t th[THREADS + 1];
    predict_job pj[THREADS];
    train_job tj = {b, ds, ckpt_b, 0, {0, ""}};
    for (int t = 0; t < THREADS; t++) {
        pj[t] = (predict_job){shared, images, want, {0, ""}};
        pthread_create(&th[t], NULL, predict_worker, &pj[t]);
    }
    pthread_create(&th[THREADS], NULL, train_worker, &tj);
    for (int t = 0; t <= THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        CHECK(pj[t].r.failures == 0, "predict thread %d: %d failures, first %s", t,
              pj[t].r.failures, pj[t].r.first);
    CHECK(tj.r.failures == 0, "training thread: %s", tj.r.first);
    CHECK(tj.batches == 8, "%d batches trained", tj.batches);
    CHECK(memcmp(digit_model_weights(a), digit_model_weights(b),
                 digit_model_param_count(a) * sizeof(float)) == 0,
          "training next to predictions changed its result");

    /* Evaluation of one model from several threads at once goes through
     * the same predict path; one call here with the pool of 2. */
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    CHECK_OK(digit_evaluate(shared, ds, &ev));
    CHECK(ev.count == TRAIN_IMAGES, "evaluated %zu", ev.count);

    digit_model_free(shared);
    digit_model_free(a);
    digit_model_free(b);
    digit_dataset_free(ds);
    free(images);
    free(labels);
    digit_set_threads(0);
}

/* ---- PNG decoding from several threads ---- */

typedef struct png_job {
    const char *path;
    const uint8_t *bytes;
    size_t size;
    const uint8_t *want;
    result r;
} png_job;

static void *png_worker(void *arg) {
    png_job *j = arg;
    uint8_t out[DIGIT_IMAGE_PIXELS];
    for (int round = 0; round < ROUNDS; round++) {
        if (digit_image_load_memory(j->bytes, j->size, out, NULL) != DIGIT_OK)
            fail(&j->r, "decode from memory");
        else if (memcmp(out, j->want, sizeof out))
            fail(&j->r, "memory decode differs");
        if (digit_image_load(j->path, out, NULL) != DIGIT_OK) fail(&j->r, "decode from file");
        else if (memcmp(out, j->want, sizeof out)) fail(&j->r, "file decode differs");
        /* A failure on this thread must not disturb the others' messages. */
        if (digit_image_load_memory(j->bytes, j->size / 2, out, NULL) == DIGIT_OK)
            fail(&j->r, "a truncated PNG decoded");
        else if (!strstr(digit_last_error(), "<memory>"))
            fail(&j->r, "wrong message for a truncated PNG");
    }
    return NULL;
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void test_png_threads(void) {
    char paths[THREADS][512];
    uint8_t *bytes[THREADS], want[THREADS][DIGIT_IMAGE_PIXELS];
    size_t sizes[THREADS];
    png_job jobs[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        int w = 60 + 17 * t, h = 50 + 11 * t;
        uint8_t *gray = malloc((size_t)w * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) { /* a dark ring on light paper */
                int dx = 2 * x - w, dy = 2 * y - h, r2 = dx * dx + dy * dy;
                int in = r2 < (h * h) * 2 / 3 && r2 > (h * h) / 4;
                gray[(size_t)y * w + x] = (uint8_t)(in ? 30 + t : 220 - t);
            }
        snprintf(paths[t], sizeof paths[t], "%s/ring%d.png", test_root, t);
        CHECK_OK(digit_image_save_png(paths[t], gray, w, h));
        free(gray);
        bytes[t] = slurp(paths[t], &sizes[t]);
        CHECK(bytes[t] != NULL, "cannot read %s", paths[t]);
        if (!bytes[t]) return;
        CHECK_OK(digit_image_load_memory(bytes[t], sizes[t], want[t], NULL));
    }
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (png_job){paths[t], bytes[t], sizes[t], want[t], {0, ""}};
        pthread_create(&th[t], NULL, png_worker, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].r.failures == 0, "png thread %d: %d failures, first %s", t,
              jobs[t].r.failures, jobs[t].r.first);
        free(bytes[t]);
    }
}

/* ---- saving from several threads ---- */

typedef struct save_job {
    const digit_model *model;
    const char *path;
    result r;
} save_job;

static void *save_worker(void *arg) {
    save_job *j = arg;
    for (int round = 0; round < ROUNDS; round++) {
        if (digit_model_save(j->model, j->path) != DIGIT_OK) fail(&j->r, "save");
        digit_model *back = NULL;
        /* Another thread may be renaming its copy in: the file is always
         * one whole model, never a mix. */
        if (digit_model_load(j->path, &back) != DIGIT_OK) fail(&j->r, "load while saving");
        digit_model_free(back);
    }
    return NULL;
}

static void test_save_threads(void) {
    digit_model *m = NULL;
    CHECK_OK(digit_model_create("compact", 4, &m));
    if (!m) return;
    char path[512];
    snprintf(path, sizeof path, "%s/shared.safetensors", test_root);
    save_job jobs[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (save_job){m, path, {0, ""}};
        pthread_create(&th[t], NULL, save_worker, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].r.failures == 0, "save thread %d: %s", t, jobs[t].r.first);
    }
    digit_model_free(m);
}

/* ThreadSanitizer cannot start threads in the child of a multi-threaded
 * fork ("not supported", it dies), so the fork test runs without it. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/* The thread pool across fork(): a child of a process whose pool has
 * helpers must start its own (the helpers do not exist there) and
 * classify as the parent does, instead of waiting for them forever. */
static void test_fork(void) {
#ifdef UNDER_TSAN
    printf("test_threads: fork test skipped under ThreadSanitizer\n");
    return;
#endif
    digit_set_threads(2);
    digit_model *m = NULL;
    CHECK_OK(digit_model_create("compact", 6, &m));
    if (!m) return;
    uint8_t *images = malloc((size_t)IMAGES * DIGIT_IMAGE_PIXELS);
    int want[IMAGES], got[IMAGES];
    for (size_t i = 0; i < (size_t)IMAGES * DIGIT_IMAGE_PIXELS; i++)
        images[i] = (uint8_t)(i * 2654435761u >> 24);
    CHECK_OK(digit_predict_u8(m, images, IMAGES, DIGIT_OUTPUT_PROBABILITIES, NULL, want));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(60); /* a hang fails the test instead of the whole suite */
        int ok = digit_predict_u8(m, images, IMAGES, DIGIT_OUTPUT_PROBABILITIES, NULL, got) ==
                     DIGIT_OK && !memcmp(got, want, sizeof got);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork and wait");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the forked child classifies with the pool (status %d)", status);
    free(images);
    digit_model_free(m);
}

int main(void) {
    if (!make_test_root("test-threads")) return 1;
    test_predict_and_train();
    test_png_threads();
    test_save_threads();
    test_fork();
    remove_tree(test_root);
    return test_summary("test_threads");
}
