/* PMSIS BSP read-only file system configuration (as the GAP-8 SDK's `bsp/fs/readfs.h`). */
#ifndef DORY_BSP_FS_READFS_H
#define DORY_BSP_FS_READFS_H

#include "bsp/fs.h"

struct pi_readfs_conf {
    struct pi_fs_conf fs;
};

void pi_readfs_conf_init(struct pi_readfs_conf *conf);

#endif /* DORY_BSP_FS_READFS_H */
