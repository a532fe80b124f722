/* SPDX-License-Identifier: MIT */
/*
 * test_image.c — standalone tests of csrc/image.c: PNG decoding of every
 * colour type / depth / interlacing, the ink and alpha rules, MNIST-style
 * preprocessing, refusals of bad input, a mutation loop, saving, threads.
 *
 * Build and run (from the repository root):
 *   gcc -std=c11 -O1 -g -fsanitize=address,undefined -Wall -Wextra -Iinclude \
 *       tests/c/test_image.c csrc/image.c csrc/error.c csrc/fileio.c \
 *       -lpng16 -lz -lm -o /tmp/test_image && /tmp/test_image
 *
 * Real MNIST digits are used when /tmp/mnist-test/t10k-images-idx3-ubyte
 * (or train-images-idx3-ubyte) exists: a raw IDX file, 16-byte header then
 * 28x28 uint8 images. The last line printed is "test_image: N passed, N failed".
 */
#define _GNU_SOURCE 1
#include "check.h"
#include "digit.h"
#include "pngtest.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- deterministic random numbers ---------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int rnd_range(int lo, int hi) { /* [lo, hi] */
    return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

/* PNG encoding (every format, in memory): pngtest.h */

/* ---- helpers on 28x28 outputs --------------------------------------------- */

static double mad(const uint8_t *a, const uint8_t *b) {
    double s = 0;
    for (int i = 0; i < 784; i++) s += abs(a[i] - b[i]);
    return s / 784;
}

/* The mean abs difference after the best whole-pixel shift of up to 1 px:
 * centring rounds the centre of mass to a pixel, and a centre sitting on a
 * .5 boundary may legitimately go either way. */
static double mad_aligned(const uint8_t *a, const uint8_t *b) {
    double best = 1e9;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            double s = 0;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    int sx = x + dx, sy = y + dy;
                    int vb = sx < 0 || sy < 0 || sx > 27 || sy > 27 ? 0 : b[sy * 28 + sx];
                    s += abs(a[y * 28 + x] - vb);
                }
            if (s / 784 < best) best = s / 784;
        }
    return best;
}

typedef struct stats {
    int max, box_w, box_h;
    double cx, cy, mass, width;
} stats;

/* Properties an MNIST digit has: max 255, centre of mass ~(14,14), box of
 * clear ink ~20 on its longer side, some mass, strokes 1-4 px wide. */
static stats measure(const uint8_t *img) {
    stats s = {0, 0, 0, 0, 0, 0, 0};
    double m = 0, mx = 0, my = 0;
    int x0 = 28, y0 = 28, x1 = -1, y1 = -1, area = 0, edges = 0;
    for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++) {
            int v = img[y * 28 + x];
            if (v > s.max) s.max = v;
            m += v;
            mx += v * x;
            my += v * y;
            if (v >= 32) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
            if (v >= 128) {
                area++;
                edges += x == 0 || img[y * 28 + x - 1] < 128;
                edges += x == 27 || img[y * 28 + x + 1] < 128;
                edges += y == 0 || img[(y - 1) * 28 + x] < 128;
                edges += y == 27 || img[(y + 1) * 28 + x] < 128;
            }
        }
    s.mass = m / 255;
    s.cx = m > 0 ? mx / m : 0;
    s.cy = m > 0 ? my / m : 0;
    s.box_w = x1 - x0 + 1;
    s.box_h = y1 - y0 + 1;
    s.width = edges ? 2.0 * area / edges : 0;
    return s;
}

static int mnist_like(const uint8_t *img, char *why, size_t cap) {
    stats s = measure(img);
    int longer = s.box_w > s.box_h ? s.box_w : s.box_h;
    snprintf(why, cap, "max %d com (%.2f,%.2f) box %dx%d mass %.1f width %.2f",
             s.max, s.cx, s.cy, s.box_w, s.box_h, s.mass, s.width);
    return s.max == 255 && fabs(s.cx - 14) <= 1.0 && fabs(s.cy - 14) <= 1.0 &&
           longer >= 18 && longer <= 21 && s.mass >= 25 && s.mass <= 260 &&
           s.width >= 1.0 && s.width <= 4.5;
}

static void show(const char *title, const uint8_t *img) {
    printf("%s\n", title);
    for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
            int v = img[y * 28 + x];
            putchar(v == 0 ? '.' : v < 64 ? ':' : v < 160 ? 'o' : '#');
        }
        putchar('\n');
    }
}

/* ---- synthetic digits ------------------------------------------------------ */

/* Polylines in a unit box (x right, y down); NAN separates strokes. */
typedef struct shape {
    const char *name;
    int n;
    float pts[40][2];
} shape;

static shape shapes[6] = {
    {"one", 3, {{0.30f, 0.22f}, {0.55f, 0.03f}, {0.55f, 0.97f}}},
    {"two", 8, {{0.18f, 0.25f}, {0.30f, 0.08f}, {0.50f, 0.03f}, {0.72f, 0.09f},
                {0.80f, 0.27f}, {0.70f, 0.47f}, {0.18f, 0.95f}, {0.86f, 0.95f}}},
    {"three", 7, {{0.18f, 0.08f}, {0.78f, 0.08f}, {0.45f, 0.45f}, {0.72f, 0.55f},
                  {0.80f, 0.76f}, {0.60f, 0.94f}, {0.16f, 0.90f}}},
    {"four", 4, {{0.66f, 0.97f}, {0.66f, 0.03f}, {0.12f, 0.66f}, {0.88f, 0.66f}}},
    {"seven", 3, {{0.14f, 0.06f}, {0.86f, 0.06f}, {0.40f, 0.96f}}},
    {"zero", 0, {{0}}}, /* an ellipse, filled in by init_shapes */
};

static void init_shapes(void) {
    shape *z = &shapes[5];
    z->n = 33;
    for (int i = 0; i <= 32; i++) {
        double t = 2 * M_PI * i / 32;
        z->pts[i][0] = (float)(0.5 + 0.32 * cos(t));
        z->pts[i][1] = (float)(0.5 + 0.46 * sin(t));
    }
}

