/* SPDX-License-Identifier: MIT */
/*
 * model.h — the digit_model structure, shared by the files that implement
 * the model API (model.c, model_io.c, predict.c, train.c).
 */
#ifndef DIGIT_MODEL_H
#define DIGIT_MODEL_H

#include "internal.h"
#include "net.h"

#include <pthread.h>

struct digit_model {
    net_plan plan;
    float *params;           /* plan.nparams, state_dict order */
    float *buffers;          /* plan.nbuffers: batch-norm running statistics */
    int64_t *counts;         /* plan.ncounts: batch-norm num_batches_tracked */
    float mean, std;         /* input normalisation of pixel/255 */
    size_t nmeta;
    char *meta_key[DIGIT_MAX_METADATA];
    char *meta_value[DIGIT_MAX_METADATA];
    /* Bumped whenever the weights may have changed (mutable access,
     * training), so that anything derived from them can tell it is stale. */
    _Atomic uint64_t weights_version;
    /* What inference derives from the weights (predict.c): batch norms
     * folded (NULL: none, params used as they are) and convolutions
     * packed, built by the first predict call after each weights_version
     * and reused until the next. Under infer_lock, which makes a const
     * model's cache safe to fill from concurrent predict calls. */
    pthread_mutex_t infer_lock;
    int infer_valid;
    uint64_t infer_version;
    float *infer_params, *infer_packed;
    /* Set while digit_train runs on the model; a free asked for meanwhile
     * (from a callback) waits for the run to end. Both under the handles
     * lock. */
    int training;
    int free_pending;
};

/* A model of `arch` with zeroed weights (the caller fills them). */
digit_status model_new(const arch_spec *arch, digit_model **out);
/* Stores a copy of key/value without the reserved-key check. */
digit_status model_put_metadata(digit_model *m, const char *key,
                                const char *value);

/* DIGIT_OK, or DIGIT_ERR_BUSY naming `call` while the model is being
 * trained: the mutators refuse to run from a training callback. */
digit_status model_check_idle(const digit_model *m, const char *call);
/* Releases the model's memory (digit_model_free does so unless a training
 * run holds the model). */
void model_release(digit_model *m);

/* The inference weights of the model's current weights_version: *params
 * (folded) and *packed, valid until the weights change. DIGIT_ERR_MEMORY
 * when they cannot be built. */
digit_status model_infer_weights(const digit_model *m, const float **params,
                                 const float **packed);

/* pixels (count*784, 0..255) -> the network's input, (p/255 - mean)/std. */
void model_normalise_u8(const digit_model *m, const uint8_t *pixels,
                        size_t count, float *dst);

#endif
