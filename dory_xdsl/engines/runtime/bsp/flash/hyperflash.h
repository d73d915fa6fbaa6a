/* PMSIS BSP HyperFlash configuration (as the GAP-8 SDK's `bsp/flash/hyperflash.h`): subset. */
#ifndef DORY_BSP_FLASH_HYPERFLASH_H
#define DORY_BSP_FLASH_HYPERFLASH_H

#include "bsp/flash.h"

struct pi_hyperflash_conf {
    struct pi_flash_conf flash;
};

void pi_hyperflash_conf_init(struct pi_hyperflash_conf *conf);

#endif /* DORY_BSP_FLASH_HYPERFLASH_H */
