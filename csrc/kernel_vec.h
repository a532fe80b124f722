/* SPDX-License-Identifier: MIT */
/*
 * kernel_vec.h — the vector type and its loads and stores for one path of
 * cpu.h, included at the top of each kernel body file (conv1ch_kernels.h,
 * microgemm_kernels.h) with KERNEL_NAME, KERNEL_ATTR and KERNEL_LANES set
 * (see those files). A GCC/clang vector type, so that every path compiles
 * the same arithmetic in the same order and only the width differs.
 */

typedef real KERNEL_NAME(vec) __attribute__((vector_size(sizeof(real) * KERNEL_LANES)));

/* p[0, n) into a vector, zero past n. A fixed-size copy is one vector
 * load; a variable one a slow string move, so the full vector has its own. */
static inline __attribute__((always_inline)) KERNEL_ATTR KERNEL_NAME(vec)
KERNEL_NAME(load)(const real *p, int n) {
    KERNEL_NAME(vec) v;
    if (n == KERNEL_LANES) {
        memcpy(&v, p, sizeof v); /* no zeroing first: GCC would go through the stack */
        return v;
    }
    memset(&v, 0, sizeof v);
    memcpy(&v, p, sizeof(real) * (size_t)n);
    return v;
}

/* The first n lanes of v to p. */
static inline __attribute__((always_inline)) KERNEL_ATTR void
KERNEL_NAME(store)(real *p, KERNEL_NAME(vec) v, int n) {
    if (n == KERNEL_LANES) memcpy(p, &v, sizeof v);
    else memcpy(p, &v, sizeof(real) * (size_t)n);
}
