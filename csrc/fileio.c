/* SPDX-License-Identifier: MIT */
/*
 * fileio.c — whole-file reads (optionally gunzipped) and atomic writes.
 * Everything that touches the file system for model, dataset and image
 * files goes through here, so limits and crash safety live in one place.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static digit_status read_raw(const char *path, size_t limit, uint8_t **data,
                             size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return digit_fail(DIGIT_ERR_IO, "%s: cannot open: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return digit_fail(DIGIT_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > limit) {
        fclose(f);
        return digit_fail(DIGIT_ERR_FORMAT,
                          "%s: file is %lld bytes, more than the limit of %zu",
                          path, (long long)st.st_size, limit);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate %zu bytes",
                          path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != n) {
        free(buf);
        return digit_fail(DIGIT_ERR_IO, "%s: read failed", path);
    }
    *data = buf;
    *size = n;
    return DIGIT_OK;
}

/* Inflates a gzip stream, growing the output buffer geometrically but never
 * past `limit`: a gzip bomb is refused instead of exhausting memory. */
static digit_status gunzip(const char *path, const uint8_t *in, size_t in_size,
                           size_t limit, uint8_t **data, size_t *size) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return digit_fail(DIGIT_ERR_MEMORY, "%s: zlib init failed", path);
    size_t cap = in_size * 4 + 1024, used = 0;
    if (cap > limit) cap = limit + 1;
    uint8_t *out = malloc(cap);
    digit_status st = DIGIT_OK;
    if (!out) {
        st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", path);
        goto done;
    }
    zs.next_in = (Bytef *)in;
    for (;;) {
        if (used == cap) {
            if (cap > limit) {
                st = digit_fail(DIGIT_ERR_FORMAT,
                                "%s: decompresses to more than %zu bytes", path,
                                limit);
                goto done;
            }
            size_t ncap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            uint8_t *grown = realloc(out, ncap);
            if (!grown) {
                st = digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", path);
                goto done;
            }
            out = grown;
            cap = ncap;
        }
        /* zlib counts in uInt; feed at most 1 GiB at a time. */
        size_t in_left = in_size - (size_t)((const uint8_t *)zs.next_in - in);
        zs.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
        size_t room = cap - used;
        zs.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
        zs.next_out = out + used;
        int rc = inflate(&zs, Z_NO_FLUSH);
        used = (size_t)(zs.next_out - out);
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out != 0) {
            st = digit_fail(DIGIT_ERR_FORMAT, "%s: gzip data is truncated",
                            path);
            goto done;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            st = digit_fail(DIGIT_ERR_FORMAT, "%s: corrupt gzip data (%s)",
                            path, zs.msg ? zs.msg : "inflate failed");
            goto done;
        }
    }
    if (used > limit) {
        st = digit_fail(DIGIT_ERR_FORMAT,
                        "%s: decompresses to more than %zu bytes", path, limit);
        goto done;
    }
    *data = out;
    *size = used;
    out = NULL;
done:
    inflateEnd(&zs);
    free(out);
    return st;
}

digit_status digit_read_file(const char *path, size_t limit, int allow_gzip,
                             uint8_t **data, size_t *size) {
    uint8_t *raw = NULL;
    size_t n = 0;
    digit_status st = read_raw(path, limit, &raw, &n);
    if (st != DIGIT_OK) return st;
    if (!allow_gzip || n < 2 || raw[0] != 0x1f || raw[1] != 0x8b) {
        *data = raw;
        *size = n;
        return DIGIT_OK;
    }
    st = gunzip(path, raw, n, limit, data, size);
    free(raw);
    return st;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync of the folder makes the rename itself durable. */
static void sync_parent(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Creates "<path>.tmp-<random>" exclusively. open() with mode 0666 lets the
 * kernel apply the process umask, as for any new document (mkstemp would
 * force 0600, and changing the umask to read it races with other threads). */
static int create_temp(const char *path, char *tmp, size_t cap) {
    static _Atomic unsigned long counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^
                          (++counter * 0x9e3779b9UL);
        snprintf(tmp, cap, "%s.tmp-%08lx", path, r & 0xffffffffUL);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

digit_status digit_write_file_atomic(const char *path, const void *data,
                                     size_t size) {
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (!tmp) return digit_fail(DIGIT_ERR_MEMORY, "%s: cannot allocate", path);
    int fd = create_temp(path, tmp, cap);
    if (fd < 0) {
        digit_status st = digit_fail(DIGIT_ERR_IO, "%s: cannot create: %s",
                                     path, strerror(errno));
        free(tmp);
        return st;
    }
    if (write_all(fd, data, size) != 0 || fsync(fd) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return digit_fail(DIGIT_ERR_IO, "%s: write failed: %s", path,
                          strerror(err));
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        free(tmp);
        return digit_fail(DIGIT_ERR_IO, "%s: cannot replace: %s", path,
                          strerror(err));
    }
    free(tmp);
    sync_parent(path);
    return DIGIT_OK;
}
