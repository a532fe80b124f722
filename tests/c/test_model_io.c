/* SPDX-License-Identifier: MIT */
/*
 * test_model_io.c — csrc/model_io.c and csrc/safetensors.c: model files
 * round trip (weights, metadata, normalisation, byte-identical re-save),
 * hostile and malformed files (headers, tensors, metadata, normalisation
 * range), the strict safetensors header parser, and files written by
 * PyTorch whose architecture is inferred.
 */

#include "safetensors.h" /* internal.h first, as the library's own files */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "testfiles.h"

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

    /* DIGIT_MAX_METADATA user keys save and load back: the reserved keys
     * the file also holds do not count against the limit. */
    digit_model *full, *back = NULL;
    CHECK_OK(digit_model_create("compact", 4, &full));
    for (int k = 0; k < DIGIT_MAX_METADATA; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        CHECK_OK(digit_model_set_metadata(full, key, "v"));
    }
    char fp[600];
    path_in(fp, sizeof fp, dir, "full-metadata.safetensors");
    CHECK_OK(digit_model_save(full, fp));
    CHECK_OK(digit_model_load(fp, &back));
    CHECK(back && digit_model_metadata_key(back, DIGIT_MAX_METADATA - 1) &&
              !digit_model_metadata_key(back, DIGIT_MAX_METADATA) &&
              !strcmp(digit_model_metadata(back, "k63"), "v"),
          "64 keys after a round trip");
    digit_model_free(back);
    digit_model_free(full);

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
    if (!make_test_root("test-model-io")) return 1;
    test_model_files();
    test_normalisation_range();
    remove_tree(test_root);
    return test_summary("test_model_io");
}
