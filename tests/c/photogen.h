/* SPDX-License-Identifier: MIT */
/*
 * photogen.h — photo-like test images made from MNIST test digits: what a
 * phone or a scanner makes of a digit written on paper. Deterministic: the
 * same (seed, digit index, variant) always gives the same file.
 *
 *   pg_options o = {seed, small};
 *   pg_photo p;
 *   pg_make(digit28, index, PG_RULED, &o, &p);  ... p.file, p.len ...
 *   pg_free(&p);
 *
 * Every photo has: a page of 640x480 up to 4000x3000 (small: up to
 * 1024x768), landscape or portrait; tinted paper; light falling off by
 * 10-40% from a random direction (with some vignetting); the digit 10-40%
 * of the page's shorter side, off centre, in pen; Gaussian blur of sigma
 * 0.5-1.5 px; sensor noise of sigma 3-8 (of 255); JPEG at quality 50-90.
 * The variants add ruled notebook lines (and sometimes a margin line),
 * faint pencil instead of pen, a thick marker, a hard shadow edge across
 * the page, an EXIF orientation (1..8, pixels stored turned so that the
 * orientation puts them upright), or a PNG export instead of JPEG.
 *
 * Static functions only, one header: test_photo.c is its one user. A
 * libjpeg/libpng failure aborts: the inputs are the generator's own.
 */
#ifndef DIGIT_TEST_PHOTOGEN_H
#define DIGIT_TEST_PHOTOGEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "pngtest.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef enum pg_variant {
    PG_PHOTO,
    PG_RULED,
    PG_PENCIL,
    PG_MARKER,
    PG_SHADOW,
    PG_EXIF,
    PG_PNG,
    PG_VARIANTS
} pg_variant;

static const char *const PG_NAMES[PG_VARIANTS] = {
    "photo", "ruled-lines", "faint-pencil", "thick-marker",
    "shadow-edge", "exif-orientation", "png-export"};

typedef struct pg_options {
    uint64_t seed;
    int small; /* pages of at most 1024x768 */
} pg_options;

typedef struct pg_photo {
    uint8_t *file; /* the encoded JPEG or PNG */
    size_t len;
    uint8_t *rgb; /* the stored pixels, w x h RGB */
    int w, h, orientation;
} pg_photo;

/* ---- random numbers: splitmix64 ------------------------------------------ */

typedef struct pg_rng {
    uint64_t s;
} pg_rng;

static uint64_t pg_next(pg_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double pg_uniform(pg_rng *r) { return (double)(pg_next(r) >> 11) * 0x1.0p-53; }

static double pg_between(pg_rng *r, double lo, double hi) {
    return lo + (hi - lo) * pg_uniform(r);
}

/* Roughly Gaussian (sum of four uniforms, unit variance): fast enough for
 * every sample of a 12-megapixel page. */
static float pg_noise(pg_rng *r) {
    uint64_t v = pg_next(r);
    unsigned s = (unsigned)(v & 0xFFFF) + (unsigned)(v >> 16 & 0xFFFF) +
                 (unsigned)(v >> 32 & 0xFFFF) + (unsigned)(v >> 48);
    return (float)(((double)s / 65536.0 - 2.0) * 1.7320508);
}

/* ---- the page ---------------------------------------------------------------- */

typedef struct pg_page {
    int w, h;
    float *c[3]; /* reflectance, then light, per channel */
} pg_page;

static void *pg_alloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "photogen: out of memory\n");
        abort();
    }
    return p;
}

static void pg_size(pg_rng *r, int small, int *w, int *h) {
    static const int SMALL[3][2] = {{640, 480}, {800, 600}, {1024, 768}};
    static const int FULL[5][2] = {{640, 480}, {1024, 768}, {1600, 1200},
                                   {2048, 1536}, {4000, 3000}};
    static const double FULL_P[5] = {0.35, 0.30, 0.20, 0.10, 0.05};
    int k = 0;
    if (small) {
        k = (int)(pg_next(r) % 3);
        *w = SMALL[k][0], *h = SMALL[k][1];
    } else {
        double u = pg_uniform(r), acc = 0;
        for (k = 0; k < 4; k++)
            if (u < (acc += FULL_P[k])) break;
        *w = FULL[k][0], *h = FULL[k][1];
    }
    if (pg_uniform(r) < 0.3) { /* portrait */
        int t = *w;
        *w = *h, *h = t;
    }
}

