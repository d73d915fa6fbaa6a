/* PMSIS BSP HyperRAM configuration (as the GAP-8 SDK's `bsp/ram/hyperram.h`): subset. */
#ifndef DORY_BSP_RAM_HYPERRAM_H
#define DORY_BSP_RAM_HYPERRAM_H

#include "pmsis.h"
#include "bsp/ram.h"

struct pi_hyperram_conf {
    int ram_size;
};

void pi_hyperram_conf_init(struct pi_hyperram_conf *conf);

#endif /* DORY_BSP_RAM_HYPERRAM_H */
