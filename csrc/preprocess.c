/* SPDX-License-Identifier: MIT */
/*
 * preprocess.c — from decoded pixels to 28x28 MNIST-style input: bright
 * ink on black, cropped to the digit, its longer side 20 px, centred by
 * mass.
 *
 * Two front halves lead to one back half:
 *   clean    drawings, scans and exports with flat paper: ink is each
 *            pixel's difference from the paper colour (the median of the
 *            border band), whatever the polarity, colours or transparency
 *            (see choose_alpha_rule and ink_from_colour);
 *   photo    paper whose brightness varies (light falloff, a shadow):
 *            the paper is estimated locally and divided away, ink found
 *            against that, and the marks on the page sorted into the
 *            digit, ruled lines, shadow edges and specks (see photo_ink);
 *   back     noise floor, frame and speck removal, the ink's box, thin
 *            strokes thickened and thick ones thinned, the box scaled to
 *            20 px, centred by mass in 28x28, strongest ink made 255.
 * There is no global state: every call owns its buffers.
 */
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOX 20              /* MNIST: the digit's longer side */
#define SIDE DIGIT_IMAGE_SIDE
#define MIN_CONTRAST 16     /* weakest ink (of 255 over the paper) that counts */
#define ALPHA_MIN_RANGE 32  /* alpha varying less than this says nothing */
#define ALPHA_PAINTED 128   /* alpha from which a pixel counts as painted */
#define COLOUR_DIFFERENT 48 /* weighted distance of a clearly other colour */
#define THIN_STROKE 1.1     /* stroke width (px in the 20 px box) that is thin */
#define THICK_STROKE 2.8    /* stroke width that is thick (MNIST's 90th pct.) */
#define TARGET_STROKE 2.0   /* MNIST's median stroke width, what thin becomes */

/* Luma weights. Colour differences are measured as sqrt(sum w_c * d_c^2):
 * the weights sum to 1, so a gray picture stored as RGB measures exactly as
 * the gray one does, while colours that differ only in hue still differ. */
static const double LUMA[3] = {0.299, 0.587, 0.114};

/* A half-open rectangle [x0,x1) x [y0,y1). */
typedef struct box {
    int x0, y0, x1, y1;
} box;

static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }
static uint8_t max_u8(uint8_t a, uint8_t b) { return a > b ? a : b; }

static digit_status no_ink(const char *name) {
    return digit_fail(DIGIT_ERR_IMAGE,
                      "%s: image contains no ink (blank or uniform)", name);
}

/* ---- the border band: where the paper is ---------------------------------- */

/* Width of the border band read for the paper colour: 1/8 of the shorter
 * side, at least 1 px (MNIST: the outer 3 px, always empty there). Wide
 * enough that a frame line, a scanner strip or strokes running into the
 * edge stay a minority of it, so its median is the paper. */
static int band_width(int w, int h) { return max_int(1, min_int(w, h) / 8); }

/* The band's pixels of row y, as up to two spans [x0,x1). */
static int band_spans(int w, int h, int b, int y, int span[2][2]) {
    if (y < b || y >= h - b || 2 * b >= w) {
        span[0][0] = 0;
        span[0][1] = w;
        return 1;
    }
    span[0][0] = 0;
    span[0][1] = b;
    span[1][0] = w - b;
    span[1][1] = w;
    return 2;
}

/* The smallest value with more than a fraction q of a histogram's `total`
 * counts at or below it (q = 0.5: the median). */
static int hist_quantile(const size_t hist[256], size_t total, double q) {
    size_t want = (size_t)(q * (double)total) + 1, seen = 0;
    for (int v = 0; v < 256; v++) {
        seen += hist[v];
        if (seen >= want) return v;
    }
    return 255;
}

/* The paper colour: each channel's median over the border band. */
static void band_median(const uint8_t *px, int stride, int colours, int w,
                        int h, int bg[3]) {
    size_t hist[3][256];
    memset(hist, 0, sizeof hist);
    size_t total = 0;
    int b = band_width(w, h), span[2][2];
    for (int y = 0; y < h; y++) {
        int spans = band_spans(w, h, b, y, span);
        for (int s = 0; s < spans; s++)
            for (int x = span[s][0]; x < span[s][1]; x++) {
                const uint8_t *p = px + ((size_t)y * w + x) * stride;
                for (int c = 0; c < colours; c++) hist[c][p[c]]++;
                total++;
            }
    }
    for (int c = 0; c < colours; c++) bg[c] = hist_quantile(hist[c], total, 0.5);
}

/* ---- from pixels to ink ---------------------------------------------------- */

/* Per-channel scale so that the Euclidean length of scaled differences is
 * the luma-weighted distance. */
static void channel_scales(int colours, double sw[3]) {
    for (int c = 0; c < 3; c++) sw[c] = colours == 1 ? 1.0 : sqrt(LUMA[c]);
}

/* Which way from the paper colour is ink. The sum of d*|d| over all pixels
 * (d: scaled difference from the paper) weighs each pixel by its contrast
 * squared, so a few strong strokes outweigh a sea of faint noise, which
 * cancels out anyway. For gray this is polarity detection (dark ink on
 * light paper or light on dark, mid-gray paper included), for colour its
 * generalisation: ink is what lies on the strong side of the paper. With no
 * preferred side, ink is taken to be the opposite of the paper's
 * lightness. Returns a unit vector in the scaled space. */
static void ink_direction(const uint8_t *px, int stride, int colours,
                          size_t n, const int bg[3], const double sw[3],
                          double u[3]) {
    double acc[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = px + i * stride;
        double d[3], len2 = 0;
        for (int c = 0; c < colours; c++) {
            d[c] = sw[c] * (p[c] - bg[c]);
            len2 += d[c] * d[c];
        }
        double len = sqrt(len2);
        for (int c = 0; c < colours; c++) acc[c] += d[c] * len;
    }
    double norm = 0;
    for (int c = 0; c < colours; c++) norm += acc[c] * acc[c];
    norm = sqrt(norm);
    if (norm > 0) {
        for (int c = 0; c < colours; c++) u[c] = acc[c] / norm;
        return;
    }
    double lum = 0; /* the (unit) gray axis, pointing away from the paper */
    for (int c = 0; c < colours; c++) lum += sw[c] * sw[c] * bg[c];
    for (int c = 0; c < colours; c++) u[c] = lum >= 128 ? -sw[c] : sw[c];
}

/* Ink of every pixel: its difference from the paper colour (median of the
 * border band) projected on the ink direction, 0..255, nothing below the
 * paper. A pixel blended between paper and ink gets the blend's share of
 * the ink, so antialiasing survives, in any polarity or pair of colours.
 * `ink` may be `px` itself (ink[i] is written only after pixel i, at or
 * before it, is read).
 * Returns the noise floor. The paper is rarely flat (scans, compression,
 * noise clipped at white), so its roughness is measured as the median
 * |difference| between horizontal neighbours over the whole image: edges
 * of strokes are a small minority of all pairs, so it stays robust however
 * the digit is placed. For Gaussian noise that median is 0.95 sigma, and
 * 3.2 times it ~3 sigma; for clean images it is 0, so they keep every pixel
 * exactly. */
static int ink_from_colour(const uint8_t *px, int stride, int colours, int w,
                           int h, uint8_t *ink) {
    int bg[3] = {0, 0, 0};
    double sw[3], u[3] = {0, 0, 0};
    channel_scales(colours, sw);
    band_median(px, stride, colours, w, h, bg);
    ink_direction(px, stride, colours, (size_t)w * h, bg, sw, u);
    size_t hist[256], pairs = 0;
    memset(hist, 0, sizeof hist);
    for (int y = 0; y < h; y++) {
        int left = 0;
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            const uint8_t *p = px + i * stride;
            double proj = 0;
            for (int c = 0; c < colours; c++) proj += sw[c] * (p[c] - bg[c]) * u[c];
            int v = (int)lround(proj);
            if (x > 0) {
                hist[min_int(abs(v - left), 255)]++;
                pairs++;
            }
            left = v;
            ink[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    return pairs ? (int)ceil(3.2 * hist_quantile(hist, pairs, 0.5)) : 0;
}

/* How an alpha channel takes part. */
typedef enum alpha_rule { ALPHA_IGNORE, ALPHA_IS_INK, ALPHA_COMPOSITE } alpha_rule;

/* Luma-weighted distance between two colours. */
static double colour_distance(const uint8_t *p, const int q[3], int colours) {
    double sw[3], s = 0;
    channel_scales(colours, sw);
    for (int c = 0; c < colours; c++) {
        double d = sw[c] * (p[c] - q[c]);
        s += d * d;
    }
    return sqrt(s);
}

/* The alpha rule. Transparency means "nothing painted here", so:
 *  - alpha that hardly varies (range < ALPHA_MIN_RANGE) says nothing:
 *    ignore it and read the colours;
 *  - if the painted pixels (alpha >= 128) are essentially one colour (at
 *    most 2% clearly different from their median), the colours hold no
 *    picture and the drawing lives in alpha alone: canvas exports with black
 *    or white strokes on a transparent canvas, RGB constant under an alpha
 *    mask, strokes cut out of an opaque sheet. Alpha is the ink channel,
 *    its polarity found like any gray image's;
 *  - if the painted pixels are a minority of the image, transparency is the
 *    background and whatever was painted is the drawing, in whatever
 *    colours: alpha is the ink channel again;
 *  - otherwise the painted part is itself a picture with its own paper and
 *    ink (a scan with transparent margins, ink half-transparent on opaque
 *    paper): it is composited over its own dominant (median) colour, so
 *    transparent areas read as paper, and the ink is found in the colours.
 * `paper` receives that dominant colour. */
static alpha_rule choose_alpha_rule(const image *img, int colours,
                                    int paper[3]) {
    const int ch = img->channels;
    const size_t n = (size_t)img->w * img->h;
    size_t hist[3][256], painted = 0, odd = 0;
    int lo = 255, hi = 0;
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->px + i * ch;
        lo = min_int(lo, p[ch - 1]);
        hi = max_int(hi, p[ch - 1]);
        if (p[ch - 1] < ALPHA_PAINTED) continue;
        for (int c = 0; c < colours; c++) hist[c][p[c]]++;
        painted++;
    }
    if (hi - lo < ALPHA_MIN_RANGE) return ALPHA_IGNORE;
    if (painted == 0 || painted * 2 < n) return ALPHA_IS_INK;
    for (int c = 0; c < colours; c++) paper[c] = hist_quantile(hist[c], painted, 0.5);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->px + i * ch;
        if (p[ch - 1] >= ALPHA_PAINTED &&
            colour_distance(p, paper, colours) > COLOUR_DIFFERENT)
            odd++;
    }
    return odd * 50 <= painted ? ALPHA_IS_INK : ALPHA_COMPOSITE;
}

