/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c — libdigit when the system fails it: a disk that fills up
 * in the middle of a save, folders that do not exist, memory that runs out,
 * and files that claim sizes far larger than they are.
 *
 * Each failure is injected into a forked child (setrlimit only ever
 * narrows, and a crash there must not take the test down with it); the
 * child reports the status and message of the call through a pipe and the
 * parent checks them, then checks the files the call left behind:
 *   - RLIMIT_FSIZE with SIGXFSZ ignored makes write() fail with EFBIG once
 *     a file would grow past the limit: a full disk, as far as the writer
 *     can tell. A save that fails so must report an I/O error and leave the
 *     previous file byte for byte as it was, with no temporary file beside
 *     it. (Running as test_root defeats permission-based checks, this does not.)
 *   - RLIMIT_AS makes allocations fail: loads, decodes, predictions and
 *     training must then return DIGIT_ERR_MEMORY (or succeed), never crash.
 *     Not under AddressSanitizer, whose shadow memory needs terabytes of
 *     address space; the sanitizer itself then refuses absurd allocations.
 *   - Headers claiming huge counts and shapes are refused as malformed
 *     before anything of that size is allocated: with RLIMIT_AS a few MB
 *     above what the process already uses, an attempt would show up as
 *     DIGIT_ERR_MEMORY instead of DIGIT_ERR_FORMAT.
 */
#define _GNU_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <png.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "helpers.h"
#include "testfiles.h"
#include "digit.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- files ---- */

/* ---- running a call in a child ---- */

typedef struct outcome {
    int signal;          /* the child died of this signal (0: it did not) */
    int exit_code;       /* otherwise its exit code (0: it reported) */
    digit_status status; /* what the call returned */
    char message[512];   /* digit_last_error() after it */
} outcome;

typedef enum limit_kind { LIMIT_NONE, LIMIT_FSIZE, LIMIT_AS } limit_kind;

/* Address space in use now, in bytes (VmSize). */
static size_t address_space_used(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb * 1024;
}

/* Runs call(arg) in a forked child under the limit: for LIMIT_FSIZE, files
 * cannot grow past `amount` bytes; for LIMIT_AS, the address space cannot
 * grow more than `amount` bytes past what the child starts with. */
static outcome in_child(limit_kind kind, size_t amount, digit_status (*call)(void *),
                        void *arg) {
    outcome o;
    memset(&o, 0, sizeof o);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(fds[0]);
        if (kind == LIMIT_FSIZE) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit r = {amount, amount};
            if (setrlimit(RLIMIT_FSIZE, &r) != 0) _exit(3);
        } else if (kind == LIMIT_AS) {
            /* Large blocks from mmap, and the heap's free top returned:
             * otherwise glibc serves allocations from memory the parent
             * freed, which the limit does not see. */
            mallopt(M_MMAP_THRESHOLD, 128 * 1024);
            malloc_trim(0);
            size_t limit = address_space_used() + amount;
            struct rlimit r = {limit, limit};
            if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
        }
        outcome c;
        memset(&c, 0, sizeof c);
        c.status = call(arg);
        snprintf(c.message, sizeof c.message, "%s", digit_last_error());
        ssize_t w = write(fds[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 4);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], &o, sizeof o);
    close(fds[0]);
    int ws = 0;
    waitpid(pid, &ws, 0);
    if (WIFSIGNALED(ws)) o.signal = WTERMSIG(ws);
    else o.exit_code = WEXITSTATUS(ws);
    if (got != (ssize_t)sizeof o && !o.signal && !o.exit_code) o.exit_code = 5;
    return o;
}

#define CHECK_REPORTED(o, what)                                              \
    CHECK((o).signal == 0 && (o).exit_code == 0,                             \
          "%s: child died (signal %d, exit %d)", (what), (o).signal,         \
          (o).exit_code)

/* ---- synthetic inputs ---- */

/* synth_images, synth_dataset and put_be32 come from helpers.h. */

/* An IDX pair of n synthetic images in dir ("<stem>-images", "-labels");
 * with `gzip` both are gzip'd. `claimed` is the count the headers state. */
