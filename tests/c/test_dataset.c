/* SPDX-License-Identifier: MIT */
/*
 * test_dataset.c — csrc/dataset.c: IDX files raw and gzipped, by path and
 * by MNIST folder, every kind of malformed file, and the in-memory
 * dataset API (create, slice, concat, accessors), and datasets from a
 * folder of labelled pictures (digit_dataset_load_folder, in folder.c).
 */
#define _GNU_SOURCE 1

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "helpers.h"
#include "testfiles.h"

/* ---- IDX data sets ---- */

enum { IDX_N = 5 };

/* An IDX image file: magic, count, rows, cols, then n*rows*cols pixels
 * (pixel p of image i is (31i + p) mod 256). */
static uint8_t *idx_images(uint32_t magic, uint32_t count, uint32_t side, size_t n,
                           size_t *size) {
    *size = 16 + n * side * side;
    uint8_t *b = malloc(*size);
    put_be32(b, magic), put_be32(b + 4, count);
    put_be32(b + 8, side), put_be32(b + 12, side);
    for (size_t i = 0; i < n * side * side; i++)
        b[16 + i] = (uint8_t)((i / (side * side)) * 31 + i % (side * side));
    return b;
}

static uint8_t *idx_labels(uint32_t magic, uint32_t count, const uint8_t *labels,
                           size_t n, size_t *size) {
    *size = 8 + n;
    uint8_t *b = malloc(*size);
    put_be32(b, magic), put_be32(b + 4, count);
    memcpy(b + 8, labels, n);
    return b;
}

static void write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    gzwrite(g, data, (unsigned)n);
    gzclose(g);
}

static const uint8_t IDX_LABELS[IDX_N] = {3, 1, 4, 1, 5};

/* Loads the pair and expects it to be refused. */
#define CHECK_BAD_IDX(img, lab, want, sub)                                   \
    do {                                                                     \
        digit_dataset *d_ = (digit_dataset *)1;                              \
        CHECK_ERR(digit_dataset_load((img), (lab), &d_), (want), (sub));     \
        CHECK(d_ == NULL, "out cleared");                                    \
    } while (0)

static void check_loaded(const char *img, const char *lab, const uint8_t *pixels) {
    digit_dataset *ds = NULL;
    CHECK_OK(digit_dataset_load(img, lab, &ds));
    CHECK(digit_dataset_count(ds) == IDX_N, "count %zu", digit_dataset_count(ds));
    if (!ds) return;
    CHECK(memcmp(digit_dataset_images(ds), pixels + 16, IDX_N * DIGIT_IMAGE_PIXELS) == 0,
          "pixels of %s", img);
    CHECK(memcmp(digit_dataset_labels(ds), IDX_LABELS, IDX_N) == 0, "labels of %s", lab);
    digit_dataset_free(ds);
}

static void test_idx_good(const char *dir, const uint8_t *img, size_t img_n,
                          const uint8_t *lab, size_t lab_n) {
    char pi[600], pl[600], gi[600], gl[600];
    path_in(pi, sizeof pi, dir, "train-images-idx3-ubyte");
    path_in(pl, sizeof pl, dir, "train-labels-idx1-ubyte");
    path_in(gi, sizeof gi, dir, "t10k-images-idx3-ubyte.gz");
    path_in(gl, sizeof gl, dir, "t10k-labels-idx1-ubyte.gz");
    write_bytes(pi, img, img_n);
    write_bytes(pl, lab, lab_n);
    write_gz(gi, img, img_n);
    write_gz(gl, lab, lab_n);
    check_loaded(pi, pl, img);
    check_loaded(gi, gl, img);
    check_loaded(gi, pl, img); /* mixed */
    /* By folder: the raw names for train, the .gz names for t10k. */
    digit_dataset *ds = NULL;
    CHECK_OK(digit_dataset_load_mnist(dir, 1, &ds));
    CHECK(digit_dataset_count(ds) == IDX_N, "mnist train");
    digit_dataset_free(ds);
    CHECK_OK(digit_dataset_load_mnist(dir, 0, &ds));
    CHECK(digit_dataset_count(ds) == IDX_N, "mnist t10k");
    digit_dataset_free(ds);
    char empty[600];
    make_dir(empty, sizeof empty, "idx-empty");
    CHECK_ERR(digit_dataset_load_mnist(empty, 1, &ds), DIGIT_ERR_IO, "train-images");
}

