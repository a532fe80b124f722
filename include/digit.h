/* SPDX-License-Identifier: MIT */
/*
 * digit.h — the public C API of libdigit 2: convolutional networks that
 * recognise handwritten digits (MNIST-style 28x28 grayscale images).
 *
 * Conventions, for every function below:
 *   - Status. Every call that can fail returns a digit_status. DIGIT_OK is
 *     0; on any other value digit_last_error() returns a message for the
 *     calling thread that names the thing (file, argument) and the problem.
 *     The library never prints, aborts or exits.
 *   - NULL. A NULL handle or pointer argument that the function needs is
 *     refused with DIGIT_ERR_ARGUMENT and a message naming the argument,
 *     unless its comment says "may be NULL". Accessors that return a value
 *     rather than a status return 0 / NULL for a NULL handle.
 *   - Ownership. Handles (digit_model, digit_dataset) are opaque. The caller
 *     owns what a *_create / *_load / *_clone call hands out through an out
 *     parameter and releases it with the matching *_free (NULL is allowed).
 *     On failure the out parameter is set to NULL. Pointers returned by
 *     accessors (names, metadata, pixel arrays) are owned by the handle and
 *     stay valid until it is freed or the part they describe is modified.
 *   - Images are row-major 28x28 (784 values each); batches are stored image
 *     after image. uint8 pixels are 0..255 with ink bright (MNIST polarity);
 *     float pixels are the same scaled to 0..1. The model applies its own
 *     normalisation; callers never do.
 *   - Threads. Any number of threads may call functions that take a const
 *     handle at the same time (e.g. digit_predict_* on one model). A call
 *     that modifies a handle (training, metadata, mutable weights) needs
 *     exclusive access to it. Error messages are per thread.
 *   - Sized structures. Every structure that crosses the API, in either
 *     direction, begins with `size_t struct_size`. For structures the caller
 *     passes in or lets the library fill, set it with the matching *_init
 *     (static inline below, so it records the size the caller was compiled
 *     with). The library refuses a struct_size smaller than the first
 *     released layout of that structure or larger than the layout it was
 *     built with (DIGIT_ERR_ARGUMENT, naming the argument), and writes no
 *     more than struct_size bytes. Structures the library hands to
 *     callbacks carry the library's own size: read a field only if
 *     struct_size covers it. New fields are only ever appended.
 *
 * ABI: libdigit follows semantic versioning from 2.0.0 on. The shared
 * library's soname is libdigit.so.<DIGIT_VERSION_MAJOR>; the minor version
 * moves with every addition, the major version (and soname) with every
 * incompatible change.
 */
#ifndef DIGIT_H
#define DIGIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DIGIT_BUILD) && defined(__GNUC__)
#define DIGIT_API __attribute__((visibility("default")))
#else
#define DIGIT_API
#endif

/* ---- versions ------------------------------------------------------------ */

/* The one place the version is written: the Makefile, digit.pc, the Python
 * package, the Swift module and `digitc --version` all read it from here
 * (or from digit_version() at run time). */
#define DIGIT_VERSION_MAJOR 2
#define DIGIT_VERSION_MINOR 2
#define DIGIT_VERSION_PATCH 0

#define DIGIT_STRINGIFY_(x) #x
#define DIGIT_STRINGIFY(x) DIGIT_STRINGIFY_(x)
/* "2.2.0" */
#define DIGIT_VERSION_STRING                                                 \
    DIGIT_STRINGIFY(DIGIT_VERSION_MAJOR) "." DIGIT_STRINGIFY(                \
        DIGIT_VERSION_MINOR) "." DIGIT_STRINGIFY(DIGIT_VERSION_PATCH)
/* 20200 for 2.2.0: comparable with < and >. */
#define DIGIT_VERSION_NUMBER                                                 \
    (DIGIT_VERSION_MAJOR * 10000 + DIGIT_VERSION_MINOR * 100 +               \
     DIGIT_VERSION_PATCH)

/* The version of the library actually loaded, e.g. "2.0.0". Static storage.
 * Compare with DIGIT_VERSION_STRING to detect a header/library mismatch. */
DIGIT_API const char *digit_version(void);
/* DIGIT_VERSION_NUMBER of the library actually loaded. */
DIGIT_API int digit_version_number(void);

/* ---- limits -------------------------------------------------------------- */

/* The one place each limit is written; the library checks them and the
 * front ends read them from here. */
