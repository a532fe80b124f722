/*
 * test_core.c — the C core through its public API (digit.h), plus the
 * internal pieces whose numbers can be worked out by hand (layers.h,
 * optim.h, safetensors.h). Needs no data set: every file it reads it writes
 * first, into a private temporary folder removed at the end.
 *
 * Sections, in order: versions and errors; presets and init; layer math on
 * tiny hand-computed cases; Adam and the schedule; prediction and threads;
 * model files (round trip, hostile files, inferred architecture, atomic
 * save); IDX data sets; evaluation; training options, determinism,
 * cancellation and checkpoint/resume.
 */
#define _GNU_SOURCE 1 /* mkdtemp, before any system header */

#include "safetensors.h" /* internal.h first, as the library's own files */

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "testfiles.h"
#include "digit.h"
#include "layers.h"
#include "optim.h"

/* A call that must fail with status `want` and a message containing `sub`
 * (the file, argument or field that is wrong). */
#define CHECK_ERR(call, want, sub)                                           \
    do {                                                                     \
        digit_status se_ = (call);                                           \
        CHECK(se_ == (want), "got '%s' (%s)", digit_status_name(se_),        \
              digit_last_error());                                           \
        CHECK(strstr(digit_last_error(), (sub)) != NULL,                     \
              "message '%s' does not mention '%s'", digit_last_error(),      \
              (sub));                                                        \
    } while (0)

/* |a - b| <= tol, printing both on failure. */
#define CHECK_NEAR(a, b, tol)                                                \
    do {                                                                     \
        double a_ = (a), b_ = (b);                                           \
        CHECK(fabs(a_ - b_) <= (tol), "%.9g vs %.9g (tol %g)", a_, b_,       \
              (double)(tol));                                                \
    } while (0)

/* ---- small helpers ---- */

/* Images a network can tell apart: a bright 6x6 square whose place depends
 * on the label, over faint noise from a fixed generator. */
static void synth_images(size_t n, uint32_t seed, uint8_t *images,
                         uint8_t *labels) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *img = images + i * DIGIT_IMAGE_PIXELS;
        int label = (int)(i % DIGIT_CLASSES);
        labels[i] = (uint8_t)label;
        for (int p = 0; p < DIGIT_IMAGE_PIXELS; p++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            img[p] = (uint8_t)(x % 40);
        }
        int y0 = 3 + (label / 5) * 12, x0 = 2 + (label % 5) * 5;
        for (int y = y0; y < y0 + 6; y++)
            for (int xx = x0; xx < x0 + 6 && xx < 28; xx++) img[y * 28 + xx] = 250;
    }
}

static digit_dataset *synth_dataset(size_t n, uint32_t seed) {
    uint8_t *images = malloc(n * DIGIT_IMAGE_PIXELS), *labels = malloc(n);
    digit_dataset *ds = NULL;
    synth_images(n, seed, images, labels);
    CHECK_OK(digit_dataset_create(images, labels, n, &ds));
    free(images);
    free(labels);
    return ds;
}

static int same_weights(digit_model *a, digit_model *b) {
    size_t n = digit_model_param_count(a);
    return n == digit_model_param_count(b) &&
           memcmp(digit_model_weights(a), digit_model_weights(b),
                  n * sizeof(float)) == 0;
}

/* ---- versions, status names, last error ---- */

static void test_version_and_errors(void) {
    CHECK(strcmp(digit_version(), DIGIT_VERSION_STRING) == 0, "version %s", digit_version());
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", DIGIT_VERSION_MAJOR,
             DIGIT_VERSION_MINOR, DIGIT_VERSION_PATCH);
    CHECK(strcmp(digit_version(), want) == 0, "header says %s", want);
    CHECK(digit_version_number() == DIGIT_VERSION_NUMBER, "version number %d",
          digit_version_number());

    CHECK(strcmp(digit_status_name(DIGIT_OK), "ok") == 0, "ok");
    CHECK(strcmp(digit_status_name(DIGIT_ERR_FORMAT), "format error") == 0, "format");
    /* Every status has its own non-empty name, and unknown values one too. */
    for (int s = DIGIT_OK; s <= DIGIT_ERR_IMAGE; s++) {
        const char *n = digit_status_name((digit_status)s);
        CHECK(n && *n, "status %d has no name", s);
        for (int t = DIGIT_OK; t < s; t++)
            CHECK(strcmp(n, digit_status_name((digit_status)t)) != 0,
                  "statuses %d and %d share '%s'", s, t, n);
    }
    CHECK(digit_status_name((digit_status)99) != NULL, "unknown status");

    /* A failure leaves a message naming what was wrong. */
    digit_model *m = (digit_model *)1;
    CHECK_ERR(digit_model_create("resnet50", 1, &m), DIGIT_ERR_ARGUMENT, "resnet50");
    CHECK(m == NULL, "out is cleared on failure");
    CHECK_ERR(digit_model_create(NULL, 1, &m), DIGIT_ERR_ARGUMENT, "architecture");
    CHECK_ERR(digit_model_create("basic", 1, NULL), DIGIT_ERR_ARGUMENT, "out");
    CHECK_ERR(digit_model_load("/nonexistent/dir/model.safetensors", &m),
              DIGIT_ERR_IO, "/nonexistent/dir/model.safetensors");
}

/* The error message is per thread: a failure on one thread does not change
 * what another thread reads. */
static void *fail_in_thread(void *arg) {
    digit_model *m;
    *(digit_status *)arg = digit_model_create("other-thread-arch", 1, &m);
    return NULL;
}

static void test_error_is_per_thread(void) {
    digit_model *m;
    digit_model_create("main-thread-arch", 1, &m);
    digit_status other = DIGIT_OK;
    pthread_t th;
    pthread_create(&th, NULL, fail_in_thread, &other);
    pthread_join(th, NULL);
    CHECK(other == DIGIT_ERR_ARGUMENT, "thread failed too");
    CHECK(strstr(digit_last_error(), "main-thread-arch") != NULL,
          "main thread's message became '%s'", digit_last_error());
}

/* ---- presets ---- */

typedef struct layer_row { const char *name; int c, h, w; size_t params; } layer_row;
typedef struct tensor_row { const char *name; int rank, shape[4]; } tensor_row;

static const layer_row BASIC_LAYERS[] = {
    {"conv1", 32, 28, 28, 320},  {"relu1", 32, 28, 28, 0},
    {"pool1", 32, 14, 14, 0},    {"conv2", 64, 14, 14, 18496},
    {"relu2", 64, 14, 14, 0},    {"pool2", 64, 7, 7, 0},
    {"flatten", 3136, 1, 1, 0},  {"fc1", 128, 1, 1, 401536},
    {"relu3", 128, 1, 1, 0},     {"fc2", 10, 1, 1, 1290},
    {"log_softmax", 10, 1, 1, 0}};
static const layer_row COMPACT_LAYERS[] = {
    {"conv1", 16, 24, 24, 416}, {"relu1", 16, 24, 24, 0},
    {"pool1", 16, 12, 12, 0},   {"conv2", 32, 10, 10, 4640},
    {"relu2", 32, 10, 10, 0},   {"pool2", 32, 5, 5, 0},
    {"conv3", 16, 5, 5, 528},   {"relu3", 16, 5, 5, 0},
    {"flatten", 400, 1, 1, 0},  {"fc1", 64, 1, 1, 25664},
    {"relu4", 64, 1, 1, 0},     {"fc2", 10, 1, 1, 650},
    {"log_softmax", 10, 1, 1, 0}};
static const tensor_row BASIC_TENSORS[] = {
    {"conv1.weight", 4, {32, 1, 3, 3}}, {"conv1.bias", 1, {32}},
    {"conv2.weight", 4, {64, 32, 3, 3}}, {"conv2.bias", 1, {64}},
    {"fc1.weight", 2, {128, 3136}},     {"fc1.bias", 1, {128}},
    {"fc2.weight", 2, {10, 128}},       {"fc2.bias", 1, {10}}};
static const tensor_row COMPACT_TENSORS[] = {
    {"conv1.weight", 4, {16, 1, 5, 5}}, {"conv1.bias", 1, {16}},
    {"conv2.weight", 4, {32, 16, 3, 3}}, {"conv2.bias", 1, {32}},
    {"conv3.weight", 4, {16, 32, 1, 1}}, {"conv3.bias", 1, {16}},
    {"fc1.weight", 2, {64, 400}},       {"fc1.bias", 1, {64}},
    {"fc2.weight", 2, {10, 64}},        {"fc2.bias", 1, {10}}};

static void check_layers(const digit_model *m, const layer_row *rows, size_t n) {
    CHECK(digit_model_layer_count(m) == n, "%zu layers", digit_model_layer_count(m));
    for (size_t i = 0; i < n && i < digit_model_layer_count(m); i++) {
        digit_layer_info L;
        digit_layer_info_init(&L);
        CHECK_OK(digit_model_layer(m, i, &L));
        CHECK(strcmp(L.name, rows[i].name) == 0, "layer %zu is %s", i, L.name);
        CHECK(L.out_channels == rows[i].c && L.out_height == rows[i].h &&
                  L.out_width == rows[i].w,
              "%s is %dx%dx%d", L.name, L.out_channels, L.out_height, L.out_width);
        CHECK(L.param_count == rows[i].params, "%s has %zu params", L.name,
              L.param_count);
        CHECK(L.description && *L.description, "%s has a description", L.name);
    }
    digit_layer_info L;
    digit_layer_info_init(&L);
    CHECK_ERR(digit_model_layer(m, n, &L), DIGIT_ERR_ARGUMENT, "index");
}

static void check_tensors(digit_model *m, const tensor_row *rows, size_t n) {
    CHECK(digit_model_tensor_count(m) == n, "%zu tensors", digit_model_tensor_count(m));
    size_t offset = 0;
    for (size_t i = 0; i < n && i < digit_model_tensor_count(m); i++) {
        digit_tensor_info t;
        digit_tensor_info_init(&t);
        CHECK_OK(digit_model_tensor(m, i, &t));
        CHECK(strcmp(t.name, rows[i].name) == 0, "tensor %zu is %s", i, t.name);
        CHECK(t.rank == rows[i].rank, "%s rank %d", t.name, t.rank);
        size_t count = 1;
        for (int d = 0; d < rows[i].rank; d++) {
            CHECK(t.shape[d] == rows[i].shape[d], "%s dim %d is %d", t.name, d,
                  t.shape[d]);
            count *= (size_t)rows[i].shape[d];
        }
        /* state_dict order: the tensors tile the weight array in order. */
        CHECK(t.offset == offset && t.count == count, "%s at %zu+%zu", t.name,
              t.offset, t.count);
        offset += count;
    }
    CHECK(offset == digit_model_param_count(m), "tensors cover %zu", offset);
    digit_tensor_info t;
    digit_tensor_info_init(&t);
    CHECK_ERR(digit_model_tensor(m, n, &t), DIGIT_ERR_ARGUMENT, "index");
}

