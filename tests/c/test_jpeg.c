/* SPDX-License-Identifier: MIT */
/*
 * test_jpeg.c — JPEG and EXIF input, the digit_pixels entry point, reports
 * and refusals: every bad input gets the right status and a message naming
 * the file or the argument, and nothing crashes (this test also runs under
 * `make asan-test`). Needs no data set: the images are made here.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */

#include "check.h"
#include "digit.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static int msg_has(const char *s) { return strstr(digit_last_error(), s) != NULL; }

static void expect(digit_status got, digit_status want, const char *a, const char *b,
                   const char *what) {
    CHECK(got == want && msg_has(a) && msg_has(b),
          "%s: status %d (want %d), message should say '%s' and '%s'", what, got, want, a, b);
}

/* ---- making JPEGs ------------------------------------------------------------ */

/* A w x h page: light paper, a dark bar of a "1" with a foot in the box
 * [bx, bx+bw) x [by, by+bh) (asymmetric, so any turn or flip shows). */
static uint8_t *page(int w, int h, int bx, int by, int bw, int bh) {
    uint8_t *g = malloc((size_t)w * h);
    if (!g) abort();
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int in = x >= bx && x < bx + bw && y >= by && y < by + bh;
            int stem = in && x >= bx + bw / 3 && x < bx + bw * 2 / 3;
            int foot = in && y >= by + bh * 5 / 6;
            g[(size_t)y * w + x] = (uint8_t)(stem || foot ? 30 : 225);
        }
    return g;
}

typedef struct jpeg_spec {
    int w, h, components; /* 1 gray, 3 RGB (stored YCbCr), 4 CMYK */
    int progressive, quality;
    const uint8_t *app1;
    size_t app1_len;
} jpeg_spec;

/* Encodes gray samples (replicated to every component). */
static uint8_t *encode(const jpeg_spec *s, const uint8_t *gray, size_t *len) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = (JDIMENSION)s->w;
    ci.image_height = (JDIMENSION)s->h;
    ci.input_components = s->components;
    ci.in_color_space = s->components == 1 ? JCS_GRAYSCALE : s->components == 3 ? JCS_RGB
                                                                                : JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, s->quality ? s->quality : 90, TRUE);
    if (s->progressive) jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    if (s->app1) jpeg_write_marker(&ci, JPEG_APP0 + 1, s->app1, (unsigned)s->app1_len);
    JSAMPLE *row = malloc((size_t)s->w * s->components);
    if (!row) abort();
    while (ci.next_scanline < ci.image_height) {
        const uint8_t *g = gray + (size_t)ci.next_scanline * s->w;
        for (int x = 0; x < s->w; x++)
            for (int c = 0; c < s->components; c++)
                row[(size_t)x * s->components + c] = s->components == 4 ? (JSAMPLE)(255 - g[x]) : g[x];
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    *len = size;
    return buf;
}

/* An APP1 payload: "Exif\0\0", a TIFF header, IFD0 with `count` entries,
 * the first being Orientation = o. */
static size_t exif(uint8_t *p, int o, int big_endian, uint32_t ifd_offset, unsigned count) {
    memcpy(p, "Exif\0\0", 6);
    uint8_t *t = p + 6;
    memset(t, 0, 26);
    if (big_endian) {
        memcpy(t, "MM\0*", 4);
        t[4] = (uint8_t)(ifd_offset >> 24), t[5] = (uint8_t)(ifd_offset >> 16);
        t[6] = (uint8_t)(ifd_offset >> 8), t[7] = (uint8_t)ifd_offset;
        t[8] = (uint8_t)(count >> 8), t[9] = (uint8_t)count;
        t[10] = 0x01, t[11] = 0x12, t[13] = 3, t[17] = 1, t[19] = (uint8_t)o;
    } else {
        memcpy(t, "II*\0", 4);
        t[4] = (uint8_t)ifd_offset, t[5] = (uint8_t)(ifd_offset >> 8);
        t[6] = (uint8_t)(ifd_offset >> 16), t[7] = (uint8_t)(ifd_offset >> 24);
        t[8] = (uint8_t)count, t[9] = (uint8_t)(count >> 8);
        t[10] = 0x12, t[11] = 0x01, t[12] = 3, t[14] = 1, t[18] = (uint8_t)o;
    }
    return 6 + 26;
}

static digit_status load(const uint8_t *data, size_t len, uint8_t *out, digit_image_report *r) {
    digit_image_report_init(r);
    return digit_image_load_memory(data, len, out, r);
}

