/* SPDX-License-Identifier: MIT */
/*
 * bench.c — libdigit's benchmark: training and inference speed of each
 * preset on this machine, with the achieved GFLOP/s set against the sgemm
 * rate OpenBLAS reaches here, and peak memory. `make bench` builds and runs
 * it; see BENCHMARKS.md for the method and the figures.
 *
 *   build/digit-bench [--data DIR] [--threads N] [--batches N]
 *                     [--arch NAME] [--json FILE]   (default: every preset)
 *   build/digit-bench --layers [--arch NAME] [--images N]
 *                     each layer's forward and backward time (see below)
 *
 * Training time is the median of per-batch times (each preset's own batch
 * size and optimiser: 64 and Adam for basic and compact) after a
 * warm-up, times the batches in an epoch. It uses the library's internals
 * (net.h) only to count FLOPs; every timed call is public API.
 */
#define _GNU_SOURCE
#include <cblas.h>
#include <digit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cpu.h"
#include "net.h"
#include "optim.h"
#include "winograd.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double *v, size_t n, double q) {
    qsort(v, n, sizeof *v, cmp_double);
    return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* FLOPs of one image's training step (forward + backward). */
static double train_flops(const char *arch) {
    net_plan p;
    if (!net_plan_build(&p, arch_find(arch))) return 0;
    double f = 0;
    for (int i = 0; i < p.nlayers; i++) {
        const layer_plan *L = &p.layer[i];
        double fwd = 0;
        if (L->spec->kind == LAYER_CONV)
            fwd = 2.0 * L->out_h * L->out_w * L->out_c * L->fan_in;
        else if (L->spec->kind == LAYER_LINEAR)
            fwd = 2.0 * L->in_c * L->out_c;
        /* Backward: the weight gradient, and the input gradient except for
         * the first layer. */
        f += fwd * (i == 0 ? 2 : 3);
    }
    return f;
}

/* The rate OpenBLAS reaches here on a large square sgemm, per thread. */
static double sgemm_gflops(void) {
    const int n = 1024;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    openblas_set_num_threads(1);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        t = now() - t;
        if (2.0 * n * n * n / t / 1e9 > best) best = 2.0 * n * n * n / t / 1e9;
    }
    free(a), free(b), free(c);
    return best;
}

typedef struct timing {
    double *batch_seconds;
    int n, warmup, cap;
    double last;
} timing;

static int on_batch(const digit_batch_progress *p, void *user) {
    timing *t = user;
    double at = now();
    int k = p->batch - 1 - t->warmup;
    if (k >= 0 && k < t->cap) t->batch_seconds[t->n++] = at - t->last;
    t->last = at;
    return p->batch >= t->warmup + t->cap;
}

typedef struct result {
    double s_per_batch, s_per_epoch, img_per_s, gflops, infer_img_per_s,
        lat_p50_us, lat_p90_us, accuracy;
    int batch_size;
} result;

static int bench_arch(const char *arch, const digit_dataset *train,
                      const digit_dataset *test, int threads, int batches,
                      result *r) {
    digit_model *m;
    if (digit_model_create(arch, 1, &m)) return 1;
    digit_train_options o;
    digit_train_options_init_default(&o, arch);
    o.epochs = 1;
    o.threads = threads;
    timing t = {calloc((size_t)batches, sizeof(double)), 0, 20, batches, now()};
    o.on_batch = on_batch;
    o.user = &t;
    digit_status st = digit_train(m, train, NULL, &o, NULL);
    if (st != DIGIT_OK && st != DIGIT_ERR_CANCELLED) {
        fprintf(stderr, "bench: %s\n", digit_last_error());
        return 1;
    }
    r->s_per_batch = quantile(t.batch_seconds, (size_t)t.n, 0.5);
    size_t per_epoch = (digit_dataset_count(train) + (size_t)o.batch_size - 1) / (size_t)o.batch_size;
    r->s_per_epoch = r->s_per_batch * (double)per_epoch;
    r->batch_size = o.batch_size;
    r->img_per_s = o.batch_size / r->s_per_batch;
    r->gflops = train_flops(arch) * r->img_per_s / 1e9;
    free(t.batch_seconds);

    /* Inference: the test set in batches of 1000, then single images. */
    digit_set_threads(threads);
    const uint8_t *x = digit_dataset_images(test);
    size_t n = digit_dataset_count(test);
    int *labels = malloc(sizeof(int) * n);
    digit_predict_u8(m, x, 1000, DIGIT_OUTPUT_PROBABILITIES, NULL, labels);
    double start = now();
    for (size_t at = 0; at + 1000 <= n; at += 1000)
        digit_predict_u8(m, x + at * DIGIT_IMAGE_PIXELS, 1000, DIGIT_OUTPUT_PROBABILITIES,
                         NULL, labels + at);
    r->infer_img_per_s = (double)(n / 1000 * 1000) / (now() - start);
    enum { SINGLES = 1000 };
    double lat[SINGLES];
    float probs[DIGIT_CLASSES];
    for (int i = 0; i < SINGLES + 100; i++) {
        double s = now();
        digit_predict_u8(m, x + (size_t)(i % n) * DIGIT_IMAGE_PIXELS, 1,
                         DIGIT_OUTPUT_PROBABILITIES, probs, labels);
        if (i >= 100) lat[i - 100] = (now() - s) * 1e6;
    }
    r->lat_p50_us = quantile(lat, SINGLES, 0.5);
    r->lat_p90_us = quantile(lat, SINGLES, 0.9);
    free(labels);
    digit_model_free(m);
    return 0;
}

