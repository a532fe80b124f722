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

#define NET_MAX_LAYERS 16
#define NET_MAX_TENSORS (2 * NET_MAX_LAYERS)

typedef enum layer_kind {
    LAYER_CONV,        /* out channels, k, pad, stride */
    LAYER_RELU,
    LAYER_MAXPOOL,     /* k (stride k) */
    LAYER_FLATTEN,
    LAYER_LINEAR,      /* out features */
    LAYER_LOG_SOFTMAX  /* must be last; its backward is fused with the NLL */
} layer_kind;

typedef struct layer_spec {
    layer_kind kind;
    const char *name;  /* parametrised layers: the state_dict prefix */
    int out, k, pad, stride;
} layer_spec;

typedef struct arch_spec {
    const char *name;
    int nlayers;
    layer_spec layers[NET_MAX_LAYERS];
    float mean, std;              /* input normalisation of pixel/255 */
    int epochs, batch_size;
    double learning_rate, gamma;
    int milestones[4], nmilestones;
} arch_spec;

const arch_spec *arch_find(const char *name);
const arch_spec *arch_at(size_t index); /* NULL past the end */

typedef struct layer_plan {
    const layer_spec *spec;
    int in_c, in_h, in_w;      /* per image; flat vectors are [n,1,1] */
    int out_c, out_h, out_w;
    size_t in_act, out_act;    /* per-image offsets into the activations */
    size_t col_off;            /* conv: per-image offset of its im2col rows */
    size_t arg_off;            /* maxpool: per-image offset of its argmax */
    size_t w_off, w_count, b_off, b_count; /* into the parameter array */
    size_t pack_off;           /* conv: its packed weights in net_pack's array */
    int fused;                 /* ReLU folded into the max-pool after it */
    int fan_in;
    char description[48];
} layer_plan;

typedef struct tensor_plan {
    char name[32];
    int rank, shape[4];
    size_t offset, count;
} tensor_plan;

typedef struct net_plan {
    const arch_spec *arch;
    int nlayers;
    layer_plan layer[NET_MAX_LAYERS];
    int ntensors;
    tensor_plan tensor[NET_MAX_TENSORS];
    size_t nparams;
    size_t act_per_image;      /* reals, all layer outputs */
    size_t arg_per_image;      /* int32s, all max-pool argmaxes */
    size_t col_per_image;      /* reals, every conv's im2col (training) */
    size_t col_max_per_image;  /* reals, the largest conv's im2col */
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
    int32_t *arg;
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

#endif
