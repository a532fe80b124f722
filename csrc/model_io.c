/* SPDX-License-Identifier: MIT */
/*
 * model_io.c — models to and from safetensors files, under PyTorch's
 * state_dict names and layouts, so files move freely between libdigit and
 * PyTorch in both directions.
 */
#include "model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A model file holds ~0.5M floats; 1 GiB is far past any real one and
 * keeps a hostile size from reaching malloc. */
#define MODEL_FILE_LIMIT ((size_t)1 << 30)

digit_status model_serialize(const digit_model *m, const st_entry *extra,
                             size_t nextra, const char *const *xkeys,
                             const char *const *xvalues, size_t nxmeta,
                             uint8_t **out, size_t *size) {
    const net_plan *p = &m->plan;
    size_t nt = (size_t)p->ntensors + (size_t)p->nbuffer_tensors + nextra;
    size_t nmeta = 4 + m->nmeta + nxmeta;
    st_entry *t = calloc(nt, sizeof *t);
    const char **keys = calloc(nmeta, sizeof *keys);
    const char **values = calloc(nmeta, sizeof *values);
    digit_status st = DIGIT_OK;
    if (!t || !keys || !values) {
        st = digit_fail(DIGIT_ERR_MEMORY, "cannot allocate model header");
        goto done;
    }
    for (int i = 0; i < p->ntensors; i++) {
        const tensor_plan *tp = &p->tensor[i];
        t[i] = (st_entry){tp->name, tp->rank, tp->shape, m->params + tp->offset,
                          tp->count, 0};
    }
    for (int i = 0; i < p->nbuffer_tensors; i++) {
        const tensor_plan *tp = &p->buffer[i];
        t[p->ntensors + i] = tp->is_count
            ? (st_entry){tp->name, 0, tp->shape, m->counts + tp->offset, 1, 1}
            : (st_entry){tp->name, tp->rank, tp->shape, m->buffers + tp->offset, tp->count, 0};
    }
    if (nextra) memcpy(t + p->ntensors + p->nbuffer_tensors, extra, sizeof *t * nextra);
    char mean[32], std[32];
    snprintf(mean, sizeof mean, "%.9g", (double)m->mean);
    snprintf(std, sizeof std, "%.9g", (double)m->std);
    /* "format": "pt" is what safetensors.torch writes and expects. */
    size_t k = 0;
    keys[k] = "format", values[k++] = "pt";
    keys[k] = "arch", values[k++] = p->arch->name;
    keys[k] = "mean", values[k++] = mean;
    keys[k] = "std", values[k++] = std;
    for (size_t i = 0; i < m->nmeta; i++)
        keys[k] = m->meta_key[i], values[k++] = m->meta_value[i];
    for (size_t i = 0; i < nxmeta; i++) keys[k] = xkeys[i], values[k++] = xvalues[i];
    st = st_serialize(t, nt, keys, values, k, out, size);
done:
    free(t);
    free(keys);
    free(values);
    return st;
}

DIGIT_API digit_status digit_model_save(const digit_model *m, const char *path) {
    digit_clear_error();
    if (!m) return digit_null("digit_model_save", "model");
    if (!path) return digit_null("digit_model_save", "path");
    uint8_t *buf;
    size_t size;
    digit_status st = model_serialize(m, NULL, 0, NULL, NULL, 0, &buf, &size);
    if (st != DIGIT_OK) return st;
    st = digit_write_file_atomic(path, buf, size);
    free(buf);
    return st;
}

/* Whether the file's tensor `tp` is missing or of another shape (1, reason
 * in why). */
static int tensor_mismatch(const tensor_plan *tp, const st_file *f, char *why, size_t cap) {
    const st_tensor *t = st_find(f, tp->name);
    if (!t) return snprintf(why, cap, "tensor '%s' is missing", tp->name), 1;
    int same = t->rank == tp->rank;
    for (int d = 0; same && d < t->rank; d++) same = t->shape[d] == (uint64_t)tp->shape[d];
    if (same) return 0;
    char got[96] = "", want[96] = "";
    for (int d = 0; d < t->rank; d++)
        snprintf(got + strlen(got), sizeof got - strlen(got), d ? ",%llu" : "%llu",
                 (unsigned long long)t->shape[d]);
    for (int d = 0; d < tp->rank; d++)
        snprintf(want + strlen(want), sizeof want - strlen(want), d ? ",%d" : "%d",
                 tp->shape[d]);
    return snprintf(why, cap, "tensor '%s' has shape [%s], expected [%s]", tp->name, got,
                    want), 1;
}