/* ---- --layers: the time of each layer's forward and backward pass ----
 * One thread, a micro-batch of `B` images (the training loop's 16 by
 * default) through the network's internals, each layer's pass repeated and
 * the median taken. GFLOP/s counts the direct convolution's multiply-adds,
 * so a Winograd layer shows its savings as rate; the roof columns give the
 * least time each pass could take on this machine (see below). */

static double median_of(double *v, int n) { return quantile(v, (size_t)n, 0.5); }

static double layer_flops(const layer_plan *L) {
    if (L->spec->kind == LAYER_CONV) return 2.0 * L->out_h * L->out_w * L->out_c * L->fan_in;
    if (L->spec->kind == LAYER_LINEAR) return 2.0 * L->in_c * L->out_c;
    return 0;
}

/* ---- the roofline of each pass ----
 * A pass can be no faster than its arithmetic at the one-thread sgemm
 * rate, nor than the bytes it must move at the copy bandwidth of a buffer
 * the size of a micro-batch's activations (they live in L3, not L2). A
 * small layer whose data stays in L2 can come in under it. */

/* Copy bandwidth (bytes read plus written per second) on `bytes` buffers:
 * the best of several passes. */
static double copy_bandwidth(size_t bytes) {
    char *a = malloc(bytes), *b = malloc(bytes);
    if (!a || !b) return free(a), free(b), 0;
    memset(a, 1, bytes), memset(b, 2, bytes);
    const int passes = (int)(((size_t)1 << 30) / bytes) + 2;
    double best = 0;
    for (int r = 0; r < passes; r++) {
        double t = now();
        memcpy(r % 2 ? a : b, r % 2 ? b : a, bytes);
        t = now() - t;
        if (2.0 * bytes / t > best) best = 2.0 * bytes / t;
    }
    free(a), free(b);
    return best;
}

/* The multiplies a pass really does: Winograd F(m x m,3x3) does (m + 2)^2
 * per m x m output tile and channel pair where the direct convolution
 * does 9 m^2 (F(2x2): 16 for 36; F(4x4): 36 for 144). */
static double layer_flops_done(const layer_plan *L) {
    if (L->spec->kind == LAYER_CONV && L->conv_path == CONV_WINOGRAD) {
        const int m = L->wino_m;
        double tiles = (double)((L->out_h + m - 1) / m) * ((L->out_w + m - 1) / m);
        return 2.0 * wino_points(m) * tiles * L->in_c * L->out_c;
    }
    return layer_flops(L);
}

/* The bytes a pass must read and write at least, per image (weights once
 * per pass, spread over B images): the input and output, the weights, a
 * max-pool's argmax; backward the output gradient, the input gradient
 * (not for the first layer), and for weighted layers the input again and
 * the weight gradient. */
static double layer_bytes(const layer_plan *L, int first, int B, int backward) {
    const double in = (double)L->in_c * L->in_h * L->in_w;
    const double out = (double)L->out_c * L->out_h * L->out_w;
    const int weighted = L->spec->kind == LAYER_CONV || L->spec->kind == LAYER_LINEAR;
    const double w = weighted ? (double)(L->w_count + L->b_count) / B : 0;
    const double arg = L->spec->kind == LAYER_MAXPOOL ? out : 0;
    if (!backward) return 4 * (in + out + w + arg);
    return 4 * (out + (first ? 0 : in) + (weighted ? in + 2 * w : 0) + 2 * arg);
}

