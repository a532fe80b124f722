/* SPDX-License-Identifier: MIT */
/*
 * net.h — architectures as tables of layers (arch.c), and the plan that
 * turns a table into shapes, a parameter layout and an activation layout,
 * with the forward and backward passes over a whole batch (net.c).
 */
#ifndef DIGIT_NET_H
#define DIGIT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "real.h"

#define NET_MAX_LAYERS 32
#define NET_MAX_TENSORS (2 * NET_MAX_LAYERS)
/* BatchNorm as PyTorch's defaults: eps 1e-5, running-stat momentum 0.1. */
#define NET_BN_EPS 1e-5
#define NET_BN_MOMENTUM 0.1

typedef enum layer_kind {
    LAYER_CONV,        /* out channels, k, pad, stride */
    LAYER_RELU,
    LAYER_MAXPOOL,     /* k (stride k) */
    LAYER_FLATTEN,
    LAYER_LINEAR,      /* out features */
    LAYER_LOG_SOFTMAX, /* must be last; its backward is fused with the NLL */
    LAYER_BATCHNORM,   /* BatchNorm2d (after a conv) or BatchNorm1d (after a
                          linear layer); must follow one, so that inference
                          can fold it into that layer's weights */
    LAYER_DROPOUT      /* p */
} layer_kind;

/* How a convolution is computed (net_plan_build chooses):
 *   CONV_IM2COL      im2col + one GEMM (layers.c), any shape;
 *   CONV_WINOGRAD    F(2x2,3x3) or F(4x4,3x3) (winograd.c): 3x3 stride 1,
 *                    8+ channels in;
 *   CONV_ONE_CHANNEL direct kernels (conv1ch.c): a one-channel first
 *                    layer, on AVX-512 (see choose_conv in net.c).
 * DIGIT_CONV=im2col or DIGIT_CONV=winograd in the environment forces the
 * first everywhere, or the second wherever it fits (one channel included),
 * so that the tests check and the benchmark measures each path;
 * winograd2 and winograd4 force Winograd with that tile too. */
enum { CONV_IM2COL, CONV_WINOGRAD, CONV_ONE_CHANNEL };

typedef struct layer_spec {
    layer_kind kind;
    const char *name;  /* parametrised layers: the state_dict prefix */
    int out, k, pad, stride;
    int no_bias;       /* conv/linear: bias=False (a batch norm follows) */
    float p;           /* dropout: the probability of zeroing */
} layer_spec;

typedef struct arch_spec {
    const char *name;
    int nlayers;
    layer_spec layers[NET_MAX_LAYERS];
    float mean, std;              /* input normalisation of pixel/255 */
    int epochs, batch_size;
    double learning_rate, gamma;
    int milestones[4], nmilestones;
    /* Training defaults added with the presets of 2.1 (0 = off / Adam's
     * 0.9, 0.999); see digit_train_options. */
    int schedule, cycle_momentum;
    double pct_start, div_factor, final_div_factor;
    double beta1, beta2, weight_decay, label_smoothing;
    double augment_rotate, augment_scale, augment_shift, augment_shear;
} arch_spec;

const arch_spec *arch_find(const char *name);
const arch_spec *arch_at(size_t index); /* NULL past the end */
/* "basic, compact, ...": the known names, for messages. Static storage. */
const char *arch_names(void);