/* Writes bytes to dir/name and returns the path in out. */
static const char *put(char *out, size_t cap, const char *dir, const char *name,
                       const void *data, size_t n) {
    path_in(out, cap, dir, name);
    write_bytes(out, data, n);
    return out;
}

static void test_idx_bad(const char *dir, const uint8_t *img, size_t img_n,
                         const uint8_t *lab, size_t lab_n) {
    char a[600], b[600], pl[600], pi[600];
    put(pi, sizeof pi, dir, "ok-images", img, img_n);
    put(pl, sizeof pl, dir, "ok-labels", lab, lab_n);
    size_t n;
    uint8_t *x;

    CHECK_BAD_IDX(put(a, sizeof a, dir, "short-images", img, img_n - 1), pl,
                  DIGIT_ERR_FORMAT, "truncated");
    uint8_t *longer = calloc(1, img_n + 1);
    memcpy(longer, img, img_n);
    CHECK_BAD_IDX(put(a, sizeof a, dir, "long-images", longer, img_n + 1), pl,
                  DIGIT_ERR_FORMAT, "trailing");
    free(longer);
    CHECK_BAD_IDX(put(a, sizeof a, dir, "tiny", img, 10), pl, DIGIT_ERR_FORMAT, "short");
    x = idx_images(0x00000D03, IDX_N, 28, IDX_N, &n); /* float IDX */
    CHECK_BAD_IDX(put(a, sizeof a, dir, "magic", x, n), pl, DIGIT_ERR_FORMAT, "magic");
    free(x);
    CHECK_BAD_IDX(pl, pi, DIGIT_ERR_FORMAT, "label"); /* swapped */
    x = idx_images(0x00000803, IDX_N, 32, IDX_N, &n);
    CHECK_BAD_IDX(put(a, sizeof a, dir, "32x32", x, n), pl, DIGIT_ERR_FORMAT, "32x32");
    free(x);
    x = idx_labels(0x00000801, IDX_N - 1, IDX_LABELS, IDX_N - 1, &n);
    CHECK_BAD_IDX(pi, put(b, sizeof b, dir, "four-labels", x, n), DIGIT_ERR_FORMAT, "4 labels");
    free(x);
    const uint8_t ten[IDX_N] = {1, 2, 10, 3, 4};
    x = idx_labels(0x00000801, IDX_N, ten, IDX_N, &n);
    CHECK_BAD_IDX(pi, put(b, sizeof b, dir, "label-10", x, n), DIGIT_ERR_FORMAT, "10");
    free(x);
    x = idx_images(0x00000803, 0, 28, 0, &n);
    uint8_t *y = idx_labels(0x00000801, 0, IDX_LABELS, 0, &n);
    CHECK_BAD_IDX(put(a, sizeof a, dir, "zero-images", x, 16), pl, DIGIT_ERR_FORMAT, "no");
    CHECK_BAD_IDX(pi, put(b, sizeof b, dir, "zero-labels", y, 8), DIGIT_ERR_FORMAT, "no");
    free(x);
    free(y);
    path_in(a, sizeof a, dir, "nope");
    CHECK_BAD_IDX(a, pl, DIGIT_ERR_IO, a);
    CHECK_BAD_IDX(pi, a, DIGIT_ERR_IO, a);
    digit_dataset *ds;
    CHECK_ERR(digit_dataset_load(NULL, pl, &ds), DIGIT_ERR_ARGUMENT, "NULL");
}

static void test_idx_bad_gzip(const char *dir, const uint8_t *img, size_t img_n) {
    char pl[600], gz[600], a[600];
    path_in(pl, sizeof pl, dir, "ok-labels");
    path_in(gz, sizeof gz, dir, "images.gz");
    write_gz(gz, img, img_n);
    size_t n;
    uint8_t *z = read_bytes(gz, &n);
    /* A flipped byte in the compressed data (caught by inflate or by the
     * CRC), a stream cut in half, one missing its 8-byte trailer, and the
     * gzip magic followed by garbage. */
    z[n / 2] ^= 0xff;
    CHECK_BAD_IDX(put(a, sizeof a, dir, "corrupt.gz", z, n), pl, DIGIT_ERR_FORMAT, "gzip");
    z[n / 2] ^= 0xff;
    CHECK_BAD_IDX(put(a, sizeof a, dir, "half.gz", z, n / 2), pl, DIGIT_ERR_FORMAT,
                  "truncated");
    CHECK_BAD_IDX(put(a, sizeof a, dir, "no-trailer.gz", z, n - 8), pl, DIGIT_ERR_FORMAT,
                  "gzip");
    memset(z + 2, 0x55, n - 2);
    CHECK_BAD_IDX(put(a, sizeof a, dir, "garbage.gz", z, n), pl, DIGIT_ERR_FORMAT, "gzip");
    free(z);
}