static void pg_paper(pg_rng *r, pg_page *pg) {
    static const float TINTS[6][3] = {{1, 1, 1},          {1, 0.96f, 0.86f},
                                      {0.93f, 0.97f, 1},  {0.95f, 0.95f, 0.95f},
                                      {1, 0.97f, 0.75f},  {1, 0.92f, 0.92f}};
    const float *t = TINTS[pg_next(r) % 6];
    float b = (float)pg_between(r, 0.72, 0.95);
    size_t n = (size_t)pg->w * pg->h;
    for (int c = 0; c < 3; c++) {
        float v = b * t[c] * (float)pg_between(r, 0.97, 1.0);
        pg->c[c] = pg_alloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++) pg->c[c][i] = v;
    }
}

/* Antialiased coverage of a line of width th at signed distance d. */
static float pg_line_cover(double d, double th) {
    double v = th / 2 + 0.5 - fabs(d);
    return (float)(v <= 0 ? 0 : v >= 1 ? 1 : v);
}

/* Pixels within `th` of a line get `col` mixed in by coverage * a. */
static void pg_blend(pg_page *pg, size_t i, const float col[3], float a) {
    for (int c = 0; c < 3; c++) pg->c[c][i] += a * (col[c] - pg->c[c][i]);
}

/* Ruled notebook lines, slightly tilted, and sometimes a margin line. */
static void pg_ruled(pg_rng *r, pg_page *pg) {
    const int w = pg->w, h = pg->h;
    double spacing = h * pg_between(r, 0.035, 0.06);
    double th = fmax(1.0, h * pg_between(r, 0.0015, 0.003));
    double tilt = tan(pg_between(r, -1.0, 1.0) * M_PI / 180);
    double first = pg_between(r, 0, spacing);
    float dark = (float)pg_between(r, 0.65, 0.85);
    float blue[3] = {0.75f, 0.85f, 0.97f};
    for (int c = 0; c < 3; c++) blue[c] *= dark * pg->c[c][0];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double yy = y - x * tilt - first;
            double k = floor(yy / spacing + 0.5);
            float a = pg_line_cover(yy - k * spacing, th);
            if (a > 0) pg_blend(pg, (size_t)y * w + x, blue, a);
        }
    if (pg_uniform(r) < 0.5) {
        double mx = w * pg_between(r, 0.08, 0.15);
        float red[3] = {0.95f * pg->c[0][0], 0.6f * pg->c[1][0], 0.6f * pg->c[2][0]};
        for (int y = 0; y < h; y++)
            for (int x = (int)(mx - th - 2); x <= (int)(mx + th + 2); x++) {
                if (x < 0 || x >= w) continue;
                float a = pg_line_cover(x - mx - y * tilt, th);
                if (a > 0) pg_blend(pg, (size_t)y * w + x, red, a);
            }
    }
}

/* Bilinear sample of the 28x28 digit (0..1) at (u, v) in its pixels. */
static float pg_digit_at(const uint8_t *d, double u, double v) {
    u -= 0.5, v -= 0.5;
    int x0 = (int)floor(u), y0 = (int)floor(v);
    double fx = u - x0, fy = v - y0, s = 0;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            int x = x0 + i, y = y0 + j;
            if (x < 0 || y < 0 || x >= 28 || y >= 28) continue;
            s += (i ? fx : 1 - fx) * (j ? fy : 1 - fy) * d[y * 28 + x];
        }
    return (float)(s / 255.0);
}