typedef struct layer_plan {
    const layer_spec *spec;
    int in_c, in_h, in_w;      /* per image; flat vectors are [n,1,1] */
    int out_c, out_h, out_w;
    size_t in_act, out_act;    /* per-image offsets into the activations */
    size_t col_off;            /* conv: per-image offset of its im2col rows */
    size_t arg_off;            /* maxpool: per-image offset of its argmax */
    size_t w_off, w_count, b_off, b_count; /* into the parameter array */
    size_t pack_off;           /* conv: its packed weights in net_pack's array */
    size_t buf_off;            /* batch norm: running_mean, then running_var,
                                  in the model's buffer array */
    int count_index;           /* batch norm: its num_batches_tracked */
    size_t stat_off;           /* batch norm: its channels in net_work's
                                  statistics arrays */
    size_t mask_off;           /* dropout: per-image offset of its mask */
    int bn_next;               /* conv/linear: a batch norm follows, which
                                  inference folds into this layer */
    int fused;                 /* ReLU folded into the max-pool after it */
    int pool_fused;            /* one-channel conv: the 2x2 max-pool after it
                                  (a ReLU between allowed) that runs inside
                                  this layer, forward and backward; 0: none */
    int in_conv;               /* max-pool: run by the conv before it */
    int conv_path;             /* conv: CONV_IM2COL, CONV_WINOGRAD (col
                                  holds V, the packed weights are U) or
                                  CONV_ONE_CHANNEL (col holds the padded
                                  input, the packed weights are wk) */
    int wino_m;                /* conv on CONV_WINOGRAD: the tile side, 2
                                  or 4 (wino_choose_tile) */
    int fan_in;
    char description[48];
} layer_plan;

typedef struct tensor_plan {
    char name[40];
    int rank, shape[4];
    size_t offset, count;  /* parameters: into the parameter array; buffers:
                              into the buffer array, or the count array for
                              is_count */
    int is_count;          /* num_batches_tracked: one int64, shape [] */
} tensor_plan;

typedef struct net_plan {
    const arch_spec *arch;
    int nlayers;
    layer_plan layer[NET_MAX_LAYERS];
    int ntensors;
    tensor_plan tensor[NET_MAX_TENSORS];   /* trainable parameters */
    size_t nparams;
    /* Batch-norm buffers (PyTorch's running_mean, running_var: floats;
     * num_batches_tracked: int64), not trained by the optimiser. */
    int nbuffer_tensors;
    tensor_plan buffer[NET_MAX_TENSORS];
    size_t nbuffers;           /* floats */
    int ncounts;               /* int64s */
    size_t nstats;             /* channels of all batch norms */
    int nbatchnorm;
    size_t mask_per_image;     /* reals, all dropout masks */
    size_t act_per_image;      /* reals, all layer outputs */
    size_t arg_per_image;      /* int32s, all max-pool argmaxes */
    size_t col_per_image;      /* reals, every conv's im2col (training) */
    size_t col_max_per_image;  /* reals, the largest conv's im2col */
    size_t wino_max_per_image; /* reals, the largest Winograd conv's M */
    size_t npacked;            /* reals, all convs' packed weights */
    size_t conv_w_max;         /* reals, the largest conv weight */
    size_t logp_act;           /* per-image offset of the log-probabilities */
} net_plan;

/* Computes the plan for a 28x28x1 input; returns 0 if the table is
 * inconsistent (a shape that does not fit). */
int net_plan_build(net_plan *plan, const arch_spec *arch);

/* Scratch for a batch of up to `capacity` images. Training keeps every
 * conv's im2col for backward and has gradient buffers; inference shares one
 * im2col buffer. Arrays are carved from one allocation. */
typedef struct net_work {
    int capacity, training;
    real *act, *dact, *col, *dcol, *dpacked;
    real *wino;                /* a Winograd conv's M (forward), dM (backward) */
    int32_t *arg;
    /* Training with batch norm: the statistics each batch norm normalised
     * with (mean, biased var), the sums they came from and the gradient
     * sums (see layers.h); dropout masks. */
    real *bn_mean, *bn_var, *mask;
    double *bn_sum, *bn_sq, *bn_gsum, *bn_gsumxc;
    /* Set by the caller before a training pass: dropout draws its mask for
     * image b of this pass from (dropout_seed, first_image + b, layer), the
     * same whichever thread runs it. bn_owner: this pass writes the batch
     * norms' dgamma/dbeta (the batch's first part; the others write 0). */
    uint64_t dropout_seed, first_image;
    int bn_owner;
    int bn_batch;              /* images in the whole batch (0: this pass's) */
    double label_smoothing;
    /* Inference: NULL runs a folded network (net_fold); otherwise batch
     * norms use these running statistics on the unfolded parameters. */
    const real *running;
    /* Inference of a few images: up to this many threads share each large
     * layer (parallel_share; 0 or 1: the calling thread alone). The
     * results are the same whatever the count. */
    int share;
    void *block;
} net_work;

