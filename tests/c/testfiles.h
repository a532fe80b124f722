/* SPDX-License-Identifier: MIT */
/*
 * testfiles.h — the file helpers the C tests share: a private temporary
 * folder per test program, whole-file reads and writes, and counting and
 * removing what a test left behind. Test programs only; errors here end
 * the program, since a test that cannot set up has nothing to report.
 */
#ifndef DIGIT_TEST_FILES_H
#define DIGIT_TEST_FILES_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The program's own folder, made by make_test_root(). */
static char test_root[256];

/* Makes "$TMPDIR/digit-<name>-XXXXXX" (TMPDIR defaults to /tmp). */
static inline int make_test_root(const char *name) {
    const char *base = getenv("TMPDIR");
    snprintf(test_root, sizeof test_root, "%s/digit-%s-XXXXXX",
             base && *base ? base : "/tmp", name);
    if (mkdtemp(test_root)) return 1;
    perror("mkdtemp");
    return 0;
}

static inline void path_in(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "test: path %s/%s too long\n", dir, name);
        exit(1);
    }
}

/* A fresh empty folder under test_root for one section. */
static inline void make_dir(char *out, size_t cap, const char *name) {
    path_in(out, cap, test_root, name);
    mkdir(out, 0755);
}

static inline int write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t put = fwrite(data, 1, n, f);
    return (fclose(f) == 0) & (put == n);
}

/* The whole file, malloc'd, its size in *n; NULL (and *n = 0) if
 * unreadable. */
static inline uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf) *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

/* Entries of a folder other than . and ..; *temps (if not NULL) of them
 * are temporaries ("<name>.tmp-<random>", as fileio.c names them). */
static inline int count_entries(const char *dir, int *temps) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    if (temps) *temps = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (temps && strstr(e->d_name, ".tmp-")) ++*temps;
    }
    closedir(d);
    return n;
}

/* rm -r, for the test's own folders only. */
static inline void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    chmod(dir, 0755);
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512];
        path_in(p, sizeof p, dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

#endif
