/* SPDX-License-Identifier: MIT */
/*
 * safetensors.h — reading and writing the safetensors container: an 8-byte
 * little-endian header length, a JSON header, then the raw tensor bytes.
 * This layer knows nothing about models; model_io.c maps tensors to them.
 */
#ifndef DIGIT_SAFETENSORS_H
#define DIGIT_SAFETENSORS_H

#include "internal.h"

#define ST_MAX_RANK 8

typedef struct st_tensor {
    char *name;
    char dtype[8];
    int rank;
    uint64_t shape[ST_MAX_RANK];
    size_t begin, end;     /* byte offsets into the data section */
} st_tensor;

typedef struct st_file {
    const uint8_t *data;   /* the data section, inside the caller's buffer */
    size_t data_size;
    size_t ntensors;
    st_tensor *tensors;
    size_t nmeta;
    char **meta_key, **meta_value;
} st_file;

/* Parses and validates buf (not copied: st->data points into it). `name`
 * appears in error messages. Every offset is checked against the buffer. */
digit_status st_parse(const char *name, const uint8_t *buf, size_t size,
                      st_file *st);
void st_free(st_file *st);
const st_tensor *st_find(const st_file *st, const char *name);
const char *st_meta(const st_file *st, const char *key);

typedef struct st_entry {
    const char *name;
    int rank;
    const int *shape;
    const void *data;      /* F32 (or I64), count elements */
    size_t count;
    int i64;               /* the elements are int64_t (I64) */
} st_entry;

/* Serialises F32 and I64 tensors (in the given order) and string metadata into a
 * malloc'd buffer. */
digit_status st_serialize(const st_entry *tensors, size_t ntensors,
                          const char *const *keys, const char *const *values,
                          size_t nmeta, uint8_t **out, size_t *size);

#endif
