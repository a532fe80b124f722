/* SPDX-License-Identifier: MIT */
/*
 * handles.c — the bookkeeping that keeps handles alive while a training run
 * uses them, and the struct_size check shared by every sized structure.
 *
 * A training callback runs inside digit_train and may free the model or a
 * dataset the run still needs. Rather than crash, such frees are deferred:
 * the handle is marked and released when the run lets go of it. The lock
 * below orders those rare events; nothing on a hot path takes it.
 */
#include "internal.h"

#include <pthread.h>

static pthread_mutex_t handles_mutex = PTHREAD_MUTEX_INITIALIZER;

void digit_handles_lock(void) { pthread_mutex_lock(&handles_mutex); }
void digit_handles_unlock(void) { pthread_mutex_unlock(&handles_mutex); }

digit_status digit_check_size(const char *what, size_t given, size_t min,
                              size_t max) {
    if (given >= min && given <= max) return DIGIT_OK;
    if (min == max)
        return digit_fail(DIGIT_ERR_ARGUMENT,
                          "%s: struct_size %zu is not a size this library knows "
                          "(expected %zu; fill it with the matching _init call)",
                          what, given, min);
    return digit_fail(DIGIT_ERR_ARGUMENT,
                      "%s: struct_size %zu is not a size this library knows "
                      "(expected %zu..%zu; fill it with the matching _init call)",
                      what, given, min, max);
}
