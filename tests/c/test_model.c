/* SPDX-License-Identifier: MIT */
/*
 * test_model.c — csrc/model.c and csrc/arch.c: the presets (layer and tensor
 * tables, parameter counts), Kaiming-uniform initialisation, the summary,
 * clones, metadata rules, and the const and mutable views of the weights.
 */
#define _GNU_SOURCE 1

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

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

/* ---- weights: a const view and a mutable one ---- */

static void test_weights_views(void) {
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 8, &m));
    /* The types, as the header declares them. */
    CHECK(_Generic(digit_model_weights(m), const float *: 1, default: 0),
          "digit_model_weights does not return const float *");
    CHECK(_Generic(digit_model_weights_mutable(m), float *: 1, default: 0),
          "digit_model_weights_mutable does not return float *");
    const float *ro = digit_model_weights(m);
    float *rw = digit_model_weights_mutable(m);
    CHECK(ro != NULL && (const float *)rw == ro, "one array behind both views");
    CHECK(digit_last_error()[0] == '\0', "mutable access set an error: %s", digit_last_error());

    enum { N = 30 };
    uint8_t images[N * DIGIT_IMAGE_PIXELS], truth[N];
    synth_images(N, 3, images, truth);
    float p0[N * 10], p1[N * 10], p2[N * 10];
    int labels[N];
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, p0, NULL));

    /* Write through the mutable view: fc2 zeroed except a large bias for
     * class 7, so every image becomes a 7. */
    size_t n = digit_model_param_count(m);
    float *saved = malloc(sizeof(float) * n);
    memcpy(saved, ro, sizeof(float) * n);
    digit_tensor_info w, b;
    digit_tensor_info_init(&w);
    digit_tensor_info_init(&b);
    size_t tensors = digit_model_tensor_count(m);
    CHECK_OK(digit_model_tensor(m, tensors - 2, &w));
    CHECK_OK(digit_model_tensor(m, tensors - 1, &b));
    CHECK(!strcmp(w.name, "fc2.weight") && !strcmp(b.name, "fc2.bias"), "%s %s", w.name,
          b.name);
    rw = digit_model_weights_mutable(m);
    memset(rw + w.offset, 0, sizeof(float) * w.count);
    for (size_t c = 0; c < b.count; c++) rw[b.offset + c] = c == 7 ? 50.0f : 0.0f;
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, p1, labels));
    int sevens = 0;
    for (int i = 0; i < N; i++) sevens += labels[i] == 7;
    CHECK(sevens == N, "%d of %d images predicted 7 after the edit", sevens, N);
    CHECK(memcmp(p0, p1, sizeof p0) != 0, "the edit did not change predictions");
    /* The const view sees the edit too. */
    CHECK(digit_model_weights(m)[b.offset + 7] == 50.0f, "const view is stale");

    /* Writing the old values back restores the old predictions bit for
     * bit: nothing derived from the edited weights survives. */
    rw = digit_model_weights_mutable(m);
    memcpy(rw, saved, sizeof(float) * n);
    CHECK_OK(digit_predict_u8(m, images, N, DIGIT_OUTPUT_PROBABILITIES, p2, NULL));
    CHECK(!memcmp(p0, p2, sizeof p0), "restored weights predict otherwise");

    /* A clone taken after an edit has the edit; evaluation sees it too. */
    rw = digit_model_weights_mutable(m);
    rw[b.offset + 3] = 100.0f;
    digit_model *copy;
    CHECK_OK(digit_model_clone(m, &copy));
    CHECK(same_weights(m, copy), "clone after an edit");
    digit_dataset *ds = NULL;
    CHECK_OK(digit_dataset_create(images, truth, N, &ds));
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    CHECK_OK(digit_evaluate(copy, ds, &ev));
    uint32_t threes = 0;
    for (int t = 0; t < 10; t++) threes += ev.confusion[t][3];
    CHECK(threes == N && fabs(ev.accuracy - 0.1) < 1e-12,
          "evaluation after an edit: %u threes, accuracy %g", threes, ev.accuracy);
    digit_dataset_free(ds);
    digit_model_free(copy);
    free(saved);

    CHECK(digit_model_weights(NULL) == NULL, "const view of NULL");
    CHECK(digit_model_weights_mutable(NULL) == NULL, "mutable view of NULL");
    CHECK(strstr(digit_last_error(), "model is NULL") != NULL, "message '%s'",
          digit_last_error());
    digit_model_free(m);
}

/* DIGIT_MAX_METADATA user keys per model, the reserved ones not counted;
 * replacing and removing keys at the limit. */
static void test_metadata_limit(void) {
    digit_model *m;
    CHECK_OK(digit_model_create("compact", 1, &m));
    char key[32];
    int stored = 0;
    for (int k = 0; k < DIGIT_MAX_METADATA; k++) {
        snprintf(key, sizeof key, "key%d", k);
        stored += digit_model_set_metadata(m, key, "v") == DIGIT_OK;
    }
    CHECK(stored == DIGIT_MAX_METADATA, "%d keys stored", stored);
    CHECK_ERR(digit_model_set_metadata(m, "one-too-many", "v"), DIGIT_ERR_ARGUMENT, "64");
    CHECK(digit_model_metadata(m, "one-too-many") == NULL, "65th key stored");
    CHECK_OK(digit_model_set_metadata(m, "key5", "replaced")); /* at the limit */
    CHECK(!strcmp(digit_model_metadata(m, "key5"), "replaced"), "replaced");
    CHECK_OK(digit_model_remove_metadata(m, "key0"));
    CHECK_OK(digit_model_remove_metadata(m, "key0")); /* absent: fine */
    CHECK(!strcmp(digit_model_metadata_key(m, 0), "key1"), "order after a removal");
    CHECK_OK(digit_model_set_metadata(m, "newest", "v"));
    CHECK(!strcmp(digit_model_metadata_key(m, DIGIT_MAX_METADATA - 1), "newest") &&
              digit_model_metadata_key(m, DIGIT_MAX_METADATA) == NULL,
          "the new key is last");
    const char *reserved[] = {"format", "arch", "mean", "std"};
    for (int i = 0; i < 4; i++)
        CHECK_ERR(digit_model_remove_metadata(m, reserved[i]), DIGIT_ERR_ARGUMENT,
                  reserved[i]);
    /* A clone holds all 64. */
    digit_model *copy;
    CHECK_OK(digit_model_clone(m, &copy));
    CHECK(copy && digit_model_metadata_key(copy, DIGIT_MAX_METADATA - 1) != NULL,
          "clone keeps 64 keys");
    digit_model_free(copy);
    digit_model_free(m);
}

int main(void) {
    test_presets();
    test_init();
    test_metadata_rules();
    test_metadata_limit();
    test_weights_views();
    return test_summary("test_model");
}