static void test_idx(void) {
    char dir[512];
    make_dir(dir, sizeof dir, "idx");
    size_t img_n, lab_n;
    uint8_t *img = idx_images(0x00000803, IDX_N, 28, IDX_N, &img_n);
    uint8_t *lab = idx_labels(0x00000801, IDX_N, IDX_LABELS, IDX_N, &lab_n);
    test_idx_good(dir, img, img_n, lab, lab_n);
    test_idx_bad(dir, img, img_n, lab, lab_n);
    test_idx_bad_gzip(dir, img, img_n);
    free(img);
    free(lab);
}

static void test_dataset_api(void) {
    uint8_t img[4 * DIGIT_IMAGE_PIXELS], lab[4] = {0, 9, 2, 7};
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 7);
    digit_dataset *ds = NULL, *s = (digit_dataset *)1;
    CHECK_OK(digit_dataset_create(img, lab, 4, &ds));
    CHECK(digit_dataset_count(ds) == 4, "count");
    CHECK(digit_dataset_images(ds) != img && !memcmp(digit_dataset_images(ds), img, sizeof img),
          "images copied");
    CHECK(!memcmp(digit_dataset_labels(ds), lab, 4), "labels copied");
    CHECK_OK(digit_dataset_slice(ds, 1, 2, &s));
    CHECK(digit_dataset_count(s) == 2 && digit_dataset_labels(s)[0] == 9 &&
              digit_dataset_labels(s)[1] == 2 &&
              !memcmp(digit_dataset_images(s), img + DIGIT_IMAGE_PIXELS,
                      2 * DIGIT_IMAGE_PIXELS),
          "slice [1,3)");
    digit_dataset_free(s);
    CHECK_OK(digit_dataset_slice(ds, 0, 4, &s)); /* the whole set */
    digit_dataset_free(s);
    CHECK_ERR(digit_dataset_slice(ds, 3, 2, &s), DIGIT_ERR_ARGUMENT, "slice");
    CHECK_ERR(digit_dataset_slice(ds, 5, 0, &s), DIGIT_ERR_ARGUMENT, "slice");
    CHECK_ERR(digit_dataset_slice(ds, 2, 0, &s), DIGIT_ERR_ARGUMENT, "slice");
    CHECK_ERR(digit_dataset_slice(ds, 1, SIZE_MAX, &s), DIGIT_ERR_ARGUMENT, "slice");
    CHECK(s == NULL, "out cleared");
    CHECK_ERR(digit_dataset_create(img, lab, 0, &s), DIGIT_ERR_ARGUMENT, "count");
    CHECK_ERR(digit_dataset_create(NULL, lab, 4, &s), DIGIT_ERR_ARGUMENT, "NULL");
    lab[3] = 10;
    digit_status st = digit_dataset_create(img, lab, 4, &s);
    CHECK(st != DIGIT_OK && strstr(digit_last_error(), "10"), "label 10: %s",
          digit_last_error());
    CHECK(digit_dataset_count(NULL) == 0 && digit_dataset_images(NULL) == NULL,
          "NULL dataset accessors");
    digit_dataset_free(ds);
    digit_dataset_free(NULL);
}

static void test_concat(void) {
    uint8_t img[3 * DIGIT_IMAGE_PIXELS], lab[3] = {4, 5, 6};
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 13);
    digit_dataset *a = NULL, *b = NULL, *c = (digit_dataset *)1;
    CHECK_OK(digit_dataset_create(img, lab, 1, &a));
    CHECK_OK(digit_dataset_create(img + DIGIT_IMAGE_PIXELS, lab + 1, 2, &b));
    CHECK_OK(digit_dataset_concat(a, b, &c));
    CHECK(digit_dataset_count(c) == 3 && !memcmp(digit_dataset_images(c), img, sizeof img) &&
              !memcmp(digit_dataset_labels(c), lab, 3),
          "a then b");
    digit_dataset_free(c);
    CHECK_ERR(digit_dataset_concat(a, NULL, &c), DIGIT_ERR_ARGUMENT, "b is NULL");
    CHECK(c == NULL, "out cleared");
    digit_dataset_free(a);
    digit_dataset_free(b);
}

/* ---- folders of labelled pictures ---- */

