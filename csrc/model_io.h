/* SPDX-License-Identifier: MIT */
/*
 * model_io.h — the pieces of model file I/O that checkpoints reuse.
 */
#ifndef DIGIT_MODEL_IO_H
#define DIGIT_MODEL_IO_H

#include "model.h"
#include "safetensors.h"

/* The model's tensors and metadata plus `extra` tensors and metadata, as a
 * safetensors buffer (malloc'd). */
digit_status model_serialize(const digit_model *m, const st_entry *extra,
                             size_t nextra, const char *const *xkeys,
                             const char *const *xvalues, size_t nxmeta,
                             uint8_t **out, size_t *size);
/* A model from a parsed file; tensors "optimizer.*" and metadata
 * "checkpoint.*" are ignored. */
digit_status model_from_st(const char *name, const st_file *f,
                           digit_model **out);

#endif
