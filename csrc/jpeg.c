/* SPDX-License-Identifier: MIT */
/*
 * jpeg.c — JPEG in through libjpeg(-turbo): baseline and progressive, gray
 * and YCbCr (or RGB) to 8-bit gray or RGB, EXIF orientation applied.
 *
 * Decisions:
 *   - CMYK and YCCK files (Adobe print workflows, never phone cameras) are
 *     refused by name rather than guessed at: Adobe's inverted-CMYK
 *     convention is not recorded reliably in the file.
 *   - Every libjpeg warning is an error. Its warnings are about the data
 *     ("premature end of data segment", "extraneous bytes before marker"):
 *     libjpeg would fill what is missing with gray, and a digit half made
 *     up is worse than a clear refusal.
 *   - An image larger than the limits is decoded at a reduced size with the
 *     DCT scaling libjpeg offers (n/8, n = 7..1), the least reduction that
 *     fits, since a 48-megapixel phone photo of one digit holds far more
 *     detail than 28x28 needs; it is refused only when 1/8 does not fit.
 *     The sizes are checked after the header and before any pixel memory.
 *   - libjpeg's memory is capped (JPEG_MEMORY_MAX) so that a progressive
 *     file claiming a huge size fails instead of allocating gigabytes.
 * libjpeg reports errors through error_exit, which here longjmps back into
 * the call that started it; its messages become ours and are never
 * printed. No global state: each decode has its own error manager.
 */
#include "image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: the JERR_ codes */

#define JPEG_MEMORY_MAX ((long)768 << 20)

/* Everything a decode must hand back, including after a longjmp. It lives
 * in the caller of the function that calls setjmp, so none of it is a local
 * changed between setjmp and longjmp. */
typedef struct jpeg_run {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    int created;
    uint8_t *pixels;
    digit_status status; /* DIGIT_OK until an error decides it */
    char msg[JMSG_LENGTH_MAX + 64];
    int width, height, reduced, orientation;
} jpeg_run;

/* The run a libjpeg object belongs to (cinfo is its first member). */
static jpeg_run *run_of(j_common_ptr c) { return (jpeg_run *)(void *)c; }

static void fail_with_libjpeg_message(j_common_ptr c) {
    jpeg_run *r = run_of(c);
    char text[JMSG_LENGTH_MAX];
    (*c->err->format_message)(c, text);
    if (r->status == DIGIT_OK) {
        int oom = c->err->msg_code == JERR_OUT_OF_MEMORY;
        r->status = oom ? DIGIT_ERR_MEMORY : DIGIT_ERR_FORMAT;
        snprintf(r->msg, sizeof r->msg, oom ? "out of memory (libjpeg: %s)"
                                            : "invalid JPEG: %s", text);
    }
    longjmp(r->jump, 1);
}

static void on_error_exit(j_common_ptr c) { fail_with_libjpeg_message(c); }

/* Level -1 is a warning about corrupt data: an error here (see the top).
 * Higher levels are trace messages: ignored. */
static void on_emit_message(j_common_ptr c, int level) {
    if (level < 0) fail_with_libjpeg_message(c);
}

/* The library never prints. */
static void on_output_message(j_common_ptr c) { (void)c; }