/* Blends every pixel over `paper` in place (alpha itself is left alone). */
static void composite(image *img, int colours, const int paper[3]) {
    const int ch = img->channels;
    const size_t n = (size_t)img->w * img->h;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = img->px + i * ch;
        int a = p[ch - 1];
        for (int c = 0; c < colours; c++)
            p[c] = (uint8_t)((a * p[c] + (255 - a) * paper[c] + 127) / 255);
    }
}

/* Turns a decoded image into its ink channel, written over the first w*h
 * bytes of img->px. Returns the noise floor (see ink_from_colour). */
static int image_ink(image *img) {
    const int ch = img->channels;
    const int colours = ch >= 3 ? 3 : 1;
    int paper[3] = {0, 0, 0};
    alpha_rule rule = ch == 2 || ch == 4 ? choose_alpha_rule(img, colours, paper)
                                         : ALPHA_IGNORE;
    if (rule == ALPHA_IS_INK)
        return ink_from_colour(img->px + ch - 1, ch, 1, img->w, img->h, img->px);
    if (rule == ALPHA_COMPOSITE) composite(img, colours, paper);
    return ink_from_colour(img->px, ch, colours, img->w, img->h, img->px);
}

/* ---- cleaning the ink ------------------------------------------------------ */

static int max_value(const uint8_t *v, size_t n) {
    int m = 0;
    for (size_t i = 0; i < n; i++) m = max_int(m, v[i]);
    return m;
}

static void subtract_floor(uint8_t *ink, size_t n, int floor) {
    if (floor <= 0) return;
    for (size_t i = 0; i < n; i++) ink[i] = (uint8_t)max_int(0, ink[i] - floor);
}

/* Pixels >= level in row y, or (column) in column x. */
static int row_count(const uint8_t *ink, int w, int y, int level) {
    int k = 0;
    for (int x = 0; x < w; x++) k += ink[(size_t)y * w + x] >= level;
    return k;
}

static int col_count(const uint8_t *ink, int w, int h, int x, int level) {
    int k = 0;
    for (int y = 0; y < h; y++) k += ink[(size_t)y * w + x] >= level;
    return k;
}

/* Depth of band within which lines are examined as possible frame lines. */
static int frame_band(int w, int h) {
    return min_int(max_int(3, band_width(w, h)), min_int(w, h) / 4);
}

/* A frame (a rectangle drawn or scanned around the page) would be taken for
 * ink and shrink the digit to a speck inside it. It is recognised as
 * near-full lines (>= 90% inked) within the frame band on at least three
 * sides, so a tightly cropped digit whose bar touches one edge is never
 * cut, and erased together with whatever lies outside it. */
static void remove_frame(uint8_t *ink, int w, int h, int level) {
    int fb = frame_band(w, h), depth[4] = {0, 0, 0, 0}, sides = 0;
    for (int k = 0; k < fb; k++) {
        if (row_count(ink, w, k, level) * 10 >= w * 9) depth[0] = k + 1;
        if (row_count(ink, w, h - 1 - k, level) * 10 >= w * 9) depth[1] = k + 1;
        if (col_count(ink, w, h, k, level) * 10 >= h * 9) depth[2] = k + 1;
        if (col_count(ink, w, h, w - 1 - k, level) * 10 >= h * 9) depth[3] = k + 1;
    }
    for (int s = 0; s < 4; s++) sides += depth[s] > 0;
    if (sides < 3) return;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (y < depth[0] || y >= h - depth[1] || x < depth[2] ||
                x >= w - depth[3])
                ink[(size_t)y * w + x] = 0;
}

/* The smallest box holding every pixel >= level; 0 if there is none. */
static int ink_box(const uint8_t *ink, int w, int h, int level, box *bx) {
    box b = {w, h, 0, 0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (ink[(size_t)y * w + x] >= level) {
                b.x0 = min_int(b.x0, x);
                b.x1 = max_int(b.x1, x + 1);
                b.y0 = min_int(b.y0, y);
                b.y1 = max_int(b.y1, y + 1);
            }
    *bx = b;
    return b.x1 > b.x0;
}

/* Row and column profiles of the box: pixels >= level and their ink. */
typedef struct profile {
    int *rows, *cols;
    double *row_mass, *col_mass;
    double total;
} profile;

static void measure_profile(const uint8_t *ink, int w, box bx, int level,
                            profile *pr) {
    int bw = bx.x1 - bx.x0, bh = bx.y1 - bx.y0;
    memset(pr->rows, 0, sizeof *pr->rows * bh);
    memset(pr->cols, 0, sizeof *pr->cols * bw);
    memset(pr->row_mass, 0, sizeof *pr->row_mass * bh);
    memset(pr->col_mass, 0, sizeof *pr->col_mass * bw);
    pr->total = 0;
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) {
            int v = ink[(size_t)(bx.y0 + y) * w + bx.x0 + x];
            if (v < level) continue;
            pr->rows[y]++;
            pr->cols[x]++;
            pr->row_mass[y] += v;
            pr->col_mass[x] += v;
            pr->total += v;
        }
}

/* What an outlier group at one end of a profile must be. */
typedef struct group_rule {
    double total;  /* all the ink */
    int gap;       /* empty lines that must separate it from the rest */
    int long_line; /* pixels making a line "full" (a border strip) */
    int strip;     /* thickest such strip */
} group_rule;

/* Lines to drop at one end (dir +1: the start, -1: the end) of a profile of
 * `len` lines: the outermost groups of inked lines, with the gap after
 * them, when they are cut off from the rest by a clear gap and are either
 * specks (together under 2% of the ink) or a thin strip of full lines (a
 * scanner edge). Specks close to each other, as noise scatters them, go
 * together: the gap that counts is the first clear one. */
static int outer_group(const int *cnt, const double *mass, int len, int dir,
                       const group_rule *r) {
    int k = 0;
    double gm = 0;
    for (int first = 1; k < len; first = 0) {
        int start = k, all_long = 1;
        for (; k < len; k++) {
            int i = dir > 0 ? k : len - 1 - k;
            if (cnt[i] == 0) break;
            gm += mass[i];
            all_long &= cnt[i] >= r->long_line;
        }
        int end = k;
        while (k < len && cnt[dir > 0 ? k : len - 1 - k] == 0) k++;
        if (k == len) return 0;
        int cut_off = k - end >= r->gap;
        if (cut_off && first && all_long && end - start <= r->strip) return k;
        if (gm > 0.02 * r->total) return 0;
        if (cut_off) return k;
    }
    return 0;
}

/* Shrinks the box to its inked lines. */
static void tighten(const profile *pr, box *bx) {
    int bw = bx->x1 - bx->x0, bh = bx->y1 - bx->y0, a = 0, b = bh;
    while (a < b && pr->rows[a] == 0) a++;
    while (b > a && pr->rows[b - 1] == 0) b--;
    int c = 0, d = bw;
    while (c < d && pr->cols[c] == 0) c++;
    while (d > c && pr->cols[d - 1] == 0) d--;
    bx->y1 = bx->y0 + b;
    bx->y0 += a;
    bx->x1 = bx->x0 + d;
    bx->x0 += c;
}

/* Specks of dust and edge strips far from the digit would stretch its box
 * (and so shrink the digit). Outer groups of lines cut off by a gap of at
 * least max(2, 1/25 of the box) empty lines are dropped while they are
 * specks or strips; parts of the digit itself are far heavier than 2%. */
