/* SPDX-License-Identifier: MIT */
/*
 * make_corpus.c — writes the seed corpora under fuzz/corpus/ (`make
 * fuzz-corpus`). The seeds are checked in; this program documents where
 * they come from and regenerates them. Everything is synthetic and
 * deterministic: no data set is needed.
 *
 *   model/  a complete compact model (with metadata), a complete strong
 *           model (batch norm), the headers of both alone
 *           (fuzz_model.c pads short data), the header of a basic model
 *           with its data cut short, a checkpoint's metadata
 *           without tensors, a tiny non-model safetensors file, "{}"
 *   idx/    3 images + 3 labels in the harness's layout (see fuzz_idx.c):
 *           raw, gzip'd files, gzip'd by the harness, and a count mismatch
 *   png/    a digit in gray 1/8/16-bit, palette with tRNS, RGB, RGBA and
 *           interlaced gray+alpha
 *   jpeg/   a digit as baseline gray, baseline YCbCr 4:2:0, progressive
 *           YCbCr with restart markers, with EXIF orientation 6 (little
 *           endian) and 3 (big endian), and CMYK
 */
#define _GNU_SOURCE 1
#include <png.h>
#include <jpeglib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "digit.h"

static const char *root = "fuzz/corpus";

static void die(const char *what) {
    fprintf(stderr, "make_corpus: %s: %s\n", what, digit_last_error());
    exit(1);
}

static void put_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) die(path);
}

static uint8_t *get_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    if (!b || fread(b, 1, *n, f) != *n) die(path);
    fclose(f);
    return b;
}

/* A safetensors file from a JSON header and `data_bytes` bytes of data. */
static void put_safetensors(const char *name, const char *json, size_t data_bytes) {
    size_t h = strlen(json), pad = (8 - h % 8) % 8, n = 8 + h + pad + data_bytes;
    uint8_t *b = calloc(1, n);
    uint64_t hl = h + pad;
    memcpy(b, &hl, 8);
    memcpy(b + 8, json, h);
    memset(b + 8 + h, ' ', pad);
    for (size_t i = 0; i < data_bytes; i++) b[8 + h + pad + i] = (uint8_t)(i * 37);
    put_file("model", name, b, n);
    free(b);
}

