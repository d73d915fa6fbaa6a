/*
 * The machine-dependent part of the dory-xdsl runtime. pmsis_host.c (PMSIS emulation: arenas,
 * DMA, L3, limit checks, perf) is shared; exactly one platform file is linked with it:
 * - platform_host.c: this machine (x86/any POSIX): 8 cluster cores are 8 threads, arenas are
 *   mmap'ed below 4 GB, cycles are monotonic nanoseconds / 10;
 * - platform_rv32.c: rv32imc + picolibc under qemu-system-riscv32 (semihosting): 8 cluster
 *   cores are coroutines on the one hart, switching at pi_cl_team_barrier and at the end of the
 *   team entry; arenas are static arrays; cycles are retired instructions (minstret).
 * Internal to the runtime: generated code never includes this header.
 */
#ifndef DORY_RUNTIME_PLATFORM_H
#define DORY_RUNTIME_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* State of one emulated cluster core (or of the fabric controller before a cluster task). */
struct dory_core {
    int id;           /* pi_core_id() */
    int on_cluster;   /* inside a cluster task or a team */
    int team_size;    /* > 0 inside pi_cl_team_fork */
    int perf_running; /* pi_perf_start .. pi_perf_stop */
    uint64_t perf_start, perf_total;
};

/* The calling core's state. */
struct dory_core *dory_platform_core(void);

/* The runtime's one lock (arenas, counters, L3): a mutex on the host, nothing on one hart. */
void dory_platform_lock(void);
void dory_platform_unlock(void);

/* `size` bytes (rounded up as the platform needs) backing the arena `name` ("L1", "L2"), at
 * an address below 4 GB; NULL when it cannot be provided. Called once per arena. */
uint8_t *dory_platform_arena(const char *name, uint32_t size);

/* The "cycle" counter of pi_perf_read: monotonic, per hart. */
uint64_t dory_platform_clock(void);

/* Run `entry(arg)` on cores 0 .. nb_cores-1 (the caller is core 0) with `team_size` set and
 * return when every core has returned from it. */
void dory_platform_team(int nb_cores, void (*entry)(void *), void *arg);

/* Wait until every core of the current team has reached the barrier. */
void dory_platform_barrier(void);

/* Called by dory_host_fail before it reports: returns in the first failing core only (the
 * others must never return: the first one ends the program). */
void dory_platform_failing(void);

#endif /* DORY_RUNTIME_PLATFORM_H */
