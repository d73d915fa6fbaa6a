/*
 * Host implementation of the PULP-NN 8-bit kernels declared in pulp_nn_kernels.h, written for
 * dory-xdsl from the documented semantics (docs/pulp-nn-api.md); no PULP-NN code.
 *
 * Every kernel is SPMD like the real one: each core of a NUM_CORES team (pi_cl_team_fork)
 * calls it with identical arguments and pi_core_id() selects its share. Before computing,
 * every kernel checks the preconditions the GAP-8 kernel relies on and aborts with
 * "<kernel>: <condition>" when one is violated:
 * - called inside a team of exactly NUM_CORES cores;
 * - every operand (inputs, outputs, weights, bias, k, lambda, scratch buffers of the
 *   documented sizes) lies inside one allocated block of the L1 arena (pi_cl_l1_malloc);
 *   outputs and scratch buffers overlap nothing else (pulp_nn_add may write exactly in place
 *   over one of its inputs); k and lambda (both variants) and the int32 bias and output of
 *   pulp_nn_linear_out_32 are 4-byte aligned;
 * - the output tile fits the padded input: (out-1)*stride + kernel <= in + pad_before +
 *   pad_after; shifts are < 32 (< 64 for the 64-bit requant path);
 * - pointwise: 1x1 kernel, stride 1, no padding, output size = input size;
 * - depthwise: ch_in == ch_out; generic needs kx*ky >= 4; the 4 bytes after the CHW input are
 *   inside the same L1 block; horizontal padding is right-free or centred (pad_r == 0, or
 *   pad_l == pad_r == kx/2), because the kernel assumes pad_l == kx/2 on the right edge;
 * - maxpool: padding smaller than the kernel, output no wider than the input (the kernel pools
 *   rows in place first);
 * - avgpool: symmetric padding (it divides by the full window).
 * Bias may be NULL (no bias); k and lambda may be NULL unless the batch-norm path is used.
 * The depthwise bufferB argument is not used by this implementation and not checked.
 */
#include "pmsis.h"
#include "pulp_nn_kernels.h"

#include <stdlib.h>
#include <string.h>

#ifdef PULP_NN_REQUANT_64
typedef int64_t kl_t;
#else
typedef int32_t kl_t;
#endif

/* RV32 has no 64-bit loads: the GAP-8 kernels need k/lambda 4-byte aligned in both variants. */
#define KL_ALIGN 4u

static kl_t load_kl(const kl_t *p, unsigned i)
{
    kl_t v;
    memcpy(&v, (const uint8_t *)p + (size_t)i * sizeof v, sizeof v);
    return v;
}

/* ------------------------------------------------------------------- preconditions */

static void need(int cond, const char *kernel, const char *what)
{
    if (!cond)
        dory_host_fail(kernel, what);
}

struct region {
    const char *name;
    const void *ptr;
    size_t size;
    int written; /* output or scratch: must not overlap any other region */
    size_t align; /* required alignment of the pointer (1 when omitted) */
};

static void check_regions(const char *kernel, const struct region *r, int n)
{
    char msg[200];
    need(dory_host_team_size() == NUM_CORES, kernel,
         "must be called by every core of a NUM_CORES team (pi_cl_team_fork)");
    for (int i = 0; i < n; i++) {
        if (!r[i].ptr || !r[i].size)
            continue;
        if (r[i].align > 1 && (uintptr_t)r[i].ptr % r[i].align) {
            snprintf(msg, sizeof msg, "%s is not %zu-byte aligned", r[i].name, r[i].align);
            dory_host_fail(kernel, msg);
        }
        if (!dory_host_in_l1(r[i].ptr, r[i].size)) {
            snprintf(msg, sizeof msg, "%s (%zu bytes) is not inside an allocated L1 block", r[i].name,
                     r[i].size);
            dory_host_fail(kernel, msg);
        }
        for (int j = 0; j < i; j++) {
            if (!r[j].ptr || !r[j].size || !(r[i].written || r[j].written))
                continue;
            uintptr_t a = (uintptr_t)r[i].ptr, b = (uintptr_t)r[j].ptr;
            if (a < b + r[j].size && b < a + r[i].size) {
                snprintf(msg, sizeof msg, "%s overlaps %s", r[i].name, r[j].name);
                dory_host_fail(kernel, msg);
            }
        }
    }
}