static digit_status trim_outliers(const char *name, const uint8_t *ink, int w,
                                  int h, int level, box *bx) {
    profile pr;
    size_t cells = (size_t)(w + h);
    pr.rows = malloc(sizeof(int) * cells);
    pr.row_mass = malloc(sizeof(double) * cells);
    if (!pr.rows || !pr.row_mass) {
        free(pr.rows);
        free(pr.row_mass);
        return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    }
    pr.cols = pr.rows + h;
    pr.col_mass = pr.row_mass + h;
    /* Each round drops at most one group, then tightens; at most 16 drops. */
    for (int round = 0;; round++) {
        measure_profile(ink, w, *bx, level, &pr);
        tighten(&pr, bx);
        if (round == 16) break;
        measure_profile(ink, w, *bx, level, &pr);
        int bw = bx->x1 - bx->x0, bh = bx->y1 - bx->y0;
        group_rule r = {pr.total, max_int(2, max_int(bw, bh) / 25), 0,
                        frame_band(w, h)};
        int d;
        r.long_line = (w * 9 + 9) / 10;
        if ((d = outer_group(pr.rows, pr.row_mass, bh, 1, &r)) > 0) bx->y0 += d;
        else if ((d = outer_group(pr.rows, pr.row_mass, bh, -1, &r)) > 0) bx->y1 -= d;
        else {
            r.long_line = (h * 9 + 9) / 10;
            if ((d = outer_group(pr.cols, pr.col_mass, bw, 1, &r)) > 0) bx->x0 += d;
            else if ((d = outer_group(pr.cols, pr.col_mass, bw, -1, &r)) > 0) bx->x1 -= d;
            else break;
        }
    }
    free(pr.rows);
    free(pr.row_mass);
    return DIGIT_OK;
}

/* ---- stroke width --------------------------------------------------------- */

/* Mean stroke width in the box, in pixels: twice the area over the
 * perimeter of the strokes binarised at `level` (a stroke of length L and
 * width W has area L*W and a perimeter of about 2L). */
static double stroke_width(const uint8_t *ink, int w, box bx, int level) {
    size_t area = 0, edges = 0;
    for (int y = bx.y0; y < bx.y1; y++)
        for (int x = bx.x0; x < bx.x1; x++) {
            if (ink[(size_t)y * w + x] < level) continue;
            area++;
            edges += x == bx.x0 || ink[(size_t)y * w + x - 1] < level;
            edges += x == bx.x1 - 1 || ink[(size_t)y * w + x + 1] < level;
            edges += y == bx.y0 || ink[(size_t)(y - 1) * w + x] < level;
            edges += y == bx.y1 - 1 || ink[(size_t)(y + 1) * w + x] < level;
        }
    return edges ? 2.0 * (double)area / (double)edges : 0.0;
}

/* Thin strokes: a 3 px pen line in a 200 px drawing would shrink to a faint
 * 0.4 px trace in the 20 px box, unlike anything in MNIST (stroke width
 * there, by this measure: median 2.0, 1st percentile 1.07). When the
 * scaled width would be under THIN_STROKE, the ink is dilated by r source
 * pixels so that it comes out TARGET_STROKE wide; dilation also grows the
 * box by r on each side, hence (W+2r)*BOX/(L+2r) = T solved for r. Never
 * when scaling up: strokes widen with the digit. */
static int thicken_radius(double width, int longer) {
    if (longer <= BOX || width * BOX / longer >= THIN_STROKE) return 0;
    double r = (TARGET_STROKE * longer - BOX * width) /
               (2.0 * BOX - 2.0 * TARGET_STROKE);
    return max_int(1, (int)ceil(r));
}

/* Thick strokes: a marker or a wide brush gives strokes that would come out
 * well over MNIST's usual width (by this measure, the 90th percentile is
 * 2.8, the 99th 3.8), and digits drawn too wide are read less accurately:
 * MNIST test digits redrawn with a pen ~1.5 px (of 28) wider lost 1.15
 * points of accuracy with the shipped model, 0.68 with this thinning
 * (tests/c/test_variants.c, "thick-strokes"). When the scaled width would
 * be over THICK_STROKE, the ink is eroded by r source pixels, aiming at
 * TARGET_STROKE; erosion shrinks the box by r on each side, hence
 * (W-2r)*BOX/(L-2r) = T solved for r, rounded down so that strokes thinner
 * than the mean are not wiped out. Never when scaling up, so a 28x28 MNIST
 * digit is kept as it is. */
static int thin_radius(double width, int longer) {
    if (longer <= BOX || width * BOX / longer <= THICK_STROKE) return 0;
    double r = (BOX * width - TARGET_STROKE * longer) /
               (2.0 * BOX - 2.0 * TARGET_STROKE);
    return max_int(0, (int)floor(r));
}

/* Running maximum over windows of 2r+1 samples of the n samples at line[0],
 * line[step], ..., in place (van Herk / Gil-Werman: three comparisons per
 * sample whatever r). Samples beyond the ends count as 0. ext, pre and suf
 * hold n + 2r bytes each. */
static void max_filter_line(uint8_t *line, size_t step, int n, int r,
                            uint8_t *ext, uint8_t *pre, uint8_t *suf) {
    const int k = 2 * r + 1, m = n + 2 * r;
    memset(ext, 0, (size_t)m);
    for (int i = 0; i < n; i++) ext[r + i] = line[(size_t)i * step];
    for (int b = 0; b < m; b += k) { /* blocks of k: maxima from each end */
        const int e = min_int(b + k, m);
        pre[b] = ext[b];
        for (int i = b + 1; i < e; i++) pre[i] = (uint8_t)max_int(pre[i - 1], ext[i]);
        suf[e - 1] = ext[e - 1];
        for (int i = e - 2; i >= b; i--) suf[i] = (uint8_t)max_int(suf[i + 1], ext[i]);
    }
    for (int i = 0; i < n; i++)
        line[(size_t)i * step] = (uint8_t)max_int(suf[i], pre[i + k - 1]);
}

/* A copy of the box with r px of margin (no ink), dilated by a (2r+1)^2
 * square, or eroded by it if `erode` (a running maximum of the inverted
 * ink: the margin, inverted, is what erodes the strokes at the box's
 * edges). Returns NULL if memory runs out. */
static uint8_t *morph_box(const uint8_t *ink, int w, box bx, int r, int erode) {
    const int bw = bx.x1 - bx.x0 + 2 * r, bh = bx.y1 - bx.y0 + 2 * r;
    const int longest = max_int(bw, bh) + 2 * r;
    uint8_t *out = calloc((size_t)bw * bh, 1);
    uint8_t *work = malloc((size_t)longest * 3);
    if (!out || !work) {
        free(out);
        free(work);
        return NULL;
    }
    for (int y = bx.y0; y < bx.y1; y++)
        memcpy(out + (size_t)(y - bx.y0 + r) * bw + r,
               ink + (size_t)y * w + bx.x0, (size_t)(bx.x1 - bx.x0));
    if (erode)
        for (size_t i = 0; i < (size_t)bw * bh; i++) out[i] = (uint8_t)(255 - out[i]);
    for (int y = 0; y < bh; y++)
        max_filter_line(out + (size_t)y * bw, 1, bw, r, work, work + longest,
                        work + 2 * longest);
    for (int x = 0; x < bw; x++)
        max_filter_line(out + x, (size_t)bw, bh, r, work, work + longest,
                        work + 2 * longest);
    if (erode)
        for (size_t i = 0; i < (size_t)bw * bh; i++) out[i] = (uint8_t)(255 - out[i]);
    free(work);
    return out;
}

/* ---- scaling ---------------------------------------------------------------- */

/* A 1-D resampling from m source samples to n <= BOX output samples: output
 * i is the sum of w[i*stride + k] * source[first[i] + k], k < count[i]. */
typedef struct taps {
    int first[BOX], count[BOX], stride;
    float *w;
} taps;

/* Downscaling averages areas: output i covers the source interval
 * [i*m/n, (i+1)*m/n) and each source sample counts by its overlap, so no
 * stroke is skipped and nothing aliases. Upscaling interpolates linearly
 * between sample centres. Equal sizes give the identity, which keeps an
 * MNIST digit exactly as it is. */
static int make_taps(int m, int n, taps *t) {
    const double scale = (double)m / n;
    t->stride = m > n ? (int)ceil(scale) + 2 : 2;
    t->w = malloc(sizeof(float) * (size_t)t->stride * n);
    if (!t->w) return 0;
    for (int i = 0; i < n; i++) {
        float *wi = t->w + (size_t)i * t->stride;
        if (m > n) {
            double a = i * scale, b = (i + 1) * scale;
            int j0 = (int)floor(a), j1 = min_int(m, (int)ceil(b));
            t->first[i] = j0;
            t->count[i] = j1 - j0;
            for (int j = j0; j < j1; j++)
                wi[j - j0] = (float)((fmin(b, j + 1.0) - fmax(a, (double)j)) / scale);
        } else {
            double x = fmin(fmax((i + 0.5) * scale - 0.5, 0.0), m - 1.0);
            int j0 = min_int((int)floor(x), m - 1);
            double f = x - j0;
            t->first[i] = j0;
            t->count[i] = j0 + 1 < m ? 2 : 1;
            wi[0] = (float)(1.0 - f);
            wi[1] = (float)f;
        }
    }
    return 1;
}

/* Resamples the bw x bh region at src (rows `stride` apart) to nw x nh,
 * rows first, then columns. */
