/* SPDX-License-Identifier: MIT */
/*
 * test_predict.c — csrc/predict.c: prediction from uint8 and float pixels,
 * both output kinds, bad input, several threads on one model, one image
 * sharing its layers between threads, and
 * evaluation (loss, accuracy, confusion matrix).
 */
#define _GNU_SOURCE 1

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* ---- prediction ---- */

static void test_predict(void) {
    enum { N = 70 }; /* more than one internal chunk of 64 */
    digit_model *m;
    CHECK_OK(digit_model_create("basic", 5, &m));
    uint8_t *u8 = malloc(N * DIGIT_IMAGE_PIXELS), labels_true[N];
    float *f32 = malloc(sizeof(float) * N * DIGIT_IMAGE_PIXELS);
    synth_images(N, 9, u8, labels_true);
    for (size_t i = 0; i < (size_t)N * DIGIT_IMAGE_PIXELS; i++) f32[i] = u8[i] / 255.0f;

    float prob[N * 10], prob_f[N * 10], logp[N * 10];
    int lab[N], lab_f[N], lab_only[N];
    CHECK_OK(digit_predict_u8(m, u8, N, DIGIT_OUTPUT_PROBABILITIES, prob, lab));
    CHECK_OK(digit_predict_f32(m, f32, N, DIGIT_OUTPUT_PROBABILITIES, prob_f, lab_f));
    CHECK_OK(digit_predict_u8(m, u8, N, DIGIT_OUTPUT_LOG_PROBABILITIES, logp, NULL));
    CHECK_OK(digit_predict_u8(m, u8, N, DIGIT_OUTPUT_PROBABILITIES, NULL, lab_only));
    for (int b = 0; b < N; b++) {
        double sum = 0, diff_f = 0, diff_log = 0;
        int best = 0;
        for (int c = 0; c < 10; c++) {
            float p = prob[b * 10 + c];
            sum += p;
            best = p > prob[b * 10 + best] ? c : best;
            diff_f = fmax(diff_f, fabs(p - prob_f[b * 10 + c]));
            diff_log = fmax(diff_log, fabs(expf(logp[b * 10 + c]) - p));
        }
        CHECK(fabs(sum - 1) < 1e-5, "image %d probabilities sum to %.8f", b, sum);
        CHECK(lab[b] == best && lab_only[b] == best, "image %d label %d, argmax %d", b,
              lab[b], best);
        CHECK(lab_f[b] == lab[b] && diff_f < 1e-6, "image %d: f32 path differs by %g",
              b, diff_f);
        CHECK(diff_log < 1e-6, "image %d: exp(log-prob) differs by %g", b, diff_log);
    }
    /* One image alone gives what it gives inside a batch. */
    float one[10];
    CHECK_OK(digit_predict_u8(m, u8 + 67 * DIGIT_IMAGE_PIXELS, 1,
                              DIGIT_OUTPUT_PROBABILITIES, one, NULL));
    for (int c = 0; c < 10; c++)
        CHECK(fabsf(one[c] - prob[67 * 10 + c]) < 1e-6, "batch-independent %d", c);

    /* Bad input: non-finite pixels, NULL arguments, unknown output kind. */
    f32[3 * DIGIT_IMAGE_PIXELS + 5] = NAN;
    CHECK_ERR(digit_predict_f32(m, f32, N, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "pixel");
    f32[3 * DIGIT_IMAGE_PIXELS + 5] = INFINITY;
    CHECK_ERR(digit_predict_f32(m, f32, N, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "pixel");
    CHECK_OK(digit_predict_u8(m, u8, 0, DIGIT_OUTPUT_PROBABILITIES, prob, lab));
    CHECK_OK(digit_predict_f32(m, f32, 0, DIGIT_OUTPUT_PROBABILITIES, NULL, NULL));
    CHECK_ERR(digit_predict_u8(NULL, u8, 1, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "model");
    CHECK_ERR(digit_predict_u8(m, NULL, 1, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "images");
    CHECK_ERR(digit_predict_f32(m, NULL, 1, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "images");
    CHECK_ERR(digit_predict_u8(m, u8, 1, (digit_output)7, prob, lab),
              DIGIT_ERR_ARGUMENT, "kind");
    /* A count whose float scratch would overflow size_t. */
    size_t huge = SIZE_MAX / DIGIT_IMAGE_PIXELS / sizeof(float) + 1;
    CHECK_ERR(digit_predict_u8(m, u8, huge, DIGIT_OUTPUT_PROBABILITIES, NULL, NULL),
              DIGIT_ERR_ARGUMENT, "count");
    CHECK_ERR(digit_predict_f32(m, f32, huge, DIGIT_OUTPUT_PROBABILITIES, NULL, NULL),
              DIGIT_ERR_ARGUMENT, "count");
    free(u8);
    free(f32);
    digit_model_free(m);
}

/* Several threads classifying with one model get the one-thread answer. */
typedef struct predict_job {
    const digit_model *m;
    const uint8_t *images;
    size_t n;
    float *out;
    digit_status st;
} predict_job;

static void *predict_thread(void *arg) {
    predict_job *j = arg;
    for (int rep = 0; rep < 3 && j->st == DIGIT_OK; rep++)
        j->st = digit_predict_u8(j->m, j->images, j->n, DIGIT_OUTPUT_PROBABILITIES,
                                 j->out, NULL);
    return NULL;
}

static void test_predict_threads(void) {
    enum { N = 100, T = 3 };
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 3, &m));
    uint8_t *images = malloc(N * DIGIT_IMAGE_PIXELS), labels[N];
    synth_images(N, 4, images, labels);
    float want[N * 10], got[T][N * 10];
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, want, NULL));
    predict_job jobs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (predict_job){m, images, N, got[t], DIGIT_OK};
        pthread_create(&th[t], NULL, predict_thread, &jobs[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].st == DIGIT_OK, "thread %d failed", t);
        CHECK(memcmp(got[t], want, sizeof want) == 0, "thread %d differs", t);
    }
    free(images);
    digit_model_free(m);
}

