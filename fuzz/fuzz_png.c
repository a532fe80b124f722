/* SPDX-License-Identifier: MIT */
/*
 * fuzz_png.c — libFuzzer harness for PNG decoding and preprocessing
 * (image.c, through libpng).
 *
 * Each input is
 *   1. decoded as it is with digit_image_load_memory;
 *   2. when it is a PNG whose chunk CRCs are wrong, decoded again with the
 *      CRCs recomputed: libpng rejects a chunk with a bad CRC before looking
 *      inside, so without this nearly every mutation of a chunk's contents
 *      would stop at the CRC check and never reach the decoder or the
 *      preprocessing;
 *   3. taken as an 8-bit gray picture (bytes 0-1: width - 1, the rest: rows)
 *      for digit_image_preprocess, which shares the back half of the
 *      pipeline but takes any pixel values directly.
 * A success must produce a 28x28 image whose strongest pixel is 255.
 */
#include "fuzz_util.h"

#include <zlib.h>

static const uint8_t SIGNATURE[8] = {137, 80, 78, 71, 13, 10, 26, 10};

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the CRC of every complete chunk; returns whether any changed. */
static int fix_crcs(uint8_t *png, size_t size) {
    int changed = 0;
    size_t at = 8;
    while (size - at >= 12) {
        uint32_t len = be32(png + at);
        if (len > size - at - 12) break;
        uint32_t crc = (uint32_t)crc32(0, png + at + 4, len + 4);
        uint8_t *p = png + at + 8 + len;
        if (be32(p) != crc) {
            p[0] = (uint8_t)(crc >> 24), p[1] = (uint8_t)(crc >> 16);
            p[2] = (uint8_t)(crc >> 8), p[3] = (uint8_t)crc;
            changed = 1;
        }
        at += 12 + (size_t)len;
    }
    return changed;
}

static void check_result(digit_status st, const uint8_t *out) {
    if (st != DIGIT_OK) {
        FUZZ_CHECK_FAILURE(st);
        return;
    }
    int top = 0;
    for (int i = 0; i < DIGIT_IMAGE_PIXELS; i++) top = out[i] > top ? out[i] : top;
    FUZZ_ASSERT(top == 255, "strongest pixel %d, not 255", top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t out[DIGIT_IMAGE_PIXELS];
    check_result(digit_image_load_memory(data, size, out, NULL), out);

    if (size >= 8 + 12 && memcmp(data, SIGNATURE, 8) == 0) {
        uint8_t *copy = malloc(size);
        if (!copy) abort();
        memcpy(copy, data, size);
        if (fix_crcs(copy, size)) check_result(digit_image_load_memory(copy, size, out, NULL), out);
        free(copy);
    }

    if (size > 2) {
        int width = 1 + (int)(((unsigned)data[0] | (unsigned)data[1] << 8) % 512);
        int height = (int)((size - 2) / (size_t)width);
        if (height > 0) {
            digit_pixels p;
            digit_pixels_init(&p);
            p.data = data + 2, p.width = width, p.height = height, p.channels = 1;
            check_result(digit_image_preprocess(&p, out, NULL), out);
        }
    }
    return 0;
}
