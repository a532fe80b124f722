/* SPDX-License-Identifier: MIT */
/*
 * fuzz_model.c — libFuzzer harness for model files (safetensors.c,
 * model_io.c) and the checkpoint reader (train.c).
 *
 * Each input is
 *   1. loaded with digit_model_load_memory; on failure the status must be
 *      an error with a message and *out must be NULL;
 *   2. when it loads: described (layers, tensors, summary, metadata), run
 *      on one image, saved to a scratch file, loaded back and compared with
 *      the original: weights bit for bit, normalisation and metadata. What
 *      libdigit loads, it must be able to save and load again unchanged;
 *   3. when its data section is shorter than its header says, loaded once
 *      more with the data padded to the largest end offset the header
 *      names and checked as in 2. A model's weights are 128 KB or more and
 *      its header 1-2 KB, so mutations of a whole file seldom touch the
 *      header; run with -max_len=4096, header-only inputs reach everything
 *      after the parser this way. The padding is a fixed pattern of small
 *      floats;
 *   4. read as a checkpoint with digit_checkpoint_read (through a path, so
 *      the file-reading code runs too).
 */
#include "fuzz_util.h"

static void check_round_trip(digit_model *m) {
    /* Everything a model says about itself must be well formed. */
    size_t layers = digit_model_layer_count(m), tensors = digit_model_tensor_count(m);
    FUZZ_ASSERT(layers > 0 && tensors > 0, "%zu layers, %zu tensors", layers, tensors);
    for (size_t i = 0; i < layers; i++) {
        digit_layer_info li;
        digit_layer_info_init(&li);
        FUZZ_ASSERT(digit_model_layer(m, i, &li) == DIGIT_OK, "layer %zu", i);
    }
    size_t total = 0;
    for (size_t i = 0; i < tensors; i++) {
        digit_tensor_info ti;
        digit_tensor_info_init(&ti);
        FUZZ_ASSERT(digit_model_tensor(m, i, &ti) == DIGIT_OK, "tensor %zu", i);
        total += ti.count;
    }
    FUZZ_ASSERT(total == digit_model_param_count(m), "%zu != %zu", total,
                digit_model_param_count(m));
    char summary[4096];
    size_t need = digit_model_summary(m, summary, sizeof summary);
    FUZZ_ASSERT(need < sizeof summary && strlen(summary) == need, "summary length %zu", need);

    /* One image through the network. */
    uint8_t image[DIGIT_IMAGE_PIXELS];
    for (int i = 0; i < DIGIT_IMAGE_PIXELS; i++)
        image[i] = (uint8_t)((i % 28 > 8 && i % 28 < 20 && i / 28 > 4 && i / 28 < 24) * 255);
    float probs[DIGIT_CLASSES];
    int label = -1;
    digit_status st = digit_predict_u8(m, image, 1, DIGIT_OUTPUT_PROBABILITIES, probs, &label);
    FUZZ_ASSERT(st == DIGIT_OK, "predict failed");
    FUZZ_ASSERT(label >= 0 && label < DIGIT_CLASSES, "label %d", label);

    /* Save, load back, compare. */
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", scratch_dir());
    st = digit_model_save(m, path);
    FUZZ_ASSERT(st == DIGIT_OK, "a loaded model cannot be saved");
    digit_model *back = NULL;
    st = digit_model_load(path, &back);
    FUZZ_ASSERT(st == DIGIT_OK && back, "a saved model cannot be loaded");
    FUZZ_ASSERT(strcmp(digit_model_arch(m), digit_model_arch(back)) == 0, "arch %s vs %s",
                digit_model_arch(m), digit_model_arch(back));
    size_t n = digit_model_param_count(m);
    FUZZ_ASSERT(n == digit_model_param_count(back) &&
                    memcmp(digit_model_weights(m), digit_model_weights(back),
                           n * sizeof(float)) == 0,
                "weights changed in a save/load round trip");
    float mean_a, std_a, mean_b, std_b;
    digit_model_normalization(m, &mean_a, &std_a);
    digit_model_normalization(back, &mean_b, &std_b);
    FUZZ_ASSERT(memcmp(&mean_a, &mean_b, sizeof(float)) == 0 &&
                    memcmp(&std_a, &std_b, sizeof(float)) == 0,
                "normalisation %.9g/%.9g became %.9g/%.9g", (double)mean_a,
                (double)std_a, (double)mean_b, (double)std_b);
    size_t k = 0;
    for (const char *key; (key = digit_model_metadata_key(m, k)); k++) {
        const char *other = digit_model_metadata_key(back, k);
        FUZZ_ASSERT(other && strcmp(key, other) == 0, "metadata key %zu", k);
        FUZZ_ASSERT(strcmp(digit_model_metadata(m, key), digit_model_metadata(back, key)) == 0,
                    "metadata value of %s", key);
    }
    FUZZ_ASSERT(digit_model_metadata_key(back, k) == NULL, "extra metadata after reload");
    digit_model_free(back);

    digit_model *copy = NULL;
    FUZZ_ASSERT(digit_model_clone(m, &copy) == DIGIT_OK, "clone failed");
    digit_model_free(copy);
}