#define DIGIT_IMAGE_SIDE 28
#define DIGIT_IMAGE_PIXELS 784
#define DIGIT_CLASSES 10
#define DIGIT_MAX_EPOCHS 100000      /* digit_train_options.epochs: 1.. */
#define DIGIT_MAX_BATCH_SIZE 65536   /* digit_train_options.batch_size: 1.. */
#define DIGIT_MAX_MILESTONES 16      /* entries of digit_train_options.milestones */
#define DIGIT_MAX_THREADS 1024       /* threads: 0 (one per core) .. */
#define DIGIT_MAX_METADATA 64        /* user metadata keys per model (reserved ones not counted) */
#define DIGIT_MAX_ARCH_NAME 32       /* bytes of an architecture name, NUL included */
#define DIGIT_MAX_FOLDER_IMAGES 1000000 /* pictures digit_dataset_load_folder reads */

/* ---- errors -------------------------------------------------------------- */

typedef enum digit_status {
    DIGIT_OK = 0,
    DIGIT_ERR_ARGUMENT = 1,  /* a NULL pointer, a bad size, option or index */
    DIGIT_ERR_IO = 2,        /* a file could not be opened, read or written  */
    DIGIT_ERR_FORMAT = 3,    /* a file's contents are malformed or unsupported */
    DIGIT_ERR_MEMORY = 4,    /* an allocation failed or a size is too large  */
    DIGIT_ERR_CANCELLED = 5, /* a callback asked to stop                      */
    DIGIT_ERR_IMAGE = 6,     /* an image holds no usable digit (e.g. no ink) */
    DIGIT_ERR_BUSY = 7       /* the handle is being trained: a training
                                callback may not modify or train it       */
} digit_status;

/* The message of the calling thread's last failed call ("" if none).
 * Valid until the next libdigit call on the same thread. Never NULL. */
DIGIT_API const char *digit_last_error(void);
/* A short fixed name for a status, e.g. "format error"; "unknown status"
 * for a value outside the enum. Static storage. */
DIGIT_API const char *digit_status_name(digit_status status);

/* ---- threads ------------------------------------------------------------- */

/* Threads that inference and evaluation split a batch between (0, the
 * default: one per online core; values are clamped to 0..DIGIT_MAX_THREADS,
 * and one batch is split between at most 64 of them).
 * Process-wide; takes effect for calls that start after it. Training takes
 * its count from its options. libdigit runs its own threads and keeps
 * OpenBLAS at one thread per call, setting openblas_set_num_threads(1) the
 * first time it computes. */
DIGIT_API void digit_set_threads(int threads);
/* The effective count (the default resolved to the number of cores). */
DIGIT_API int digit_threads(void);

/* ---- models -------------------------------------------------------------- */

typedef struct digit_model digit_model;

/* Names of the built-in architectures, index 0 up: "basic", "compact",
 * and from 2.1 "strong" (batch norm, dropout, augmentation, one-cycle
 * schedule: the most accurate) and "speedrun" (a small network trained for
 * one epoch: 99% in seconds). Returns NULL past the end. Static storage. */
DIGIT_API const char *digit_preset_name(size_t index);
/* The model the front ends load when none is named: "strong" since 2.2 (it
 * reads MNIST, other writers' digits and photo-like pictures better than
 * "basic", whose file, digit-basic.safetensors, still ships in models/). */
#define DIGIT_DEFAULT_MODEL_FILE "digit-strong.safetensors"
DIGIT_API const char *digit_default_model_file(void); /* DIGIT_DEFAULT_MODEL_FILE; static storage */

/* A new model of preset `preset` with weights initialised as PyTorch does
 * (Kaiming-uniform) from `seed`. *out receives the model; free it with
 * digit_model_free.
 * Returns DIGIT_ERR_ARGUMENT (NULL out, unknown preset: the message lists
 * the known ones) or DIGIT_ERR_MEMORY. */
DIGIT_API digit_status digit_model_create(const char *preset, uint64_t seed,
                                          digit_model **out);
/* Frees the model (NULL: nothing). Called from a training callback on the
 * model being trained, it stops the training after the current batch and
 * the model is freed when digit_train returns (which then returns
 * DIGIT_ERR_BUSY). */
DIGIT_API void digit_model_free(digit_model *model);

/* An independent deep copy (weights and metadata).
 * Returns DIGIT_ERR_ARGUMENT (NULL model or out) or DIGIT_ERR_MEMORY. */
DIGIT_API digit_status digit_model_clone(const digit_model *model,
                                         digit_model **out);

/* The preset name, e.g. "basic". NULL for a NULL model. */
DIGIT_API const char *digit_model_arch(const digit_model *model);
/* Number of trainable parameters (basic: 421642, compact: 31898). */
DIGIT_API size_t digit_model_param_count(const digit_model *model);

