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

void digit_clear_error(void) { last_error[0] = '\0'; }

DIGIT_API const char *digit_last_error(void) { return last_error; }

/* Spelled from the header's macros so a version bump there is the only one. */
#define DIGIT_STR_(x) #x
#define DIGIT_STR(x) DIGIT_STR_(x)
DIGIT_API const char *digit_version(void) {
    return DIGIT_STR(DIGIT_VERSION_MAJOR) "." DIGIT_STR(DIGIT_VERSION_MINOR) "." DIGIT_STR(DIGIT_VERSION_PATCH);
}

DIGIT_API int digit_abi_version(void) { return DIGIT_ABI_VERSION; }

DIGIT_API const char *digit_status_name(digit_status status) {
    switch (status) {
    case DIGIT_OK: return "ok";
    case DIGIT_ERR_ARGUMENT: return "invalid argument";
    case DIGIT_ERR_IO: return "I/O error";
    case DIGIT_ERR_FORMAT: return "format error";
    case DIGIT_ERR_MEMORY: return "out of memory";
    case DIGIT_ERR_CANCELLED: return "cancelled";
    case DIGIT_ERR_IMAGE: return "unusable image";
    }
    return "unknown status";
}