static void test_presets(void) {
    CHECK(strcmp(digit_preset_name(0), "basic") == 0, "preset 0");
    CHECK(strcmp(digit_preset_name(1), "compact") == 0, "preset 1");
    CHECK(digit_preset_name(4) == NULL, "four presets (strong and speedrun: test_presets.c)");

    digit_model *basic, *compact;
    CHECK_OK(digit_model_create("basic", 1, &basic));
    CHECK_OK(digit_model_create("compact", 1, &compact));
    CHECK(strcmp(digit_model_arch(basic), "basic") == 0, "arch name");
    CHECK(digit_model_param_count(basic) == 421642, "basic has %zu",
          digit_model_param_count(basic));
    CHECK(digit_model_param_count(compact) == 31898, "compact has %zu",
          digit_model_param_count(compact));
    check_layers(basic, BASIC_LAYERS, sizeof BASIC_LAYERS / sizeof *BASIC_LAYERS);
    check_layers(compact, COMPACT_LAYERS, sizeof COMPACT_LAYERS / sizeof *COMPACT_LAYERS);
    check_tensors(basic, BASIC_TENSORS, sizeof BASIC_TENSORS / sizeof *BASIC_TENSORS);
    check_tensors(compact, COMPACT_TENSORS,
                  sizeof COMPACT_TENSORS / sizeof *COMPACT_TENSORS);

    /* The summary measures itself like snprintf and truncates safely. */
    size_t len = digit_model_summary(basic, NULL, 0);
    char *full = malloc(len + 1), small[16];
    CHECK(digit_model_summary(basic, full, len + 1) == len, "same length");
    CHECK(strlen(full) == len, "full summary is %zu chars", strlen(full));
    CHECK(strstr(full, "421642") && strstr(full, "fc1"), "summary:\n%s", full);
    CHECK(digit_model_summary(basic, small, sizeof small) == len, "truncated length");
    CHECK(strlen(small) == sizeof small - 1 && !strncmp(small, full, sizeof small - 1),
          "truncated to '%s'", small);
    free(full);

    /* A clone is deep: changing it leaves the original alone. */
    digit_model *copy;
    CHECK_OK(digit_model_set_metadata(basic, "k", "v"));
    CHECK_OK(digit_model_clone(basic, &copy));
    CHECK(same_weights(basic, copy), "clone has the same weights");
    CHECK(strcmp(digit_model_metadata(copy, "k"), "v") == 0, "clone has metadata");
    digit_model_weights_mutable(copy)[0] += 1;
    CHECK_OK(digit_model_set_metadata(copy, "k", "w"));
    CHECK(!same_weights(basic, copy), "weights are not shared");
    CHECK(strcmp(digit_model_metadata(basic, "k"), "v") == 0, "metadata not shared");
    digit_model_free(copy);
    digit_model_free(basic);
    digit_model_free(compact);
    digit_model_free(NULL); /* allowed */
}

/* PyTorch's Conv2d/Linear init: uniform in +-1/sqrt(fan_in) for weight and
 * bias, fan_in = product of the weight's dims after the first. */
static void check_init(digit_model *m) {
    const float *w = digit_model_weights(m);
    double fan_in = 1;
    for (size_t i = 0; i < digit_model_tensor_count(m); i++) {
        digit_tensor_info t;
        digit_tensor_info_init(&t);
        digit_model_tensor(m, i, &t);
        if (t.rank > 1) {
            fan_in = 1;
            for (int d = 1; d < t.rank; d++) fan_in *= t.shape[d];
        } /* a bias follows its weight and shares its fan_in */
        double bound = 1 / sqrt(fan_in), sum = 0, sq = 0, max = 0;
        int inside = 1;
        for (size_t j = 0; j < t.count; j++) {
            double x = w[t.offset + j];
            inside &= fabs(x) <= bound;
            sum += x, sq += x * x;
            if (fabs(x) > max) max = fabs(x);
        }
        CHECK(inside, "%s exceeds +-%g", t.name, bound);
        if (t.count < 250) continue; /* too few for the statistics below */
        /* Uniform(-b, b): mean 0 with sd b/sqrt(3n), variance b^2/3, and
         * the largest |x| of n draws above 0.95 b almost surely. */
        double n = (double)t.count, mean = sum / n;
        CHECK(fabs(mean) < 5 * bound / sqrt(3 * n), "%s mean %g", t.name, mean);
        /* The sample variance over b^2/3 has sd sqrt(0.8/n) (x^2 has
         * mean b^2/3 and variance 4b^4/45); allow 4 sd. */
        CHECK(fabs(sq / n / (bound * bound / 3) - 1) < 4 * sqrt(0.8 / n),
              "%s variance %g", t.name, sq / n);
        CHECK(max > 0.95 * bound, "%s max %g of %g", t.name, max, bound);
    }
}

static void test_init(void) {
    digit_model *a, *b, *c, *d;
    CHECK_OK(digit_model_create("basic", 42, &a));
    CHECK_OK(digit_model_create("basic", 42, &b));
    CHECK_OK(digit_model_create("basic", 43, &c));
    CHECK_OK(digit_model_create("compact", 42, &d));
    check_init(a);
    check_init(d);
    CHECK(same_weights(a, b), "same seed, same weights");
    size_t differ = 0, n = digit_model_param_count(a);
    for (size_t i = 0; i < n; i++)
        differ += digit_model_weights(a)[i] != digit_model_weights(c)[i];
    CHECK(differ > n * 99 / 100, "only %zu of %zu weights differ", differ, n);
    digit_model_free(a);
    digit_model_free(b);
    digit_model_free(c);
    digit_model_free(d);
}

/* ---- layers on hand-computed cases (real = float here) ---- */

static void check_array(const char *what, const real *got, const double *want,
                        size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= tol, "%s[%zu] = %.9g, want %.9g", what, i,
              (double)got[i], want[i]);
}

static void test_conv_pad_stride(void) {
    /* One 3x3 image x = [1 2 3; 4 5 6; 7 8 9], K=2, pad 1, stride 2, so
     * Ho = Wo = (3 + 2 - 2)/2 + 1 = 2 and window (oy,ox) covers input rows
     * 2oy-1..2oy, cols 2ox-1..2ox (row/col -1 is padding).
     * Channel 0: w = [1 2; 3 4], bias 0.5
     *   (0,0): only x00 under w11:           4*1         = 4   -> 4.5
     *   (0,1): x01*w10 + x02*w11 = 2*3 + 3*4  = 18          -> 18.5
     *   (1,0): x10*w01 + x20*w11 = 4*2 + 7*4  = 36          -> 36.5
     *   (1,1): 5*1 + 6*2 + 8*3 + 9*4          = 77          -> 77.5
     * Channel 1: w = [1 0; 0 -1], bias -1
     *   (0,0): -x00 = -1 -> -2;  (0,1): -x02 = -3 -> -4
     *   (1,0): -x20 = -7 -> -8;  (1,1): x11 - x22 = 5 - 9 = -4 -> -5 */
    const real in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const real w[8] = {1, 2, 3, 4, 1, 0, 0, -1}, bias[2] = {0.5f, -1};
    conv_shape s = {1, 3, 3, 1, 2, 2, 2, 2, 1, 2};
    real packed[8], col[4 * 4], out[8];
    conv_pack(&s, w, packed); /* one input channel: the same order */
    conv2d_forward(&s, in, packed, bias, col, out);
    /* NHWC output: (oy, ox, channel). */
    const double want[8] = {4.5, -2, 18.5, -4, 36.5, -8, 77.5, -5};
    check_array("conv pad/stride", out, want, 8, 1e-5);
}

static void test_conv_channels(void) {
    /* Two input channels, stored NHWC: pixel (y,x) holds (c0, c1).
     * c0 = [1 2; 3 4], c1 = [10 20; 30 40]; K=2, no pad -> 1x1 output.
     * w[0][0] = [1 -1; 2 0], w[0][1] = [0.5 0; 0 0.25], bias 0.25:
     *   1*1 - 2*1 + 3*2 + 4*0 + 10*0.5 + 40*0.25 = 1 - 2 + 6 + 5 + 10 = 20
     *   -> 20.25. Image 2 is image 1 doubled -> 40 + 0.25 = 40.25. */
    const real in[16] = {1, 10, 2, 20, 3, 30, 4, 40, 2, 20, 4, 40, 6, 60, 8, 80};
    const real w[8] = {1, -1, 2, 0, 0.5f, 0, 0, 0.25f}, bias[1] = {0.25f};
    conv_shape s = {2, 2, 2, 2, 1, 1, 1, 2, 0, 1};
    real packed[8], unpacked[8], col[2 * 8], out[2];
    /* Packing reorders [Co, Ci, K, K] to [Co, K, K, Ci]: here (c, ky, kx)
     * -> (ky, kx, c), i.e. the two channels interleaved, and back. */
    conv_pack(&s, w, packed);
    const double want_packed[8] = {1, 0.5, -1, 0, 2, 0, 0, 0.25};
    check_array("conv_pack", packed, want_packed, 8, 0);
    conv_unpack(&s, packed, unpacked);
    CHECK(memcmp(unpacked, w, sizeof unpacked) == 0, "conv_unpack inverts conv_pack");
    conv2d_forward(&s, in, packed, bias, col, out);
    const double want[2] = {20.25, 40.25};
    check_array("conv channels", out, want, 2, 1e-5);

    /* Backward with dout = (1, 2): dbias = 1 + 2 = 3; dw = sum over images
     * of dout * input patch = image1 + 2*image2 = 5*image1 (in w's order
     * c, ky, kx): [5 10 15 20 50 100 150 200]; din = dout_b * w (NHWC). */
    const real dout[2] = {1, 2};
    real dpacked[8], dw[8], db[1], dcol[16], din[16];
    conv2d_backward(&s, col, packed, dout, dpacked, dw, db, dcol, din);
    const double want_dw[8] = {5, 10, 15, 20, 50, 100, 150, 200};
    const double want_db[1] = {3};
    const double want_din[16] = {1, 0.5, -1, 0, 2, 0, 0, 0.25,
                                 2, 1,   -2, 0, 4, 0, 0, 0.5};
    check_array("conv dw", dw, want_dw, 8, 1e-4);
    check_array("conv dbias", db, want_db, 1, 1e-6);
    check_array("conv din", din, want_din, 16, 1e-6);
}