static void write_idx(const char *dir, const char *stem, size_t n, uint32_t claimed, int gzip,
                      char *images_path, char *labels_path, size_t cap) {
    size_t ni = 16 + n * DIGIT_IMAGE_PIXELS, nl = 8 + n;
    uint8_t *img = malloc(ni), *lab = malloc(nl);
    put_be32(img, 0x803), put_be32(img + 4, claimed), put_be32(img + 8, 28),
        put_be32(img + 12, 28);
    put_be32(lab, 0x801), put_be32(lab + 4, claimed);
    synth_images(n, 1, img + 16, lab + 8);
    char name[128];
    snprintf(name, sizeof name, "%s-images%s", stem, gzip ? ".gz" : "");
    path_in(images_path, cap, dir, name);
    snprintf(name, sizeof name, "%s-labels%s", stem, gzip ? ".gz" : "");
    path_in(labels_path, cap, dir, name);
    if (gzip) {
        gzFile g = gzopen(images_path, "wb");
        gzwrite(g, img, (unsigned)ni);
        gzclose(g);
        g = gzopen(labels_path, "wb");
        gzwrite(g, lab, (unsigned)nl);
        gzclose(g);
    } else {
        write_bytes(images_path, img, ni);
        write_bytes(labels_path, lab, nl);
    }
    free(img);
    free(lab);
}

/* A safetensors file with the given JSON header and data bytes. */
static void write_safetensors(const char *path, const char *json, size_t data_bytes) {
    size_t h = strlen(json), n = 8 + h + data_bytes;
    uint8_t *b = calloc(1, n);
    uint64_t hl = h;
    memcpy(b, &hl, 8);
    memcpy(b + 8, json, h);
    write_bytes(path, b, n);
    free(b);
}

/* ---- failed saves keep the old file ---- */

typedef struct save_job {
    digit_model *model;
    const char *path;
    const uint8_t *gray;
    int w, h;
    const digit_dataset *train;
    digit_train_options *opt;
} save_job;

static digit_status do_save_model(void *arg) {
    save_job *j = arg;
    return digit_model_save(j->model, j->path);
}

static digit_status do_save_png(void *arg) {
    save_job *j = arg;
    return digit_image_save_png(j->path, j->gray, j->w, j->h);
}

static digit_status do_train(void *arg) {
    save_job *j = arg;
    return digit_train(j->model, j->train, NULL, j->opt, NULL);
}

/* After a save into `path` failed: the old bytes are there unchanged and
 * the folder holds `entries` files, none of them a temporary. */
static void check_intact(const char *what, const char *dir, const char *path,
                         const uint8_t *before, size_t before_n, int entries) {
    size_t after_n;
    uint8_t *after = read_bytes(path, &after_n);
    CHECK(after && after_n == before_n && memcmp(before, after, before_n) == 0,
          "%s: the previous file changed (%zu -> %zu bytes)", what, before_n, after_n);
    int temps = 0, n = count_entries(dir, &temps);
    CHECK(n == entries && temps == 0, "%s: %d entries, %d temporaries left", what, n, temps);
    free(after);
}

