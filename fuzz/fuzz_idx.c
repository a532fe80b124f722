/* SPDX-License-Identifier: MIT */
/*
 * fuzz_idx.c — libFuzzer harness for the IDX data set loader (dataset.c)
 * and the whole-file reader with its gunzip (fileio.c).
 *
 * An input is split into an image file and a label file:
 *
 *   byte 0      mode: bit 0 set = gzip the image part here before loading,
 *               bit 1 set = the same for the label part (so the fuzzer can
 *               reach the IDX checks through valid gzip streams; parts left
 *               as they are may of course be gzip data themselves)
 *   bytes 1..4  little-endian length of the image part (taken modulo the
 *               bytes that follow, plus one)
 *   the rest    the image part, then the label part
 *
 * Both parts are written to in-memory files and loaded with
 * digit_dataset_load by path, the way every caller loads them.
 */
#include "fuzz_util.h"

#include <zlib.h>

/* data gzip-compressed into a malloc'd buffer. */
static uint8_t *gzip_bytes(const uint8_t *data, size_t size, size_t *out_size) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&zs, (uLong)size) + 32;
    uint8_t *out = malloc(cap);
    if (!out) abort();
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)size;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
    *out_size = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* Writes one part into f, gzipped first when asked. */
static void put_part(mem_file *f, const uint8_t *data, size_t size, int compress) {
    if (!compress) {
        mem_file_set(f, data, size);
        return;
    }
    size_t n;
    uint8_t *gz = gzip_bytes(data, size, &n);
    mem_file_set(f, gz, n);
    free(gz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mem_file images, labels;
    if (!images.path[0]) {
        mem_file_open(&images, "fuzz-idx-images");
        mem_file_open(&labels, "fuzz-idx-labels");
    }
    if (size < 5) return 0;
    int mode = data[0];
    uint32_t split = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                     (uint32_t)data[4] << 24;
    const uint8_t *rest = data + 5;
    size_t n = size - 5, cut = split % (n + 1);
    put_part(&images, rest, cut, mode & 1);
    put_part(&labels, rest + cut, n - cut, mode & 2);

    digit_dataset *ds = (digit_dataset *)&images; /* must be reset on failure */
    digit_status st = digit_dataset_load(images.path, labels.path, &ds);
    if (st != DIGIT_OK) {
        FUZZ_CHECK_FAILURE(st);
        FUZZ_ASSERT(ds == NULL, "a failed load left *out set");
        return 0;
    }
    FUZZ_ASSERT(ds != NULL, "DIGIT_OK without a data set");
    size_t count = digit_dataset_count(ds);
    FUZZ_ASSERT(count >= 1, "an empty data set loaded");
    const uint8_t *lab = digit_dataset_labels(ds), *img = digit_dataset_images(ds);
    FUZZ_ASSERT(lab && img, "no arrays");
    /* Every label is a digit, and the last image is readable. */
    for (size_t i = 0; i < count; i++) FUZZ_ASSERT(lab[i] < 10, "label %zu is %u", i, lab[i]);
    volatile uint8_t last = img[count * DIGIT_IMAGE_PIXELS - 1];
    (void)last;
    digit_dataset *part = NULL;
    FUZZ_ASSERT(digit_dataset_slice(ds, count - 1, 1, &part) == DIGIT_OK, "slice");
    FUZZ_ASSERT(memcmp(digit_dataset_images(part), img + (count - 1) * DIGIT_IMAGE_PIXELS,
                       DIGIT_IMAGE_PIXELS) == 0, "slice differs");
    digit_dataset_free(part);
    digit_dataset_free(ds);
    return 0;
}