static void test_maxpool(void) {
    /* 4x4, two channels (NHWC), K=2. Channel 0, row by row:
     *   1 3 | 2  2        window (0,0): 1 3 3 0  -> 3, first at (0,1)
     *   3 0 | 2  1        window (0,1): 2 2 2 1  -> 2, first at (0,2)
     *   5 6 | -1 -2       window (1,0): 5 6 7 8  -> 8 at (3,1)
     *   7 8 | -3 -4       window (1,1): -1..-4   -> -1 at (2,2)
     * Channel 1 = -channel 0: maxima 0 at (1,1), -1 at (1,3), -5 at (2,0),
     * 4 at (3,3). The winning index is ((y*4 + x)*2 + c). */
    const real c0[16] = {1, 3, 2, 2, 3, 0, 2, 1, 5, 6, -1, -2, 7, 8, -3, -4};
    real in[32], out[8], din[32];
    int32_t arg[8];
    for (int p = 0; p < 16; p++) in[2 * p] = c0[p], in[2 * p + 1] = -c0[p];
    maxpool_forward(1, 4, 4, 2, 2, 0, in, out, arg);
    const double want[8] = {3, 0, 2, -1, 8, -5, -1, 4};
    check_array("maxpool", out, want, 8, 0);
    const int32_t want_arg[8] = {(0 * 4 + 1) * 2, (1 * 4 + 1) * 2 + 1,
                                 (0 * 4 + 2) * 2, (1 * 4 + 3) * 2 + 1,
                                 (3 * 4 + 1) * 2, (2 * 4 + 0) * 2 + 1,
                                 (2 * 4 + 2) * 2, (3 * 4 + 3) * 2 + 1};
    for (int o = 0; o < 8; o++)
        CHECK(arg[o] == want_arg[o], "arg[%d] = %d, want %d", o, arg[o], want_arg[o]);
    /* Backward routes each output gradient to its winner, zero elsewhere. */
    const real dout[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    maxpool_backward(1, 4, 4, 2, 2, 0, arg, out, dout, din);
    double sum = 0;
    for (int i = 0; i < 32; i++) sum += din[i];
    CHECK(sum == 36, "din sums to %g", sum);
    for (int o = 0; o < 8; o++)
        CHECK(din[want_arg[o]] == dout[o], "din at winner %d", o);

    /* With the ReLU fused in: max(0, window max), so the outputs 0, -1,
     * -5, -1 become 0 and pass no gradient; only the positive outputs 3, 2,
     * 8, 4 (dout 1, 3, 5, 8) pass theirs to their winners. */
    maxpool_forward(1, 4, 4, 2, 2, 1, in, out, arg);
    const double want_relu[8] = {3, 0, 2, 0, 8, 0, 0, 4};
    check_array("maxpool+relu", out, want_relu, 8, 0);
    maxpool_backward(1, 4, 4, 2, 2, 1, arg, out, dout, din);
    sum = 0;
    for (int i = 0; i < 32; i++) sum += din[i];
    CHECK(sum == 1 + 3 + 5 + 8, "din sums to %g", sum);
    CHECK(din[want_arg[0]] == 1 && din[want_arg[7]] == 8 && din[want_arg[1]] == 0,
          "relu-gated routing");

    /* Floor mode: a 3x3 input with K=2 gives 1x1 from the top-left 2x2;
     * the 100 in the last row is outside every window. */
    const real odd[9] = {1, 4, 0, 2, 3, 0, 0, 0, 100};
    real one[1];
    int32_t a1[1];
    maxpool_forward(1, 3, 3, 1, 2, 0, odd, one, a1);
    CHECK(one[0] == 4 && a1[0] == 1, "floor mode gives %g at %d", (double)one[0], a1[0]);
}

static void test_flatten(void) {
    /* NHWC [1,2,2,3] holding 100c + 10y + x; PyTorch's flatten of the
     * NCHW tensor is c-major: 0 1 10 11 | 100 101 110 111 | 200 ... */
    real in[12], out[12], back[12];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) in[(y * 2 + x) * 3 + c] = (real)(100 * c + 10 * y + x);
    flatten_forward(1, 2, 2, 3, in, out);
    const double want[12] = {0, 1, 10, 11, 100, 101, 110, 111, 200, 201, 210, 211};
    check_array("flatten", out, want, 12, 0);
    flatten_backward(1, 2, 2, 3, out, back);
    CHECK(memcmp(in, back, sizeof in) == 0, "flatten backward inverts forward");
}