/* Whether `arch` does not fit the file (1, reason in why) or does (0);
 * *matched counts its tensors found in order before the first that does
 * not fit. Tensors named "optimizer.*" (checkpoint state) are left to the
 * caller. */
static int arch_mismatch(const arch_spec *arch, const st_file *f, char *why,
                         size_t cap, int *matched) {
    net_plan p;
    *matched = 0;
    if (!net_plan_build(&p, arch)) return snprintf(why, cap, "bad table"), 1;
    for (int i = 0; i < p.ntensors; i++, ++*matched)
        if (tensor_mismatch(&p.tensor[i], f, why, cap)) return 1;
    for (int i = 0; i < p.nbuffer_tensors; i++, ++*matched)
        if (tensor_mismatch(&p.buffer[i], f, why, cap)) return 1;
    for (size_t i = 0; i < f->ntensors; i++) {
        const char *n = f->tensors[i].name;
        int known = strncmp(n, "optimizer.", 10) == 0;
        for (int k = 0; !known && k < p.ntensors; k++)
            known = strcmp(p.tensor[k].name, n) == 0;
        for (int k = 0; !known && k < p.nbuffer_tensors; k++)
            known = strcmp(p.buffer[k].name, n) == 0;
        if (!known) return snprintf(why, cap, "unexpected tensor '%s'", n), 1;
    }
    return 0;
}

/* A batch-norm buffer from the file: running statistics F32 (a variance
 * must be >= 0 and every value finite, or folding it would make NaNs),
 * num_batches_tracked I64 >= 0, as PyTorch saves them. */
static digit_status load_buffer_tensor(const char *name, const st_file *f,
                                       const tensor_plan *tp, digit_model *m) {
    const st_tensor *t = st_find(f, tp->name);
    const char *want = tp->is_count ? "I64" : "F32";
    if (strcmp(t->dtype, want) != 0)
        return digit_fail(DIGIT_ERR_FORMAT, "%s: tensor '%s' is %s; expected %s", name,
                          tp->name, t->dtype, want);
    if (tp->is_count) {
        memcpy(m->counts + tp->offset, f->data + t->begin, sizeof(int64_t));
        if (m->counts[tp->offset] < 0)
            return digit_fail(DIGIT_ERR_FORMAT, "%s: tensor '%s' is negative", name, tp->name);
        return DIGIT_OK;
    }
    float *dst = m->buffers + tp->offset;
    memcpy(dst, f->data + t->begin, t->end - t->begin);
    int is_var = strstr(tp->name, ".running_var") != NULL;
    for (size_t k = 0; k < tp->count; k++)
        if (!isfinite(dst[k]) || (is_var && dst[k] < 0))
            return digit_fail(DIGIT_ERR_FORMAT, "%s: tensor '%s' holds %s value at %zu", name,
                              tp->name, isfinite(dst[k]) ? "a negative" : "a non-finite", k);
    return DIGIT_OK;
}

/* Which architecture the file holds: its metadata says, or the tensor names
 * and shapes (files saved from PyTorch carry no architecture). */
static digit_status pick_arch(const char *name, const st_file *f,
                              const arch_spec **out) {
    char why[192];
    int matched;
    const char *declared = st_meta(f, "arch");
    if (declared) {
        const arch_spec *a = arch_find(declared);
        if (!a)
            return digit_fail(DIGIT_ERR_FORMAT, "%s: unknown architecture '%s'",
                              name, declared);
        if (arch_mismatch(a, f, why, sizeof why, &matched))
            return digit_fail(DIGIT_ERR_FORMAT, "%s: not a valid '%s' model: %s",
                              name, declared, why);
        *out = a;
        return DIGIT_OK;
    }
    /* No metadata: the architecture whose tensors fit; failing that, the
     * reason of the one that fits furthest (a PyTorch file with one buffer
     * missing is named by that buffer). */
    char closest[192] = "";
    const char *closest_arch = "";
    int best = -1;
    for (size_t i = 0; arch_at(i); i++) {
        if (!arch_mismatch(arch_at(i), f, why, sizeof why, &matched)) {
            *out = arch_at(i);
            return DIGIT_OK;
        }
        if (matched > best) {
            best = matched, closest_arch = arch_at(i)->name;
            snprintf(closest, sizeof closest, "%s", why);
        }
    }
    return digit_fail(DIGIT_ERR_FORMAT,
                      "%s: tensors match no known architecture (closest, %s: %s)",
                      name, closest_arch, closest);
}

