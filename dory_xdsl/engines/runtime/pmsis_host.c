/*
 * Emulation of the PMSIS subset declared in pmsis_api.h (see pmsis.h for the model), shared by
 * every platform the generated app runs on (runtime_platform.h: the host's threads, rv32's
 * coroutines). Written for dory-xdsl from the documented API; no SDK code.
 */
#include "pmsis.h"
#include "bsp/ram/hyperram.h"
#include "runtime_platform.h"

#include <stdlib.h>
#include <string.h>

#ifndef L1_SIZE
#define L1_SIZE 36700
#endif
#ifndef L2_SIZE
#define L2_SIZE 512000
#endif
#ifndef L3_SIZE
#define L3_SIZE (8u * 1024u * 1024u)
#endif

#define DMA_MAX_BYTES 65535u /* 2-D: the 16-bit size field of an MCHAN command */
#define DMA_MAX_1D 32768u    /* 1-D size must be strictly below (MCHAN v6, GAP-8) */
#define DMA_MAX_2D 32768u    /* line length and stride must be strictly below */
#define DMA_COUNTERS 16      /* MCHAN transfer counters: one per outstanding command */
#define DMA_MAX_LAYERS 4096
#define ARENA_MAX_BLOCKS 4096

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* ------------------------------------------------------------------------ failures */

void dory_host_fail(const char *where, const char *what)
{
    dory_platform_failing(); /* returns in the first failing core only */
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", where, what);
    fflush(stderr);
    abort();
}

#define REQUIRE(cond, where, what)                                                        \
    do {                                                                                  \
        if (!(cond))                                                                      \
            dory_host_fail((where), (what));                                              \
    } while (0)

/* -------------------------------------------------------------------- core context */

#define SELF (dory_platform_core()) /* the calling core's state */

int pi_core_id(void) { return SELF->id; }

int pi_cl_cluster_nb_cores(void) { return NUM_CORES; }

int dory_host_team_size(void) { return SELF->team_size; }

/* -------------------------------------------------------------------------- arenas */

struct arena {
    const char *name;
    uint8_t *base;
    uint32_t size;
    uint32_t used;
    uint32_t peak;
    int nblocks;
    uint32_t off[ARENA_MAX_BLOCKS]; /* allocated blocks sorted by offset */
    uint32_t len[ARENA_MAX_BLOCKS];
};

static struct arena l1 = {.name = "L1", .size = L1_SIZE};
static struct arena l2 = {.name = "L2", .size = L2_SIZE};
static void arena_init(struct arena *a)
{
    if (a->base)
        return;
    a->base = dory_platform_arena(a->name, a->size);
    REQUIRE(a->base != NULL, "pmsis host", "cannot provide arena memory below 4 GB");
    POISON(a->base, a->size);
}

