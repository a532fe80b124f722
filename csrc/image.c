/* SPDX-License-Identifier: MIT */
/*
 * image.c — the public image calls: argument and struct_size checks, the
 * format recognised from the first bytes, dispatch to the codec (png.c,
 * jpeg.c), the preprocessing (preprocess.c), and the report.
 *
 * Everything is reentrant: no global state, every call owns its buffers.
 */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MEMORY_NAME[] = "<memory>";
static const char PIXELS_NAME[] = "<pixels>";
static const uint8_t PNG_MAGIC[8] = {137, 80, 78, 71, 13, 10, 26, 10};
static const uint8_t JPEG_MAGIC[3] = {0xFF, 0xD8, 0xFF};

/* The sizes of the structs in the first release that had them (2.0): a
 * caller's struct_size must lie between these and ours. */
#define REPORT_SIZE_2_0 sizeof(digit_image_report)
#define PIXELS_SIZE_2_0 sizeof(digit_pixels)

int image_size_ok(uint64_t w, uint64_t h) {
    return w >= 1 && h >= 1 && w <= DIGIT_IMAGE_MAX_SIDE &&
           h <= DIGIT_IMAGE_MAX_SIDE && w * h <= DIGIT_IMAGE_MAX_PIXELS;
}

digit_status image_size_error(digit_status st, const char *name, uint64_t w,
                              uint64_t h) {
    return digit_fail(st,
                      "%s: image is %llux%llu, larger than the limit of "
                      "%dx%d and %zu pixels",
                      name, (unsigned long long)w, (unsigned long long)h,
                      DIGIT_IMAGE_MAX_SIDE, DIGIT_IMAGE_MAX_SIDE,
                      (size_t)DIGIT_IMAGE_MAX_PIXELS);
}

/* ---- reports --------------------------------------------------------------- */

static digit_status check_struct_size(const char *fn, const char *arg,
                                      size_t got, size_t oldest, size_t ours) {
    if (got >= oldest && got <= ours) return DIGIT_OK;
    return digit_fail(DIGIT_ERR_ARGUMENT,
                      "%s: %s: struct_size %zu is not a size this library "
                      "knows (expected %zu)", fn, arg, got, ours);
}

/* Writes what is known into the caller's report, no more than its
 * struct_size bytes (checked before). */
static void give_report(digit_image_report *dst, const digit_image_report *r) {
    if (!dst) return;
    size_t n = dst->struct_size;
    memcpy(dst, r, n);
    dst->struct_size = n;
}

static void fill_report(digit_image_report *r, const char *format,
                        const image_meta *m, const image *img,
                        const image_found *f) {
    snprintf(r->format, sizeof r->format, "%s", format);
    r->width = m->width;
    r->height = m->height;
    r->decoded_width = img->w;
    r->decoded_height = img->h;
    r->orientation = m->orientation;
    if (m->reduced) r->warnings |= DIGIT_WARN_REDUCED;
    if (!f) return;
    r->marks = f->marks;
    r->warnings |= f->warnings;
    r->ink_x = f->x;
    r->ink_y = f->y;
    r->ink_width = f->w;
    r->ink_height = f->h;
}

/* ---- dispatch ---------------------------------------------------------------- */

static int starts_with(const uint8_t *data, size_t size, const uint8_t *magic,
                       size_t n) {
    return size >= n && memcmp(data, magic, n) == 0;
}

/* Sniff, decode, preprocess: the body of both load calls. */
static digit_status load_bytes(const char *name, const uint8_t *data,
                               size_t size, uint8_t *out,
                               digit_image_report *report) {
    digit_image_report r;
    digit_image_report_init(&r);
    image img = {NULL, 0, 0, 0};
    image_meta meta = {0, 0, 1, 0};
    const char *format = "png";
    digit_status st;
    /* A PNG cut inside its signature is still called a truncated PNG. */
    if (starts_with(data, size, PNG_MAGIC, size < 8 ? (size ? size : 8) : 8)) {
        st = png_decode(name, data, size, &img, &meta);
    } else if (starts_with(data, size, JPEG_MAGIC, sizeof JPEG_MAGIC)) {
        format = "jpeg";
        st = jpeg_decode(name, data, size, &img, &meta);
    } else {
        return digit_fail(DIGIT_ERR_FORMAT, "%s: not a PNG or JPEG file", name);
    }
    fill_report(&r, format, &meta, &img, NULL);
    image_found found = {0, 0, 0, 0, 0, 0};
    if (st == DIGIT_OK) st = image_preprocess(name, &img, out, &found);
    if (st == DIGIT_OK) fill_report(&r, format, &meta, &img, &found);
    else r.decoded_width = r.decoded_height = 0;
    free(img.px);
    give_report(report, &r);
    return st;
}

