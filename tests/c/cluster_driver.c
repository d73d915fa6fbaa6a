/*
 * Test driver for the runtime's cluster model: `cluster_driver <scenario> [numbers...]`.
 * - stacks <stack_size> <slave_stack_size>: a cluster task with these stacks, against the
 *   stack needs table below (as the engines link it); prints "stacks ok" or aborts.
 * - rounds <n>: n barrier rounds; in each, every core writes its slot, the barrier, then every
 *   core checks all slots (a core running past the barrier early would see stale values).
 * - early_return: core 3 returns from the team entry while the others wait at a barrier (a
 *   deadlock on GAP-8; the rv32 coroutine team detects it, host threads would hang).
 */
#include "pmsis.h"

#include <stdlib.h>
#include <string.h>

const struct dory_stack_need dory_cluster_stack_needs[] = {
    {"task_entry", 100u, 0},
    {"layer_a", 1500u, 1},
    {"layer_b", 900u, 1},
    {0, 0u, 0},
};

static int argc_;
static char **argv_;
static volatile int slots[NUM_CORES];
static volatile int errors;

static int arg(int i) { return i < argc_ ? atoi(argv_[i]) : 0; }

static void rounds_entry(void *a)
{
    (void)a;
    int id = pi_core_id(), rounds = arg(2);
    for (int r = 1; r <= rounds; r++) {
        slots[id] = r;
        pi_cl_team_barrier(0);
        for (int c = 0; c < NUM_CORES; c++)
            if (slots[c] != r)
                errors++;
        pi_cl_team_barrier(0);
    }
}

static void early_entry(void *a)
{
    (void)a;
    if (pi_core_id() == 3)
        return;
    pi_cl_team_barrier(0);
}

static void cluster_entry(void *a)
{
    (void)a;
    if (!strcmp(argv_[1], "rounds"))
        pi_cl_team_fork(NUM_CORES, rounds_entry, NULL);
    else if (!strcmp(argv_[1], "early_return"))
        pi_cl_team_fork(NUM_CORES, early_entry, NULL);
}

static void fc_main(void)
{
    struct pi_device cluster;
    struct pi_cluster_conf conf;
    struct pi_cluster_task task;
    pi_cluster_conf_init(&conf);
    pi_open_from_conf(&cluster, &conf);
    pi_cluster_open(&cluster);
    pi_cluster_task(&task, cluster_entry, NULL);
    task.stack_size = 4096;
    task.slave_stack_size = 2048;
    if (!strcmp(argv_[1], "stacks")) {
        task.stack_size = (uint32_t)arg(2);
        task.slave_stack_size = (uint32_t)arg(3);
    }
    pi_cluster_send_task_to_cl(&cluster, &task);
    pi_cluster_close(&cluster);
    printf("%s ok errors=%d\n", argv_[1], errors);
    pmsis_exit(errors != 0);
}

int main(int argc, char **argv)
{
    argc_ = argc;
    argv_ = argv;
    if (argc < 2) {
        fprintf(stderr, "usage: cluster_driver <scenario> [args]\n");
        return 2;
    }
    return pmsis_kickoff((void *)fc_main);
}