static void run_fail(jpeg_run *r, digit_status st, const char *msg) {
    r->status = st;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

/* The least DCT reduction n/8 (n = 8..1) that brings the image within the
 * limits; 0 if none does. */
static int scale_numerator(struct jpeg_decompress_struct *ci) {
    for (int n = 8; n >= 1; n--) {
        ci->scale_num = (unsigned)n;
        ci->scale_denom = 8;
        jpeg_calc_output_dimensions(ci);
        if (image_size_ok(ci->output_width, ci->output_height)) return n;
    }
    return 0;
}

/* The orientation in the first APP1 segment that holds EXIF. */
static int find_orientation(struct jpeg_decompress_struct *ci) {
    for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif", 4) == 0)
            return exif_orientation(m->data, m->data_length);
    return 1;
}

/* Header, colour space and size: 0 (with r->msg) if the image is refused. */
static int read_header_steps(jpeg_run *r) {
    struct jpeg_decompress_struct *ci = &r->cinfo;
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    (void)jpeg_read_header(ci, TRUE);
    r->width = (int)ci->image_width;
    r->height = (int)ci->image_height;
    r->orientation = find_orientation(ci);
    if (ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK) {
        run_fail(r, DIGIT_ERR_FORMAT, "CMYK JPEG is not supported");
        return 0;
    }
    ci->out_color_space = ci->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    int n = scale_numerator(ci);
    if (n == 0) {
        r->status = DIGIT_ERR_FORMAT;
        snprintf(r->msg, sizeof r->msg,
                 "image is %dx%d, larger than the limit of %dx%d and %zu "
                 "pixels even at 1/8 of its size", r->width, r->height,
                 DIGIT_IMAGE_MAX_SIDE, DIGIT_IMAGE_MAX_SIDE,
                 (size_t)DIGIT_IMAGE_MAX_PIXELS);
        return 0;
    }
    r->reduced = n < 8;
    return 1;
}

/* The libjpeg calls of a decode; holds the setjmp. */
static int decode_steps(jpeg_run *r, const uint8_t *data, size_t size,
                        image *img) {
    struct jpeg_decompress_struct *ci = &r->cinfo;
    if (setjmp(r->jump)) return 0;
    jpeg_create_decompress(ci);
    r->created = 1;
    ci->mem->max_memory_to_use = JPEG_MEMORY_MAX;
    jpeg_mem_src(ci, data, (unsigned long)size);
    if (!read_header_steps(r)) return 0;
    (void)jpeg_start_decompress(ci);
    const int w = (int)ci->output_width, h = (int)ci->output_height;
    const int ch = ci->output_components;
    if ((ch != 1 && ch != 3) || !image_size_ok((uint64_t)w, (uint64_t)h)) {
        run_fail(r, DIGIT_ERR_FORMAT, "invalid JPEG: unsupported output layout");
        return 0;
    }
    if (!(r->pixels = malloc((size_t)w * h * ch))) {
        run_fail(r, DIGIT_ERR_MEMORY, "cannot allocate the decoded image");
        return 0;
    }
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = r->pixels + (size_t)ci->output_scanline * w * ch;
        if (jpeg_read_scanlines(ci, &row, 1) != 1) {
            run_fail(r, DIGIT_ERR_FORMAT, "invalid JPEG: truncated");
            return 0;
        }
    }
    /* To EOI, so that a file cut after the last row is still noticed. */
    (void)jpeg_finish_decompress(ci);
    img->w = w;
    img->h = h;
    img->channels = ch;
    return 1;
}

digit_status jpeg_decode(const char *name, const uint8_t *data, size_t size,
                         image *img, image_meta *meta) {
    if (size > (size_t)(unsigned long)-1)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: JPEG file too large", name);
    jpeg_run *r = calloc(1, sizeof *r);
    if (!r) return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    r->cinfo.err = jpeg_std_error(&r->mgr);
    r->mgr.error_exit = on_error_exit;
    r->mgr.emit_message = on_emit_message;
    r->mgr.output_message = on_output_message;
    int ok = decode_steps(r, data, size, img);
    if (r->created) jpeg_destroy_decompress(&r->cinfo);
    meta->width = r->width;
    meta->height = r->height;
    meta->reduced = r->reduced;
    meta->orientation = 1;
    digit_status st = DIGIT_OK;
    if (!ok) {
        free(r->pixels);
        st = digit_fail(r->status != DIGIT_OK ? r->status : DIGIT_ERR_FORMAT,
                        "%s: %s", name, r->msg);
        free(r);
        return st;
    }
    img->px = r->pixels;
    int o = r->orientation;
    free(r);
    st = image_orient(name, img, o);
    if (st != DIGIT_OK) {
        free(img->px);
        img->px = NULL;
        return st;
    }
    meta->orientation = o;
    return DIGIT_OK;
}
