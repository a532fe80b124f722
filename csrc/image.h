/* SPDX-License-Identifier: MIT */
/*
 * image.h — what the image files share: a decoded image, the codecs
 * (png.c, jpeg.c), EXIF orientation (exif.c) and the preprocessing
 * (preprocess.c). image.c holds the public entry points over them. The
 * limits are the public DIGIT_IMAGE_MAX_* of digit.h.
 */
#ifndef DIGIT_IMAGE_H
#define DIGIT_IMAGE_H

#include "internal.h"

/* A decoded image: rows packed, `channels` 8-bit samples per pixel
 * (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). px is malloc'd. */
typedef struct image {
    uint8_t *px;
    int w, h, channels;
} image;

/* What a decoder learnt besides the pixels. */
typedef struct image_meta {
    int width, height; /* as stored */
    int orientation;   /* EXIF orientation applied, 1..8 */
    int reduced;       /* decoded at reduced size */
} image_meta;

/* What the preprocessing found (see digit_image_report). */
typedef struct image_found {
    int marks;
    uint32_t warnings;
    int x, y, w, h; /* the digit's box in the image */
} image_found;

/* Whether a decoded width x height is within the limits. */
int image_size_ok(uint64_t w, uint64_t h);
/* "<name>: image is WxH, larger than the limit of ..." */
digit_status image_size_error(digit_status st, const char *name, uint64_t w,
                              uint64_t h);

/* ---- codecs: data -> *img (8-bit samples), or a failure naming `name` ---- */

digit_status png_decode(const char *name, const uint8_t *data, size_t size,
                        image *img, image_meta *meta);
/* An 8-bit gray PNG in *buf (malloc'd) / *len. */
digit_status png_encode_gray(const char *name, const uint8_t *gray, int w,
                             int h, uint8_t **buf, size_t *len);
/* Gray or colour; EXIF orientation applied; reduced by DCT scaling when
 * the full size would exceed the limits. */
digit_status jpeg_decode(const char *name, const uint8_t *data, size_t size,
                         image *img, image_meta *meta);

/* ---- EXIF (exif.c) ---- */

/* The Orientation (1..8) of IFD0 in the payload of an APP1 segment, or 1
 * when it holds no EXIF, no Orientation or anything unreadable. */
int exif_orientation(const uint8_t *app1, size_t size);
/* Turns *img as EXIF orientation `o` says, so that it reads upright. */
digit_status image_orient(const char *name, image *img, int o);

/* ---- preprocessing (preprocess.c) ---- */

/* A caller's buffer as a packed 8-bit image (checks every field). */
digit_status image_from_pixels(const char *name, const digit_pixels *p,
                               image *img);
/* img -> 784 MNIST-style pixels in out (written only on success). img->px
 * is used as scratch. */
digit_status image_preprocess(const char *name, image *img, uint8_t *out,
                              image_found *found);

#endif