static double seg_dist(double px, double py, double ax, double ay, double bx,
                       double by) {
    double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
    double t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

/* Coverage (0..1) of a W x H canvas by the shape drawn in the box
 * (bx,by,bw,bh) with a pen of radius r, antialiased. */
static float *render(const shape *s, int W, int H, double bx, double by,
                     double bw, double bh, double r) {
    float *cov = calloc((size_t)W * H, sizeof *cov);
    int x0 = (int)floor(bx - r - 2), x1 = (int)ceil(bx + bw + r + 2);
    int y0 = (int)floor(by - r - 2), y1 = (int)ceil(by + bh + r + 2);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > W) x1 = W;
    if (y1 > H) y1 = H;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double best = 1e9;
            for (int i = 0; i + 1 < s->n; i++) {
                double d = seg_dist(x + 0.5, y + 0.5, bx + s->pts[i][0] * bw,
                                    by + s->pts[i][1] * bh,
                                    bx + s->pts[i + 1][0] * bw,
                                    by + s->pts[i + 1][1] * bh);
                if (d < best) best = d;
            }
            double c = r + 0.5 - best;
            cov[(size_t)y * W + x] = (float)(c < 0 ? 0 : c > 1 ? 1 : c);
        }
    return cov;
}

/* ---- variants: one coverage map written as every kind of PNG -------------- */

enum variant {
    V_GRAY8,         /* black ink on white paper */
    V_INVERTED,      /* white ink on black */
    V_GRAY16,
    V_GRAY4,
    V_GRAY2,
    V_GRAY1,
    V_PALETTE,       /* shuffled gray palette */
    V_PALETTE_TRNS,  /* black palette, ink in tRNS alpha */
    V_RGB_COLOUR,    /* dark blue ink on yellow paper */
    V_RGB_ISOLUMA,   /* red ink on gray paper of the same luminance */
    V_RGBA_ALPHA_BLACK, /* RGB black everywhere, ink only in alpha */
    V_RGBA_ALPHA_WHITE, /* RGB white everywhere, ink only in alpha */
    V_RGBA_CANVAS,   /* transparent white canvas, black strokes */
    V_RGBA_MARGIN,   /* opaque paper and ink, transparent margins */
    V_GA_ALPHA,      /* gray+alpha: gray 0, ink in alpha */
    V_GA_OPAQUE,     /* gray+alpha: alpha 255, ink in gray */
    V_RGBA16,        /* 16-bit RGBA, opaque, black on white */
    V_INTERLACED,    /* Adam7 gray */
    V_INTERLACED_RGBA,
    V_COUNT
};

static const char *variant_names[V_COUNT] = {
    "gray8", "inverted", "gray16", "gray4", "gray2", "gray1", "palette",
    "palette+tRNS", "rgb colour", "rgb iso-luminant", "rgba alpha/black",
    "rgba alpha/white", "rgba canvas", "rgba margin", "gray+alpha ink",
    "gray+alpha opaque", "rgba16", "interlaced gray", "interlaced rgba"};

/* Mean-abs-difference allowed against the plain gray version: quantised
 * depths lose antialiasing, the rest should be (almost) identical. */
static const double variant_tolerance[V_COUNT] = {
    0.5, 1, 1, 3, 8, 20, 1, 1, 2, 3, 1, 1, 2, 2, 1, 1, 1, 0.5, 1};