static digit_status resample(const char *name, const uint8_t *src,
                             size_t stride, int bw, int bh, int nw, int nh,
                             float *patch) {
    taps tx = {.w = NULL}, ty = {.w = NULL};
    float *tmp = malloc(sizeof(float) * (size_t)bh * nw);
    digit_status st = DIGIT_OK;
    if (!tmp || !make_taps(bw, nw, &tx) || !make_taps(bh, nh, &ty)) {
        st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
        goto done;
    }
    for (int y = 0; y < bh; y++)
        for (int i = 0; i < nw; i++) {
            const uint8_t *s = src + (size_t)y * stride + tx.first[i];
            const float *wi = tx.w + (size_t)i * tx.stride;
            float v = 0;
            for (int k = 0; k < tx.count[i]; k++) v += wi[k] * s[k];
            tmp[(size_t)y * nw + i] = v;
        }
    for (int j = 0; j < nh; j++)
        for (int i = 0; i < nw; i++) {
            const float *wj = ty.w + (size_t)j * ty.stride;
            float v = 0;
            for (int k = 0; k < ty.count[j]; k++)
                v += wj[k] * tmp[(size_t)(ty.first[j] + k) * nw + i];
            patch[j * nw + i] = v;
        }
done:
    free(tmp);
    free(tx.w);
    free(ty.w);
    return st;
}

/* The box's ink scaled so its longer side is BOX px (the shorter rounded,
 * at least 1), thin strokes thickened or thick ones thinned first. `level`
 * is the ink that counts for the box (see preprocess_ink). */
static digit_status scale_box(const char *name, const uint8_t *ink, int w,
                              box bx, int top, int level, float *patch,
                              int *pw, int *ph) {
    int bw = bx.x1 - bx.x0, bh = bx.y1 - bx.y0;
    double width = stroke_width(ink, w, bx, (top + 1) / 2);
    int grow = thicken_radius(width, max_int(bw, bh));
    int shrink = grow ? 0 : thin_radius(width, max_int(bw, bh));
    int r = grow + shrink;
    const uint8_t *src = ink + (size_t)bx.y0 * w + bx.x0;
    size_t stride = (size_t)w;
    uint8_t *morphed = NULL;
    if (r > 0) {
        if (!(morphed = morph_box(ink, w, bx, r, shrink > 0)))
            return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
        int mw = bw + 2 * r, mh = bh + 2 * r;
        box m = {0, 0, mw, mh};
        /* Thinned ink has a smaller box; should nothing be left of it
         * (a blob rather than strokes), the ink is used as it was. */
        if (shrink && !ink_box(morphed, mw, mh, level, &m)) {
            free(morphed);
            morphed = NULL;
        } else {
            src = morphed + (size_t)m.y0 * mw + m.x0;
            stride = (size_t)mw;
            bw = m.x1 - m.x0;
            bh = m.y1 - m.y0;
        }
    }
    int longer = max_int(bw, bh);
    *pw = bw == longer ? BOX : max_int(1, (int)lround((double)bw * BOX / longer));
    *ph = bh == longer ? BOX : max_int(1, (int)lround((double)bh * BOX / longer));
    digit_status st = resample(name, src, stride, bw, bh, *pw, *ph, patch);
    free(morphed);
    return st;
}

/* MNIST centring: the patch goes where its intensity-weighted centre of
 * mass (in pixel indices) lands on pixel (14,14); on MNIST itself that
 * centre lies within [13.5, 14.5] on both axes, i.e. a whole-pixel shift
 * of the nearest kind. Anything shifted off the canvas is clipped. Then the
 * strongest ink is made 255. Returns 0 if no ink is left. */
static int place_by_mass(const float *patch, int pw, int ph, uint8_t *out) {
    double mass = 0, mx = 0, my = 0;
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            double v = patch[y * pw + x];
            mass += v;
            mx += v * x;
            my += v * y;
        }
    if (!(mass > 0)) return 0;
    int ox = (int)floor(SIDE / 2 - mx / mass + 0.5);
    int oy = (int)floor(SIDE / 2 - my / mass + 0.5);
    float canvas[SIDE * SIDE] = {0}, top = 0;
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            int cx = x + ox, cy = y + oy;
            if (cx < 0 || cy < 0 || cx >= SIDE || cy >= SIDE) continue;
            canvas[cy * SIDE + cx] = patch[y * pw + x];
            if (patch[y * pw + x] > top) top = patch[y * pw + x];
        }
    if (!(top > 0)) return 0;
    for (int i = 0; i < SIDE * SIDE; i++) {
        float v = canvas[i] * 255.0f / top + 0.5f;
        out[i] = (uint8_t)(v >= 255.0f ? 255 : v <= 0.0f ? 0 : (int)v);
    }
    return 1;
}

/* The common back half: ink (w x h, modified in place) with its noise
 * floor -> 784 MNIST-style pixels. `out` is written only on success, and
 * *used receives the box the digit was taken from. */
static digit_status preprocess_ink(const char *name, uint8_t *ink, int w,
                                   int h, int noise, uint8_t *out, box *used) {
    const size_t n = (size_t)w * h;
    subtract_floor(ink, n, noise);
    int top = max_value(ink, n);
    if (top < MIN_CONTRAST) return no_ink(name);
    remove_frame(ink, w, h, max_int(MIN_CONTRAST, top / 4));
    top = max_value(ink, n);
    if (top < MIN_CONTRAST) return no_ink(name);
    /* The box follows ink of at least 1/20 of the strongest: fainter halos
     * are kept inside it but do not stretch it (on MNIST the box is the
     * same at any threshold up to 16 of 255). */
    int level = max_int(1, top / 20);
    box bx;
    if (!ink_box(ink, w, h, level, &bx)) return no_ink(name);
    digit_status st = trim_outliers(name, ink, w, h, level, &bx);
    float patch[BOX * BOX];
    int pw = 0, ph = 0;
    if (st == DIGIT_OK) st = scale_box(name, ink, w, bx, top, level, patch, &pw, &ph);
    if (st != DIGIT_OK) return st;
    uint8_t result[SIDE * SIDE];
    if (!place_by_mass(patch, pw, ph, result)) return no_ink(name);
    memcpy(out, result, sizeof result);
    *used = bx;
    return DIGIT_OK;
}


/* ---- photos: the paper's light divided away ------------------------------- */

/*
 * A photo of a page is lit unevenly (falloff towards a corner, a shadow
 * across it) and its paper may be tinted, so the border's colour is not
 * the paper's everywhere, and the clean path would take whole shaded areas
 * for ink. The photo path works on a luma copy reduced by an integer factor
 * to a shorter side of WORK_SIDE..2*WORK_SIDE-1 px (a digit of even 10% of
 * the page keeps 50 px or more, and block averaging reduces sensor noise):
 *   paper    a grayscale opening (a minimum, then a maximum, over a square
 *            window wider than any stroke) of the ink-side luma keeps what
 *            is broad (falloff, vignetting, a shadow's step) and drops
 *            strokes; dividing the pixels by it gives flat paper;
 *   ink      pixels clearly darker than their own paper (a threshold over
 *            the noise, with hysteresis so that noise alone makes nothing);
 *   lines    thin, long, nearly straight runs (ruled lines, a margin line)
 *            are found, fitted and erased along their whole length, also
 *            where they pass through the digit;
 *   marks    the remaining connected ink, minus specks and whatever is
 *            line-like or page-sized, grouped into marks; the best mark
 *            (most ink, nearer the centre) is the digit.
 * An image goes this way only when its paper is visibly uneven (FLAT_SPREAD);
 * clean drawings, scans and exports keep the clean path exactly.
 */

#define WORK_SIDE 512     /* shorter side of the working copy, at least */
#define MIN_PHOTO_SIDE 200 /* shorter side under which an image is no photo */
#define FLAT_SPREAD 6     /* paper brightness range (of 255) that is uneven */
#define PAPER_WINDOW 0.07 /* opening radius, of the shorter side */
#define STROKE_WINDOW 0.035 /* radius that removes pen strokes, likewise */
#ifndef RECONSTRUCT_ROUNDS
#define RECONSTRUCT_ROUNDS 4
#endif

typedef struct work {
    int w, h, f;  /* size, and the reduction factor from the image */
    uint8_t *v;   /* w x h: luma, then the flattened ink */
} work;

/* 3x3 box average in place (reduces noise before the opening and the
 * threshold; strokes at working size are 4 px wide or more). */
static int smooth3(uint8_t *v, int w, int h) {
    uint8_t *t = malloc((size_t)w * h);
    if (!t) return 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int s = 0, n = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    s += v[(size_t)yy * w + xx];
                    n++;
                }
            t[(size_t)y * w + x] = (uint8_t)((s + n / 2) / n);
        }
    memcpy(v, t, (size_t)w * h);
    free(t);
    return 1;
}

/* The running maximum of radius r down the columns of a w x h map, all
 * columns at once (the same van Herk scheme as max_filter_line, on whole
 * rows, so that memory is read in order). */
static int max_filter_columns(uint8_t *m, int w, int h, int r) {
    const int k = 2 * r + 1, rows = h + 2 * r;
    const size_t W = (size_t)w;
    uint8_t *pre = malloc(W * rows), *suf = malloc(W * rows);
    if (!pre || !suf) {
        free(pre);
        free(suf);
        return 0;
    }
    /* row j of the extended map: 0 for j < r or j >= h + r, else m's j - r */
#define EXT(j) ((j) < r || (j) >= h + r ? NULL : m + W * (size_t)((j) - r))
    for (int b = 0; b < rows; b += k) {
        const int e = min_int(b + k, rows);
        for (int j = b; j < e; j++) {
            const uint8_t *src = EXT(j);
            uint8_t *p = pre + W * j;
            if (j == b) {
                if (src) memcpy(p, src, W);
                else memset(p, 0, W);
            } else {
                const uint8_t *q = p - W;
                if (src) for (size_t x = 0; x < W; x++) p[x] = max_u8(q[x], src[x]);
                else memcpy(p, q, W);
            }
        }
        for (int j = e - 1; j >= b; j--) {
            const uint8_t *src = EXT(j);
            uint8_t *p = suf + W * j;
            if (j == e - 1) {
                if (src) memcpy(p, src, W);
                else memset(p, 0, W);
            } else {
                const uint8_t *q = p + W;
                if (src) for (size_t x = 0; x < W; x++) p[x] = max_u8(q[x], src[x]);
                else memcpy(p, q, W);
            }
        }
    }
#undef EXT
    for (int y = 0; y < h; y++) {
        const uint8_t *a = suf + W * y, *b = pre + W * (size_t)(y + k - 1);
        uint8_t *o = m + W * y;
        for (size_t x = 0; x < W; x++) o[x] = max_u8(a[x], b[x]);
    }
    free(pre);
    free(suf);
    return 1;
}