/* Running maximum of radius rad along rows then columns of an n x n map. */
static void pg_dilate(float *m, int n, int rad) {
    float *tmp = pg_alloc(sizeof(float) * n);
    for (int pass = 0; pass < 2; pass++)
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                float v = 0;
                for (int k = -rad; k <= rad; k++) {
                    int q = b + k;
                    if (q < 0 || q >= n) continue;
                    float s = pass ? m[(size_t)q * n + a] : m[(size_t)a * n + q];
                    v = s > v ? s : v;
                }
                tmp[b] = v;
            }
            for (int b = 0; b < n; b++)
                if (pass) m[(size_t)b * n + a] = tmp[b];
                else m[(size_t)a * n + b] = tmp[b];
        }
    free(tmp);
}

/* Where a digit goes: its centre (fractions of the page) and its size
 * (fraction of the shorter side). */
typedef struct pg_place {
    double cx, cy, size;
} pg_place;

/* The digit in pen, pencil or marker, 10-40% of the shorter side, off
 * centre, or where `at` says. */
static void pg_ink(pg_rng *r, pg_page *pg, const uint8_t *digit, pg_variant v,
                   const pg_place *at) {
    const int w = pg->w, h = pg->h, shorter = w < h ? w : h;
    double size = pg_between(r, 0.10, 0.40), fx = pg_between(r, 0.2, 0.8),
           fy = pg_between(r, 0.2, 0.8);
    if (at) size = at->size, fx = at->cx, fy = at->cy;
    double k = shorter * size / 20.0; /* page px per MNIST px */
    int n = (int)ceil(28 * k);
    double cx = fx * w, cy = fy * h;
    int ox = (int)(cx - n / 2.0), oy = (int)(cy - n / 2.0);
    ox = ox < 0 ? 0 : ox + n > w ? w - n : ox;
    oy = oy < 0 ? 0 : oy + n > h ? h - n : oy;
    float *cov = pg_alloc(sizeof(float) * n * n);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) cov[y * n + x] = pg_digit_at(digit, x / k, y / k);
    static const float INKS[3][3] = {{0.08f, 0.08f, 0.10f}, {0.10f, 0.15f, 0.45f},
                                     {0.20f, 0.20f, 0.22f}};
    float ink[3], opacity = (float)pg_between(r, 0.85, 1.0);
    const float *base = INKS[pg_next(r) % 3];
    if (v == PG_MARKER) {
        pg_dilate(cov, n, (int)lround(pg_between(r, 0.6, 1.0) * k));
        opacity = 1.0f;
    }
    float faint = (float)pg_between(r, 0.15, 0.30); /* pencil: contrast */
    for (int c = 0; c < 3; c++) ink[c] = base[c];
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float a = cov[y * n + x];
            if (a <= 0) continue;
            size_t i = (size_t)(oy + y) * w + ox + x;
            if (v == PG_PENCIL) {
                float grain = 0.6f + 0.4f * (float)pg_uniform(r);
                float under[3] = {pg->c[0][i], pg->c[1][i], pg->c[2][i]};
                for (int c = 0; c < 3; c++) under[c] *= 1.0f - faint;
                pg_blend(pg, i, under, a * grain);
            } else {
                pg_blend(pg, i, ink, a * opacity);
            }
        }
    free(cov);
}

/* Light: falloff of 10-40% from a random direction, part linear, part
 * radial; a hard shadow edge for PG_SHADOW. Multiplies the reflectance. */
static void pg_light(pg_rng *r, pg_page *pg, pg_variant v) {
    const int w = pg->w, h = pg->h;
    double f = pg_between(r, 0.10, 0.40), th = pg_between(r, 0, 2 * M_PI);
    double dx = cos(th), dy = sin(th), mix = pg_uniform(r);
    double px = pg_uniform(r) * w, py = pg_uniform(r) * h;
    double lo = fmin(0, dx * w) + fmin(0, dy * h), hi = fmax(0, dx * w) + fmax(0, dy * h);
    double far = hypot(fmax(px, w - px), fmax(py, h - py));
    double sa = pg_between(r, 0, M_PI), sdark = pg_between(r, 0.45, 0.7);
    double sx = pg_between(r, 0.2, 0.8) * w, sy = pg_between(r, 0.2, 0.8) * h;
    double pen = pg_between(r, 1.0, fmax(1.5, 0.01 * (w < h ? w : h)));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double lin = (dx * x + dy * y - lo) / (hi - lo);
            double rad = hypot(x - px, y - py) / far;
            double l = 1 - f * (mix * lin + (1 - mix) * rad * rad);
            if (v == PG_SHADOW) {
                double d = (x - sx) * -sin(sa) + (y - sy) * cos(sa);
                double t = d / pen + 0.5;
                t = t <= 0 ? 0 : t >= 1 ? 1 : t * t * (3 - 2 * t);
                l *= 1 - (1 - sdark) * t;
            }
            size_t i = (size_t)y * w + x;
            for (int c = 0; c < 3; c++) pg->c[c][i] *= (float)(l * 255.0);
        }
}