/* The input normalisation the model applies: (pixel/255 - mean) / std.
 * Either out pointer may be NULL. A NULL model gives mean 0, std 1. */
DIGIT_API void digit_model_normalization(const digit_model *model, float *mean,
                                         float *std);

/* One row of the layer table: "conv1" "conv2d 1->32 k3 p1" [32,28,28] 320. */
typedef struct digit_layer_info {
    size_t struct_size;      /* set by digit_layer_info_init */
    const char *name;        /* "conv1", "relu1", "pool1", "fc1", ... */
    const char *description; /* human-readable parameters of the layer */
    int out_channels, out_height, out_width; /* output shape per image;
                                                 flat layers: [n,1,1]   */
    size_t param_count;
} digit_layer_info;

DIGIT_API size_t digit_model_layer_count(const digit_model *model);
/* Fills *out for layer `index`. The strings are owned by the model.
 * Returns DIGIT_ERR_ARGUMENT for a NULL model or out, a bad struct_size, or
 * index >= digit_model_layer_count. */
DIGIT_API digit_status digit_model_layer(const digit_model *model, size_t index,
                                         digit_layer_info *out);

/* Writes a printable multi-line summary (layer table and totals) into buf,
 * NUL-terminated and truncated to cap bytes (buf may be NULL when cap is
 * 0). Returns the length the full summary needs, excluding the NUL, like
 * snprintf; 0 for a NULL model. */
DIGIT_API size_t digit_model_summary(const digit_model *model, char *buf,
                                     size_t cap);

/* Free-form string metadata saved with the model (safetensors
 * __metadata__), e.g. "trained_with", "test_accuracy": at most
 * DIGIT_MAX_METADATA keys. Keys "format", "arch", "mean" and "std"
 * are reserved and written by the library. Returns NULL if absent. */
DIGIT_API const char *digit_model_metadata(const digit_model *model,
                                           const char *key);
/* Adds or replaces `key`. Returns DIGIT_ERR_ARGUMENT (NULL argument, empty
 * or reserved key, more than DIGIT_MAX_METADATA keys), DIGIT_ERR_MEMORY, or
 * DIGIT_ERR_BUSY when called on a model being trained. */
DIGIT_API digit_status digit_model_set_metadata(digit_model *model,
                                                const char *key,
                                                const char *value);
/* Removes `key` if present (absent: DIGIT_OK). Returns DIGIT_ERR_ARGUMENT
 * (NULL argument, reserved key) or DIGIT_ERR_BUSY. */
DIGIT_API digit_status digit_model_remove_metadata(digit_model *model,
                                                   const char *key);
/* Keys in insertion order, index 0 up; NULL past the end. */
DIGIT_API const char *digit_model_metadata_key(const digit_model *model,
                                               size_t index);

/* The weights as one float array in state_dict order (conv1.weight,
 * conv1.bias, ...); tensor names, shapes and offsets come from
 * digit_model_tensor. These are the trainable parameters: a batch norm's
 * weight and bias are among them, its buffers (running_mean, running_var,
 * num_batches_tracked) are not; those live in the model file only and are
 * updated by digit_train. */
typedef struct digit_tensor_info {
    size_t struct_size; /* set by digit_tensor_info_init */
    const char *name;   /* "conv1.weight" */
    int rank;           /* 1, 2 or 4 */
    int shape[4];       /* unused entries 0 */
    size_t offset;      /* first element in digit_model_weights() */
    size_t count;       /* number of elements */
} digit_tensor_info;

DIGIT_API size_t digit_model_tensor_count(const digit_model *model);
/* Returns DIGIT_ERR_ARGUMENT for a NULL model or out, a bad struct_size, or
 * index >= digit_model_tensor_count. */
DIGIT_API digit_status digit_model_tensor(const digit_model *model,
                                          size_t index, digit_tensor_info *out);
/* Read-only view of the weights (digit_model_param_count floats), valid
 * until the model is freed. NULL for a NULL model. */
DIGIT_API const float *digit_model_weights(const digit_model *model);
/* Writable view of the same array. Asking for it marks everything the
 * library derived from the weights (packed copies, caches) as stale, so
 * write through it, then predict; don't keep writing through an old
 * pointer while other threads predict. Returns NULL (and sets the error:
 * DIGIT_ERR_ARGUMENT for NULL, DIGIT_ERR_BUSY during training) on failure. */
DIGIT_API float *digit_model_weights_mutable(digit_model *model);

/* ---- model files (safetensors) ------------------------------------------ */

