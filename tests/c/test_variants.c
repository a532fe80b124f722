/* SPDX-License-Identifier: MIT */
/*
 * test_variants.c — a user's own PNG is classified as well as a test-set
 * digit. The first N MNIST test digits are written as PNG files of many
 * kinds (formats, polarities, colours, alpha, sizes, placements, stroke
 * widths, noise), in memory, decoded and preprocessed with
 * digit_image_load_memory and classified with the shipped model. Each
 * kind's accuracy is compared with the accuracy on the same digits fed
 * directly as uint8 (no PNG, no preprocessing); every kind must be within
 * MAX_DROP points of it.
 *
 *   build/tests/test_variants [DATA_DIR [MODEL [N]]]
 *
 * DATA_DIR: argv[1] or $DIGIT_DATA (the MNIST IDX files).
 * MODEL:    argv[2] or $DIGIT_MODEL, default models/ + DIGIT_DEFAULT_MODEL_FILE (digit.h)
 *           (relative to the current folder: run it from the repository root).
 * N:        argv[3] or $DIGIT_VARIANTS_N, default DEFAULT_N (at most 10000).
 * $DIGIT_VARIANTS_DUMP=DIR writes, per kind, DIR/<kind>.png (the first 100
 * preprocessed 28x28 results as a 10x10 grid), DIR/<kind>-wrong.png (up to
 * 100 digits the kind gets wrong but plain gets right) and
 * DIR/<kind>-input.png (the PNG file of digit $DIGIT_VARIANTS_INPUT, default
 * 0, as encoded), to look at.
 * $DIGIT_VARIANTS_ONLY=kind,kind,... runs only those kinds.
 *
 * Every variant is built from the digit with this file's own code: the
 * 28x28 digit is an ink coverage map (pixel/255); geometry (scaling,
 * placement, dilation, erosion) turns it into a larger coverage map, and a
 * format writes that as PNG samples. Random choices (scale, colours,
 * position) come from a generator seeded by the digit and the variant, so
 * results do not depend on N or on order.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include "check.h"
#include "digit.h"
#include "pngtest.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { DEFAULT_N = 2000, SIDE = 28, PIXELS = 784 };
#define MAX_DROP 1.0 /* points of accuracy a variant may lose against plain */
/* The shipped default model (digit.h), relative to the repository root. */
#define DEFAULT_MODEL "models/" DIGIT_DEFAULT_MODEL_FILE

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "test_variants: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- random numbers (splitmix64), one stream per digit and variant -------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static rng rng_for(int digit, int variant) {
    rng r = {(uint64_t)digit * 1000003u + (uint64_t)variant * 7919u + 12345u};
    rng_next(&r);
    return r;
}

