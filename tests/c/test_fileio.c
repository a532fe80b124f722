/* SPDX-License-Identifier: MIT */
/*
 * test_fileio.c — csrc/fileio.c: atomic saves (no temporaries left, the old
 * file intact after a failure, folders and missing paths refused).
 */
#define _GNU_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "testfiles.h"

/* ---- atomic save ---- */

static void test_atomic_save(void) {
    char dir[512], p[600];
    make_dir(dir, sizeof dir, "atomic");
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));

    /* Into a folder that does not exist: an I/O error, nothing created. */
    path_in(p, sizeof p, dir, "missing/model.safetensors");
    CHECK_ERR(digit_model_save(m, p), DIGIT_ERR_IO, p);
    CHECK(count_entries(dir, NULL) == 0, "%d entries after a failed save", count_entries(dir, NULL));

    /* A successful save leaves exactly the file, no temporary. */
    path_in(p, sizeof p, dir, "model.safetensors");
    CHECK_OK(digit_model_save(m, p));
    CHECK_OK(digit_model_save(m, p)); /* and over itself */
    CHECK(count_entries(dir, NULL) == 1, "%d entries after saving", count_entries(dir, NULL));

    /* Over a folder: rename fails, the temporary is removed. */
    char sub[600];
    path_in(sub, sizeof sub, dir, "a-folder");
    mkdir(sub, 0755);
    CHECK_ERR(digit_model_save(m, sub), DIGIT_ERR_IO, sub);
    CHECK(count_entries(dir, NULL) == 2, "%d entries after saving over a folder",
          count_entries(dir, NULL));

    /* In a read-only folder the old file stays as it was. Root ignores
     * permissions, so the check only means something for other users. */
    if (geteuid() != 0) {
        size_t before_n, after_n;
        uint8_t *before = read_bytes(p, &before_n);
        digit_model *other;
        CHECK_OK(digit_model_create("compact", 2, &other));
        chmod(dir, 0555);
        CHECK_ERR(digit_model_save(other, p), DIGIT_ERR_IO, p);
        chmod(dir, 0755);
        uint8_t *after = read_bytes(p, &after_n);
        CHECK(before_n == after_n && !memcmp(before, after, before_n),
              "old file changed by a failed save");
        CHECK(count_entries(dir, NULL) == 2, "leftovers in the read-only folder");
        free(before);
        free(after);
        digit_model_free(other);
    } else {
        printf("test_fileio: running as root, read-only folder check skipped\n");
    }
    CHECK_ERR(digit_model_save(NULL, p), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_model_save(m, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    digit_model_free(m);
}

int main(void) {
    if (!make_test_root("test-fileio")) return 1;
    test_atomic_save();
    remove_tree(test_root);
    return test_summary("test_fileio");
}
