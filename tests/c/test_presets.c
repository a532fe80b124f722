/* SPDX-License-Identifier: MIT */
/*
 * test_presets.c — the presets of 2.1 (strong: batch norm, dropout,
 * augmentation, one-cycle; speedrun) and the options that came with them:
 * model files with batch-norm buffers, training determinism and resume,
 * schedules against PyTorch's formulas, augmentation, bad input.
 *
 * Needs MNIST (argv[1] or $DIGIT_DATA) for the training checks; they use
 * a few hundred images so the whole file runs in seconds.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "digit.h"

#define PI 3.14159265358979323846

#define CHECK_ERR(call, want, sub)                                                  \
    do {                                                                            \
        digit_status st_ = (call);                                                  \
        CHECK(st_ == (want) && strstr(digit_last_error(), (sub)),                   \
              "%s: status %d, message '%s' (wanted '%s')", #call, (int)st_,         \
              digit_last_error(), (sub));                                           \
    } while (0)

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- presets and their files ---- */

static int has_tensor(const digit_model *m, const char *name) {
    for (size_t i = 0; i < digit_model_tensor_count(m); i++) {
        digit_tensor_info t;
        digit_tensor_info_init(&t);
        if (digit_model_tensor(m, i, &t) == DIGIT_OK && !strcmp(t.name, name)) return 1;
    }
    return 0;
}

static void test_preset_table(void) {
    CHECK(!strcmp(digit_preset_name(2), "strong"), "preset 2");
    CHECK(!strcmp(digit_preset_name(3), "speedrun"), "preset 3");
    digit_model *s = NULL, *r = NULL;
    CHECK_OK(digit_model_create("strong", 1, &s));
    CHECK_OK(digit_model_create("speedrun", 1, &r));
    if (!s || !r) return;
    CHECK(digit_model_param_count(s) == 168586, "strong has %zu", digit_model_param_count(s));
    CHECK(digit_model_param_count(r) == 215194, "speedrun has %zu", digit_model_param_count(r));
    CHECK(digit_model_param_count(s) <= 1000000, "strong under 1M parameters");
    /* The tensor list is the trainable parameters; conv1 has no bias. */
    CHECK(has_tensor(s, "bn1.weight") && has_tensor(s, "bn1.bias") &&
              !has_tensor(s, "conv1.bias") && !has_tensor(s, "bn1.running_mean"),
          "strong's parameter tensors");
    /* The unknown-preset message lists all four. */
    digit_model *x;
    CHECK_ERR(digit_model_create("vgg", 1, &x), DIGIT_ERR_ARGUMENT,
              "basic, compact, strong, speedrun");
    digit_train_options o;
    CHECK_OK(digit_train_options_init_default(&o, "strong"));
    CHECK(o.schedule == DIGIT_SCHEDULE_ONECYCLE && o.augment_rotate == 10 &&
              o.beta1 == 0.9 && o.beta2 == 0.999 && o.pct_start == 0.25,
          "strong defaults");
    CHECK_OK(digit_train_options_init_default(&o, "speedrun"));
    CHECK(o.epochs == 1 && o.batch_size == 256 && o.beta1 == 0.7 && o.beta2 == 0.9 &&
              o.learning_rate == 0.01 && o.div_factor == 25 && o.final_div_factor == 1e4 &&
              o.label_smoothing == 0.1 && o.epochs == 1,
          "speedrun defaults");
    CHECK_OK(digit_train_options_init_default(&o, "strong"));
    CHECK(o.epochs == 12 && o.batch_size == 128 && o.label_smoothing == 0.1, "strong length");
    CHECK_OK(digit_train_options_init_default(&o, "basic"));
    CHECK(o.schedule == DIGIT_SCHEDULE_MULTISTEP && o.beta1 == 0.9 && o.weight_decay == 0 &&
              o.augment_rotate == 0 && o.label_smoothing == 0,
          "basic keeps the 2.0 behaviour");
    digit_model_free(s);
    digit_model_free(r);
}

/* Reads a whole file. */
static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    *size = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* The file with the first occurrence of `from` in its header replaced by
 * `to` (same length), loaded from memory. */