/* Whether [ptr, ptr + size) lies inside one allocated block of the arena. */
static int arena_contains(struct arena *a, const void *ptr, size_t size)
{
    uintptr_t p = (uintptr_t)ptr, b = (uintptr_t)a->base;
    if (!a->base || p < b || p - b >= a->size || size > a->size)
        return 0;
    uint32_t off = (uint32_t)(p - b);
    int inside = 0;
    dory_platform_lock();
    int lo = 0, hi = a->nblocks - 1;
    while (lo <= hi) { /* last block starting at or before off */
        int mid = (lo + hi) / 2;
        if (a->off[mid] <= off)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    if (hi >= 0)
        inside = (uint64_t)off + size <= (uint64_t)a->off[hi] + a->len[hi];
    dory_platform_unlock();
    return inside;
}

static void *arena_alloc(struct arena *a, uint32_t size, const char *fn)
{
    char msg[160];
    uint32_t need = (size + 3u) & ~3u;
    dory_platform_lock();
    arena_init(a);
    uint32_t start = 0;
    int at = 0;
    for (; at <= a->nblocks; at++) {
        uint32_t limit = at < a->nblocks ? a->off[at] : a->size;
        if (limit >= start && limit - start >= need)
            break;
        if (at < a->nblocks)
            start = a->off[at] + a->len[at];
    }
    if (at > a->nblocks || need == 0 || a->nblocks == ARENA_MAX_BLOCKS) {
        snprintf(msg, sizeof msg,
                 "%s arena exhausted: cannot allocate %u bytes (%u of %u bytes in use)",
                 a->name, (unsigned)size, (unsigned)a->used, (unsigned)a->size);
        dory_platform_unlock();
        dory_host_fail(fn, msg);
    }
    memmove(&a->off[at + 1], &a->off[at], (size_t)(a->nblocks - at) * sizeof a->off[0]);
    memmove(&a->len[at + 1], &a->len[at], (size_t)(a->nblocks - at) * sizeof a->len[0]);
    a->off[at] = start;
    a->len[at] = need;
    a->nblocks++;
    a->used += need;
    if (a->used > a->peak)
        a->peak = a->used;
    UNPOISON(a->base + start, size);
    dory_platform_unlock();
    return a->base + start;
}

static void arena_free(struct arena *a, void *chunk, int size, const char *fn)
{
    char msg[160];
    dory_platform_lock();
    int at = 0;
    while (at < a->nblocks && a->base + a->off[at] != (uint8_t *)chunk)
        at++;
    if (at == a->nblocks || size < 0 || (((uint32_t)size + 3u) & ~3u) != a->len[at]) {
        if (at == a->nblocks)
            snprintf(msg, sizeof msg, "%p is not an allocated %s block", chunk, a->name);
        else
            snprintf(msg, sizeof msg, "freeing a %u-byte %s block with size %d", (unsigned)a->len[at],
                     a->name, size);
        dory_platform_unlock();
        dory_host_fail(fn, msg);
    }
    POISON(a->base + a->off[at], a->len[at]);
    a->used -= a->len[at];
    memmove(&a->off[at], &a->off[at + 1], (size_t)(a->nblocks - at - 1) * sizeof a->off[0]);
    memmove(&a->len[at], &a->len[at + 1], (size_t)(a->nblocks - at - 1) * sizeof a->len[0]);
    a->nblocks--;
    dory_platform_unlock();
}

void *pi_cl_l1_malloc(struct pi_device *device, uint32_t size)
{
    (void)device;
    return arena_alloc(&l1, size, "pi_cl_l1_malloc");
}

void pi_cl_l1_free(struct pi_device *device, void *chunk, int size)
{
    (void)device;
    arena_free(&l1, chunk, size, "pi_cl_l1_free");
}

void *pmsis_l1_malloc(uint32_t size) { return arena_alloc(&l1, size, "pmsis_l1_malloc"); }

void pmsis_l1_malloc_free(void *chunk, int size)
{
    arena_free(&l1, chunk, size, "pmsis_l1_malloc_free");
}

void *pi_l2_malloc(int size)
{
    REQUIRE(size >= 0, "pi_l2_malloc", "negative size");
    return arena_alloc(&l2, (uint32_t)size, "pi_l2_malloc");
}

void pi_l2_free(void *chunk, int size) { arena_free(&l2, chunk, size, "pi_l2_free"); }

void dory_host_l2_heap(int32_t bytes)
{
    REQUIRE(l2.nblocks == 0, "dory_host_l2_heap", "called after the first pi_l2_malloc");
    REQUIRE(bytes > 0, "dory_host_l2_heap", "no L2 left beside code, static data and the runtime");
    if ((uint32_t)bytes < l2.size) {
        l2.size = (uint32_t)bytes;
        l2.name = "L2 heap (GAP-8 L2 minus code, static data, runtime)";
    }
}

/* The program's static data (rodata, data, bss) lives in L2 on GAP-8. */
extern char etext[], end[];

int dory_host_in_l1(const void *ptr, size_t size) { return arena_contains(&l1, ptr, size); }

int dory_host_in_l2(const void *ptr, size_t size)
{
    uintptr_t p = (uintptr_t)ptr;
    if (arena_contains(&l2, ptr, size))
        return 1;
    return p >= (uintptr_t)etext && p <= (uintptr_t)end && size <= (uintptr_t)end - p;
}

/* ------------------------------------------------------------------------ counters */

static struct dory_host_counters counters;
static int dma_layer_peak[DMA_MAX_LAYERS]; /* most cluster-DMA commands outstanding, per layer */
static int dma_layers_seen;

static void count(uint64_t *field, uint64_t n) { __atomic_fetch_add(field, n, __ATOMIC_RELAXED); }

void dory_host_counters_get(struct dory_host_counters *out)
{
    dory_platform_lock();
    *out = counters;
    out->l1_peak = l1.peak;
    out->l2_peak = l2.peak;
    dory_platform_unlock();
}

void dory_host_counters_reset(void)
{
    dory_platform_lock();
    memset(&counters, 0, sizeof counters);
    memset(dma_layer_peak, 0, sizeof dma_layer_peak);
    l1.peak = l1.used;
    l2.peak = l2.used;
    dory_platform_unlock();
}

void dory_host_counters_print(FILE *stream)
{
    struct dory_host_counters c;
    dory_host_counters_get(&c);
    fprintf(stream,
            "dma: ext2loc %llu B / %llu cmds, loc2ext %llu B / %llu cmds; "
            "l3: read %llu B / %llu reqs, write %llu B / %llu reqs; "
            "peak: L1 %u B, L2 %u B\n",
            (unsigned long long)c.dma_bytes[PI_CL_DMA_DIR_EXT2LOC],
            (unsigned long long)c.dma_commands[PI_CL_DMA_DIR_EXT2LOC],
            (unsigned long long)c.dma_bytes[PI_CL_DMA_DIR_LOC2EXT],
            (unsigned long long)c.dma_commands[PI_CL_DMA_DIR_LOC2EXT],
            (unsigned long long)c.ram_read_bytes, (unsigned long long)c.ram_reads,
            (unsigned long long)c.ram_write_bytes, (unsigned long long)c.ram_writes, (unsigned)c.l1_peak,
            (unsigned)c.l2_peak);
    fprintf(stream, "dma outstanding peak per layer:");
    for (int i = 0; i < dma_layers_seen; i++)
        fprintf(stream, " %d", dma_layer_peak[i]);
    fprintf(stream, "\n");
}

/* -------------------------------------------------------------------- cluster DMA */

/* MCHAN transfer counters: each counted command holds one from pi_cl_dma_cmd(_2d) until its
 * pi_cl_dma_cmd_wait; on the chip a command issued with all 16 held stalls the issuing core. */
static pi_cl_dma_cmd_t *dma_holder[DMA_COUNTERS];
static int dma_outstanding;
static int dma_layer = -1; /* set by dory_host_layer */
static const char *dma_layer_name = "(no layer)";

void dory_host_layer(int index, const char *name)
{
    REQUIRE(index >= 0 && index < DMA_MAX_LAYERS, "dory_host_layer", "layer index out of range");
    dory_platform_lock(); /* never held with another lock */
    REQUIRE(dma_outstanding == 0, "dory_host_layer", "cluster-DMA commands still outstanding from the last layer");
    dma_layer = index;
    dma_layer_name = name;
    if (index >= dma_layers_seen)
        dma_layers_seen = index + 1;
    dory_platform_unlock();
}

int dory_host_dma_peak(int layer)
{
    return layer >= 0 && layer < DMA_MAX_LAYERS ? dma_layer_peak[layer] : 0;
}

static void dma_fail_counters(const char *fn)
{
    char msg[200];
    snprintf(msg, sizeof msg, "layer %d (%s): a %dth cluster-DMA command outstanding, the MCHAN has %d "
             "transfer counters (the core would stall for ever)", dma_layer, dma_layer_name, DMA_COUNTERS + 1,
             DMA_COUNTERS);
    dory_host_fail(fn, msg);
}

static void dma_take_counter(const char *fn, pi_cl_dma_cmd_t *cmd)
{
    dory_platform_lock();
    int free_counter = -1;
    for (int i = DMA_COUNTERS - 1; i >= 0; i--) {
        REQUIRE(dma_holder[i] != cmd, fn, "the command struct is reused while its transfer is outstanding");
        if (!dma_holder[i])
            free_counter = i;
    }
    if (free_counter < 0)
        dma_fail_counters(fn);
    dma_holder[free_counter] = cmd;
    cmd->id = free_counter;
    dma_outstanding++;
    if (dma_layer >= 0 && dma_outstanding > dma_layer_peak[dma_layer])
        dma_layer_peak[dma_layer] = dma_outstanding;
    dory_platform_unlock();
}

static void dma_transfer(const char *fn, int two_d, uint32_t ext, uint32_t loc, uint32_t size,
                         uint32_t stride, uint32_t length, pi_cl_dma_dir_e dir,
                         pi_cl_dma_cmd_t *cmd)
{
    REQUIRE(SELF->on_cluster, fn, "called outside a cluster task");
    REQUIRE(cmd != NULL, fn, "command pointer is NULL");
    REQUIRE(dir == PI_CL_DMA_DIR_EXT2LOC || dir == PI_CL_DMA_DIR_LOC2EXT, fn,
            "direction is neither PI_CL_DMA_DIR_EXT2LOC nor PI_CL_DMA_DIR_LOC2EXT");
    REQUIRE(size > 0, fn, "size is 0");
    REQUIRE(size <= DMA_MAX_BYTES, fn, "size exceeds 65535 bytes per command");
    if (two_d) {
        REQUIRE(length > 0, fn, "2-D line length is 0");
        REQUIRE(length < DMA_MAX_2D, fn, "2-D line length must be < 32768");
        REQUIRE(stride < DMA_MAX_2D, fn, "2-D stride must be < 32768");
        REQUIRE(size % length == 0, fn, "size is not a multiple of the 2-D line length");
    } else {
        REQUIRE(size < DMA_MAX_1D, fn, "1-D size must be < 32768 (one MCHAN command)");
        length = size;
        stride = 0;
    }
    uint32_t lines = size / length;
    uint8_t *local = (uint8_t *)(uintptr_t)loc;
    uint8_t *remote = (uint8_t *)(uintptr_t)ext;
    REQUIRE(dory_host_in_l1(local, size), fn, "local (L1) side is not inside an allocated L1 block");
    uint64_t span = (uint64_t)(lines - 1) * stride + length;
    REQUIRE(dory_host_in_l2(remote, (size_t)span), fn,
            "external side is not inside L2 (an allocated L2 block or static data)");
    dma_take_counter(fn, cmd);
    for (uint32_t i = 0; i < lines; i++) {
        uint8_t *e = remote + (size_t)i * stride, *l = local + (size_t)i * length;
        if (dir == PI_CL_DMA_DIR_EXT2LOC)
            memmove(l, e, length);
        else
            memmove(e, l, length);
    }
    count(&counters.dma_bytes[dir], size);
    count(&counters.dma_commands[dir], 1);
    cmd->size = size;
    cmd->next = NULL;
}

void pi_cl_dma_cmd(uint32_t ext, uint32_t loc, uint32_t size, pi_cl_dma_dir_e dir,
                   pi_cl_dma_cmd_t *cmd)
{
    dma_transfer("pi_cl_dma_cmd", 0, ext, loc, size, 0, size, dir, cmd);
}

void pi_cl_dma_cmd_2d(uint32_t ext, uint32_t loc, uint32_t size, uint32_t stride,
                      uint32_t length, pi_cl_dma_dir_e dir, pi_cl_dma_cmd_t *cmd)
{
    dma_transfer("pi_cl_dma_cmd_2d", 1, ext, loc, size, stride, length, dir, cmd);
}

void pi_cl_dma_cmd_wait(pi_cl_dma_cmd_t *cmd)
{
    static const char *fn = "pi_cl_dma_cmd_wait";
    REQUIRE(SELF->on_cluster, fn, "called outside a cluster task");
    REQUIRE(cmd != NULL, fn, "command pointer is NULL");
    dory_platform_lock();
    /* the chip frees counter cmd->id: waiting a command twice would free another command's */
    REQUIRE(cmd->id >= 0 && cmd->id < DMA_COUNTERS && dma_holder[cmd->id] == cmd, fn,
            "the command is not outstanding (never issued, or already waited)");
    dma_holder[cmd->id] = NULL;
    dma_outstanding--;
    dory_platform_unlock();
}

/* ---------------------------------------------------------------------- L3 RAM */

static uint8_t *l3_mem;
static uint32_t l3_next;
static int l3_marker;

void pi_hyperram_conf_init(struct pi_hyperram_conf *conf) { conf->ram_size = (int)L3_SIZE; }

int pi_ram_open(struct pi_device *device)
{
    dory_platform_lock();
    if (!l3_mem) {
        l3_mem = malloc(L3_SIZE);
        REQUIRE(l3_mem != NULL, "pi_ram_open", "cannot allocate the L3 emulation");
        memset(l3_mem, 0x5a, L3_SIZE); /* HyperRAM content is undefined before writes */
    }
    dory_platform_unlock();
    device->data = &l3_marker;
    return 0;
}

void pi_ram_close(struct pi_device *device) { device->data = NULL; }

int pi_ram_alloc(struct pi_device *device, uint32_t *addr, uint32_t size)
{
    REQUIRE(device && device->data == &l3_marker, "pi_ram_alloc", "RAM device is not open");
    uint32_t start = (l3_next + 3u) & ~3u;
    if (size > L3_SIZE || start > L3_SIZE - size)
        return -1;
    *addr = start;
    l3_next = start + size;
    return 0;
}

int pi_ram_free(struct pi_device *device, uint32_t addr, uint32_t size)
{
    REQUIRE(device && device->data == &l3_marker, "pi_ram_free", "RAM device is not open");
    if (addr + size == l3_next)
        l3_next = addr;
    return 0;
}

static void ram_transfer(const char *fn, int cluster_side, struct pi_device *device,
                         uint32_t ram_addr, void *addr, uint32_t size, uint32_t stride,
                         uint32_t length, int is_write)
{
    REQUIRE(device && device->data == &l3_marker, fn, "RAM device is not open");
    if (cluster_side)
        REQUIRE(SELF->on_cluster, fn, "cluster-side call outside a cluster task");
    else
        REQUIRE(!SELF->on_cluster, fn, "FC-side call from the cluster (use pi_cl_ram_*)");
    REQUIRE(length > 0 && size % length == 0, fn,
            "size is not a positive multiple of the 2-D line length");
    uint32_t lines = size / length;
    uint64_t span = size ? (uint64_t)(lines - 1) * stride + length : 0;
    REQUIRE((uint64_t)ram_addr + span <= L3_SIZE, fn, "L3 range is out of bounds");
    REQUIRE(dory_host_in_l2(addr, size), fn, "L2 side is not inside L2");
    for (uint32_t i = 0; i < lines; i++) {
        uint8_t *r = l3_mem + ram_addr + (size_t)i * stride;
        uint8_t *m = (uint8_t *)addr + (size_t)i * length;
        if (is_write)
            memcpy(r, m, length);
        else
            memcpy(m, r, length);
    }
    count(is_write ? &counters.ram_write_bytes : &counters.ram_read_bytes, size);
    count(is_write ? &counters.ram_writes : &counters.ram_reads, 1);
}

void pi_ram_read(struct pi_device *device, uint32_t ram_addr, void *data, uint32_t size)
{
    ram_transfer("pi_ram_read", 0, device, ram_addr, data, size, 0, size ? size : 1, 0);
}

void pi_ram_write(struct pi_device *device, uint32_t ram_addr, void *data, uint32_t size)
{
    ram_transfer("pi_ram_write", 0, device, ram_addr, data, size, 0, size ? size : 1, 1);
}

static void ram_req(pi_cl_ram_req_t *req, struct pi_device *device, uint32_t size, int is_write)
{
    REQUIRE(req != NULL, is_write ? "pi_cl_ram_write" : "pi_cl_ram_read", "request is NULL");
    req->device = device;
    req->size = size;
    req->is_write = is_write;
}

void pi_cl_ram_read(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                    pi_cl_ram_req_t *req)
{
    ram_req(req, device, size, 0);
    ram_transfer("pi_cl_ram_read", 1, device, ram_addr, addr, size, 0, size ? size : 1, 0);
}

void pi_cl_ram_read_2d(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                       uint32_t stride, uint32_t length, pi_cl_ram_req_t *req)
{
    ram_req(req, device, size, 0);
    ram_transfer("pi_cl_ram_read_2d", 1, device, ram_addr, addr, size, stride, length, 0);
}

void pi_cl_ram_write(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                     pi_cl_ram_req_t *req)
{
    ram_req(req, device, size, 1);
    ram_transfer("pi_cl_ram_write", 1, device, ram_addr, addr, size, 0, size ? size : 1, 1);
}

void pi_cl_ram_write_2d(struct pi_device *device, uint32_t ram_addr, void *addr, uint32_t size,
                        uint32_t stride, uint32_t length, pi_cl_ram_req_t *req)
{
    ram_req(req, device, size, 1);
    ram_transfer("pi_cl_ram_write_2d", 1, device, ram_addr, addr, size, stride, length, 1);
}

void pi_cl_ram_read_wait(pi_cl_ram_req_t *req)
{
    REQUIRE(req != NULL && !req->is_write, "pi_cl_ram_read_wait", "not a read request");
}

void pi_cl_ram_write_wait(pi_cl_ram_req_t *req)
{
    REQUIRE(req != NULL && req->is_write, "pi_cl_ram_write_wait", "not a write request");
}

/* ----------------------------------------------------------------- team of cores */

void pi_cl_team_fork(int nb_cores, void (*entry)(void *), void *arg)
{
    static const char *fn = "pi_cl_team_fork";
    REQUIRE(SELF->on_cluster && SELF->team_size == 0 && SELF->id == 0, fn,
            "must be called by core 0 of a cluster task, outside a team");
    REQUIRE(entry != NULL, fn, "entry is NULL");
    if (nb_cores == 0)
        nb_cores = NUM_CORES;
    REQUIRE(nb_cores >= 1 && nb_cores <= NUM_CORES, fn, "nb_cores must be in [0, NUM_CORES]");
    dory_platform_team(nb_cores, entry, arg);
}

void pi_cl_team_barrier()
{
    REQUIRE(SELF->team_size > 0, "pi_cl_team_barrier", "called outside pi_cl_team_fork");
    dory_platform_barrier();
}

/* --------------------------------------------------------------- cluster device */

static int cluster_marker;

void pi_cluster_conf_init(struct pi_cluster_conf *conf) { conf->id = 0; }

void pi_open_from_conf(struct pi_device *device, void *conf)
{
    device->config = conf;
    device->data = NULL;
}

int pi_cluster_open(struct pi_device *device)
{
    REQUIRE(device && device->config, "pi_cluster_open", "device has no configuration");
    device->data = &cluster_marker;
    return 0;
}

struct pi_cluster_task *pi_cluster_task(struct pi_cluster_task *task, void (*entry)(void *),
                                        void *arg)
{
    memset(task, 0, sizeof *task);
    task->entry = entry;
    task->arg = arg;
    return task;
}

/* The measured stack needs, when the app links them (see pmsis.h). */
extern const struct dory_stack_need dory_cluster_stack_needs[] __attribute__((weak));

#define CLUSTER_L1_BYTES 65536u /* GAP-8 cluster L1: core stacks + the L1 arena */

static void check_cluster_stacks(const char *fn, const struct pi_cluster_task *task)
{
    char msg[240];
    const struct dory_stack_need *needs = dory_cluster_stack_needs;
    if (!needs)
        return;
    uint64_t total = (uint64_t)task->stack_size + (uint64_t)(NUM_CORES - 1) * task->slave_stack_size + L1_SIZE;
    if (total > CLUSTER_L1_BYTES) {
        snprintf(msg, sizeof msg, "cluster stacks (%u B master + %d x %u B) + L1 arena %u B = %llu B "
                 "exceed the %u B of L1", (unsigned)task->stack_size, NUM_CORES - 1,
                 (unsigned)task->slave_stack_size, (unsigned)L1_SIZE, (unsigned long long)total,
                 CLUSTER_L1_BYTES);
        dory_host_fail(fn, msg);
    }
    uint32_t entry = 0; /* the task entry's need: team entries run on top of it on core 0 */
    for (const struct dory_stack_need *n = needs; n->function; n++) {
        if (!n->on_every_core)
            entry = n->bytes;
        uint32_t need = n->on_every_core ? entry + n->bytes : n->bytes, limit = task->stack_size;
        const char *stack = "the master stack (stack_size)";
        const char *with = n->on_every_core ? " on top of the task entry's" : "";
        if (need <= limit) {
            if (!n->on_every_core || n->bytes <= task->slave_stack_size)
                continue;
            need = n->bytes;
            limit = task->slave_stack_size;
            stack = "each worker stack (slave_stack_size)";
            with = "";
        }
        snprintf(msg, sizeof msg, "%s needs %u B of stack%s (deepest call chain, rv32 -fstack-usage), "
                 "%s is %u B", n->function, (unsigned)need, with, stack, (unsigned)limit);
        dory_host_fail(fn, msg);
    }
}

int pi_cluster_send_task_to_cl(struct pi_device *device, struct pi_cluster_task *task)
{
    static const char *fn = "pi_cluster_send_task_to_cl";
    REQUIRE(device && device->data == &cluster_marker, fn, "cluster device is not open");
    REQUIRE(task && task->entry, fn, "task has no entry");
    check_cluster_stacks(fn, task);
    REQUIRE(!SELF->on_cluster, fn, "called from the cluster");
    SELF->on_cluster = 1;
    SELF->id = 0;
    task->entry(task->arg);
    SELF->on_cluster = 0;
    return 0;
}

int pi_cluster_close(struct pi_device *device)
{
    REQUIRE(device && device->data == &cluster_marker, "pi_cluster_close",
            "cluster device is not open");
    device->data = NULL;
    return 0;
}

/* ------------------------------------------------------ clocks, perf and start-up */

int32_t pi_freq_set(pi_freq_domain_e domain, uint32_t freq)
{
    (void)domain;
    (void)freq;
    return 0;
}

/* Per-core counters as on GAP-8, counting dory_platform_clock(): host nanoseconds scaled to a
 * 100 MHz clock, or rv32 retired instructions. */
void pi_perf_conf(unsigned events) { (void)events; }

void pi_perf_reset(void)
{
    SELF->perf_total = 0;
    if (SELF->perf_running)
        SELF->perf_start = dory_platform_clock();
}

void pi_perf_start(void)
{
    if (!SELF->perf_running) {
        SELF->perf_start = dory_platform_clock();
        SELF->perf_running = 1;
    }
}

void pi_perf_stop(void)
{
    if (SELF->perf_running) {
        SELF->perf_total += dory_platform_clock() - SELF->perf_start;
        SELF->perf_running = 0;
    }
}

unsigned int pi_perf_read(int id)
{
    (void)id;
    struct dory_core *c = SELF;
    return (unsigned int)(c->perf_total + (c->perf_running ? dory_platform_clock() - c->perf_start : 0));
}

int pmsis_kickoff(void *entry)
{
    ((void (*)(void))entry)();
    return 0;
}

void pmsis_exit(int err)
{
    fflush(stdout);
    exit(err);
}
