/*
 * Test driver for the host PMSIS runtime: `runtime_driver <scenario> [numbers...]`.
 * Scenarios run on the cluster (pi_cluster_send_task_to_cl) unless named fc_*; each prints
 * what it checked and the memory counters, or aborts through the runtime's checks.
 */
#include "pmsis.h"
#include "bsp/ram.h"
#include "bsp/ram/hyperram.h"

#include <stdlib.h>
#include <string.h>

#ifndef L1_SIZE
#define L1_SIZE 36700
#endif

static int argc_;
static char **argv_;
static struct pi_device ram;

static uint32_t arg(int i) { return i < argc_ ? (uint32_t)strtoul(argv_[i], NULL, 0) : 0; }
static uint32_t addr(const void *p) { return (uint32_t)(uintptr_t)p; }
static pi_cl_dma_dir_e dir_arg(int i) { return arg(i) ? PI_CL_DMA_DIR_EXT2LOC : PI_CL_DMA_DIR_LOC2EXT; }

static uint8_t pattern(uint32_t pos, uint32_t seed) { return (uint8_t)(pos * 31u + seed); }

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = pattern(i, seed);
}

static void expect(int ok, const char *what)
{
    if (!ok) {
        printf("MISMATCH %s\n", what);
        exit(2);
    }
}

static const uint8_t static_table[4096] = {1, 2, 3, 4, 5};

static void dma(void)
{
    uint32_t size = arg(2), stride = arg(3), length = arg(4);
    int two_d = !strcmp(argv_[1], "dma2d");
    pi_cl_dma_dir_e dir = dir_arg(two_d ? 5 : 3);
    if (!two_d)
        length = stride = size;
    uint32_t lines = length ? size / length : 0, span = lines ? (lines - 1) * stride + length : 1;
    uint8_t *ext = pi_l2_malloc((int)span), *loc = pi_cl_l1_malloc(NULL, size ? size : 1);
    fill(ext, span, 7);
    fill(loc, size, 99);
    pi_cl_dma_cmd_t cmd;
    if (two_d)
        pi_cl_dma_cmd_2d(addr(ext), addr(loc), size, stride, length, dir, &cmd);
    else
        pi_cl_dma_cmd(addr(ext), addr(loc), size, dir, &cmd);
    pi_cl_dma_cmd_wait(&cmd);
    for (uint32_t l = 0; l < lines; l++)
        for (uint32_t j = 0; j < length; j++) {
            uint32_t e = l * stride + j, m = l * length + j;
            uint8_t want = dir == PI_CL_DMA_DIR_EXT2LOC ? pattern(e, 7) : pattern(m, 99);
            expect(ext[e] == want && loc[m] == want, "dma byte");
        }
    printf("dma ok\n");
}

static void dma_bad_sides(void)
{
    uint8_t *l2 = pi_l2_malloc(128), *l1 = pi_cl_l1_malloc(NULL, 64);
    pi_cl_dma_cmd_t cmd;
    if (!strcmp(argv_[1], "dma_l1_outside"))
        pi_cl_dma_cmd(addr(l2), addr(l2), 64, PI_CL_DMA_DIR_EXT2LOC, &cmd);
    else if (!strcmp(argv_[1], "dma_ext_outside"))
        pi_cl_dma_cmd(addr(l1), addr(l1), 64, PI_CL_DMA_DIR_EXT2LOC, &cmd);
    else if (!strcmp(argv_[1], "dma_l1_overrun")) /* 65 bytes into a 64-byte block */
        pi_cl_dma_cmd(addr(l2), addr(l1), 65, PI_CL_DMA_DIR_EXT2LOC, &cmd);
    else { /* dma_l1_freed */
        pi_cl_l1_free(NULL, l1, 64);
        pi_cl_dma_cmd(addr(l2), addr(l1), 16, PI_CL_DMA_DIR_EXT2LOC, &cmd);
    }
    printf("not reached\n");
}