static void check_window(const char *kernel, const char *axis, unsigned in, unsigned out,
                         unsigned kernel_size, unsigned pad_before, unsigned pad_after,
                         unsigned stride)
{
    char msg[200];
    need(in > 0 && out > 0 && kernel_size > 0 && stride > 0, kernel,
         "sizes, kernel and stride must be positive");
    if ((out - 1) * stride + kernel_size > in + pad_before + pad_after) {
        snprintf(msg, sizeof msg,
                 "%s: output %u with kernel %u stride %u reads past the padded input %u+%u+%u",
                 axis, out, kernel_size, stride, pad_before, in, pad_after);
        dory_host_fail(kernel, msg);
    }
}

static size_t kl_bytes(int batch_norm_path, unsigned channels)
{
    return batch_norm_path ? (size_t)channels * sizeof(kl_t) : 0;
}

static void check_shift(const char *kernel, unsigned shift, int batch_norm_path)
{
    unsigned limit = batch_norm_path ? 8u * (unsigned)sizeof(kl_t) : 32u;
    need(shift < limit, kernel, "out_shift is not below the accumulator width");
}

/* Range [first, last) of `n` work items for the calling core, chunks of ceil(n / cores). */
static void share(unsigned n, unsigned cores, unsigned id, unsigned *first, unsigned *last)
{
    unsigned chunk = (n + cores - 1) / cores;
    unsigned a = chunk * id, b = a + chunk;
    *first = a < n ? a : n;
    *last = b < n ? b : n;
}

/* --------------------------------------------------------------------- arithmetic */

static uint8_t clip8(int64_t v) { return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v; }

/* Requantize one wrapping-32-bit accumulator of output channel `co`. */
static uint8_t requant(uint32_t acc_bits, unsigned co, const kl_t *k, const kl_t *lambda,
                       uint16_t out_mult, uint16_t out_shift, int relu, int batch_norm)
{
    int32_t acc = (int32_t)acc_bits;
    if (relu && batch_norm) {
#ifdef PULP_NN_REQUANT_64
        int64_t v = (int64_t)((uint64_t)load_kl(k, co) * (uint64_t)(int64_t)acc +
                              (uint64_t)load_kl(lambda, co));
#else
        int32_t v = (int32_t)((uint32_t)load_kl(k, co) * acc_bits + (uint32_t)load_kl(lambda, co));
#endif
        return clip8(v >> out_shift);
    }
    if (relu) {
        int32_t prod = (int32_t)((uint32_t)(int32_t)(int16_t)out_mult * acc_bits);
        return clip8((int16_t)(prod >> out_shift));
    }
    return clip8(acc >> out_shift);
}

static uint32_t bias_of(const int8_t *bias, unsigned co)
{
    return bias ? (uint32_t)(int32_t)bias[co] : 0u;
}

static uint32_t dot(const uint8_t *x, const int8_t *w, unsigned n)
{
    uint32_t acc = 0;
    for (unsigned i = 0; i < n; i++)
        acc += (uint32_t)((int32_t)x[i] * (int32_t)w[i]);
    return acc;
}

/* -------------------------------------------------------------------- convolution */

struct conv_args {
    const uint8_t *in;
    uint8_t *im2col;
    const int8_t *bias;
    uint8_t *out;
    const int8_t *w;
    const kl_t *k, *lambda;
    unsigned mult, shift, in_x, in_y, ch_in, out_x, out_y, ch_out, kx, ky, pt, pb, pl, pr, sx,
        sy;
    int relu, bn;
};

/* Gathers the ky x kx x ch_in patch of output pixel (oy, ox) into `col` (zeros for padding)
 * and writes its ch_out requantized outputs. */
