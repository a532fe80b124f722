/* SPDX-License-Identifier: MIT */
/*
 * augment.h — on-the-fly augmentation of training images (augment.c).
 */
#ifndef DIGIT_AUGMENT_H
#define DIGIT_AUGMENT_H

#include "internal.h"

/* Whether any augment_* option is on. */
int augment_enabled(const digit_train_options *o);
/* DIGIT_OK, or DIGIT_ERR_ARGUMENT naming the augment_* field out of range. */
digit_status augment_check(const digit_train_options *o);
/* Dataset image `index` as 0-based epoch `epoch` of the run shows it. */
void augment_image(const digit_train_options *o, int epoch, size_t index, const uint8_t *src,
                   uint8_t *dst);

#endif
