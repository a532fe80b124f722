/* SPDX-License-Identifier: MIT */
/*
 * kernel_check.h — what the kernel tests (test_winograd, test_conv1ch,
 * test_microgemm) share: random operands, zeroed scratch and the error
 * measure they compare paths with. Uses the library's `real` and rng.h;
 * include after internal.h.
 */
#ifndef DIGIT_TEST_KERNEL_CHECK_H
#define DIGIT_TEST_KERNEL_CHECK_H

#include <math.h>
#include <stdlib.h>

#include "real.h"
#include "rng.h"

/* n values uniform in [-1, 1); aborts when out of memory (a test). */
static inline real *randoms(rng *r, size_t n) {
    real *x = malloc(sizeof(real) * (n ? n : 1));
    if (!x) abort();
    for (size_t i = 0; i < n; i++) x[i] = (real)(2 * rng_uniform(r) - 1);
    return x;
}

static inline real *zeros(size_t n) {
    real *x = calloc(n ? n : 1, sizeof(real));
    if (!x) abort();
    return x;
}

/* max |got - want| / max |want| (the absolute difference when want is 0). */
static inline double rel_error(const real *got, const real *want, size_t n) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]), w = fabs((double)want[i]);
        diff = d > diff ? d : diff;
        scale = w > scale ? w : scale;
    }
    return scale > 0 ? diff / scale : diff;
}

#endif