/* Saves F32 tensors under PyTorch state_dict names, with the architecture
 * and normalisation in __metadata__. Atomic: writes a temporary file in the
 * same folder, fsyncs it and renames it over `path`; on failure `path` is
 * left as it was. Returns DIGIT_ERR_ARGUMENT (NULL), DIGIT_ERR_IO (naming
 * the path) or DIGIT_ERR_MEMORY. Allowed from a training callback. */
DIGIT_API digit_status digit_model_save(const digit_model *model,
                                        const char *path);
/* Loads a file written by digit_model_save or by safetensors.torch.save_file
 * from a PyTorch model of a known architecture (the preset is inferred from
 * tensor names and shapes when metadata is missing). Every length, offset
 * and shape is validated against the file. Returns DIGIT_ERR_IO (missing,
 * unreadable, a directory), DIGIT_ERR_FORMAT (malformed, unknown
 * architecture, wrong tensors; the message names the tensor),
 * DIGIT_ERR_MEMORY, or DIGIT_ERR_ARGUMENT (NULL). */
DIGIT_API digit_status digit_model_load(const char *path, digit_model **out);
/* The same from a buffer already in memory (messages say "<memory>"). */
DIGIT_API digit_status digit_model_load_memory(const void *data, size_t size,
                                               digit_model **out);

/* ---- inference ----------------------------------------------------------- */

typedef enum digit_output {
    DIGIT_OUTPUT_PROBABILITIES = 0,   /* softmax, each row sums to 1 */
    DIGIT_OUTPUT_LOG_PROBABILITIES = 1
} digit_output;

/* Classifies `count` images (count 0: nothing to do, DIGIT_OK). `out` (may
 * be NULL) receives count*10 values of the requested kind; `labels` (may be
 * NULL) the argmax of each image. Thread-safe on one model: each call uses
 * its own scratch memory. An image's probabilities can differ in the last
 * bits (~1e-7) with the size of the batch it came in. Returns
 * DIGIT_ERR_ARGUMENT (NULL model or images, an unknown kind, a count whose
 * size overflows) or DIGIT_ERR_MEMORY. */
DIGIT_API digit_status digit_predict_u8(const digit_model *model,
                                        const uint8_t *images, size_t count,
                                        digit_output kind, float *out,
                                        int *labels);
DIGIT_API digit_status digit_predict_f32(const digit_model *model,
                                         const float *images, size_t count,
                                         digit_output kind, float *out,
                                         int *labels);

/* ---- datasets (MNIST IDX files) ------------------------------------------ */

typedef struct digit_dataset digit_dataset;

/* Loads an IDX image file (magic 0x803, n x 28 x 28 uint8) and its IDX label
 * file (magic 0x801, n uint8 labels 0..9), raw or gzip-compressed. Counts,
 * dimensions and sizes are checked against each other and the files.
 * Returns DIGIT_ERR_IO, DIGIT_ERR_FORMAT (naming the file), DIGIT_ERR_MEMORY
 * or DIGIT_ERR_ARGUMENT. */
DIGIT_API digit_status digit_dataset_load(const char *images_path,
                                          const char *labels_path,
                                          digit_dataset **out);
/* Loads "<dir>/train-*-ubyte" (train != 0) or "<dir>/t10k-*-ubyte", with or
 * without a .gz suffix; the same statuses. */
DIGIT_API digit_status digit_dataset_load_mnist(const char *dir, int train,
                                                digit_dataset **out);
/* A dataset copied from memory: count*784 pixels and count labels 0..9.
 * Returns DIGIT_ERR_ARGUMENT (NULL, count 0, a label over 9) or
 * DIGIT_ERR_MEMORY. */
DIGIT_API digit_status digit_dataset_create(const uint8_t *images,
                                            const uint8_t *labels, size_t count,
                                            digit_dataset **out);
/* A copy of images [start, start+count). DIGIT_ERR_ARGUMENT for a range
 * outside the dataset or count 0. */
DIGIT_API digit_status digit_dataset_slice(const digit_dataset *dataset,
                                           size_t start, size_t count,
                                           digit_dataset **out);
/* The user's own labelled pictures, laid out as torchvision's ImageFolder:
 * dir/0/..., dir/1/..., ... dir/9/... (class folders may be missing; folders
 * inside them are walked too). Each file is read and preprocessed as
 * digit_image_load does, in the order of the sorted paths. Names starting
 * with '.' and files beside the class folders are passed over; any other
 * folder there is refused. (Since 2.2.)
 * Returns DIGIT_ERR_ARGUMENT (no pictures, a folder not named 0-9, more
 * than DIGIT_MAX_FOLDER_IMAGES), DIGIT_ERR_IO, DIGIT_ERR_FORMAT or
 * DIGIT_ERR_IMAGE (a file that is not a usable picture, named in the
 * message) or DIGIT_ERR_MEMORY. */