static uint8_t *make_variant(const float *cov, int w, int h, enum variant v,
                             size_t *len) {
    static const int ch_of[V_COUNT] = {1, 1, 1, 1, 1, 1, 1, 1, 3, 3,
                                       4, 4, 4, 4, 2, 2, 4, 1, 4};
    int ch = ch_of[v], depth = 8, type = PNG_COLOR_TYPE_GRAY;
    size_t n = (size_t)w * h;
    uint16_t *smp = malloc(n * ch * sizeof *smp);
    png_color pal[256];
    uint8_t trans[256];
    int perm[256], inv[256];
    for (int i = 0; i < 256; i++) perm[i] = i;
    for (int i = 255; i > 0; i--) {
        int j = rnd_range(0, i), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < 256; i++) inv[perm[i]] = i;
    /* V_RGBA_MARGIN: the picture inside a transparent margin */
    int mx = v == V_RGBA_MARGIN ? w / 8 + 2 : 0, my = v == V_RGBA_MARGIN ? h / 8 + 2 : 0;
    int W = w + 2 * mx, H = h + 2 * my;
    n = (size_t)W * H;
    smp = realloc(smp, n * ch * sizeof *smp);
    for (size_t i = 0; i < n; i++) {
        int x = (int)(i % W) - mx, y = (int)(i / W) - my;
        int inside = x >= 0 && y >= 0 && x < w && y < h;
        double c = inside ? cov[(size_t)y * w + x] : 0;
        int g = (int)lround(255 * (1 - c)), a = (int)lround(255 * c);
        uint16_t *p = smp + i * ch;
        switch (v) {
        case V_GRAY8: case V_INTERLACED: p[0] = (uint16_t)g; break;
        case V_INVERTED: p[0] = (uint16_t)a; break;
        case V_GRAY16: p[0] = (uint16_t)lround(65535 * (1 - c)); break;
        case V_GRAY4: p[0] = (uint16_t)lround(15 * (1 - c)); break;
        case V_GRAY2: p[0] = (uint16_t)lround(3 * (1 - c)); break;
        case V_GRAY1: p[0] = c < 0.5; break;
        case V_PALETTE: p[0] = (uint16_t)inv[g]; break;
        case V_PALETTE_TRNS: p[0] = (uint16_t)a; break;
        case V_RGB_COLOUR: {
            static const int ink[3] = {30, 40, 160}, paper[3] = {250, 230, 120};
            for (int k = 0; k < 3; k++)
                p[k] = (uint16_t)lround(paper[k] + c * (ink[k] - paper[k]));
            break;
        }
        case V_RGB_ISOLUMA: {
            static const int ink[3] = {200, 40, 40}, paper[3] = {88, 88, 88};
            for (int k = 0; k < 3; k++)
                p[k] = (uint16_t)lround(paper[k] + c * (ink[k] - paper[k]));
            break;
        }
        case V_RGBA_ALPHA_BLACK: p[0] = p[1] = p[2] = 0; p[3] = (uint16_t)a; break;
        case V_RGBA_ALPHA_WHITE: p[0] = p[1] = p[2] = 255; p[3] = (uint16_t)a; break;
        case V_RGBA_CANVAS:
            p[0] = p[1] = p[2] = a > 0 ? 0 : 255;
            p[3] = (uint16_t)a;
            break;
        case V_RGBA_MARGIN:
            p[0] = p[1] = p[2] = inside ? (uint16_t)g : 0;
            p[3] = inside ? 255 : 0;
            break;
        case V_GA_ALPHA: p[0] = 0; p[1] = (uint16_t)a; break;
        case V_GA_OPAQUE: p[0] = (uint16_t)g; p[1] = 255; break;
        case V_RGBA16:
            p[0] = p[1] = p[2] = (uint16_t)lround(65535 * (1 - c));
            p[3] = 65535;
            break;
        case V_INTERLACED_RGBA: p[0] = p[1] = p[2] = (uint16_t)g; p[3] = 255; break;
        default: break;
        }
    }
    spec s = {W, H, 0, 8, PNG_INTERLACE_NONE, smp, NULL, 0, NULL, 0};
    switch (v) {
    case V_GRAY16: depth = 16; break;
    case V_GRAY4: depth = 4; break;
    case V_GRAY2: depth = 2; break;
    case V_GRAY1: depth = 1; break;
    case V_RGBA16: depth = 16; type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    case V_PALETTE:
        type = PNG_COLOR_TYPE_PALETTE;
        for (int i = 0; i < 256; i++)
            pal[i].red = pal[i].green = pal[i].blue = (png_byte)perm[i];
        s.palette = pal;
        s.palette_count = 256;
        break;
    case V_PALETTE_TRNS:
        type = PNG_COLOR_TYPE_PALETTE;
        for (int i = 0; i < 256; i++) {
            pal[i].red = pal[i].green = pal[i].blue = 0;
            trans[i] = (uint8_t)i;
        }
        s.palette = pal;
        s.palette_count = 256;
        s.trans = trans;
        s.trans_count = 256;
        break;
    case V_RGB_COLOUR: case V_RGB_ISOLUMA: type = PNG_COLOR_TYPE_RGB; break;
    case V_GA_ALPHA: case V_GA_OPAQUE: type = PNG_COLOR_TYPE_GRAY_ALPHA; break;
    case V_RGBA_ALPHA_BLACK: case V_RGBA_ALPHA_WHITE: case V_RGBA_CANVAS:
    case V_RGBA_MARGIN: type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    case V_INTERLACED: s.interlace = PNG_INTERLACE_ADAM7; break;
    case V_INTERLACED_RGBA:
        s.interlace = PNG_INTERLACE_ADAM7;
        type = PNG_COLOR_TYPE_RGB_ALPHA;
        break;
    default: break;
    }
    s.color_type = type;
    s.depth = depth;
    uint8_t *png = pngtest_encode(&s, len);
    free(smp);
    return png;
}

static digit_status load_mem(const uint8_t *png, size_t len, uint8_t *out) {
    return digit_image_load_memory(png, len, out, NULL);
}

/* Every variant of `cov` against `reference` (the expected output). */
static void check_variants(const char *label, const float *cov, int w, int h,
                           const uint8_t *reference, double tol_scale,
                           double *worst) {
    for (int v = 0; v < V_COUNT; v++) {
        size_t len;
        uint8_t *png = make_variant(cov, w, h, (enum variant)v, &len), out[784];
        digit_status st = load_mem(png, len, out);
        double d = st == DIGIT_OK ? mad_aligned(out, reference) : 1e9;
        if (worst && d > worst[v]) worst[v] = d;
        CHECK(st == DIGIT_OK && d <= variant_tolerance[v] * tol_scale,
              "%s / %s: status %d, mean abs diff %.3f (allowed %.2f)", label,
              variant_names[v], st, d, variant_tolerance[v] * tol_scale);
        free(png);
    }
}

/* ---- synthetic tests -------------------------------------------------------- */

static void test_synthetic_variants(void) {
    for (int k = 0; k < 6; k++) {
        int W = 120, H = 140;
        float *cov = render(&shapes[k], W, H, 20, 15, 70, 110, 5);
        size_t len;
        uint8_t *png = make_variant(cov, W, H, V_GRAY8, &len), ref[784];
        digit_status st = load_mem(png, len, ref);
        char why[160];
        CHECK(st == DIGIT_OK && mnist_like(ref, why, sizeof why),
              "synthetic %s: status %d, %s", shapes[k].name, st,
              st == DIGIT_OK ? why : "");
        check_variants(shapes[k].name, cov, W, H, ref, 1.0, NULL);
        free(png);
        free(cov);
    }
}

/* Drawings of every shape, black on white, from thin to thick pens and from
 * small to large canvases: all must come out MNIST-like, and the same
 * drawing at different resolutions must come out alike. */
static void test_drawings(void) {
    static const struct {
        int size;
        double box, pen;
    } cases[] = {{200, 150, 1.0}, {200, 150, 1.5}, {200, 150, 4},
                 {200, 150, 10},  {200, 150, 18},  {56, 40, 1.5},
                 {28, 20, 1.0},   {800, 600, 2},   {800, 600, 30},
                 {40, 16, 0.7}};
    for (int k = 0; k < 6; k++) {
        uint8_t outs[10][784];
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            int S = cases[c].size;
            double b = cases[c].box, o = (S - b) / 2;
            float *cov = render(&shapes[k], S, S, o + b * 0.1, o, b * 0.8, b,
                                cases[c].pen);
            size_t len;
            uint8_t *png = make_variant(cov, S, S, V_GRAY8, &len);
            digit_status st = load_mem(png, len, outs[c]);
            char why[160] = "";
            int ok = st == DIGIT_OK && mnist_like(outs[c], why, sizeof why);
            CHECK(ok, "drawing %s %dpx pen %.1f: status %d %s", shapes[k].name,
                  S, cases[c].pen, st, why);
            if (!ok && getenv("SHOW")) show("output:", outs[c]);
            free(png);
            free(cov);
        }
        /* Medium pens at three resolutions should agree. */
        double d1 = mad(outs[2], outs[7]), d2 = mad(outs[2], outs[5]);
        CHECK(d1 < 25 && d2 < 25, "drawing %s resolution consistency: %.2f %.2f",
              shapes[k].name, d1, d2);
    }
}

