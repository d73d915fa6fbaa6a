/*
 * Host emulation of the GAP-8 HyperFlash and its read-only file system (readfs), for
 * `bsp/flash.h`, `bsp/flash/hyperflash.h`, `bsp/fs.h` and `bsp/fs/readfs.h`.
 *
 * On the board, the files of the app's READFS_FILES are written to HyperFlash by the SDK's
 * flasher and read back with pi_fs_*; here the flash holds the files of the working directory
 * (where the host engine writes the app, weights.bin included). The call sequence is checked
 * as the SDK requires it: the flash is opened before the FS is mounted on it, a file is opened
 * read-only on a mounted FS, pi_fs_read fills an L2 buffer (FC side: an allocated L2 block or
 * static data), files are closed before the FS is unmounted, the FS is unmounted before the
 * flash is closed. Every violation prints "<function>: <condition>" and aborts.
 */
#include "pmsis.h"
#include "bsp/flash/hyperflash.h"
#include "bsp/fs/readfs.h"

#include <stdlib.h>

#define REQUIRE(cond, where, what)                                                        \
    do {                                                                                  \
        if (!(cond))                                                                      \
            dory_host_fail((where), (what));                                              \
    } while (0)

static int flash_marker, fs_marker;
static int open_files, mounted;

void pi_hyperflash_conf_init(struct pi_hyperflash_conf *conf) { conf->flash.type = 1; }

int pi_flash_open(struct pi_device *device)
{
    REQUIRE(device && device->config, "pi_flash_open", "device has no configuration");
    device->data = &flash_marker;
    return 0;
}

void pi_flash_close(struct pi_device *device)
{
    REQUIRE(device && device->data == &flash_marker, "pi_flash_close", "flash device is not open");
    REQUIRE(mounted == 0, "pi_flash_close", "a file system is still mounted on the flash");
    device->data = NULL;
}

void pi_fs_conf_init(struct pi_fs_conf *conf)
{
    conf->type = PI_FS_READ_ONLY;
    conf->flash = NULL;
}

void pi_readfs_conf_init(struct pi_readfs_conf *conf) { pi_fs_conf_init(&conf->fs); }

int32_t pi_fs_mount(struct pi_device *device)
{
    REQUIRE(device && device->config, "pi_fs_mount", "device has no configuration");
    struct pi_fs_conf *conf = device->config;
    REQUIRE(conf->type == PI_FS_READ_ONLY, "pi_fs_mount", "only the read-only FS (readfs) is emulated");
    REQUIRE(conf->flash && conf->flash->data == &flash_marker, "pi_fs_mount", "conf.fs.flash is not an open flash");
    device->data = &fs_marker;
    mounted++;
    return 0;
}

void pi_fs_unmount(struct pi_device *device)
{
    REQUIRE(device && device->data == &fs_marker, "pi_fs_unmount", "file system is not mounted");
    REQUIRE(open_files == 0, "pi_fs_unmount", "files are still open");
    device->data = NULL;
    mounted--;
}

pi_fs_file_t *pi_fs_open(struct pi_device *device, const char *file, int flags)
{
    REQUIRE(device && device->data == &fs_marker, "pi_fs_open", "file system is not mounted");
    REQUIRE(flags == PI_FS_FLAGS_READ, "pi_fs_open", "readfs files open read-only (flags 0)");
    FILE *stream = fopen(file, "rb");
    if (!stream)
        return NULL; /* as the SDK: no such file */
    REQUIRE(fseek(stream, 0, SEEK_END) == 0, "pi_fs_open", "cannot seek in the file");
    long size = ftell(stream);
    REQUIRE(size >= 0 && (unsigned long)size <= 0xffffffffu, "pi_fs_open", "cannot size the file");
    rewind(stream);
    pi_fs_file_t *handle = malloc(sizeof(*handle));
    REQUIRE(handle != NULL, "pi_fs_open", "out of host memory");
    handle->fs = device;
    handle->data = stream;
    handle->size = (unsigned int)size;
    open_files++;
    return handle;
}

void pi_fs_close(pi_fs_file_t *file)
{
    REQUIRE(file && file->data, "pi_fs_close", "file is not open");
    fclose((FILE *)file->data);
    file->data = NULL;
    free(file);
    open_files--;
}

int32_t pi_fs_read(pi_fs_file_t *file, void *buffer, uint32_t size)
{
    REQUIRE(file && file->data, "pi_fs_read", "file is not open");
    REQUIRE(size == 0 || dory_host_in_l2(buffer, size), "pi_fs_read", "the buffer is not in L2");
    return (int32_t)fread(buffer, 1, size, (FILE *)file->data);
}

int32_t pi_fs_seek(pi_fs_file_t *file, unsigned int offset)
{
    REQUIRE(file && file->data, "pi_fs_seek", "file is not open");
    REQUIRE(offset <= file->size, "pi_fs_seek", "offset past the end of the file");
    return fseek((FILE *)file->data, (long)offset, SEEK_SET) == 0 ? 0 : -1;
}
