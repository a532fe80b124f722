/* SPDX-License-Identifier: MIT */
/*
 * predict.c — inference and evaluation. Each call owns its scratch memory,
 * so any number of threads may classify with one model at once.
 */
#include "model.h"
#include "parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Images per forward pass: large enough for long GEMMs, small enough that
 * the scratch stays a few tens of MB. */
#define PREDICT_CHUNK 16

void model_normalise_u8(const digit_model *m, const uint8_t *pixels,
                        size_t count, float *dst) {
    /* A 256-entry table: the same float for a pixel value everywhere. */
    float lut[256];
    for (int v = 0; v < 256; v++) lut[v] = ((float)v / 255.0f - m->mean) / m->std;
    for (size_t i = 0; i < count * DIGIT_IMAGE_PIXELS; i++) dst[i] = lut[pixels[i]];
}

static void normalise_f32(const digit_model *m, const float *x, size_t count,
                          float *dst) {
    for (size_t i = 0; i < count * DIGIT_IMAGE_PIXELS; i++)
        dst[i] = (x[i] - m->mean) / m->std;
}

static void emit(const float *logp, int B, digit_output kind, float *out,
                 int *labels) {
    for (int b = 0; b < B; b++) {
        const float *lp = logp + (size_t)b * DIGIT_CLASSES;
        int best = 0;
        for (int c = 1; c < DIGIT_CLASSES; c++) best = lp[c] > lp[best] ? c : best;
        if (labels) labels[b] = best;
        if (!out) continue;
        float *o = out + (size_t)b * DIGIT_CLASSES;
        for (int c = 0; c < DIGIT_CLASSES; c++)
            o[c] = kind == DIGIT_OUTPUT_LOG_PROBABILITIES ? lp[c] : expf(lp[c]);
    }
}

/* One predict call: the inputs, the outputs, and the packed weights that
 * its threads share. */
typedef struct predict_job {
    const digit_model *m;
    const uint8_t *u8;
    const float *f32;
    size_t count;
    int parts;
    digit_output kind;
    float *out;
    const float *params, *packed; /* the model's inference weights */
    int *labels;
    int failed;          /* a part could not get its scratch memory */
    int share;           /* threads that share each large layer (net_work) */
} predict_job;

/* Part i classifies its contiguous range, PREDICT_CHUNK images at a time. */
/* Builds the cache for the current weights. A network with batch norms
 * runs folded: its own copy of the weights with each batch norm merged
 * into the layer before. */
static digit_status build_infer_weights(digit_model *m) {
    free(m->infer_params), free(m->infer_packed);
    m->infer_params = NULL, m->infer_valid = 0;
    m->infer_packed = malloc(sizeof(float) * (m->plan.npacked + 1));
    if (m->plan.nbatchnorm) m->infer_params = malloc(sizeof(float) * m->plan.nparams);
    if (!m->infer_packed || (m->plan.nbatchnorm && !m->infer_params))
        return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate the inference weights");
    if (m->infer_params) net_fold(&m->plan, m->params, m->buffers, m->infer_params);
    net_pack(&m->plan, m->infer_params ? m->infer_params : m->params, m->infer_packed);
    m->infer_valid = 1;
    return DIGIT_OK;
}

digit_status model_infer_weights(const digit_model *cm, const float **params,
                                 const float **packed) {
    /* The cache is derived state: filling it leaves the model as it was. */
    digit_model *m = (digit_model *)cm;
    digit_status st = DIGIT_OK;
    pthread_mutex_lock(&m->infer_lock);
    uint64_t version = m->weights_version;
    if (!m->infer_valid || m->infer_version != version) {
        st = build_infer_weights(m);
        m->infer_version = version;
    }
    *params = m->infer_params ? m->infer_params : m->params;
    *packed = m->infer_packed;
    pthread_mutex_unlock(&m->infer_lock);
    return st;
}

static void predict_part(void *ctx, int i) {
    predict_job *j = ctx;
    size_t lo = j->count * (size_t)i / (size_t)j->parts;
    size_t hi = j->count * (size_t)(i + 1) / (size_t)j->parts;
    if (lo == hi) return;
    int cap = hi - lo < PREDICT_CHUNK ? (int)(hi - lo) : PREDICT_CHUNK;
    net_work w;
    if (!net_work_alloc(&w, &j->m->plan, cap, 0)) {
        j->failed = 1;
        return;
    }
    w.share = j->share;
    for (size_t done = lo; done < hi; done += (size_t)cap) {
        int B = hi - done < (size_t)cap ? (int)(hi - done) : cap;
        size_t at = done * DIGIT_IMAGE_PIXELS;
        if (j->u8) model_normalise_u8(j->m, j->u8 + at, (size_t)B, net_input(&w));
        else normalise_f32(j->m, j->f32 + at, (size_t)B, net_input(&w));
        net_forward(&j->m->plan, j->params, j->packed, &w, B);
        emit(net_logp(&j->m->plan, &w, B), B, j->kind,
             j->out ? j->out + done * DIGIT_CLASSES : NULL,
             j->labels ? j->labels + done : NULL);
    }
    net_work_free(&w);
}