static void test_linear(void) {
    /* in = [[1,2,3],[-1,0,1]], w = [[1,0,-1],[0.5,0.5,0.5]], b = [0.25,-1]
     *   row 0: 1 - 3 + 0.25 = -1.75;  0.5*6 - 1 = 2
     *   row 1: -1 - 1 + 0.25 = -1.75; 0.5*0 - 1 = -1 */
    const real in[6] = {1, 2, 3, -1, 0, 1}, w[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
    const real b[2] = {0.25f, -1};
    real out[4];
    linear_forward(2, 3, 2, in, w, b, out);
    const double want[4] = {-1.75, 2, -1.75, -1};
    check_array("linear", out, want, 4, 1e-6);
    /* dout = [[1,0],[0,2]]: dw = dout^T in = [[1,2,3],[-2,0,2]];
     * dbias = column sums = [1,2]; din = dout w = [[1,0,-1],[1,1,1]]. */
    const real dout[4] = {1, 0, 0, 2};
    real dw[6], db[2], din[6];
    linear_backward(2, 3, 2, in, w, dout, dw, db, din);
    const double want_dw[6] = {1, 2, 3, -2, 0, 2}, want_db[2] = {1, 2};
    const double want_din[6] = {1, 0, -1, 1, 1, 1};
    check_array("linear dw", dw, want_dw, 6, 1e-6);
    check_array("linear dbias", db, want_db, 2, 1e-6);
    check_array("linear din", din, want_din, 6, 1e-6);
}

static void test_log_softmax_nll(void) {
    /* Row [1,2,3]: lse = 3 + ln(1 + e^-1 + e^-2) = 3.407605964, so
     * logp = [-2.407605964, -1.407605964, -0.407605964].
     * Row [0,0,0]: -ln 3 = -1.098612289 each. */
    const real z[6] = {1, 2, 3, 0, 0, 0};
    real lp[6];
    log_softmax_forward(2, 3, z, lp);
    const double want[6] = {-2.407605964, -1.407605964, -0.407605964,
                            -1.098612289, -1.098612289, -1.098612289};
    check_array("log_softmax", lp, want, 6, 1e-6);

    /* Large logits: [1000, 1000, 1000] must neither overflow nor lose
     * precision: -ln 3 each, as PyTorch's (x - max) - log(sum) gives in
     * float. Computing x - (max + log(sum)) instead rounds max + log(sum)
     * to float at 1000 (ulp 6e-5) and is off by ~2e-5. */
    const real big[3] = {1000, 1000, 1000};
    real lp_big[3];
    log_softmax_forward(1, 3, big, lp_big);
    for (int i = 0; i < 3; i++)
        CHECK(fabs(lp_big[i] + 1.098612289) < 1e-6,
              "log_softmax([1000,1000,1000])[%d] = %.8f, want -1.09861229", i,
              (double)lp_big[i]);

    /* NLL of the first two rows at labels (2, 0):
     *   (0.407605964 + 1.098612289) / 2 = 0.753109127.
     * Gradient (softmax - onehot) / B with softmax row 0 =
     * [0.090030573, 0.244728471, 0.665240956], row 1 = 1/3 each:
     *   row 0: [0.045015287, 0.122364236, (0.665240956 - 1)/2 = -0.167379522]
     *   row 1: [(1/3 - 1)/2 = -0.333333333, 1/6, 1/6]. */
    const uint8_t labels[2] = {2, 0};
    real d[6];
    double loss = nll_loss(2, 3, lp, labels, 2, d);
    CHECK_NEAR(loss, 0.753109127, 1e-6);
    const double want_d[6] = {0.045015287, 0.122364236, -0.167379522,
                              -0.333333333, 0.166666667, 0.166666667};
    check_array("nll gradient", d, want_d, 6, 1e-6);
    CHECK_NEAR(nll_loss(2, 3, lp, labels, 2, NULL), loss, 0); /* NULL gradient */
    /* These two rows as half of a batch of 4: everything divided by 4. */
    CHECK_NEAR(nll_loss(2, 3, lp, labels, 4, d), 0.753109127 / 2, 1e-6);
    CHECK_NEAR(d[2], -0.167379522 / 2, 1e-6);
}

/* ---- Adam and the schedule ---- */

static void test_adam(void) {
    /* PyTorch's Adam (lr 0.01, betas 0.9/0.999, eps 1e-8), two steps:
     *   m = m + 0.1 (g - m); v = 0.999 v + 0.001 g^2
     *   p -= lr/(1 - 0.9^t) * m / (sqrt(v)/sqrt(1 - 0.999^t) + 1e-8)
     * Step 1 (bc1 = 0.1, bc2 = 0.001): m = 0.1 g, v = 0.001 g^2, so the
     * update is lr * g/(|g| + 1e-8) ~ 0.01 sign(g):
     *   p0: 1 - 0.01 * 0.1/(0.1 + 1e-8) = 0.9900000010
     *   p1: -0.5 + 0.01 * 0.2/(0.2 + 1e-8) = -0.4900000005
     *   p2: 0.25 - 0.01 = 0.24; p3 (g = 0): m = v = 0, unchanged 0.
     * Step 2 (bc1 = 0.19, bc2 = 0.001999, lr/bc1 = 0.0526315789):
     *   p0: g 0.3 -> m = 0.009 + 0.03 = 0.039, v = 0.999e-5 + 9e-5 =
     *       9.999e-5, denom = sqrt(v)/sqrt(bc2) = 0.223651547,
     *       update = 0.0526315789 * 0.174378405 = 0.0091778108
     *       -> 0.9808221902
     *   p1: g 0.1 -> m = -0.018 + 0.01 = -0.008, v = 3.996e-5 + 1e-5 =
     *       4.996e-5, denom 0.158090162, update -0.0026633702
     *       -> -0.4873366303
     *   p2: g -4 -> m = 0.36 - 0.4 = -0.04, v = 0.015984 + 0.016 = 0.031984,
     *       denom 4.000000010, update -0.0005263158 -> 0.2405263158
     *   p3: still 0. */
    adam a;
    CHECK(adam_init(&a, 4), "adam_init");
    float p[4] = {1, -0.5f, 0.25f, 0};
    const float g1[4] = {0.1f, -0.2f, 4, 0};
    /* Step 2's gradient arrives in two parts (as from two threads), which
     * adam_update adds: 0.3 = 0.5 - 0.2, 0.1 = 0.25 - 0.15, -4 = -1 - 3. */
    const float g2a[4] = {0.5f, 0.25f, -1, 0}, g2b[4] = {-0.2f, -0.15f, -3, 0};
    const float *step1[1] = {g1}, *step2[2] = {g2a, g2b};
    adam_begin(&a);
    adam_update(&a, p, step1, 1, 0, 4, 0.01);
    CHECK(a.step == 1, "step %lld", (long long)a.step);
    CHECK_NEAR(p[0], 0.9900000010, 2e-7);
    CHECK_NEAR(p[1], -0.4900000005, 2e-7);
    CHECK_NEAR(p[2], 0.24, 2e-7);
    CHECK(p[3] == 0, "zero gradient leaves p3 at %g", (double)p[3]);
    CHECK_NEAR(a.m[0], 0.01, 1e-8);
    CHECK_NEAR(a.v[1], 4e-5, 1e-11);
    /* The update may be split into ranges (threads): [0,1) and [1,4). */
    adam_begin(&a);
    adam_update(&a, p, step2, 2, 0, 1, 0.01);
    adam_update(&a, p, step2, 2, 1, 4, 0.01);
    CHECK(a.step == 2, "step %lld", (long long)a.step);
    CHECK_NEAR(p[0], 0.9808221902, 3e-7);
    CHECK_NEAR(p[1], -0.4873366303, 3e-7);
    CHECK_NEAR(p[2], 0.2405263158, 3e-7);
    CHECK(p[3] == 0, "p3 %g", (double)p[3]);
    CHECK_NEAR(a.m[0], 0.039, 1e-8);
    CHECK_NEAR(a.v[2], 0.031984, 1e-8);
    adam_free(&a);
}

static void test_multistep(void) {
    /* MultiStepLR(milestones=[5,8], gamma=0.01) from 0.001: epochs 0-4 use
     * 1e-3, 5-7 use 1e-5, 8 and later 1e-7. */
    const int ms[2] = {5, 8};
    for (int e = 0; e <= 10; e++) {
        double want = e < 5 ? 1e-3 : e < 8 ? 1e-5 : 1e-7;
        double got = multistep_lr(0.001, 0.01, ms, 2, e);
        CHECK(fabs(got - want) <= want * 1e-12, "epoch %d: %g, want %g", e, got, want);
    }
    CHECK(multistep_lr(0.001, 0.01, ms, 0, 9) == 0.001, "no milestones");
}

/* ---- prediction ---- */

static void test_predict(void) {
    enum { N = 70 }; /* more than one internal chunk of 64 */
    digit_model *m;
    CHECK_OK(digit_model_create("basic", 5, &m));
    uint8_t *u8 = malloc(N * DIGIT_IMAGE_PIXELS), labels_true[N];
    float *f32 = malloc(sizeof(float) * N * DIGIT_IMAGE_PIXELS);
    synth_images(N, 9, u8, labels_true);
    for (size_t i = 0; i < (size_t)N * DIGIT_IMAGE_PIXELS; i++) f32[i] = u8[i] / 255.0f;

    float prob[N * 10], prob_f[N * 10], logp[N * 10];
    int lab[N], lab_f[N], lab_only[N];
    CHECK_OK(digit_predict_u8(m, u8, N, DIGIT_OUTPUT_PROBABILITIES, prob, lab));
    CHECK_OK(digit_predict_f32(m, f32, N, DIGIT_OUTPUT_PROBABILITIES, prob_f, lab_f));
    CHECK_OK(digit_predict_u8(m, u8, N, DIGIT_OUTPUT_LOG_PROBABILITIES, logp, NULL));
    CHECK_OK(digit_predict_u8(m, u8, N, DIGIT_OUTPUT_PROBABILITIES, NULL, lab_only));
    for (int b = 0; b < N; b++) {
        double sum = 0, diff_f = 0, diff_log = 0;
        int best = 0;
        for (int c = 0; c < 10; c++) {
            float p = prob[b * 10 + c];
            sum += p;
            best = p > prob[b * 10 + best] ? c : best;
            diff_f = fmax(diff_f, fabs(p - prob_f[b * 10 + c]));
            diff_log = fmax(diff_log, fabs(expf(logp[b * 10 + c]) - p));
        }
        CHECK(fabs(sum - 1) < 1e-5, "image %d probabilities sum to %.8f", b, sum);
        CHECK(lab[b] == best && lab_only[b] == best, "image %d label %d, argmax %d", b,
              lab[b], best);
        CHECK(lab_f[b] == lab[b] && diff_f < 1e-6, "image %d: f32 path differs by %g",
              b, diff_f);
        CHECK(diff_log < 1e-6, "image %d: exp(log-prob) differs by %g", b, diff_log);
    }
    /* One image alone gives what it gives inside a batch. */
    float one[10];
    CHECK_OK(digit_predict_u8(m, u8 + 67 * DIGIT_IMAGE_PIXELS, 1,
                              DIGIT_OUTPUT_PROBABILITIES, one, NULL));
    for (int c = 0; c < 10; c++)
        CHECK(fabsf(one[c] - prob[67 * 10 + c]) < 1e-6, "batch-independent %d", c);

    /* Bad input: non-finite pixels, NULL arguments, unknown output kind. */
    f32[3 * DIGIT_IMAGE_PIXELS + 5] = NAN;
    CHECK_ERR(digit_predict_f32(m, f32, N, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "pixel");
    f32[3 * DIGIT_IMAGE_PIXELS + 5] = INFINITY;
    CHECK_ERR(digit_predict_f32(m, f32, N, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "pixel");
    CHECK_OK(digit_predict_u8(m, u8, 0, DIGIT_OUTPUT_PROBABILITIES, prob, lab));
    CHECK_OK(digit_predict_f32(m, f32, 0, DIGIT_OUTPUT_PROBABILITIES, NULL, NULL));
    CHECK_ERR(digit_predict_u8(NULL, u8, 1, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "model");
    CHECK_ERR(digit_predict_u8(m, NULL, 1, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "images");
    CHECK_ERR(digit_predict_f32(m, NULL, 1, DIGIT_OUTPUT_PROBABILITIES, prob, lab),
              DIGIT_ERR_ARGUMENT, "images");
    CHECK_ERR(digit_predict_u8(m, u8, 1, (digit_output)7, prob, lab),
              DIGIT_ERR_ARGUMENT, "kind");
    free(u8);
    free(f32);
    digit_model_free(m);
}

/* Several threads classifying with one model get the one-thread answer. */
typedef struct predict_job {
    const digit_model *m;
    const uint8_t *images;
    size_t n;
    float *out;
    digit_status st;
} predict_job;

static void *predict_thread(void *arg) {
    predict_job *j = arg;
    for (int rep = 0; rep < 3 && j->st == DIGIT_OK; rep++)
        j->st = digit_predict_u8(j->m, j->images, j->n, DIGIT_OUTPUT_PROBABILITIES,
                                 j->out, NULL);
    return NULL;
}

static void test_predict_threads(void) {
    enum { N = 100, T = 3 };
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 3, &m));
    uint8_t *images = malloc(N * DIGIT_IMAGE_PIXELS), labels[N];
    synth_images(N, 4, images, labels);
    float want[N * 10], got[T][N * 10];
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, want, NULL));
    predict_job jobs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (predict_job){m, images, N, got[t], DIGIT_OK};
        pthread_create(&th[t], NULL, predict_thread, &jobs[t]);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].st == DIGIT_OK, "thread %d failed", t);
        CHECK(memcmp(got[t], want, sizeof want) == 0, "thread %d differs", t);
    }
    free(images);
    digit_model_free(m);
}

/* ---- model files: round trip ---- */

/* Awkward but legal metadata: JSON escapes, a control character, UTF-8. */
static const char AWKWARD[] =
    "say \"hi\" \\ back\\slash\nnew line\ttab \x01 caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x99\x82";

static void check_round_trip(const char *dir, const char *preset) {
    digit_model *m, *back = NULL, *mem = NULL;
    CHECK_OK(digit_model_create(preset, 11, &m));
    CHECK_OK(digit_model_set_metadata(m, "note", AWKWARD));
    CHECK_OK(digit_model_set_metadata(m, "test_accuracy", "0.9912"));
    CHECK_ERR(digit_model_set_metadata(m, "", "x"), DIGIT_ERR_ARGUMENT, "empty");
    CHECK_OK(digit_model_set_metadata(m, "note", AWKWARD)); /* overwrite in place */
    char path[512];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, preset);
    CHECK_OK(digit_model_save(m, path));
    CHECK_OK(digit_model_load(path, &back));
    if (!back) {
        digit_model_free(m);
        return;
    }
    CHECK(strcmp(digit_model_arch(back), preset) == 0, "arch %s", digit_model_arch(back));
    CHECK(same_weights(m, back), "%s weights differ after a round trip", preset);
    CHECK(strcmp(digit_model_metadata_key(back, 0), "note") == 0 &&
              strcmp(digit_model_metadata_key(back, 1), "test_accuracy") == 0 &&
              digit_model_metadata_key(back, 2) == NULL,
          "metadata keys in insertion order");
    const char *note = digit_model_metadata(back, "note");
    CHECK(note && strcmp(note, AWKWARD) == 0, "note came back as '%s'", note);
    CHECK(strcmp(digit_model_metadata(back, "test_accuracy"), "0.9912") == 0, "acc");
    /* Normalisation comes back too: same predictions, bit for bit. */
    uint8_t img[3 * DIGIT_IMAGE_PIXELS], lab[3];
    synth_images(3, 2, img, lab);
    float p1[30], p2[30];
    CHECK_OK(digit_predict_u8(m, img, 3, DIGIT_OUTPUT_LOG_PROBABILITIES, p1, NULL));
    CHECK_OK(digit_predict_u8(back, img, 3, DIGIT_OUTPUT_LOG_PROBABILITIES, p2, NULL));
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "predictions differ after a round trip");

    size_t size;
    uint8_t *bytes = read_bytes(path, &size);
    CHECK_OK(digit_model_load_memory(bytes, size, &mem));
    CHECK(mem && same_weights(m, mem), "load_memory weights");
    /* Saving what was loaded reproduces the file byte for byte. */
    char again[600];
    snprintf(again, sizeof again, "%s.again", path);
    CHECK_OK(digit_model_save(back, again));
    size_t size2;
    uint8_t *bytes2 = read_bytes(again, &size2);
    CHECK(size == size2 && memcmp(bytes, bytes2, size) == 0, "re-save is identical");
    free(bytes);
    free(bytes2);
    digit_model_free(m);
    digit_model_free(back);
    digit_model_free(mem);
}