static void models(void) {
    digit_model *m;
    if (digit_model_create("compact", 1, &m)) die("create compact");
    if (digit_model_set_metadata(m, "note", "fuzz seed \xc3\xa9\t\"q\"")) die("metadata");
    char tmp[] = "/tmp/make-corpus-XXXXXX.safetensors";
    int fd = mkstemps(tmp, 12);
    if (fd < 0) die("mkstemps");
    if (digit_model_save(m, tmp)) die("save compact");
    digit_model_free(m);
    size_t n;
    uint8_t *b = get_file(tmp, &n);
    put_file("model", "compact.safetensors", b, n);
    uint64_t hlen;
    memcpy(&hlen, b, 8);
    put_file("model", "compact-header.safetensors", b, 8 + (size_t)hlen);
    free(b);

    if (digit_model_create("basic", 1, &m)) die("create basic");
    if (digit_model_save(m, tmp)) die("save basic");
    digit_model_free(m);
    b = get_file(tmp, &n);
    memcpy(&hlen, b, 8);
    put_file("model", "basic-truncated.safetensors", b, 8 + (size_t)hlen + 64);
    free(b);

    /* A batch-norm model whole: its buffers (F32 running statistics, I64
     * num_batches_tracked of shape []) and the folded inference path. */
    if (digit_model_create("strong", 1, &m)) die("create strong");
    if (digit_model_save(m, tmp)) die("save strong");
    digit_model_free(m);
    b = get_file(tmp, &n);
    put_file("model", "strong.safetensors", b, n);
    memcpy(&hlen, b, 8);
    put_file("model", "strong-header.safetensors", b, 8 + (size_t)hlen);
    free(b);
    remove(tmp);
    close(fd);

    /* What digit_checkpoint_read reads: only the metadata. */
    put_safetensors("checkpoint-meta.safetensors",
                    "{\"__metadata__\":{\"format\":\"pt\",\"arch\":\"compact\","
                    "\"mean\":\"0.1307\",\"std\":\"0.3081\","
                    "\"checkpoint.format\":\"libdigit-checkpoint-1\","
                    "\"checkpoint.epoch\":\"1\",\"checkpoint.batch\":\"7\","
                    "\"checkpoint.step\":\"40\",\"checkpoint.loss_sum\":\"0x1.8p+3\","
                    "\"checkpoint.batch_size\":\"32\",\"checkpoint.seed\":\"3\","
                    "\"checkpoint.learning_rate\":\"0x1.0624dd2f1a9fcp-10\","
                    "\"checkpoint.gamma\":\"0x1.47ae147ae147bp-7\","
                    "\"checkpoint.milestones\":\"5,8\",\"checkpoint.train_count\":\"1000\","
                    "\"checkpoint.epochs\":\"2\",\"checkpoint.threads\":\"2\"}}",
                    0);
    /* A format-2 checkpoint's metadata (the options of 2.1). */
    put_safetensors("checkpoint2-meta.safetensors",
                    "{\"__metadata__\":{\"format\":\"pt\",\"arch\":\"strong\","
                    "\"checkpoint.format\":\"libdigit-checkpoint-2\","
                    "\"checkpoint.epoch\":\"1\",\"checkpoint.batch\":\"7\","
                    "\"checkpoint.step\":\"40\",\"checkpoint.loss_sum\":\"0x1.8p+3\","
                    "\"checkpoint.batch_size\":\"128\",\"checkpoint.seed\":\"3\","
                    "\"checkpoint.learning_rate\":\"0x1.0624dd2f1a9fcp-8\","
                    "\"checkpoint.gamma\":\"0x1p+0\",\"checkpoint.milestones\":\"\","
                    "\"checkpoint.train_count\":\"1000\",\"checkpoint.epochs\":\"6\","
                    "\"checkpoint.threads\":\"2\",\"checkpoint.schedule\":\"1\","
                    "\"checkpoint.pct_start\":\"0x1p-2\",\"checkpoint.div_factor\":\"0x1.9p+4\","
                    "\"checkpoint.final_div_factor\":\"0x1.388p+13\","
                    "\"checkpoint.cycle_momentum\":\"0\",\"checkpoint.beta1\":\"0x1.ccccccccccccdp-1\","
                    "\"checkpoint.beta2\":\"0x1.ff7ced916872bp-1\",\"checkpoint.weight_decay\":\"0x0p+0\","
                    "\"checkpoint.label_smoothing\":\"0x0p+0\",\"checkpoint.augment_rotate\":\"0x1.4p+3\","
                    "\"checkpoint.augment_scale\":\"0x1.999999999999ap-4\","
                    "\"checkpoint.augment_shift\":\"0x1.47ae147ae147bp-4\","
                    "\"checkpoint.augment_shear\":\"0x0p+0\"}}",
                    0);
    put_safetensors("tiny.safetensors",
                    "{\"__metadata__\":{\"format\":\"pt\"},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[8,12]},"
                    "\"c\\u00e9\\ud83d\\ude00\":{\"dtype\":\"BF16\",\"shape\":[],"
                    "\"data_offsets\":[12,14]}}",
                    14);
    put_safetensors("empty.safetensors", "{}", 0);
}

/* ---- IDX ---- */

enum { N = 3 };

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

static uint8_t *gz(const uint8_t *d, size_t n, size_t *out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    uint8_t *o = malloc(cap);
    zs.next_in = (Bytef *)d, zs.avail_in = (uInt)n;
    zs.next_out = o, zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    *out = cap - zs.avail_out;
    deflateEnd(&zs);
    return o;
}

/* mode, length of the image part, image part, label part. */
static void put_pair(const char *name, int mode, const uint8_t *img, size_t ni,
                     const uint8_t *lab, size_t nl) {
    uint8_t *b = malloc(5 + ni + nl);
    b[0] = (uint8_t)mode;
    b[1] = (uint8_t)ni, b[2] = (uint8_t)(ni >> 8), b[3] = (uint8_t)(ni >> 16),
    b[4] = (uint8_t)(ni >> 24);
    memcpy(b + 5, img, ni);
    memcpy(b + 5 + ni, lab, nl);
    put_file("idx", name, b, 5 + ni + nl);
    free(b);
}