/* A 48x40 dark-on-light picture of a stroke whose slant and length depend
 * on k, saved as PNG at dir/name. */
static void put_picture(const char *dir, const char *name, int k) {
    enum { W = 40, H = 48 };
    uint8_t px[W * H];
    memset(px, 230, sizeof px);
    for (int y = 8; y < 40 - (k % 3) * 4; y++)
        for (int dx = 0; dx < 5; dx++) px[y * W + 14 + dx + (y * (k % 4)) / 12] = 20;
    char path[600];
    path_in(path, sizeof path, dir, name);
    CHECK_OK(digit_image_save_png(path, px, W, H));
}

static void sub_dir(char *out, size_t cap, const char *dir, const char *name) {
    path_in(out, cap, dir, name);
    mkdir(out, 0755);
}

static void test_folder_good(void) {
    char root[512], c0[600], c3[600], deep[700];
    make_dir(root, sizeof root, "folder");
    sub_dir(c3, sizeof c3, root, "3");
    sub_dir(c0, sizeof c0, root, "0");
    sub_dir(deep, sizeof deep, c3, "more");
    put_picture(c3, "b.png", 1);
    put_picture(c3, "a.png", 2);
    put_picture(deep, "c.png", 3);
    put_picture(c0, "z.png", 4);
    char extra[600];
    path_in(extra, sizeof extra, root, "README.txt"); /* beside the classes: passed over */
    write_bytes(extra, "labels are folder names\n", 24);
    path_in(extra, sizeof extra, c0, ".DS_Store"); /* hidden: passed over */
    write_bytes(extra, "x", 1);
    digit_dataset *ds = NULL;
    CHECK_OK(digit_dataset_load_folder(root, &ds));
    CHECK(digit_dataset_count(ds) == 4, "4 pictures, %zu loaded", digit_dataset_count(ds));
    if (digit_dataset_count(ds) != 4) {
        digit_dataset_free(ds);
        return;
    }
    /* Sorted by path: 0/z, 3/a, 3/b, 3/more/c. */
    static const uint8_t want[4] = {0, 3, 3, 3};
    static const char *const order[4] = {"0/z.png", "3/a.png", "3/b.png", "3/more/c.png"};
    CHECK(!memcmp(digit_dataset_labels(ds), want, 4), "labels from the folder names");
    for (int i = 0; i < 4; i++) {
        char path[700];
        uint8_t px[DIGIT_IMAGE_PIXELS];
        path_in(path, sizeof path, root, order[i]);
        CHECK_OK(digit_image_load(path, px, NULL));
        CHECK(!memcmp(digit_dataset_images(ds) + i * DIGIT_IMAGE_PIXELS, px, sizeof px),
              "image %d is %s preprocessed as digit_image_load does", i, order[i]);
    }
    digit_dataset_free(ds);
}

static void test_folder_bad(void) {
    char root[512], sub[600], file[700];
    digit_dataset *ds = (digit_dataset *)1;
    make_dir(root, sizeof root, "folder-empty");
    CHECK_ERR(digit_dataset_load_folder(root, &ds), DIGIT_ERR_ARGUMENT, "no pictures");
    CHECK(ds == NULL, "out cleared");
    sub_dir(sub, sizeof sub, root, "7"); /* a class folder with nothing in it */
    CHECK_ERR(digit_dataset_load_folder(root, &ds), DIGIT_ERR_ARGUMENT, "no pictures");
    sub_dir(sub, sizeof sub, root, "seven");
    CHECK_ERR(digit_dataset_load_folder(root, &ds), DIGIT_ERR_ARGUMENT, "seven: not a class folder");
    rmdir(sub);
    path_in(sub, sizeof sub, root, "7");
    path_in(file, sizeof file, sub, "notes.txt");
    write_bytes(file, "not a picture", 13);
    CHECK_ERR(digit_dataset_load_folder(root, &ds), DIGIT_ERR_FORMAT, "notes.txt");
    path_in(file, sizeof file, root, "missing");
    CHECK_ERR(digit_dataset_load_folder(file, &ds), DIGIT_ERR_IO, "missing");
    CHECK_ERR(digit_dataset_load_folder(NULL, &ds), DIGIT_ERR_ARGUMENT, "dir is NULL");
    CHECK(ds == NULL, "out cleared");
}

int main(void) {
    if (!make_test_root("test-dataset")) return 1;
    test_idx();
    test_dataset_api();
    test_concat();
    test_folder_good();
    test_folder_bad();
    remove_tree(test_root);
    return test_summary("test_dataset");
}
