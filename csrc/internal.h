/* SPDX-License-Identifier: MIT */
/*
 * internal.h — declarations shared by the files of the C core. Nothing here
 * is exported; only digit.h is public.
 */
#ifndef DIGIT_INTERNAL_H
#define DIGIT_INTERNAL_H

/* mkstemp, strdup, fdopen and friends; must precede every system header, so
 * each .c file includes this header first. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

/* No fused multiply-adds unless written: gcc (the Makefile passes
 * -ffp-contract=off) and clang (SwiftPM) then round identically, and a seed
 * gives the same model from either build. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define DIGIT_BUILD 1
#include "../include/digit.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define DIGIT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DIGIT_PRINTF(a, b)
#endif

/* Hot element-wise loops get AVX-512, AVX2+FMA and baseline versions; the
 * loader picks one for the CPU at hand (GCC/clang function multiversioning). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(DIGIT_NO_CLONES)
#define DIGIT_HOT \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DIGIT_HOT
#endif

/* sqrtf for vector loops. A plain sqrtf may set errno (for a negative
 * argument), which keeps a loop scalar unless -fno-math-errno is given (the
 * Makefile gives it to gcc); SwiftPM's clang build gets the errno-free
 * element-wise builtin instead. Same value either way. */
#if defined(__clang__) && defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define DIGIT_SQRTF(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef DIGIT_SQRTF
#define DIGIT_SQRTF(x) sqrtf(x)
#endif

/* ---- errors (error.c) ---- */

/* Records a message for digit_last_error() on this thread and returns
 * `status`, so that failures read `return digit_fail(DIGIT_ERR_IO, ...)`. */
digit_status digit_fail(digit_status status, const char *fmt, ...)
    DIGIT_PRINTF(2, 3);
/* DIGIT_ERR_ARGUMENT with "call: name is NULL". */
digit_status digit_null(const char *call, const char *name);
/* Clears this thread's message (each public call starts with it). */
void digit_clear_error(void);

/* ---- files (fileio.c) ---- */

/* Reads a whole file, transparently gunzipping it when it starts with the
 * gzip magic. Refuses results larger than `limit` bytes. *data is malloc'd. */
digit_status digit_read_file(const char *path, size_t limit, int gunzip,
                             uint8_t **data, size_t *size);
/* Writes `size` bytes to `path` atomically: temp file in the same folder,
 * fsync, rename, fsync of the folder. `path` is untouched on failure. */
digit_status digit_write_file_atomic(const char *path, const void *data,
                                     size_t size);

/* ---- sized structures ---- */

/* The size of the first released layout of a structure: up to the end of
 * its last 2.0 field. Later versions only append, so any struct_size from
 * here up to sizeof(type) is one some header version produced. */
#define DIGIT_SIZE_THROUGH(type, field) \
    (offsetof(type, field) + sizeof(((type *)0)->field))

/* DIGIT_OK when `given` (an argument's struct_size) lies in [min, max];
 * otherwise a DIGIT_ERR_ARGUMENT naming `what`. */
digit_status digit_check_size(const char *what, size_t given, size_t min,
                              size_t max);

/* ---- handles in use by a training run (handles.c) ---- */

/* A process-wide lock for the few state changes that a training callback
 * may race with: pinning, deferred frees. */
void digit_handles_lock(void);
void digit_handles_unlock(void);

/* A training run holds its datasets (dataset.c): a digit_dataset_free in
 * between is carried out by the last unpin. NULL is ignored. */
void dataset_pin(const digit_dataset *ds);
void dataset_unpin(const digit_dataset *ds);

/* ---- checked arithmetic ---- */

/* *out = a * b, returning 0 on overflow. */
static inline int digit_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

#endif
