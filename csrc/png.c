/* SPDX-License-Identifier: MIT */
/*
 * png.c — PNG in and out through libpng: any colour type, bit depth and
 * interlacing decoded to 8-bit samples; 8-bit gray encoded.
 *
 * libpng reports errors through a longjmp back into the call that started
 * it; the messages become ours and are never printed. No global state.
 */
#include "image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MALLOC_MAX ((size_t)8 << 20) /* one ancillary chunk, inflated */

static const uint8_t PNG_SIGNATURE[8] = {137, 80, 78, 71, 13, 10, 26, 10};

/* ---- libpng plumbing ------------------------------------------------------ */

/* Everything a libpng run must hand back, including after a longjmp. It
 * lives in the caller of the function that calls setjmp, so none of it is a
 * local of that function changed between setjmp and longjmp (whose values
 * the C standard leaves indeterminate). */
typedef struct png_io {
    const uint8_t *data; /* reading: the PNG bytes */
    size_t size, pos;
    uint8_t *buf; /* writing: the growing output */
    size_t len, cap;
    uint8_t *pixels; /* reading: the decoded samples */
    png_bytep *rows;
    const char *what;    /* prefix for libpng's messages */
    digit_status status; /* DIGIT_OK until an error decides it */
    char msg[256];
} png_io;

/* libpng's error callback: keep the message, go back to setjmp. */
static void on_png_error(png_structp png, png_const_charp msg) {
    png_io *io = png_get_error_ptr(png);
    if (io->status == DIGIT_OK)
        io->status = strstr(msg, "memory") ? DIGIT_ERR_MEMORY
                                           : DIGIT_ERR_FORMAT;
    if (io->status == DIGIT_ERR_MEMORY)
        snprintf(io->msg, sizeof io->msg, "out of memory (libpng: %s)", msg);
    else
        snprintf(io->msg, sizeof io->msg, "%s%s", io->what, msg);
    png_longjmp(png, 1);
}

/* Warnings (bad ancillary chunks, odd ICC profiles) do not stop decoding,
 * and the library never prints: drop them. */
static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Sets a failure of our own (not libpng's) on io. */
static void io_fail(png_io *io, digit_status st, const char *msg) {
    io->status = st;
    snprintf(io->msg, sizeof io->msg, "%s", msg);
}

static void read_cb(png_structp png, png_bytep dst, size_t n) {
    png_io *io = png_get_io_ptr(png);
    if (n > io->size - io->pos) {
        io->status = DIGIT_ERR_FORMAT;
        png_error(png, "truncated (the data ends early)");
    }
    memcpy(dst, io->data + io->pos, n);
    io->pos += n;
}

/* Appends to io->buf, doubling it as needed. */
static void write_cb(png_structp png, png_bytep src, size_t n) {
    png_io *io = png_get_io_ptr(png);
    if (n > io->cap - io->len) {
        size_t cap = io->cap ? io->cap : 4096;
        while (cap - io->len < n && cap <= SIZE_MAX / 2) cap *= 2;
        uint8_t *grown = cap - io->len >= n ? realloc(io->buf, cap) : NULL;
        if (!grown) {
            io->status = DIGIT_ERR_MEMORY;
            png_error(png, "cannot grow the output buffer");
        }
        io->buf = grown;
        io->cap = cap;
    }
    memcpy(io->buf + io->len, src, n);
    io->len += n;
}

static void flush_cb(png_structp png) { (void)png; }

/* ---- decoding -------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* The signature first: anything else is "not a PNG file", which is more
 * useful to hear than a complaint about its chunks. */
static digit_status check_signature(const char *name, const uint8_t *data,
                                    size_t size) {
    size_t n = size < 8 ? size : 8;
    if (size == 0 || memcmp(data, PNG_SIGNATURE, n) != 0)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: not a PNG file", name);
    if (size < 8)
        return digit_fail(DIGIT_ERR_FORMAT,
                          "%s: invalid PNG: truncated (%zu bytes)", name, size);
    return DIGIT_OK;
}

/* Reads the size in IHDR ourselves, so that an image too large to decode is
 * refused at once with its size in the message. Whatever else is wrong with
 * the header is left to libpng (which also enforces the same limits). */
static digit_status check_header(const char *name, const uint8_t *data,
                                 size_t size) {
    if (size < 24 || memcmp(data + 12, "IHDR", 4) != 0) return DIGIT_OK;
    uint32_t w = be32(data + 16), h = be32(data + 20);
    if (w == 0 || h == 0 || image_size_ok(w, h)) return DIGIT_OK;
    return image_size_error(DIGIT_ERR_FORMAT, name, w, h);
}

/* Asks libpng for 8-bit samples whatever the file holds: palettes become
 * RGB, 1/2/4-bit gray becomes 8-bit, tRNS becomes a real alpha channel,
 * 16-bit samples are scaled (rounded) to 8 and Adam7 passes are merged.
 * Gamma, sRGB and ICC chunks are deliberately ignored: samples are used as
 * stored, exactly as digit_image_preprocess sees the same bytes, and ink is
 * found by contrast, which a monotone transfer curve neither makes nor
 * removes. */
static void request_8bit(png_structp png, png_infop info) {
    int type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) {
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
        png_set_scale_16(png);
#else
        png_set_strip_16(png);
#endif
    }
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

/* The libpng calls of a decode. Returns 0 on failure with io->status and
 * io->msg set; io->pixels and io->rows are the caller's to free either way.
 * This function holds the setjmp, and it changes no local of its own that
 * is read after a longjmp. */
static int decode_steps(png_structp png, png_infop info, png_io *io,
                        image *img) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_read_fn(png, io, read_cb);
    png_set_user_limits(png, DIGIT_IMAGE_MAX_SIDE, DIGIT_IMAGE_MAX_SIDE);
    png_set_chunk_malloc_max(png, CHUNK_MALLOC_MAX);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    if (!image_size_ok(w, h)) {
        io->status = DIGIT_ERR_FORMAT;
        snprintf(io->msg, sizeof io->msg,
                 "image is %lux%lu, larger than the limit of %dx%d and %llu "
                 "pixels", (unsigned long)w, (unsigned long)h,
                 DIGIT_IMAGE_MAX_SIDE, DIGIT_IMAGE_MAX_SIDE,
                 (unsigned long long)DIGIT_IMAGE_MAX_PIXELS);
        return 0;
    }
    request_8bit(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels < 1 || channels > 4 ||
        rowbytes != (size_t)w * (size_t)channels) {
        io_fail(io, DIGIT_ERR_FORMAT, "invalid PNG: unsupported sample layout");
        return 0;
    }
    io->pixels = malloc(rowbytes * h);
    io->rows = malloc(sizeof *io->rows * h);
    if (!io->pixels || !io->rows) {
        io_fail(io, DIGIT_ERR_MEMORY, "cannot allocate the decoded image");
        return 0;
    }
    for (png_uint_32 y = 0; y < h; y++) io->rows[y] = io->pixels + rowbytes * y;
    png_read_image(png, io->rows);
    /* Reading to IEND means a file cut anywhere, even after the last
     * pixel, is reported as truncated rather than half-trusted. */
    png_read_end(png, NULL);
    img->w = (int)w;
    img->h = (int)h;
    img->channels = channels;
    return 1;
}