static digit_status load_edited(const unsigned char *buf, size_t size, const char *from,
                                const char *to, digit_model **out) {
    unsigned char *copy = malloc(size);
    memcpy(copy, buf, size);
    uint64_t hlen;
    memcpy(&hlen, copy, 8);
    char *h = (char *)copy + 8;
    char saved = h[hlen - 1];
    h[hlen - 1] = '\0';
    char *at = strstr(h, from);
    h[hlen - 1] = saved;
    digit_status st = DIGIT_ERR_ARGUMENT;
    if (at && strlen(from) == strlen(to)) {
        memcpy(at, to, strlen(to));
        st = digit_model_load_memory(copy, size, out);
    }
    free(copy);
    return st;
}

static void test_bn_files(void) {
    digit_model *m = NULL, *back = NULL;
    CHECK_OK(digit_model_create("strong", 4, &m));
    if (!m) return;
    const char *path = tmp_path("strong.safetensors");
    CHECK_OK(digit_model_save(m, path));
    size_t size = 0;
    unsigned char *buf = slurp(path, &size);
    CHECK(buf != NULL, "read back %s", path);
    if (!buf) return;
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    char *header = malloc(hlen + 1);
    memcpy(header, buf + 8, hlen);
    header[hlen] = '\0';
    /* PyTorch's names, dtypes and shapes. */
    CHECK(strstr(header, "\"bn1.running_mean\":{\"dtype\":\"F32\",\"shape\":[32]") &&
              strstr(header, "\"bn1.running_var\":{\"dtype\":\"F32\",\"shape\":[32]") &&
              strstr(header, "\"bn1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]") &&
              strstr(header, "\"bn4.running_var\":{\"dtype\":\"F32\",\"shape\":[128]"),
          "batch-norm buffers in the header: %.200s", header);
    CHECK_OK(digit_model_load(path, &back));
    CHECK(back && !strcmp(digit_model_arch(back), "strong"), "strong back");
    digit_model_free(back);

    /* Strict validation, naming the tensor. */
    back = NULL;
    CHECK_ERR(load_edited(buf, size, "\"bn2.num_batches_tracked\":{\"dtype\":\"I64\"",
                          "\"bn2.num_batches_tracked\":{\"dtype\":\"U64\"", &back),
              DIGIT_ERR_FORMAT, "bn2.num_batches_tracked");
    CHECK_ERR(load_edited(buf, size, "\"bn3.running_mean\"", "\"bn3.running_maen\"", &back),
              DIGIT_ERR_FORMAT, "bn3.running_mean");
    CHECK_ERR(load_edited(buf, size, "\"bn1.running_var\":{\"dtype\":\"F32\",\"shape\":[32]",
                          "\"bn1.running_var\":{\"dtype\":\"I32\",\"shape\":[32]", &back),
              DIGIT_ERR_FORMAT, "bn1.running_var");
    /* Without metadata (as PyTorch saves), the architecture is inferred. */
    CHECK(load_edited(buf, size, "\"arch\":\"strong\"", "\"arcx\":\"strong\"", &back) ==
              DIGIT_OK && back && !strcmp(digit_model_arch(back), "strong"),
          "strong inferred from tensors: %s", digit_last_error());
    digit_model_free(back);
    free(header);
    free(buf);

    digit_model_free(m);
}

/* ---- training: determinism, threads, resume ---- */

typedef struct run_log {
    double lr[4096];
    int steps;
    int stop_epoch, stop_batch;   /* cancel after this batch (1-based) */
} run_log;

static int log_batch(const digit_batch_progress *p, void *user) {
    run_log *l = user;
    if (l->steps < 4096) l->lr[l->steps++] = p->learning_rate;
    return p->epoch == l->stop_epoch && p->batch == l->stop_batch;
}

static digit_model *train(const char *arch, const digit_dataset *ds, int threads, int epochs,
                          int batch, const char *ckpt, const char *resume, run_log *log,
                          digit_status *st) {
    digit_model *m = NULL;
    digit_model_create(arch, 1, &m);
    digit_train_options o;
    digit_train_options_init_default(&o, arch);
    o.epochs = epochs, o.batch_size = batch, o.threads = threads, o.seed = 5;
    o.checkpoint_path = ckpt;
    if (log) o.on_batch = log_batch, o.user = log;
    *st = digit_train(m, ds, NULL, &o, resume);
    return m;
}

static int same_model(const digit_model *a, const digit_model *b) {
    size_t n = digit_model_param_count(a);
    if (memcmp(digit_model_weights(a), digit_model_weights(b), n * sizeof(float))) return 0;
    /* Buffers: through the saved files (byte-identical files). */
    const char *pa = tmp_path("same-a.safetensors"), *pb = tmp_path("same-b.safetensors");
    if (digit_model_save(a, pa) || digit_model_save(b, pb)) return 0;
    size_t na = 0, nb = 0;
    unsigned char *fa = slurp(pa, &na), *fb = slurp(pb, &nb);
    int same = fa && fb && na == nb && !memcmp(fa, fb, na);
    free(fa), free(fb);
    return same;
}

