/* SPDX-License-Identifier: MIT */
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
            {LAYER_CONV, "conv1", 32, 3, 1, 1, 0, 0},
            {LAYER_RELU, "relu1", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool1", 0, 2, 0, 2, 0, 0},
            {LAYER_CONV, "conv2", 64, 3, 1, 1, 0, 0},
            {LAYER_RELU, "relu2", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool2", 0, 2, 0, 2, 0, 0},
            {LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc1", 128, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu3", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc2", 10, 0, 0, 0, 0, 0},
            {LAYER_LOG_SOFTMAX, "log_softmax", 0, 0, 0, 0, 0, 0},
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
            {LAYER_CONV, "conv1", 16, 5, 0, 1, 0, 0},
            {LAYER_RELU, "relu1", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool1", 0, 2, 0, 2, 0, 0},
            {LAYER_CONV, "conv2", 32, 3, 0, 1, 0, 0},
            {LAYER_RELU, "relu2", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool2", 0, 2, 0, 2, 0, 0},
            {LAYER_CONV, "conv3", 16, 1, 0, 1, 0, 0},
            {LAYER_RELU, "relu3", 0, 0, 0, 0, 0, 0},
            {LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc1", 64, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu4", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc2", 10, 0, 0, 0, 0, 0},
            /* Its source applies log-softmax inside the cross-entropy loss. */
            {LAYER_LOG_SOFTMAX, "log_softmax", 0, 0, 0, 0, 0, 0},
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
    {
        /* The most accurate preset: three conv blocks with batch norm (no
         * conv bias: the batch norm's shift replaces it), a batch-normed
         * hidden layer with dropout, trained with augmentation and a
         * one-cycle schedule. ~5.4M multiply-adds per image, about 1.3x
         * basic, so that a full run fits in ~10 minutes on two cores. */
        .name = "strong",
        .nlayers = 19,
        .layers = {
            {LAYER_CONV, "conv1", 32, 5, 2, 1, 1, 0},
            {LAYER_BATCHNORM, "bn1", 0, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu1", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool1", 0, 2, 0, 2, 0, 0},
            {LAYER_CONV, "conv2", 48, 3, 1, 1, 1, 0},
            {LAYER_BATCHNORM, "bn2", 0, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu2", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool2", 0, 2, 0, 2, 0, 0},
            {LAYER_CONV, "conv3", 96, 3, 1, 1, 1, 0},
            {LAYER_BATCHNORM, "bn3", 0, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu3", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool3", 0, 2, 0, 2, 0, 0},
            {LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc1", 128, 0, 0, 0, 1, 0},
            {LAYER_BATCHNORM, "bn4", 0, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu4", 0, 0, 0, 0, 0, 0},
            {LAYER_DROPOUT, "dropout", 0, 0, 0, 0, 0, 0.3f},
            {LAYER_LINEAR, "fc2", 10, 0, 0, 0, 0, 0},
            {LAYER_LOG_SOFTMAX, "log_softmax", 0, 0, 0, 0, 0, 0},
        },
        .mean = 0.1307f,
        .std = 0.3081f,
        /* 6 epochs gave 99.56% on the validation split (seed 1); the run
         * was doubled to 12 to use the 10-minute budget (about 6 minutes
         * on 2 cores), with every other setting as it was. */
        .epochs = 12,
        .batch_size = 128,
        .learning_rate = 0.004,
        .gamma = 1.0,
        .schedule = DIGIT_SCHEDULE_ONECYCLE,
        .pct_start = 0.25,
        /* On the validation split (the last 5,000 training images, seed 1):
         * 99.50% without, 99.56% with label smoothing 0.1. */
        .label_smoothing = 0.1,
        .augment_rotate = 10,
        .augment_scale = 0.1,
        .augment_shift = 0.08,
    },
    {
        /* The known fastest recipe to 99%: conv 5x5 24 -> pool -> conv 3x3
         * 32 -> pool -> 800 -> 256 -> 10 with ReLU, Adam lr 0.01 and betas
         * (0.7, 0.9) under a one-cycle schedule, batch 256, one epoch. */
        .name = "speedrun",
        .nlayers = 11,
        .layers = {
            {LAYER_CONV, "conv1", 24, 5, 0, 1, 0, 0},
            {LAYER_RELU, "relu1", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool1", 0, 2, 0, 2, 0, 0},
            {LAYER_CONV, "conv2", 32, 3, 0, 1, 0, 0},
            {LAYER_RELU, "relu2", 0, 0, 0, 0, 0, 0},
            {LAYER_MAXPOOL, "pool2", 0, 2, 0, 2, 0, 0},
            {LAYER_FLATTEN, "flatten", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc1", 256, 0, 0, 0, 0, 0},
            {LAYER_RELU, "relu3", 0, 0, 0, 0, 0, 0},
            {LAYER_LINEAR, "fc2", 10, 0, 0, 0, 0, 0},
            {LAYER_LOG_SOFTMAX, "log_softmax", 0, 0, 0, 0, 0, 0},
        },
        .mean = 0.1307f,
        .std = 0.3081f,
        .epochs = 1,
        .batch_size = 256,
        .learning_rate = 0.01,
        .gamma = 1.0,
        .schedule = DIGIT_SCHEDULE_ONECYCLE,
        .beta1 = 0.7,
        .beta2 = 0.9,
        /* Chosen on the validation split (the last 5,000 training images,
         * seeds 1-5): 99.06% mean as published, 99.25% with label smoothing
         * 0.1 (0.2: 99.22%; lr 0.015: 99.04%; pct_start 0.2: 99.11%). */
        .label_smoothing = 0.1,
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

/* A literal rather than a string built on first use, which would race
 * between threads; test_presets.c checks it against the table. */
const char *arch_names(void) { return "basic, compact, strong, speedrun"; }
