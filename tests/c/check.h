/* SPDX-License-Identifier: MIT */
/*
 * check.h — the few macros the C tests share: CHECK counts a passed or
 * failed assertion and reports failures with their line and the library's
 * last error message; test_summary() prints "N passed, N failed" and gives
 * the exit code.
 */
#ifndef DIGIT_TEST_CHECK_H
#define DIGIT_TEST_CHECK_H

#include <stdio.h>

#include "digit.h"

static int checks_passed, checks_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            checks_passed++;                                               \
        } else {                                                           \
            checks_failed++;                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "   [last error: %s]\n", digit_last_error());   \
        }                                                                  \
    } while (0)

/* A call that must succeed; CHECK adds the library's message. */
#define CHECK_OK(call)                                                     \
    do {                                                                   \
        digit_status st_ = (call);                                         \
        CHECK(st_ == DIGIT_OK, "%s failed", #call);                        \
    } while (0)

static inline int test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed ? 1 : 0;
}

#endif