static void test_metadata_rules(void) {
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    const char *reserved[] = {"format", "arch", "mean", "std"};
    for (int i = 0; i < 4; i++)
        CHECK_ERR(digit_model_set_metadata(m, reserved[i], "x"), DIGIT_ERR_ARGUMENT,
                  reserved[i]);
    CHECK_ERR(digit_model_set_metadata(m, NULL, "x"), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_model_set_metadata(m, "k", NULL), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK(digit_model_metadata_key(m, 0) == NULL, "nothing stored");
    CHECK(digit_model_metadata(m, "missing") == NULL, "missing key");
    digit_model_free(m);
}

/* ---- model files: hostile and foreign files ---- */

/* A safetensors file described field by field, so each test can break one
 * thing. Tensors are laid out in array order unless offsets are edited. */
typedef struct fake_tensor {
    char name[48], dtype[8], shape[48];
    size_t bytes, begin, end, src; /* src: first float in the model weights */
} fake_tensor;

typedef struct fake_file {
    char meta[2048]; /* the __metadata__ object, "" for none */
    int n;
    fake_tensor t[24];
    size_t data_size;
} fake_file;

static void fake_layout(fake_file *f) {
    size_t at = 0;
    for (int i = 0; i < f->n; i++) {
        f->t[i].begin = at;
        f->t[i].end = at += f->t[i].bytes;
    }
    f->data_size = at;
}

static void fake_from_model(fake_file *f, digit_model *m, const char *meta) {
    memset(f, 0, sizeof *f);
    snprintf(f->meta, sizeof f->meta, "%s", meta ? meta : "");
    f->n = (int)digit_model_tensor_count(m);
    for (int i = 0; i < f->n; i++) {
        digit_tensor_info ti;
        digit_tensor_info_init(&ti);
        digit_model_tensor(m, (size_t)i, &ti);
        fake_tensor *t = &f->t[i];
        snprintf(t->name, sizeof t->name, "%s", ti.name);
        strcpy(t->dtype, "F32");
        strcpy(t->shape, "[");
        for (int d = 0; d < ti.rank; d++)
            snprintf(t->shape + strlen(t->shape), sizeof t->shape - strlen(t->shape),
                     d ? ",%d" : "%d", ti.shape[d]);
        strcat(t->shape, "]");
        t->bytes = ti.count * sizeof(float);
        t->src = ti.offset;
    }
    fake_layout(f);
}

/* The file's bytes: length, JSON header, data (each tensor's weights copied
 * to its span, as far as both reach; zeros elsewhere). */
static uint8_t *fake_bytes(const fake_file *f, digit_model *m, size_t *size) {
    size_t cap = 4096 + 160 * (size_t)f->n;
    char *h = malloc(cap);
    int len = snprintf(h, cap, "{");
    if (*f->meta) len += snprintf(h + len, cap - len, "\"__metadata__\":%s", f->meta);
    for (int i = 0; i < f->n; i++) {
        const fake_tensor *t = &f->t[i];
        len += snprintf(h + len, cap - len,
                        "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                        (i || *f->meta) ? "," : "", t->name, t->dtype, t->shape,
                        t->begin, t->end);
    }
    len += snprintf(h + len, cap - len, "}");
    *size = 8 + (size_t)len + f->data_size;
    uint8_t *buf = calloc(1, *size);
    uint64_t hlen = (uint64_t)len;
    memcpy(buf, &hlen, 8);
    memcpy(buf + 8, h, (size_t)len);
    uint8_t *data = buf + 8 + len;
    const float *w = digit_model_weights(m);
    size_t nw = digit_model_param_count(m) * sizeof(float);
    for (int i = 0; i < f->n; i++) {
        const fake_tensor *t = &f->t[i];
        size_t from = t->src * sizeof(float), n = t->end - t->begin;
        if (t->end > f->data_size || t->begin > t->end || from >= nw) continue;
        if (n > nw - from) n = nw - from;
        memcpy(data + t->begin, (const uint8_t *)w + from, n);
    }
    free(h);
    return buf;
}

/* Writes `bytes` as dir/name and expects digit_model_load to refuse it
 * with `want`, a message naming the file and containing `sub`. */
#define CHECK_BAD_FILE(dir, name, bytes, size, want, sub)                    \
    do {                                                                     \
        char p_[512];                                                        \
        digit_model *m_ = (digit_model *)1;                                  \
        path_in(p_, sizeof p_, (dir), (name));                               \
        write_bytes(p_, (bytes), (size));                                    \
        CHECK_ERR(digit_model_load(p_, &m_), (want), (sub));                 \
        CHECK(strstr(digit_last_error(), p_) != NULL, "%s: message '%s'",    \
              (name), digit_last_error());                                   \
        CHECK(m_ == NULL, "%s: out not cleared", (name));                    \
        if (m_ && m_ != (digit_model *)1) digit_model_free(m_);              \
    } while (0)

#define META_COMPACT "{\"format\":\"pt\",\"arch\":\"compact\"}"

static void test_bad_headers(const char *dir, digit_model *m) {
    char path[512];
    path_in(path, sizeof path, dir, "good.safetensors");
    CHECK_OK(digit_model_save(m, path));
    size_t size;
    uint8_t *good = read_bytes(path, &size), *buf = malloc(size + 16);
    uint64_t hlen;
    memcpy(&hlen, good, 8);

    CHECK_BAD_FILE(dir, "empty", good, 0, DIGIT_ERR_FORMAT, "short");
    CHECK_BAD_FILE(dir, "seven", good, 7, DIGIT_ERR_FORMAT, "short");
    /* Cut inside the length, the header, right after it, inside the data,
     * and one byte short of the end. */
    const size_t cuts[] = {8, 8 + (size_t)hlen / 2, 8 + (size_t)hlen,
                           8 + (size_t)hlen + 1001, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut-%zu", cuts[i]);
        CHECK_BAD_FILE(dir, name, good, cuts[i], DIGIT_ERR_FORMAT, "");
    }
    /* A header length past the end of the file, and 2^63. */
    memcpy(buf, good, size);
    uint64_t big = size - 8 + 1;
    memcpy(buf, &big, 8);
    CHECK_BAD_FILE(dir, "hlen-past-end", buf, size, DIGIT_ERR_FORMAT, "header length");
    big = (uint64_t)1 << 63;
    memcpy(buf, &big, 8);
    CHECK_BAD_FILE(dir, "hlen-2^63", buf, size, DIGIT_ERR_FORMAT, "header length");
    /* Headers that are not JSON, or JSON but not an object. */
    const char *headers[] = {"this is not json", "[1, 2, 3]", "\"text\"",
                             "{\"a\": {\"dtype\": \"F32\"", "{\"__metadata__\": 5}",
                             ("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], "
                              "\"data_offsets\": [0, 0]}}")};
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        uint64_t n = strlen(headers[i]);
        memcpy(buf, &n, 8);
        memcpy(buf + 8, headers[i], n);
        char name[32];
        snprintf(name, sizeof name, "header-%zu", i);
        CHECK_BAD_FILE(dir, name, buf, 8 + n, DIGIT_ERR_FORMAT, "header");
    }
    free(buf);
    free(good);
}

