/* SPDX-License-Identifier: MIT */
/*
 * helpers.h — what the unit tests of the C core share beyond check.h:
 * CHECK_ERR (a call that must fail with a given status and message),
 * CHECK_NEAR, synthetic images and datasets a network can learn, weight
 * comparison, IDX byte order and a one-call "create and train". Test programs only; every
 * helper is static inline so a file that uses none of them compiles
 * without warnings.
 */
#ifndef DIGIT_TEST_HELPERS_H
#define DIGIT_TEST_HELPERS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "digit.h"

/* A call that must fail with status `want` and a message containing `sub`
 * (the file, argument or field that is wrong). */
#define CHECK_ERR(call, want, sub)                                           \
    do {                                                                     \
        digit_status se_ = (call);                                           \
        CHECK(se_ == (want), "got '%s' (%s)", digit_status_name(se_),        \
              digit_last_error());                                           \
        CHECK(strstr(digit_last_error(), (sub)) != NULL,                     \
              "message '%s' does not mention '%s'", digit_last_error(),      \
              (sub));                                                        \
    } while (0)

/* |a - b| <= tol, printing both on failure. */
#define CHECK_NEAR(a, b, tol)                                                \
    do {                                                                     \
        double a_ = (a), b_ = (b);                                           \
        CHECK(fabs(a_ - b_) <= (tol), "%.9g vs %.9g (tol %g)", a_, b_,       \
              (double)(tol));                                                \
    } while (0)

/* Images a network can tell apart: a bright 6x6 square whose place depends
 * on the label, over faint noise from a fixed generator. */
static inline void synth_images(size_t n, uint32_t seed, uint8_t *images,
                                uint8_t *labels) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *img = images + i * DIGIT_IMAGE_PIXELS;
        int label = (int)(i % DIGIT_CLASSES);
        labels[i] = (uint8_t)label;
        for (int p = 0; p < DIGIT_IMAGE_PIXELS; p++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            img[p] = (uint8_t)(x % 40);
        }
        int y0 = 3 + (label / 5) * 12, x0 = 2 + (label % 5) * 5;
        for (int y = y0; y < y0 + 6; y++)
            for (int xx = x0; xx < x0 + 6 && xx < 28; xx++) img[y * 28 + xx] = 250;
    }
}

/* synth_images as a dataset (one CHECK: its creation). */
static inline digit_dataset *synth_dataset(size_t n, uint32_t seed) {
    uint8_t *images = malloc(n * DIGIT_IMAGE_PIXELS), *labels = malloc(n);
    digit_dataset *ds = NULL;
    synth_images(n, seed, images, labels);
    CHECK_OK(digit_dataset_create(images, labels, n, &ds));
    free(images);
    free(labels);
    return ds;
}

static inline int same_weights(const digit_model *a, const digit_model *b) {
    size_t n = digit_model_param_count(a);
    return n == digit_model_param_count(b) &&
           memcmp(digit_model_weights(a), digit_model_weights(b),
                  n * sizeof(float)) == 0;
}

/* v as 4 big-endian bytes (IDX headers). */
static inline void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A fresh model trained on `ds` with the given options; NULL if it could
 * not be created. */
static inline digit_model *train_fresh(const char *preset, uint64_t init_seed,
                                       const digit_dataset *ds,
                                       const digit_train_options *o,
                                       const char *resume, digit_status *status) {
    digit_model *m;
    *status = digit_model_create(preset, init_seed, &m);
    if (*status != DIGIT_OK) return NULL;
    *status = digit_train(m, ds, NULL, o, resume);
    return m;
}


#endif