static void conv_pixel(const struct conv_args *a, uint8_t *col, unsigned oy, unsigned ox)
{
    unsigned patch = a->kx * a->ky * a->ch_in;
    uint8_t *dst = col;
    for (unsigned ky = 0; ky < a->ky; ky++) {
        long iy = (long)(oy * a->sy + ky) - (long)a->pt;
        for (unsigned kx = 0; kx < a->kx; kx++, dst += a->ch_in) {
            long ix = (long)(ox * a->sx + kx) - (long)a->pl;
            if (iy < 0 || iy >= (long)a->in_y || ix < 0 || ix >= (long)a->in_x)
                memset(dst, 0, a->ch_in);
            else
                memcpy(dst, a->in + ((size_t)iy * a->in_x + (size_t)ix) * a->ch_in, a->ch_in);
        }
    }
    uint8_t *o = a->out + ((size_t)oy * a->out_x + ox) * a->ch_out;
    for (unsigned co = 0; co < a->ch_out; co++) {
        uint32_t acc = bias_of(a->bias, co) + dot(col, a->w + (size_t)co * patch, patch);
        o[co] = requant(acc, co, a->k, a->lambda, (uint16_t)a->mult, (uint16_t)a->shift,
                        a->relu, a->bn);
    }
}

static void conv_check(const char *kernel, const struct conv_args *a, size_t scratch)
{
    size_t patch = (size_t)a->kx * a->ky * a->ch_in;
    int bn_path = a->relu && a->bn;
    check_window(kernel, "y", a->in_y, a->out_y, a->ky, a->pt, a->pb, a->sy);
    check_window(kernel, "x", a->in_x, a->out_x, a->kx, a->pl, a->pr, a->sx);
    need(a->ch_in > 0 && a->ch_out > 0, kernel, "channel counts must be positive");
    check_shift(kernel, a->shift, bn_path);
    need(!bn_path || (a->k && a->lambda), kernel, "k and lambda are NULL with batch norm");
    struct region r[] = {
        {"input", a->in, (size_t)a->in_x * a->in_y * a->ch_in, 0},
        {"weights", a->w, patch * a->ch_out, 0},
        {"bias", a->bias, a->ch_out, 0},
        {"k", a->k, kl_bytes(bn_path, a->ch_out), 0, KL_ALIGN},
        {"lambda", a->lambda, kl_bytes(bn_path, a->ch_out), 0, KL_ALIGN},
        {"im2col buffer", a->im2col, scratch, 1},
        {"output", a->out, (size_t)a->out_x * a->out_y * a->ch_out, 1},
    };
    if (scratch)
        need(a->im2col != NULL, kernel, "im2col buffer is NULL");
    check_regions(kernel, r, (int)(sizeof r / sizeof r[0]));
}

#define CONV_PARAMS                                                                         \
    const uint8_t *pInBuffer, uint8_t *pIm2ColBuffer, const int8_t *bias, uint8_t *pOutBuffer, \
        const int8_t *pWeight, kl_t *k, kl_t *lambda, const uint16_t out_mult,               \
        const uint16_t out_shift, const uint16_t dim_in_x, const uint16_t dim_in_y,          \
        const uint16_t ch_in, const uint16_t dim_out_x, const uint16_t dim_out_y,            \
        const uint16_t ch_out, const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,     \
        const uint16_t padding_y_top, const uint16_t padding_y_bottom,                       \
        const uint16_t padding_x_left, const uint16_t padding_x_right,                       \
        const uint16_t stride_x, const uint16_t stride_y, int flag_relu, int flag_batch_norm

#define CONV_ARGS_INIT                                                                      \
    {pInBuffer, pIm2ColBuffer, bias, pOutBuffer, pWeight, k, lambda, out_mult, out_shift,    \
     dim_in_x, dim_in_y, ch_in, dim_out_x, dim_out_y, ch_out, dim_kernel_x, dim_kernel_y,    \
     padding_y_top, padding_y_bottom, padding_x_left, padding_x_right, stride_x, stride_y,   \
     flag_relu != 0, flag_batch_norm != 0}