static void test_disk_full(void) {
    char dir[512], path[600];
    make_dir(dir, sizeof dir, "disk-full");
    digit_model *old_model, *new_model;
    CHECK_OK(digit_model_create("basic", 1, &old_model));
    CHECK_OK(digit_model_create("basic", 2, &new_model));
    path_in(path, sizeof path, dir, "model.safetensors");
    CHECK_OK(digit_model_save(old_model, path));
    size_t before_n;
    uint8_t *before = read_bytes(path, &before_n);

    /* The disk fills up at once, after a page, and half way through. */
    const size_t limits[] = {0, 4096, 1u << 20};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        save_job j = {.model = new_model, .path = path};
        outcome o = in_child(LIMIT_FSIZE, limits[i], do_save_model, &j);
        char what[64];
        snprintf(what, sizeof what, "model save, disk full at %zu bytes", limits[i]);
        CHECK_REPORTED(o, what);
        CHECK(o.status == DIGIT_ERR_IO, "%s: status %s (%s)", what,
              digit_status_name(o.status), o.message);
        CHECK(strstr(o.message, path) && strstr(o.message, strerror(EFBIG)),
              "%s: message '%s' names neither the file nor the cause", what, o.message);
        check_intact(what, dir, path, before, before_n, 1);
    }
    /* The file still loads as the old model. */
    digit_model *back = NULL;
    CHECK_OK(digit_model_load(path, &back));
    if (back)
        CHECK(memcmp(digit_model_weights(back), digit_model_weights(old_model),
                     digit_model_param_count(old_model) * sizeof(float)) == 0,
              "reloaded weights differ");
    digit_model_free(back);
    free(before);

    /* A PNG save over an older PNG. */
    uint8_t gray[40 * 30];
    for (int k = 0; k < 40 * 30; k++) gray[k] = (uint8_t)(k * 7);
    path_in(path, sizeof path, dir, "image.png");
    CHECK_OK(digit_image_save_png(path, gray, 40, 30));
    before = read_bytes(path, &before_n);
    uint8_t other[40 * 30];
    for (int k = 0; k < 40 * 30; k++) other[k] = (uint8_t)(k * 13 + 1);
    save_job pj = {.path = path, .gray = other, .w = 40, .h = 30};
    outcome o = in_child(LIMIT_FSIZE, 64, do_save_png, &pj);
    CHECK_REPORTED(o, "png save");
    CHECK(o.status == DIGIT_ERR_IO && strstr(o.message, path),
          "png save on a full disk: %s (%s)", digit_status_name(o.status), o.message);
    check_intact("png save", dir, path, before, before_n, 2);
    free(before);

    /* A checkpoint written after each epoch: the previous one survives a
     * failed write, and training reports the failure. */
    digit_dataset *ds = synth_dataset(64, 1);
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 3, &m));
    digit_train_options opt;
    CHECK_OK(digit_train_options_init_default(&opt, "compact"));
    opt.epochs = 1, opt.batch_size = 32, opt.threads = 1;
    path_in(path, sizeof path, dir, "run.ckpt");
    opt.checkpoint_path = path;
    CHECK_OK(digit_train(m, ds, NULL, &opt, NULL));
    before = read_bytes(path, &before_n);
    opt.epochs = 2;
    save_job tj = {.model = m, .train = ds, .opt = &opt};
    o = in_child(LIMIT_FSIZE, 8192, do_train, &tj);
    CHECK_REPORTED(o, "checkpoint save");
    CHECK(o.status == DIGIT_ERR_IO && strstr(o.message, path),
          "checkpoint on a full disk: %s (%s)", digit_status_name(o.status), o.message);
    check_intact("checkpoint save", dir, path, before, before_n, 3);
    digit_checkpoint_info info;
    digit_checkpoint_info_init(&info);
    CHECK_OK(digit_checkpoint_read(path, &info, NULL));
    CHECK(info.epochs_done == 1, "checkpoint says %d epochs", info.epochs_done);
    free(before);
    digit_model_free(m);
    digit_dataset_free(ds);
    digit_model_free(old_model);
    digit_model_free(new_model);
}

static void test_missing_folder(void) {
    char dir[512], path[600], file[600];
    make_dir(dir, sizeof dir, "missing");
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    /* A folder that does not exist is not created. */
    path_in(path, sizeof path, dir, "no/such/folder/model.safetensors");
    digit_status st = digit_model_save(m, path);
    CHECK(st == DIGIT_ERR_IO && strstr(digit_last_error(), path) &&
              strstr(digit_last_error(), strerror(ENOENT)),
          "save into a missing folder: %s (%s)", digit_status_name(st), digit_last_error());
    CHECK(count_entries(dir, NULL) == 0, "the failed save created %d entries",
          count_entries(dir, NULL));
    /* A "folder" that is a file. */
    path_in(file, sizeof file, dir, "plain-file");
    write_bytes(file, "x", 1);
    path_in(path, sizeof path, dir, "plain-file/model.safetensors");
    st = digit_model_save(m, path);
    CHECK(st == DIGIT_ERR_IO && strstr(digit_last_error(), path),
          "save under a file: %s (%s)", digit_status_name(st), digit_last_error());
    uint8_t gray[28 * 28] = {0};
    gray[300] = 255;
    st = digit_image_save_png(path, gray, 28, 28);
    CHECK(st == DIGIT_ERR_IO && strstr(digit_last_error(), path),
          "png save under a file: %s (%s)", digit_status_name(st), digit_last_error());
    CHECK(count_entries(dir, NULL) == 1, "%d entries", count_entries(dir, NULL));
    /* Training with its checkpoint in a missing folder trains, then says the
     * checkpoint could not be written. */
    digit_dataset *ds = synth_dataset(40, 1);
    digit_train_options opt;
    CHECK_OK(digit_train_options_init_default(&opt, "compact"));
    opt.epochs = 1, opt.batch_size = 20, opt.threads = 1;
    path_in(path, sizeof path, dir, "gone/run.ckpt");
    opt.checkpoint_path = path;
    st = digit_train(m, ds, NULL, &opt, NULL);
    CHECK(st == DIGIT_ERR_IO && strstr(digit_last_error(), path),
          "checkpoint into a missing folder: %s (%s)", digit_status_name(st),
          digit_last_error());
    digit_dataset_free(ds);
    digit_model_free(m);
}

