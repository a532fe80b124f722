/* SPDX-License-Identifier: MIT */
/*
 * dataset.c — MNIST-format IDX files (raw or gzip) into memory. Every
 * header field is checked against the others and the file size, so a
 * truncated, mislabeled or foreign file is refused with a reason.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IDX files hold at most 2^31 items; 28x28 images cap this at ~1.6 GiB.
 * The limit keeps a hostile header or gzip bomb from reaching malloc. */
#define IDX_FILE_LIMIT ((size_t)2 << 30)

struct digit_dataset {
    size_t count;
    uint8_t *images;  /* count * 784, inside image_block */
    uint8_t *labels;  /* count, inside label_block */
    /* The allocations: for files, the file buffers themselves (the data
     * starts after the IDX header), so loading never holds two copies. */
    uint8_t *image_block, *label_block;
    /* Training runs using the dataset, and whether digit_dataset_free was
     * called meanwhile (from a callback): both under the handles lock. */
    int users;
    int free_pending;
};

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks the IDX magic (two zero bytes, type 0x08 = unsigned byte, rank)
 * and the item count against the file size; returns the count. */
static digit_status check_idx(const char *path, const uint8_t *d, size_t size,
                              int rank, size_t item_size, size_t *count) {
    size_t header = 4 + 4 * (size_t)rank;
    const char *kind = rank == 3 ? "image" : "label";
    if (size < header)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: %zu bytes, too short for an IDX %s file",
                          path, size, kind);
    if (d[0] || d[1] || d[2] != 0x08 || d[3] != rank) {
        if (!d[0] && !d[1] && d[2] == 0x08 && (d[3] == 1 || d[3] == 3))
            return digit_fail(DIGIT_ERR_FORMAT,
                              "%s: is an IDX %s file, expected %s file",
                              path, d[3] == 3 ? "image" : "label", kind);
        return digit_fail(DIGIT_ERR_FORMAT,
                          "%s: bad magic 0x%02x%02x%02x%02x, expected 0x0000080%d (IDX %s file)",
                          path, d[0], d[1], d[2], d[3], rank, kind);
    }
    *count = be32(d + 4);
    if (rank == 3 && (be32(d + 8) != DIGIT_IMAGE_SIDE || be32(d + 12) != DIGIT_IMAGE_SIDE))
        return digit_fail(DIGIT_ERR_FORMAT, "%s: images are %ux%u, libdigit needs 28x28",
                          path, be32(d + 8), be32(d + 12));
    if (*count == 0) return digit_fail(DIGIT_ERR_FORMAT, "%s: holds no %ss", path, kind);
    size_t expected = header + *count * item_size;
    if (size != expected)
        return digit_fail(DIGIT_ERR_FORMAT,
                          "%s: header declares %zu %ss (%zu bytes) but the file has %zu bytes (%s)",
                          path, *count, kind, expected, size,
                          size < expected ? "truncated" : "trailing data");
    return DIGIT_OK;
}

static digit_status make(size_t count, digit_dataset **out) {
    digit_dataset *ds = calloc(1, sizeof *ds);
    if (ds) {
        ds->images = ds->image_block = malloc(count * DIGIT_IMAGE_PIXELS);
        ds->labels = ds->label_block = malloc(count);
    }
    if (!ds || !ds->images || !ds->labels) {
        digit_dataset_free(ds);
        return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate a dataset of %zu images", count);
    }
    ds->count = count;
    *out = ds;
    return DIGIT_OK;
}

static digit_status check_labels(const char *name, const uint8_t *labels, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= DIGIT_CLASSES)
            return digit_fail(DIGIT_ERR_FORMAT, "%s: label %zu is %u, not a digit 0-9",
                              name, i, labels[i]);
    return DIGIT_OK;
}

DIGIT_API digit_status digit_dataset_load(const char *images_path,
                                          const char *labels_path,
                                          digit_dataset **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_dataset_load", "out");
    *out = NULL;
    if (!images_path) return digit_null("digit_dataset_load", "images_path");
    if (!labels_path) return digit_null("digit_dataset_load", "labels_path");
    uint8_t *img = NULL, *lab = NULL;
    size_t img_size, lab_size, n_img, n_lab;
    digit_status st = digit_read_file(images_path, IDX_FILE_LIMIT, 1, &img, &img_size);
    if (st == DIGIT_OK)
        st = check_idx(images_path, img, img_size, 3, DIGIT_IMAGE_PIXELS, &n_img);
    if (st == DIGIT_OK) st = digit_read_file(labels_path, IDX_FILE_LIMIT, 1, &lab, &lab_size);
    if (st == DIGIT_OK) st = check_idx(labels_path, lab, lab_size, 1, 1, &n_lab);
    if (st == DIGIT_OK && n_img != n_lab)
        st = digit_fail(DIGIT_ERR_FORMAT, "%s holds %zu images but %s holds %zu labels",
                        images_path, n_img, labels_path, n_lab);
    if (st == DIGIT_OK) st = check_labels(labels_path, lab + 8, n_lab);
    digit_dataset *ds = NULL;
    if (st == DIGIT_OK && !(ds = calloc(1, sizeof *ds)))
        st = digit_fail(DIGIT_ERR_MEMORY, "cannot allocate a dataset");
    if (st != DIGIT_OK) {
        free(img);
        free(lab);
        return st;
    }
    /* The dataset adopts the file buffers. */
    ds->count = n_img;
    ds->image_block = img, ds->images = img + 16;
    ds->label_block = lab, ds->labels = lab + 8;
    *out = ds;
    return DIGIT_OK;
}

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* "<dir>/<stem>-idx3-ubyte", its ".gz", or the dotted variant some
 * archives use ("train-images.idx3-ubyte"). */