static void transpose(const uint8_t *src, int w, int h, uint8_t *dst);

/* Square running maximum (or minimum) of radius r over the whole map: down
 * the columns, then down the columns of the transpose (the rows). */
static int filter_square(uint8_t *m, int w, int h, int r, int minimum) {
    const size_t n = (size_t)w * h;
    uint8_t *t = malloc(n);
    if (!t) return 0;
    if (minimum)
        for (size_t i = 0; i < n; i++) m[i] = (uint8_t)(255 - m[i]);
    int ok = max_filter_columns(m, w, h, r);
    if (ok) {
        transpose(m, w, h, t);
        ok = max_filter_columns(t, h, w, r);
        transpose(t, h, w, m);
    }
    if (minimum)
        for (size_t i = 0; i < n; i++) m[i] = (uint8_t)(255 - m[i]);
    free(t);
    return ok;
}

/* Grayscale opening: what is broader than 2r+1 px survives. */
static int opening(uint8_t *m, int w, int h, int r) {
    return filter_square(m, w, h, r, 1) && filter_square(m, w, h, r, 0);
}

/* The luma of img reduced by f x f block averages (ink on the dark side:
 * `dark`), into wk->v. Partial blocks at the right and bottom are dropped. */
static int make_work(const image *img, int f, work *wk) {
    const int ch = img->channels, colours = ch >= 3 ? 3 : 1;
    wk->f = f;
    wk->w = img->w / f;
    wk->h = img->h / f;
    wk->v = malloc((size_t)wk->w * wk->h);
    uint32_t *acc = calloc((size_t)wk->w, sizeof *acc);
    if (!wk->v || !acc) {
        free(acc);
        return 0;
    }
    for (int y = 0; y < wk->h * f; y++) {
        const uint8_t *row = img->px + (size_t)y * img->w * ch;
        for (int x = 0; x < wk->w * f; x++) {
            const uint8_t *p = row + (size_t)x * ch;
            acc[x / f] += colours == 3 ? (uint32_t)(299 * p[0] + 587 * p[1] + 114 * p[2])
                                       : 1000u * p[0];
        }
        if ((y + 1) % f) continue;
        uint8_t *dst = wk->v + (size_t)(y / f) * wk->w;
        const uint32_t cells = 1000u * (uint32_t)f * (uint32_t)f;
        for (int x = 0; x < wk->w; x++) dst[x] = (uint8_t)((acc[x] + cells / 2) / cells);
        memset(acc, 0, sizeof *acc * wk->w);
    }
    free(acc);
    return 1;
}

/* The q-quantile of n bytes. */
static int quantile_u8(const uint8_t *v, size_t n, double q) {
    size_t hist[256] = {0};
    for (size_t i = 0; i < n; i++) hist[v[i]]++;
    return hist_quantile(hist, n, q);
}

/* The q-quantile of the border band's bytes (see band_width). */
static int band_quantile(const uint8_t *v, int w, int h, double q) {
    size_t hist[256] = {0}, total = 0;
    int b = band_width(w, h), span[2][2];
    for (int y = 0; y < h; y++) {
        int spans = band_spans(w, h, b, y, span);
        for (int k = 0; k < spans; k++)
            for (int x = span[k][0]; x < span[k][1]; x++, total++) hist[v[(size_t)y * w + x]]++;
    }
    return hist_quantile(hist, total, q);
}

/* How much the paper's brightness varies along the border band, where the
 * clean path takes the paper to be of one colour: the spread (2nd to 98th
 * percentile) there of an opening as wide as the band, which removes
 * lines and strokes running into it, leaving the light. (Over the whole page, a drawing that
 * fills it with thick strokes would count as uneven light.) The ink's side
 * is taken from the border, as the clean path does. -1 if memory runs out. */
static int paper_spread(const uint8_t *lum, int w, int h) {
    const size_t n = (size_t)w * h;
    uint8_t *b = malloc(n);
    if (!b) return -1;
    int bg[3] = {0, 0, 0};
    double sw[3] = {1, 1, 1}, u[3] = {0, 0, 0};
    band_median(lum, 1, 1, w, h, bg);
    ink_direction(lum, 1, 1, n, bg, sw, u);
    for (size_t i = 0; i < n; i++) b[i] = u[0] <= 0 ? (uint8_t)(255 - lum[i]) : lum[i];
    int spread = -1;
    if (opening(b, w, h, max_int(1, band_width(w, h))))
        spread = band_quantile(b, w, h, 0.98) - band_quantile(b, w, h, 0.02);
    free(b);
    return spread;
}

/* Grayscale reconstruction by dilation of `marker` under `mask`, in
 * place: every plateau of the mask that the marker reaches anywhere is
 * restored whole. After an opening, this gives back broad areas that the
 * window did not fit everywhere (a shadow's wedge in a corner of the page)
 * while strokes, which the marker meets only at the paper's level, stay
 * removed. Raster and anti-raster sweeps, at most 4 pairs: enough for
 * the shapes of light and shadow, which are convex or nearly; more would
 * only creep along noise. */
/* One raster sweep of reconstruct: each pixel takes the largest of itself
 * and its neighbours already swept (left, and the row above), capped by
 * the mask. Returns whether anything changed. */
static int sweep_forward(uint8_t *m, const uint8_t *mask, int w, int h) {
    int changed = 0;
    for (int y = 0; y < h; y++) {
        uint8_t *row = m + (size_t)y * w;
        const uint8_t *up = y ? row - w : NULL, *cap = mask + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            uint8_t v = row[x];
            if (x) v = max_u8(v, row[x - 1]);
            if (up) {
                v = max_u8(v, up[x]);
                if (x) v = max_u8(v, up[x - 1]);
                if (x + 1 < w) v = max_u8(v, up[x + 1]);
            }
            if (v > cap[x]) v = cap[x];
            if (v != row[x]) row[x] = v, changed = 1;
        }
    }
    return changed;
}

/* The same from the last pixel back (right, and the row below). */
static int sweep_backward(uint8_t *m, const uint8_t *mask, int w, int h) {
    int changed = 0;
    for (int y = h - 1; y >= 0; y--) {
        uint8_t *row = m + (size_t)y * w;
        const uint8_t *down = y + 1 < h ? row + w : NULL, *cap = mask + (size_t)y * w;
        for (int x = w - 1; x >= 0; x--) {
            uint8_t v = row[x];
            if (x + 1 < w) v = max_u8(v, row[x + 1]);
            if (down) {
                v = max_u8(v, down[x]);
                if (x) v = max_u8(v, down[x - 1]);
                if (x + 1 < w) v = max_u8(v, down[x + 1]);
            }
            if (v > cap[x]) v = cap[x];
            if (v != row[x]) row[x] = v, changed = 1;
        }
    }
    return changed;
}

static void reconstruct(uint8_t *marker, const uint8_t *mask, int w, int h) {
    for (int round = 0; round < RECONSTRUCT_ROUNDS; round++) {
        int changed = sweep_forward(marker, mask, w, h);
        changed |= sweep_backward(marker, mask, w, h);
        if (!changed) break;
    }
}

/* The paper under ink-side luma `ink`: an opening with a window wider
 * than strokes, then reconstructed (see reconstruct) under a narrower
 * opening. The narrower one has already removed pen strokes, so the
 * reconstruction restores a shadow's wedge but cannot climb from a shadow
 * into a stroke that crosses its edge (which would take the stroke's part
 * in the light for paper). */
static uint8_t *paper_of(const uint8_t *ink, int w, int h) {
    const size_t n = (size_t)w * h;
    const int shorter = min_int(w, h);
    const int r = max_int(2, (int)lround(PAPER_WINDOW * shorter));
    const int r_mask = max_int(1, (int)lround(STROKE_WINDOW * shorter));
    uint8_t *paper = malloc(n), *mask = malloc(n);
    int ok = paper && mask;
    if (ok) {
        memcpy(paper, ink, n);
        memcpy(mask, ink, n);
        ok = opening(paper, w, h, r) && opening(mask, w, h, r_mask);
    }
    if (ok) reconstruct(paper, mask, w, h);
    free(mask);
    if (!ok) {
        free(paper);
        return NULL;
    }
    return paper;
}

/* How one side of the paper looks: the median residual over the paper
 * (the paper is most of the page, so on the ink's side this is about 0;
 * on the other, areas of paper between dark lines count as "features"
 * and it is large), and the energy of what stands out beyond it. */
typedef struct side {
    uint8_t *paper;
    int median;
    double energy;
} side;

