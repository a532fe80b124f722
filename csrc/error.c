/* SPDX-License-Identifier: MIT */
/*
 * error.c — the per-thread error message behind digit_last_error(), and the
 * version queries.
 */
#include "internal.h"

#include <stdio.h>

/* Thread-local so that concurrent callers (e.g. inference on several
 * threads) each see their own failure. */
static _Thread_local char last_error[512];

digit_status digit_fail(digit_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

digit_status digit_null(const char *call, const char *name) {
    return digit_fail(DIGIT_ERR_ARGUMENT, "%s: %s is NULL", call, name);
}

void digit_clear_error(void) { last_error[0] = '\0'; }

DIGIT_API const char *digit_last_error(void) { return last_error; }

DIGIT_API const char *digit_version(void) { return DIGIT_VERSION_STRING; }

DIGIT_API int digit_version_number(void) { return DIGIT_VERSION_NUMBER; }

DIGIT_API const char *digit_status_name(digit_status status) {
    switch (status) {
    case DIGIT_OK: return "ok";
    case DIGIT_ERR_ARGUMENT: return "invalid argument";
    case DIGIT_ERR_IO: return "I/O error";
    case DIGIT_ERR_FORMAT: return "format error";
    case DIGIT_ERR_MEMORY: return "out of memory";
    case DIGIT_ERR_CANCELLED: return "cancelled";
    case DIGIT_ERR_IMAGE: return "unusable image";
    case DIGIT_ERR_BUSY: return "handle busy";
    }
    return "unknown status";
}