void pulp_nn_conv_Ho_parallel(CONV_PARAMS)
{
    static const char *kernel = "pulp_nn_conv_Ho_parallel";
    struct conv_args a = CONV_ARGS_INIT;
    size_t per_core = 2u * (size_t)ch_in * dim_kernel_x * dim_kernel_y;
    conv_check(kernel, &a, per_core * NUM_CORES);
    unsigned id = (unsigned)pi_core_id(), first, last, n = 0;
    uint8_t *mine = pIm2ColBuffer + per_core * id;
    share(dim_out_y, NUM_CORES, id, &first, &last);
    for (unsigned oy = first; oy < last; oy++)
        for (unsigned ox = 0; ox < dim_out_x; ox++, n++)
            conv_pixel(&a, mine + (n & 1u) * (per_core / 2), oy, ox); /* two im2col slots */
}

void pulp_nn_pointwise_HoWo_parallel(CONV_PARAMS)
{
    static const char *kernel = "pulp_nn_pointwise_HoWo_parallel";
    struct conv_args a = CONV_ARGS_INIT;
    a.im2col = NULL; /* unused by the pointwise kernel */
    need(dim_kernel_x == 1 && dim_kernel_y == 1, kernel, "kernel must be 1x1");
    need(stride_x == 1 && stride_y == 1, kernel, "stride must be 1 (use the conv kernel)");
    need(!padding_y_top && !padding_y_bottom && !padding_x_left && !padding_x_right, kernel,
         "padding must be 0 (use the conv kernel)");
    need(dim_out_x == dim_in_x && dim_out_y == dim_in_y, kernel,
         "output size must equal the input size");
    conv_check(kernel, &a, 0);
    unsigned id = (unsigned)pi_core_id(), y0, y1, x0 = 0, x1 = dim_out_x;
    if (dim_out_y % NUM_CORES == 0 || NUM_CORES != 8) {
        share(dim_out_y, NUM_CORES, id, &y0, &y1);
    } else { /* 4 row chunks x 2 column chunks */
        share(dim_out_y, 4, id >> 1, &y0, &y1);
        share(dim_out_x, 2, id & 1u, &x0, &x1);
    }
    for (unsigned oy = y0; oy < y1; oy++)
        for (unsigned ox = x0; ox < x1; ox++) {
            const uint8_t *x = pInBuffer + ((size_t)oy * dim_in_x + ox) * ch_in;
            uint8_t *o = pOutBuffer + ((size_t)oy * dim_out_x + ox) * ch_out;
            for (unsigned co = 0; co < ch_out; co++) {
                uint32_t acc = bias_of(bias, co) + dot(x, pWeight + (size_t)co * ch_in, ch_in);
                o[co] = requant(acc, co, k, lambda, out_mult, out_shift, a.relu, a.bn);
            }
        }
}

/* ---------------------------------------------------------------------- depthwise */