/* Loads data[0..size) from memory; what loads must survive the round trip. */
static void load_and_check(const uint8_t *data, size_t size) {
    digit_model *m = (digit_model *)data; /* must be reset to NULL on failure */
    digit_status st = digit_model_load_memory(data, size, &m);
    if (st == DIGIT_OK) {
        FUZZ_ASSERT(m != NULL, "DIGIT_OK without a model");
        check_round_trip(m);
        digit_model_free(m);
    } else {
        FUZZ_CHECK_FAILURE(st);
        FUZZ_ASSERT(m == NULL, "a failed load left *out set");
    }
}

/* Data sections are padded up to this; a larger claim is left alone. */
#define PAD_LIMIT ((size_t)8 << 20)

/* The largest number after a "data_offsets" in the header: the data size
 * a well-formed header asks for (a scan, not a parse: mutated headers
 * should get padded too). */
static size_t claimed_data_size(const uint8_t *header, size_t n) {
    static const char key[] = "data_offsets";
    size_t most = 0;
    for (const uint8_t *p = header, *end = header + n;
         (p = memmem(p, (size_t)(end - p), key, sizeof key - 1)); p++) {
        const uint8_t *q = p + sizeof key - 1;
        for (int numbers = 0; q < end && numbers < 2 && *q != ']'; q++) {
            if (*q < '0' || *q > '9') continue;
            size_t v = 0;
            for (; q < end && *q >= '0' && *q <= '9'; q++)
                v = v > PAD_LIMIT ? v : v * 10 + (size_t)(*q - '0');
            if (v > most) most = v;
            numbers++;
        }
    }
    return most;
}

/* Step 3: the header with its data section padded to what it claims. */
static void load_padded(const uint8_t *data, size_t size) {
    static uint8_t *pattern; /* PAD_LIMIT bytes of small floats, made once */
    uint64_t hlen;
    if (size < 8) return;
    memcpy(&hlen, data, 8);
    if (hlen > size - 8) return;
    size_t have = size - 8 - (size_t)hlen;
    size_t want = claimed_data_size(data + 8, (size_t)hlen);
    if (want <= have || want > PAD_LIMIT) return;
    if (!pattern) {
        if (!(pattern = malloc(PAD_LIMIT))) abort();
        for (size_t i = 0; i < PAD_LIMIT; i++)
            pattern[i] = (i & 3) == 3 ? 0x3c : (uint8_t)(i * 29);
    }
    size_t total = 8 + (size_t)hlen + want;
    uint8_t *buf = malloc(total);
    if (!buf) abort();
    memcpy(buf, data, size);
    memcpy(buf + size, pattern + (size - 8 - (size_t)hlen), total - size);
    load_and_check(buf, total);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mem_file file;
    if (!file.path[0]) mem_file_open(&file, "fuzz-model");

    load_and_check(data, size);
    load_padded(data, size);

    mem_file_set(&file, data, size);
    digit_checkpoint_info info;
    digit_checkpoint_info_init(&info);
    digit_train_options ran;
    digit_train_options_init_default(&ran, "basic");
    digit_status st = digit_checkpoint_read(file.path, &info, &ran);
    if (st == DIGIT_OK) {
        FUZZ_ASSERT(info.epochs_done >= 0 && info.batches_done >= 0, "position %d/%d",
                    info.epochs_done, info.batches_done);
        FUZZ_ASSERT(memchr(info.arch, '\0', sizeof info.arch) != NULL, "arch unterminated");
        FUZZ_ASSERT(ran.milestone_count >= 0 && ran.milestone_count <= DIGIT_MAX_MILESTONES,
                    "%d milestones", ran.milestone_count);
        FUZZ_ASSERT(digit_train_options_check(&ran) == DIGIT_OK, "options read back invalid: %s",
                    digit_last_error());
    } else {
        FUZZ_CHECK_FAILURE(st);
    }
    return 0;
}
