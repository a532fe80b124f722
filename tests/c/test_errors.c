/* SPDX-License-Identifier: MIT */
/*
 * test_errors.c — csrc/error.c: the version queries, status names and the
 * per-thread last error message.
 */
#define _GNU_SOURCE 1

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

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
    for (int s = DIGIT_OK; s <= DIGIT_ERR_BUSY; s++) {
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
    CHECK_ERR(digit_model_create(NULL, 1, &m), DIGIT_ERR_ARGUMENT, "preset is NULL");
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

int main(void) {
    test_version_and_errors();
    test_error_is_per_thread();
    return test_summary("test_errors");
}
