/*
 * PMSIS BSP flash API, the subset dory-xdsl generated code calls (as the GAP-8 SDK's
 * `bsp/flash.h`). The host runtime's flash holds the files of the app's READFS_FILES, read
 * from the working directory (fs_host.c).
 */
#ifndef DORY_BSP_FLASH_H
#define DORY_BSP_FLASH_H

#include "pmsis.h"

struct pi_flash_conf {
    int type;
};

int pi_flash_open(struct pi_device *device);
void pi_flash_close(struct pi_device *device);

#endif /* DORY_BSP_FLASH_H */