static void find_file(const char *dir, const char *stem, const char *kind,
                      char *path, size_t cap) {
    const char *forms[] = {"%s/%s-%s-ubyte", "%s/%s-%s-ubyte.gz", "%s/%s.%s-ubyte"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, cap, forms[i], dir, stem, kind);
        if (exists(path)) return;
    }
    snprintf(path, cap, forms[0], dir, stem, kind);
}

DIGIT_API digit_status digit_dataset_load_mnist(const char *dir, int train,
                                                digit_dataset **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_dataset_load_mnist", "out");
    *out = NULL;
    if (!dir) return digit_null("digit_dataset_load_mnist", "dir");
    char images[4096], labels[4096];
    const char *prefix = train ? "train" : "t10k";
    char stem[16];
    snprintf(stem, sizeof stem, "%s-images", prefix);
    find_file(dir, stem, "idx3", images, sizeof images);
    snprintf(stem, sizeof stem, "%s-labels", prefix);
    find_file(dir, stem, "idx1", labels, sizeof labels);
    return digit_dataset_load(images, labels, out);
}

DIGIT_API digit_status digit_dataset_create(const uint8_t *images,
                                            const uint8_t *labels, size_t count,
                                            digit_dataset **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_dataset_create", "out");
    *out = NULL;
    if (!images) return digit_null("digit_dataset_create", "images");
    if (!labels) return digit_null("digit_dataset_create", "labels");
    if (count == 0 || count > SIZE_MAX / DIGIT_IMAGE_PIXELS)
        return digit_fail(DIGIT_ERR_ARGUMENT, "count %zu is not a usable size", count);
    digit_status st = check_labels("labels", labels, count);
    if (st == DIGIT_OK) st = make(count, out);
    if (st != DIGIT_OK) return st;
    memcpy((*out)->images, images, count * DIGIT_IMAGE_PIXELS);
    memcpy((*out)->labels, labels, count);
    return DIGIT_OK;
}

DIGIT_API digit_status digit_dataset_slice(const digit_dataset *ds, size_t start,
                                           size_t count, digit_dataset **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_dataset_slice", "out");
    *out = NULL;
    if (!ds) return digit_null("digit_dataset_slice", "dataset");
    if (start > ds->count || count > ds->count - start || count == 0)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "slice [%zu, %zu+%zu) is empty or outside the %zu images",
                          start, start, count, ds->count);
    return digit_dataset_create(ds->images + start * DIGIT_IMAGE_PIXELS,
                                ds->labels + start, count, out);
}

DIGIT_API digit_status digit_dataset_concat(const digit_dataset *a, const digit_dataset *b,
                                            digit_dataset **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_dataset_concat", "out");
    *out = NULL;
    if (!a) return digit_null("digit_dataset_concat", "a");
    if (!b) return digit_null("digit_dataset_concat", "b");
    if (a->count > SIZE_MAX / DIGIT_IMAGE_PIXELS - b->count)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%zu + %zu images is not a usable size",
                          a->count, b->count);
    digit_status st = make(a->count + b->count, out);
    if (st != DIGIT_OK) return st;
    memcpy((*out)->images, a->images, a->count * DIGIT_IMAGE_PIXELS);
    memcpy((*out)->images + a->count * DIGIT_IMAGE_PIXELS, b->images,
           b->count * DIGIT_IMAGE_PIXELS);
    memcpy((*out)->labels, a->labels, a->count);
    memcpy((*out)->labels + a->count, b->labels, b->count);
    return DIGIT_OK;
}

static void dataset_release(digit_dataset *ds) {
    free(ds->image_block);
    free(ds->label_block);
    free(ds);
}

DIGIT_API void digit_dataset_free(digit_dataset *ds) {
    if (!ds) return;
    digit_handles_lock();
    int defer = ds->users > 0;
    if (defer) ds->free_pending = 1;
    digit_handles_unlock();
    if (!defer) dataset_release(ds);
}

void dataset_pin(const digit_dataset *cds) {
    digit_dataset *ds = (digit_dataset *)cds; /* bookkeeping, not contents */
    if (!ds) return;
    digit_handles_lock();
    ds->users++;
    digit_handles_unlock();
}

void dataset_unpin(const digit_dataset *cds) {
    digit_dataset *ds = (digit_dataset *)cds;
    if (!ds) return;
    digit_handles_lock();
    int release = --ds->users == 0 && ds->free_pending;
    digit_handles_unlock();
    if (release) dataset_release(ds);
}

DIGIT_API size_t digit_dataset_count(const digit_dataset *ds) { return ds ? ds->count : 0; }

DIGIT_API const uint8_t *digit_dataset_images(const digit_dataset *ds) {
    return ds ? ds->images : NULL;
}

DIGIT_API const uint8_t *digit_dataset_labels(const digit_dataset *ds) {
    return ds ? ds->labels : NULL;
}