DIGIT_API digit_status digit_dataset_load_folder(const char *dir,
                                                 digit_dataset **out);
/* A new dataset of a's images followed by b's (for fine-tuning on one's
 * own pictures mixed with MNIST). (Since 2.2.) */
DIGIT_API digit_status digit_dataset_concat(const digit_dataset *a,
                                            const digit_dataset *b,
                                            digit_dataset **out);
/* Frees the dataset (NULL: nothing). Called while a digit_train uses it
 * (from a training callback, say), the memory is released when the last
 * such training returns. */
DIGIT_API void digit_dataset_free(digit_dataset *dataset);
DIGIT_API size_t digit_dataset_count(const digit_dataset *dataset);
DIGIT_API const uint8_t *digit_dataset_images(const digit_dataset *dataset);
DIGIT_API const uint8_t *digit_dataset_labels(const digit_dataset *dataset);

/* ---- evaluation ---------------------------------------------------------- */

typedef struct digit_evaluation {
    size_t struct_size; /* set by digit_evaluation_init */
    double loss;        /* mean negative log-likelihood */
    double accuracy;    /* fraction correct, 0..1 */
    size_t count;       /* images evaluated */
    /* confusion[true][predicted] */
    uint32_t confusion[DIGIT_CLASSES][DIGIT_CLASSES];
} digit_evaluation;

/* Evaluates on the whole dataset. Returns DIGIT_ERR_ARGUMENT (NULL, bad
 * struct_size, an empty dataset) or DIGIT_ERR_MEMORY. Allowed from a
 * training callback. */
DIGIT_API digit_status digit_evaluate(const digit_model *model,
                                      const digit_dataset *dataset,
                                      digit_evaluation *out);

/* ---- training ------------------------------------------------------------ */

/* Handed to on_batch after every optimisation step. */
typedef struct digit_batch_progress {
    size_t struct_size;    /* the library's sizeof: check before reading
                              fields added after 2.0 */
    int epoch;             /* 1-based */
    int batch;             /* 1-based within the epoch */
    int batches_per_epoch;
    float loss;            /* mean loss of this batch */
    size_t images_seen;    /* in this epoch, this batch included */
    double learning_rate;
} digit_batch_progress;

/* Handed to on_epoch after every epoch (and its evaluation). */
typedef struct digit_epoch_progress {
    size_t struct_size;    /* as in digit_batch_progress */
    int epoch;             /* 1-based */
    int epochs;
    double train_loss;     /* mean over the epoch's batches */
    double test_loss;      /* NaN when no test set was given */
    double test_accuracy;  /* 0..1, NaN when no test set was given */
    double seconds;        /* wall time of the epoch's training */
    double learning_rate;  /* the rate used in this epoch */
} digit_epoch_progress;

/* Training callbacks run on the thread that called digit_train, between
 * optimisation steps, while no worker thread runs. They may call any
 * function that takes the model as const (predict, evaluate, save, read
 * metadata or weights), and anything on other handles. They may not modify
 * or train the model being trained: those calls return DIGIT_ERR_BUSY.
 * Freeing that model or the datasets is deferred (see the *_free calls).
 * Return non-zero to stop: training ends after the current batch, writes
 * the checkpoint (if configured) and returns DIGIT_ERR_CANCELLED. */
typedef int (*digit_batch_callback)(const digit_batch_progress *p, void *user);
typedef int (*digit_epoch_callback)(const digit_epoch_progress *p, void *user);

/* Learning-rate schedules (digit_train_options.schedule). */
typedef enum digit_schedule {
    DIGIT_SCHEDULE_MULTISTEP = 0,  /* lr *= gamma after each milestone epoch
                                      (MultiStepLR; no milestones: constant) */
    DIGIT_SCHEDULE_ONECYCLE = 1,   /* per batch: OneCycleLR, cosine
                                      annealing, max_lr = learning_rate */
    DIGIT_SCHEDULE_COSINE = 2,     /* per epoch: CosineAnnealingLR with
                                      T_max = epochs, eta_min = 0 */
    DIGIT_SCHEDULE_EXPONENTIAL = 3 /* per epoch: lr * gamma^epoch (ExponentialLR) */
} digit_schedule;

