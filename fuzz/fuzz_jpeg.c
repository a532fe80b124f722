/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jpeg.c — libFuzzer harness for JPEG decoding (jpeg.c, through
 * libjpeg), the EXIF parser (exif.c) and the preprocessing of what they
 * produce, all through digit_image_load_memory.
 *
 * Each input is
 *   1. loaded as it is (a JPEG, or anything else: the format is sniffed);
 *   2. put, as the payload of an APP1 segment, into a small valid JPEG
 *      made once at start-up: the mutations then land in the EXIF parser
 *      rather than mostly breaking the JPEG around it.
 * Invariants: a failure has a status and a message; a success gives a
 * 28x28 image whose strongest pixel is 255 and a report that holds
 * together (format, orientation 1..8, decoded size within the limits, the
 * ink's box inside the decoded image, no unknown warning bits).
 */
#include "fuzz_util.h"

#include <jpeglib.h>

static uint8_t *base;    /* a valid JPEG, without its SOI marker */
static size_t base_size;

/* A 24x24 gray JPEG of a bar: the base for EXIF payloads. */
static void make_base(void) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = ci.image_height = 24;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    JSAMPLE row[24];
    while (ci.next_scanline < 24) {
        for (int x = 0; x < 24; x++) row[x] = x >= 10 && x < 14 && ci.next_scanline > 3 ? 20 : 230;
        JSAMPROW r = row;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    base_size = size - 2;
    base = malloc(base_size);
    if (!base) abort();
    memcpy(base, buf + 2, base_size);
    free(buf);
}

static void check(digit_status st, const uint8_t *out, const digit_image_report *r,
                  const uint8_t *data, size_t size) {
    FUZZ_ASSERT(r->struct_size == sizeof *r, "report struct_size changed to %zu",
                r->struct_size);
    if (st != DIGIT_OK) {
        FUZZ_CHECK_FAILURE(st);
        return;
    }
    int top = 0;
    for (int i = 0; i < DIGIT_IMAGE_PIXELS; i++) top = out[i] > top ? out[i] : top;
    FUZZ_ASSERT(top == 255, "strongest pixel %d, not 255", top);
    int jpeg = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
    FUZZ_ASSERT(!strcmp(r->format, jpeg ? "jpeg" : "png"), "format %s", r->format);
    FUZZ_ASSERT(r->orientation >= 1 && r->orientation <= 8, "orientation %d", r->orientation);
    FUZZ_ASSERT(r->decoded_width >= 1 && r->decoded_height >= 1 &&
                    r->decoded_width <= DIGIT_IMAGE_MAX_SIDE &&
                    r->decoded_height <= DIGIT_IMAGE_MAX_SIDE &&
                    (size_t)r->decoded_width * (size_t)r->decoded_height <= DIGIT_IMAGE_MAX_PIXELS,
                "decoded %dx%d", r->decoded_width, r->decoded_height);
    FUZZ_ASSERT(r->ink_x >= 0 && r->ink_y >= 0 && r->ink_width >= 1 && r->ink_height >= 1 &&
                    r->ink_x + r->ink_width <= r->decoded_width &&
                    r->ink_y + r->ink_height <= r->decoded_height,
                "ink box %d,%d %dx%d in %dx%d", r->ink_x, r->ink_y, r->ink_width,
                r->ink_height, r->decoded_width, r->decoded_height);
    FUZZ_ASSERT((r->warnings & ~0x7u) == 0, "warnings %#x", (unsigned)r->warnings);
}

static void load(const uint8_t *data, size_t size) {
    uint8_t out[DIGIT_IMAGE_PIXELS];
    digit_image_report r;
    digit_image_report_init(&r);
    check(digit_image_load_memory(data, size, out, &r), out, &r, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!base) make_base();
    load(data, size);

    /* SOI, APP1 with the input (cut to a segment's 65533 bytes), the rest. */
    size_t payload = size < 65533 ? size : 65533;
    size_t n = 4 + 2 + payload + base_size;
    uint8_t *jpeg = malloc(n);
    if (!jpeg) abort();
    jpeg[0] = 0xFF, jpeg[1] = 0xD8, jpeg[2] = 0xFF, jpeg[3] = 0xE1;
    jpeg[4] = (uint8_t)((payload + 2) >> 8), jpeg[5] = (uint8_t)(payload + 2);
    if (payload) memcpy(jpeg + 6, data, payload);
    memcpy(jpeg + 6 + payload, base, base_size);
    load(jpeg, n);
    free(jpeg);
    return 0;
}