static double max_diff(const digit_model *a, const digit_model *b) {
    const float *x = digit_model_weights(a), *y = digit_model_weights(b);
    double worst = 0;
    for (size_t i = 0; i < digit_model_param_count(a); i++)
        worst = fmax(worst, fabs((double)x[i] - (double)y[i]));
    return worst;
}

/* On 320 images: 5 steps. A rounding difference grows in training, by
 * jumps (presumably where it flips a ReLU or a max-pool's choice; Adam then
 * moves the weights concerned by steps of the learning rate, 0.004 for
 * strong, whatever the gradient's size). strong on 640 images (10 steps)
 * differed by 2.5e-5 with F(2x2) convolutions and by 1.3e-3 with F(4x4)
 * (mean 1.2e-5), a jump between steps 5 and 10; on 320 images by 3e-7
 * and 1e-6. */
static void test_determinism(const digit_dataset *ds) {
    digit_status st;
    double t0 = now();
    digit_model *a = train("strong", ds, 2, 1, 64, NULL, NULL, NULL, &st);
    CHECK_OK(st);
    double t1 = now();
    digit_model *b = train("strong", ds, 2, 1, 64, NULL, NULL, NULL, &st);
    CHECK_OK(st);
    CHECK(same_model(a, b), "strong, 2 threads: two runs differ");
    /* Another thread count splits the batch statistics differently: the
     * same training up to rounding. */
    digit_model *c = train("strong", ds, 1, 1, 64, NULL, NULL, NULL, &st);
    CHECK_OK(st);
    double d = max_diff(a, c);
    printf("test_presets: strong 1 epoch on %zu images: %.1f s; 1 vs 2 threads differ by %.2e\n",
           digit_dataset_count(ds), t1 - t0, d);
    CHECK(d < 1e-3, "1 and 2 threads differ by %g", d);
    digit_model_free(a), digit_model_free(b), digit_model_free(c);
}

/* Every preset stopped mid-epoch 2 and resumed: the same model, buffers
 * included, as the uninterrupted run. */
static void test_resume(const digit_dataset *ds) {
    const char *archs[] = {"strong", "speedrun"};
    for (int k = 0; k < 2; k++) {
        digit_status st;
        const char *ckpt = tmp_path("resume.ckpt");
        unlink(ckpt);
        digit_model *full = train(archs[k], ds, 2, 2, 64, NULL, NULL, NULL, &st);
        CHECK_OK(st);
        run_log *log = calloc(1, sizeof *log);
        log->stop_epoch = 2, log->stop_batch = 2;
        digit_model *part = train(archs[k], ds, 2, 2, 64, ckpt, NULL, log, &st);
        CHECK(st == DIGIT_ERR_CANCELLED, "%s: cancelled run ended with %d", archs[k], (int)st);
        digit_checkpoint_info info;
        digit_checkpoint_info_init(&info);
        digit_train_options ran;
        digit_train_options_init_default(&ran, "basic");
        CHECK_OK(digit_checkpoint_read(ckpt, &info, &ran));
        CHECK(!strcmp(info.arch, archs[k]) && info.epochs_done == 1 && info.batches_done == 2 &&
                  ran.schedule == DIGIT_SCHEDULE_ONECYCLE,
              "%s: checkpoint info %s %d %d", archs[k], info.arch, info.epochs_done,
              info.batches_done);
        digit_model *resumed = train(archs[k], ds, 2, 2, 64, NULL, ckpt, NULL, &st);
        CHECK_OK(st);
        CHECK(same_model(full, resumed), "%s: resumed run differs from the uninterrupted one",
              archs[k]);
        /* The checkpoint of one preset does not resume another. */
        digit_model *other = train(k ? "strong" : "speedrun", ds, 2, 2, 64, NULL, ckpt, NULL, &st);
        CHECK(st == DIGIT_ERR_ARGUMENT && strstr(digit_last_error(), "architecture"),
              "%s checkpoint into another preset: %s", archs[k], digit_last_error());
        digit_model_free(other);
        free(log);
        digit_model_free(full), digit_model_free(part), digit_model_free(resumed);
    }
}

/* ---- schedules, as PyTorch defines them ---- */