/* ---- EXIF orientation ----------------------------------------------------------- */

/* Where display pixel (x, y) is stored under orientation o (written from
 * the EXIF table, independently of exif.c). */
static void stored_at(int o, int sw, int sh, int x, int y, int *sx, int *sy) {
    switch (o) {
    case 2: *sx = sw - 1 - x, *sy = y; break;
    case 3: *sx = sw - 1 - x, *sy = sh - 1 - y; break;
    case 4: *sx = x, *sy = sh - 1 - y; break;
    case 5: *sx = y, *sy = x; break;
    case 6: *sx = y, *sy = sh - 1 - x; break;
    case 7: *sx = sw - 1 - y, *sy = sh - 1 - x; break;
    case 8: *sx = sw - 1 - y, *sy = x; break;
    default: *sx = x, *sy = y; break;
    }
}

static void test_orientations(void) {
    const int W = 96, H = 64;
    uint8_t *up = page(W, H, 14, 8, 24, 40), ref[784], out[784];
    size_t len;
    jpeg_spec s = {W, H, 1, 0, 95, NULL, 0};
    uint8_t *jpg = encode(&s, up, &len);
    digit_image_report r0, r;
    CHECK_OK(load(jpg, len, ref, &r0));
    CHECK(r0.orientation == 1 && !strcmp(r0.format, "jpeg"), "plain JPEG: orientation %d, %s",
          r0.orientation, r0.format);
    free(jpg);
    for (int o = 1; o <= 8; o++)
        for (int be = 0; be < 2; be++) {
            int sw = o >= 5 ? H : W, sh = o >= 5 ? W : H;
            uint8_t *st = malloc((size_t)W * H), app1[64];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int sx, sy;
                    stored_at(o, sw, sh, x, y, &sx, &sy);
                    st[(size_t)sy * sw + sx] = up[(size_t)y * W + x];
                }
            jpeg_spec so = {sw, sh, o % 2 ? 1 : 3, o == 4, 95, app1, exif(app1, o, be, 8, 1)};
            jpg = encode(&so, st, &len);
            digit_status got = load(jpg, len, out, &r);
            int diff = 0;
            for (int i = 0; i < 784; i++) diff += abs(out[i] - ref[i]);
            CHECK(got == DIGIT_OK && r.orientation == o && r.width == sw && r.height == sh &&
                      r.decoded_width == W && r.decoded_height == H &&
                      abs(r.ink_x - r0.ink_x) <= 1 && abs(r.ink_y - r0.ink_y) <= 1 &&
                      abs(r.ink_width - r0.ink_width) <= 2 && diff < 784 * 8,
                  "orientation %d (%s): status %d, reported %d, %dx%d -> %dx%d, box %d,%d "
                  "%dx%d (want %d,%d %dx%d), mean difference %.1f",
                  o, be ? "MM" : "II", got, r.orientation, r.width, r.height, r.decoded_width,
                  r.decoded_height, r.ink_x, r.ink_y, r.ink_width, r.ink_height, r0.ink_x,
                  r0.ink_y, r0.ink_width, r0.ink_height, diff / 784.0);
            free(jpg);
            free(st);
        }
    free(up);
}

/* EXIF that lies: offsets and counts past the segment, wrong types, bad
 * byte order marks, an Orientation of 9. The image still loads, upright. */
