/*
 * rv32 platform of the runtime (runtime_platform.h): rv32imc + picolibc on qemu-system-riscv32
 * (`virt`, machine mode, semihosting for stdio and files). One hart, no atomics, no threads:
 * the NUM_CORES cluster cores are coroutines. Core 0 runs on the program stack; cores 1..7 on
 * their own stacks (DORY_RV32_CORE_STACK bytes each). A core runs until it reaches
 * pi_cl_team_barrier or returns from the team entry, then the next core of the team runs
 * (round robin), so every interleaving the barriers allow is a legal schedule of the SPMD code.
 * A team whose cores cannot all reach the barrier fails instead of hanging. Cycles are
 * retired instructions (minstret; QEMU counts them with -icount). Compile this file with
 * -march=rv32imc_zicsr (for csrr) and link with --specs=picolibc.specs.
 */
#include "pmsis.h"
#include "runtime_platform.h"

#include <stdlib.h>

#ifndef DORY_RV32_CORE_STACK
#define DORY_RV32_CORE_STACK 16384
#endif
#define STACK_CANARY 0x5eedc0deu
#define CANARY_WORDS 16

/* ------------------------------------------------------------------- context switch */

/* Callee-saved state of a coroutine: ra, sp, s0..s11 (ilp32 calling convention). */
struct context {
    uint32_t regs[14];
};

void dory_rv32_switch(struct context *from, const struct context *to);

__asm__(".text\n"
        ".globl dory_rv32_switch\n"
        ".type dory_rv32_switch, @function\n"
        "dory_rv32_switch:\n"
        "  sw ra, 0(a0)\n  sw sp, 4(a0)\n  sw s0, 8(a0)\n  sw s1, 12(a0)\n"
        "  sw s2, 16(a0)\n  sw s3, 20(a0)\n  sw s4, 24(a0)\n  sw s5, 28(a0)\n"
        "  sw s6, 32(a0)\n  sw s7, 36(a0)\n  sw s8, 40(a0)\n  sw s9, 44(a0)\n"
        "  sw s10, 48(a0)\n  sw s11, 52(a0)\n"
        "  lw ra, 0(a1)\n  lw sp, 4(a1)\n  lw s0, 8(a1)\n  lw s1, 12(a1)\n"
        "  lw s2, 16(a1)\n  lw s3, 20(a1)\n  lw s4, 24(a1)\n  lw s5, 28(a1)\n"
        "  lw s6, 32(a1)\n  lw s7, 36(a1)\n  lw s8, 40(a1)\n  lw s9, 44(a1)\n"
        "  lw s10, 48(a1)\n  lw s11, 52(a1)\n"
        "  ret\n"
        ".size dory_rv32_switch, .-dory_rv32_switch\n");

/* ------------------------------------------------------------------- cores and team */

static struct dory_core cores[NUM_CORES];
static struct context contexts[NUM_CORES];
static uint32_t stacks[NUM_CORES][DORY_RV32_CORE_STACK / 4] __attribute__((aligned(16)));
static int current;   /* index of the running core */
static int finished[NUM_CORES];
static int team_size;
static void (*team_entry)(void *);
static void *team_arg;
static int returned;  /* cores that returned from the team entry */
static int barrier_waiting;
static unsigned barrier_generation;

struct dory_core *dory_platform_core(void) { return &cores[current]; }

void dory_platform_lock(void) {}

void dory_platform_unlock(void) {}

void dory_platform_failing(void) {}

static void check_stack(int core)
{
    if (core == 0)
        return;
    for (int i = 0; i < CANARY_WORDS; i++)
        if (stacks[core][i] != STACK_CANARY)
            dory_host_fail("pi_cl_team_fork", "a core overflowed its emulation stack "
                                              "(DORY_RV32_CORE_STACK)");
}

/* Switch to the next core of the team that has not returned from the entry. */
static void yield(void)
{
    int next = current;
    do
        next = (next + 1) % team_size;
    while (finished[next] && next != current);
    if (next == current)
        return;
    int previous = current;
    check_stack(previous);
    current = next;
    dory_rv32_switch(&contexts[previous], &contexts[next]);
}

/* Fails when the cores waiting at the barrier can never be joined by the others. */
static void check_deadlock(void)
{
    if (barrier_waiting > 0 && barrier_waiting + returned == team_size)
        dory_host_fail("pi_cl_team_barrier", "a core returned from the team entry while others "
                                             "wait at a barrier (a deadlock on GAP-8)");
}