static void depthwise(const char *kernel, int less_4, const uint8_t *in, uint8_t *bufferC,
                      const int8_t *bias, uint8_t *out, const int8_t *wt, const kl_t *k,
                      const kl_t *lambda, uint16_t mult, uint16_t shift, unsigned in_x,
                      unsigned in_y, unsigned ch, unsigned ch_out, unsigned out_x,
                      unsigned out_y, unsigned kx, unsigned ky, unsigned pt, unsigned pb,
                      unsigned pl, unsigned pr, unsigned sx, unsigned sy, int relu, int bn)
{
    int bn_path = relu && bn;
    check_window(kernel, "y", in_y, out_y, ky, pt, pb, sy);
    check_window(kernel, "x", in_x, out_x, kx, pl, pr, sx);
    need(ch > 0 && ch_out == ch, kernel, "ch_im_out must equal ch_im_in");
    need(less_4 || kx * ky >= 4, kernel,
         "kernel has fewer than 4 weights (use pulp_nn_depthwise_generic_less_4_weights)");
    need(pr == 0 || (pl == pr && pl == kx / 2), kernel,
         "right padding needs pad_left == pad_right == kx/2 (asymmetric horizontal padding)");
    check_shift(kernel, shift, bn_path);
    need(!bn_path || (k && lambda), kernel, "k and lambda are NULL with batch norm");
    size_t in_bytes = (size_t)in_x * in_y * ch;
    need(dory_host_in_l1(in, in_bytes + 4), kernel,
         "the 4 bytes after the input tile are not inside its L1 block (slack)");
    size_t rows = (size_t)in_y + pt + pb;
    size_t per_core = kx * rows + kx + (less_4 ? 4 * ((kx + 3) / 4) - kx : 0);
    need(bufferC != NULL, kernel, "bufferC is NULL");
    struct region r[] = {
        {"input", in, in_bytes, 0},
        {"weights", wt, (size_t)ch * kx * ky, 0},
        {"bias", bias, ch, 0},
        {"k", k, kl_bytes(bn_path, ch), 0, KL_ALIGN},
        {"lambda", lambda, kl_bytes(bn_path, ch), 0, KL_ALIGN},
        {"bufferC", bufferC, per_core * NUM_CORES, 1},
        {"output", out, (size_t)out_x * out_y * ch, 1},
    };
    check_regions(kernel, r, (int)(sizeof r / sizeof r[0]));

    unsigned id = (unsigned)pi_core_id(), c0, c1;
    uint8_t *strip = bufferC + per_core * id; /* rows x kx column strip, zero padded */
    share(ch, NUM_CORES, id, &c0, &c1);
    for (unsigned c = c0; c < c1; c++) {
        const uint8_t *plane = in + (size_t)c * in_y * in_x;
        const int8_t *w = wt + (size_t)c * kx * ky;
        for (unsigned ox = 0; ox < out_x; ox++) {
            for (size_t r_ = 0; r_ < rows; r_++)
                for (unsigned j = 0; j < kx; j++) {
                    long iy = (long)r_ - (long)pt, ix = (long)(ox * sx + j) - (long)pl;
                    int inside = iy >= 0 && iy < (long)in_y && ix >= 0 && ix < (long)in_x;
                    strip[r_ * kx + j] = inside ? plane[(size_t)iy * in_x + (size_t)ix] : 0;
                }
            for (unsigned oy = 0; oy < out_y; oy++) {
                uint32_t acc = bias_of(bias, c);
                for (unsigned i = 0; i < ky; i++)
                    acc += dot(strip + ((size_t)oy * sy + i) * kx, w + (size_t)i * kx, kx);
                out[((size_t)oy * out_x + ox) * ch + c] =
                    requant(acc, c, k, lambda, mult, shift, relu, bn);
            }
        }
    }
}

#define DW_PARAMS                                                                           \
    const uint8_t *Im_in, uint8_t *bufferC, const int8_t *bias, uint8_t *Im_out,             \
        const int8_t *wt, uint8_t *bufferB, kl_t *k, kl_t *lambda, uint16_t out_mult,        \
        uint16_t out_shift, const uint16_t dim_im_in_x, const uint16_t dim_im_in_y,          \
        const uint16_t ch_im_in, const uint16_t dim_im_out_x, const uint16_t dim_im_out_y,   \
        const uint16_t ch_im_out, const uint16_t dim_kernel_x, const uint16_t dim_kernel_y,  \
        const uint16_t padding_y_top, const uint16_t padding_y_bottom,                       \
        const uint16_t padding_x_left, const uint16_t padding_x_right,                       \
        const uint16_t stride_x, const uint16_t stride_y, int8_t FLAG_RELU,                  \
        int8_t FLAG_BATCH_NORM

#define DW_ARGS                                                                             \
    Im_in, bufferC, bias, Im_out, wt, k, lambda, out_mult, out_shift, dim_im_in_x,           \
        dim_im_in_y, ch_im_in, ch_im_out, dim_im_out_x, dim_im_out_y, dim_kernel_x,          \
        dim_kernel_y, padding_y_top, padding_y_bottom, padding_x_left, padding_x_right,      \
        stride_x, stride_y, FLAG_RELU != 0, FLAG_BATCH_NORM != 0