static int parse_float(const char *s, float *out) {
    char *end;
    double v = strtod(s, &end);
    /* The value is kept as a float: a finite double that rounds past
     * FLT_MAX (e.g. "1e39") would become inf, which the model then saves as
     * "inf" and can no longer load (found by fuzz/fuzz_model.c's save/reload
     * check). 0x1.ffffffp127, half an ulp above FLT_MAX, is the first
     * double that rounds to inf; "3.40282347e+38" (FLT_MAX as saved) stays. */
    if (end == s || *end || !isfinite(v) || fabs(v) >= 0x1.ffffffp127) return 0;
    *out = (float)v;
    return 1;
}

digit_status model_from_st(const char *name, const st_file *f,
                           digit_model **out) {
    const arch_spec *arch;
    digit_status st = pick_arch(name, f, &arch);
    if (st != DIGIT_OK) return st;
    digit_model *m;
    if ((st = model_new(arch, &m)) != DIGIT_OK) return st;
    for (int i = 0; i < m->plan.ntensors && st == DIGIT_OK; i++) {
        const tensor_plan *tp = &m->plan.tensor[i];
        const st_tensor *t = st_find(f, tp->name);
        if (strcmp(t->dtype, "F32") != 0)
            st = digit_fail(DIGIT_ERR_FORMAT,
                            "%s: tensor '%s' is %s; libdigit reads F32 only",
                            name, tp->name, t->dtype);
        else
            memcpy(m->params + tp->offset, f->data + t->begin, t->end - t->begin);
    }
    for (int i = 0; i < m->plan.nbuffer_tensors && st == DIGIT_OK; i++)
        st = load_buffer_tensor(name, f, &m->plan.buffer[i], m);
    const char *mean = st_meta(f, "mean"), *sd = st_meta(f, "std");
    if (st == DIGIT_OK && mean && !parse_float(mean, &m->mean))
        st = digit_fail(DIGIT_ERR_FORMAT, "%s: metadata mean '%s' is not a finite float32 number",
                        name, mean);
    if (st == DIGIT_OK && sd && (!parse_float(sd, &m->std) || !(m->std > 0)))
        st = digit_fail(DIGIT_ERR_FORMAT,
                        "%s: metadata std '%s' is not a positive finite float32 number", name,
                        sd);
    /* User metadata comes along; reserved and checkpoint keys do not. */
    for (size_t i = 0; i < f->nmeta && st == DIGIT_OK; i++) {
        const char *k = f->meta_key[i];
        if (!strcmp(k, "format") || !strcmp(k, "arch") || !strcmp(k, "mean") ||
            !strcmp(k, "std") || !strncmp(k, "checkpoint.", 11))
            continue;
        if (m->nmeta == DIGIT_MAX_METADATA)
            st = digit_fail(DIGIT_ERR_FORMAT, "%s: more than %d metadata entries",
                            name, DIGIT_MAX_METADATA);
        else
            st = model_put_metadata(m, k, f->meta_value[i]);
    }
    if (st != DIGIT_OK) {
        digit_model_free(m);
        return st;
    }
    *out = m;
    return DIGIT_OK;
}

static digit_status load_buffer(const char *name, const void *data, size_t size,
                                digit_model **out) {
    st_file f;
    digit_status st = st_parse(name, data, size, &f);
    if (st != DIGIT_OK) return st;
    st = model_from_st(name, &f, out);
    st_free(&f);
    return st;
}

DIGIT_API digit_status digit_model_load(const char *path, digit_model **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_model_load", "out");
    *out = NULL;
    if (!path) return digit_null("digit_model_load", "path");
    uint8_t *buf;
    size_t size;
    digit_status st = digit_read_file(path, MODEL_FILE_LIMIT, 0, &buf, &size);
    if (st != DIGIT_OK) return st;
    st = load_buffer(path, buf, size, out);
    free(buf);
    return st;
}

DIGIT_API digit_status digit_model_load_memory(const void *data, size_t size,
                                               digit_model **out) {
    digit_clear_error();
    if (!out) return digit_null("digit_model_load_memory", "out");
    *out = NULL;
    if (!data) return digit_null("digit_model_load_memory", "data");
    return load_buffer("<memory>", data, size, out);
}
