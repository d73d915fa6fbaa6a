/*
 * Host implementation of the PMSIS subset used by dory-xdsl generated code (see pmsis_api.h).
 *
 * Build the runtime and the application together with gcc -std=gnu11 -no-pie -pthread and
 * optionally -DL1_SIZE=<bytes> (default 36700: the L1 budget DORY gives the tiler),
 * -DL2_SIZE=<bytes> (default 512000), -DL3_SIZE=<bytes> (default 8 MiB), -DNUM_CORES=8.
 *
 * On rv32 (QEMU, picolibc) the same runtime is linked with platform_rv32.c instead of
 * platform_host.c (runtime_platform.h); DORY_HOST_RUNTIME is defined there too.
 *
 * What the host emulates and checks:
 * - pi_cl_team_fork runs the entry on NUM_CORES real threads (rv32: coroutines on one hart);
 *   pi_cl_team_barrier is a real barrier; pi_core_id is per core.
 * - L1 and L2 are arenas of exactly L1_SIZE / L2_SIZE bytes mapped below 4 GB; allocations are
 *   4-byte aligned, first fit; exhausting an arena or freeing with a wrong size aborts.
 *   Unallocated arena bytes are poisoned for AddressSanitizer.
 * - Cluster DMA copies at issue time and asserts the GAP-8 MCHAN limits (<= 65535 B per
 *   command, 1-D size < 32768, 2-D line length and stride < 32768, size a multiple of the line
 *   length; at most 16 commands outstanding: each holds one of the 16 transfer counters from
 *   its pi_cl_dma_cmd(_2d) until its pi_cl_dma_cmd_wait, and the 17th would stall the core
 *   for ever; waiting a command that is not outstanding, or reusing its struct before the
 *   wait, frees another command's counter on the chip and fails here), that the
 *   local side lies inside one allocated L1 block and the external side inside L2 (an
 *   allocated L2 block or the program's static data, which is L2 on GAP-8). Bytes and commands are counted per direction.
 * - L3 HyperRAM is a malloc'ed L3_SIZE array behind pi_ram_* (FC side) and pi_cl_ram_*
 *   (cluster side), bounds-checked and counted (declared in bsp/ram.h, as in the SDK).
 * - HyperFlash and its read-only file system (bsp/flash*.h, bsp/fs*.h) read the files of the
 *   working directory (fs_host.c).
 * - With a stack needs table linked (dory_cluster_stack_needs, below), the cluster task's
 *   stacks must hold every measured call chain and fit L1 with the arena.
 * Every violated condition prints one line "<function>: <condition>" on stderr and aborts.
 */
#ifndef DORY_PMSIS_H
#define DORY_PMSIS_H

#include <stdio.h>

#include "pmsis_api.h"

#define DORY_HOST_RUNTIME 1

#ifndef NUM_CORES
#define NUM_CORES 8
#endif

/* Counters of the emulated memory system, for the generated main to print. */
struct dory_host_counters {
    uint64_t dma_bytes[2];    /* indexed by pi_cl_dma_dir_e: [LOC2EXT], [EXT2LOC] */
    uint64_t dma_commands[2]; /* one per pi_cl_dma_cmd / pi_cl_dma_cmd_2d call */
    uint64_t ram_read_bytes;  /* L3 -> L2, FC and cluster side */
    uint64_t ram_write_bytes; /* L2 -> L3 */
    uint64_t ram_reads;
    uint64_t ram_writes;
    uint32_t l1_peak;         /* high-water mark of the L1 arena, bytes */
    uint32_t l2_peak;
};

void dory_host_counters_get(struct dory_host_counters *out);
void dory_host_counters_reset(void);
/* Prints "dma: ext2loc <B> B / <N> cmds, loc2ext <B> B / <N> cmds, l3: read ..., write ..." */
void dory_host_counters_print(FILE *stream);

/* Names the layer whose cluster-DMA commands follow (called before its pi_cl_team_fork): the
 * MCHAN counter check names it, and its peak of outstanding commands is recorded. Prints as
 * "dma outstanding peak per layer: <peak of layer 0> <layer 1> ..." after the counters line. */
void dory_host_layer(int index, const char *name);
/* Most cluster-DMA commands outstanding at once during a layer (0 if it issued none). */
int dory_host_dma_peak(int layer);

/* Whether [ptr, ptr+size) lies in one allocated L1 block / in L2 (an allocated L2 block or the
 * program's static data); used by the host PULP-NN kernels to check operand residency. */
int dory_host_in_l1(const void *ptr, size_t size);
int dory_host_in_l2(const void *ptr, size_t size);
/* Limits the L2 heap (pi_l2_malloc) to `bytes`, what GAP-8's 524,288 B of L2 leave beside the
 * app's code, static data and the runtime: call before the first pi_l2_malloc. */
void dory_host_l2_heap(int32_t bytes);
/* Size of the current team (inside pi_cl_team_fork), else 0. */
int dory_host_team_size(void);
/* Prints "<where>: <what>" on stderr and aborts (first failing thread only). */
void dory_host_fail(const char *where, const char *what) __attribute__((noreturn));

/* Deepest stack of a function run on the cluster, measured on the rv32 build
 * (dory_xdsl.stack_usage). An app may link a table `dory_cluster_stack_needs[]` (ended by a NULL
 * function): the cluster task entry (on_every_core 0, run by core 0 on the master stack), then
 * every team entry (on_every_core 1: on all cores, inside the task entry's chain on core 0).
 * pi_cluster_send_task_to_cl then checks the task's stack_size / slave_stack_size against it
 * and that the NUM_CORES stacks and the L1 arena fit the 64 KiB of L1. */
struct dory_stack_need {
    const char *function;
    uint32_t bytes;
    int on_every_core;
};

#endif /* DORY_PMSIS_H */