static void test_bad_exif(void) {
    const int W = 64, H = 48;
    uint8_t *g = page(W, H, 10, 6, 20, 34), out[784], app1[64];
    struct {
        const char *what;
        uint32_t offset;
        unsigned count;
        int o, cut, mangle;
    } cases[] = {
        {"IFD offset past the segment", 4000, 1, 6, 0, 0},
        {"IFD offset at the very end", 26, 1, 6, 0, 0},
        {"IFD offset inside the header", 2, 1, 6, 0, 0},
        {"entry count past the segment", 8, 60000, 6, 0, 0}, /* the entry that fits is read */
        {"segment cut inside the entry", 8, 1, 6, 14, 0},
        {"segment cut inside the header", 8, 1, 6, 9, 0},
        {"orientation 9", 8, 1, 9, 0, 0},
        {"orientation 0", 8, 1, 0, 0, 0},
        {"bad byte order", 8, 1, 6, 0, 1},
        {"type LONG", 8, 1, 6, 0, 2},
        {"no TIFF magic 42", 8, 1, 6, 0, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int be = 0; be < 2; be++) {
            size_t n = exif(app1, cases[k].o, be, cases[k].offset, cases[k].count);
            if (cases[k].cut) n = 6 + (size_t)cases[k].cut;
            if (cases[k].mangle == 1) app1[6] = 'X';
            if (cases[k].mangle == 2) app1[6 + (be ? 13 : 12)] = 4;
            if (cases[k].mangle == 3) app1[6 + (be ? 3 : 2)] = 41;
            jpeg_spec s = {W, H, 1, 0, 90, app1, n};
            size_t len;
            uint8_t *jpg = encode(&s, g, &len);
            digit_image_report r;
            digit_status st = load(jpg, len, out, &r);
            int want = cases[k].count > 1 ? 6 : 1;
            CHECK(st == DIGIT_OK && r.orientation == want && r.decoded_width == (want == 6 ? H : W),
                  "bad EXIF, %s (%s): status %d, orientation %d", cases[k].what,
                  be ? "MM" : "II", st, r.orientation);
            free(jpg);
        }
    free(g);
}

/* ---- refusals --------------------------------------------------------------------- */

/* Offset of the first SOFn marker's height field, or 0. */
static size_t sof_size_at(const uint8_t *j, size_t len) {
    for (size_t i = 2; i + 9 < len; i++)
        if (j[i] == 0xFF && (j[i + 1] == 0xC0 || j[i + 1] == 0xC2)) return i + 5;
    return 0;
}

static void test_refusals(void) {
    const int W = 64, H = 48;
    uint8_t *g = page(W, H, 10, 6, 20, 34), out[784];
    digit_image_report r;
    size_t len;
    jpeg_spec s = {W, H, 3, 0, 90, NULL, 0};
    uint8_t *jpg = encode(&s, g, &len);
    CHECK_OK(load(jpg, len, out, &r));

    /* Cut anywhere: after the markers, inside the scan, just before EOI. */
    size_t cuts[] = {3, 4, 20, 100, len / 2, len * 3 / 4, len - 10, len - 2, len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        digit_status st = load(jpg, cuts[k], out, &r);
        CHECK(st == DIGIT_ERR_FORMAT && msg_has("<memory>") && msg_has("JPEG"),
              "JPEG cut at %zu of %zu: status %d", cuts[k], len, st);
    }
    /* Corrupt: scan data overwritten, a marker in the middle of it. */
    uint8_t *bad = malloc(len);
    memcpy(bad, jpg, len);
    size_t sos = 2;
    while (sos + 1 < len && !(bad[sos] == 0xFF && bad[sos + 1] == 0xDA)) sos++;
    size_t mid = sos + (len - sos) / 2;
    bad[mid] = 0xFF, bad[mid + 1] = 0xD9; /* EOI in the middle of the scan */
    expect(load(bad, len, out, &r), DIGIT_ERR_FORMAT, "<memory>", "invalid JPEG", "corrupt scan");
    /* Random damage: any status, but a failure says why and names the input. */
    uint32_t seed = 12345;
    for (int k = 0; k < 300; k++) {
        memcpy(bad, jpg, len);
        for (int m = 0; m < 1 + k % 4; m++) {
            seed = seed * 1664525u + 1013904223u;
            bad[2 + (seed >> 8) % (len - 2)] = (uint8_t)(seed >> 24);
        }
        digit_status st = load(bad, len, out, &r);
        CHECK(st == DIGIT_OK || (st == DIGIT_ERR_FORMAT && msg_has("<memory>")) ||
                  st == DIGIT_ERR_IMAGE,
              "damaged JPEG %d: status %d", k, st);
    }
    memcpy(bad, jpg, len);
    for (size_t i = 2; i + 4 < len; i++)
        if (bad[i] == 0xFF && bad[i + 1] == 0xDB) {
            bad[i + 4] = 0x1F; /* quantisation table 15 of 16-bit precision */
            break;
        }
    expect(load(bad, len, out, &r), DIGIT_ERR_FORMAT, "<memory>", "invalid JPEG", "corrupt DQT");
    /* 60000 x 60000 declared in the frame header. */
    memcpy(bad, jpg, len);
    size_t at = sof_size_at(bad, len);
    CHECK(at > 0, "no SOF marker found");
    bad[at] = 60000 >> 8, bad[at + 1] = 60000 & 255, bad[at + 2] = 60000 >> 8,
    bad[at + 3] = 60000 & 255;
    expect(load(bad, len, out, &r), DIGIT_ERR_FORMAT, "<memory>", "60000x60000", "60000x60000");
    CHECK(r.width == 60000 && r.height == 60000 && !strcmp(r.format, "jpeg"),
          "the report of a refused file still says what it is: %s %dx%d", r.format, r.width,
          r.height);
    free(bad);
    free(jpg);

    /* CMYK, refused by name. */
    jpeg_spec c = {W, H, 4, 0, 90, NULL, 0};
    jpg = encode(&c, g, &len);
    expect(load(jpg, len, out, &r), DIGIT_ERR_FORMAT, "<memory>", "CMYK JPEG is not supported",
           "CMYK");
    free(jpg);

    /* No ink: a blank page, small and photo-sized. */
    for (int big = 0; big < 2; big++) {
        int w = big ? 640 : W, h = big ? 480 : H;
        uint8_t *blank = malloc((size_t)w * h);
        for (int i = 0; i < w * h; i++) blank[i] = (uint8_t)(200 - big * (i % w) / 16);
        jpeg_spec b = {w, h, 1, 0, 90, NULL, 0};
        jpg = encode(&b, blank, &len);
        expect(load(jpg, len, out, &r), DIGIT_ERR_IMAGE, "<memory>", "no ink", "blank page");
        free(jpg);
        free(blank);
    }
    /* Neither PNG nor JPEG; a file by path, named in the message. */
    const char text[] = "GIF89a, not what we read";
    expect(load((const uint8_t *)text, sizeof text, out, &r), DIGIT_ERR_FORMAT, "<memory>",
           "not a PNG or JPEG file", "GIF");
    char path[] = "/tmp/digit-test-jpeg-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        FILE *f = fdopen(fd, "wb");
        fwrite(text, 1, 10, f);
        fclose(f);
        digit_image_report_init(&r);
        expect(digit_image_load(path, out, &r), DIGIT_ERR_FORMAT, path, "not a PNG or JPEG",
               "file by path");
        remove(path);
    }
    free(g);
}

