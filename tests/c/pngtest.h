/* SPDX-License-Identifier: MIT */
/*
 * pngtest.h — an in-memory PNG encoder for the C tests (test_image.c,
 * test_variants.c), able to write every PNG format libdigit must read:
 * gray 1/2/4/8/16-bit, gray+alpha, RGB, RGBA, palettes with tRNS, Adam7.
 *
 *   spec s = {w, h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, samples,
 *             NULL, 0, NULL, 0};
 *   size_t len;
 *   uint8_t *png = pngtest_encode(&s, &len);   ... free(png);
 *
 * Samples are uint16_t, one per channel (palette: one index per pixel),
 * 0..2^depth-1. Everything here is static inline, so a test that includes
 * the header and uses only part of it gets no unused-function warnings.
 * A libpng failure aborts: the inputs are the test's own.
 */
#ifndef DIGIT_TEST_PNGTEST_H
#define DIGIT_TEST_PNGTEST_H

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The growing output of an encode. */
typedef struct buffer {
    uint8_t *data;
    size_t len, cap;
} buffer;

static inline void buf_write(png_structp png, png_bytep p, size_t n) {
    buffer *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) abort();
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void buf_flush(png_structp png) { (void)png; }

/* What to encode: w*h pixels of `channels` samples each (0..2^depth-1). */
typedef struct spec {
    int w, h, color_type, depth, interlace;
    const uint16_t *samples;
    const png_color *palette;
    int palette_count;
    const uint8_t *trans; /* palette alpha entries */
    int trans_count;
} spec;

static inline int channels_of(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* palette indices */
    }
}

/* Packs one row of samples the way PNG stores it. */
static inline void pack_row(const spec *s, int y, uint8_t *row) {
    int ch = channels_of(s->color_type), n = s->w * ch;
    const uint16_t *src = s->samples + (size_t)y * n;
    if (s->depth == 16) {
        for (int i = 0; i < n; i++) {
            row[2 * i] = (uint8_t)(src[i] >> 8);
            row[2 * i + 1] = (uint8_t)src[i];
        }
    } else if (s->depth == 8) {
        for (int i = 0; i < n; i++) row[i] = (uint8_t)src[i];
    } else {
        int per = 8 / s->depth;
        memset(row, 0, (size_t)(n + per - 1) / per);
        for (int i = 0; i < n; i++)
            row[i / per] |= (uint8_t)(src[i] << (8 - s->depth * (i % per + 1)));
    }
}

/* The PNG file for *s, malloc'd; its size in *len. */
static inline uint8_t *pngtest_encode(const spec *s, size_t *len) {
    buffer b = {NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    int ch = channels_of(s->color_type);
    uint8_t *row = malloc((size_t)s->w * ch * 2 + 8);
    if (!png || !info || !row || setjmp(png_jmpbuf(png))) abort();
    png_set_write_fn(png, &b, buf_write, buf_flush);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth,
                 s->color_type, s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) png_set_PLTE(png, info, s->palette, s->palette_count);
    if (s->trans) png_set_tRNS(png, info, s->trans, s->trans_count, NULL);
    png_write_info(png, info);
    int passes = s->interlace ? png_set_interlace_handling(png) : 1;
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < s->h; y++) {
            pack_row(s, y, row);
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    *len = b.len;
    return b.data;
}

/* A gray 8-bit PNG of raw pixel values. */
static inline uint8_t *encode_gray(const uint8_t *gray, int w, int h, size_t *len) {
    uint16_t *smp = malloc((size_t)w * h * sizeof *smp);
    if (!smp) abort();
    for (size_t i = 0; i < (size_t)w * h; i++) smp[i] = gray[i];
    spec s = {w, h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, smp, NULL, 0, NULL, 0};
    uint8_t *png = pngtest_encode(&s, len);
    free(smp);
    return png;
}

/* A packed 8-bit gray image through digit_image_preprocess. */
static inline digit_status preprocess_gray(const uint8_t *gray, int w, int h, uint8_t *out) {
    digit_pixels p;
    digit_pixels_init(&p);
    p.data = gray, p.width = w, p.height = h, p.channels = 1, p.type = DIGIT_SAMPLE_U8;
    return digit_image_preprocess(&p, out, NULL);
}

#endif
