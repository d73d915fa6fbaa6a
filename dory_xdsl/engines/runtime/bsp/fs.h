/*
 * PMSIS BSP file-system API, the subset dory-xdsl generated code calls (as the GAP-8 SDK's
 * `bsp/fs.h`): mount a file system of an open flash, open a file by name, read it
 * sequentially, close, unmount. The host runtime implements the read-only FS (readfs) over
 * the files of the working directory (fs_host.c).
 */
#ifndef DORY_BSP_FS_H
#define DORY_BSP_FS_H

#include "pmsis.h"

typedef enum {
    PI_FS_READ_ONLY = 0,
    PI_FS_HOST = 1,
    PI_FS_LFS = 2,
} pi_fs_type_e;

typedef enum {
    PI_FS_FLAGS_READ = 0,
    PI_FS_FLAGS_WRITE = 1,
    PI_FS_FLAGS_APPEND = 2,
} pi_fs_flags_e;

struct pi_fs_conf {
    pi_fs_type_e type;
    struct pi_device *flash; /* an open flash device */
};

typedef struct pi_fs_file_s {
    struct pi_device *fs;
    void *data;
    unsigned int size; /* bytes in the file */
} pi_fs_file_t;

void pi_fs_conf_init(struct pi_fs_conf *conf);
int32_t pi_fs_mount(struct pi_device *device);
void pi_fs_unmount(struct pi_device *device);
pi_fs_file_t *pi_fs_open(struct pi_device *device, const char *file, int flags);
void pi_fs_close(pi_fs_file_t *file);
int32_t pi_fs_read(pi_fs_file_t *file, void *buffer, uint32_t size);
int32_t pi_fs_seek(pi_fs_file_t *file, unsigned int offset);

#endif /* DORY_BSP_FS_H */
