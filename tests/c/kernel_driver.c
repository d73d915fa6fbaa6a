/*
 * Test driver: runs host PULP-NN kernel calls described on stdin on a NUM_CORES team.
 *
 * Input, a sequence of little-endian frames until EOF:
 *   int32 kernel id (see enum below), int32 team size, int32 L1 block size,
 *   int32 nparams, int64 params[nparams],
 *   int32 nbufs, then per buffer: int32 where (-1: NULL, -2: pi_l2_malloc, >= 0: byte offset
 *   in the L1 block), int32 length, length bytes of initial content.
 * Output per frame: the final content of every non-NULL buffer, in order.
 * Buffers at equal offsets alias (in-place calls); the caller lays out the L1 block.
 */
#include "pmsis.h"
#include "pulp_nn_kernels.h"

#include <stdlib.h>
#include <string.h>

enum { CONV, POINTWISE, DEPTHWISE, DEPTHWISE_LESS_4, LINEAR, LINEAR_OUT_32, ADD, MAXPOOL, AVGPOOL };

#define MAX_PARAMS 32
#define MAX_BUFS 8

struct frame {
    int32_t kernel, cores, l1_size, nparams, nbufs;
    int64_t p[MAX_PARAMS];
    int32_t where[MAX_BUFS], len[MAX_BUFS];
    uint8_t *init[MAX_BUFS];
    uint8_t *ptr[MAX_BUFS];
};

static int read_i32(int32_t *v) { return fread(v, 4, 1, stdin) == 1; }

static void run_kernel(void *arg)
{
    struct frame *f = arg;
    int64_t *p = f->p;
    void **b = (void **)f->ptr;
#define U16(i) ((uint16_t)p[i])
    switch (f->kernel) {
    case CONV:
    case POINTWISE:
        (f->kernel == CONV ? pulp_nn_conv_Ho_parallel : pulp_nn_pointwise_HoWo_parallel)(
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], U16(0), U16(1), U16(2), U16(3), U16(4),
            U16(5), U16(6), U16(7), U16(8), U16(9), U16(10), U16(11), U16(12), U16(13),
            U16(14), U16(15), (int)p[16], (int)p[17]);
        break;
    case DEPTHWISE:
    case DEPTHWISE_LESS_4:
        (f->kernel == DEPTHWISE ? pulp_nn_depthwise_generic
                                : pulp_nn_depthwise_generic_less_4_weights)(
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], U16(0), U16(1), U16(2), U16(3),
            U16(4), U16(5), U16(6), U16(7), U16(8), U16(9), U16(10), U16(11), U16(12), U16(13),
            U16(14), U16(15), (int8_t)p[16], (int8_t)p[17]);
        break;
    case LINEAR:
        pulp_nn_linear(b[0], b[1], b[2], b[3], b[4], b[5], U16(0), (int8_t)p[1], U16(2), U16(3),
                       (int)p[4], (int)p[5]);
        break;
    case LINEAR_OUT_32:
        pulp_nn_linear_out_32(b[0], b[1], b[2], b[3], U16(0), U16(1));
        break;
    case ADD:
        pulp_nn_add(b[0], b[1], b[2], U16(0), U16(1), U16(2), U16(3), U16(4), U16(5));
        break;
    case MAXPOOL:
        pulp_nn_maxpool(b[0], b[1], U16(0), U16(1), U16(2), U16(3), U16(4), U16(5), U16(6),
                        U16(7), U16(8), U16(9), U16(10), U16(11), U16(12));
        break;
    case AVGPOOL:
        pulp_nn_avgpool(b[0], b[1], (int32_t)p[0], U16(1), (int32_t)p[2], U16(3), U16(4),
                        U16(5), U16(6), U16(7), U16(8), U16(9), U16(10), U16(11), U16(12),
                        U16(13), U16(14), U16(15), (int)p[16]);
        break;
    default:
        dory_host_fail("kernel_driver", "unknown kernel id");
    }
#undef U16
}

static void cluster_entry(void *arg)
{
    struct frame *f = arg;
    uint8_t *block = f->l1_size > 0 ? pi_cl_l1_malloc(NULL, (uint32_t)f->l1_size) : NULL;
    for (int i = 0; i < f->nbufs; i++) {
        if (f->where[i] == -1)
            f->ptr[i] = NULL;
        else if (f->where[i] == -2)
            f->ptr[i] = pi_l2_malloc(f->len[i]);
        else
            f->ptr[i] = block + f->where[i];
    }
    for (int i = 0; i < f->nbufs; i++) /* later buffers win where they alias */
        if (f->ptr[i])
            memcpy(f->ptr[i], f->init[i], (size_t)f->len[i]);
    pi_cl_team_fork(f->cores, run_kernel, f);
    for (int i = 0; i < f->nbufs; i++)
        if (f->ptr[i])
            fwrite(f->ptr[i], 1, (size_t)f->len[i], stdout);
    for (int i = f->nbufs - 1; i >= 0; i--)
        if (f->where[i] == -2)
            pi_l2_free(f->ptr[i], f->len[i]);
    if (block)
        pi_cl_l1_free(NULL, block, f->l1_size);
}

int main(void)
{
    struct pi_device cluster;
    struct pi_cluster_conf conf;
    struct pi_cluster_task task;
    pi_cluster_conf_init(&conf);
    pi_open_from_conf(&cluster, &conf);
    pi_cluster_open(&cluster);
    struct frame f;
    while (read_i32(&f.kernel)) {
        if (!read_i32(&f.cores) || !read_i32(&f.l1_size) || !read_i32(&f.nparams) ||
            f.nparams > MAX_PARAMS || fread(f.p, 8, (size_t)f.nparams, stdin) != (size_t)f.nparams ||
            !read_i32(&f.nbufs) || f.nbufs > MAX_BUFS)
            dory_host_fail("kernel_driver", "malformed frame header");
        for (int i = 0; i < f.nbufs; i++) {
            if (!read_i32(&f.where[i]) || !read_i32(&f.len[i]) || f.len[i] < 0)
                dory_host_fail("kernel_driver", "malformed buffer header");
            f.init[i] = malloc((size_t)f.len[i] + 1);
            if (fread(f.init[i], 1, (size_t)f.len[i], stdin) != (size_t)f.len[i])
                dory_host_fail("kernel_driver", "truncated buffer");
        }
        pi_cluster_send_task_to_cl(&cluster, pi_cluster_task(&task, cluster_entry, &f));
        for (int i = 0; i < f.nbufs; i++)
            free(f.init[i]);
        fflush(stdout);
    }
    pi_cluster_close(&cluster);
    return 0;
}