static double uniform(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static int range(rng *r, int lo, int hi) { /* [lo, hi] */
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static double gauss(rng *r) {
    double u = uniform(r), v = uniform(r);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

/* v rounded to the nearest integer in 0..255. */
static int clamp255(double v) {
    return v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5);
}

/* ---- coverage maps --------------------------------------------------------- */

/* Ink coverage 0..1 (1: full ink), w x h, row-major. */
typedef struct cover {
    int w, h;
    float *v;
} cover;

static cover cover_new(int w, int h) {
    cover c = {w, h, xmalloc(sizeof(float) * (size_t)w * h)};
    memset(c.v, 0, sizeof(float) * (size_t)w * h);
    return c;
}

static cover from_digit(const uint8_t *d) {
    cover c = cover_new(SIDE, SIDE);
    for (int i = 0; i < PIXELS; i++) c.v[i] = d[i] / 255.0f;
    return c;
}

/* Scaled by the whole factor k, nearest neighbour (each pixel a k x k block). */
static cover scale_nearest(cover s, int k) {
    cover c = cover_new(s.w * k, s.h * k);
    for (int y = 0; y < c.h; y++)
        for (int x = 0; x < c.w; x++) c.v[(size_t)y * c.w + x] = s.v[(y / k) * s.w + x / k];
    return c;
}

/* Scaled by k, bilinear between pixel centres (edges clamped). */
static cover scale_bilinear(cover s, double k) {
    cover c = cover_new((int)lround(s.w * k), (int)lround(s.h * k));
    for (int y = 0; y < c.h; y++) {
        double fy = fmin(fmax((y + 0.5) / k - 0.5, 0.0), s.h - 1.0);
        int y0 = (int)fy, y1 = y0 + 1 < s.h ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < c.w; x++) {
            double fx = fmin(fmax((x + 0.5) / k - 0.5, 0.0), s.w - 1.0);
            int x0 = (int)fx, x1 = x0 + 1 < s.w ? x0 + 1 : x0;
            double tx = fx - x0;
            double top = s.v[y0 * s.w + x0] * (1 - tx) + s.v[y0 * s.w + x1] * tx;
            double bot = s.v[y1 * s.w + x0] * (1 - tx) + s.v[y1 * s.w + x1] * tx;
            c.v[(size_t)y * c.w + x] = (float)(top * (1 - ty) + bot * ty);
        }
    }
    return c;
}

/* s pasted into a w x h canvas of no ink with its top-left corner at (ox,oy). */
static cover paste(cover s, int w, int h, int ox, int oy) {
    cover c = cover_new(w, h);
    for (int y = 0; y < s.h; y++)
        memcpy(c.v + (size_t)(y + oy) * w + ox, s.v + (size_t)y * s.w,
               sizeof(float) * (size_t)s.w);
    return c;
}

/* Gray-level morphology with a disk of radius r: dilate (max, a wider pen)
 * or erode (min, a narrower pen). A margin of r is added first, so dilated
 * strokes are not cut by the edge; outside the image counts as no ink. */
static cover morph(cover s, int r, int dilate) {
    cover p = paste(s, s.w + 2 * r, s.h + 2 * r, r, r);
    cover c = cover_new(p.w, p.h);
    int off[2][64], k = 0; /* the disk's offsets (r <= 3) */
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++)
            if (dx * dx + dy * dy <= r * r + r && k < 64) {
                off[0][k] = dx;
                off[1][k++] = dy;
            }
    for (int y = 0; y < p.h; y++)
        for (int x = 0; x < p.w; x++) {
            float best = dilate ? 0.0f : 1.0f;
            for (int j = 0; j < k; j++) {
                int sx = x + off[0][j], sy = y + off[1][j];
                float v = sx < 0 || sy < 0 || sx >= p.w || sy >= p.h
                              ? 0.0f
                              : p.v[(size_t)sy * p.w + sx];
                best = dilate ? (v > best ? v : best) : (v < best ? v : best);
            }
            c.v[(size_t)y * c.w + x] = best;
        }
    free(p.v);
    return c;
}

/* ---- a JPEG-like perturbation ------------------------------------------------ */

/* The 8x8 blocks of a gray image through a DCT, quantised with the JPEG
 * luminance table at quality 75 and transformed back: the blocking and
 * ringing of a JPEG round trip, without a JPEG library. */
static void jpeg_like(double *g, int w, int h) {
    static const int base[64] = {
        16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
        14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
        18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
    double cosv[8][8], q[64], blk[64], tmp[64], coef[64];
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            cosv[u][x] = (u == 0 ? sqrt(0.125) : 0.5) * cos((2 * x + 1) * u * M_PI / 16);
    for (int i = 0; i < 64; i++) {
        int v = (base[i] * 50 + 50) / 100; /* quality 75: scale 50% */
        q[i] = v < 1 ? 1 : v;
    }
    for (int by = 0; by < h; by += 8)
        for (int bx = 0; bx < w; bx += 8) {
            for (int y = 0; y < 8; y++) /* edge blocks repeat the last pixel */
                for (int x = 0; x < 8; x++) {
                    int sx = bx + x < w ? bx + x : w - 1, sy = by + y < h ? by + y : h - 1;
                    blk[y * 8 + x] = g[(size_t)sy * w + sx] - 128;
                }
            /* forward, separably: rows (over x), then columns (over y) */
            for (int y = 0; y < 8; y++)
                for (int u = 0; u < 8; u++) {
                    double s = 0;
                    for (int x = 0; x < 8; x++) s += cosv[u][x] * blk[y * 8 + x];
                    tmp[y * 8 + u] = s;
                }
            for (int v = 0; v < 8; v++)
                for (int u = 0; u < 8; u++) {
                    double s = 0;
                    for (int y = 0; y < 8; y++) s += cosv[v][y] * tmp[y * 8 + u];
                    coef[v * 8 + u] = round(s / q[v * 8 + u]) * q[v * 8 + u];
                }
            /* and back */
            for (int v = 0; v < 8; v++)
                for (int x = 0; x < 8; x++) {
                    double s = 0;
                    for (int u = 0; u < 8; u++) s += cosv[u][x] * coef[v * 8 + u];
                    tmp[v * 8 + x] = s;
                }
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) {
                    if (bx + x >= w || by + y >= h) continue;
                    double s = 0;
                    for (int v = 0; v < 8; v++) s += cosv[v][y] * tmp[v * 8 + x];
                    g[(size_t)(by + y) * w + bx + x] = s + 128;
                }
        }
}

