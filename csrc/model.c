/* SPDX-License-Identifier: MIT */
/*
 * model.c — creating models from presets, and what a model says about
 * itself: layers, tensors, parameter count, summary, metadata.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const RESERVED_KEYS[] = {"format", "arch", "mean", "std"};

digit_status model_new(const arch_spec *arch, digit_model **out) {
    digit_model *m = calloc(1, sizeof *m);
    if (!m) return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate a model");
    if (!net_plan_build(&m->plan, arch)) {
        free(m);
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "architecture '%s' has inconsistent shapes",
                          arch->name);
    }
    size_t n = m->plan.nparams;
    m->params = calloc(n, sizeof(float));
    m->buffers = calloc(m->plan.nbuffers + 1, sizeof(float));
    m->counts = calloc((size_t)m->plan.ncounts + 1, sizeof(int64_t));
    if (!m->params || !m->buffers || !m->counts) {
        free(m->params), free(m->buffers), free(m->counts);
        free(m);
        return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate %zu parameters", n);
    }
    if (pthread_mutex_init(&m->infer_lock, NULL) != 0) {
        free(m->params), free(m->buffers), free(m->counts);
        free(m);
        return digit_fail(DIGIT_ERR_MEMORY, "cannot create a model's lock");
    }
    net_init_buffers(&m->plan, m->buffers, m->counts);
    m->mean = arch->mean;
    m->std = arch->std;
    *out = m;
    return DIGIT_OK;
}

DIGIT_API digit_status digit_model_create(const char *preset, uint64_t seed,
                                          digit_model **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_model_create", "out");
    *out = NULL;
    if (!preset) return digit_null("digit_model_create", "preset");
    const arch_spec *arch = arch_find(preset);
    if (!arch)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "unknown architecture '%s' (known: %s)", preset, arch_names());
    digit_status st = model_new(arch, out);
    if (st == DIGIT_OK) net_init_params(&(*out)->plan, (*out)->params, seed);
    return st;
}

digit_status model_check_idle(const digit_model *m, const char *call) {
    digit_handles_lock();
    int busy = m->training;
    digit_handles_unlock();
    if (!busy) return DIGIT_OK;
    return digit_fail(DIGIT_ERR_BUSY,
                      "%s: model is being trained; a training callback may not modify it",
                      call);
}

void model_release(digit_model *m) {
    for (size_t i = 0; i < m->nmeta; i++) {
        free(m->meta_key[i]);
        free(m->meta_value[i]);
    }
    free(m->params);
    free(m->buffers);
    free(m->counts);
    free(m->infer_params);
    free(m->infer_packed);
    pthread_mutex_destroy(&m->infer_lock);
    free(m);
}

DIGIT_API void digit_model_free(digit_model *m) {
    if (!m) return;
    digit_handles_lock();
    int defer = m->training;
    if (defer) m->free_pending = 1;
    digit_handles_unlock();
    if (!defer) model_release(m);
}

DIGIT_API digit_status digit_model_clone(const digit_model *src,
                                         digit_model **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_model_clone", "out");
    *out = NULL;
    if (!src) return digit_null("digit_model_clone", "model");
    digit_model *m;
    digit_status st = model_new(src->plan.arch, &m);
    if (st != DIGIT_OK) return st;
    memcpy(m->params, src->params, sizeof(float) * src->plan.nparams);
    memcpy(m->buffers, src->buffers, sizeof(float) * src->plan.nbuffers);
    memcpy(m->counts, src->counts, sizeof(int64_t) * (size_t)src->plan.ncounts);
    m->mean = src->mean, m->std = src->std;
    for (size_t i = 0; i < src->nmeta && st == DIGIT_OK; i++)
        st = model_put_metadata(m, src->meta_key[i], src->meta_value[i]);
    if (st != DIGIT_OK) {
        digit_model_free(m);
        return st;
    }
    *out = m;
    return DIGIT_OK;
}

DIGIT_API const char *digit_model_arch(const digit_model *m) {
    return m ? m->plan.arch->name : NULL;
}

DIGIT_API size_t digit_model_param_count(const digit_model *m) {
    return m ? m->plan.nparams : 0;
}

DIGIT_API void digit_model_normalization(const digit_model *m, float *mean,
                                         float *std) {
    if (mean) *mean = m ? m->mean : 0;
    if (std) *std = m ? m->std : 1;
}

DIGIT_API size_t digit_model_layer_count(const digit_model *m) {
    return m ? (size_t)m->plan.nlayers : 0;
}

DIGIT_API digit_status digit_model_layer(const digit_model *m, size_t index,
                                         digit_layer_info *out) {
    digit_clear_error();
    if (!out) return digit_null("digit_model_layer", "out");
    if (!m) return digit_null("digit_model_layer", "model");
    if (index >= (size_t)m->plan.nlayers)
        return digit_fail(DIGIT_ERR_ARGUMENT, "layer index %zu out of range (%d layers)",
                          index, m->plan.nlayers);
    digit_status st = digit_check_size("digit_model_layer: out", out->struct_size,
                                       DIGIT_SIZE_THROUGH(digit_layer_info, param_count),
                                       sizeof *out);
    if (st != DIGIT_OK) return st;
    const layer_plan *L = &m->plan.layer[index];
    out->name = L->spec->name;
    out->description = L->description;
    out->out_channels = L->out_c;
    out->out_height = L->out_h;
    out->out_width = L->out_w;
    out->param_count = L->w_count + L->b_count;
    return DIGIT_OK;
}

DIGIT_API size_t digit_model_summary(const digit_model *m, char *buf,
                                     size_t cap) {
    if (!m) return 0;
    /* Formatted twice when needed: first to measure, like snprintf. */
    size_t len = 0;
    char line[160];