/* ---- running out of memory ---- */

typedef struct mem_job {
    const char *a, *b;
    const uint8_t *bytes;
    size_t size;
    digit_model *model;
    const digit_dataset *data;
} mem_job;

static digit_status do_load_model(void *arg) {
    mem_job *j = arg;
    digit_model *m = (digit_model *)1;
    digit_status st = digit_model_load(j->a, &m);
    if (st == DIGIT_OK) digit_model_free(m);
    else if (m != NULL) return (digit_status)99; /* out not cleared */
    return st;
}

static digit_status do_load_dataset(void *arg) {
    mem_job *j = arg;
    digit_dataset *d = (digit_dataset *)1;
    digit_status st = digit_dataset_load(j->a, j->b, &d);
    if (st == DIGIT_OK) digit_dataset_free(d);
    else if (d != NULL) return (digit_status)99;
    return st;
}

static digit_status do_load_png(void *arg) {
    mem_job *j = arg;
    uint8_t out[DIGIT_IMAGE_PIXELS];
    return j->bytes ? digit_image_load_memory(j->bytes, j->size, out, NULL)
                    : digit_image_load(j->a, out, NULL);
}

static digit_status do_predict(void *arg) {
    mem_job *j = arg;
    size_t n = digit_dataset_count(j->data);
    float *probs = malloc(n * DIGIT_CLASSES * sizeof(float));
    if (!probs) return DIGIT_ERR_MEMORY;
    digit_status st = digit_predict_u8(j->model, digit_dataset_images(j->data), n,
                                       DIGIT_OUTPUT_PROBABILITIES, probs, NULL);
    free(probs);
    return st;
}

static digit_status do_train_mem(void *arg) {
    mem_job *j = arg;
    digit_train_options opt;
    digit_train_options_init_default(&opt, digit_model_arch(j->model));
    opt.epochs = 1, opt.batch_size = 64, opt.threads = 1;
    return digit_train(j->model, j->data, NULL, &opt, NULL);
}

/* Runs the call under address-space limits from `lo` to `hi` bytes above
 * the current use: every run must return (no crash) with DIGIT_OK or
 * DIGIT_ERR_MEMORY, the tightest must fail and the loosest succeed. */
static void check_out_of_memory(const char *what, digit_status (*call)(void *), mem_job *j,
                                size_t lo, size_t hi) {
    /* Steps quadratic in k: fine near the tightest limits, where each step
     * lets the call get one allocation further before it fails. */
    int memory = 0, ok = 0, steps = 40;
    for (int k = 0; k <= steps; k++) {
        size_t amount = lo + (size_t)((double)(hi - lo) * k * k / ((double)steps * steps));
        outcome o = in_child(LIMIT_AS, amount, call, j);
        char label[128];
        snprintf(label, sizeof label, "%s with %zu KB to spare", what, amount >> 10);
        CHECK_REPORTED(o, label);
        if (o.signal || o.exit_code) continue;
        CHECK(o.status == DIGIT_OK || o.status == DIGIT_ERR_MEMORY, "%s: %s (%s)", label,
              digit_status_name(o.status), o.message);
        CHECK(o.status == DIGIT_OK || o.message[0], "%s: no message", label);
        memory += o.status == DIGIT_ERR_MEMORY;
        ok += o.status == DIGIT_OK;
        if (k == 0) CHECK(o.status == DIGIT_ERR_MEMORY, "%s: did not run out", label);
        if (k == steps) CHECK(o.status == DIGIT_OK, "%s: failed (%s)", label, o.message);
    }
    printf("test_faults: %-28s %d of %d limits ran out of memory, %d succeeded\n", what,
           memory, steps + 1, ok);
}