static int side_detail(const uint8_t *ink, int w, int h, uint8_t *scratch, side *sd) {
    const size_t n = (size_t)w * h;
    if (!(sd->paper = paper_of(ink, w, h))) return 0;
    for (size_t i = 0; i < n; i++) scratch[i] = (uint8_t)max_int(0, ink[i] - sd->paper[i]);
    sd->median = quantile_u8(scratch, n, 0.5);
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        int d = scratch[i] - sd->median - 6;
        if (d > 0) e += (double)d * d;
    }
    sd->energy = e;
    return 1;
}

/* Which side of the paper ink lies: the one where the paper is flat
 * underneath (see side), else dark ink, unless the page is dark and more
 * stands out on the light side. (The
 * border's median, which the clean path uses, is no guide when the border
 * itself is shaded.) On return `lum` is turned to the ink's side (255 -
 * luma for dark ink), *dark says which, and *paper is the paper under it. */
static int ink_side(uint8_t *lum, int w, int h, int *dark, uint8_t **paper) {
    const size_t n = (size_t)w * h;
    uint8_t *neg = calloc(n, 1), *scratch = malloc(n);
    side d = {NULL, 0, 0}, l = {NULL, 0, 0};
    int ok = neg && scratch;
    if (ok) {
        for (size_t i = 0; i < n; i++) neg[i] = (uint8_t)(255 - lum[i]);
        ok = side_detail(neg, w, h, scratch, &d) && side_detail(lum, w, h, scratch, &l);
    }
    if (ok) {
        /* Light ink needs a dark page (chalk on a board, a negative). */
        int dark_page = quantile_u8(lum, n, 0.5) < 128;
        if (abs(d.median - l.median) > 4) *dark = d.median < l.median;
        else *dark = !dark_page || d.energy >= l.energy;
        if (*dark) memcpy(lum, neg, n);
        *paper = *dark ? d.paper : l.paper;
        free(*dark ? l.paper : d.paper);
    } else {
        free(d.paper);
        free(l.paper);
    }
    free(neg);
    free(scratch);
    return ok;
}

/* Flat-field: ink = how much darker (or, light ink, brighter) each pixel
 * is than its own paper, relative to the paper: 255 * (1 - L / P) for dark
 * ink, the plain difference for light ink on dark paper. */
static int flatten(uint8_t *ink, const uint8_t *paper, int w, int h, int dark) {
    const size_t n = (size_t)w * h;
    uint8_t *diff = malloc(n);
    if (!diff) return 0;
    /* The opening sits a little below the paper (it keeps the noise's
     * low side); the paper's typical residual is that offset. */
    for (size_t i = 0; i < n; i++) diff[i] = (uint8_t)max_int(0, ink[i] - paper[i]);
    const int offset = quantile_u8(diff, n, 0.5);
    for (size_t i = 0; i < n; i++) {
        int d = ink[i] - paper[i] - offset;
        int bright = 255 - paper[i] - offset; /* the paper's luma, dark ink */
        int v = d <= 0 ? 0 : dark ? d * 255 / max_int(bright, 24) : d;
        ink[i] = (uint8_t)min_int(v, 255);
    }
    free(diff);
    return 1;
}

/* ---- photos: lines ---------------------------------------------------------- */

/* Length of the vertical run of mask pixels through each mask pixel. */
static void vertical_runs(const uint8_t *mask, int w, int h, uint16_t *run) {
    for (int x = 0; x < w; x++)
        for (int y = 0; y < h;) {
            if (!mask[(size_t)y * w + x]) {
                run[(size_t)y * w + x] = 0;
                y++;
                continue;
            }
            int y1 = y;
            while (y1 < h && mask[(size_t)y1 * w + x]) y1++;
            for (int k = y; k < y1; k++) run[(size_t)k * w + x] = (uint16_t)min_int(y1 - y, 65535);
            y = y1;
        }
}

#define SLOPES 17          /* tilts tried: -SLOPE_MAX .. SLOPE_MAX */
#define SLOPE_MAX 0.04     /* about 2.3 degrees */
#define LINE_COVER 0.3     /* share of the width a line's thin pixels cover */

static double slope_of(int k) { return SLOPE_MAX * (2.0 * k / (SLOPES - 1) - 1.0); }

/* Votes of the thin pixels for lines y = a + b x, one histogram of a per
 * tilt b (a Hough transform restricted to nearly horizontal lines), each
 * bin summed with its neighbours so that a line 2-3 px thick peaks. */
static int *line_votes(const uint8_t *thin, int w, int h, int margin, int bins) {
    int *raw = calloc((size_t)SLOPES * bins, sizeof *raw);
    int *sum = calloc((size_t)SLOPES * bins, sizeof *sum);
    if (!raw || !sum) {
        free(raw);
        free(sum);
        return NULL;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!thin[(size_t)y * w + x]) continue;
            for (int k = 0; k < SLOPES; k++)
                raw[(size_t)k * bins + (int)lround(y - slope_of(k) * x) + margin]++;
        }
    for (int k = 0; k < SLOPES; k++)
        for (int a = 1; a + 1 < bins; a++) {
            const int *r = raw + (size_t)k * bins + a;
            sum[(size_t)k * bins + a] = r[-1] + r[0] + r[1];
        }
    free(raw);
    return sum;
}

/* Erases nearly horizontal ruled lines from the ink. Thin pixels (a
 * vertical run of at most tmax) vote for lines; the tilt with the
 * strongest votes is the page's, and each of its intercepts whose thin
 * pixels cover LINE_COVER of the width is a line. Every thin pixel on such
 * a line is erased: all of a line, however faint and broken, also where it
 * crosses the digit's loops, while strokes crossing it are not thin there
 * and stay. A digit's own strokes are several times thicker than tmax. */
static int erase_lines(uint8_t *ink, int w, int h, int level, int tmax) {
    const size_t n = (size_t)w * h;
    const int margin = (int)ceil(SLOPE_MAX * w) + 2, bins = h + 2 * margin;
    uint8_t *thin = malloc(n);
    uint16_t *run = malloc(sizeof *run * n);
    int *votes = NULL, ok = thin && run;
    if (!ok) goto done;
    for (size_t i = 0; i < n; i++) thin[i] = ink[i] >= level;
    vertical_runs(thin, w, h, run);
    for (size_t i = 0; i < n; i++) thin[i] = thin[i] && run[i] <= 2 * tmax;
    if (!(votes = line_votes(thin, w, h, margin, bins))) {
        ok = 0;
        goto done;
    }
    const int need = (int)(LINE_COVER * w);
    int best = SLOPES / 2;
    double score = -1;
    for (int k = 0; k < SLOPES; k++) {
        double sk = 0;
        for (int a = 0; a < bins; a++) {
            int v = votes[(size_t)k * bins + a];
            if (v >= need) sk += (double)v * v;
        }
        if (sk > score) score = sk, best = k;
    }
    if (score <= 0) goto done;
    const int *v = votes + (size_t)best * bins;
    /* Thin means up to twice tmax: blur, noise and flattening thicken a
     * line here and there; a stroke crossing it runs much longer. */
    const double b = slope_of(best), reach = tmax + 1.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            if (ink[i] < level || run[i] > 2 * tmax) continue;
            double at = y - b * x + margin;
            int lo = max_int(1, (int)floor(at - reach)), hi = min_int(bins - 2, (int)ceil(at + reach));
            for (int a = lo; a <= hi; a++)
                if (v[a] >= need && v[a] >= v[a - 1] && v[a] >= v[a + 1] &&
                    fabs(at - a) <= reach) {
                    ink[i] = 0;
                    break;
                }
        }
done:
    free(thin);
    free(run);
    free(votes);
    return ok;
}

static void transpose(const uint8_t *src, int w, int h, uint8_t *dst) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) dst[(size_t)x * h + y] = src[(size_t)y * w + x];
}

/* Horizontal lines, then vertical ones (a margin line) on the transpose. */
static int erase_all_lines(uint8_t *ink, int w, int h, int level, int tmax) {
    uint8_t *t = malloc((size_t)w * h);
    if (!t) return 0;
    int ok = erase_lines(ink, w, h, level, tmax);
    if (ok) {
        transpose(ink, w, h, t);
        ok = erase_lines(t, h, w, level, tmax);
        if (ok) transpose(t, h, w, ink);
    }
    free(t);
    return ok;
}

/* ---- photos: marks ---------------------------------------------------------- */

typedef struct part {
    box bx;
    double mass;
    int area, peak, group;
} part;

typedef struct parts {
    part *p;
    int n, cap;
    uint32_t *label; /* per pixel: 0, or 1 + the part's index */
} parts;