/* ---- formats: a coverage map written as PNG --------------------------------- */

typedef enum format {
    F_GRAY_MNIST,    /* 8-bit gray, white ink on black (MNIST polarity) */
    F_GRAY_PAPER,    /* 8-bit gray, black ink on white paper */
    F_RGB,           /* coloured ink on coloured paper */
    F_RGBA_ALPHA,    /* RGB constant, ink only in alpha */
    F_GA_ALPHA,      /* gray constant, ink only in alpha */
    F_GRAY16,        /* 16-bit gray, black on white, low byte noisy */
    F_PALETTE,       /* indexed colour blends, shuffled palette */
    F_PALETTE_TRNS,  /* one palette colour, ink in tRNS alpha */
    F_INTERLACED,    /* Adam7, 8-bit gray, black on white */
    F_NOISY_JPEG     /* gray paper, sensor noise, JPEG-like blocks */
} format;

/* Ink/paper colour pairs a user might pick (some with light ink). */
static const int COLOURS[][2][3] = {
    {{20, 30, 140}, {250, 235, 130}},  /* blue on yellow */
    {{150, 20, 20}, {200, 240, 240}},  /* dark red on light cyan */
    {{10, 90, 30}, {250, 210, 220}},   /* green on pink */
    {{255, 220, 60}, {30, 40, 90}},    /* yellow on navy */
    {{240, 240, 240}, {60, 120, 60}},  /* chalk on a green board */
    {{90, 30, 120}, {235, 235, 235}},  /* purple on light gray */
    {{0, 0, 0}, {255, 160, 0}},        /* black on orange */
    {{255, 80, 80}, {20, 20, 20}},     /* red on black */
};
enum { N_COLOURS = sizeof COLOURS / sizeof COLOURS[0] };