static void __attribute__((noreturn)) core_main(void)
{
    struct dory_core *self = &cores[current];
    self->on_cluster = 1;
    self->team_size = team_size;
    team_entry(team_arg);
    self->team_size = 0;
    self->on_cluster = 0;
    finished[current] = 1;
    returned++;
    check_deadlock();
    for (;;)
        yield(); /* never resumed: finished cores are skipped */
}

void dory_platform_team(int nb_cores, void (*entry)(void *), void *arg)
{
    team_size = nb_cores;
    team_entry = entry;
    team_arg = arg;
    barrier_waiting = 0;
    returned = 0;
    for (int i = 1; i < nb_cores; i++) {
        finished[i] = 0;
        cores[i].id = i;
        for (int w = 0; w < CANARY_WORDS; w++)
            stacks[i][w] = STACK_CANARY;
        contexts[i].regs[0] = (uint32_t)(uintptr_t)core_main;
        contexts[i].regs[1] = (uint32_t)(uintptr_t)&stacks[i][DORY_RV32_CORE_STACK / 4];
    }
    cores[0].team_size = nb_cores;
    entry(arg);
    cores[0].team_size = 0;
    returned++; /* core 0 stays schedulable: it waits here for the others */
    while (returned < nb_cores) {
        check_deadlock();
        yield();
    }
    for (int i = 1; i < nb_cores; i++)
        check_stack(i);
}

void dory_platform_barrier(void)
{
    unsigned generation = barrier_generation;
    if (++barrier_waiting == team_size) {
        barrier_waiting = 0;
        barrier_generation++;
        return;
    }
    while (barrier_generation == generation) {
        check_deadlock();
        yield();
    }
}

/* ------------------------------------------------------------------ memory and clock */

uint8_t *dory_platform_arena(const char *name, uint32_t size)
{
    (void)name;
    return malloc(size ? size : 4); /* the whole address space is below 4 GB */
}

uint64_t dory_platform_clock(void)
{
    uint32_t hi, lo, again;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(again));
    } while (hi != again);
    return ((uint64_t)hi << 32) | lo;
}

/* ----------------------------------------------------- atomics on one cooperative hart */

/* rv32imc has no A extension: GCC calls libatomic for __atomic_* builtins. With one hart and
 * no preemption every plain read-modify-write is atomic, so these are the whole libatomic the
 * runtime needs (declared under their libatomic names through asm labels). */
#define FETCH_OP(name, type, size, op)                                                        \
    type dory_atomic_##name##_##size(volatile void *p, type v, int order)                     \
        __asm__("__atomic_" #name "_" #size);                                                  \
    type dory_atomic_##name##_##size(volatile void *p, type v, int order)                     \
    {                                                                                          \
        (void)order;                                                                           \
        type old = *(volatile type *)p;                                                        \
        *(volatile type *)p = op;                                                              \
        return old;                                                                            \
    }
#define OP_FETCH(name, type, size, op)                                                        \
    type dory_atomic_##name##_##size(volatile void *p, type v, int order)                     \
        __asm__("__atomic_" #name "_" #size);                                                  \
    type dory_atomic_##name##_##size(volatile void *p, type v, int order)                     \
    {                                                                                          \
        (void)order;                                                                           \
        type old = *(volatile type *)p;                                                        \
        return *(volatile type *)p = op;                                                       \
    }
#define FETCH_OPS(size, type)                                                                  \
    OP_FETCH(add_fetch, type, size, old + v)                                                   \
    OP_FETCH(sub_fetch, type, size, old - v)                                                   \
    FETCH_OP(fetch_add, type, size, old + v)                                                   \
    FETCH_OP(fetch_sub, type, size, old - v)                                                   \
    FETCH_OP(fetch_and, type, size, old & v)                                                   \
    FETCH_OP(fetch_or, type, size, old | v)                                                    \
    FETCH_OP(fetch_xor, type, size, old ^ v)                                                   \
    FETCH_OP(exchange, type, size, v)

FETCH_OPS(4, uint32_t)
FETCH_OPS(8, uint64_t)

uint64_t dory_atomic_load_8(const volatile void *p, int order) __asm__("__atomic_load_8");
uint64_t dory_atomic_load_8(const volatile void *p, int order)
{
    (void)order;
    return *(const volatile uint64_t *)p;
}

void dory_atomic_store_8(volatile void *p, uint64_t v, int order) __asm__("__atomic_store_8");
void dory_atomic_store_8(volatile void *p, uint64_t v, int order)
{
    (void)order;
    *(volatile uint64_t *)p = v;
}