typedef struct digit_train_options {
    size_t struct_size;    /* set by digit_train_options_init */
    int epochs;            /* 1..DIGIT_MAX_EPOCHS */
    int batch_size;        /* 1..DIGIT_MAX_BATCH_SIZE */
    double learning_rate;  /* Adam (betas 0.9, 0.999; eps 1e-8); > 0 */
    int milestones[DIGIT_MAX_MILESTONES]; /* epochs after which lr *= gamma,
                                             increasing, 1..DIGIT_MAX_EPOCHS */
    int milestone_count;   /* 0..DIGIT_MAX_MILESTONES */
    double gamma;          /* > 0 */
    uint64_t seed;         /* shuffling order; same seed and threads give a
                              bitwise identical model */
    int threads;           /* 0 (one per core) .. DIGIT_MAX_THREADS; a
                              batch is split between at most 64 */
    digit_batch_callback on_batch;  /* may be NULL */
    digit_epoch_callback on_epoch;  /* may be NULL */
    void *user;                     /* passed to both callbacks */
    /* If set, training state (weights, Adam moments, position) is written
     * atomically here after every epoch and when cancelled. */
    const char *checkpoint_path;

    /* ---- appended in 2.1; a caller built against 2.0 gets the preset's
     * defaults for all of them ---- */
    int schedule;            /* digit_schedule */
    /* OneCycleLR: the rate rises from learning_rate / div_factor to
     * learning_rate over the first pct_start of all steps and anneals to
     * learning_rate / div_factor / final_div_factor (defaults 0.3, 25,
     * 1e4, as PyTorch). pct_start in (0, 1), the factors > 0. */
    double pct_start, div_factor, final_div_factor;
    /* OneCycleLR's cycle_momentum (PyTorch's default, on): Adam's beta1
     * follows the rate inversely, 0.95 -> 0.85 -> 0.95 (max_momentum,
     * base_momentum), replacing beta1. 0: beta1 stays. */
    int cycle_momentum;
    double beta1, beta2;     /* Adam's betas, each in [0, 1) (0.9, 0.999) */
    /* Decoupled weight decay (AdamW): before each step every parameter is
     * multiplied by 1 - lr * weight_decay. >= 0; 0 is plain Adam. */
    double weight_decay;
    /* Cross-entropy label smoothing in [0, 1] (0: none). */
    double label_smoothing;
    /* Augmentation on the fly: every training image, every epoch, gets a
     * random affine map about its centre with bilinear sampling: a rotation
     * uniform in +-augment_rotate degrees (0..180), a zoom uniform in
     * 1 +- augment_scale (0..0.5), a shear uniform in +-augment_shear
     * degrees (0..45) and a shift uniform in +-augment_shift of the side in
     * each direction (0..0.5). All 0: off. The draw is a function of (seed,
     * epoch, image index) only; see digit_augment_images. */
    double augment_rotate, augment_scale, augment_shift, augment_shear;
} digit_train_options;

/* Fills *opt with the defaults of preset `preset` (basic: Adam 0.001, batch
 * 64, 10 epochs; compact: the same plus milestones 5,8 and gamma 0.01;
 * strong and speedrun: see digit_preset_name), seed 1, threads 0, no
 * callbacks, no checkpoint. `size` is
 * sizeof(digit_train_options) as the caller was compiled (the inline
 * digit_train_options_init_default passes it). Returns DIGIT_ERR_ARGUMENT
 * for a NULL opt, a size the library does not know, or an unknown preset. */
DIGIT_API digit_status digit_train_options_init(digit_train_options *opt,
                                                size_t size,
                                                const char *preset);
/* Checks every field against the limits above, as digit_train does; the
 * message names the option ("epochs must be 1..100000, not 0"). Front ends
 * call this rather than repeating the rules. */
DIGIT_API digit_status digit_train_options_check(const digit_train_options *opt);

/* Trains `model` in place on `train`; evaluates on `test` (may be NULL)
 * after each epoch. When `resume_path` is non-NULL (may be NULL), the
 * optimizer state and position are restored from that checkpoint (written
 * by a run with the same options) and training continues where it
 * stopped, producing the same model bit for bit as an uninterrupted run.
 *
 * Returns DIGIT_ERR_ARGUMENT (NULL, bad options, a checkpoint from another
 * run), DIGIT_ERR_BUSY (the model is already being trained, e.g. from its
 * own callback, or was freed by a callback), DIGIT_ERR_CANCELLED (a
 * callback asked to stop), DIGIT_ERR_IO / DIGIT_ERR_FORMAT (checkpoint
 * files), DIGIT_ERR_MEMORY.
 * The model after a failure: untouched if the failure came before the
 * first step (bad options, a bad checkpoint); otherwise it holds the
 * weights of the last completed step, and the checkpoint (if configured)
 * holds the state of the last completed epoch or cancellation. */
DIGIT_API digit_status digit_train(digit_model *model,
                                   const digit_dataset *train,
                                   const digit_dataset *test,
                                   const digit_train_options *opt,
                                   const char *resume_path);

