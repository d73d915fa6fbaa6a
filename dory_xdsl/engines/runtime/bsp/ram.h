/*
 * PMSIS BSP RAM API (L3), the subset dory-xdsl generated code calls; declared as in the GAP-8
 * SDK's `bsp/ram.h`, which `pmsis.h` does not include. The host runtime implements it over a
 * bounds-checked array (pmsis_host.c).
 */
#ifndef DORY_BSP_RAM_H
#define DORY_BSP_RAM_H

#include "pmsis.h"

typedef struct pi_cl_ram_req_s {
    struct pi_device *device;
    uint32_t size;
    int is_write;
} pi_cl_ram_req_t;

int pi_ram_open(struct pi_device *device);
void pi_ram_close(struct pi_device *device);
int pi_ram_alloc(struct pi_device *device, uint32_t *addr, uint32_t size);
int pi_ram_free(struct pi_device *device, uint32_t addr, uint32_t size);
void pi_ram_read(struct pi_device *device, uint32_t ram_addr, void *data, uint32_t size);
void pi_ram_write(struct pi_device *device, uint32_t ram_addr, void *data, uint32_t size);
void pi_cl_ram_read(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                    pi_cl_ram_req_t *req);
void pi_cl_ram_read_2d(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                       uint32_t stride, uint32_t length, pi_cl_ram_req_t *req);
void pi_cl_ram_read_wait(pi_cl_ram_req_t *req);
void pi_cl_ram_write(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                     pi_cl_ram_req_t *req);
void pi_cl_ram_write_2d(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                        uint32_t stride, uint32_t length, pi_cl_ram_req_t *req);
void pi_cl_ram_write_wait(pi_cl_ram_req_t *req);

#endif /* DORY_BSP_RAM_H */