/* Separable Gaussian blur of one channel. */
static void pg_blur(float *p, int w, int h, double sigma) {
    int rad = (int)ceil(3 * sigma);
    float k[16];
    double s = 0;
    for (int i = -rad; i <= rad; i++) s += k[i + rad] = (float)exp(-i * i / (2 * sigma * sigma));
    for (int i = 0; i <= 2 * rad; i++) k[i] /= (float)s;
    int longer = w > h ? w : h;
    float *line = pg_alloc(sizeof(float) * (longer + 2 * rad));
    for (int pass = 0; pass < 2; pass++) {
        int lines = pass ? w : h, len = pass ? h : w;
        size_t step = pass ? (size_t)w : 1, next = pass ? 1 : (size_t)w;
        for (int a = 0; a < lines; a++) {
            float *q = p + a * next;
            for (int i = -rad; i < len + rad; i++) {
                int j = i < 0 ? 0 : i >= len ? len - 1 : i;
                line[i + rad] = q[j * step];
            }
            for (int i = 0; i < len; i++) {
                float v = 0;
                for (int t = 0; t <= 2 * rad; t++) v += k[t] * line[i + t];
                q[i * step] = v;
            }
        }
    }
    free(line);
}

/* ---- orientation and encoding ------------------------------------------------ */

/* Where display pixel (x, y) lies in the stored sw x sh image under EXIF
 * orientation o (the test's own copy of the rule, written from the EXIF
 * specification's table). */
static void pg_stored_at(int o, int sw, int sh, int x, int y, int *sx, int *sy) {
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

/* An APP1 payload holding only IFD0 with Orientation = o. */
static size_t pg_exif(int o, int big_endian, uint8_t out[64]) {
    uint8_t t[26] = {0};
    memcpy(out, "Exif\0\0", 6);
    if (big_endian) {
        uint8_t b[26] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                         0, 0, 0, 1, 0, (uint8_t)o, 0, 0, 0, 0, 0, 0};
        memcpy(t, b, sizeof b);
    } else {
        uint8_t l[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0,
                         1, 0, 0, 0, (uint8_t)o, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, l, sizeof l);
    }
    memcpy(out + 6, t, sizeof t);
    return 6 + sizeof t;
}

static uint8_t *pg_jpeg(const uint8_t *rgb, int w, int h, int quality,
                        const uint8_t *app1, size_t app1_len, size_t *len) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    if (app1) jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, (unsigned)app1_len);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)ci.next_scanline * w * 3);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *len = size;
    return buf;
}