#define EMIT(...)                                                            \
    do {                                                                     \
        int n_ = snprintf(line, sizeof line, __VA_ARGS__);                   \
        if (buf && len < cap) snprintf(buf + len, cap - len, "%s", line);    \
        len += (size_t)(n_ > 0 ? n_ : 0);                                    \
    } while (0)
    EMIT("architecture %s, input 1x28x28, normalised (x/255 - %g) / %g\n",
         m->plan.arch->name, (double)m->mean, (double)m->std);
    EMIT("%-12s %-36s %-14s %10s\n", "layer", "type", "output", "params");
    for (int i = 0; i < m->plan.nlayers; i++) {
        const layer_plan *L = &m->plan.layer[i];
        char shape[32];
        if (L->out_h == 1 && L->out_w == 1)
            snprintf(shape, sizeof shape, "%d", L->out_c);
        else
            snprintf(shape, sizeof shape, "%dx%dx%d", L->out_c, L->out_h, L->out_w);
        EMIT("%-12s %-36s %-14s %10zu\n", L->spec->name, L->description, shape,
             L->w_count + L->b_count);
    }
    EMIT("total parameters: %zu\n", m->plan.nparams);
#undef EMIT
    if (buf && cap) buf[len < cap ? len : cap - 1] = '\0';
    return len;
}

DIGIT_API size_t digit_model_tensor_count(const digit_model *m) {
    return m ? (size_t)m->plan.ntensors : 0;
}

DIGIT_API digit_status digit_model_tensor(const digit_model *m, size_t index,
                                          digit_tensor_info *out) {
    digit_clear_error();
    if (!out) return digit_null("digit_model_tensor", "out");
    if (!m) return digit_null("digit_model_tensor", "model");
    if (index >= (size_t)m->plan.ntensors)
        return digit_fail(DIGIT_ERR_ARGUMENT, "tensor index %zu out of range (%d tensors)",
                          index, m->plan.ntensors);
    digit_status st = digit_check_size("digit_model_tensor: out", out->struct_size,
                                       DIGIT_SIZE_THROUGH(digit_tensor_info, count),
                                       sizeof *out);
    if (st != DIGIT_OK) return st;
    const tensor_plan *t = &m->plan.tensor[index];
    out->name = t->name;
    out->rank = t->rank;
    memset(out->shape, 0, sizeof out->shape);
    memcpy(out->shape, t->shape, sizeof(int) * (size_t)t->rank);
    out->offset = t->offset;
    out->count = t->count;
    return DIGIT_OK;
}