/* Thick pens: a 32 px pen on a 150 px drawing would come out ~3.5 px wide
 * in the 20 px box, wider than 95% of MNIST; the strokes are thinned
 * towards MNIST's median of 2. */
static void test_thick_pen(void) {
    for (int k = 0; k < 6; k++) {
        uint8_t out[2][784];
        double pens[2] = {16, 5};
        for (int p = 0; p < 2; p++) {
            float *cov = render(&shapes[k], 200, 200, 40, 25, 120, 150, pens[p]);
            size_t len;
            uint8_t *png = make_variant(cov, 200, 200, V_GRAY8, &len);
            digit_status st = load_mem(png, len, out[p]);
            char why[160] = "";
            CHECK(st == DIGIT_OK && mnist_like(out[p], why, sizeof why),
                  "%s with a %.0f px pen: status %d %s", shapes[k].name, 2 * pens[p],
                  st, why);
            free(png);
            free(cov);
        }
        double thick = measure(out[0]).width, medium = measure(out[1]).width;
        CHECK(thick <= 3.0 && thick >= 1.5,
              "%s: stroke width %.2f with a %.0f px pen (%.2f with %.0f px)",
              shapes[k].name, thick, 2 * pens[0], medium, 2 * pens[1]);
        if (getenv("SHOW")) printf("%s: widths %.2f %.2f\n", shapes[k].name, thick, medium);
    }
}

/* A small digit somewhere in a large canvas equals the same digit alone. */
static void test_small_in_big(void) {
    for (int t = 0; t < 6; t++) {
        int W = rnd_range(300, 900), H = rnd_range(300, 700);
        double bw = rnd_range(30, 60), bh = bw * 1.3;
        double bx = rnd_range(5, W - 70), by = rnd_range(5, H - 90);
        float *big = render(&shapes[t], W, H, bx, by, bw, bh, 3);
        /* the same drawing at the same scale, alone in a tight canvas */
        int sw = (int)bw + 20, sh = (int)bh + 20;
        float *small = render(&shapes[t], sw, sh, 10 + (bx - floor(bx)),
                              10 + (by - floor(by)), bw, bh, 3);
        size_t l1, l2;
        uint8_t *p1 = make_variant(big, W, H, V_GRAY8, &l1);
        uint8_t *p2 = make_variant(small, sw, sh, V_GRAY8, &l2);
        uint8_t o1[784], o2[784];
        digit_status s1 = load_mem(p1, l1, o1), s2 = load_mem(p2, l2, o2);
        CHECK(s1 == DIGIT_OK && s2 == DIGIT_OK && mad(o1, o2) < 0.01,
              "small %s in %dx%d canvas: %d %d diff %.3f", shapes[t].name, W, H,
              s1, s2, s1 == 0 && s2 == 0 ? mad(o1, o2) : -1.0);
        free(big);
        free(small);
        free(p1);
        free(p2);
    }
}

/* Dirty inputs: a noisy background, a frame around the page, a speck of
 * dust far away, a scanner strip along one edge, two specks close together
 * (neither is cut off from the other by a clear gap, but both are from the
 * digit). */
