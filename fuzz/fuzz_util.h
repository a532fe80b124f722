/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h — helpers shared by the libFuzzer harnesses: in-memory files
 * (so the file-reading code paths run without touching the disk), a scratch
 * folder, and a loud failure for broken invariants.
 */
#ifndef DIGIT_FUZZ_UTIL_H
#define DIGIT_FUZZ_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* memfd_create, mkdtemp */
#endif

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digit.h"

/* An invariant of the library does not hold: report and crash, so that
 * libFuzzer saves the input. */
#define FUZZ_ASSERT(cond, ...)                                               \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, \
                    __LINE__, #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, " [last error: %s]\n", digit_last_error());      \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* A failed call must say why: a non-empty message and a known status. */
#define FUZZ_CHECK_FAILURE(st)                                               \
    FUZZ_ASSERT((st) > DIGIT_OK && (st) <= DIGIT_ERR_IMAGE &&                \
                    digit_last_error()[0] != '\0',                           \
                "status %d without a message", (int)(st))

/* An anonymous in-memory file holding data, reachable by path as
 * /proc/self/fd/N; the library opens it like any regular file. */
typedef struct mem_file {
    int fd;
    char path[64];
} mem_file;

static inline void mem_file_open(mem_file *f, const char *name) {
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

/* Replaces the file's contents with data[0..size). */
static inline void mem_file_set(mem_file *f, const void *data, size_t size) {
    if (ftruncate(f->fd, 0) != 0 || pwrite(f->fd, data, size, 0) != (ssize_t)size) {
        perror("mem_file_set");
        abort();
    }
}

static char scratch_path[256];

/* Removes the scratch folder and what is in it (it has no subfolders). */
static void scratch_remove(void) {
    DIR *d = opendir(scratch_path);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", scratch_path, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(scratch_path);
}

/* A private scratch folder, on tmpfs when there is one so that the fsyncs
 * of atomic saves cost nothing. Created once per process, removed at exit. */
static inline const char *scratch_dir(void) {
    char *dir = scratch_path;
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof scratch_path, "%s/digit-fuzz-XXXXXX", base);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(scratch_remove);
    }
    return dir;
}

#endif
