/* SPDX-License-Identifier: MIT */
/*
 * safetensors.c — a strict parser and a writer for the safetensors format.
 * The parser trusts nothing: header length, JSON syntax, dtypes, shapes and
 * offsets are all validated before any tensor byte is touched.
 */
#include "safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libdigit reads and writes little-endian tensors in place"
#endif

/* The format caps the JSON header at 100 MB. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_MAX_TENSORS 4096

/* ---- a minimal JSON reader for the header's fixed shape ---- */

typedef struct json {
    const char *s;
    size_t n, pos;
    const char *name;      /* file name for messages */
} json;

static digit_status jerr(const json *j, const char *what) {
    return digit_fail(DIGIT_ERR_FORMAT,
                      "%s: invalid safetensors header: %s at byte %zu",
                      j->name, what, j->pos + 8);
}

static void skip_ws(json *j) {
    while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                             j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

/* Consumes `c` after optional whitespace; returns 0 if it is not there. */
static int eat(json *j, char c) {
    skip_ws(j);
    if (j->pos < j->n && j->s[j->pos] == c) {
        j->pos++;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A JSON string into a malloc'd UTF-8 C string (escapes decoded). */
static digit_status parse_string(json *j, char **out) {
    if (!eat(j, '"')) return jerr(j, "expected a string");
    /* Decoded text is never longer than the escaped source. */
    size_t start = j->pos, end = start;
    while (end < j->n && j->s[end] != '"') end += j->s[end] == '\\' ? 2 : 1;
    if (end >= j->n) return jerr(j, "unterminated string");
    char *o = malloc(end - start + 1);
    if (!o) return digit_fail(DIGIT_ERR_MEMORY, "%s: out of memory", j->name);
    size_t k = 0;
    while (j->pos < end) {
        unsigned char c = (unsigned char)j->s[j->pos++];
        if (c < 0x20) {
            free(o);
            return jerr(j, "control character in string");
        }
        if (c != '\\') { o[k++] = (char)c; continue; }
        char e = j->s[j->pos++];
        switch (e) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (j->pos + 4 > end || !hex4(j->s + j->pos, &cp)) {
                free(o);
                return jerr(j, "bad \\u escape");
            }
            j->pos += 4;
            /* A surrogate pair (6 source bytes) becomes 4 UTF-8 bytes. */
            if (cp >= 0xD800 && cp < 0xDC00 && j->pos + 6 <= end &&
                j->s[j->pos] == '\\' && j->s[j->pos + 1] == 'u' &&
                hex4(j->s + j->pos + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j->pos += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* an unpaired surrogate: the replacement char */
            }
            k += put_utf8(o + k, cp);
            break;
        }
        default: free(o); return jerr(j, "bad escape");
        }
    }
    j->pos = end + 1;
    o[k] = '\0';
    if (strlen(o) != k) {
        free(o);
        return jerr(j, "NUL character in string");
    }
    *out = o;
    return DIGIT_OK;
}

static digit_status parse_uint(json *j, uint64_t *out) {
    skip_ws(j);
    uint64_t v = 0;
    size_t start = j->pos;
    while (j->pos < j->n && j->s[j->pos] >= '0' && j->s[j->pos] <= '9') {
        unsigned d = (unsigned)(j->s[j->pos++] - '0');
        if (v > (UINT64_MAX - d) / 10) return jerr(j, "integer too large");
        v = v * 10 + d;
    }
    if (j->pos == start) return jerr(j, "expected a non-negative integer");
    *out = v;
    return DIGIT_OK;
}

/* [u, u, ...] with at most `max` items. */
static digit_status parse_uint_array(json *j, uint64_t *items, int max,
                                     int *count) {
    if (!eat(j, '[')) return jerr(j, "expected '['");
    *count = 0;
    if (eat(j, ']')) return DIGIT_OK;
    do {
        if (*count == max) return jerr(j, "array too long");
        digit_status st = parse_uint(j, &items[(*count)++]);
        if (st != DIGIT_OK) return st;
    } while (eat(j, ','));
    return eat(j, ']') ? DIGIT_OK : jerr(j, "expected ']'");
}

static digit_status parse_tensor(json *j, st_tensor *t) {
    if (!eat(j, '{')) return jerr(j, "expected a tensor object");
    int seen_dtype = 0, seen_shape = 0, seen_offsets = 0;
    do {
        char *key;
        digit_status st = parse_string(j, &key);
        if (st != DIGIT_OK) return st;
        if (!eat(j, ':')) st = jerr(j, "expected ':'");
        else if (strcmp(key, "dtype") == 0 && !seen_dtype) {
            char *dt;
            seen_dtype = 1;
            st = parse_string(j, &dt);
            if (st == DIGIT_OK) {
                if (strlen(dt) >= sizeof t->dtype) st = jerr(j, "unknown dtype");
                else strcpy(t->dtype, dt);
                free(dt);
            }
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            st = parse_uint_array(j, t->shape, ST_MAX_RANK, &t->rank);
        } else if (strcmp(key, "data_offsets") == 0 && !seen_offsets) {
            uint64_t off[2];
            int n;
            seen_offsets = 1;
            st = parse_uint_array(j, off, 2, &n);
            if (st == DIGIT_OK && n != 2) st = jerr(j, "data_offsets needs 2 numbers");
            if (st == DIGIT_OK && (off[0] > SIZE_MAX || off[1] > SIZE_MAX))
                st = jerr(j, "offset too large");
            if (st == DIGIT_OK) t->begin = (size_t)off[0], t->end = (size_t)off[1];
        } else {
            st = jerr(j, "unexpected or repeated key in tensor entry");
        }
        free(key);
        if (st != DIGIT_OK) return st;
    } while (eat(j, ','));
    if (!eat(j, '}')) return jerr(j, "expected '}'");
    if (!seen_dtype || !seen_shape || !seen_offsets)
        return jerr(j, "tensor entry lacks dtype, shape or data_offsets");
    return DIGIT_OK;
}

static digit_status parse_metadata(json *j, st_file *st) {
    if (!eat(j, '{')) return jerr(j, "__metadata__ must be an object");
    if (eat(j, '}')) return DIGIT_OK;
    do {
        char *k = NULL, *v = NULL;
        digit_status s = parse_string(j, &k);
        if (s == DIGIT_OK && !eat(j, ':')) s = jerr(j, "expected ':'");
        if (s == DIGIT_OK) s = parse_string(j, &v);
        if (s == DIGIT_OK && st->nmeta == ST_MAX_TENSORS) s = jerr(j, "too many metadata entries");
        if (s == DIGIT_OK) {
            char **nk = realloc(st->meta_key, sizeof(char *) * (st->nmeta + 1));
            if (nk) st->meta_key = nk;
            char **nv = realloc(st->meta_value, sizeof(char *) * (st->nmeta + 1));
            if (nv) st->meta_value = nv;
            if (!nk || !nv) s = digit_fail(DIGIT_ERR_MEMORY, "%s: out of memory", j->name);
        }
        if (s != DIGIT_OK) {
            free(k);
            free(v);
            return s;
        }
        st->meta_key[st->nmeta] = k;
        st->meta_value[st->nmeta++] = v;
    } while (eat(j, ','));
    return eat(j, '}') ? DIGIT_OK : jerr(j, "expected '}'");
}

/* Only padding may follow the header object. */
static digit_status expect_end(json *j) {
    skip_ws(j);
    return j->pos == j->n ? DIGIT_OK : jerr(j, "trailing characters after the header");
}

static digit_status parse_header(json *j, st_file *st) {
    if (!eat(j, '{')) return jerr(j, "header is not a JSON object");
    if (eat(j, '}')) return expect_end(j);
    int seen_meta = 0;
    do {
        char *key;
        digit_status s = parse_string(j, &key);
        if (s != DIGIT_OK) return s;
        if (!eat(j, ':')) {
            free(key);
            return jerr(j, "expected ':'");
        }
        if (strcmp(key, "__metadata__") == 0) {
            free(key);
            if (seen_meta++) return jerr(j, "repeated __metadata__");
            s = parse_metadata(j, st);
            if (s != DIGIT_OK) return s;
            continue;
        }
        if (st_find(st, key) || st->ntensors == ST_MAX_TENSORS) {
            digit_status e = st->ntensors == ST_MAX_TENSORS
                                 ? jerr(j, "too many tensors")
                                 : digit_fail(DIGIT_ERR_FORMAT,
                                              "%s: tensor '%s' appears twice",
                                              j->name, key);
            free(key);
            return e;
        }
        st_tensor *grown = realloc(st->tensors, sizeof *grown * (st->ntensors + 1));
        if (!grown) {
            free(key);
            return digit_fail(DIGIT_ERR_MEMORY, "%s: out of memory", j->name);
        }
        st->tensors = grown;
        st_tensor *t = &st->tensors[st->ntensors++];
        memset(t, 0, sizeof *t);
        t->name = key;
        s = parse_tensor(j, t);
        if (s != DIGIT_OK) return s;
    } while (eat(j, ','));
    if (!eat(j, '}')) return jerr(j, "expected '}' or ','");
    return expect_end(j);
}

/* ---- validation of tensors against the data section ---- */

static size_t dtype_size(const char *dt) {
    static const struct { const char *name; size_t size; } T[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
        {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U64", 8}, {"U32", 4},
        {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < sizeof T / sizeof *T; i++)
        if (strcmp(dt, T[i].name) == 0) return T[i].size;
    return 0;
}

static int by_begin(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static digit_status validate(const char *name, const st_file *st) {
    for (size_t i = 0; i < st->ntensors; i++) {
        const st_tensor *t = &st->tensors[i];
        size_t es = dtype_size(t->dtype), bytes = es;
        if (!es)
            return digit_fail(DIGIT_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%s'",
                              name, t->name, t->dtype);
        for (int d = 0; d < t->rank; d++)
            if (t->shape[d] > SIZE_MAX || !digit_mul_size(bytes, (size_t)t->shape[d], &bytes))
                return digit_fail(DIGIT_ERR_FORMAT, "%s: tensor '%s' has an impossible shape",
                                  name, t->name);
        if (t->begin > t->end || t->end > st->data_size)
            return digit_fail(DIGIT_ERR_FORMAT,
                              "%s: tensor '%s' has offsets [%zu, %zu] outside the %zu data bytes",
                              name, t->name, t->begin, t->end, st->data_size);
        if (t->end - t->begin != bytes)
            return digit_fail(DIGIT_ERR_FORMAT,
                              "%s: tensor '%s' spans %zu bytes but its shape needs %zu",
                              name, t->name, t->end - t->begin, bytes);
    }
    /* The tensors must tile the data section exactly: no overlap, no gap. */
    const st_tensor **order = malloc(sizeof *order * (st->ntensors + 1));
    if (!order) return digit_fail(DIGIT_ERR_MEMORY, "%s: out of memory", name);
    for (size_t i = 0; i < st->ntensors; i++) order[i] = &st->tensors[i];
    qsort(order, st->ntensors, sizeof *order, by_begin);
    size_t at = 0;
    digit_status s = DIGIT_OK;
    for (size_t i = 0; i < st->ntensors && s == DIGIT_OK; i++) {
        if (order[i]->begin < at)
            s = digit_fail(DIGIT_ERR_FORMAT, "%s: tensor '%s' overlaps another tensor",
                           name, order[i]->name);
        else if (order[i]->begin > at)
            s = digit_fail(DIGIT_ERR_FORMAT, "%s: gap in the data before tensor '%s'",
                           name, order[i]->name);
        at = order[i]->end;
    }
    free(order);
    if (s == DIGIT_OK && at != st->data_size)
        s = digit_fail(DIGIT_ERR_FORMAT, "%s: %zu data bytes after the last tensor",
                       name, st->data_size - at);
    return s;
}

digit_status st_parse(const char *name, const uint8_t *buf, size_t size,
                      st_file *st) {
    memset(st, 0, sizeof *st);
    if (size < 8)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: file is %zu bytes, too short for safetensors",
                          name, size);
    uint64_t hlen;
    memcpy(&hlen, buf, 8);
    if (hlen > ST_MAX_HEADER || hlen > size - 8)
        return digit_fail(DIGIT_ERR_FORMAT,
                          "%s: header length %llu exceeds the file (%zu bytes) or the 100 MB limit",
                          name, (unsigned long long)hlen, size);
    json j = {(const char *)buf + 8, (size_t)hlen, 0, name};
    digit_status s = parse_header(&j, st);
    if (s == DIGIT_OK) {
        st->data = buf + 8 + hlen;
        st->data_size = size - 8 - (size_t)hlen;
        s = validate(name, st);
    }
    if (s != DIGIT_OK) st_free(st);
    return s;
}

void st_free(st_file *st) {
    for (size_t i = 0; i < st->ntensors; i++) free(st->tensors[i].name);
    for (size_t i = 0; i < st->nmeta; i++) {
        free(st->meta_key[i]);
        free(st->meta_value[i]);
    }
    free(st->tensors);
    free(st->meta_key);
    free(st->meta_value);
    memset(st, 0, sizeof *st);
}

const st_tensor *st_find(const st_file *st, const char *name) {
    for (size_t i = 0; i < st->ntensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *st_meta(const st_file *st, const char *key) {
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta_key[i], key) == 0) return st->meta_value[i];
    return NULL;
}

/* ---- writer ---- */

typedef struct sbuf { char *p; size_t len, cap; int failed; } sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        char *p = realloc(b->p, cap);
        if (!p) { b->failed = 1; return; }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_printf(sbuf *b, const char *fmt, ...) DIGIT_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) b->failed = 1;
    else sb_put(b, tmp, (size_t)n);
}

static void sb_json_string(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static size_t entry_size(const st_entry *e) { return e->i64 ? sizeof(int64_t) : sizeof(float); }

digit_status st_serialize(const st_entry *t, size_t nt, const char *const *keys,
                          const char *const *values, size_t nmeta,
                          uint8_t **out, size_t *size) {
    sbuf h = {0};
    sb_put(&h, "{", 1);
    if (nmeta) {
        sb_put(&h, "\"__metadata__\":{", 16);
        for (size_t i = 0; i < nmeta; i++) {
            if (i) sb_put(&h, ",", 1);
            sb_json_string(&h, keys[i]);
            sb_put(&h, ":", 1);
            sb_json_string(&h, values[i]);
        }
        sb_put(&h, "}", 1);
    }
    size_t offset = 0;
    for (size_t i = 0; i < nt; i++) {
        if (i || nmeta) sb_put(&h, ",", 1);
        sb_json_string(&h, t[i].name);
        sb_put(&h, t[i].i64 ? ":{\"dtype\":\"I64\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[", 25);
        for (int d = 0; d < t[i].rank; d++) sb_printf(&h, d ? ",%d" : "%d", t[i].shape[d]);
        size_t bytes = t[i].count * entry_size(&t[i]);
        sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    sb_put(&h, "}", 1);
    /* Pad with spaces so the data section starts 8-byte aligned. */
    while (!h.failed && h.len % 8) sb_put(&h, " ", 1);
    if (h.failed) {
        free(h.p);
        return digit_fail(DIGIT_ERR_MEMORY, "cannot build safetensors header");
    }
    size_t total = 8 + h.len + offset;
    uint8_t *buf = malloc(total);
    if (!buf) {
        free(h.p);
        return digit_fail(DIGIT_ERR_MEMORY, "cannot allocate %zu bytes", total);
    }
    uint64_t hlen = h.len;
    memcpy(buf, &hlen, 8);
    memcpy(buf + 8, h.p, h.len);
    free(h.p);
    uint8_t *p = buf + 8 + hlen;
    for (size_t i = 0; i < nt; i++) {
        memcpy(p, t[i].data, t[i].count * entry_size(&t[i]));
        p += t[i].count * entry_size(&t[i]);
    }
    *out = buf;
    *size = total;
    return DIGIT_OK;
}