static void test_bad_tensors(const char *dir, digit_model *m) {
    fake_file f;
    size_t size;
    uint8_t *b;
#define BAD(name, want, sub)                                                 \
    do {                                                                     \
        b = fake_bytes(&f, m, &size);                                        \
        CHECK_BAD_FILE(dir, name, b, size, want, sub);                       \
        free(b);                                                             \
    } while (0)

    /* The unbroken description loads, so each failure below is its edit. */
    fake_from_model(&f, m, META_COMPACT);
    b = fake_bytes(&f, m, &size);
    digit_model *ok = NULL;
    CHECK_OK(digit_model_load_memory(b, size, &ok));
    CHECK(ok && same_weights(ok, m), "the fake file itself is valid");
    digit_model_free(ok);
    free(b);

    /* F16 with the byte size an F16 tensor of that shape has. */
    fake_from_model(&f, m, META_COMPACT);
    strcpy(f.t[0].dtype, "F16");
    f.t[0].bytes /= 2;
    fake_layout(&f);
    BAD("dtype-f16", DIGIT_ERR_FORMAT, "F16");
    fake_from_model(&f, m, META_COMPACT);
    strcpy(f.t[2].dtype, "Q4");
    BAD("dtype-unknown", DIGIT_ERR_FORMAT, "Q4");
    /* Same element count, wrong shape for the architecture. */
    fake_from_model(&f, m, META_COMPACT);
    strcpy(f.t[0].shape, "[8,2,5,5]");
    BAD("shape", DIGIT_ERR_FORMAT, "conv1.weight");
    /* Shape and byte span disagree. */
    fake_from_model(&f, m, META_COMPACT);
    strcpy(f.t[1].shape, "[17]");
    BAD("span", DIGIT_ERR_FORMAT, "conv1.bias");
    /* Tensor 1 slides 4 bytes into tensor 0. */
    fake_from_model(&f, m, META_COMPACT);
    f.t[1].begin -= 4, f.t[1].end -= 4;
    BAD("overlap", DIGIT_ERR_FORMAT, "overlap");
    /* Four unused bytes between tensors 2 and 3. */
    fake_from_model(&f, m, META_COMPACT);
    for (int i = 3; i < f.n; i++) f.t[i].begin += 4, f.t[i].end += 4;
    f.data_size += 4;
    BAD("gap", DIGIT_ERR_FORMAT, "gap");
    /* Unused bytes after the last tensor. */
    fake_from_model(&f, m, META_COMPACT);
    f.data_size += 4;
    BAD("trailing", DIGIT_ERR_FORMAT, "after the last tensor");
    /* The last tensor reaches past the data. */
    fake_from_model(&f, m, META_COMPACT);
    f.t[f.n - 1].begin += 4, f.t[f.n - 1].end += 4;
    BAD("past-end", DIGIT_ERR_FORMAT, "outside");
    /* Offsets reversed. */
    fake_from_model(&f, m, META_COMPACT);
    size_t t0 = f.t[0].begin;
    f.t[0].begin = f.t[0].end, f.t[0].end = t0;
    BAD("reversed", DIGIT_ERR_FORMAT, "conv1.weight");
    /* conv1.bias twice (the copy has its own bytes). */
    fake_from_model(&f, m, META_COMPACT);
    f.t[f.n] = f.t[1];
    f.n++;
    fake_layout(&f);
    BAD("duplicate", DIGIT_ERR_FORMAT, "conv1.bias");
    /* fc1.bias left out. */
    fake_from_model(&f, m, META_COMPACT);
    f.t[7] = f.t[8], f.t[8] = f.t[9];
    f.n--;
    fake_layout(&f);
    BAD("missing", DIGIT_ERR_FORMAT, "fc1.bias");
    /* A tensor the architecture does not have. */
    fake_from_model(&f, m, META_COMPACT);
    f.t[f.n] = f.t[f.n - 1];
    strcpy(f.t[f.n].name, "fc3.bias");
    f.n++;
    fake_layout(&f);
    BAD("extra", DIGIT_ERR_FORMAT, "fc3.bias");
    /* Metadata that cannot be used. */
    fake_from_model(&f, m, "{\"format\":\"pt\",\"arch\":\"resnet\"}");
    BAD("arch-unknown", DIGIT_ERR_FORMAT, "resnet");
    fake_from_model(&f, m, "{\"arch\":\"basic\"}");
    BAD("arch-wrong", DIGIT_ERR_FORMAT, "basic");
    fake_from_model(&f, m, "{\"arch\":\"compact\",\"mean\":\"abc\"}");
    BAD("mean-abc", DIGIT_ERR_FORMAT, "abc");
    fake_from_model(&f, m, "{\"arch\":\"compact\",\"std\":\"0\"}");
    BAD("std-zero", DIGIT_ERR_FORMAT, "std");
    fake_from_model(&f, m, "{\"arch\":\"compact\",\"mean\":\"nan\"}");
    BAD("mean-nan", DIGIT_ERR_FORMAT, "mean");
    fake_from_model(&f, m, "{\"arch\":5}");
    BAD("meta-number", DIGIT_ERR_FORMAT, "header");
    /* More user metadata than a model holds (64 keys) is a property of the
     * file, so a format error like the rest; 64 keys still load. */
    for (int keys = 64; keys <= 65; keys++) {
        fake_from_model(&f, m, NULL);
        int len = snprintf(f.meta, sizeof f.meta, "{\"arch\":\"compact\"");
        for (int k = 0; k < keys; k++)
            len += snprintf(f.meta + len, sizeof f.meta - (size_t)len, ",\"key%d\":\"v\"", k);
        snprintf(f.meta + len, sizeof f.meta - (size_t)len, "}");
        if (keys == 64) {
            digit_model *many = NULL;
            b = fake_bytes(&f, m, &size);
            CHECK_OK(digit_model_load_memory(b, size, &many));
            CHECK(digit_model_metadata_key(many, 63) != NULL, "64 keys kept");
            digit_model_free(many);
            free(b);
        } else {
            BAD("meta-65-keys", DIGIT_ERR_FORMAT, "metadata");
        }
    }
    /* No metadata and the tensors of neither preset. */
    fake_from_model(&f, m, NULL);
    strcpy(f.t[0].shape, "[8,2,5,5]");
    BAD("no-arch-fits", DIGIT_ERR_FORMAT, "no known architecture");
#undef BAD
}

/* The header parser on its own: every file it accepts is a JSON object
 * with nothing after it. */
static void test_st_parse_strict(void) {
    const char *headers[] = {"{}junk", "{} {}", "{\"__metadata__\":{}}x"};
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        uint8_t buf[64];
        uint64_t n = strlen(headers[i]);
        memcpy(buf, &n, 8);
        memcpy(buf + 8, headers[i], n);
        st_file f;
        digit_status st = st_parse("hdr", buf, 8 + n, &f);
        CHECK(st == DIGIT_ERR_FORMAT, "st_parse accepted header '%s'", headers[i]);
        if (st == DIGIT_OK) st_free(&f);
    }
}

/* Files as safetensors.torch.save_file writes them from a PyTorch
 * state_dict: no architecture in the metadata (either {"format":"pt"} or
 * none at all), header keys sorted by name and the data in that order. */
static int by_name(const void *a, const void *b) {
    return strcmp(((const fake_tensor *)a)->name, ((const fake_tensor *)b)->name);
}

static void check_inferred(const char *dir, const char *preset, const char *meta) {
    digit_model *m, *back = NULL;
    CHECK_OK(digit_model_create(preset, 21, &m));
    fake_file f;
    fake_from_model(&f, m, meta);
    qsort(f.t, (size_t)f.n, sizeof *f.t, by_name);
    fake_layout(&f);
    size_t size;
    uint8_t *b = fake_bytes(&f, m, &size);
    char path[512];
    snprintf(path, sizeof path, "%s/torch-%s-%s.safetensors", dir, preset,
             meta ? "pt" : "bare");
    write_bytes(path, b, size);
    CHECK_OK(digit_model_load(path, &back));
    if (back) {
        CHECK(strcmp(digit_model_arch(back), preset) == 0, "inferred %s as %s", preset,
              digit_model_arch(back));
        CHECK(same_weights(m, back), "%s weights from a torch-style file", preset);
        CHECK(digit_model_metadata_key(back, 0) == NULL, "no user metadata");
        /* The preset's own normalisation applies: predictions match. */
        uint8_t img[2 * DIGIT_IMAGE_PIXELS], lab[2];
        synth_images(2, 8, img, lab);
        float p1[20], p2[20];
        digit_predict_u8(m, img, 2, DIGIT_OUTPUT_PROBABILITIES, p1, NULL);
        digit_predict_u8(back, img, 2, DIGIT_OUTPUT_PROBABILITIES, p2, NULL);
        CHECK(memcmp(p1, p2, sizeof p1) == 0, "%s predictions", preset);
    }
    free(b);
    digit_model_free(m);
    digit_model_free(back);
}

