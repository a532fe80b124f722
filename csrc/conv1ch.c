/* SPDX-License-Identifier: MIT */
/*
 * conv1ch.c — one-channel convolutions; see conv1ch.h. The kernels are
 * written once (conv1ch_kernels.h) and compiled for each path of cpu.h with
 * its vector width; this file pads the input, packs the weights and picks
 * the path.
 */
#include "internal.h"

/* The kernels pass vector values between always-inlined helpers of one
 * target; gcc's note that such values change the ABI between targets does
 * not apply to them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <string.h>

#include "conv1ch.h"
#include "cpu.h"

/* Output channels are padded to a multiple of the widest path's vector. */
enum { CB = 16 };

int conv1ch_fits(const conv_shape *s) {
    return s->Ci == 1 && s->stride == 1 && s->K <= CONV1CH_MAX_K &&
           s->Ho == s->H + 2 * s->pad - s->K + 1 && s->Wo == s->W + 2 * s->pad - s->K + 1;
}

static int co_padded(int Co) { return (Co + CB - 1) / CB * CB; }

size_t conv1ch_w_size(const conv_shape *s) { return (size_t)s->K * s->K * co_padded(s->Co); }

size_t conv1ch_in_size(const conv_shape *s) {
    return (size_t)(s->H + 2 * s->pad) * (s->W + 2 * s->pad);
}

void conv1ch_pack(const conv_shape *s, const real *w, real *wk) {
    const int KK = s->K * s->K, Cop = co_padded(s->Co);
    for (int k = 0; k < KK; k++)
        for (int o = 0; o < Cop; o++) wk[(size_t)k * Cop + o] = o < s->Co ? w[(size_t)o * KK + k] : 0;
}

static void pad_images(const conv_shape *s, const real *in, real *padded) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad;
    for (int b = 0; b < s->B; b++) {
        real *dst = padded + (size_t)b * Hp * Wp;
        const real *src = in + (size_t)b * s->H * s->W;
        memset(dst, 0, sizeof(real) * (size_t)Hp * Wp);
        for (int y = 0; y < s->H; y++)
            memcpy(dst + (size_t)(y + s->pad) * Wp + s->pad, src + (size_t)y * s->W,
                   sizeof(real) * (size_t)s->W);
    }
}

/* The kernels, once per path (conv1ch_kernels.h). The portable one uses
 * 4-wide vectors, which every 64-bit CPU has (SSE2, NEON). */
#define KERNEL_NAME(x) x##_portable
#define KERNEL_ATTR
#define KERNEL_LANES 4
#define KERNEL_PX 4
#include "conv1ch_kernels.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef KERNEL_LANES
#undef KERNEL_PX

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONV1CH_X86 1
#define KERNEL_NAME(x) x##_avx2
#define KERNEL_ATTR __attribute__((target("avx2,fma")))
#define KERNEL_LANES 8
#define KERNEL_PX 4
#include "conv1ch_kernels.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef KERNEL_LANES
#undef KERNEL_PX

#define KERNEL_NAME(x) x##_avx512
#define KERNEL_ATTR __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define KERNEL_LANES 16
#define KERNEL_PX 4
#include "conv1ch_kernels.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef KERNEL_LANES
#undef KERNEL_PX
#endif

void conv1ch_forward_on(cpu_path path, const conv_shape *s, const real *in, const real *wk,
                        const real *bias, real *padded, real *out) {
    pad_images(s, in, padded);
    switch (path) {
#ifdef CONV1CH_X86
    case CPU_AVX512: forward_avx512(s, padded, wk, bias, out); return;
    case CPU_AVX2: forward_avx2(s, padded, wk, bias, out); return;
#endif
    default: forward_portable(s, padded, wk, bias, out); return;
    }
}

void conv1ch_forward_pooled_on(cpu_path path, const conv_shape *s, const real *in,
                               const real *wk, const real *bias, real *padded, int relu,
                               real *pooled, int32_t *arg) {
    pad_images(s, in, padded);
    switch (path) {
#ifdef CONV1CH_X86
    case CPU_AVX512: forward_pooled_avx512(s, padded, wk, bias, relu, pooled, arg); return;
    case CPU_AVX2: forward_pooled_avx2(s, padded, wk, bias, relu, pooled, arg); return;
#endif
    default: forward_pooled_portable(s, padded, wk, bias, relu, pooled, arg); return;
    }
}

/* dout, or with pool, the pool's gradient. */
static void backward_on(cpu_path path, const conv_shape *s, const real *padded,
                        const real *dout, const conv1ch_pool *pool, real *dw, real *dbias) {
    switch (path) {
#ifdef CONV1CH_X86
    case CPU_AVX512: backward_avx512(s, padded, dout, pool, dw, dbias); return;
    case CPU_AVX2: backward_avx2(s, padded, dout, pool, dw, dbias); return;
#endif
    default: backward_portable(s, padded, dout, pool, dw, dbias); return;
    }
}

void conv1ch_backward_on(cpu_path path, const conv_shape *s, const real *padded,
                         const real *dout, real *dw, real *dbias) {
    backward_on(path, s, padded, dout, NULL, dw, dbias);
}

void conv1ch_backward_pooled_on(cpu_path path, const conv_shape *s, const real *padded,
                                const conv1ch_pool *pool, real *dw, real *dbias) {
    backward_on(path, s, padded, NULL, pool, dw, dbias);
}

void conv1ch_forward(const conv_shape *s, const real *in, const real *wk,
                     const real *bias, real *padded, real *out) {
    conv1ch_forward_on(cpu_path_active(), s, in, wk, bias, padded, out);
}

void conv1ch_backward(const conv_shape *s, const real *padded, const real *dout,
                      real *dw, real *dbias) {
    conv1ch_backward_on(cpu_path_active(), s, padded, dout, dw, dbias);
}

void conv1ch_forward_pooled(const conv_shape *s, const real *in, const real *wk,
                            const real *bias, real *padded, int relu, real *pooled,
                            int32_t *arg) {
    conv1ch_forward_pooled_on(cpu_path_active(), s, in, wk, bias, padded, relu, pooled, arg);
}

void conv1ch_backward_pooled(const conv_shape *s, const real *padded, const conv1ch_pool *pool,
                             real *dw, real *dbias) {
    conv1ch_backward_pooled_on(cpu_path_active(), s, padded, pool, dw, dbias);
}