/* Augments `count` images as epoch `epoch` (1-based) of a digit_train run
 * with options `opt` transforms training images first_index ..
 * first_index + count - 1 (its seed and augment_* fields; see above), into
 * `out` (count * 784 bytes, may not overlap `images`). With every
 * augment_* field 0 the images are copied unchanged. Returns
 * DIGIT_ERR_ARGUMENT (NULL, bad struct_size, an augment_* value out of
 * range, epoch < 1). Added in 2.1. */
DIGIT_API digit_status digit_augment_images(const digit_train_options *opt, int epoch,
                                            const uint8_t *images, size_t first_index,
                                            size_t count, uint8_t *out);

/* What a checkpoint written by digit_train says about its run. */
typedef struct digit_checkpoint_info {
    size_t struct_size;             /* set by digit_checkpoint_info_init */
    char arch[DIGIT_MAX_ARCH_NAME]; /* the architecture, NUL-terminated */
    int epochs_done;                /* complete epochs */
    int batches_done;               /* batches of the next epoch trained */
} digit_checkpoint_info;

/* Reads the checkpoint at `path` into *info and, when `options` is not
 * NULL (its struct_size set by digit_train_options_init_default or
 * digit_train_options_init), the options the run used (epochs, batch size,
 * learning rate, milestones, gamma, seed and threads; callbacks and paths
 * NULL) — pass them to digit_train to resume. Returns DIGIT_ERR_IO,
 * DIGIT_ERR_FORMAT (not a libdigit checkpoint, bad fields; naming the
 * path), or DIGIT_ERR_ARGUMENT (NULL path or info, bad struct_size). */
DIGIT_API digit_status digit_checkpoint_read(const char *path,
                                             digit_checkpoint_info *info,
                                             digit_train_options *options);

/* ---- initialisers for the sized structures ------------------------------- */

/* Compiled into the caller, so struct_size is the caller's sizeof. */
static inline void digit_layer_info_init(digit_layer_info *s) {
    digit_layer_info z = {0};
    z.struct_size = sizeof z;
    *s = z;
}
static inline void digit_tensor_info_init(digit_tensor_info *s) {
    digit_tensor_info z = {0};
    z.struct_size = sizeof z;
    *s = z;
}
static inline void digit_evaluation_init(digit_evaluation *s) {
    digit_evaluation z = {0};
    z.struct_size = sizeof z;
    *s = z;
}
static inline void digit_checkpoint_info_init(digit_checkpoint_info *s) {
    digit_checkpoint_info z = {0};
    z.struct_size = sizeof z;
    *s = z;
}
/* digit_train_options_init for this header's struct size. */
static inline digit_status digit_train_options_init_default(digit_train_options *opt,
                                                            const char *preset) {
    return digit_train_options_init(opt, sizeof *opt, preset);
}

/* ---- images ------------------------------------------------------------- */

/* The limits on images, the one source of truth (the library uses these).
 * Files larger than MAX_FILE_BYTES are refused unread; an image is refused
 * when its decoded size exceeds MAX_SIDE on a side or MAX_PIXELS in all,
 * which is checked before anything of that size is allocated. A JPEG larger
 * than that is decoded at a reduced size instead (DCT scaling by 1/8 to 7/8,
 * the least reduction that fits), and refused only if 1/8 does not fit. */
#define DIGIT_IMAGE_MAX_FILE_BYTES ((size_t)64 << 20)
#define DIGIT_IMAGE_MAX_SIDE 8192 /* decoded, after JPEG DCT scaling */
#define DIGIT_IMAGE_MAX_PIXELS ((size_t)16 << 20)

typedef enum digit_sample_type {
    DIGIT_SAMPLE_U8 = 0,  /* 0..255 */
    DIGIT_SAMPLE_U16 = 1, /* 0..65535, native byte order */
    DIGIT_SAMPLE_F32 = 2  /* 0..1; values outside are clamped, NaN reads as 0 */
} digit_sample_type;

/* A caller's raw buffer of pixels, described for digit_image_preprocess.
 * Initialise with digit_pixels_init, then fill in the fields. */
typedef struct digit_pixels {
    size_t struct_size; /* sizeof(digit_pixels), set by digit_pixels_init */
    const void *data;   /* the first row; rows follow `stride` bytes apart */
    int width, height;
    size_t stride;      /* bytes from one row to the next; 0: packed */
    int channels;       /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    digit_sample_type type;
} digit_pixels;

/* Warnings in digit_image_report.warnings. The 28x28 result is still made
 * (from the best mark) when they are set; they say it may not be a digit. */