static digit_status predict(const digit_model *m, const uint8_t *u8,
                            const float *f32, size_t count, digit_output kind,
                            float *out, int *labels) {
    if (kind != DIGIT_OUTPUT_PROBABILITIES && kind != DIGIT_OUTPUT_LOG_PROBABILITIES)
        return digit_fail(DIGIT_ERR_ARGUMENT, "unknown output kind %d", (int)kind);
    if (count == 0) return DIGIT_OK;
    if (count > SIZE_MAX / DIGIT_IMAGE_PIXELS / sizeof(float))
        return digit_fail(DIGIT_ERR_ARGUMENT, "count %zu is too large", count);
    if (f32)
        for (size_t i = 0; i < count * DIGIT_IMAGE_PIXELS; i++)
            if (!isfinite(f32[i]))
                return digit_fail(DIGIT_ERR_ARGUMENT,
                                  "image %zu pixel %zu is not a finite number",
                                  i / DIGIT_IMAGE_PIXELS, i % DIGIT_IMAGE_PIXELS);
    /* Below a few chunks per thread, splitting the batch costs more than it
     * saves: a few images run on the caller's thread, which shares the
     * large layers of each with the others instead. */
    size_t useful = (count + PREDICT_CHUNK / 2 - 1) / (PREDICT_CHUNK / 2);
    int threads = parallel_threads(parallel_default_threads(), PARALLEL_MAX_WORKERS);
    predict_job j = {m, u8, f32, count, useful < (size_t)threads ? (int)useful : threads,
                     kind, out, NULL, NULL, labels, 0, 0};
    /* A call that runs on one thread lends the others to its layers. */
    if (j.parts == 1) j.share = threads;
    digit_status st = model_infer_weights(m, &j.params, &j.packed);
    if (st != DIGIT_OK) return st;
    parallel_blas_single();
    parallel_run(j.parts, predict_part, &j);
    if (j.failed) return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate inference scratch");
    return DIGIT_OK;
}

DIGIT_API digit_status digit_predict_u8(const digit_model *m,
                                        const uint8_t *images, size_t count,
                                        digit_output kind, float *out,
                                        int *labels) {
    digit_clear_error();
    if (!m) return digit_null("digit_predict_u8", "model");
    if (!images) return digit_null("digit_predict_u8", "images");
    return predict(m, images, NULL, count, kind, out, labels);
}

DIGIT_API digit_status digit_predict_f32(const digit_model *m,
                                         const float *images, size_t count,
                                         digit_output kind, float *out,
                                         int *labels) {
    digit_clear_error();
    if (!m) return digit_null("digit_predict_f32", "model");
    if (!images) return digit_null("digit_predict_f32", "images");
    return predict(m, NULL, images, count, kind, out, labels);
}

DIGIT_API digit_status digit_evaluate(const digit_model *m,
                                      const digit_dataset *ds,
                                      digit_evaluation *out) {
    digit_clear_error();
    if (!m) return digit_null("digit_evaluate", "model");
    if (!ds) return digit_null("digit_evaluate", "dataset");
    if (!out) return digit_null("digit_evaluate", "out");
    digit_status st = digit_check_size("digit_evaluate: out", out->struct_size,
                                       DIGIT_SIZE_THROUGH(digit_evaluation, confusion),
                                       sizeof *out);
    if (st != DIGIT_OK) return st;
    size_t size = out->struct_size;
    digit_evaluation ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = size;
    size_t n = digit_dataset_count(ds);
    if (n == 0) return digit_fail(DIGIT_ERR_ARGUMENT, "dataset is empty");
    const uint8_t *images = digit_dataset_images(ds), *y = digit_dataset_labels(ds);
    enum { STEP = 1024 };
    float *logp = malloc(sizeof(float) * STEP * DIGIT_CLASSES);
    int *pred = malloc(sizeof(int) * STEP);
    st = logp && pred ? DIGIT_OK : digit_fail(DIGIT_ERR_MEMORY, "digit_evaluate: cannot allocate");
    double loss = 0;
    size_t correct = 0;
    for (size_t at = 0; at < n && st == DIGIT_OK; at += STEP) {
        size_t B = n - at < STEP ? n - at : STEP;
        st = digit_predict_u8(m, images + at * DIGIT_IMAGE_PIXELS, B,
                              DIGIT_OUTPUT_LOG_PROBABILITIES, logp, pred);
        for (size_t i = 0; st == DIGIT_OK && i < B; i++) {
            loss -= logp[i * DIGIT_CLASSES + y[at + i]];
            correct += pred[i] == y[at + i];
            ev.confusion[y[at + i]][pred[i]]++;
        }
    }
    free(logp);
    free(pred);
    if (st != DIGIT_OK) return st;
    ev.loss = loss / (double)n;
    ev.accuracy = (double)correct / (double)n;
    ev.count = n;
    memcpy(out, &ev, size);
    return DIGIT_OK;
}