static void test_dirty(void) {
    int S = 200;
    float *cov = render(&shapes[3], S, S, 50, 30, 90, 140, 5);
    uint8_t *g = malloc((size_t)S * S), ref[784], out[784];
    for (int i = 0; i < S * S; i++) g[i] = (uint8_t)lround(255 * (1 - cov[i]));
    CHECK(preprocess_gray(g, S, S, ref) == DIGIT_OK, "clean drawing");
    static const char *what[] = {"noise", "frame", "speck", "strip", "gray paper",
                                 "specks", "ruled line", "speck pair"};
    static const int specks[][2] = {{10, 10}, {185, 15}, {12, 190}, {190, 185},
                                    {100, 5}, {8, 100}};
    for (int k = 0; k < 8; k++) {
        uint8_t *d = malloc((size_t)S * S);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int v = (int)lround(255 * (1 - cov[y * S + x]));
                if (k == 0) v += rnd_range(-12, 12);
                if (k == 1 && (x < 3 || y < 3 || x >= S - 3 || y >= S - 3)) v = 0;
                if (k == 2 && x >= 180 && x < 183 && y >= 180 && y < 183) v = 0;
                if (k == 3 && x >= S - 4) v = 20;
                if (k == 4) v = 60 + v * 130 / 255; /* mid-gray paper, dark ink */
                for (int sp = 0; k == 5 && sp < 6; sp++)
                    if (abs(x - specks[sp][0]) <= 1 && abs(y - specks[sp][1]) <= 1) v = 0;
                if (k == 6 && (y == 12 || y == 13)) v = 90;
                if (k == 7 && ((y >= 186 && y < 188 && x >= 100 && x < 102) ||
                               (y >= 189 && y < 191 && x >= 104 && x < 106)))
                    v = 0;
                d[y * S + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        digit_status st = preprocess_gray(d, S, S, out);
        double diff = st == DIGIT_OK ? mad(out, ref) : -1;
        CHECK(st == DIGIT_OK && diff < (k == 0 ? 6 : 2),
              "dirty drawing (%s): status %d diff %.2f", what[k], st, diff);
        if (st == DIGIT_OK && diff >= 2 && getenv("SHOW")) show(what[k], out);
        free(d);
    }
    free(g);
    free(cov);
}

/* ---- real MNIST digits ----------------------------------------------------- */

static uint8_t *mnist;
static int mnist_count;

static void load_mnist(void) {
    static const char *paths[] = {"/tmp/mnist-test/t10k-images-idx3-ubyte",
                                  "/tmp/mnist-test/train-images-idx3-ubyte"};
    for (int p = 0; p < 2 && !mnist; p++) {
        FILE *f = fopen(paths[p], "rb");
        if (!f) continue;
        uint8_t head[16];
        int want = 500;
        mnist = malloc((size_t)want * 784);
        if (fread(head, 1, 16, f) == 16 && head[2] == 8 && head[3] == 3) {
            mnist_count = (int)fread(mnist, 784, (size_t)want, f);
            printf("using %d MNIST digits from %s\n", mnist_count, paths[p]);
        }
        fclose(f);
    }
    if (!mnist_count) printf("no MNIST file in /tmp/mnist-test: skipping real digits\n");
}

static void test_mnist_roundtrip(void) {
    if (!mnist_count) return;
    int exact = 0, close = 0;
    double total = 0, worst = 0;
    for (int i = 0; i < mnist_count; i++) {
        const uint8_t *d = mnist + (size_t)i * 784;
        size_t len;
        uint8_t *png = encode_gray(d, 28, 28, &len), out[784], pre[784];
        digit_status st = load_mem(png, len, out);
        digit_status st2 = preprocess_gray(d, 28, 28, pre);
        double m = st == DIGIT_OK ? mad(out, d) : 1e9;
        exact += m == 0;
        close += m <= 2.0;
        total += m;
        if (m > worst) worst = m;
        if (st != DIGIT_OK || st2 != DIGIT_OK || memcmp(out, pre, 784) != 0)
            CHECK(0, "MNIST %d: load %d, preprocess %d, or they differ", i, st, st2);
        free(png);
    }
    printf("MNIST round trip: %d/%d exact, %d within 2, mean diff %.3f, worst %.2f\n",
           exact, mnist_count, close, total / mnist_count, worst);
    CHECK(total / mnist_count < 0.5, "MNIST round trip mean diff %.3f", total / mnist_count);
    CHECK(close >= mnist_count * 97 / 100, "MNIST round trip: only %d of %d within 2",
          close, mnist_count);
}

/* Every PNG variant of real digits against the digit itself. */
static void test_mnist_variants(void) {
    if (!mnist_count) return;
    int n = mnist_count < 60 ? mnist_count : 60;
    double worst[V_COUNT] = {0};
    float cov[784];
    for (int i = 0; i < n; i++) {
        const uint8_t *d = mnist + (size_t)i * 784;
        uint8_t ref[784];
        for (int k = 0; k < 784; k++) cov[k] = d[k] / 255.0f;
        size_t len;
        uint8_t *png = make_variant(cov, 28, 28, V_GRAY8, &len);
        if (load_mem(png, len, ref) != DIGIT_OK) {
            CHECK(0, "MNIST %d: plain gray failed", i);
            free(png);
            continue;
        }
        free(png);
        char label[32];
        snprintf(label, sizeof label, "MNIST %d", i);
        check_variants(label, cov, 28, 28, ref, 1.0, worst);
    }
    printf("MNIST variants, worst diff:");
    for (int v = 0; v < V_COUNT; v++) printf(" %s %.2f;", variant_names[v], worst[v]);
    printf("\n");
}

/* Digits scaled up 2-8x (nearest neighbour) in a white canvas with margins,
 * and pasted small into a large canvas: each must come back as itself. */
static void test_mnist_scaled(void) {
    if (!mnist_count) return;
    int n = mnist_count < 40 ? mnist_count : 40;
    double sum[9] = {0};
    int bad[9] = {0};
    for (int i = 0; i < n; i++) {
        const uint8_t *d = mnist + (size_t)i * 784;
        for (int k = 2; k <= 8; k++) {
            int S = 28 * k + 40;
            uint8_t *g = malloc((size_t)S * S), out[784];
            memset(g, 255, (size_t)S * S);
            for (int y = 0; y < 28 * k; y++)
                for (int x = 0; x < 28 * k; x++)
                    g[(y + 17) * S + x + 23] = (uint8_t)(255 - d[(y / k) * 28 + x / k]);
            size_t len;
            uint8_t *png = encode_gray(g, S, S, &len);
            digit_status st = load_mem(png, len, out);
            double m = st == DIGIT_OK ? mad(out, d) : 1e9;
            sum[k] += m;
            bad[k] += m > 6;
            free(png);
            free(g);
        }
        /* pasted at a random place in a large canvas */
        int W = rnd_range(200, 700), H = rnd_range(200, 700);
        int ox = rnd_range(0, W - 28), oy = rnd_range(0, H - 28);
        uint8_t *g = calloc((size_t)W * H, 1), out[784];
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) g[(y + oy) * W + x + ox] = d[y * 28 + x];
        size_t len;
        uint8_t *png = encode_gray(g, W, H, &len);
        digit_status st = load_mem(png, len, out);
        sum[1] += st == DIGIT_OK ? mad(out, d) : 1e9;
        bad[1] += st != DIGIT_OK || mad(out, d) > 2;
        free(png);
        free(g);
    }
    for (int k = 1; k <= 8; k++) {
        printf("MNIST scaled x%d: mean diff %.3f, %d of %d off\n", k, sum[k] / n,
               bad[k], n);
        CHECK(sum[k] / n < (k == 1 ? 0.5 : 3.0) && bad[k] <= n / 20,
              "MNIST scaled x%d: mean diff %.3f, %d off", k, sum[k] / n, bad[k]);
    }
}

/* ---- refusals --------------------------------------------------------------- */

static int msg_has(const char *s) { return strstr(digit_last_error(), s) != NULL; }

