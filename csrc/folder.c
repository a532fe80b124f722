/* SPDX-License-Identifier: MIT */
/*
 * folder.c — a dataset from a folder of the user's own labelled pictures,
 * laid out as torchvision's ImageFolder expects: DIR/0/..., DIR/1/...,
 * ... DIR/9/..., each file any format digit_image_load reads and
 * preprocessed exactly as it does, so that training sees what classify
 * will see.
 *
 * The walk collects every path first and sorts them, so the dataset's
 * order (and with it a seeded training run) does not depend on the order
 * the file system lists entries in.
 */
#define _POSIX_C_SOURCE 200809L /* strdup, lstat */

#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Folders below a class folder are walked too (ImageFolder does the
 * same), to this depth: deeper is taken for a link loop. */
#define FOLDER_MAX_DEPTH 8

typedef struct entry {
    char *path;
    uint8_t label;
} entry;

typedef struct walk {
    entry *items;
    size_t count, cap;
} walk;

static void walk_free(walk *w) {
    for (size_t i = 0; i < w->count; i++) free(w->items[i].path);
    free(w->items);
}

static digit_status walk_add(walk *w, const char *path, uint8_t label) {
    if (w->count == DIGIT_MAX_FOLDER_IMAGES)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s: more than %d images in the folder", path,
                          DIGIT_MAX_FOLDER_IMAGES);
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        entry *grown = realloc(w->items, cap * sizeof *grown);
        if (!grown) return digit_fail(DIGIT_ERR_MEMORY, "cannot list %zu images", cap);
        w->items = grown, w->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) return digit_fail(DIGIT_ERR_MEMORY, "cannot list %s", path);
    w->items[w->count++] = (entry){copy, label};
    return DIGIT_OK;
}

/* "a/b" into buf, or an error naming the path when it does not fit. */
static digit_status join(char *buf, size_t size, const char *dir, const char *name) {
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s/%s: path too long", dir, name);
    return DIGIT_OK;
}

static digit_status open_folder(const char *path, DIR **out) {
    *out = opendir(path);
    if (!*out)
        return digit_fail(DIGIT_ERR_IO, "%s: cannot read the folder: %s", path, strerror(errno));
    return DIGIT_OK;
}

/* Every non-hidden regular file under dir (links followed), as label. */
static digit_status walk_class(walk *w, const char *dir, uint8_t label, int depth) {
    if (depth > FOLDER_MAX_DEPTH)
        return digit_fail(DIGIT_ERR_ARGUMENT, "%s: folders nested more than %d deep",
                          dir, FOLDER_MAX_DEPTH);
    DIR *d;
    digit_status st = open_folder(dir, &d);
    char path[4096];
    for (struct dirent *e; st == DIGIT_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue; /* ., .., .DS_Store and the like */
        struct stat sb;
        st = join(path, sizeof path, dir, e->d_name);
        if (st != DIGIT_OK) break;
        if (stat(path, &sb) != 0)
            st = digit_fail(DIGIT_ERR_IO, "%s: %s", path, strerror(errno));
        else if (S_ISDIR(sb.st_mode))
            st = walk_class(w, path, label, depth + 1);
        else if (S_ISREG(sb.st_mode))
            st = walk_add(w, path, label);
        /* sockets, fifos and devices are not pictures: passed over */
    }
    if (d) closedir(d);
    return st;
}

/* The label a top-level folder name stands for, or -1. */
static int class_of(const char *name) {
    return name[0] >= '0' && name[0] <= '9' && name[1] == 0 ? name[0] - '0' : -1;
}

static digit_status walk_root(walk *w, const char *root) {
    DIR *d;
    digit_status st = open_folder(root, &d);
    char path[4096];
    for (struct dirent *e; st == DIGIT_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        struct stat sb;
        st = join(path, sizeof path, root, e->d_name);
        if (st != DIGIT_OK) break;
        if (stat(path, &sb) != 0) {
            st = digit_fail(DIGIT_ERR_IO, "%s: %s", path, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            int label = class_of(e->d_name);
            if (label < 0)
                st = digit_fail(DIGIT_ERR_ARGUMENT,
                                "%s: not a class folder; the folders of %s are named 0 to 9",
                                path, root);
            else
                st = walk_class(w, path, (uint8_t)label, 1);
        }
        /* files beside the class folders (a README, a labels list) are
         * not training data: passed over */
    }
    if (d) closedir(d);
    if (st == DIGIT_OK && w->count == 0)
        st = digit_fail(DIGIT_ERR_ARGUMENT,
                        "%s: no pictures; put them in folders named 0 to 9 inside it", root);
    return st;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

DIGIT_API digit_status digit_dataset_load_folder(const char *dir, digit_dataset **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_dataset_load_folder", "out");
    *out = NULL;
    if (!dir) return digit_null("digit_dataset_load_folder", "dir");
    walk w = {0};
    digit_status st = walk_root(&w, dir);
    uint8_t *images = NULL, *labels = NULL;
    if (st == DIGIT_OK) {
        qsort(w.items, w.count, sizeof *w.items, by_path);
        images = malloc(w.count * DIGIT_IMAGE_PIXELS);
        labels = malloc(w.count);
        if (!images || !labels)
            st = digit_fail(DIGIT_ERR_MEMORY, "cannot hold %zu images", w.count);
    }
    for (size_t i = 0; st == DIGIT_OK && i < w.count; i++) {
        /* digit_image_load's message names the file and what is wrong. */
        st = digit_image_load(w.items[i].path, images + i * DIGIT_IMAGE_PIXELS, NULL);
        labels[i] = w.items[i].label;
    }
    if (st == DIGIT_OK) st = digit_dataset_create(images, labels, w.count, out);
    free(images);
    free(labels);
    walk_free(&w);
    return st;
}
