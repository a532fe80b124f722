/* SPDX-License-Identifier: MIT */
/* Classifies one PNG with a model file; prints the digit and its
 * probability. The smallest complete use of libdigit: load, preprocess,
 * predict, free.
 *
 *   classify_digit MODEL.safetensors DIGIT.png
 */
#include <stdio.h>

#include <digit.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.safetensors DIGIT.png\n", argv[0]);
        return 1;
    }
    digit_model *model;
    if (digit_model_load(argv[1], &model) != DIGIT_OK) {
        fprintf(stderr, "classify_digit: %s\n", digit_last_error());
        return 2;
    }
    uint8_t pixels[DIGIT_IMAGE_PIXELS];
    float probs[DIGIT_CLASSES];
    int digit;
    int status = 2;
    if (digit_image_load(argv[2], pixels, NULL) != DIGIT_OK ||
        digit_predict_u8(model, pixels, 1, DIGIT_OUTPUT_PROBABILITIES, probs, &digit) != DIGIT_OK) {
        fprintf(stderr, "classify_digit: %s\n", digit_last_error());
    } else {
        printf("%s: %d (%.1f%%, libdigit %s)\n", argv[2], digit, 100.0 * probs[digit], digit_version());
        status = 0;
    }
    digit_model_free(model);
    return status;
}