/* ---- large photos -------------------------------------------------------------- */

static void test_reduced(void) {
    const int W = 8000, H = 6000;
    uint8_t *g = page(W, H, 3000, 2000, 1200, 2000), out[784];
    size_t len;
    jpeg_spec s = {W, H, 1, 0, 75, NULL, 0};
    uint8_t *jpg = encode(&s, g, &len);
    free(g);
    digit_image_report r;
    digit_status st = load(jpg, len, out, &r);
    CHECK(st == DIGIT_OK && (r.warnings & DIGIT_WARN_REDUCED) && r.width == W && r.height == H &&
              r.decoded_width == 4000 && r.decoded_height == 3000,
          "8000x6000: status %d, warnings %#x, %dx%d decoded as %dx%d", st,
          (unsigned)r.warnings, r.width, r.height, r.decoded_width, r.decoded_height);
    CHECK(abs(r.ink_x - 1500) <= 2 && abs(r.ink_height - 1000) <= 4,
          "8000x6000: ink box %d,%d %dx%d in the reduced image", r.ink_x, r.ink_y, r.ink_width,
          r.ink_height);
    free(jpg);
}

/* ---- raw pixels, arguments, reports --------------------------------------------- */

static void test_pixels(void) {
    const int W = 40, H = 30;
    uint8_t *g = page(W, H, 8, 4, 14, 22), ref[784], out[784];
    digit_pixels p;
    digit_image_report r;
    digit_pixels_init(&p);
    p.data = g, p.width = W, p.height = H, p.channels = 1, p.type = DIGIT_SAMPLE_U8;
    digit_image_report_init(&r);
    CHECK_OK(digit_image_preprocess(&p, ref, &r));
    CHECK(!strcmp(r.format, "pixels") && r.width == W && r.marks == 1 && r.orientation == 1,
          "pixels report: %s %d marks %d", r.format, r.width, r.marks);
    p.stride = (size_t)W; /* packed, said explicitly: the same */
    CHECK_OK(digit_image_preprocess(&p, out, NULL));
    CHECK(!memcmp(out, ref, 784), "an explicit packed stride differs");
    p.stride = 0;

    /* u16 RGBA with a stride, f32 gray+alpha: the same picture. */
    size_t stride16 = (size_t)W * 4 * 2 + 6;
    uint8_t *b16 = calloc((size_t)H, stride16);
    float *f32 = calloc((size_t)W * H * 2, sizeof *f32);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint16_t v = (uint16_t)(g[y * W + x] * 257), px[4] = {v, v, v, 65535};
            memcpy(b16 + y * stride16 + (size_t)x * 8, px, 8);
            f32[(y * W + x) * 2] = g[y * W + x] / 255.0f;
            f32[(y * W + x) * 2 + 1] = 1.0f;
        }
    p.data = b16, p.channels = 4, p.type = DIGIT_SAMPLE_U16, p.stride = stride16;
    CHECK_OK(digit_image_preprocess(&p, out, NULL));
    CHECK(!memcmp(out, ref, 784), "u16 RGBA with stride differs");
    p.data = f32, p.channels = 2, p.type = DIGIT_SAMPLE_F32, p.stride = 0;
    CHECK_OK(digit_image_preprocess(&p, out, NULL));
    CHECK(!memcmp(out, ref, 784), "f32 gray+alpha differs");
    f32[0] = NAN, f32[2] = 7.0f, f32[4] = -3.0f;
    CHECK_OK(digit_image_preprocess(&p, out, NULL));

    /* Arguments. */
    digit_pixels q = p;
    expect(digit_image_preprocess(NULL, out, NULL), DIGIT_ERR_ARGUMENT, "digit_image_preprocess",
           "pixels is NULL", "NULL pixels");
    expect(digit_image_preprocess(&p, NULL, NULL), DIGIT_ERR_ARGUMENT, "digit_image_preprocess",
           "out is NULL", "NULL out");
    q.data = NULL;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "data is NULL",
           "NULL data");
    q = p, q.struct_size = 12;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "pixels: struct_size 12",
           "expected", "small pixels struct_size");
    q.struct_size = sizeof q + 8;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "pixels: struct_size",
           "not a size", "large pixels struct_size");
    q = p, q.channels = 5;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "channels 5",
           "5 channels");
    q = p, q.type = (digit_sample_type)9;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "type 9",
           "sample type");
    q = p, q.stride = 10;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "stride 10",
           "short stride");
    q = p, q.stride = SIZE_MAX / 2;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "stride",
           "huge stride");
    q = p, q.width = 0;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "0x30",
           "zero width");
    q = p, q.width = 9000;
    expect(digit_image_preprocess(&q, out, NULL), DIGIT_ERR_ARGUMENT, "<pixels>", "9000x30",
           "too wide");

    /* Reports: a wrong size is refused before anything is read, and never
     * written past. */
    struct {
        digit_image_report r;
        uint8_t guard[16];
    } big;
    memset(&big, 0xAB, sizeof big);
    big.r.struct_size = 12;
    expect(digit_image_preprocess(&p, out, &big.r), DIGIT_ERR_ARGUMENT,
           "report: struct_size 12 is not a size this library knows", "expected",
           "small report");
    big.r.struct_size = sizeof big.r + 16;
    expect(digit_image_load_memory(g, 10, out, &big.r), DIGIT_ERR_ARGUMENT, "report: struct_size",
           "expected", "large report");
    expect(digit_image_load("x.png", out, &big.r), DIGIT_ERR_ARGUMENT, "report: struct_size",
           "expected", "large report, by path");
    int untouched = big.r.format[0] == (char)0xAB && big.guard[0] == 0xAB;
    CHECK(untouched, "a refused report was written to");
    expect(digit_image_load_memory(NULL, 10, out, NULL), DIGIT_ERR_ARGUMENT,
           "digit_image_load_memory", "data is NULL", "NULL data");
    expect(digit_image_load_memory(g, 10, NULL, NULL), DIGIT_ERR_ARGUMENT,
           "digit_image_load_memory", "out is NULL", "NULL out");
    expect(digit_image_load(NULL, out, NULL), DIGIT_ERR_ARGUMENT, "digit_image_load",
           "path is NULL", "NULL path");
    free(b16);
    free(f32);
    free(g);
}

static void test_names(void) {
    CHECK(!strcmp(digit_image_warning_name(DIGIT_WARN_SEVERAL_MARKS), "several-marks") &&
              !strcmp(digit_image_warning_name(DIGIT_WARN_NOT_DIGIT_LIKE), "not-digit-like") &&
              !strcmp(digit_image_warning_name(DIGIT_WARN_REDUCED), "reduced") &&
              digit_image_warning_name(0) == NULL && digit_image_warning_name(0x8) == NULL &&
              digit_image_warning_name(0x3) == NULL,
          "warning names");
}

int main(void) {
    test_orientations();
    test_bad_exif();
    test_refusals();
    test_reduced();
    test_pixels();
    test_names();
    return test_summary("test_jpeg");
}