void pulp_nn_depthwise_generic(DW_PARAMS)
{
    (void)bufferB;
    depthwise("pulp_nn_depthwise_generic", 0, DW_ARGS);
}

void pulp_nn_depthwise_generic_less_4_weights(DW_PARAMS)
{
    (void)bufferB;
    depthwise("pulp_nn_depthwise_generic_less_4_weights", 1, DW_ARGS);
}

/* ------------------------------------------------------------------------- linear */

void pulp_nn_linear(uint8_t *pInBuffer, int8_t *bias, uint8_t *pOutBuffer, int8_t *pWeights,
                    kl_t *k, kl_t *lambda, uint16_t out_mult, int8_t out_shift,
                    uint16_t dim_vec, uint16_t num_o_neurons, int flag_relu,
                    int flag_batch_norm)
{
    static const char *kernel = "pulp_nn_linear";
    int relu = flag_relu != 0, bn = flag_batch_norm != 0, bn_path = relu && bn;
    need(dim_vec > 0 && num_o_neurons > 0, kernel, "dim_vec and num_o_neurons must be positive");
    need(out_shift >= 0, kernel, "out_shift is negative");
    check_shift(kernel, (unsigned)out_shift, bn_path);
    need(!bn_path || (k && lambda), kernel, "k and lambda are NULL with batch norm");
    struct region r[] = {
        {"input", pInBuffer, dim_vec, 0},
        {"weights", pWeights, (size_t)dim_vec * num_o_neurons, 0},
        {"bias", bias, num_o_neurons, 0},
        {"k", k, kl_bytes(bn_path, num_o_neurons), 0, KL_ALIGN},
        {"lambda", lambda, kl_bytes(bn_path, num_o_neurons), 0, KL_ALIGN},
        {"output", pOutBuffer, num_o_neurons, 1},
    };
    check_regions(kernel, r, (int)(sizeof r / sizeof r[0]));
    unsigned first, last;
    share(num_o_neurons, NUM_CORES, (unsigned)pi_core_id(), &first, &last);
    for (unsigned o = first; o < last; o++) {
        uint32_t acc = bias_of(bias, o) + dot(pInBuffer, pWeights + (size_t)o * dim_vec, dim_vec);
        pOutBuffer[o] = requant(acc, o, k, lambda, out_mult, (uint16_t)out_shift, relu, bn);
    }
}

void pulp_nn_linear_out_32(uint8_t *pInBuffer, int8_t *bias, int32_t *pOutBuffer,
                           int8_t *pWeights, uint16_t dim_vec, uint16_t num_o_neurons)
{
    static const char *kernel = "pulp_nn_linear_out_32";
    need(dim_vec > 0 && num_o_neurons > 0, kernel, "dim_vec and num_o_neurons must be positive");
    struct region r[] = {
        {"input", pInBuffer, dim_vec, 0},
        {"weights", pWeights, (size_t)dim_vec * num_o_neurons, 0},
        {"bias (int32)", bias, (size_t)num_o_neurons * 4, 0, 4},
        {"output", pOutBuffer, (size_t)num_o_neurons * 4, 1, 4},
    };
    check_regions(kernel, r, (int)(sizeof r / sizeof r[0]));
    unsigned first, last;
    share(num_o_neurons, NUM_CORES, (unsigned)pi_core_id(), &first, &last);
    for (unsigned o = first; o < last; o++) {
        int32_t b = 0;
        if (bias)
            memcpy(&b, bias + (size_t)o * 4, 4);
        int32_t y = (int32_t)((uint32_t)b + dot(pInBuffer, pWeights + (size_t)o * dim_vec, dim_vec));
        memcpy((uint8_t *)pOutBuffer + (size_t)o * 4, &y, 4);
    }
}

/* ---------------------------------------------------------------------------- add */