/* One image (or a few) runs on the calling thread, which shares its large
 * layers with the pool's threads (net.c): the same bits whatever the
 * thread count, on every preset, one image and a few at a time. */
static void test_shared_layers(void) {
    enum { N = 5, FEW = 3 };
    uint8_t *images = malloc(N * DIGIT_IMAGE_PIXELS), labels[N];
    synth_images(N, 8, images, labels);
    for (size_t a = 0; digit_preset_name(a); a++) {
        const char *name = digit_preset_name(a);
        digit_model *m;
        CHECK_OK(digit_model_create(name, 2, &m));
        float want[N * 10], got[N * 10], want_few[FEW * 10], got_few[FEW * 10];
        digit_set_threads(1);
        for (int i = 0; i < N; i++)
            CHECK_OK(digit_predict_u8(m, images + i * DIGIT_IMAGE_PIXELS, 1,
                                      DIGIT_OUTPUT_LOG_PROBABILITIES, want + i * 10, NULL));
        CHECK_OK(digit_predict_u8(m, images, FEW, DIGIT_OUTPUT_LOG_PROBABILITIES, want_few, NULL));
        for (int threads = 2; threads <= 3; threads++) {
            digit_set_threads(threads);
            for (int rep = 0; rep < 20; rep++) /* helpers awake and asleep */
                for (int i = 0; i < N; i++)
                    CHECK_OK(digit_predict_u8(m, images + i * DIGIT_IMAGE_PIXELS, 1,
                                              DIGIT_OUTPUT_LOG_PROBABILITIES, got + i * 10,
                                              NULL));
            CHECK(memcmp(got, want, sizeof want) == 0, "%s: one image on %d threads differs",
                  name, threads);
            CHECK_OK(digit_predict_u8(m, images, FEW, DIGIT_OUTPUT_LOG_PROBABILITIES, got_few,
                                      NULL));
            CHECK(memcmp(got_few, want_few, sizeof want_few) == 0,
                  "%s: %d images on %d threads differ", name, FEW, threads);
        }
        digit_model_free(m);
    }
    digit_set_threads(0);
    free(images);
}