static uint8_t *pg_png(const uint8_t *rgb, int w, int h, size_t *len) {
    uint16_t *s = pg_alloc(sizeof(uint16_t) * (size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) s[i] = rgb[i];
    spec sp = {w, h, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE, s, NULL, 0, NULL, 0};
    uint8_t *png = pngtest_encode(&sp, len);
    free(s);
    return png;
}

/* ---- the whole photo ------------------------------------------------------------ */

static void pg_make(const uint8_t *digit, int index, pg_variant v,
                    const pg_options *o, pg_photo *out) {
    pg_rng r = {o->seed * 0x100000001B3ull + (uint64_t)index * 1000003u +
                (uint64_t)v * 7919u};
    pg_next(&r);
    pg_page pg;
    pg_size(&r, o->small, &pg.w, &pg.h);
    pg_paper(&r, &pg);
    if (v == PG_RULED) pg_ruled(&r, &pg);
    pg_ink(&r, &pg, digit, v, NULL);
    pg_light(&r, &pg, v);
    double blur = pg_between(&r, 0.5, 1.5), noise = pg_between(&r, 3, 8);
    int quality = (int)pg_between(&r, 50, 90.99);
    const int w = pg.w, h = pg.h;
    for (int c = 0; c < 3; c++) pg_blur(pg.c[c], w, h, blur);
    int orient = v == PG_EXIF ? 1 + index % 8 : 1;
    int sw = orient >= 5 ? h : w, sh = orient >= 5 ? w : h;
    uint8_t *rgb = pg_alloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int sx, sy;
            pg_stored_at(orient, sw, sh, x, y, &sx, &sy);
            size_t i = (size_t)y * w + x, s = ((size_t)sy * sw + sx) * 3;
            for (int c = 0; c < 3; c++) {
                float val = pg.c[c][i] + (float)noise * pg_noise(&r);
                rgb[s + c] = (uint8_t)(val <= 0 ? 0 : val >= 255 ? 255 : (int)(val + 0.5f));
            }
        }
    for (int c = 0; c < 3; c++) free(pg.c[c]);
    uint8_t app1[64];
    size_t app1_len = v == PG_EXIF ? pg_exif(orient, index % 2, app1) : 0;
    out->file = v == PG_PNG ? pg_png(rgb, sw, sh, &out->len)
                            : pg_jpeg(rgb, sw, sh, quality, app1_len ? app1 : NULL,
                                      app1_len, &out->len);
    out->rgb = rgb;
    out->w = sw;
    out->h = sh;
    out->orientation = orient;
}

/* A page for the "not a digit" checks: n digits (0..2) side by side, a
 * long dark line across it, and/or specks, then light, blur, noise, JPEG. */
static void pg_make_marks(const uint8_t *d0, const uint8_t *d1, int n, int line,
                          int specks, uint64_t seed, pg_photo *out) {
    pg_rng r = {seed};
    pg_next(&r);
    pg_page pg;
    pg.w = 800, pg.h = 600;
    pg_paper(&r, &pg);
    const pg_place two[2] = {{0.38, 0.5, 0.3}, {0.62, 0.5, 0.3}}, one = {0.5, 0.5, 0.3};
    for (int i = 0; i < n; i++) pg_ink(&r, &pg, i ? d1 : d0, PG_PHOTO, n == 1 ? &one : &two[i]);
    const float dark[3] = {0.1f, 0.1f, 0.12f};
    if (line)
        for (int y = 296; y < 302; y++)
            for (int x = 40; x < pg.w - 40; x++) pg_blend(&pg, (size_t)y * pg.w + x, dark, 1);
    for (int k = 0; k < specks; k++) {
        int x0 = 20 + (int)(pg_next(&r) % (uint64_t)(pg.w - 40));
        int y0 = 20 + (int)(pg_next(&r) % (uint64_t)(pg.h - 40));
        for (int y = y0; y < y0 + 3; y++)
            for (int x = x0; x < x0 + 3; x++) pg_blend(&pg, (size_t)y * pg.w + x, dark, 1);
    }
    pg_light(&r, &pg, PG_PHOTO);
    for (int c = 0; c < 3; c++) pg_blur(pg.c[c], pg.w, pg.h, 0.8);
    uint8_t *rgb = pg_alloc((size_t)pg.w * pg.h * 3);
    for (size_t i = 0; i < (size_t)pg.w * pg.h; i++)
        for (int c = 0; c < 3; c++) {
            float v = pg.c[c][i] + 4.0f * pg_noise(&r);
            rgb[i * 3 + c] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f));
        }
    for (int c = 0; c < 3; c++) free(pg.c[c]);
    out->file = pg_jpeg(rgb, pg.w, pg.h, 85, NULL, 0, &out->len);
    out->rgb = rgb;
    out->w = pg.w;
    out->h = pg.h;
    out->orientation = 1;
}

static void pg_free(pg_photo *p) {
    free(p->file);
    free(p->rgb);
    p->file = p->rgb = NULL;
}

#endif
