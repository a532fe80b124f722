/* SPDX-License-Identifier: MIT */
/*
 * augment.c — random affine augmentation of training images: rotation,
 * zoom, shear and shift about the image centre, bilinear sampling, zero
 * (no ink) outside the source.
 *
 * Each image's transform is drawn from its own generator, seeded by (run
 * seed, epoch, dataset index): the same image in the same epoch looks the
 * same whichever thread, micro-batch or resumed run draws it, so training
 * stays bitwise reproducible and a checkpoint needs no generator state.
 */
#include "augment.h"

#include <math.h>
#include <string.h>

#include "rng.h"

#define SIDE DIGIT_IMAGE_SIDE

int augment_enabled(const digit_train_options *o) {
    return o->augment_rotate > 0 || o->augment_scale > 0 || o->augment_shift > 0 ||
           o->augment_shear > 0;
}

digit_status augment_check(const digit_train_options *o) {
    static const struct { const char *name; double max; size_t off; } F[] = {
        {"augment_rotate", 180, offsetof(digit_train_options, augment_rotate)},
        {"augment_scale", 0.5, offsetof(digit_train_options, augment_scale)},
        {"augment_shift", 0.5, offsetof(digit_train_options, augment_shift)},
        {"augment_shear", 45, offsetof(digit_train_options, augment_shear)},
    };
    for (size_t i = 0; i < sizeof F / sizeof *F; i++) {
        double v;
        memcpy(&v, (const char *)o + F[i].off, sizeof v);
        if (!(v >= 0 && v <= F[i].max))
            return digit_fail(DIGIT_ERR_ARGUMENT, "%s must be 0..%g, not %g", F[i].name,
                              F[i].max, v);
    }
    return DIGIT_OK;
}

/* The inverse map, output pixel -> source point: src = M (dst - c - t) + c,
 * M the inverse of rotation * shear * zoom. */
typedef struct affine { double m00, m01, m10, m11, tx, ty; } affine;

static double symmetric(rng *r, double half) { return (2 * rng_uniform(r) - 1) * half; }

static affine draw(const digit_train_options *o, int epoch, size_t index) {
    rng r;
    uint64_t key = o->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(epoch + 1));
    rng_seed(&r, key ^ (0xbf58476d1ce4e5b9ULL * ((uint64_t)index + 1)));
    /* Always five draws, in this order, so turning one kind off does not
     * change the others. */
    const double deg = 3.14159265358979323846 / 180;
    double angle = symmetric(&r, o->augment_rotate) * deg;
    double zoom = 1 + symmetric(&r, o->augment_scale);
    double shear = symmetric(&r, o->augment_shear) * deg;
    double tx = symmetric(&r, o->augment_shift) * SIDE;
    double ty = symmetric(&r, o->augment_shift) * SIDE;
    /* Forward A = R(angle) * [1 tan(shear); 0 1] * zoom; M = A^-1. */
    double c = cos(angle), s = sin(angle), k = tan(shear);
    double a00 = c * zoom, a01 = (c * k - s) * zoom, a10 = s * zoom, a11 = (s * k + c) * zoom;
    double det = a00 * a11 - a01 * a10;
    affine m = {a11 / det, -a01 / det, -a10 / det, a00 / det, tx, ty};
    return m;
}

static double pixel(const uint8_t *img, int x, int y) {
    return x >= 0 && x < SIDE && y >= 0 && y < SIDE ? img[y * SIDE + x] : 0;
}

static void warp(const uint8_t *src, const affine *m, uint8_t *dst) {
    const double c = (SIDE - 1) / 2.0;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            double dx = x - c - m->tx, dy = y - c - m->ty;
            double sx = m->m00 * dx + m->m01 * dy + c, sy = m->m10 * dx + m->m11 * dy + c;
            double fx = floor(sx), fy = floor(sy);
            int x0 = (int)fx, y0 = (int)fy;
            double ax = sx - fx, ay = sy - fy;
            double v = 0;
            if (x0 >= -1 && x0 < SIDE && y0 >= -1 && y0 < SIDE)
                v = (1 - ay) * ((1 - ax) * pixel(src, x0, y0) + ax * pixel(src, x0 + 1, y0)) +
                    ay * ((1 - ax) * pixel(src, x0, y0 + 1) + ax * pixel(src, x0 + 1, y0 + 1));
            dst[y * SIDE + x] = (uint8_t)(v + 0.5);
        }
}

void augment_image(const digit_train_options *o, int epoch, size_t index, const uint8_t *src,
                   uint8_t *dst) {
    affine m = draw(o, epoch, index);
    warp(src, &m, dst);
}

DIGIT_API digit_status digit_augment_images(const digit_train_options *opt, int epoch,
                                            const uint8_t *images, size_t first_index,
                                            size_t count, uint8_t *out) {
    digit_clear_error();
    if (!opt) return digit_null("digit_augment_images", "opt");
    if (!images) return digit_null("digit_augment_images", "images");
    if (!out) return digit_null("digit_augment_images", "out");
    digit_status st = digit_check_size("digit_augment_images: opt", opt->struct_size,
                                       DIGIT_SIZE_THROUGH(digit_train_options, augment_shear),
                                       sizeof *opt);
    if (st != DIGIT_OK) return st;
    if ((st = augment_check(opt)) != DIGIT_OK) return st;
    if (epoch < 1 || epoch > DIGIT_MAX_EPOCHS)
        return digit_fail(DIGIT_ERR_ARGUMENT, "epoch must be 1..%d, not %d", DIGIT_MAX_EPOCHS,
                          epoch);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *src = images + i * DIGIT_IMAGE_PIXELS;
        uint8_t *dst = out + i * DIGIT_IMAGE_PIXELS;
        if (augment_enabled(opt)) augment_image(opt, epoch - 1, first_index + i, src, dst);
        else memcpy(dst, src, DIGIT_IMAGE_PIXELS);
    }
    return DIGIT_OK;
}