static void dma_static(void)
{
    uint8_t *loc = pi_cl_l1_malloc(NULL, sizeof static_table);
    pi_cl_dma_cmd_t cmd;
    pi_cl_dma_cmd(addr(static_table), addr(loc), sizeof static_table, PI_CL_DMA_DIR_EXT2LOC, &cmd);
    pi_cl_dma_cmd_wait(&cmd);
    expect(!memcmp(loc, static_table, sizeof static_table), "static table");
    printf("static ok\n");
}

/* MCHAN counters: mchan_outstanding N issues N commands before waiting for any (layer 3 named);
 * mchan_wait_twice waits one command twice; mchan_reuse issues twice into one struct. */
static void mchan(void)
{
    uint8_t *l2 = pi_l2_malloc(1024), *l1 = pi_cl_l1_malloc(NULL, 1024);
    pi_cl_dma_cmd_t cmds[32];
    dory_host_layer(3, "layer3_test");
    if (!strcmp(argv_[1], "mchan_wait_twice")) {
        pi_cl_dma_cmd(addr(l2), addr(l1), 16, PI_CL_DMA_DIR_EXT2LOC, &cmds[0]);
        pi_cl_dma_cmd_wait(&cmds[0]);
        pi_cl_dma_cmd_wait(&cmds[0]);
    } else if (!strcmp(argv_[1], "mchan_reuse")) {
        pi_cl_dma_cmd(addr(l2), addr(l1), 16, PI_CL_DMA_DIR_EXT2LOC, &cmds[0]);
        pi_cl_dma_cmd_2d(addr(l2), addr(l1), 16, 8, 4, PI_CL_DMA_DIR_EXT2LOC, &cmds[0]);
    } else {
        int n = (int)arg(2);
        for (int round = 0; round < 2; round++) { /* the second round reuses freed counters */
            for (int i = 0; i < n; i++)
                pi_cl_dma_cmd(addr(l2 + 32 * i), addr(l1 + 32 * i), 16, PI_CL_DMA_DIR_EXT2LOC, &cmds[i]);
            for (int i = n - 1; i >= 0; i--)
                pi_cl_dma_cmd_wait(&cmds[i]);
        }
        printf("peak %d\n", dory_host_dma_peak(3));
    }
}

static void alloc(void)
{
    int l1 = !strcmp(argv_[1], "l1_budget");
    for (int i = 2; i < argc_; i++) {
        void *p = l1 ? pi_cl_l1_malloc(NULL, arg(i)) : pi_l2_malloc((int)arg(i));
        memset(p, 0xab, arg(i));
    }
    printf("alloc ok\n");
}

static void free_wrong(void)
{
    void *p = pi_cl_l1_malloc(NULL, 100);
    pi_cl_l1_free(NULL, p, 96);
}

static void reuse(void)
{
    /* free + reallocate the whole budget many times: no leak of arena space */
    for (int i = 0; i < 100; i++) {
        void *a = pi_cl_l1_malloc(NULL, 1000), *b = pi_cl_l1_malloc(NULL, (uint32_t)L1_SIZE - 1000);
        pi_cl_l1_free(NULL, a, 1000);
        pi_cl_l1_free(NULL, b, (int)L1_SIZE - 1000);
    }
    printf("reuse ok\n");
}

static void ram_cluster(void)
{
    uint32_t at = arg(2), size = arg(3), stride = arg(4), length = arg(5);
    uint8_t *buf = pi_l2_malloc((int)size);
    pi_cl_ram_req_t req;
    if (length) {
        pi_cl_ram_read_2d(&ram, at, buf, size, stride, length, &req);
        pi_cl_ram_read_wait(&req);
        for (uint32_t l = 0; l < size / length; l++)
            for (uint32_t j = 0; j < length; j++)
                expect(buf[l * length + j] == pattern(at + l * stride + j, 5), "ram 2d");
    } else {
        pi_cl_ram_read(&ram, at, buf, size, &req);
        pi_cl_ram_read_wait(&req);
        for (uint32_t i = 0; i < size; i++)
            expect(buf[i] == pattern(at + i, 5), "ram 1d");
    }
    printf("ram ok\n");
}