static void idx(void) {
    uint8_t img[16 + N * 784], lab[8 + N];
    be32(img, 0x803), be32(img + 4, N), be32(img + 8, 28), be32(img + 12, 28);
    be32(lab, 0x801), be32(lab + 4, N);
    for (int i = 0; i < N; i++) {
        lab[8 + i] = (uint8_t)(3 * i + 1);
        uint8_t *p = img + 16 + i * 784;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) { /* a ring, a bar, a cross */
                int dx = x - 14, dy = y - 14, r2 = dx * dx + dy * dy;
                int on = i == 0 ? r2 > 36 && r2 < 81 : i == 1 ? x > 12 && x < 16 && y > 4 && y < 24
                                                     : abs(dx) < 2 || abs(dy) < 2;
                p[y * 28 + x] = (uint8_t)(on ? 255 : (x * y) % 7);
            }
    }
    put_pair("raw.idx", 0, img, sizeof img, lab, sizeof lab);
    size_t gi, gl;
    uint8_t *zi = gz(img, sizeof img, &gi), *zl = gz(lab, sizeof lab, &gl);
    put_pair("gzip-files.idx", 0, zi, gi, zl, gl);
    free(zi);
    free(zl);
    put_pair("gzip-by-harness.idx", 3, img, sizeof img, lab, sizeof lab);
    be32(lab + 4, N - 1);
    put_pair("count-mismatch.idx", 2, img, sizeof img, lab, sizeof lab - 1);
}

/* ---- PNG ---- */

typedef struct out_buf {
    uint8_t *p;
    size_t n, cap;
} out_buf;

static void write_cb(png_structp png, png_bytep d, size_t n) {
    out_buf *o = png_get_io_ptr(png);
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->p = realloc(o->p, o->cap);
    }
    memcpy(o->p + o->n, d, n);
    o->n += n;
}

static void flush_cb(png_structp png) { (void)png; }

/* Ink coverage 0..1 of a "7" drawn in a w x h box. */
static double seven(int x, int y, int w, int h) {
    double u = (x + 0.5) / w, v = (y + 0.5) / h;
    if (v > 0.15 && v < 0.3 && u > 0.2 && u < 0.8) return 1;
    double line = u - (0.8 - (v - 0.3) * 0.5);
    return v >= 0.3 && v < 0.9 && line > -0.09 && line < 0.09 ? 1 : 0;
}

/* A w x h PNG of the digit: colour type, bit depth, interlace, palette. */
static void put_png(const char *name, int w, int h, int type, int depth, int interlace) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    out_buf o = {0};
    if (setjmp(png_jmpbuf(png))) die(name);
    png_set_write_fn(png, &o, write_cb, flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4] = {{250, 245, 230}, {20, 20, 120}, {120, 120, 180}, {0, 0, 0}};
        png_byte alpha[4] = {255, 255, 200, 0};
        png_set_PLTE(png, info, pal, 4);
        png_set_tRNS(png, info, alpha, 4, NULL);
    }
    png_set_gAMA(png, info, 0.45455);
    png_write_info(png, info);
    int channels = type == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : type == PNG_COLOR_TYPE_RGB ? 3
                   : type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = ((size_t)w * channels * depth + 7) / 8;
    png_bytep *rows = malloc(sizeof *rows * h);
    for (int y = 0; y < h; y++) {
        rows[y] = calloc(1, rowbytes);
        for (int x = 0; x < w; x++) {
            double c = seven(x, y, w, h);
            unsigned maxv = (1u << depth) - 1;
            unsigned ink = (unsigned)((1 - c) * maxv + 0.5); /* dark ink on light */
            unsigned s[4];
            int k = channels;
            if (type == PNG_COLOR_TYPE_PALETTE) s[0] = c > 0.5 ? 1 : (x + y) % 7 == 0 ? 2 : 0;
            else if (type == PNG_COLOR_TYPE_RGB_ALPHA)
                s[0] = 200, s[1] = 30, s[2] = 30, s[3] = (unsigned)(c * maxv); /* alpha ink */
            else if (type == PNG_COLOR_TYPE_RGB) s[0] = ink, s[1] = ink, s[2] = maxv;
            else if (type == PNG_COLOR_TYPE_GRAY_ALPHA) s[0] = ink, s[1] = maxv - (x % 3);
            else s[0] = ink;
            for (int i = 0; i < k; i++) {
                size_t bit = ((size_t)x * channels + i) * depth;
                if (depth == 16) {
                    rows[y][bit / 8] = (uint8_t)(s[i] >> 8);
                    rows[y][bit / 8 + 1] = (uint8_t)s[i];
                } else if (depth == 8) {
                    rows[y][bit / 8] = (uint8_t)s[i];
                } else {
                    rows[y][bit / 8] |= (uint8_t)(s[i] << (8 - depth - bit % 8));
                }
            }
        }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    for (int y = 0; y < h; y++) free(rows[y]);
    free(rows);
    put_file("png", name, o.p, o.n);
    free(o.p);
}