static uint8_t *write_png(cover c, format f, rng *r, size_t *len) {
    const size_t n = (size_t)c.w * c.h;
    spec s = {c.w, c.h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, NULL, NULL, 0, NULL, 0};
    int ch = 1;
    switch (f) {
    case F_RGB: ch = 3; s.color_type = PNG_COLOR_TYPE_RGB; break;
    case F_RGBA_ALPHA: ch = 4; s.color_type = PNG_COLOR_TYPE_RGB_ALPHA; break;
    case F_GA_ALPHA: ch = 2; s.color_type = PNG_COLOR_TYPE_GRAY_ALPHA; break;
    case F_GRAY16: s.depth = 16; break;
    case F_PALETTE: case F_PALETTE_TRNS: s.color_type = PNG_COLOR_TYPE_PALETTE; break;
    case F_INTERLACED: s.interlace = PNG_INTERLACE_ADAM7; break;
    default: break;
    }
    uint16_t *smp = xmalloc(sizeof *smp * n * ch);
    png_color pal[256];
    uint8_t trans[256];
    int slot[256]; /* ink level -> palette index */
    const int(*col)[3] = COLOURS[range(r, 0, N_COLOURS - 1)];
    int fixed[3] = {range(r, 0, 255), range(r, 0, 255), range(r, 0, 255)};
    if (f == F_PALETTE || f == F_PALETTE_TRNS) {
        for (int i = 0; i < 256; i++) slot[i] = i;
        for (int i = 255; i > 0; i--) {
            int j = range(r, 0, i), t = slot[i];
            slot[i] = slot[j];
            slot[j] = t;
        }
        for (int level = 0; level < 256; level++) {
            png_color *p = &pal[slot[level]];
            double a = level / 255.0;
            if (f == F_PALETTE) {
                p->red = (png_byte)clamp255(col[1][0] + a * (col[0][0] - col[1][0]));
                p->green = (png_byte)clamp255(col[1][1] + a * (col[0][1] - col[1][1]));
                p->blue = (png_byte)clamp255(col[1][2] + a * (col[0][2] - col[1][2]));
            } else {
                p->red = (png_byte)fixed[0];
                p->green = (png_byte)fixed[1];
                p->blue = (png_byte)fixed[2];
                trans[slot[level]] = (uint8_t)level;
            }
        }
        s.palette = pal;
        s.palette_count = 256;
        if (f == F_PALETTE_TRNS) {
            s.trans = trans;
            s.trans_count = 256;
        }
    }
    double *g = NULL;
    if (f == F_NOISY_JPEG) { /* a photo: gray paper, sensor noise, JPEG */
        int paper = range(r, 200, 240), ink = range(r, 10, 60);
        double sigma = 4 + 4 * uniform(r);
        g = xmalloc(sizeof *g * n);
        for (size_t i = 0; i < n; i++)
            g[i] = paper + c.v[i] * (ink - paper) + sigma * gauss(r);
        jpeg_like(g, c.w, c.h);
    }
    for (size_t i = 0; i < n; i++) {
        double a = c.v[i];
        int ink = clamp255(255 * a), paper = 255 - ink;
        uint16_t *p = smp + i * ch;
        switch (f) {
        case F_GRAY_MNIST: p[0] = (uint16_t)ink; break;
        case F_GRAY_PAPER: case F_INTERLACED: p[0] = (uint16_t)paper; break;
        case F_RGB:
            for (int k = 0; k < 3; k++)
                p[k] = (uint16_t)clamp255(col[1][k] + a * (col[0][k] - col[1][k]));
            break;
        case F_RGBA_ALPHA:
            for (int k = 0; k < 3; k++) p[k] = (uint16_t)fixed[k];
            p[3] = (uint16_t)ink;
            break;
        case F_GA_ALPHA: p[0] = (uint16_t)fixed[0]; p[1] = (uint16_t)ink; break;
        case F_GRAY16: {
            long v = lround(65535 * (1 - a)) + range(r, -120, 120);
            p[0] = (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
            break;
        }
        case F_PALETTE: case F_PALETTE_TRNS: p[0] = (uint16_t)slot[ink]; break;
        case F_NOISY_JPEG: p[0] = (uint16_t)clamp255(g[i]); break;
        }
    }
    s.samples = smp;
    uint8_t *png = pngtest_encode(&s, len);
    free(smp);
    free(g);
    return png;
}

/* ---- the variants ------------------------------------------------------------ */

typedef enum geometry {
    G_NATIVE,     /* the 28x28 digit as it is */
    G_NEAREST,    /* scaled 2-8x, nearest neighbour, in a margin */
    G_BILINEAR,   /* scaled 2-8x (not only whole factors), bilinear, in a margin */
    G_CANVAS,     /* small, at a random place in a 300x200 canvas */
    G_THICK,      /* 4x, dilated: a pen ~1.5 px (at 28x28) wider */
    G_THIN,       /* 4x, eroded: a pen ~1 px (at 28x28) narrower */
    G_PHOTO       /* 2-3x bilinear, in a margin, for the noisy photo */
} geometry;

typedef struct variant {
    const char *name;
    geometry geo;
    format fmt;
} variant;

/* What a user might hand over. "gray8" is the plain test digit as an 8-bit
 * PNG (it must match plain exactly); "interlaced" is scaled up so that
 * every Adam7 pass carries a good part of the picture. */
static const variant VARIANTS[] = {
    {"gray8", G_NATIVE, F_GRAY_MNIST},
    {"inverted", G_NATIVE, F_GRAY_PAPER},
    {"scaled-nearest", G_NEAREST, F_GRAY_PAPER},
    {"scaled-bilinear", G_BILINEAR, F_GRAY_PAPER},
    {"rgb-colours", G_NATIVE, F_RGB},
    {"rgba-alpha-ink", G_NATIVE, F_RGBA_ALPHA},
    {"gray-alpha-ink", G_NATIVE, F_GA_ALPHA},
    {"gray16", G_NATIVE, F_GRAY16},
    {"palette", G_NATIVE, F_PALETTE},
    {"palette-trns", G_NATIVE, F_PALETTE_TRNS},
    {"interlaced", G_BILINEAR, F_INTERLACED},
    {"canvas-300x200", G_CANVAS, F_GRAY_PAPER},
    {"thick-strokes", G_THICK, F_GRAY_PAPER},
    {"thin-strokes", G_THIN, F_GRAY_PAPER},
    {"noise-jpeg", G_PHOTO, F_NOISY_JPEG},
};
enum { N_VARIANTS = sizeof VARIANTS / sizeof VARIANTS[0] };

static cover in_margin(cover s, rng *r) {
    int mx = range(r, 4, 40), my = range(r, 4, 40);
    cover c = paste(s, s.w + mx + range(r, 4, 40), s.h + my + range(r, 4, 40), mx, my);
    return c;
}

static cover make_geometry(const uint8_t *d, geometry geo, rng *r) {
    cover base = from_digit(d), c = {0, 0, NULL}, t = {0, 0, NULL};
    switch (geo) {
    case G_NATIVE: return base;
    case G_NEAREST:
        t = scale_nearest(base, range(r, 2, 8));
        c = in_margin(t, r);
        break;
    case G_BILINEAR:
        t = scale_bilinear(base, 2 + 6 * uniform(r));
        c = in_margin(t, r);
        break;
    case G_CANVAS:
        c = paste(base, 300, 200, range(r, 0, 300 - SIDE), range(r, 0, 200 - SIDE));
        break;
    case G_THICK: case G_THIN:
        t = scale_bilinear(base, 4);
        c = morph(t, geo == G_THICK ? 3 : 2, geo == G_THICK);
        break;
    case G_PHOTO:
        t = scale_bilinear(base, 2 + uniform(r));
        c = in_margin(t, r);
        break;
    }
    free(t.v);
    free(base.v);
    return c;
}

/* ---- dumps to look at -------------------------------------------------------- */

/* Up to 100 28x28 images as a 10x10 grid, each pixel ZOOM x ZOOM, with
 * gray lines between the cells. */
static void save_grid(const char *dir, const char *name, const char *suffix,
                      const uint8_t *imgs, const int *which, int count) {
    enum { ZOOM = 3, CELL = SIDE * ZOOM + 2, GRID = 10 * CELL + 2 };
    uint8_t *g = xmalloc((size_t)GRID * GRID);
    memset(g, 90, (size_t)GRID * GRID);
    for (int k = 0; k < count && k < 100; k++) {
        const uint8_t *img = imgs + (size_t)(which ? which[k] : k) * PIXELS;
        int gx = 2 + (k % 10) * CELL, gy = 2 + (k / 10) * CELL;
        for (int y = 0; y < SIDE * ZOOM; y++)
            for (int x = 0; x < SIDE * ZOOM; x++)
                g[(size_t)(gy + y) * GRID + gx + x] = img[(y / ZOOM) * SIDE + x / ZOOM];
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s%s.png", dir, name, suffix);
    if (digit_image_save_png(path, g, GRID, GRID) != DIGIT_OK)
        fprintf(stderr, "test_variants: %s\n", digit_last_error());
    free(g);
}

static void save_bytes(const char *dir, const char *name, const uint8_t *p, size_t len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-input.png", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len) fprintf(stderr, "test_variants: cannot write %s\n", path);
    if (f) fclose(f);
}

/* ---- main ------------------------------------------------------------------- */

/* Whether `name` is in the comma-separated list (NULL: every name is). */
static int selected(const char *list, const char *name) {
    if (!list || !*list) return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        p += len + (end != NULL);
    }
    return 0;
}

static int parse_count(const char *s) {
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    return s && *s && !*end && v > 0 ? (int)(v > 10000 ? 10000 : v) : 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : getenv("DIGIT_DATA");
    const char *model_path = argc > 2 ? argv[2] : getenv("DIGIT_MODEL");
    const char *dump = getenv("DIGIT_VARIANTS_DUMP");
    const char *dump_at = getenv("DIGIT_VARIANTS_INPUT");
    int dump_index = dump_at ? atoi(dump_at) : 0;
    int n = parse_count(argc > 3 ? argv[3] : getenv("DIGIT_VARIANTS_N"));
    if (!model_path || !*model_path) model_path = DEFAULT_MODEL;
    if (!n) n = DEFAULT_N;
    if (!dir || !*dir) {
        fprintf(stderr, "test_variants: no MNIST folder; pass it as the first argument "
                        "or set DIGIT_DATA\n");
        return 2;
    }
    digit_model *model = NULL;
    digit_dataset *test = NULL;
    if (digit_model_load(model_path, &model) != DIGIT_OK) {
        fprintf(stderr, "test_variants: cannot load the model: %s\n", digit_last_error());
        return 2;
    }
    if (digit_dataset_load_mnist(dir, 0, &test) != DIGIT_OK) {
        fprintf(stderr, "test_variants: %s\n", digit_last_error());
        digit_model_free(model);
        return 2;
    }
    if ((size_t)n > digit_dataset_count(test)) n = (int)digit_dataset_count(test);
    const uint8_t *images = digit_dataset_images(test);
    const uint8_t *labels = digit_dataset_labels(test);
    double t0 = now();

    int *plain = xmalloc(sizeof(int) * n), *got = xmalloc(sizeof(int) * n);
    int *wrong = xmalloc(sizeof(int) * n);
    uint8_t *out = xmalloc((size_t)n * PIXELS);
    CHECK_OK(digit_predict_u8(model, images, (size_t)n, DIGIT_OUTPUT_PROBABILITIES,
                              NULL, plain));
    int plain_ok = 0;
    for (int i = 0; i < n; i++) plain_ok += plain[i] == labels[i];
    double plain_acc = 100.0 * plain_ok / n;
    printf("test_variants: %d MNIST test digits, model %s (%s)\n", n, model_path,
           digit_model_arch(model));
    printf("%-18s %9s %8s %7s %8s %8s\n", "variant", "accuracy", "delta", "errors",
           "flipped", "seconds");
    printf("%-18s %8.2f%% %8s %7d %8s %8s\n", "plain (uint8)", plain_acc, "", 0, "", "");

    for (int v = 0; v < N_VARIANTS; v++) {
        const variant *var = &VARIANTS[v];
        if (!selected(getenv("DIGIT_VARIANTS_ONLY"), var->name)) continue;
        double t1 = now();
        int errors = 0;
        for (int i = 0; i < n; i++) {
            rng r = rng_for(i, v);
            cover c = make_geometry(images + (size_t)i * PIXELS, var->geo, &r);
            size_t len = 0;
            uint8_t *png = write_png(c, var->fmt, &r, &len);
            digit_status st = digit_image_load_memory(png, len, out + (size_t)i * PIXELS, NULL);
            if (st != DIGIT_OK) {
                if (errors++ < 3)
                    fprintf(stderr, "%s: digit %d: %s\n", var->name, i, digit_last_error());
                memset(out + (size_t)i * PIXELS, 0, PIXELS);
            }
            if (dump && i == dump_index) save_bytes(dump, var->name, png, len);
            free(png);
            free(c.v);
        }
        CHECK_OK(digit_predict_u8(model, out, (size_t)n, DIGIT_OUTPUT_PROBABILITIES,
                                  NULL, got));
        int ok = 0, flipped = 0, nwrong = 0;
        for (int i = 0; i < n; i++) {
            int right = got[i] == labels[i];
            ok += right;
            flipped += right != (plain[i] == labels[i]);
            if (!right && plain[i] == labels[i]) wrong[nwrong++] = i;
        }
        double acc = 100.0 * ok / n, delta = acc - plain_acc;
        printf("%-18s %8.2f%% %+8.2f %7d %8d %8.2f\n", var->name, acc, delta, errors,
               flipped, now() - t1);
        fflush(stdout);
        CHECK(errors == 0, "%s: %d images could not be loaded", var->name, errors);
        CHECK(delta >= -MAX_DROP, "%s: accuracy %.2f%% is %.2f points under plain %.2f%%",
              var->name, acc, -delta, plain_acc);
        if (dump) {
            save_grid(dump, var->name, "", out, NULL, n);
            save_grid(dump, var->name, "-wrong", out, wrong, nwrong);
            if (getenv("DIGIT_VARIANTS_VERBOSE"))
                for (int k = 0; k < nwrong && k < 100; k++)
                    printf("  wrong %d: label %d, got %d\n", wrong[k], labels[wrong[k]],
                           got[wrong[k]]);
        }
    }
    printf("test_variants: %.1f s\n", now() - t0);
    free(plain);
    free(got);
    free(wrong);
    free(out);
    digit_dataset_free(test);
    digit_model_free(model);
    return test_summary("test_variants");
}