void pulp_nn_add(uint8_t *Im_in_1, uint8_t *Im_in_2, uint8_t *Im_out, uint16_t out_mult1,
                 uint16_t out_mult2, uint16_t out_shift, uint16_t dim_im_in_h,
                 uint16_t dim_im_in_w, uint16_t ch_im_in)
{
    static const char *kernel = "pulp_nn_add";
    size_t row = (size_t)dim_im_in_w * ch_im_in, n = row * dim_im_in_h;
    need(n > 0, kernel, "tensor sizes must be positive");
    need(out_shift < 32, kernel, "out_shift is not below 32");
    /* In place over an input is fine (element-wise); any other overlap is not. */
    int over_1 = Im_out == Im_in_1, over_2 = Im_out == Im_in_2;
    struct region r[] = {
        {"input 1", over_1 ? NULL : Im_in_1, n, 0},
        {"input 2", over_2 ? NULL : Im_in_2, n, 0},
        {"output", Im_out, n, 1},
    };
    need(dory_host_in_l1(Im_in_1, n) && dory_host_in_l1(Im_in_2, n), kernel,
         "inputs are not inside an allocated L1 block");
    check_regions(kernel, r, 3);
    unsigned first, last;
    share(dim_im_in_h, NUM_CORES, (unsigned)pi_core_id(), &first, &last);
    int32_t m1 = (int16_t)out_mult1, m2 = (int16_t)out_mult2;
    for (size_t i = first * row; i < last * row; i++) {
        uint32_t s = (uint32_t)((int32_t)Im_in_1[i] * m1 + (int32_t)Im_in_2[i] * m2);
        Im_out[i] = clip8((uint16_t)(s >> out_shift));
    }
}

/* -------------------------------------------------------------------------- pools */

static void check_pool(const char *kernel, const uint8_t *in, const uint8_t *out,
                       unsigned in_x, unsigned in_y, unsigned ch, unsigned out_x,
                       unsigned out_y, unsigned kx, unsigned ky, unsigned pt, unsigned pb,
                       unsigned pl, unsigned pr, unsigned sx, unsigned sy)
{
    check_window(kernel, "y", in_y, out_y, ky, pt, pb, sy);
    check_window(kernel, "x", in_x, out_x, kx, pl, pr, sx);
    need(ch > 0, kernel, "ch_im_in must be positive");
    struct region r[] = {
        {"input", in, (size_t)in_x * in_y * ch, 1},
        {"output", out, (size_t)out_x * out_y * ch, 1},
    };
    check_regions(kernel, r, 2);
}

void pulp_nn_maxpool(uint8_t *Im_in, uint8_t *Im_out, uint16_t dim_im_in_x,
                     uint16_t dim_im_in_y, uint16_t ch_im_in, uint16_t dim_im_out_x,
                     uint16_t dim_im_out_y, uint16_t dim_kernel_x, uint16_t dim_kernel_y,
                     uint16_t padding_t, uint16_t padding_b, uint16_t padding_l,
                     uint16_t padding_r, uint16_t stride_x, uint16_t stride_y)
{
    static const char *kernel = "pulp_nn_maxpool";
    unsigned ch = ch_im_in, in_x = dim_im_in_x, out_x = dim_im_out_x;
    check_pool(kernel, Im_in, Im_out, in_x, dim_im_in_y, ch, out_x, dim_im_out_y,
               dim_kernel_x, dim_kernel_y, padding_t, padding_b, padding_l, padding_r,
               stride_x, stride_y);
    need(padding_t < dim_kernel_y && padding_b < dim_kernel_y && padding_l < dim_kernel_x &&
             padding_r < dim_kernel_x,
         kernel, "padding must be smaller than the kernel");
    need(out_x <= in_x, kernel, "output wider than the input (rows are pooled in place)");
    unsigned id = (unsigned)pi_core_id(), first, last;

    /* Pass 1, in place: the first out_x pixels of every input row become the horizontal max. */
    uint8_t *tmp = malloc((size_t)out_x * ch);
    need(tmp != NULL, kernel, "out of host memory");
    share(dim_im_in_y, NUM_CORES, id, &first, &last);
    for (unsigned y = first; y < last; y++) {
        uint8_t *row = Im_in + (size_t)y * in_x * ch;
        for (unsigned ox = 0; ox < out_x; ox++)
            for (unsigned c = 0; c < ch; c++) {
                uint8_t m = 0;
                for (unsigned j = 0; j < dim_kernel_x; j++) {
                    long ix = (long)(ox * stride_x + j) - (long)padding_l;
                    if (ix >= 0 && ix < (long)in_x && row[(size_t)ix * ch + c] > m)
                        m = row[(size_t)ix * ch + c];
                }
                tmp[(size_t)ox * ch + c] = m;
            }
        memcpy(row, tmp, (size_t)out_x * ch);
    }
    free(tmp);
    pi_cl_team_barrier(0);

    /* Pass 2: vertical max of the pooled rows. */
    share(dim_im_out_y, NUM_CORES, id, &first, &last);
    for (unsigned oy = first; oy < last; oy++)
        for (size_t i = 0; i < (size_t)out_x * ch; i++) {
            uint8_t m = 0;
            for (unsigned j = 0; j < dim_kernel_y; j++) {
                long iy = (long)(oy * stride_y + j) - (long)padding_t;
                if (iy >= 0 && iy < (long)dim_im_in_y) {
                    uint8_t v = Im_in[(size_t)iy * in_x * ch + i];
                    m = v > m ? v : m;
                }
            }
            Im_out[(size_t)oy * out_x * ch + i] = m;
        }
}