int net_work_alloc(net_work *w, const net_plan *plan, int capacity,
                   int training);
void net_work_free(net_work *w);

/* The B*784 input slot; fill it (normalised) before net_forward. */
static inline real *net_input(const net_work *w) { return w->act; }
/* The B*10 log-probabilities after net_forward. */
static inline const real *net_logp(const net_plan *p, const net_work *w,
                                   int B) {
    return w->act + (size_t)B * p->logp_act;
}

/* Conv weights in the order the convolutions read them (see layers.h);
 * `packed` holds plan->npacked reals. Run after every weight change. */
void net_pack(const net_plan *plan, const real *params, real *packed);

void net_forward(const net_plan *plan, const real *params, const real *packed,
                 net_work *w, int B);
/* The pieces of net_forward / net_backward for a batch split between
 * threads that must agree on batch statistics (train.c):
 *   net_forward_span runs layers [from, to); a batch norm among them
 *   normalises with the statistics already in w->bn_mean / bn_var.
 *   net_bn_sums: the partial sums of batch norm `i`'s input (zeroed first).
 *   net_loss: the loss and its gradient w.r.t. the logits.
 *   net_backward_span runs the backward passes of layers [from, to), last
 *   first; a batch norm uses the whole batch's gradient sums already in
 *   w->bn_gsum / bn_gsumxc.
 *   net_bn_grad_sums: the partial gradient sums of batch norm `i`.
 * Rows are per channel: B * H * W for BatchNorm2d, B for BatchNorm1d. */
void net_forward_span(const net_plan *plan, const real *params, const real *packed,
                      net_work *w, int B, int from, int to);
void net_bn_sums(const net_plan *plan, net_work *w, int B, int i);
double net_loss(const net_plan *plan, net_work *w, int B, const uint8_t *labels,
                double norm);
void net_backward_span(const net_plan *plan, const real *params, const real *packed,
                       real *grads, net_work *w, int B, int from, int to);
void net_bn_grad_sums(const net_plan *plan, net_work *w, int B, int i);
/* Rows of batch norm layer i for B images. */
size_t net_bn_rows(const net_plan *plan, int i, int B);
/* After net_forward on the same batch: writes into grads (nparams,
 * overwritten) the gradient of the batch's summed NLL divided by `norm`,
 * and returns that loss. norm = B gives the mean; a batch split across
 * workers passes the whole batch's size so the parts add up. */
double net_backward(const net_plan *plan, const real *params,
                    const real *packed, real *grads, net_work *w, int B,
                    const uint8_t *labels, double norm);

/* PyTorch's default init of Conv2d and Linear: weights and biases uniform in
 * +-1/sqrt(fan_in) (Kaiming-uniform with a = sqrt(5)). */
void net_init_params(const net_plan *plan, real *params, uint64_t seed);
/* Batch-norm buffers as PyTorch starts them: running_mean 0, running_var
 * 1, num_batches_tracked 0. */
void net_init_buffers(const net_plan *plan, real *buffers, int64_t *counts);
/* After a training batch's statistics (mean, biased var over `rows` rows)
 * of batch norm i: running = (1 - momentum) running + momentum * stat, the
 * variance unbiased (rows / (rows - 1)); num_batches_tracked + 1. */
void net_bn_update_running(const net_plan *plan, int i, const real *mean,
                           const real *var, size_t rows, real *buffers,
                           int64_t *counts);
/* Inference weights: params with every batch norm folded into the conv or
 * linear layer before it (weights scaled per output channel; the folded
 * bias stored in the batch norm's bias slot, where net_forward looks for
 * it). A plan without batch norm copies params unchanged. */
void net_fold(const net_plan *plan, const real *params, const real *buffers,
              real *folded);

#endif