/* Decodes a PNG held in memory into *img (8-bit samples, malloc'd). */
digit_status png_decode(const char *name, const uint8_t *data, size_t size,
                        image *img, image_meta *meta) {
    digit_status st = check_signature(name, data, size);
    if (st == DIGIT_OK) st = check_header(name, data, size);
    if (st != DIGIT_OK) return st;
    png_io io;
    memset(&io, 0, sizeof io);
    io.data = data;
    io.size = size;
    io.what = "invalid PNG: ";
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io,
                                             on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot start libpng", name);
    }
    int ok = decode_steps(png, info, &io, img);
    png_destroy_read_struct(&png, &info, NULL);
    free(io.rows);
    if (!ok) {
        free(io.pixels);
        return digit_fail(io.status != DIGIT_OK ? io.status : DIGIT_ERR_FORMAT,
                          "%s: %s", name, io.msg);
    }
    img->px = io.pixels;
    meta->width = img->w;
    meta->height = img->h;
    meta->orientation = 1;
    meta->reduced = 0;
    return DIGIT_OK;
}

/* ---- encoding -------------------------------------------------------------- */

/* The libpng calls of an encode; same setjmp discipline as decode_steps. */
static int encode_steps(png_structp png, png_infop info, png_io *io,
                        const uint8_t *gray, int w, int h) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_write_fn(png, io, write_cb, flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, gray + (size_t)y * w);
    png_write_end(png, NULL);
    return 1;
}

/* Encodes an 8-bit gray PNG into io->buf / io->len (the caller frees). */
static digit_status encode_png(const char *name, const uint8_t *gray, int w,
                               int h, png_io *io) {
    io->what = "cannot encode PNG: ";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io,
                                              on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot start libpng", name);
    }
    int ok = encode_steps(png, info, io, gray, w, h);
    png_destroy_write_struct(&png, &info);
    if (!ok)
        return digit_fail(io->status != DIGIT_OK ? io->status
                                                 : DIGIT_ERR_FORMAT,
                          "%s: %s", name, io->msg);
    return DIGIT_OK;
}

digit_status png_encode_gray(const char *name, const uint8_t *gray, int w,
                             int h, uint8_t **buf, size_t *len) {
    png_io io;
    memset(&io, 0, sizeof io);
    digit_status st = encode_png(name, gray, w, h, &io);
    if (st != DIGIT_OK) {
        free(io.buf);
        return st;
    }
    *buf = io.buf;
    *len = io.len;
    return DIGIT_OK;
}
