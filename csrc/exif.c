/* SPDX-License-Identifier: MIT */
/*
 * exif.c — the EXIF Orientation tag, read from a JPEG's APP1 segment, and
 * the turn or flip it asks for.
 *
 * Phones store pixels as the sensor saw them and say in IFD0's Orientation
 * (tag 0x0112) how to turn them for display; a digit photographed with the
 * phone held upright arrives lying on its side without it. The parser
 * trusts nothing in the segment: every offset and count is checked against
 * the segment's length before it is followed, and anything odd means
 * "no orientation" (1), never a failure, since the pixels are still fine.
 */
#include "image.h"

#include <stdlib.h>
#include <string.h>

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3

/* The TIFF structure inside the segment, after "Exif\0\0". */
typedef struct tiff {
    const uint8_t *p;
    size_t size;
    int big_endian;
} tiff;

static unsigned get16(const tiff *t, size_t at) {
    const uint8_t *q = t->p + at;
    return t->big_endian ? (unsigned)q[0] << 8 | q[1] : (unsigned)q[1] << 8 | q[0];
}

static uint32_t get32(const tiff *t, size_t at) {
    const uint8_t *q = t->p + at;
    return t->big_endian
               ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
               : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

/* The header: byte order mark, 42, and IFD0's offset. 0 if unreadable. */
static int read_header(tiff *t, size_t *ifd0) {
    if (t->size < 8) return 0;
    if (memcmp(t->p, "II", 2) == 0) t->big_endian = 0;
    else if (memcmp(t->p, "MM", 2) == 0) t->big_endian = 1;
    else return 0;
    if (get16(t, 2) != 42) return 0;
    *ifd0 = get32(t, 4);
    return *ifd0 >= 8 && *ifd0 <= t->size;
}

int exif_orientation(const uint8_t *app1, size_t size) {
    static const uint8_t MAGIC[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (!app1 || size < sizeof MAGIC || memcmp(app1, MAGIC, sizeof MAGIC) != 0) return 1;
    tiff t = {app1 + sizeof MAGIC, size - sizeof MAGIC, 0};
    size_t ifd = 0;
    if (!read_header(&t, &ifd) || t.size - ifd < 2) return 1;
    size_t count = get16(&t, ifd), first = ifd + 2;
    /* Only the entries that lie wholly inside the segment are read. */
    size_t room = (t.size - first) / 12;
    if (count > room) count = room;
    for (size_t i = 0; i < count; i++) {
        size_t e = first + 12 * i;
        if (get16(&t, e) != TAG_ORIENTATION) continue;
        if (get16(&t, e + 2) != TYPE_SHORT || get32(&t, e + 4) != 1) return 1;
        unsigned v = get16(&t, e + 8); /* a lone SHORT sits in the value field */
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* Where display pixel (x, y) comes from in the stored w x h image, for
 * each orientation: 2 mirrored, 3 upside down, 4 flipped, 5 transposed,
 * 6 needing a quarter turn clockwise, 7 transversed, 8 a quarter turn
 * anticlockwise. */
static void source_of(int o, int w, int h, int x, int y, int *sx, int *sy) {
    switch (o) {
    case 2: *sx = w - 1 - x, *sy = y; break;
    case 3: *sx = w - 1 - x, *sy = h - 1 - y; break;
    case 4: *sx = x, *sy = h - 1 - y; break;
    case 5: *sx = y, *sy = x; break;
    case 6: *sx = y, *sy = h - 1 - x; break;
    case 7: *sx = w - 1 - y, *sy = h - 1 - x; break;
    case 8: *sx = w - 1 - y, *sy = x; break;
    default: *sx = x, *sy = y; break;
    }
}

digit_status image_orient(const char *name, image *img, int o) {
    if (o <= 1 || o > 8) return DIGIT_OK;
    const int w = img->w, h = img->h, ch = img->channels;
    const int dw = o >= 5 ? h : w, dh = o >= 5 ? w : h;
    uint8_t *turned = malloc((size_t)w * h * ch);
    if (!turned) return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", name);
    for (int y = 0; y < dh; y++)
        for (int x = 0; x < dw; x++) {
            int sx, sy;
            source_of(o, w, h, x, y, &sx, &sy);
            memcpy(turned + ((size_t)y * dw + x) * ch,
                   img->px + ((size_t)sy * w + sx) * ch, (size_t)ch);
        }
    free(img->px);
    img->px = turned;
    img->w = dw;
    img->h = dh;
    return DIGIT_OK;
}