static void test_out_of_memory(void) {
    if (UNDER_ASAN) {
        printf("test_faults: AddressSanitizer build, RLIMIT_AS checks skipped\n");
        return;
    }
    char dir[512], model_path[600], img[600], lab[600], gimg[600], glab[600], png[600];
    make_dir(dir, sizeof dir, "memory");
    digit_model *basic;
    CHECK_OK(digit_model_create("basic", 1, &basic));
    path_in(model_path, sizeof model_path, dir, "basic.safetensors");
    CHECK_OK(digit_model_save(basic, model_path));
    write_idx(dir, "raw", 3000, 3000, 0, img, lab, sizeof img);
    write_idx(dir, "gz", 3000, 3000, 1, gimg, glab, sizeof gimg);
    /* A 2000x1500 gray PNG: 3 MB decoded, 8 KB on disk. */
    int W = 2000, H = 1500;
    uint8_t *gray = malloc((size_t)W * H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            gray[(size_t)y * W + x] = (x > 800 && x < 1200 && y > 300 && y < 1200) ? 20 : 230;
    path_in(png, sizeof png, dir, "big.png");
    CHECK_OK(digit_image_save_png(png, gray, W, H));
    free(gray);
    digit_dataset *ds = synth_dataset(256, 1);
    digit_set_threads(1);
    /* Warm up OpenBLAS in the parent, so that its buffers exist before any
     * limit: OpenBLAS exits the process when it cannot get its buffers,
     * which is not ours to change. */
    mem_job warm = {.model = basic, .data = ds};
    CHECK_OK(do_predict(&warm));

    mem_job j = {.a = model_path};
    check_out_of_memory("model load (1.7 MB)", do_load_model, &j, 0, 8u << 20);
    mem_job d = {.a = img, .b = lab};
    check_out_of_memory("IDX load (2.3 MB)", do_load_dataset, &d, 0, 12u << 20);
    mem_job g = {.a = gimg, .b = glab};
    check_out_of_memory("gzip IDX load (2.3 MB)", do_load_dataset, &g, 0, 16u << 20);
    mem_job p = {.a = png};
    check_out_of_memory("PNG decode (3 MB)", do_load_png, &p, 0, 24u << 20);
    mem_job pr = {.model = basic, .data = ds};
    check_out_of_memory("predict (256 images)", do_predict, &pr, 0, 96u << 20);
    digit_model *compact;
    CHECK_OK(digit_model_create("compact", 1, &compact));
    mem_job tr = {.model = compact, .data = ds};
    check_out_of_memory("train (compact)", do_train_mem, &tr, 0, 64u << 20);
    digit_model_free(compact);
    digit_model_free(basic);
    digit_dataset_free(ds);
    digit_set_threads(0);
}

/* ---- huge claims are refused before allocating ---- */

static digit_status do_load_model_memory(void *arg) {
    mem_job *j = arg;
    digit_model *m = NULL;
    digit_status st = digit_model_load_memory(j->bytes, j->size, &m);
    digit_model_free(m);
    return st;
}

/* The call must fail with DIGIT_ERR_FORMAT, also when it may allocate no
 * more than 16 MB (outside AddressSanitizer builds). */
static void check_refused(const char *what, digit_status (*call)(void *), mem_job *j) {
    outcome o = UNDER_ASAN ? in_child(LIMIT_NONE, 0, call, j)
                           : in_child(LIMIT_AS, 16u << 20, call, j);
    CHECK_REPORTED(o, what);
    CHECK(o.status == DIGIT_ERR_FORMAT, "%s: %s (%s)", what, digit_status_name(o.status),
          o.message);
}

static void test_huge_claims(void) {
    char dir[512], a[600], b[600], p[600];
    make_dir(dir, sizeof dir, "huge");
    digit_set_threads(1);

    /* IDX headers claiming 2^32-1 images (3.4 TB) over 2 real ones. */
    write_idx(dir, "claim", 2, 0xFFFFFFFFu, 0, a, b, sizeof a);
    mem_job j = {.a = a, .b = b};
    check_refused("IDX claiming 4294967295 images", do_load_dataset, &j);
    write_idx(dir, "claimgz", 2, 0xFFFFFFFFu, 1, a, b, sizeof a);
    check_refused("gzip IDX claiming 4294967295 images", do_load_dataset, &j);
    write_idx(dir, "ok", 2, 2, 0, a, b, sizeof a);
    path_in(p, sizeof p, dir, "labels-claim");
    uint8_t lab[10] = {0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2};
    write_bytes(p, lab, sizeof lab);
    mem_job jl = {.a = a, .b = p};
    check_refused("IDX labels claiming 4294967295", do_load_dataset, &jl);

    /* Safetensors: a header length of 100 MB in a small file, shapes whose
     * byte counts overflow or exceed the data, a flood of tensors. */
    path_in(p, sizeof p, dir, "hlen.safetensors");
    uint8_t small[64] = {0};
    uint64_t hl = 100u * 1000u * 1000u;
    memcpy(small, &hl, 8);
    memcpy(small + 8, "{}", 2);
    write_bytes(p, small, sizeof small);
    mem_job jm = {.a = p};
    check_refused("safetensors header of 100 MB", do_load_model, &jm);
    const char *headers[] = {
        "{\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
        "\"data_offsets\":[0,18446744073709551615]}}",
        "{\"fc1.weight\":{\"dtype\":\"F64\",\"shape\":[3037000500,3037000500],"
        "\"data_offsets\":[0,8]}}",
        "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[1000000000],"
        "\"data_offsets\":[0,4000000000]}}",
    };
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        char name[32];
        snprintf(name, sizeof name, "shape-%zu.safetensors", i);
        path_in(p, sizeof p, dir, name);
        write_safetensors(p, headers[i], 8);
        char what[64];
        snprintf(what, sizeof what, "safetensors huge shape %zu", i);
        check_refused(what, do_load_model, &jm);
    }
    /* 5000 tensors, past the 4096 the parser takes. */
    size_t cap = 5000 * 64 + 16, len = 0;
    char *many = malloc(cap);
    len += (size_t)snprintf(many, cap, "{");
    for (int i = 0; i < 5000; i++)
        len += (size_t)snprintf(many + len, cap - len,
                                "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}",
                                i ? "," : "", i);
    snprintf(many + len, cap - len, "}");
    size_t n = 8 + strlen(many);
    uint8_t *buf = malloc(n);
    uint64_t h = strlen(many);
    memcpy(buf, &h, 8);
    memcpy(buf + 8, many, h);
    mem_job jt = {.bytes = buf, .size = n};
    check_refused("safetensors with 5000 tensors", do_load_model_memory, &jt);
    free(buf);
    free(many);

    /* PNG: a valid 1x1 image whose IHDR then claims 8192x2048 (within the
     * limits, so decoded... and found truncated), and a text chunk claiming
     * 2 GB. The size limits themselves are tested in test_image.c. */
    uint8_t gray = 255;
    path_in(p, sizeof p, dir, "one.png");
    CHECK_OK(digit_image_save_png(p, &gray, 1, 1));
    size_t pn;
    uint8_t *png = read_bytes(p, &pn);
    uint8_t *big = malloc(pn + 12);
    memcpy(big, png, 33);
    /* a zTXt chunk claiming 0x7FFFFFFF bytes, then nothing */
    put_be32(big + 33, 0x7FFFFFFFu);
    memcpy(big + 37, "zTXt", 4);
    memcpy(big + 41, "k\0\0x", 4);
    mem_job jp = {.bytes = big, .size = 45};
    check_refused("PNG chunk claiming 2 GB", do_load_png, &jp);
    free(big);
    free(png);
    digit_set_threads(0);
}

int main(void) {
    if (!make_test_root("test-faults")) return 1;
    test_disk_full();
    test_missing_folder();
    test_out_of_memory();
    test_huge_claims();
    remove_tree(test_root);
    return test_summary("test_faults");
}