#define DIGIT_WARN_SEVERAL_MARKS 0x1u  /* several separate digit-sized marks (a number, a word) */
#define DIGIT_WARN_NOT_DIGIT_LIKE 0x2u /* nothing digit-like: a line, specks, a blank-ish page */
#define DIGIT_WARN_REDUCED 0x4u        /* decoded at reduced size (JPEG DCT scaling) */

/* What loading and preprocessing found. Initialise with
 * digit_image_report_init. On success every field is set. On a failure
 * after the data was read, the fields learnt before it are set (format and
 * stored size once the header has been read) and the rest are zero; a call
 * refused for its arguments or because the file cannot be read leaves the
 * report untouched. */
typedef struct digit_image_report {
    size_t struct_size;  /* sizeof(digit_image_report), set by digit_image_report_init */
    char format[8];      /* "png", "jpeg" or "pixels" */
    int width, height;   /* as stored in the file / buffer */
    int decoded_width, decoded_height; /* after DCT scaling and orientation */
    int orientation;     /* EXIF orientation 1..8 that was applied; 1 when none */
    int marks;           /* separate digit-sized ink marks found */
    uint32_t warnings;   /* DIGIT_WARN_* bits */
    int ink_x, ink_y, ink_width, ink_height; /* the digit's box in the decoded image */
    uint32_t reserved[8]; /* zero; room to grow */
} digit_image_report;

static inline void digit_pixels_init(digit_pixels *p) {
    digit_pixels z = {0};
    z.struct_size = sizeof z;
    *p = z;
}
static inline void digit_image_report_init(digit_image_report *r) {
    digit_image_report z = {0};
    z.struct_size = sizeof z;
    *r = z;
}

/* Loads an image file of any supported format (PNG of any colour type and
 * bit depth; baseline or progressive JPEG, gray or colour, with its EXIF
 * orientation applied), recognised by its first bytes, never its name, and
 * preprocesses it the MNIST way: the paper's own brightness divided away
 * (uneven light, shadows, tinted paper), ink found against its local
 * surroundings, ruled lines, shadow edges and specks set aside, the digit
 * cropped, scaled so its longer side is 20 px and centred by centre of mass
 * in 28x28, ink bright on black. `out` receives 784 pixels, and is written
 * only on success. `report` may be NULL; if not, its struct_size must be
 * sizeof(digit_image_report) as set by digit_image_report_init, and at most
 * struct_size bytes of it are written.
 * Returns DIGIT_ERR_ARGUMENT for a NULL path/data/out or a bad report
 * struct_size; DIGIT_ERR_IO when the file cannot be read; DIGIT_ERR_FORMAT
 * for anything that is not a PNG or JPEG, corrupt or truncated files, CMYK
 * JPEGs, files over DIGIT_IMAGE_MAX_FILE_BYTES and images over the limits
 * above; DIGIT_ERR_IMAGE for an image without ink; DIGIT_ERR_MEMORY.
 * Messages name the file, or "<memory>" for digit_image_load_memory.
 * Thread-safe: no global state, every call owns its buffers. */
DIGIT_API digit_status digit_image_load(const char *path, uint8_t *out,
                                        digit_image_report *report);
DIGIT_API digit_status digit_image_load_memory(const void *data, size_t size,
                                               uint8_t *out,
                                               digit_image_report *report);
/* Raw pixels of any size, layout and sample type, through the same
 * preprocessing. `pixels` must come from digit_pixels_init (struct_size);
 * data must not be NULL, width and height positive and within the limits,
 * channels 1..4, stride 0 or at least width * channels * sample size.
 * Anything else is DIGIT_ERR_ARGUMENT, with a message naming the field;
 * an image without ink is DIGIT_ERR_IMAGE. Messages say "<pixels>".
 * `out` and `report` as for digit_image_load. Thread-safe. */
DIGIT_API digit_status digit_image_preprocess(const digit_pixels *pixels,
                                              uint8_t *out,
                                              digit_image_report *report);
/* "several-marks", "not-digit-like", "reduced" for one DIGIT_WARN_* bit;
 * NULL for an unknown bit or more than one. Static storage. */
DIGIT_API const char *digit_image_warning_name(uint32_t warning);

/* Writes an 8-bit grayscale PNG (atomically). DIGIT_ERR_ARGUMENT for NULL
 * arguments or a size outside the limits; DIGIT_ERR_IO when writing fails. */
DIGIT_API digit_status digit_image_save_png(const char *path,
                                            const uint8_t *gray, int width,
                                            int height);

#ifdef __cplusplus
}
#endif

#endif /* DIGIT_H */
