/* SPDX-License-Identifier: MIT */
/*
 * conv1ch.c — one-channel convolutions; see conv1ch.h. Each kernel body is
 * written once, over fixed blocks of CB output channels and PX output
 * pixels (arrays the compiler keeps in vector registers), and compiled for
 * each path of cpu.h with K known at compile time for 3 and 5.
 */
#include "internal.h"

#include <string.h>

#include "conv1ch.h"
#include "cpu.h"

enum { CB = 16, PX = 4 };

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

/* CB channels as one value: a GCC/clang vector, which each path's target
 * compiles to its registers (one zmm, two ymm, four xmm). */
typedef real vec __attribute__((vector_size(sizeof(real) * CB)));
#define INLINE static inline __attribute__((always_inline))

INLINE vec vload(const real *p) {
    vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* NP output pixels in a row, for channels [cb, cb + n) (wk and out already
 * point at cb). */
INLINE void forward_pixels(const real *row0, int Wp, const real *wk, int Cop, vec bv,
                           const int K, const int NP, real *out, int Co, int n) {
    vec acc[PX];
    for (int p = 0; p < NP; p++) acc[p] = bv;
    for (int ky = 0; ky < K; ky++) {
        const real *row = row0 + (size_t)ky * Wp;
        for (int kx = 0; kx < K; kx++) {
            const vec w = vload(wk + (size_t)(ky * K + kx) * Cop);
            for (int p = 0; p < NP; p++) acc[p] += row[p + kx] * w;
        }
    }
    for (int p = 0; p < NP; p++) memcpy(out + (size_t)p * Co, &acc[p], sizeof(real) * (size_t)n);
}

INLINE void forward_body(const conv_shape *s, const real *padded, const real *wk,
                         const real *bias, real *out, const int K) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad, Cop = co_padded(s->Co);
    for (int b = 0; b < s->B; b++) {
        const real *img = padded + (size_t)b * Hp * Wp;
        for (int cb = 0; cb < s->Co; cb += CB) {
            const int n = s->Co - cb < CB ? s->Co - cb : CB;
            real bias_block[CB];
            for (int c = 0; c < CB; c++) bias_block[c] = bias && c < n ? bias[cb + c] : 0;
            const vec bv = vload(bias_block);
            for (int y = 0; y < s->Ho; y++) {
                real *orow = out + ((size_t)b * s->Ho + y) * s->Wo * s->Co + cb;
                const real *irow = img + (size_t)y * Wp;
                int x = 0;
                for (; x + PX <= s->Wo; x += PX)
                    forward_pixels(irow + x, Wp, wk + cb, Cop, bv, K, PX,
                                   orow + (size_t)x * s->Co, s->Co, n);
                for (; x < s->Wo; x++)
                    forward_pixels(irow + x, Wp, wk + cb, Cop, bv, K, 1,
                                   orow + (size_t)x * s->Co, s->Co, n);
            }
        }
    }
}

INLINE void backward_body(const conv_shape *s, const real *padded, const real *dout,
                          real *dw, real *dbias, const int K) {
    const int Hp = s->H + 2 * s->pad, Wp = s->W + 2 * s->pad, KK = K * K;
    for (int cb = 0; cb < s->Co; cb += CB) {
        const int n = s->Co - cb < CB ? s->Co - cb : CB;
        vec acc[CONV1CH_MAX_K * CONV1CH_MAX_K], db = {0};
        for (int k = 0; k < KK; k++) acc[k] = db;
        for (int b = 0; b < s->B; b++) {
            const real *img = padded + (size_t)b * Hp * Wp;
            for (int y = 0; y < s->Ho; y++)
                for (int x = 0; x < s->Wo; x++) {
                    const real *d = dout + (((size_t)b * s->Ho + y) * s->Wo + x) * s->Co + cb;
                    vec dv = {0};
                    memcpy(&dv, d, sizeof(real) * (size_t)n);
                    db += dv;
                    const real *win = img + (size_t)y * Wp + x;
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++)
                            acc[ky * K + kx] += win[(size_t)ky * Wp + kx] * dv;
                }
        }
        for (int c = 0; c < n; c++) {
            for (int k = 0; k < KK; k++) dw[(size_t)(cb + c) * KK + k] = acc[k][c];
            if (dbias) dbias[cb + c] = db[c];
        }
    }
}

/* One forward and one backward function per path, K = 3 and 5 unrolled. */
#define CONV1CH_PATH(name, attr)                                                          \
    attr static void forward_##name(const conv_shape *s, const real *padded,            \
                                    const real *wk, const real *bias, real *out) {      \
        switch (s->K) {                                                                 \
        case 3: forward_body(s, padded, wk, bias, out, 3); break;                       \
        case 5: forward_body(s, padded, wk, bias, out, 5); break;                       \
        default: forward_body(s, padded, wk, bias, out, s->K); break;                   \
        }                                                                               \
    }                                                                                   \
    attr static void backward_##name(const conv_shape *s, const real *padded,           \
                                     const real *dout, real *dw, real *dbias) {         \
        switch (s->K) {                                                                 \
        case 3: backward_body(s, padded, dout, dw, dbias, 3); break;                    \
        case 5: backward_body(s, padded, dout, dw, dbias, 5); break;                    \
        default: backward_body(s, padded, dout, dw, dbias, s->K); break;                \
        }                                                                               \
    }

CONV1CH_PATH(portable, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONV1CH_X86 1
CONV1CH_PATH(avx2, __attribute__((target("avx2,fma"))))
CONV1CH_PATH(avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))))
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

void conv1ch_backward_on(cpu_path path, const conv_shape *s, const real *padded,
                         const real *dout, real *dw, real *dbias) {
    switch (path) {
#ifdef CONV1CH_X86
    case CPU_AVX512: backward_avx512(s, padded, dout, dw, dbias); return;
    case CPU_AVX2: backward_avx2(s, padded, dout, dw, dbias); return;
#endif
    default: backward_portable(s, padded, dout, dw, dbias); return;
    }
}

void conv1ch_forward(const conv_shape *s, const real *in, const real *wk,
                     const real *bias, real *padded, real *out) {
    conv1ch_forward_on(cpu_path_active(), s, in, wk, bias, padded, out);
}

void conv1ch_backward(const conv_shape *s, const real *padded, const real *dout,
                      real *dw, real *dbias) {
    conv1ch_backward_on(cpu_path_active(), s, padded, dout, dw, dbias);
}