/* 8-connected parts of ink >= level holding at least one pixel >= seed. */
static int label_parts(const uint8_t *ink, int w, int h, int level, int seed,
                       parts *ps) {
    const size_t n = (size_t)w * h;
    uint32_t *st = malloc(sizeof *st * n);
    ps->label = calloc(n, sizeof *ps->label);
    if (!st || !ps->label) {
        free(st);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (ink[i] < level || ps->label[i]) continue;
        if (ps->n == ps->cap) {
            int cap = ps->cap ? ps->cap * 2 : 256;
            part *grown = realloc(ps->p, sizeof *grown * cap);
            if (!grown) {
                free(st);
                return 0;
            }
            ps->p = grown;
            ps->cap = cap;
        }
        part *pt = &ps->p[ps->n];
        *pt = (part){{w, h, 0, 0}, 0, 0, 0, -1};
        uint32_t id = (uint32_t)ps->n + 1;
        /* Breadth first: the queue ends up holding the part's pixels. */
        size_t head = 0, tail = 0;
        st[tail++] = (uint32_t)i;
        ps->label[i] = id;
        while (head < tail) {
            uint32_t j = st[head++];
            int x = (int)(j % (uint32_t)w), y = (int)(j / (uint32_t)w);
            pt->bx.x0 = min_int(pt->bx.x0, x), pt->bx.x1 = max_int(pt->bx.x1, x + 1);
            pt->bx.y0 = min_int(pt->bx.y0, y), pt->bx.y1 = max_int(pt->bx.y1, y + 1);
            pt->mass += ink[j];
            pt->area++;
            pt->peak = max_int(pt->peak, ink[j]);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    size_t k = (size_t)yy * w + xx;
                    if (ink[k] < level || ps->label[k]) continue;
                    ps->label[k] = id;
                    st[tail++] = (uint32_t)k;
                }
        }
        if (pt->peak >= seed) ps->n++;
        else /* noise: marked as seen, and unlabelled at the end */
            for (size_t k = 0; k < tail; k++) ps->label[st[k]] = UINT32_MAX;
    }
    for (size_t i = 0; i < n; i++)
        if (ps->label[i] == UINT32_MAX) ps->label[i] = 0;
    free(st);
    return 1;
}

/* What a part is: a possible stroke of a digit, or not. Specks are tiny;
 * lines and shadow edges are long and thin, page-sized parts are the
 * paper's own (a fold, a page border, the rest of a shadow). */
static int is_stroke_part(const part *pt, int w, int h) {
    int bw = pt->bx.x1 - pt->bx.x0, bh = pt->bx.y1 - pt->bx.y0;
    int shorter = min_int(w, h), longer = max_int(bw, bh), thin = min_int(bw, bh);
    if (longer * 40 < shorter) return 0;                         /* speck */
    if ((bw * 2 >= w || bh * 2 >= h) && thin * 12 < shorter) return 0; /* line */
    if (bw * 10 >= w * 7 && bh * 10 >= h * 7) return 0;          /* page-sized */
    /* Thin slivers along the page's edge: what an opening leaves where a
     * shadow's edge meets the border. */
    int at_edge = pt->bx.x0 == 0 || pt->bx.y0 == 0 || pt->bx.x1 == w || pt->bx.y1 == h;
    if (at_edge && (double)pt->area < 0.15 * bw * bh) return 0;
    return 1;
}

/* Gap between two boxes (0 if they touch or overlap), the larger axis. */
static int box_gap(box a, box b) {
    int gx = max_int(0, max_int(a.x0 - b.x1, b.x0 - a.x1));
    int gy = max_int(0, max_int(a.y0 - b.y1, b.y0 - a.y1));
    return max_int(gx, gy);
}

static box box_union(box a, box b) {
    return (box){min_int(a.x0, b.x0), min_int(a.y0, b.y0), max_int(a.x1, b.x1),
                 max_int(a.y1, b.y1)};
}

static int box_longer(box b) { return max_int(b.x1 - b.x0, b.y1 - b.y0); }

/* A mark: stroke parts close together (a digit's strokes may be broken
 * by faint ink or by an erased line). */
typedef struct mark {
    box bx;
    double mass;
} mark;

/* Groups the stroke parts into marks: parts whose gap is under 1/8 of
 * the larger one's longer side join, until nothing changes. Returns the
 * number of marks, in marks[] (as many as there are stroke parts). */
static int group_marks(parts *ps, int w, int h, mark *marks) {
    int m = 0;
    for (int i = 0; i < ps->n; i++) {
        part *pt = &ps->p[i];
        if (!is_stroke_part(pt, w, h)) continue;
        pt->group = m;
        marks[m++] = (mark){pt->bx, pt->mass};
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int a = 0; a < m; a++)
            for (int b = a + 1; b < m; b++) {
                int reach = max_int(2, max_int(box_longer(marks[a].bx), box_longer(marks[b].bx)) / 8);
                if (box_gap(marks[a].bx, marks[b].bx) > reach) continue;
                marks[a].bx = box_union(marks[a].bx, marks[b].bx);
                marks[a].mass += marks[b].mass;
                for (int i = 0; i < ps->n; i++)
                    if (ps->p[i].group == b) ps->p[i].group = a;
                    else if (ps->p[i].group == m - 1) ps->p[i].group = b;
                marks[b] = marks[--m];
                changed = 1;
                b--;
            }
    }
    return m;
}

/* The best mark: most ink, discounted by distance from the centre (people
 * aim the camera at what they mean). */
static int best_mark(const mark *marks, int m, int w, int h) {
    int best = -1;
    double score = 0;
    for (int i = 0; i < m; i++) {
        double cx = (marks[i].bx.x0 + marks[i].bx.x1) / 2.0 / w - 0.5;
        double cy = (marks[i].bx.y0 + marks[i].bx.y1) / 2.0 / h - 0.5;
        double s = marks[i].mass * (1.0 - 0.5 * sqrt(cx * cx + cy * cy));
        if (best < 0 || s > score) best = i, score = s;
    }
    return best;
}

/* Marks that count as digit-sized: at least 4% of the page's shorter side
 * and half the best mark's size, with a fifth of its ink. */
static int count_marks(const mark *marks, int m, int best, int w, int h) {
    int k = 0, shorter = min_int(w, h), size = box_longer(marks[best].bx);
    for (int i = 0; i < m; i++) {
        int s = box_longer(marks[i].bx);
        k += s * 25 >= shorter && s * 2 >= size && marks[i].mass * 5 >= marks[best].mass;
    }
    return k;
}

/* The ink of the chosen parts (and a 1 px fringe around them, for their
 * soft edges) inside `bx`, copied out as a crop of its own. */
static uint8_t *crop_parts(const uint8_t *ink, const parts *ps, int w, int h,
                           box bx, int group, int any_part) {
    const int cw = bx.x1 - bx.x0, chh = bx.y1 - bx.y0;
    uint8_t *c = calloc((size_t)cw * chh, 1);
    if (!c) return NULL;
    for (int y = bx.y0; y < bx.y1; y++)
        for (int x = bx.x0; x < bx.x1; x++) {
            int chosen = 0;
            for (int dy = -1; dy <= 1 && !chosen; dy++)
                for (int dx = -1; dx <= 1 && !chosen; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    uint32_t l = ps->label[(size_t)yy * w + xx];
                    chosen = l && (any_part ? (int)l - 1 == any_part - 1
                                            : ps->p[l - 1].group == group);
                }
            if (chosen) c[(size_t)(y - bx.y0) * cw + x - bx.x0] = ink[(size_t)y * w + x];
        }
    return c;
}

/* The noise floor of the flattened ink, as ink_from_colour measures it. */
static int ink_noise(const uint8_t *ink, int w, int h) {
    size_t hist[256] = {0}, pairs = 0;
    for (int y = 0; y < h; y++)
        for (int x = 1; x < w; x++) {
            hist[abs(ink[(size_t)y * w + x] - ink[(size_t)y * w + x - 1])]++;
            pairs++;
        }
    return pairs ? (int)ceil(3.2 * hist_quantile(hist, pairs, 0.5)) : 0;
}

/* From the flattened ink of the working copy to the digit's crop and what
 * was found. *crop is malloc'd, *cbx its box in the working copy. */
static digit_status find_digit(const char *name, uint8_t *ink, int w, int h,
                               uint8_t **crop, box *cbx, image_found *found) {
    const int level = max_int(MIN_CONTRAST / 2 + 2, ink_noise(ink, w, h) * 3 / 2);
    const int tmax = max_int(4, min_int(w, h) / 96);
    if (!erase_all_lines(ink, w, h, level, tmax))
        return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    parts ps = {NULL, 0, 0, NULL};
    mark *marks = NULL;
    digit_status st = DIGIT_OK;
    if (!label_parts(ink, w, h, level, 2 * level, &ps) ||
        !(marks = malloc(sizeof *marks * (size_t)(ps.n ? ps.n : 1)))) {
        st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
        goto done;
    }
    int m = group_marks(&ps, w, h, marks), best = best_mark(marks, m, w, h);
    int any = 0; /* nothing stroke-like: the heaviest part of any kind */
    box bx;
    if (best >= 0) {
        found->marks = count_marks(marks, m, best, w, h);
        bx = marks[best].bx;
    } else {
        for (int i = 0; i < ps.n; i++)
            if (!any || ps.p[i].mass > ps.p[any - 1].mass) any = i + 1;
        if (!any) {
            st = no_ink(name);
            goto done;
        }
        found->marks = 0;
        bx = ps.p[any - 1].bx;
    }
    if (found->marks != 1) found->warnings |= found->marks > 1 ? DIGIT_WARN_SEVERAL_MARKS
                                                               : DIGIT_WARN_NOT_DIGIT_LIKE;
    int pad = 2 + box_longer(bx) / 10;
    bx = (box){max_int(0, bx.x0 - pad), max_int(0, bx.y0 - pad), min_int(w, bx.x1 + pad),
               min_int(h, bx.y1 + pad)};
    *cbx = bx;
    if (!(*crop = crop_parts(ink, &ps, w, h, bx, best, any)))
        st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
done:
    free(ps.p);
    free(ps.label);
    free(marks);
    return st;
}