/* ---- evaluation ---- */

static void test_evaluate(void) {
    enum { N = 150 };
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 17, &m));
    digit_dataset *ds = synth_dataset(N, 12);
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    CHECK_OK(digit_evaluate(m, ds, &ev));
    float logp[N * 10];
    int pred[N];
    CHECK_OK(digit_predict_u8(m, digit_dataset_images(ds), N,
                              DIGIT_OUTPUT_LOG_PROBABILITIES, logp, pred));
    uint32_t conf[10][10] = {{0}};
    double loss = 0;
    size_t correct = 0;
    const uint8_t *y = digit_dataset_labels(ds);
    for (int i = 0; i < N; i++) {
        conf[y[i]][pred[i]]++;
        loss -= logp[i * 10 + y[i]];
        correct += pred[i] == y[i];
    }
    uint64_t total = 0;
    for (int t = 0; t < 10; t++)
        for (int p = 0; p < 10; p++) total += ev.confusion[t][p];
    CHECK(ev.count == N && total == N, "count %zu, confusion sums to %llu", ev.count,
          (unsigned long long)total);
    CHECK(memcmp(conf, ev.confusion, sizeof conf) == 0, "confusion matches predict");
    CHECK_NEAR(ev.accuracy, (double)correct / N, 1e-12);
    CHECK_NEAR(ev.loss, loss / N, 1e-5);
    CHECK_ERR(digit_evaluate(NULL, ds, &ev), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_evaluate(m, ds, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    digit_dataset_free(ds);
    digit_model_free(m);
}

/* digit_set_threads: 0 is one per core, values clamp to
 * 0..DIGIT_MAX_THREADS, and predictions do not depend on the count. */
static void test_thread_setting(void) {
    digit_set_threads(0);
    int cores = digit_threads();
    CHECK(cores >= 1, "default %d threads", cores);
    digit_set_threads(1);
    CHECK(digit_threads() == 1, "1 thread: %d", digit_threads());
    digit_set_threads(2);
    CHECK(digit_threads() == 2, "2 threads: %d", digit_threads());
    digit_set_threads(-5);
    CHECK(digit_threads() == cores, "negative: %d", digit_threads());
    digit_set_threads(DIGIT_MAX_THREADS);
    int at_max = digit_threads();
    digit_set_threads(DIGIT_MAX_THREADS + 1);
    CHECK(digit_threads() == at_max && at_max >= 1, "past the limit: %d, at it %d",
          digit_threads(), at_max);
    digit_set_threads(INT32_MAX);
    CHECK(digit_threads() == at_max, "INT_MAX: %d", digit_threads());

    enum { N = 40 };
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 6, &m));
    uint8_t *images = malloc(N * DIGIT_IMAGE_PIXELS), labels[N];
    synth_images(N, 2, images, labels);
    float one[N * 10], many[N * 10];
    digit_set_threads(1);
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, one, NULL));
    digit_set_threads(DIGIT_MAX_THREADS);
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, many, NULL));
    /* Equal up to the last bits the batch split may change (digit.h). */
    double diff = 0;
    for (int i = 0; i < N * 10; i++) diff = fmax(diff, fabs(one[i] - many[i]));
    CHECK(diff < 1e-6, "predictions depend on the thread count: %g", diff);
    digit_set_threads(0);
    free(images);
    digit_model_free(m);
}

int main(void) {
    test_predict();
    test_predict_threads();
    test_shared_layers();
    test_evaluate();
    test_thread_setting();
    return test_summary("test_predict");
}
