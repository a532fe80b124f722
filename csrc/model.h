/*
 * model.h — the digit_model structure, shared by the files that implement
 * the model API (model.c, model_io.c, predict.c, train.c).
 */
#ifndef DIGIT_MODEL_H
#define DIGIT_MODEL_H

#include "internal.h"
#include "net.h"

#define MODEL_MAX_METADATA 64

struct digit_model {
    net_plan plan;
    float *params;           /* plan.nparams, state_dict order */
    float mean, std;         /* input normalisation of pixel/255 */
    size_t nmeta;
    char *meta_key[MODEL_MAX_METADATA];
    char *meta_value[MODEL_MAX_METADATA];
};

/* A model of `arch` with zeroed weights (the caller fills them). */
digit_status model_new(const arch_spec *arch, digit_model **out);
/* Stores a copy of key/value without the reserved-key check. */
digit_status model_put_metadata(digit_model *m, const char *key,
                                const char *value);

/* pixels (count*784, 0..255) -> the network's input, (p/255 - mean)/std. */
void model_normalise_u8(const digit_model *m, const uint8_t *pixels,
                        size_t count, float *dst);

#endif
