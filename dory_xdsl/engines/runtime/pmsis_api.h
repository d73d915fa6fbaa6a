/*
 * The PMSIS / pmsis_bsp subset that dory-xdsl generated code may call, declared portably.
 *
 * This header is the compile-time contract shared by the host runtime (`pmsis.h` includes it)
 * and the 32-bit RISC-V compile check (which uses it alone as `pmsis.h`): generated code that
 * compiles against it uses nothing beyond the GAP-8 SDK functions listed in
 * docs/pulp-nn-api.md, plus the few SDK calls a GAP-8 `main` needs (frequency setup, kick-off).
 * As in the GAP-8 SDK (pulp-os), the RAM, flash and file-system APIs are not declared here but
 * in the PMSIS BSP headers the code must include: `bsp/ram.h`, `bsp/ram/hyperram.h`,
 * `bsp/flash.h`, `bsp/flash/hyperflash.h`, `bsp/fs.h`, `bsp/fs/readfs.h` (in `bsp/`).
 *
 * Addresses passed as `uint32_t` (DMA, RAM) are written `(uint32_t)(uintptr_t)ptr` by the
 * generator; the host runtime maps its L1/L2 arenas below 4 GB and links without PIE so the
 * conversion is lossless there too.
 */
#ifndef DORY_PMSIS_API_H
#define DORY_PMSIS_API_H

#include <stddef.h>
#include <stdint.h>

/* printf is available to generated code through pmsis.h, as in the SDK. */
int printf(const char *format, ...);

/* ------------------------------------------------------------------ devices and cluster */
struct pi_device {
    void *config;
    void *data;
};

struct pi_cluster_conf {
    int id;
};

struct pi_cluster_task {
    void (*entry)(void *arg);
    void *arg;
    void *stacks;
    uint32_t stack_size;
    uint32_t slave_stack_size;
    int nb_cores;
};

void pi_cluster_conf_init(struct pi_cluster_conf *conf);
void pi_open_from_conf(struct pi_device *device, void *conf);
int pi_cluster_open(struct pi_device *device);
struct pi_cluster_task *pi_cluster_task(struct pi_cluster_task *task, void (*entry)(void *),
                                        void *arg);
int pi_cluster_send_task_to_cl(struct pi_device *device, struct pi_cluster_task *task);
int pi_cluster_close(struct pi_device *device);

/* --------------------------------------------------------------------- team (SPMD) */
void pi_cl_team_fork(int nb_cores, void (*entry)(void *), void *arg);
void pi_cl_team_barrier(); /* unprototyped as in the SDK; called as pi_cl_team_barrier(0) */
int pi_core_id(void);
int pi_cl_cluster_nb_cores(void);

/* ------------------------------------------------------------------------- memory */
void *pi_cl_l1_malloc(struct pi_device *device, uint32_t size);
void pi_cl_l1_free(struct pi_device *device, void *chunk, int size);
void *pmsis_l1_malloc(uint32_t size);
void pmsis_l1_malloc_free(void *chunk, int size);
void *pi_l2_malloc(int size);
void pi_l2_free(void *chunk, int size);

/* ---------------------------------------------------------------------- cluster DMA */
typedef enum {
    PI_CL_DMA_DIR_LOC2EXT = 0,
    PI_CL_DMA_DIR_EXT2LOC = 1,
} pi_cl_dma_dir_e;

typedef struct pi_cl_dma_cmd_s {
    int id;
    uint32_t size;
    struct pi_cl_dma_cmd_s *next;
} pi_cl_dma_cmd_t;

void pi_cl_dma_cmd(uint32_t ext, uint32_t loc, uint32_t size, pi_cl_dma_dir_e dir,
                   pi_cl_dma_cmd_t *cmd);
void pi_cl_dma_cmd_2d(uint32_t ext, uint32_t loc, uint32_t size, uint32_t stride,
                      uint32_t length, pi_cl_dma_dir_e dir, pi_cl_dma_cmd_t *cmd);
void pi_cl_dma_cmd_wait(pi_cl_dma_cmd_t *cmd);

/* ------------------------------------------------------------ clocks, perf, start-up */
typedef enum {
    PI_FREQ_DOMAIN_FC = 0,
    PI_FREQ_DOMAIN_CL = 1,
} pi_freq_domain_e;

int32_t pi_freq_set(pi_freq_domain_e domain, uint32_t freq);

typedef enum {
    PI_PERF_CYCLES = 0,
    PI_PERF_ACTIVE_CYCLES = 1,
} pi_perf_event_e;

void pi_perf_conf(unsigned events);
void pi_perf_reset(void);
void pi_perf_start(void);
void pi_perf_stop(void);
unsigned int pi_perf_read(int id);

int pmsis_kickoff(void *entry);
void pmsis_exit(int err);

#endif /* DORY_PMSIS_API_H */