static void test_schedules(const digit_dataset *ds) {
    /* OneCycleLR(max_lr=0.01, total_steps=T, pct_start=0.25, div 25, final
     * 1e4, cos): step s < 0.25T-1 -> cos anneal from 4e-4 up to 0.01, then
     * down to 4e-8; computed here from the formulas. */
    run_log *log = calloc(1, sizeof *log);
    digit_model *m = NULL;
    digit_model_create("speedrun", 1, &m);
    digit_train_options o;
    digit_train_options_init_default(&o, "speedrun");
    o.epochs = 2, o.batch_size = 50, o.pct_start = 0.25, o.threads = 1;
    o.on_batch = log_batch, o.user = log;
    CHECK_OK(digit_train(m, ds, NULL, &o, NULL));
    int T = log->steps;
    double end1 = 0.25 * T - 1, worst = 0;
    for (int s = 0; s < T; s++) {
        double lo = 0.01 / 25, want;
        if (s <= end1) want = 0.01 + (lo - 0.01) / 2 * (cos(PI * s / end1) + 1);
        else want = lo / 1e4 + (0.01 - lo / 1e4) / 2 * (cos(PI * (s - end1) / (T - 1 - end1)) + 1);
        worst = fmax(worst, fabs(log->lr[s] - want) / want);
    }
    CHECK(T == 2 * (int)((digit_dataset_count(ds) + 49) / 50), "%d steps", T);
    CHECK(fabs(log->lr[0] - 0.0004) < 1e-15 && fabs(log->lr[T - 1] - 4e-8) < 1e-18 &&
              worst < 1e-12,
          "onecycle: first %g last %g worst rel %g", log->lr[0], log->lr[T - 1], worst);

    /* Cosine and exponential: per epoch. */
    const int sched[2] = {DIGIT_SCHEDULE_COSINE, DIGIT_SCHEDULE_EXPONENTIAL};
    for (int k = 0; k < 2; k++) {
        memset(log, 0, sizeof *log);
        digit_train_options_init_default(&o, "speedrun");
        o.schedule = sched[k], o.epochs = 4, o.batch_size = 400, o.threads = 1, o.gamma = 0.5;
        o.learning_rate = 0.002, o.on_batch = log_batch, o.user = log;
        CHECK_OK(digit_train(m, ds, NULL, &o, NULL));
        int per = log->steps / 4, ok = log->steps == 4 * per;
        for (int e = 0; e < 4; e++) {
            double want = k == 0 ? 0.002 * (1 + cos(PI * e / 4)) / 2 : 0.002 * pow(0.5, e);
            for (int b = 0; b < per; b++) ok &= fabs(log->lr[e * per + b] - want) < 1e-15;
        }
        CHECK(ok, "%s schedule", k ? "exponential" : "cosine");
    }

    /* A one-cycle schedule that does not fit the run. */
    digit_train_options_init_default(&o, "speedrun");
    o.batch_size = (int)digit_dataset_count(ds); /* one step in all */
    CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "does not fit");
    free(log);
    digit_model_free(m);
}

static void test_bad_options(const digit_dataset *ds) {
    digit_model *m = NULL;
    digit_model_create("speedrun", 1, &m);
    digit_train_options o;
#define BAD(edit, sub)                                                               \
    do {                                                                             \
        digit_train_options_init_default(&o, "speedrun");                            \
        edit;                                                                        \
        CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, sub);      \
        CHECK_ERR(digit_train_options_check(&o), DIGIT_ERR_ARGUMENT, sub);           \
    } while (0)
    BAD(o.augment_rotate = 200, "augment_rotate");
    BAD(o.augment_scale = -0.1, "augment_scale");
    BAD(o.augment_shift = NAN, "augment_shift");
    BAD(o.augment_shear = 90, "augment_shear");
    BAD(o.beta1 = 1, "beta1");
    BAD(o.beta2 = -0.5, "beta2");
    BAD(o.weight_decay = -1, "weight decay");
    BAD(o.label_smoothing = 1.5, "label smoothing");
    BAD(o.schedule = 7, "schedule");
    BAD(o.pct_start = 0, "pct_start");
    BAD(o.div_factor = 0, "div_factor");
    BAD(o.final_div_factor = INFINITY, "final_div_factor");
#undef BAD
    /* A caller built against 2.0 (a shorter struct) gets the preset's
     * defaults for the fields it does not have. */
    digit_train_options_init_default(&o, "speedrun");
    o.struct_size = offsetof(digit_train_options, checkpoint_path) + sizeof(const char *);
    o.schedule = 99; /* past its size: not read */
    o.epochs = 2;
    CHECK_OK(digit_train(m, ds, NULL, &o, NULL));
    digit_model_free(m);
}