void pulp_nn_avgpool(uint8_t *Im_in, uint8_t *Im_out, int32_t lambda, uint16_t out_shift,
                     int32_t out_add, uint16_t dim_im_in_x, uint16_t dim_im_in_y,
                     uint16_t ch_im_in, uint16_t dim_im_out_x, uint16_t dim_im_out_y,
                     uint16_t dim_kernel_x, uint16_t dim_kernel_y, uint16_t padding_t,
                     uint16_t padding_b, uint16_t padding_l, uint16_t padding_r,
                     uint16_t stride_x, uint16_t stride_y, int flag_requant)
{
    static const char *kernel = "pulp_nn_avgpool";
    unsigned ch = ch_im_in, in_x = dim_im_in_x, out_x = dim_im_out_x;
    check_pool(kernel, Im_in, Im_out, in_x, dim_im_in_y, ch, out_x, dim_im_out_y,
               dim_kernel_x, dim_kernel_y, padding_t, padding_b, padding_l, padding_r,
               stride_x, stride_y);
    need(padding_t == padding_b && padding_l == padding_r, kernel,
         "padding must be symmetric (the kernel divides by the full window)");
    need(!flag_requant || out_shift < 32, kernel, "out_shift is not below 32");
    uint32_t window = (uint32_t)dim_kernel_x * dim_kernel_y;
    unsigned first, last;
    share(dim_im_out_y, NUM_CORES, (unsigned)pi_core_id(), &first, &last);
    for (unsigned oy = first; oy < last; oy++)
        for (unsigned ox = 0; ox < out_x; ox++)
            for (unsigned c = 0; c < ch; c++) {
                int32_t sum = 0;
                for (unsigned i = 0; i < dim_kernel_y; i++) {
                    long iy = (long)(oy * stride_y + i) - (long)padding_t;
                    for (unsigned j = 0; j < dim_kernel_x; j++) {
                        long ix = (long)(ox * stride_x + j) - (long)padding_l;
                        if (iy >= 0 && iy < (long)dim_im_in_y && ix >= 0 && ix < (long)in_x)
                            sum += Im_in[((size_t)iy * in_x + (size_t)ix) * ch + c];
                    }
                }
                uint8_t y;
                if (flag_requant) {
                    uint32_t t = ((uint32_t)sum * (uint32_t)lambda) / window + (uint32_t)out_add;
                    y = clip8((int32_t)t >> out_shift);
                } else {
                    y = clip8(sum / (int32_t)window);
                }
                Im_out[((size_t)oy * out_x + ox) * ch + c] = y;
            }
}