DIGIT_API const float *digit_model_weights(const digit_model *m) {
    return m ? m->params : NULL;
}

DIGIT_API float *digit_model_weights_mutable(digit_model *m) {
    digit_clear_error();
    if (!m) {
        digit_fail(DIGIT_ERR_ARGUMENT, "digit_model_weights_mutable: model is NULL");
        return NULL;
    }
    if (model_check_idle(m, "digit_model_weights_mutable") != DIGIT_OK) return NULL;
    m->weights_version++;
    return m->params;
}

/* ---- metadata ---- */

static long find_key(const digit_model *m, const char *key) {
    for (size_t i = 0; i < m->nmeta; i++)
        if (strcmp(m->meta_key[i], key) == 0) return (long)i;
    return -1;
}

digit_status model_put_metadata(digit_model *m, const char *key,
                                const char *value) {
    long i = find_key(m, key);
    char *v = strdup(value);
    if (!v) return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate metadata");
    if (i >= 0) {
        free(m->meta_value[i]);
        m->meta_value[i] = v;
        return DIGIT_OK;
    }
    if (m->nmeta == DIGIT_MAX_METADATA) {
        free(v);
        return digit_fail(DIGIT_ERR_ARGUMENT, "too many metadata keys (limit %d)",
                          DIGIT_MAX_METADATA);
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate metadata");
    }
    m->meta_key[m->nmeta] = k;
    m->meta_value[m->nmeta++] = v;
    return DIGIT_OK;
}

DIGIT_API const char *digit_model_metadata(const digit_model *m,
                                           const char *key) {
    if (!m || !key) return NULL;
    long i = find_key(m, key);
    return i >= 0 ? m->meta_value[i] : NULL;
}

DIGIT_API const char *digit_model_metadata_key(const digit_model *m,
                                               size_t index) {
    return m && index < m->nmeta ? m->meta_key[index] : NULL;
}

static int reserved(const char *key) {
    for (size_t i = 0; i < sizeof RESERVED_KEYS / sizeof *RESERVED_KEYS; i++)
        if (strcmp(key, RESERVED_KEYS[i]) == 0) return 1;
    return 0;
}

DIGIT_API digit_status digit_model_remove_metadata(digit_model *m, const char *key) {
    digit_clear_error();
    if (!m || !key)
        return digit_fail(DIGIT_ERR_ARGUMENT, "digit_model_remove_metadata: %s is NULL",
                          !m ? "model" : "key");
    digit_status st = model_check_idle(m, "digit_model_remove_metadata");
    if (st != DIGIT_OK) return st;
    if (reserved(key))
        return digit_fail(DIGIT_ERR_ARGUMENT, "metadata key '%s' is reserved for the library", key);
    long i = find_key(m, key);
    if (i < 0) return DIGIT_OK;
    free(m->meta_key[i]);
    free(m->meta_value[i]);
    memmove(m->meta_key + i, m->meta_key + i + 1, sizeof(char *) * (m->nmeta - (size_t)i - 1));
    memmove(m->meta_value + i, m->meta_value + i + 1,
            sizeof(char *) * (m->nmeta - (size_t)i - 1));
    m->nmeta--;
    return DIGIT_OK;
}

DIGIT_API digit_status digit_model_set_metadata(digit_model *m, const char *key,
                                                const char *value) {
    digit_clear_error();
    if (!m || !key || !value)
        return digit_fail(DIGIT_ERR_ARGUMENT, "digit_model_set_metadata: %s is NULL",
                          !m ? "model" : !key ? "key" : "value");
    digit_status st = model_check_idle(m, "digit_model_set_metadata");
    if (st != DIGIT_OK) return st;
    if (!*key) return digit_fail(DIGIT_ERR_ARGUMENT, "metadata key is empty");
    if (reserved(key))
        return digit_fail(DIGIT_ERR_ARGUMENT, "metadata key '%s' is reserved for the library", key);
    return model_put_metadata(m, key, value);
}

/* The shipped model's file name, for bindings that cannot read the macro
 * (Python) and installers that place the file. */
DIGIT_API const char *digit_default_model_file(void) { return DIGIT_DEFAULT_MODEL_FILE; }
