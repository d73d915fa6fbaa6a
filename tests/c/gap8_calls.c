/*
 * Calls every PULP-NN kernel and PMSIS function of the GAP-8 API subset, the way generated
 * code does; compiled (-c) for rv32imc against the prototypes only, and for the host.
 */
#include "pmsis.h"
#include "bsp/ram.h"
#include "bsp/ram/hyperram.h"
#include "pulp_nn_kernels.h"

#ifdef PULP_NN_REQUANT_64
typedef int64_t kl_t; /* the 64bit/ variant of PULP-NN */
#else
typedef int32_t kl_t;
#endif

struct layer_args {
    uint8_t *in, *out, *im2col;
    int8_t *w, *b;
    kl_t *k, *l;
};

static void layer(void *arg)
{
    struct layer_args *a = arg;
    pulp_nn_conv_Ho_parallel(a->in, a->im2col, a->b, a->out, a->w, a->k, a->l, 1, 8, 8, 8, 16, 8,
                             8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    pulp_nn_pointwise_HoWo_parallel(a->in, NULL, a->b, a->out, a->w, a->k, a->l, 1, 8, 8, 8, 16,
                                    8, 8, 32, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
    pulp_nn_depthwise_generic(a->in, a->im2col, a->b, a->out, a->w, NULL, a->k, a->l, 1, 8, 8,
                              8, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    pulp_nn_depthwise_generic_less_4_weights(a->in, a->im2col, a->b, a->out, a->w, NULL, a->k,
                                             a->l, 1, 8, 8, 8, 16, 8, 8, 16, 1, 3, 1, 1, 0, 0,
                                             1, 1, 1, 1);
    pulp_nn_linear(a->in, a->b, a->out, a->w, a->k, a->l, 1, 8, 64, 10, 1, 1);
    pulp_nn_linear_out_32(a->in, a->b, (int32_t *)a->out, a->w, 64, 10);
    pulp_nn_add(a->in, a->in, a->out, 1, 1, 1, 8, 8, 16);
    pi_cl_team_barrier(0);
    pulp_nn_maxpool(a->in, a->out, 8, 8, 16, 4, 4, 2, 2, 0, 0, 0, 0, 2, 2);
    pulp_nn_avgpool(a->in, a->out, 1, 0, 0, 8, 8, 16, 4, 4, 2, 2, 0, 0, 0, 0, 2, 2, 1);
    (void)pi_core_id();
}

static struct pi_device ram;

static void cluster(void *arg)
{
    struct layer_args a;
    pi_cl_dma_cmd_t dma;
    pi_cl_ram_req_t req;
    uint8_t *l1 = pi_cl_l1_malloc(NULL, 4096);
    uint8_t *l2 = arg;
    a.in = l1;
    a.out = l1 + 1024;
    a.im2col = l1 + 2048;
    a.w = (int8_t *)l1 + 3072;
    a.b = (int8_t *)l1 + 3584;
    a.k = (kl_t *)(l1 + 3600);
    a.l = (kl_t *)(l1 + 3800);
    pi_cl_dma_cmd((uint32_t)(uintptr_t)l2, (uint32_t)(uintptr_t)l1, 64, PI_CL_DMA_DIR_EXT2LOC, &dma);
    pi_cl_dma_cmd_wait(&dma);
    pi_cl_dma_cmd_2d((uint32_t)(uintptr_t)l2, (uint32_t)(uintptr_t)l1, 64, 32, 16,
                     PI_CL_DMA_DIR_LOC2EXT, &dma);
    pi_cl_dma_cmd_wait(&dma);
    pi_cl_ram_read(&ram, 0, l2, 64, &req);
    pi_cl_ram_read_wait(&req);
    pi_cl_ram_read_2d(&ram, 0, l2, 64, 32, 16, &req);
    pi_cl_ram_read_wait(&req);
    pi_cl_ram_write(&ram, 0, l2, 64, &req);
    pi_cl_ram_write_wait(&req);
    pi_cl_ram_write_2d(&ram, 0, l2, 64, 32, 16, &req);
    pi_cl_ram_write_wait(&req);
    pi_cl_team_fork(pi_cl_cluster_nb_cores(), layer, &a);
    pi_cl_l1_free(NULL, l1, 4096);
    void *p = pmsis_l1_malloc(16);
    pmsis_l1_malloc_free(p, 16);
}

static void start(void)
{
    struct pi_device dev;
    struct pi_cluster_conf conf;
    struct pi_cluster_task task;
    struct pi_hyperram_conf ram_conf;
    uint32_t l3;
    pi_freq_set(PI_FREQ_DOMAIN_FC, 100000000);
    pi_freq_set(PI_FREQ_DOMAIN_CL, 100000000);
    pi_hyperram_conf_init(&ram_conf);
    pi_open_from_conf(&ram, &ram_conf);
    if (pi_ram_open(&ram))
        pmsis_exit(-1);
    pi_ram_alloc(&ram, &l3, 1024);
    uint8_t *l2 = pi_l2_malloc(1024);
    pi_ram_write(&ram, l3, l2, 64);
    pi_ram_read(&ram, l3, l2, 64);
    pi_cluster_conf_init(&conf);
    pi_open_from_conf(&dev, &conf);
    if (pi_cluster_open(&dev))
        pmsis_exit(-1);
    pi_perf_conf(1 << PI_PERF_CYCLES);
    pi_perf_reset();
    pi_perf_start();
    pi_cluster_send_task_to_cl(&dev, pi_cluster_task(&task, cluster, l2));
    pi_perf_stop();
    printf("cycles %u\n", pi_perf_read(PI_PERF_CYCLES));
    pi_cluster_close(&dev);
    pi_ram_free(&ram, l3, 1024);
    pi_ram_close(&ram);
    pi_l2_free(l2, 1024);
    pmsis_exit(0);
}

int main(void) { return pmsis_kickoff((void *)start); }