static void pngs(void) {
    put_png("gray8.png", 28, 28, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE);
    put_png("gray1.png", 40, 32, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE);
    put_png("gray16.png", 24, 24, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE);
    put_png("palette4-trns.png", 30, 36, PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_NONE);
    put_png("rgb8.png", 32, 24, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE);
    put_png("rgba8.png", 20, 20, PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE);
    put_png("graya16-adam7.png", 22, 26, PNG_COLOR_TYPE_GRAY_ALPHA, 16, PNG_INTERLACE_ADAM7);
}

/* An APP1 payload with IFD0 holding only Orientation = o. */
static size_t exif_app1(int o, int big_endian, uint8_t *p) {
    static const uint8_t LE[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                 0, 0, 0, 0};
    static const uint8_t BE[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8,
                                 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0,
                                 0, 0, 0, 0};
    memcpy(p, big_endian ? BE : LE, sizeof LE);
    p[big_endian ? 25 : 24] = (uint8_t)o;
    return sizeof LE;
}

/* A w x h JPEG of the digit: components 1 (gray), 3 (YCbCr) or 4 (CMYK). */
static void put_jpeg(const char *name, int w, int h, int components, int progressive,
                     int orientation, int big_endian) {
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = components;
    ci.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 75, TRUE);
    if (progressive) {
        jpeg_simple_progression(&ci);
        ci.restart_in_rows = 1;
    }
    jpeg_start_compress(&ci, TRUE);
    if (orientation) {
        uint8_t app1[64];
        size_t n = exif_app1(orientation, big_endian, app1);
        jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, (unsigned)n);
    }
    JSAMPLE *row = malloc((size_t)w * components);
    while (ci.next_scanline < ci.image_height) {
        int y = (int)ci.next_scanline;
        for (int x = 0; x < w; x++) {
            double c = seven(x, y, w, h);
            JSAMPLE *p = row + (size_t)x * components;
            if (components == 4) p[0] = p[1] = p[2] = 0, p[3] = (JSAMPLE)(c * 230);
            else
                for (int k = 0; k < components; k++)
                    p[k] = (JSAMPLE)(235 - c * (k == 2 ? 120 : 200) - (x + y) % 3);
        }
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    put_file("jpeg", name, buf, size);
    free(buf);
}

static void jpegs(void) {
    put_jpeg("gray.jpg", 32, 32, 1, 0, 0, 0);
    put_jpeg("ycbcr420.jpg", 40, 32, 3, 0, 0, 0);
    put_jpeg("progressive-restart.jpg", 48, 40, 3, 1, 0, 0);
    put_jpeg("exif6-le.jpg", 32, 24, 3, 0, 6, 0);
    put_jpeg("exif3-be.jpg", 24, 32, 1, 0, 3, 1);
    put_jpeg("cmyk.jpg", 24, 24, 4, 0, 0, 0);
}

int main(int argc, char **argv) {
    if (argc > 1) root = argv[1];
    models();
    idx();
    pngs();
    jpegs();
    printf("make_corpus: wrote the seeds under %s\n", root);
    return 0;
}