/* --- barrier: every round each core publishes the round number, then checks all cores'. */
static volatile int slots[NUM_CORES];
static int barrier_errors, seen_ids;

static void barrier_entry(void *a)
{
    int rounds = *(int *)a, id = pi_core_id();
    __atomic_fetch_or(&seen_ids, 1 << id, __ATOMIC_RELAXED);
    for (int r = 1; r <= rounds; r++) {
        slots[id] = r;
        pi_cl_team_barrier(0);
        for (int j = 0; j < NUM_CORES; j++)
            if (slots[j] != r)
                __atomic_fetch_add(&barrier_errors, 1, __ATOMIC_RELAXED);
        pi_cl_team_barrier(0);
    }
}

static void barrier(void)
{
    int rounds = (int)arg(2);
    pi_cl_team_fork(NUM_CORES, barrier_entry, &rounds);
    printf("barrier rounds=%d errors=%d ids=%#x\n", rounds, barrier_errors, seen_ids);
}

static void nested_entry(void *a)
{
    (void)a;
    pi_cl_team_fork(NUM_CORES, nested_entry, NULL);
}

static void nested(void) { pi_cl_team_fork(NUM_CORES, nested_entry, NULL); }

static void cluster_entry(void *a)
{
    (void)a;
    const char *s = argv_[1];
    if (!strcmp(s, "dma1d") || !strcmp(s, "dma2d"))
        dma();
    else if (!strncmp(s, "mchan_", 6))
        mchan();
    else if (!strncmp(s, "dma_static", 10))
        dma_static();
    else if (!strncmp(s, "dma_", 4))
        dma_bad_sides();
    else if (!strcmp(s, "l1_budget") || !strcmp(s, "l2_budget"))
        alloc();
    else if (!strcmp(s, "l1_free_wrong"))
        free_wrong();
    else if (!strcmp(s, "l1_reuse"))
        reuse();
    else if (!strcmp(s, "ram"))
        ram_cluster();
    else if (!strcmp(s, "barrier"))
        barrier();
    else if (!strcmp(s, "nested_fork"))
        nested();
    else {
        printf("unknown scenario %s\n", s);
        exit(2);
    }
}

static void fc_main(void)
{
    struct pi_device cluster;
    struct pi_cluster_conf conf;
    struct pi_cluster_task task;
    struct pi_hyperram_conf ram_conf;
    pi_hyperram_conf_init(&ram_conf);
    pi_open_from_conf(&ram, &ram_conf);
    pi_ram_open(&ram);
    /* L3 holds the fill pattern with seed 5 over its first 64 KiB (FC-side writes). */
    uint8_t *stage = pi_l2_malloc(65536);
    fill(stage, 65536, 5);
    pi_ram_write(&ram, 0, stage, 65536);
    pi_l2_free(stage, 65536);
    dory_host_counters_reset();
    if (!strcmp(argv_[1], "fc_dma")) {
        pi_cl_dma_cmd_t cmd;
        pi_cl_dma_cmd(0, 0, 4, PI_CL_DMA_DIR_EXT2LOC, &cmd);
    }
    if (!strcmp(argv_[1], "fc_exit"))
        pmsis_exit((int)arg(2));
    pi_cluster_conf_init(&conf);
    pi_open_from_conf(&cluster, &conf);
    pi_cluster_open(&cluster);
    pi_perf_conf(1 << PI_PERF_CYCLES);
    pi_perf_reset();
    pi_perf_start();
    pi_cluster_send_task_to_cl(&cluster, pi_cluster_task(&task, cluster_entry, NULL));
    pi_perf_stop();
    pi_cluster_close(&cluster);
    dory_host_counters_print(stdout);
    printf("cycles %u\n", pi_perf_read(PI_PERF_CYCLES));
    pmsis_exit(0);
}

int main(int argc, char **argv)
{
    argc_ = argc;
    argv_ = argv;
    if (argc < 2) {
        fprintf(stderr, "usage: runtime_driver <scenario> [args]\n");
        return 2;
    }
    return pmsis_kickoff((void *)fc_main);
}