static int profile_layers(const char *arch, int B, double peak, double bandwidth) {
    enum { REPEATS = 41 };
    net_plan p;
    net_work w;
    if (!net_plan_build(&p, arch_find(arch)) || !net_work_alloc(&w, &p, B, 1)) return 1;
    float *params = malloc(sizeof(float) * p.nparams), *grads = malloc(sizeof(float) * p.nparams);
    float *packed = malloc(sizeof(float) * (p.npacked + 1));
    uint8_t *labels = malloc((size_t)B);
    adam a;
    if (!params || !grads || !packed || !labels || !adam_init(&a, p.nparams)) return 1;
    net_init_params(&p, params, 1);
    net_pack(&p, params, packed);
    for (size_t i = 0; i < (size_t)B * DIGIT_IMAGE_PIXELS; i++)
        net_input(&w)[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    for (int b = 0; b < B; b++) labels[b] = (uint8_t)(b % DIGIT_CLASSES);
    openblas_set_num_threads(1);
    net_forward(&p, params, packed, &w, B);
    net_backward(&p, params, packed, grads, &w, B, labels, B);
    printf("%s, %d images, one thread, %s kernels (us per pass; GFLOP/s of the direct "
           "convolution)\n", arch, B, cpu_path_name(cpu_path_active()));
    printf("  %-36s %-9s %9s %9s %8s %8s %9s %9s\n", "layer", "path", "fwd us", "bwd us",
           "fwd GF/s", "bwd GF/s", "fwd roof", "bwd roof");
    double total_f = 0, total_b = 0, roof_total_f = 0, roof_total_b = 0, t[REPEATS];
    for (int i = 0; i < p.nlayers; i++) {
        const layer_plan *L = &p.layer[i];
        for (int r = 0; r < REPEATS; r++) {
            double s = now();
            net_forward_span(&p, params, packed, &w, B, i, i + 1);
            t[r] = now() - s;
        }
        double f = median_of(t, REPEATS);
        net_forward_span(&p, params, packed, &w, B, i + 1, p.nlayers); /* the later layers' inputs */
        double bwd = 0;
        if (i < p.nlayers - 1) {
            for (int r = 0; r < REPEATS; r++) {
                double s = now();
                net_backward_span(&p, params, packed, grads, &w, B, i, i + 1);
                t[r] = now() - s;
            }
            bwd = median_of(t, REPEATS);
        }
        double fl = layer_flops(L) * B;
        static const char *const PATHS[] = {"im2col", "winograd", "1-channel"};
        char wino[16];
        snprintf(wino, sizeof wino, "wino %dx%d", L->wino_m, L->wino_m);
        const char *path = L->spec->kind != LAYER_CONV     ? (L->in_conv ? "in conv" : "")
                           : L->conv_path == CONV_WINOGRAD ? wino
                                                           : PATHS[L->conv_path];
        printf("  %-36s %-9s %9.1f %9.1f", L->description, path, f * 1e6, bwd * 1e6);
        if (fl > 0) printf(" %8.1f %8.1f", fl / f / 1e9, fl * (i ? 2 : 1) / bwd / 1e9);
        else printf(" %8s %8s", "", "");
        /* The roof: the larger of the two bounds. A ReLU folded into the
         * max-pool after it is no pass of its own, nor a max-pool the conv
         * before it runs (whose roof stays the unfused one's). */
        const double done = layer_flops_done(L) * B;
        const int pass = !(L->spec->kind == LAYER_RELU && L->fused) && !L->in_conv;
        const double roof_f =
            pass ? fmax(done / (peak * 1e9), layer_bytes(L, !i, B, 0) * B / bandwidth) : 0;
        const double roof_b =
            pass && i < p.nlayers - 1
                ? fmax(done * (i ? 2 : 1) / (peak * 1e9), layer_bytes(L, !i, B, 1) * B / bandwidth)
                : 0;
        printf(" %9.1f %9.1f\n", roof_f * 1e6, roof_b * 1e6);
        roof_total_f += roof_f, roof_total_b += roof_b;
        total_f += f, total_b += bwd;
    }
    const float *g[1] = {grads};
    for (int r = 0; r < REPEATS; r++) {
        double s = now();
        adam_begin(&a);
        adam_update(&a, params, g, 1, 0, p.nparams, 1e-3);
        t[r] = now() - s;
    }
    double opt = median_of(t, REPEATS);
    /* Adam reads the weights, both moments and the gradient, and writes
     * the first three. */
    printf("  %-36s %-9s %9.1f %9s %8s %8s %9.1f\n", "adam step (per batch)", "", opt * 1e6, "",
           "", "", 7.0 * sizeof(float) * p.nparams / bandwidth * 1e6);
    printf("  %-36s %-9s %9.1f %9.1f %8s %8s %9.1f %9.1f\n\n", "total (layers)", "",
           total_f * 1e6, total_b * 1e6, "", "", roof_total_f * 1e6, roof_total_b * 1e6);
    adam_free(&a);
    free(params), free(grads), free(packed), free(labels);
    net_work_free(&w);
    return 0;
}

int main(int argc, char **argv) {
    const char *data = getenv("DIGIT_DATA"), *json = NULL, *only = NULL;
    int threads = 0, batches = 300, layers = 0, micro = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc) batches = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--arch") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--layers")) layers = 1;
        else if (!strcmp(argv[i], "--images") && i + 1 < argc) micro = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--data DIR] [--threads N] [--batches N] "
                            "[--arch NAME] [--json FILE]\n"
                            "       %s --layers [--arch NAME] [--images N]\n", argv[0], argv[0]);
            return 1;
        }
    }
    if (layers) {
        if (micro < 1 || micro > 4096) {
            fprintf(stderr, "bench: --images takes 1 to 4096\n");
            return 1;
        }
        const double peak = sgemm_gflops();
        const double l2 = copy_bandwidth(256 << 10), l3 = copy_bandwidth(8 << 20),
                     dram = copy_bandwidth((size_t)256 << 20);
        printf("OpenBLAS sgemm 1024^3 on one thread: %.1f GFLOP/s\n", peak);
        printf("copy bandwidth on one thread (read + written): 256 KiB %.1f, 8 MiB %.1f, "
               "256 MiB %.1f GB/s\n", l2 / 1e9, l3 / 1e9, dram / 1e9);
        printf("roof: the larger of the multiplies done at the sgemm rate (Winograd: "
               "its products) and the least bytes moved at the 8 MiB bandwidth\n\n");
        const char *name;
        for (size_t i = 0; (name = digit_preset_name(i)); i++)
            if ((!only || !strcmp(only, name)) && profile_layers(name, micro, peak, l3))
                return 2;
        return 0;
    }
    if (!data || batches < 10 || threads < 0) {
        fprintf(stderr, "bench: give --data DIR (or set DIGIT_DATA), --batches >= 10\n");
        return 1;
    }
    digit_dataset *train, *test;
    if (digit_dataset_load_mnist(data, 1, &train) || digit_dataset_load_mnist(data, 0, &test)) {
        fprintf(stderr, "bench: %s\n", digit_last_error());
        return 2;
    }
    digit_set_threads(threads);
    int used = digit_threads();
    double peak1 = sgemm_gflops();
    const char *env = getenv("OPENBLAS_CORETYPE");
    printf("libdigit %s, %d threads, each preset's batch size, OPENBLAS_CORETYPE=%s\n", digit_version(), used,
           env ? env : "(unset)");
    printf("OpenBLAS sgemm 1024^3 on one thread: %.1f GFLOP/s (x%d threads = %.1f)\n\n", peak1,
           used, peak1 * used);
    printf("%-8s %9s %8s %8s %8s %6s %12s %11s %11s\n", "arch", "s/batch", "s/epoch", "img/s",
           "GFLOP/s", "%sgemm", "infer img/s", "lat p50 us", "lat p90 us");
    FILE *out = json ? fopen(json, "w") : NULL;
    if (json && !out) {
        fprintf(stderr, "bench: cannot write %s\n", json);
        return 2;
    }
    if (out)
        fprintf(out, "{\n  \"version\": \"%s\", \"threads\": %d,\n"
                     "  \"sgemm_gflops_per_thread\": %.2f,\n", digit_version(), used, peak1);
    const char *arch;
    for (size_t i = 0; (arch = digit_preset_name(i)); i++) {
        if (only && strcmp(only, arch)) continue;
        result r;
        if (bench_arch(arch, train, test, used, batches, &r)) return 2;
        printf("%-8s %9.4f %8.2f %8.0f %8.1f %5.0f%% %12.0f %11.0f %11.0f\n", arch,
               r.s_per_batch, r.s_per_epoch, r.img_per_s, r.gflops,
               100 * r.gflops / (peak1 * used), r.infer_img_per_s, r.lat_p50_us, r.lat_p90_us);
        if (out)
            fprintf(out, "  \"%s\": {\"batch_size\": %d, \"train_s_per_batch\": %.6f, \"train_s_per_epoch\": %.3f, "
                         "\"train_img_per_s\": %.1f, \"train_gflops\": %.2f, "
                         "\"infer_img_per_s\": %.1f, \"latency_p50_us\": %.1f, "
                         "\"latency_p90_us\": %.1f},\n",
                    arch, r.batch_size, r.s_per_batch, r.s_per_epoch, r.img_per_s, r.gflops,
                    r.infer_img_per_s, r.lat_p50_us, r.lat_p90_us);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak RSS %.0f MB\n", ru.ru_maxrss / 1024.0);
    if (out) {
        fprintf(out, "  \"peak_rss_mb\": %.1f\n}\n", ru.ru_maxrss / 1024.0);
        fclose(out);
    }
    digit_dataset_free(train);
    digit_dataset_free(test);
    return 0;
}
