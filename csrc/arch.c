/*
 * arch.c — the built-in architectures. A new architecture is one more
 * table entry here; net.c derives every shape and offset from it.
 */
#include "internal.h"

#include <string.h>

#include "net.h"

static const arch_spec ARCHS[] = {
    {
        .name = "basic",
        .nlayers = 11,
        .layers = {
            {LAYER_CONV, "conv1", 32, 3, 1, 1},
            {LAYER_RELU, "relu1", 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool1", 0, 2, 0, 2},
            {LAYER_CONV, "conv2", 64, 3, 1, 1},
            {LAYER_RELU, "relu2", 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool2", 0, 2, 0, 2},
            {LAYER_FLATTEN, "flatten", 0, 0, 0, 0},
            {LAYER_LINEAR, "fc1", 128, 0, 0, 0},
            {LAYER_RELU, "relu3", 0, 0, 0, 0},
            {LAYER_LINEAR, "fc2", 10, 0, 0, 0},
            {LAYER_LOG_SOFTMAX, "log_softmax", 0, 0, 0, 0},
        },
        .mean = 0.1307f,
        .std = 0.3081f,
        .epochs = 10,
        .batch_size = 64,
        .learning_rate = 0.001,
        .gamma = 1.0,
        .nmilestones = 0,
    },
    {
        .name = "compact",
        .nlayers = 13,
        .layers = {
            {LAYER_CONV, "conv1", 16, 5, 0, 1},
            {LAYER_RELU, "relu1", 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool1", 0, 2, 0, 2},
            {LAYER_CONV, "conv2", 32, 3, 0, 1},
            {LAYER_RELU, "relu2", 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool2", 0, 2, 0, 2},
            {LAYER_CONV, "conv3", 16, 1, 0, 1},
            {LAYER_RELU, "relu3", 0, 0, 0, 0},
            {LAYER_FLATTEN, "flatten", 0, 0, 0, 0},
            {LAYER_LINEAR, "fc1", 64, 0, 0, 0},
            {LAYER_RELU, "relu4", 0, 0, 0, 0},
            {LAYER_LINEAR, "fc2", 10, 0, 0, 0},
            /* Its source applies log-softmax inside the cross-entropy loss. */
            {LAYER_LOG_SOFTMAX, "log_softmax", 0, 0, 0, 0},
        },
        .mean = 0.0f,
        .std = 1.0f,
        .epochs = 10,
        .batch_size = 64,
        .learning_rate = 0.001,
        .gamma = 0.01,
        .milestones = {5, 8},
        .nmilestones = 2,
    },
};

#define NARCHS (sizeof ARCHS / sizeof ARCHS[0])

const arch_spec *arch_at(size_t index) {
    return index < NARCHS ? &ARCHS[index] : NULL;
}

const arch_spec *arch_find(const char *name) {
    for (size_t i = 0; name && i < NARCHS; i++)
        if (strcmp(ARCHS[i].name, name) == 0) return &ARCHS[i];
    return NULL;
}

DIGIT_API const char *digit_preset_name(size_t index) {
    return index < NARCHS ? ARCHS[index].name : NULL;
}