/* ---- augmentation ---- */

static void test_augment(const digit_dataset *ds) {
    enum { N = 64 };
    const uint8_t *img = digit_dataset_images(ds);
    uint8_t *a = malloc(N * 784), *b = malloc(N * 784);
    digit_train_options o;
    digit_train_options_init_default(&o, "basic");
    CHECK_OK(digit_augment_images(&o, 1, img, 0, N, a));
    CHECK(!memcmp(a, img, N * 784), "all zero: a copy");
    digit_train_options_init_default(&o, "strong");
    o.augment_shear = 10;
    CHECK_OK(digit_augment_images(&o, 1, img, 0, N, a));
    CHECK_OK(digit_augment_images(&o, 1, img, 0, N, b));
    CHECK(!memcmp(a, b, N * 784), "the same draw twice");
    CHECK(memcmp(a, img, N * 784), "augmented differs from the original");
    /* Image i's transform depends on its index, not on the call's range. */
    CHECK_OK(digit_augment_images(&o, 1, img + 10 * 784, 10, 5, b));
    CHECK(!memcmp(a + 10 * 784, b, 5 * 784), "a sub-range draws the same");
    CHECK_OK(digit_augment_images(&o, 2, img, 0, N, b));
    CHECK(memcmp(a, b, N * 784), "another epoch draws anew");
    /* Ink is kept: the shift is at most 8%, so little leaves the frame. */
    long ink_in = 0, ink_out = 0;
    for (int i = 0; i < N * 784; i++) ink_in += img[i], ink_out += a[i];
    CHECK(ink_out > ink_in * 0.7 && ink_out < ink_in * 1.4, "ink %ld -> %ld", ink_in, ink_out);
    /* A pure shift by a whole pixel moves the image. */
    digit_train_options_init_default(&o, "basic");
    o.augment_rotate = 1e-300; /* on, but an angle of ~0 */
    CHECK_OK(digit_augment_images(&o, 1, img, 0, 1, a));
    int moved = 0;
    for (int i = 0; i < 784; i++) moved += a[i] != img[i];
    CHECK(moved == 0, "a near-identity map keeps the image (%d pixels moved)", moved);
    CHECK_ERR(digit_augment_images(&o, 0, img, 0, 1, a), DIGIT_ERR_ARGUMENT, "epoch");
    o.augment_scale = 2;
    CHECK_ERR(digit_augment_images(&o, 1, img, 0, 1, a), DIGIT_ERR_ARGUMENT, "augment_scale");
    CHECK_ERR(digit_augment_images(NULL, 1, img, 0, 1, a), DIGIT_ERR_ARGUMENT, "opt");

    /* Its cost: 60,000 images, the work of one epoch. */
    digit_train_options_init_default(&o, "strong");
    size_t n = digit_dataset_count(ds);
    uint8_t *all = malloc(n * 784);
    /* CPU time: the machine may be shared. */
    clock_t c0 = clock();
    for (int rep = 0; rep * n < 60000; rep++) digit_augment_images(&o, 1, img, 0, n, all);
    printf("test_presets: augmenting 60,000 images takes %.2f s of CPU\n",
           (double)(clock() - c0) / CLOCKS_PER_SEC);
    free(all), free(a), free(b);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : getenv("DIGIT_DATA");
    if (!dir || !*dir) {
        fprintf(stderr, "test_presets: no MNIST folder; pass it or set DIGIT_DATA\n");
        return 2;
    }
    snprintf(tmpdir, sizeof tmpdir, "%s/digit-presets-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 2;
    digit_dataset *all = NULL, *ds = NULL;
    CHECK_OK(digit_dataset_load_mnist(dir, 1, &all));
    if (all) CHECK_OK(digit_dataset_slice(all, 0, 640, &ds));
    test_preset_table();
    test_bn_files();
    if (ds) {
        digit_dataset *few = NULL;
        CHECK_OK(digit_dataset_slice(ds, 0, 320, &few));
        if (few) test_determinism(few);
        digit_dataset_free(few);
        test_resume(ds);
        test_schedules(ds);
        test_bad_options(ds);
        test_augment(ds);
    }
    digit_dataset_free(all);
    digit_dataset_free(ds);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "test_presets: could not remove %s\n", tmpdir);
    return test_summary("test_presets");
}