/* ---- public API ---------------------------------------------------------------- */

DIGIT_API digit_status digit_image_load(const char *path, uint8_t *out,
                                        digit_image_report *report) {
    digit_clear_error();
    if (!path || !out)
        return digit_fail(DIGIT_ERR_ARGUMENT, "digit_image_load: %s is NULL",
                          !path ? "path" : "out");
    if (report) {
        digit_status st = check_struct_size("digit_image_load", "report",
                                            report->struct_size, REPORT_SIZE_2_0,
                                            sizeof *report);
        if (st != DIGIT_OK) return st;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    digit_status st = digit_read_file(path, DIGIT_IMAGE_MAX_FILE_BYTES, 0, &data, &size);
    if (st != DIGIT_OK) return st;
    st = load_bytes(path, data, size, out, report);
    free(data);
    return st;
}

DIGIT_API digit_status digit_image_load_memory(const void *data, size_t size,
                                               uint8_t *out,
                                               digit_image_report *report) {
    digit_clear_error();
    if (!data || !out)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "digit_image_load_memory: %s is NULL",
                          !data ? "data" : "out");
    if (report) {
        digit_status st = check_struct_size("digit_image_load_memory", "report",
                                            report->struct_size, REPORT_SIZE_2_0,
                                            sizeof *report);
        if (st != DIGIT_OK) return st;
    }
    if (size > DIGIT_IMAGE_MAX_FILE_BYTES)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: %zu bytes, over the limit of %zu",
                          MEMORY_NAME, size, (size_t)DIGIT_IMAGE_MAX_FILE_BYTES);
    return load_bytes(MEMORY_NAME, data, size, out, report);
}

DIGIT_API digit_status digit_image_preprocess(const digit_pixels *pixels,
                                              uint8_t *out,
                                              digit_image_report *report) {
    static const char FN[] = "digit_image_preprocess";
    digit_clear_error();
    if (!pixels || !out)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s: %s is NULL", FN,
                          !pixels ? "pixels" : "out");
    digit_status st = check_struct_size(FN, "pixels", pixels->struct_size,
                                        PIXELS_SIZE_2_0, sizeof *pixels);
    if (st == DIGIT_OK && report)
        st = check_struct_size(FN, "report", report->struct_size,
                               REPORT_SIZE_2_0, sizeof *report);
    if (st != DIGIT_OK) return st;
    image img = {NULL, 0, 0, 0};
    if ((st = image_from_pixels(PIXELS_NAME, pixels, &img)) != DIGIT_OK) return st;
    digit_image_report r;
    digit_image_report_init(&r);
    image_meta meta = {img.w, img.h, 1, 0};
    image_found found = {0, 0, 0, 0, 0, 0};
    fill_report(&r, "pixels", &meta, &img, NULL);
    st = image_preprocess(PIXELS_NAME, &img, out, &found);
    if (st == DIGIT_OK) fill_report(&r, "pixels", &meta, &img, &found);
    free(img.px);
    give_report(report, &r);
    return st;
}

DIGIT_API const char *digit_image_warning_name(uint32_t warning) {
    switch (warning) {
    case DIGIT_WARN_SEVERAL_MARKS: return "several-marks";
    case DIGIT_WARN_NOT_DIGIT_LIKE: return "not-digit-like";
    case DIGIT_WARN_REDUCED: return "reduced";
    default: return NULL;
    }
}

DIGIT_API digit_status digit_image_save_png(const char *path,
                                            const uint8_t *gray, int width,
                                            int height) {
    digit_clear_error();
    if (!path || !gray)
        return digit_fail(DIGIT_ERR_ARGUMENT, "digit_image_save_png: %s is NULL",
                          !path ? "path" : "gray");
    if (width <= 0 || height <= 0)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: size %dx%d is not positive", path, width, height);
    /* The same limits as loading: what we write, we can read back. */
    if (!image_size_ok((uint64_t)width, (uint64_t)height))
        return image_size_error(DIGIT_ERR_ARGUMENT, path, (uint64_t)width,
                                (uint64_t)height);
    uint8_t *buf = NULL;
    size_t len = 0;
    digit_status st = png_encode_gray(path, gray, width, height, &buf, &len);
    if (st == DIGIT_OK) st = digit_write_file_atomic(path, buf, len);
    free(buf);
    return st;
}