static void test_model_files(void) {
    char dir[512];
    make_dir(dir, sizeof dir, "models");
    check_round_trip(dir, "basic");
    check_round_trip(dir, "compact");
    test_metadata_rules();

    digit_model *m;
    CHECK_OK(digit_model_create("compact", 3, &m));
    test_bad_headers(dir, m);
    test_bad_tensors(dir, m);
    test_st_parse_strict();
    digit_model_free(m);

    check_inferred(dir, "basic", NULL);
    check_inferred(dir, "compact", NULL);
    check_inferred(dir, "basic", "{\"format\":\"pt\"}");
    check_inferred(dir, "compact", "{\"format\":\"pt\"}");

    /* Paths that are not model files at all. */
    char p[600];
    digit_model *out = (digit_model *)1;
    path_in(p, sizeof p, dir, "does-not-exist.safetensors");
    CHECK_ERR(digit_model_load(p, &out), DIGIT_ERR_IO, p);
    CHECK(out == NULL, "out cleared");
    CHECK_ERR(digit_model_load(dir, &out), DIGIT_ERR_IO, dir);
    CHECK_ERR(digit_model_load(NULL, &out), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_model_load_memory(NULL, 10, &out), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_model_load_memory("x", 1, &out), DIGIT_ERR_FORMAT, "short");
}

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
        printf("test_core: running as root, read-only folder check skipped\n");
    }
    CHECK_ERR(digit_model_save(NULL, p), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_model_save(m, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    digit_model_free(m);
}

/* ---- IDX data sets ---- */

enum { IDX_N = 5 };

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

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

/* ---- evaluation ---- */

static void test_evaluate(void) {
    enum { N = 150 };
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 17, &m));
    digit_dataset *ds = synth_dataset(N, 12);
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    CHECK_OK(digit_evaluate(m, ds, &ev));
    float logp[N * 10];
    int pred[N];
    CHECK_OK(digit_predict_u8(m, digit_dataset_images(ds), N,
                              DIGIT_OUTPUT_LOG_PROBABILITIES, logp, pred));
    uint32_t conf[10][10] = {{0}};
    double loss = 0;
    size_t correct = 0;
    const uint8_t *y = digit_dataset_labels(ds);
    for (int i = 0; i < N; i++) {
        conf[y[i]][pred[i]]++;
        loss -= logp[i * 10 + y[i]];
        correct += pred[i] == y[i];
    }
    uint64_t total = 0;
    for (int t = 0; t < 10; t++)
        for (int p = 0; p < 10; p++) total += ev.confusion[t][p];
    CHECK(ev.count == N && total == N, "count %zu, confusion sums to %llu", ev.count,
          (unsigned long long)total);
    CHECK(memcmp(conf, ev.confusion, sizeof conf) == 0, "confusion matches predict");
    CHECK_NEAR(ev.accuracy, (double)correct / N, 1e-12);
    CHECK_NEAR(ev.loss, loss / N, 1e-5);
    CHECK_ERR(digit_evaluate(NULL, ds, &ev), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_evaluate(m, ds, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    digit_dataset_free(ds);
    digit_model_free(m);
}

/* ---- training ---- */

static void test_train_options(void) {
    digit_train_options o;
    CHECK_OK(digit_train_options_init_default(&o, "basic"));
    CHECK(o.struct_size == sizeof o, "struct_size");
    CHECK(o.epochs == 10 && o.batch_size == 64 && o.learning_rate == 0.001 &&
              o.milestone_count == 0 && o.seed == 1 && o.threads == 0 &&
              !o.on_batch && !o.on_epoch && !o.checkpoint_path,
          "basic defaults");
    CHECK_OK(digit_train_options_init_default(&o, "compact"));
    CHECK(o.epochs == 10 && o.batch_size == 64 && o.learning_rate == 0.001 &&
              o.milestone_count == 2 && o.milestones[0] == 5 && o.milestones[1] == 8 &&
              o.gamma == 0.01,
          "compact defaults");
    CHECK_ERR(digit_train_options_init_default(&o, "vgg"), DIGIT_ERR_ARGUMENT, "vgg");
    CHECK_ERR(digit_train_options_init(NULL, sizeof(digit_train_options), "basic"), DIGIT_ERR_ARGUMENT, "NULL");

    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    digit_dataset *ds = synth_dataset(20, 1);
    float *before = malloc(sizeof(float) * digit_model_param_count(m));
    memcpy(before, digit_model_weights(m), sizeof(float) * digit_model_param_count(m));
#define BAD_OPT(field_edit, sub)                                             \
    do {                                                                     \
        digit_train_options_init_default(&o, "compact");                             \
        field_edit;                                                          \
        CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, sub); \
    } while (0)
    BAD_OPT(o.epochs = 0, "epochs");
    BAD_OPT(o.epochs = -3, "epochs");
    BAD_OPT(o.batch_size = 0, "batch");
    BAD_OPT(o.learning_rate = -1, "learning rate");
    BAD_OPT(o.learning_rate = 0, "learning rate");
    BAD_OPT(o.learning_rate = NAN, "learning rate");
    BAD_OPT(o.learning_rate = INFINITY, "learning rate");
    BAD_OPT(o.gamma = 0, "gamma");
    BAD_OPT((o.milestones[0] = 5, o.milestones[1] = 5), "milestones");
    BAD_OPT((o.milestones[0] = 8, o.milestones[1] = 5), "milestones");
    BAD_OPT(o.milestones[0] = 0, "milestones");
    BAD_OPT(o.milestone_count = DIGIT_MAX_MILESTONES + 1, "milestone");
    BAD_OPT(o.threads = -1, "threads");
    BAD_OPT(o.struct_size = 0, "struct_size");
#undef BAD_OPT
    CHECK(!memcmp(before, digit_model_weights(m), sizeof(float) * digit_model_param_count(m)),
          "refused options leave the model untouched");
    digit_train_options_init_default(&o, "compact");
    CHECK_ERR(digit_train(NULL, ds, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_train(m, NULL, NULL, &o, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    CHECK_ERR(digit_train(m, ds, NULL, NULL, NULL), DIGIT_ERR_ARGUMENT, "NULL");
    free(before);
    digit_dataset_free(ds);
    digit_model_free(m);
}

/* A fresh model trained on `ds` with the given options; NULL on failure. */
static digit_model *train_fresh(const char *preset, uint64_t init_seed,
                                const digit_dataset *ds, const digit_train_options *o,
                                const char *resume, digit_status *status) {
    digit_model *m;
    *status = digit_model_create(preset, init_seed, &m);
    if (*status != DIGIT_OK) return NULL;
    *status = digit_train(m, ds, NULL, o, resume);
    return m;
}

static void test_determinism(void) {
    digit_dataset *ds = synth_dataset(512, 5);
    for (int threads = 1; threads <= 2; threads++) {
        digit_train_options o;
        digit_train_options_init_default(&o, "basic");
        o.epochs = 1, o.seed = 3, o.threads = threads;
        digit_status s1, s2;
        digit_model *a = train_fresh("basic", 1, ds, &o, NULL, &s1);
        digit_model *b = train_fresh("basic", 1, ds, &o, NULL, &s2);
        CHECK(s1 == DIGIT_OK && s2 == DIGIT_OK, "training failed: %s", digit_last_error());
        CHECK(same_weights(a, b), "threads=%d: two runs differ", threads);
        digit_model *fresh;
        digit_model_create("basic", 1, &fresh);
        CHECK(!same_weights(a, fresh), "training changed nothing");
        digit_model_free(fresh);
        /* Another shuffling seed gives another model. */
        o.seed = 4;
        digit_model *c = train_fresh("basic", 1, ds, &o, NULL, &s1);
        CHECK(s1 == DIGIT_OK && !same_weights(a, c), "seed does not matter");
        digit_model_free(a);
        digit_model_free(b);
        digit_model_free(c);
    }
    digit_dataset_free(ds);

    /* A last batch of one image, split between more threads than it has
     * images (and more than this machine may have cores). */
    ds = synth_dataset(65, 6);
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    o.epochs = 1, o.threads = 3;
    digit_status s1, s2;
    digit_model *a = train_fresh("compact", 1, ds, &o, NULL, &s1);
    digit_model *b = train_fresh("compact", 1, ds, &o, NULL, &s2);
    CHECK(s1 == DIGIT_OK && s2 == DIGIT_OK && same_weights(a, b),
          "65 images on 3 threads: %s", digit_last_error());
    int finite = 1;
    for (size_t i = 0; a && i < digit_model_param_count(a); i++)
        finite &= isfinite(digit_model_weights(a)[i]) != 0;
    CHECK(finite, "weights stay finite");
    digit_model_free(a);
    digit_model_free(b);
    digit_dataset_free(ds);
}

/* Callbacks that record progress and stop at a chosen point. */
typedef struct watch {
    int stop_epoch, stop_batch; /* on_batch stops here (1-based) */
    int stop_after_epoch;       /* on_epoch stops after this one */
    int batches, epochs;        /* calls seen */
    digit_batch_progress last_batch;
    digit_epoch_progress last_epoch;
} watch;

static int on_batch(const digit_batch_progress *p, void *user) {
    watch *w = user;
    w->batches++;
    w->last_batch = *p;
    return p->epoch == w->stop_epoch && p->batch == w->stop_batch;
}

static int on_epoch(const digit_epoch_progress *p, void *user) {
    watch *w = user;
    w->epochs++;
    w->last_epoch = *p;
    return p->epoch == w->stop_after_epoch;
}

static void test_callbacks(void) {
    digit_dataset *ds = synth_dataset(100, 6), *test = synth_dataset(30, 7);
    digit_train_options o;
    digit_train_options_init_default(&o, "compact");
    watch w = {0};
    o.epochs = 2, o.batch_size = 32, o.on_batch = on_batch, o.on_epoch = on_epoch;
    o.user = &w, o.milestones[0] = 1, o.milestone_count = 1, o.gamma = 0.5;
    digit_model *m;
    digit_model_create("compact", 1, &m);
    CHECK_OK(digit_train(m, ds, test, &o, NULL));
    /* 100 images in batches of 32: 4 batches, the last of 4 images. */
    CHECK(w.batches == 8 && w.epochs == 2, "%d batches, %d epochs", w.batches, w.epochs);
    CHECK(w.last_batch.epoch == 2 && w.last_batch.batch == 4 &&
              w.last_batch.batches_per_epoch == 4 && w.last_batch.images_seen == 100 &&
              isfinite(w.last_batch.loss),
          "last batch %d/%d of %d, %zu seen", w.last_batch.epoch, w.last_batch.batch,
          w.last_batch.batches_per_epoch, w.last_batch.images_seen);
    CHECK(w.last_batch.learning_rate == 0.0005, "epoch 2 rate %g", w.last_batch.learning_rate);
    CHECK(w.last_epoch.epoch == 2 && w.last_epoch.epochs == 2 &&
              w.last_epoch.learning_rate == 0.0005 && w.last_epoch.test_accuracy >= 0 &&
              w.last_epoch.test_accuracy <= 1 && isfinite(w.last_epoch.test_loss) &&
              isfinite(w.last_epoch.train_loss) && w.last_epoch.seconds >= 0,
          "epoch progress");
    /* Without a test set the test figures are NaN. */
    o.epochs = 1;
    w = (watch){0};
    CHECK_OK(digit_train(m, ds, NULL, &o, NULL));
    CHECK(isnan(w.last_epoch.test_accuracy) && isnan(w.last_epoch.test_loss), "NaN test");

    /* on_batch returning 1 stops right after that batch. */
    w = (watch){.stop_epoch = 1, .stop_batch = 3};
    digit_model *before;
    digit_model_clone(m, &before);
    CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_CANCELLED, "cancel");
    CHECK(w.batches == 3 && w.epochs == 0, "%d batches ran, %d epochs", w.batches, w.epochs);
    CHECK(!same_weights(m, before), "the batches before the stop were applied");
    /* on_epoch returning 1 stops after that epoch. */
    o.epochs = 3;
    w = (watch){.stop_after_epoch = 1};
    CHECK_ERR(digit_train(m, ds, NULL, &o, NULL), DIGIT_ERR_CANCELLED, "cancel");
    CHECK(w.epochs == 1 && w.batches == 4, "%d epochs ran", w.epochs);
    digit_model_free(before);
    digit_model_free(m);
    digit_dataset_free(ds);
    digit_dataset_free(test);
}

/* Checkpoint runs: 256 images, batches of 32 (8 per epoch), 2 epochs, the
 * rate halved after epoch 1 so a resume must get the schedule right too. */
static void ckpt_options(digit_train_options *o, const char *ckpt, watch *w) {
    digit_train_options_init_default(o, "compact");
    o->epochs = 2, o->batch_size = 32, o->seed = 9, o->threads = 1;
    o->milestones[0] = 1, o->milestone_count = 1, o->gamma = 0.5;
    o->checkpoint_path = ckpt;
    if (w) o->on_batch = on_batch, o->on_epoch = on_epoch, o->user = w;
}

/* Trains until `w` stops it, then resumes from the checkpoint in a model
 * whose own weights differ (the checkpoint must carry them), and compares
 * with the uninterrupted run `ref`. */
static void check_resume(const char *dir, const char *tag, const digit_dataset *ds,
                         digit_model *ref, watch w) {
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, tag);
    digit_train_options o;
    ckpt_options(&o, ckpt, &w);
    digit_status st;
    digit_model *m = train_fresh("compact", 1, ds, &o, NULL, &st);
    CHECK(st == DIGIT_ERR_CANCELLED, "%s: run ended with '%s'", tag, digit_status_name(st));
    ckpt_options(&o, ckpt, NULL);
    o.checkpoint_path = NULL;
    digit_model *r = train_fresh("compact", 77, ds, &o, ckpt, &st);
    CHECK(st == DIGIT_OK, "%s: resume failed: %s", tag, digit_last_error());
    CHECK(st == DIGIT_OK && same_weights(r, ref), "%s: resumed model differs", tag);
    digit_model_free(m);
    digit_model_free(r);
}

static void test_checkpoints(void) {
    char dir[512], ckpt[600];
    make_dir(dir, sizeof dir, "ckpt");
    digit_dataset *ds = synth_dataset(256, 10);
    digit_train_options o;
    digit_status st;

    /* A: uninterrupted, checkpointing after each epoch. */
    path_in(ckpt, sizeof ckpt, dir, "a.ckpt");
    ckpt_options(&o, ckpt, NULL);
    digit_model *a = train_fresh("compact", 1, ds, &o, NULL, &st);
    CHECK_OK(st);
    CHECK(count_entries(dir, NULL) == 1, "only the checkpoint file is left");
    /* A checkpoint is also a loadable model file. */
    digit_model *as_model = NULL;
    CHECK_OK(digit_model_load(ckpt, &as_model));
    CHECK(as_model && same_weights(as_model, a), "checkpoint as a model");
    CHECK(as_model && digit_model_metadata_key(as_model, 0) == NULL,
          "checkpoint fields are not user metadata");
    digit_model_free(as_model);

    /* B: stopped mid-epoch 1, mid-epoch 2, at the last batch of epoch 1,
     * and by the epoch callback; each resumed to the same bits as A. */
    check_resume(dir, "mid-epoch-1", ds, a, (watch){.stop_epoch = 1, .stop_batch = 3});
    check_resume(dir, "mid-epoch-2", ds, a, (watch){.stop_epoch = 2, .stop_batch = 5});
    check_resume(dir, "after-epoch-1", ds, a, (watch){.stop_after_epoch = 1});
    check_resume(dir, "last-batch-of-epoch-1", ds, a,
                 (watch){.stop_epoch = 1, .stop_batch = 8});

    /* A finished checkpoint continued for one more epoch equals a 3-epoch
     * run. */
    ckpt_options(&o, NULL, NULL);
    o.epochs = 3;
    digit_model *three = train_fresh("compact", 1, ds, &o, NULL, &st);
    digit_model *more = train_fresh("compact", 5, ds, &o, ckpt, &st);
    CHECK(st == DIGIT_OK && same_weights(three, more), "continued run differs: %s",
          digit_last_error());
    digit_model_free(three);
    digit_model_free(more);

    /* Resuming with other options or another model is refused clearly. */
    digit_model *m;
    digit_model_create("compact", 1, &m);
    ckpt_options(&o, NULL, NULL);
    o.seed = 10;
    CHECK_ERR(digit_train(m, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "seed");
    ckpt_options(&o, NULL, NULL);
    o.batch_size = 16;
    CHECK_ERR(digit_train(m, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "batch size");
    ckpt_options(&o, NULL, NULL);
    o.learning_rate = 0.002;
    CHECK_ERR(digit_train(m, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "learning rate");
    digit_dataset *fewer = synth_dataset(200, 10);
    ckpt_options(&o, NULL, NULL);
    CHECK_ERR(digit_train(m, fewer, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "images");
    digit_dataset_free(fewer);
    digit_model *basic;
    digit_model_create("basic", 1, &basic);
    CHECK_ERR(digit_train(basic, ds, NULL, &o, ckpt), DIGIT_ERR_ARGUMENT, "architecture");
    digit_model_free(basic);
    /* A plain model file is not a checkpoint; a missing file is an I/O error. */
    char plain[600];
    path_in(plain, sizeof plain, dir, "plain.safetensors");
    digit_model_save(m, plain);
    CHECK_ERR(digit_train(m, ds, NULL, &o, plain), DIGIT_ERR_FORMAT, "checkpoint");
    path_in(plain, sizeof plain, dir, "nothing.ckpt");
    CHECK_ERR(digit_train(m, ds, NULL, &o, plain), DIGIT_ERR_IO, plain);
    digit_model_free(m);
    digit_model_free(a);
    digit_dataset_free(ds);
}

/* ---- regressions from fuzzing and review ---- */

/* Seeds are uint64: a checkpoint of a run seeded at or above 2^63 must be
 * readable and resumable, and a seed past 2^64 (or signed, or spaced) is
 * refused. The seed used to be range-checked as an int64 with strtoll, so
 * big seeds passed only through its saturation, and so did any overflowing
 * number, silently read as 2^64 - 1. */
static void test_checkpoint_big_seed(void) {
    char dir[512], ckpt[600];
    make_dir(dir, sizeof dir, "big-seed");
    digit_dataset *ds = synth_dataset(64, 4);
    const uint64_t seeds[] = {(uint64_t)1 << 63, UINT64_MAX};
    for (size_t i = 0; i < 2; i++) {
        path_in(ckpt, sizeof ckpt, dir, i ? "max.ckpt" : "half.ckpt");
        digit_train_options o;
        digit_train_options_init_default(&o, "compact");
        o.epochs = 1, o.batch_size = 32, o.threads = 1, o.seed = seeds[i];
        o.checkpoint_path = ckpt;
        digit_status st;
        digit_model *one = train_fresh("compact", 1, ds, &o, NULL, &st);
        CHECK_OK(st);
        digit_checkpoint_info info;
        digit_checkpoint_info_init(&info);
        digit_train_options ran;
        digit_train_options_init_default(&ran, "basic");
        CHECK_OK(digit_checkpoint_read(ckpt, &info, &ran));
        CHECK(ran.seed == seeds[i], "seed %llu read back as %llu",
              (unsigned long long)seeds[i], (unsigned long long)ran.seed);
        o.epochs = 2, o.checkpoint_path = NULL;
        digit_model *two = train_fresh("compact", 1, ds, &o, NULL, &st);
        digit_model *resumed = train_fresh("compact", 2, ds, &o, ckpt, &st);
        CHECK(st == DIGIT_OK && same_weights(two, resumed),
              "seed %llu: resume failed or differs: %s", (unsigned long long)seeds[i],
              digit_last_error());
        digit_model_free(one);
        digit_model_free(two);
        digit_model_free(resumed);
    }
    /* Not a number, negative, or past 2^64: refused. */
    const char *bad[] = {"-1", "18446744073709551616", "12x", "", " 5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char meta[1024];
        snprintf(meta, sizeof meta,
                 "{\"__metadata__\":{\"arch\":\"compact\","
                 "\"checkpoint.format\":\"libdigit-checkpoint-1\",\"checkpoint.epoch\":\"1\","
                 "\"checkpoint.batch\":\"0\",\"checkpoint.step\":\"2\","
                 "\"checkpoint.loss_sum\":\"0\",\"checkpoint.batch_size\":\"32\","
                 "\"checkpoint.seed\":\"%s\",\"checkpoint.learning_rate\":\"0.001\","
                 "\"checkpoint.gamma\":\"0.1\",\"checkpoint.milestones\":\"\","
                 "\"checkpoint.train_count\":\"64\",\"checkpoint.epochs\":\"2\","
                 "\"checkpoint.threads\":\"1\"}}",
                 bad[i]);
        uint64_t n = strlen(meta);
        uint8_t *b = malloc(8 + n);
        memcpy(b, &n, 8);
        memcpy(b + 8, meta, n);
        path_in(ckpt, sizeof ckpt, dir, "bad.ckpt");
        write_bytes(ckpt, b, 8 + n);
        free(b);
        digit_checkpoint_info info;
        digit_checkpoint_info_init(&info);
        CHECK_ERR(digit_checkpoint_read(ckpt, &info, NULL), DIGIT_ERR_FORMAT, "checkpoint.seed");
    }
    digit_dataset_free(ds);
}

/* Normalisation metadata beyond float range ("1e39") became inf, which a
 * save then wrote as "inf" and a load refused: such files are refused. */
static void test_normalisation_range(void) {
    char dir[512], path[600];
    make_dir(dir, sizeof dir, "norm-range");
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    fake_file f;
    const char *metas[][2] = {
        {"{\"mean\":\"1e39\",\"std\":\"1\"}", "mean"},
        {"{\"mean\":\"-3.5e38\",\"std\":\"1\"}", "mean"},
        {"{\"mean\":\"0\",\"std\":\"1e39\"}", "std"},
        {"{\"mean\":\"0\",\"std\":\"1e-50\"}", "std"},
    };
    for (size_t i = 0; i < sizeof metas / sizeof *metas; i++) {
        fake_from_model(&f, m, metas[i][0]);
        size_t size;
        uint8_t *b = fake_bytes(&f, m, &size);
        char name[32];
        snprintf(name, sizeof name, "norm-%zu.safetensors", i);
        CHECK_BAD_FILE(dir, name, b, size, DIGIT_ERR_FORMAT, metas[i][1]);
        free(b);
    }
    /* The extremes a float holds load, save and load again unchanged. */
    fake_from_model(&f, m, "{\"mean\":\"-3.40282347e+38\",\"std\":\"1.40129846e-45\"}");
    size_t size;
    uint8_t *b = fake_bytes(&f, m, &size);
    digit_model *x = NULL, *y = NULL;
    CHECK_OK(digit_model_load_memory(b, size, &x));
    path_in(path, sizeof path, dir, "extremes.safetensors");
    if (x) CHECK_OK(digit_model_save(x, path));
    CHECK_OK(digit_model_load(path, &y));
    float mx, sx, my, sy;
    digit_model_normalization(x, &mx, &sx);
    digit_model_normalization(y, &my, &sy);
    CHECK(x && y && mx == my && sx == sy && sx > 0, "extremes: %g/%g vs %g/%g", (double)mx,
          (double)sx, (double)my, (double)sy);
    digit_model_free(x);
    digit_model_free(y);
    free(b);
    digit_model_free(m);
}

int main(void) {
    if (!make_test_root("test-core")) return 1;
    test_version_and_errors();
    test_error_is_per_thread();
    test_presets();
    test_init();
    test_conv_pad_stride();
    test_conv_channels();
    test_maxpool();
    test_flatten();
    test_linear();
    test_log_softmax_nll();
    test_adam();
    test_multistep();
    test_predict();
    test_predict_threads();
    test_model_files();
    test_atomic_save();
    test_idx();
    test_dataset_api();
    test_evaluate();
    test_train_options();
    test_determinism();
    test_callbacks();
    test_checkpoints();
    test_checkpoint_big_seed();
    test_normalisation_range();
    remove_tree(test_root);
    return test_summary("test_core");
}