static uint32_t crc_of(const uint8_t *p, size_t n) {
    return (uint32_t)crc32(0, p, (uInt)n);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offset of the first chunk of `type`, or 0. */
static size_t find_chunk(const uint8_t *png, size_t len, const char *type) {
    size_t pos = 8;
    while (pos + 12 <= len) {
        uint32_t n = get_be32(png + pos);
        if (memcmp(png + pos + 4, type, 4) == 0) return pos;
        pos += 12 + (size_t)n;
    }
    return 0;
}

/* Recomputes the CRC of the chunk at pos. */
static void fix_crc(uint8_t *png, size_t len, size_t pos) {
    uint32_t n = get_be32(png + pos);
    if (pos + 12 + (size_t)n > len) return;
    put_be32(png + pos + 8 + n, crc_of(png + pos + 4, (size_t)n + 4));
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint8_t *sample_png(size_t *len) {
    float *cov = render(&shapes[1], 64, 64, 12, 6, 40, 52, 3);
    uint8_t *png = make_variant(cov, 64, 64, V_GRAY8, len);
    free(cov);
    return png;
}

static void expect(digit_status got, digit_status want, const char *name,
                   const char *part, const char *what) {
    CHECK(got == want && msg_has(name) && msg_has(part),
          "%s: status %d (want %d), message should name %s and say '%s'", what,
          got, want, name, part);
}

static void test_refusals(void) {
    uint8_t out[784];
    size_t len;
    uint8_t *png = sample_png(&len);
    CHECK(load_mem(png, len, out) == DIGIT_OK, "sample PNG decodes");

    const char text[] = "hello, this is not a PNG file at all";
    expect(load_mem((const uint8_t *)text, sizeof text, out), DIGIT_ERR_FORMAT,
           "<memory>", "not a PNG", "text");
    expect(load_mem(png, 0, out), DIGIT_ERR_FORMAT, "<memory>", "not a PNG", "empty");
    uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0};
    expect(load_mem(jpeg, sizeof jpeg, out), DIGIT_ERR_FORMAT, "<memory>",
           "invalid JPEG", "JPEG header only");

    /* Truncated anywhere, even just before IEND. */
    size_t cuts[] = {1, 4, 7, 8, 12, 16, 20, 30, 33, 37, 41, 50, len / 2,
                     len - 20, len - 12, len - 5, len - 1};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu of %zu", cuts[c], len);
        digit_status st = load_mem(png, cuts[c], out);
        CHECK(st == DIGIT_ERR_FORMAT && msg_has("<memory>") &&
                  (msg_has("truncated") || msg_has("not a PNG") ||
                   msg_has("invalid PNG")),
              "%s: status %d", what, st);
    }

    /* A flipped byte in IDAT: CRC error. */
    size_t idat = find_chunk(png, len, "IDAT");
    CHECK(idat > 0, "sample has IDAT");
    uint8_t *bad = malloc(len);
    memcpy(bad, png, len);
    uint32_t idat_len = get_be32(png + idat);
    bad[idat + 8 + idat_len] ^= 0x55; /* in the CRC itself */
    expect(load_mem(bad, len, out), DIGIT_ERR_FORMAT, "<memory>", "CRC", "IDAT CRC");
    memcpy(bad, png, len);
    bad[idat + 8 + 5] ^= 0x55; /* in the data: zlib or the CRC catches it */
    expect(load_mem(bad, len, out), DIGIT_ERR_FORMAT, "<memory>", "invalid PNG",
           "IDAT data");
    /* The same with the CRC repaired: zlib must catch it. */
    fix_crc(bad, len, idat);
    digit_status st = load_mem(bad, len, out);
    CHECK(st == DIGIT_ERR_FORMAT && msg_has("<memory>: invalid PNG"),
          "corrupt IDAT data with good CRC: status %d", st);
    /* Bad IHDR CRC. */
    memcpy(bad, png, len);
    bad[29] ^= 1;
    expect(load_mem(bad, len, out), DIGIT_ERR_FORMAT, "<memory>", "CRC", "IHDR CRC");
    /* Unknown critical chunk in place of IDAT. */
    memcpy(bad, png, len);
    memcpy(bad + idat + 4, "IDXT", 4);
    fix_crc(bad, len, idat);
    st = load_mem(bad, len, out);
    CHECK(st == DIGIT_ERR_FORMAT && msg_has("<memory>"), "unknown critical chunk: %d", st);
    free(bad);

    /* Huge declared sizes, with valid CRCs: refused at once. */
    static const uint32_t sizes[][2] = {{100000, 100000}, {8193, 1},   {1, 8193},
                                        {5000, 5000},     {4294967295u, 1}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint8_t huge[64];
        memcpy(huge, png, 33);
        put_be32(huge + 16, sizes[k][0]);
        put_be32(huge + 20, sizes[k][1]);
        fix_crc(huge, 33, 8);
        /* a tiny IDAT and IEND after it */
        memcpy(huge + 33, png + idat, 12);
        put_be32(huge + 33, 0);
        fix_crc(huge, 45, 33);
        double t0 = now();
        st = load_mem(huge, 45, out);
        double dt = now() - t0;
        char dims[64];
        snprintf(dims, sizeof dims, "%ux%u", sizes[k][0], sizes[k][1]);
        CHECK(st == DIGIT_ERR_FORMAT && msg_has("<memory>") && msg_has(dims) &&
                  msg_has("limit") && dt < 0.05,
              "IHDR %s: status %d in %.3f s", dims, st, dt);
    }
    /* Zero width: libpng's complaint. */
    {
        uint8_t zero[64];
        memcpy(zero, png, 33);
        put_be32(zero + 16, 0);
        fix_crc(zero, 33, 8);
        st = load_mem(zero, 33, out);
        CHECK(st == DIGIT_ERR_FORMAT && msg_has("<memory>: invalid PNG"),
              "zero width: %d", st);
    }

    /* No ink. */
    uint8_t plain[64 * 48];
    static const int levels[] = {255, 0, 128, 37};
    for (int k = 0; k < 4; k++) {
        memset(plain, levels[k], sizeof plain);
        uint8_t *p = encode_gray(plain, 64, 48, &len);
        expect(load_mem(p, len, out), DIGIT_ERR_IMAGE, "<memory>", "no ink",
               "uniform image");
        free(p);
    }
    /* Faint: 6 levels of contrast. */
    memset(plain, 200, sizeof plain);
    for (int y = 10; y < 40; y++) plain[y * 64 + 30] = plain[y * 64 + 31] = 194;
    uint8_t *p = encode_gray(plain, 64, 48, &len);
    expect(load_mem(p, len, out), DIGIT_ERR_IMAGE, "<memory>", "no ink", "faint");
    free(p);
    /* Only noise. */
    for (size_t i = 0; i < sizeof plain; i++) plain[i] = (uint8_t)(200 + rnd_range(-8, 8));
    p = encode_gray(plain, 64, 48, &len);
    expect(load_mem(p, len, out), DIGIT_ERR_IMAGE, "<memory>", "no ink", "noise only");
    free(p);
    /* Only a frame. */
    memset(plain, 255, sizeof plain);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++)
            if (x < 2 || y < 2 || x >= 62 || y >= 46) plain[y * 64 + x] = 0;
    p = encode_gray(plain, 64, 48, &len);
    expect(load_mem(p, len, out), DIGIT_ERR_IMAGE, "<memory>", "no ink", "frame only");
    free(p);
    /* Fully transparent RGBA. */
    {
        float zero[32 * 32] = {0};
        p = make_variant(zero, 32, 32, V_RGBA_ALPHA_BLACK, &len);
        expect(load_mem(p, len, out), DIGIT_ERR_IMAGE, "<memory>", "no ink",
               "transparent");
        free(p);
    }
    /* A failed call leaves `out` alone. */
    memset(out, 7, sizeof out);
    load_mem((const uint8_t *)text, sizeof text, out);
    int untouched = 1;
    for (int i = 0; i < 784; i++) untouched &= out[i] == 7;
    CHECK(untouched, "out untouched on failure");

    /* Arguments. */
    expect(digit_image_load_memory(NULL, 10, out, NULL), DIGIT_ERR_ARGUMENT,
           "digit_image_load_memory", "NULL", "NULL data");
    expect(digit_image_load_memory(png, len, NULL, NULL), DIGIT_ERR_ARGUMENT,
           "digit_image_load_memory", "NULL", "NULL out");
    expect(digit_image_load(NULL, out, NULL), DIGIT_ERR_ARGUMENT,
           "digit_image_load", "NULL", "NULL path");
    expect(preprocess_gray(NULL, 3, 3, out), DIGIT_ERR_ARGUMENT,
           "<pixels>", "pixels.data is NULL", "NULL gray");
    expect(preprocess_gray(plain, 0, 3, out), DIGIT_ERR_ARGUMENT,
           "<pixels>", "0x3", "zero width");
    expect(preprocess_gray(plain, 3, -1, out), DIGIT_ERR_ARGUMENT,
           "<pixels>", "3x-1", "negative height");
    expect(preprocess_gray(plain, 100000, 100000, out), DIGIT_ERR_ARGUMENT,
           "<pixels>", "100000x100000", "huge preprocess");
    memset(plain, 255, sizeof plain);
    expect(preprocess_gray(plain, 64, 48, out), DIGIT_ERR_IMAGE, "<pixels>",
           "no ink", "blank preprocess");
    CHECK(preprocess_gray(plain, 1, 1, out) == DIGIT_ERR_IMAGE, "1x1 image");
    if (mnist_count) { /* out may be the input itself */
        uint8_t same[784], ref[784];
        memcpy(same, mnist + 784, 784);
        CHECK(preprocess_gray(same, 28, 28, ref) == DIGIT_OK &&
                  preprocess_gray(same, 28, 28, same) == DIGIT_OK &&
                  memcmp(same, ref, 784) == 0,
              "preprocess in place");
    }
    plain[5] = 0;
    CHECK(preprocess_gray(plain, 13, 1, out) == DIGIT_OK, "13x1 line with a dot");
    free(png);
}

