/* SPDX-License-Identifier: MIT */
/*
 * train_and_predict.c — a tour of the libdigit C API in one short program:
 *
 *   1. load MNIST (IDX files) and take a small slice of it,
 *   2. create a model from a built-in preset,
 *   3. train it for one epoch, watching progress through a callback,
 *   4. save it to a file and load it back,
 *   5. classify a few test images and measure accuracy on more.
 *
 * Usage: train_and_predict [MNIST-DIR]   (or set DIGIT_DATA)
 * Build: cc train_and_predict.c $(pkg-config --cflags --libs digit)
 *
 * Every libdigit call that can fail returns a digit_status; DIGIT_OK is 0
 * and for anything else digit_last_error() says what went wrong.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <digit.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prints the library's message for a failed call and exits. Real programs
 * might recover instead; the point is that no status goes unchecked. */
static void check(digit_status status, const char *what) {
    if (status == DIGIT_OK) return;
    fprintf(stderr, "train_and_predict: %s failed (%s): %s\n", what,
            digit_status_name(status), digit_last_error());
    exit(1);
}

/* Called by digit_train after every mini-batch. Returning non-zero would
 * stop training (digit_train then returns DIGIT_ERR_CANCELLED). */
static int on_batch(const digit_batch_progress *p, void *user) {
    (void)user;
    if (p->batch % 10 == 0 || p->batch == p->batches_per_epoch)
        printf("  epoch %d, batch %3d/%d: loss %.4f\n", p->epoch, p->batch,
               p->batches_per_epoch, p->loss);
    return 0;
}

/* Called after every epoch, with the test figures when a test set is given. */
static int on_epoch(const digit_epoch_progress *p, void *user) {
    (void)user;
    printf("  epoch %d/%d done in %.1f s: train loss %.4f, test accuracy %.2f%%\n",
           p->epoch, p->epochs, p->seconds, p->train_loss, 100 * p->test_accuracy);
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : getenv("DIGIT_DATA");
    if (!dir || !*dir) {
        fprintf(stderr, "usage: train_and_predict MNIST-DIR (or set DIGIT_DATA)\n");
        return 1;
    }
    printf("libdigit %s\n", digit_version());

    /* 1. Data. digit_dataset_load_mnist finds train-images-idx3-ubyte and
     * friends (optionally .gz) in the folder; slices are copies, so the
     * full sets can be freed right away. */
    digit_dataset *train_all, *test_all, *train, *test;
    check(digit_dataset_load_mnist(dir, 1, &train_all), "loading the training set");
    check(digit_dataset_load_mnist(dir, 0, &test_all), "loading the test set");
    check(digit_dataset_slice(train_all, 0, 2000, &train), "slicing the training set");
    check(digit_dataset_slice(test_all, 0, 1000, &test), "slicing the test set");
    digit_dataset_free(train_all);
    digit_dataset_free(test_all);

    /* 2. A model: "basic" (two convolutions, ~420k parameters) with
     * weights initialised from seed 1. */
    digit_model *model;
    check(digit_model_create("basic", 1, &model), "creating the model");
    printf("model %s, %zu parameters\n", digit_model_arch(model),
           digit_model_param_count(model));

    /* 3. Training. Options always start from digit_train_options_init,
     * which fills in the preset's defaults (and the struct's size, so the
     * library can tell versions apart); then change what you need. */
    digit_train_options opt;
    check(digit_train_options_init_default(&opt, "basic"), "initialising options");
    opt.epochs = 1;
    opt.on_batch = on_batch;
    opt.on_epoch = on_epoch;
    printf("training on %zu images:\n", digit_dataset_count(train));
    check(digit_train(model, train, test, &opt, NULL), "training");

    /* 4. Save and load. Files are safetensors that PyTorch can read too;
     * string metadata travels with the weights. Saving is atomic. */
    char folder[] = "/tmp/train_and_predict-XXXXXX", path[64];
    if (!mkdtemp(folder)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    check(digit_model_set_metadata(model, "trained_with", "examples/c"),
          "setting metadata");
    check(digit_model_save(model, path), "saving");
    digit_model *loaded;
    check(digit_model_load(path, &loaded), "loading");
    printf("saved and reloaded %s (metadata trained_with = \"%s\")\n", path,
           digit_model_metadata(loaded, "trained_with"));
    digit_model_free(model);
    unlink(path);
    rmdir(folder);

    /* 5. Inference. Images are 28x28 bytes, white digit on black as in
     * MNIST; the model normalises them itself. `labels` receives the most
     * likely digit, `probs` (optional) ten probabilities per image. */
    const uint8_t *images = digit_dataset_images(test);
    const uint8_t *truth = digit_dataset_labels(test);
    float probs[10 * DIGIT_CLASSES];
    int labels[10];
    check(digit_predict_u8(loaded, images, 10, DIGIT_OUTPUT_PROBABILITIES, probs, labels),
          "predicting");
    printf("first 10 test images:\n");
    for (int i = 0; i < 10; i++)
        printf("  image %d: predicted %d (p = %.3f), true %d%s\n", i, labels[i],
               probs[i * DIGIT_CLASSES + labels[i]], truth[i],
               labels[i] == truth[i] ? "" : "  <- wrong");

    /* digit_evaluate does the same over a whole data set and adds the loss
     * and a confusion matrix. */
    digit_evaluation ev;
    digit_evaluation_init(&ev);
    check(digit_evaluate(loaded, test, &ev), "evaluating");
    printf("accuracy on %zu test images: %.2f%% (mean loss %.4f)\n", ev.count,
           100 * ev.accuracy, ev.loss);

    digit_model_free(loaded);
    digit_dataset_free(train);
    digit_dataset_free(test);
    return 0;
}