/* The photo path (see the top of this section). *spread receives the
 * paper's unevenness (0: flat, or the image is too small to be a photo).
 * When it is under FLAT_SPREAD and `force` is 0, nothing else is done
 * (*taken = 0); otherwise the photo path runs (*taken = 1). */
static digit_status photo_path(const char *name, const image *img, uint8_t *out,
                               image_found *found, int force, int *taken,
                               int *spread) {
    *taken = 0;
    *spread = 0;
    const int f = max_int(1, min_int(img->w, img->h) / WORK_SIDE);
    work wk = {0, 0, 0, NULL};
    if (min_int(img->w, img->h) / f < 64) return DIGIT_OK; /* too small to be a photo */
    if (!make_work(img, f, &wk)) {
        free(wk.v);
        return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    }
    const int w = wk.w, h = wk.h;
    int dark = 1;
    digit_status st = DIGIT_OK;
    uint8_t *crop = NULL, *paper = NULL;
    if (!smooth3(wk.v, w, h) || (*spread = paper_spread(wk.v, w, h)) < 0) {
        st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
        goto done;
    }
    if (*spread < FLAT_SPREAD && !force) goto done;
    *taken = 1;
    if (!ink_side(wk.v, w, h, &dark, &paper) || !flatten(wk.v, paper, w, h, dark)) {
        st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
        goto done;
    }
    box cbx = {0, 0, 0, 0}, used;
    if ((st = find_digit(name, wk.v, w, h, &crop, &cbx, found)) != DIGIT_OK) goto done;
    st = preprocess_ink(name, crop, cbx.x1 - cbx.x0, cbx.y1 - cbx.y0, 0, out, &used);
    if (st == DIGIT_OK) {
        found->x = (cbx.x0 + used.x0) * f;
        found->y = (cbx.y0 + used.y0) * f;
        found->w = (used.x1 - used.x0) * f;
        found->h = (used.y1 - used.y0) * f;
    }
done:
    free(paper);
    free(crop);
    free(wk.v);
    return st;
}

/* ---- raw pixels ------------------------------------------------------------- */

static size_t sample_bytes(digit_sample_type t) {
    return t == DIGIT_SAMPLE_U16 ? 2 : t == DIGIT_SAMPLE_F32 ? 4 : 1;
}

/* One sample as 8 bits: u16 rounded to the nearest of 255 levels, f32
 * clamped to 0..1 (NaN as 0) and scaled. */
static uint8_t sample_u8(const uint8_t *p, digit_sample_type t) {
    if (t == DIGIT_SAMPLE_U8) return *p;
    if (t == DIGIT_SAMPLE_U16) {
        uint16_t v;
        memcpy(&v, p, sizeof v);
        return (uint8_t)((v + 128u) / 257u);
    }
    float f;
    memcpy(&f, p, sizeof f);
    if (!(f > 0.0f)) return 0;
    if (f >= 1.0f) return 255;
    return (uint8_t)(f * 255.0f + 0.5f);
}

/* Every field of *p checked, in the order a caller fills them in. */
static digit_status check_pixels(const char *name, const digit_pixels *p,
                                 size_t *stride) {
    if (!p->data)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s: pixels.data is NULL", name);
    if (p->width <= 0 || p->height <= 0)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s: size %dx%d is not positive",
                          name, p->width, p->height);
    if (!image_size_ok((uint64_t)p->width, (uint64_t)p->height))
        return image_size_error(DIGIT_ERR_ARGUMENT, name, (uint64_t)p->width,
                                (uint64_t)p->height);
    if (p->channels < 1 || p->channels > 4)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: pixels.channels %d is not 1, 2, 3 or 4", name,
                          p->channels);
    if (p->type != DIGIT_SAMPLE_U8 && p->type != DIGIT_SAMPLE_U16 &&
        p->type != DIGIT_SAMPLE_F32)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: pixels.type %d is not a digit_sample_type", name,
                          (int)p->type);
    /* width <= 8192 and channels <= 4: a row is at most 128 KiB. */
    size_t row = (size_t)p->width * (size_t)p->channels * sample_bytes(p->type);
    if (p->stride != 0 && p->stride < row)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: pixels.stride %zu is less than a row (%zu bytes)",
                          name, p->stride, row);
    *stride = p->stride ? p->stride : row;
    size_t span;
    if (!digit_mul_size(*stride, (size_t)p->height - 1, &span) || span > SIZE_MAX - row)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s: pixels.stride %zu is too large",
                          name, p->stride);
    return DIGIT_OK;
}

digit_status image_from_pixels(const char *name, const digit_pixels *p,
                               image *img) {
    size_t stride = 0;
    digit_status st = check_pixels(name, p, &stride);
    if (st != DIGIT_OK) return st;
    const int ch = p->channels, w = p->width, h = p->height;
    const size_t sb = sample_bytes(p->type);
    uint8_t *px = malloc((size_t)w * h * ch);
    if (!px) return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    for (int y = 0; y < h; y++) {
        const uint8_t *row = (const uint8_t *)p->data + stride * (size_t)y;
        uint8_t *dst = px + (size_t)y * w * ch;
        if (p->type == DIGIT_SAMPLE_U8) {
            memcpy(dst, row, (size_t)w * ch);
            continue;
        }
        for (size_t i = 0; i < (size_t)w * ch; i++) dst[i] = sample_u8(row + i * sb, p->type);
    }
    img->px = px;
    img->w = w;
    img->h = h;
    img->channels = ch;
    return DIGIT_OK;
}

/* ---- the entry point -------------------------------------------------------- */

static void set_found(image_found *found, box bx, int marks, uint32_t warnings) {
    found->marks = marks;
    found->warnings = warnings;
    found->x = bx.x0;
    found->y = bx.y0;
    found->w = bx.x1 - bx.x0;
    found->h = bx.y1 - bx.y0;
}

/* Alpha that varies means a drawing or an export, never a photo. */
static int alpha_is_flat(const image *img) {
    if (img->channels != 2 && img->channels != 4) return 1;
    int lo = 255, hi = 0;
    for (size_t i = 0; i < (size_t)img->w * img->h; i++) {
        int a = img->px[i * img->channels + img->channels - 1];
        lo = min_int(lo, a);
        hi = max_int(hi, a);
    }
    return hi - lo < ALPHA_MIN_RANGE;
}

/* Whether the photo path's digit should replace the clean path's: when
 * the clean path found nothing, or took so much for ink (shaded paper,
 * lines) that its box is four times the photo path's: its single mark, or
 * whatever it found when the clean box is half the page. */
static int photo_is_better(digit_status clean, box bx, const image_found *ph,
                           const image *img) {
    if (clean != DIGIT_OK) return 1;
    double clean_area = (double)(bx.x1 - bx.x0) * (bx.y1 - bx.y0);
    int most = clean_area * 2 >= (double)img->w * img->h;
    return (ph->marks == 1 || most) && clean_area > 4.0 * ph->w * ph->h;
}

/* The clean path on a copy of img (img is needed again after it). */
static digit_status clean_path(const char *name, const image *img, uint8_t *out,
                               box *bx) {
    image ink = *img;
    const size_t bytes = (size_t)img->w * img->h * img->channels;
    if (!(ink.px = malloc(bytes))) return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    memcpy(ink.px, img->px, bytes);
    int noise = image_ink(&ink);
    digit_status st = preprocess_ink(name, ink.px, ink.w, ink.h, noise, out, bx);
    free(ink.px);
    return st;
}

/* Clean drawings take the clean path, photos of uneven paper the photo
 * path. In between (paper nearly even: a scan, a photo in good light),
 * both run, and the photo path wins only where the clean one plainly
 * failed (photo_is_better). Anything with varying alpha is a drawing. */
digit_status image_preprocess(const char *name, image *img, uint8_t *out,
                              image_found *found) {
    int taken = 0, spread = 0;
    box bx = {0, 0, 0, 0};
    if (!alpha_is_flat(img)) {
        int noise = image_ink(img);
        digit_status st = preprocess_ink(name, img->px, img->w, img->h, noise, out, &bx);
        if (st == DIGIT_OK) set_found(found, bx, 1, 0);
        return st;
    }
    /* Photos of paper are large; a small image is a drawing or a crop,
     * and goes the photo way only if the clean path finds nothing. */
    const int small = min_int(img->w, img->h) < MIN_PHOTO_SIDE;
    digit_status st = small ? DIGIT_OK : photo_path(name, img, out, found, 0, &taken, &spread);
    if (st != DIGIT_OK || taken) return st;
    uint8_t clean[SIDE * SIDE];
    digit_status cst = clean_path(name, img, clean, &bx);
    if (cst == DIGIT_ERR_MEMORY || (spread == 0 && cst != DIGIT_ERR_IMAGE)) goto use_clean;
    image_found ph = {0, 0, 0, 0, 0, 0};
    uint8_t photo[SIDE * SIDE];
    st = photo_path(name, img, photo, &ph, 1, &taken, &spread);
    if (st == DIGIT_OK && taken && photo_is_better(cst, bx, &ph, img)) {
        memcpy(out, photo, sizeof photo);
        *found = ph;
        return DIGIT_OK;
    }
use_clean:
    if (cst != DIGIT_OK) return cst == DIGIT_ERR_IMAGE ? no_ink(name) : cst;
    memcpy(out, clean, sizeof clean);
    set_found(found, bx, 1, 0);
    digit_clear_error();
    return DIGIT_OK;
}