/* ---- files ------------------------------------------------------------------ */

static char tmpdir[256];

static void test_files(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_image_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[512], missing[512];
    uint8_t out[784], out2[784];
    size_t len;
    uint8_t *png = sample_png(&len);
    snprintf(path, sizeof path, "%s/sample.png", tmpdir);
    FILE *f = fopen(path, "wb");
    fwrite(png, 1, len, f);
    fclose(f);
    CHECK(digit_image_load(path, out, NULL) == DIGIT_OK &&
              load_mem(png, len, out2) == DIGIT_OK && memcmp(out, out2, 784) == 0,
          "file and memory agree");
    /* Errors name the path. */
    snprintf(path, sizeof path, "%s/truncated.png", tmpdir);
    f = fopen(path, "wb");
    fwrite(png, 1, len - 30, f);
    fclose(f);
    expect(digit_image_load(path, out, NULL), DIGIT_ERR_FORMAT, path, "truncated",
           "truncated file");
    snprintf(missing, sizeof missing, "%s/missing.png", tmpdir);
    expect(digit_image_load(missing, out, NULL), DIGIT_ERR_IO, missing, "cannot open",
           "missing file");
    expect(digit_image_load(tmpdir, out, NULL), DIGIT_ERR_IO, tmpdir, "", "a folder");
    snprintf(path, sizeof path, "%s/text.png", tmpdir);
    f = fopen(path, "wb");
    fputs("not a png\n", f);
    fclose(f);
    expect(digit_image_load(path, out, NULL), DIGIT_ERR_FORMAT, path, "not a PNG",
           "text file");
    unlink(path);

    /* Saving: bytes come back exactly, with a fresh decoder. */
    int W = 37, H = 23;
    uint8_t img[37 * 23];
    for (int i = 0; i < W * H; i++) img[i] = (uint8_t)rnd();
    snprintf(path, sizeof path, "%s/saved.png", tmpdir);
    CHECK(digit_image_save_png(path, img, W, H) == DIGIT_OK, "save");
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    uint8_t back[37 * 23];
    int ok = png_image_begin_read_from_file(&pi, path);
    pi.format = PNG_FORMAT_GRAY;
    ok = ok && pi.width == (png_uint_32)W && pi.height == (png_uint_32)H &&
         png_image_finish_read(&pi, NULL, back, 0, NULL);
    CHECK(ok && memcmp(back, img, sizeof img) == 0, "saved PNG reads back exactly");
    png_image_free(&pi);
    /* Save a digit, load it: same as preprocessing the pixels. */
    if (mnist_count) {
        CHECK(digit_image_save_png(path, mnist, 28, 28) == DIGIT_OK &&
                  digit_image_load(path, out, NULL) == DIGIT_OK &&
                  preprocess_gray(mnist, 28, 28, out2) == DIGIT_OK &&
                  memcmp(out, out2, 784) == 0,
              "save + load = preprocess");
    }
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.png", tmpdir);
    expect(digit_image_save_png(missing, img, W, H), DIGIT_ERR_IO, missing, "",
           "save into a missing folder");
    expect(digit_image_save_png(NULL, img, W, H), DIGIT_ERR_ARGUMENT,
           "digit_image_save_png", "NULL", "save NULL path");
    expect(digit_image_save_png(path, NULL, W, H), DIGIT_ERR_ARGUMENT,
           "digit_image_save_png", "NULL", "save NULL pixels");
    expect(digit_image_save_png(path, img, 0, H), DIGIT_ERR_ARGUMENT, path,
           "not positive", "save zero width");
    expect(digit_image_save_png(path, img, 9000, 10), DIGIT_ERR_ARGUMENT, path,
           "limit", "save too wide");
    unlink(path);
    snprintf(path, sizeof path, "%s/sample.png", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/truncated.png", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    free(png);
}

/* ---- mutations ------------------------------------------------------------ */

/* Flips bytes, truncates, repairs or not the CRCs so that the mutation
 * reaches deeper than the checksum; every result must be a clean status. */
static void test_mutations(void) {
    size_t lens[4];
    uint8_t *bases[4];
    float *cov = render(&shapes[4], 48, 40, 6, 4, 36, 32, 3);
    bases[0] = make_variant(cov, 48, 40, V_GRAY8, &lens[0]);
    bases[1] = make_variant(cov, 48, 40, V_INTERLACED_RGBA, &lens[1]);
    bases[2] = make_variant(cov, 48, 40, V_PALETTE_TRNS, &lens[2]);
    bases[3] = make_variant(cov, 48, 40, V_GRAY2, &lens[3]);
    free(cov);
    int bad = 0, ok = 0, errors = 0, runs = 4000;
    if (getenv("MUTATIONS")) runs = atoi(getenv("MUTATIONS")); /* longer fuzzing */
    for (int it = 0; it < runs; it++) {
        int b = it % 4;
        size_t len = lens[b];
        uint8_t *m = malloc(len);
        memcpy(m, bases[b], len);
        int flips = rnd_range(1, 6), mode = rnd_range(0, 3);
        for (int f = 0; f < flips; f++) {
            size_t at = 8 + rnd() % (len - 8);
            m[at] = mode == 0 ? (uint8_t)rnd() : (uint8_t)(m[at] ^ (1u << rnd_range(0, 7)));
        }
        if (mode >= 1) { /* repair every CRC so chunk contents get parsed */
            size_t pos = 8;
            while (pos + 12 <= len) {
                uint32_t n = get_be32(m + pos);
                if (n > len || pos + 12 + n > len) break;
                fix_crc(m, len, pos);
                pos += 12 + n;
            }
        }
        if (mode == 3) len = (size_t)rnd_range(0, (int)len);
        uint8_t *exact = malloc(len ? len : 1); /* ASan catches overreads */
        memcpy(exact, m, len);
        uint8_t out[784];
        digit_status st = load_mem(exact, len, out);
        if (st == DIGIT_OK) ok++;
        else {
            errors++;
            const char *msg = digit_last_error();
            if (!msg[0] || !strstr(msg, "<memory>") ||
                (st != DIGIT_ERR_FORMAT && st != DIGIT_ERR_IMAGE &&
                 st != DIGIT_ERR_MEMORY))
                bad++;
        }
        free(exact);
        free(m);
    }
    printf("mutations: %d runs, %d decoded, %d refused\n", runs, ok, errors);
    CHECK(bad == 0, "mutations: %d results without a proper status/message", bad);
    for (int b = 0; b < 4; b++) free(bases[b]);
}

/* ---- threads ------------------------------------------------------------------ */

typedef struct job {
    const uint8_t *png;
    size_t len;
    const uint8_t *expected;
    int mismatches;
} job;

static int worker(void *arg) {
    job *j = arg;
    uint8_t out[784];
    for (int i = 0; i < 40; i++) {
        if (load_mem(j->png, j->len, out) != DIGIT_OK || memcmp(out, j->expected, 784))
            j->mismatches++;
        /* errors are per thread */
        if (load_mem(j->png, 5, out) != DIGIT_ERR_FORMAT || !msg_has("<memory>"))
            j->mismatches++;
    }
    return 0;
}

static void test_threads(void) {
    enum { T = 4 };
    uint8_t *pngs[T], expected[T][784];
    size_t lens[T];
    job jobs[T];
    thrd_t th[T];
    for (int t = 0; t < T; t++) {
        float *cov = render(&shapes[t], 90, 90, 10, 5, 60, 80, 2 + t);
        pngs[t] = make_variant(cov, 90, 90, (enum variant)(t * 4), &lens[t]);
        free(cov);
        load_mem(pngs[t], lens[t], expected[t]);
        jobs[t] = (job){pngs[t], lens[t], expected[t], 0};
    }
    for (int t = 0; t < T; t++) thrd_create(&th[t], worker, &jobs[t]);
    int bad = 0;
    for (int t = 0; t < T; t++) {
        thrd_join(th[t], NULL);
        bad += jobs[t].mismatches;
        free(pngs[t]);
    }
    CHECK(bad == 0, "threads: %d mismatches", bad);
}

/* A large image (the size limit's neighbourhood) decodes in reasonable time. */
static void test_large(void) {
    int W = 4096, H = 2048;
    float *cov = render(&shapes[2], W, H, 1500, 300, 900, 1400, 6);
    size_t len;
    uint8_t *png = make_variant(cov, W, H, V_GRAY1, &len), out[784];
    free(cov);
    double t0 = now();
    digit_status st = load_mem(png, len, out);
    char why[160] = "";
    CHECK(st == DIGIT_OK && mnist_like(out, why, sizeof why),
          "large 4096x2048 1-bit: status %d %s", st, why);
    printf("large 4096x2048 image: %.3f s\n", now() - t0);
    free(png);
}

int main(void) {
    init_shapes();
    load_mnist();
    test_synthetic_variants();
    test_drawings();
    test_thick_pen();
    test_small_in_big();
    test_dirty();
    test_mnist_roundtrip();
    test_mnist_variants();
    test_mnist_scaled();
    test_refusals();
    test_files();
    test_mutations();
    test_threads();
    test_large();
    free(mnist);
    return test_summary("test_image");
}
