/*
 * Host implementation of the PMSIS subset declared in pmsis_api.h (see pmsis.h for the model).
 * Written for dory-xdsl from the documented API; no SDK code.
 */
#include "pmsis.h"
#include "bsp/ram/hyperram.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

static int failed;

void dory_host_fail(const char *where, const char *what)
{
    if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST) != 0)
        for (;;) /* another thread is reporting and will abort the process */
            pause();
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

/* ------------------------------------------------------------------ thread context */

static _Thread_local int tl_core_id;    /* pi_core_id() */
static _Thread_local int tl_on_cluster; /* inside a cluster task or a team */
static _Thread_local int tl_team_size;  /* > 0 inside pi_cl_team_fork */

int pi_core_id(void) { return tl_core_id; }

int pi_cl_cluster_nb_cores(void) { return NUM_CORES; }

int dory_host_team_size(void) { return tl_team_size; }

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
static pthread_mutex_t arena_mu = PTHREAD_MUTEX_INITIALIZER;

static void arena_init(struct arena *a)
{
    if (a->base)
        return;
    size_t bytes = ((size_t)a->size + 4095u) & ~(size_t)4095u;
    void *p = mmap(NULL, bytes ? bytes : 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    REQUIRE(p != MAP_FAILED, "pmsis host", "cannot map an arena below 4 GB");
    a->base = p;
    POISON(a->base, bytes);
}

/* Whether [ptr, ptr + size) lies inside one allocated block of the arena. */
static int arena_contains(struct arena *a, const void *ptr, size_t size)
{
    uintptr_t p = (uintptr_t)ptr, b = (uintptr_t)a->base;
    if (!a->base || p < b || p - b >= a->size || size > a->size)
        return 0;
    uint32_t off = (uint32_t)(p - b);
    int inside = 0;
    pthread_mutex_lock(&arena_mu);
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
    pthread_mutex_unlock(&arena_mu);
    return inside;
}

static void *arena_alloc(struct arena *a, uint32_t size, const char *fn)
{
    char msg[160];
    uint32_t need = (size + 3u) & ~3u;
    pthread_mutex_lock(&arena_mu);
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
                 a->name, size, a->used, a->size);
        pthread_mutex_unlock(&arena_mu);
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
    pthread_mutex_unlock(&arena_mu);
    return a->base + start;
}

static void arena_free(struct arena *a, void *chunk, int size, const char *fn)
{
    char msg[160];
    pthread_mutex_lock(&arena_mu);
    int at = 0;
    while (at < a->nblocks && a->base + a->off[at] != (uint8_t *)chunk)
        at++;
    if (at == a->nblocks || size < 0 || (((uint32_t)size + 3u) & ~3u) != a->len[at]) {
        if (at == a->nblocks)
            snprintf(msg, sizeof msg, "%p is not an allocated %s block", chunk, a->name);
        else
            snprintf(msg, sizeof msg, "freeing a %u-byte %s block with size %d", a->len[at],
                     a->name, size);
        pthread_mutex_unlock(&arena_mu);
        dory_host_fail(fn, msg);
    }
    POISON(a->base + a->off[at], a->len[at]);
    a->used -= a->len[at];
    memmove(&a->off[at], &a->off[at + 1], (size_t)(a->nblocks - at - 1) * sizeof a->off[0]);
    memmove(&a->len[at], &a->len[at + 1], (size_t)(a->nblocks - at - 1) * sizeof a->len[0]);
    a->nblocks--;
    pthread_mutex_unlock(&arena_mu);
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
    pthread_mutex_lock(&arena_mu);
    *out = counters;
    out->l1_peak = l1.peak;
    out->l2_peak = l2.peak;
    pthread_mutex_unlock(&arena_mu);
}

void dory_host_counters_reset(void)
{
    pthread_mutex_lock(&arena_mu);
    memset(&counters, 0, sizeof counters);
    memset(dma_layer_peak, 0, sizeof dma_layer_peak);
    l1.peak = l1.used;
    l2.peak = l2.used;
    pthread_mutex_unlock(&arena_mu);
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
            (unsigned long long)c.ram_write_bytes, (unsigned long long)c.ram_writes, c.l1_peak,
            c.l2_peak);
    fprintf(stream, "dma outstanding peak per layer:");
    for (int i = 0; i < dma_layers_seen; i++)
        fprintf(stream, " %d", dma_layer_peak[i]);
    fprintf(stream, "\n");
}

/* -------------------------------------------------------------------- cluster DMA */

/* MCHAN transfer counters: each counted command holds one from pi_cl_dma_cmd(_2d) until its
 * pi_cl_dma_cmd_wait; on the chip a command issued with all 16 held stalls the issuing core. */
static pthread_mutex_t dma_mu = PTHREAD_MUTEX_INITIALIZER;
static pi_cl_dma_cmd_t *dma_holder[DMA_COUNTERS];
static int dma_outstanding;
static int dma_layer = -1; /* set by dory_host_layer */
static const char *dma_layer_name = "(no layer)";

void dory_host_layer(int index, const char *name)
{
    REQUIRE(index >= 0 && index < DMA_MAX_LAYERS, "dory_host_layer", "layer index out of range");
    pthread_mutex_lock(&dma_mu);
    REQUIRE(dma_outstanding == 0, "dory_host_layer", "cluster-DMA commands still outstanding from the last layer");
    dma_layer = index;
    dma_layer_name = name;
    if (index >= dma_layers_seen)
        dma_layers_seen = index + 1;
    pthread_mutex_unlock(&dma_mu);
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
    pthread_mutex_lock(&dma_mu);
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
    pthread_mutex_unlock(&dma_mu);
}

static void dma_transfer(const char *fn, int two_d, uint32_t ext, uint32_t loc, uint32_t size,
                         uint32_t stride, uint32_t length, pi_cl_dma_dir_e dir,
                         pi_cl_dma_cmd_t *cmd)
{
    REQUIRE(tl_on_cluster, fn, "called outside a cluster task");
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
    REQUIRE(tl_on_cluster, fn, "called outside a cluster task");
    REQUIRE(cmd != NULL, fn, "command pointer is NULL");
    pthread_mutex_lock(&dma_mu);
    /* the chip frees counter cmd->id: waiting a command twice would free another command's */
    REQUIRE(cmd->id >= 0 && cmd->id < DMA_COUNTERS && dma_holder[cmd->id] == cmd, fn,
            "the command is not outstanding (never issued, or already waited)");
    dma_holder[cmd->id] = NULL;
    dma_outstanding--;
    pthread_mutex_unlock(&dma_mu);
}

/* ---------------------------------------------------------------------- L3 RAM */

static uint8_t *l3_mem;
static uint32_t l3_next;
static int l3_marker;

void pi_hyperram_conf_init(struct pi_hyperram_conf *conf) { conf->ram_size = (int)L3_SIZE; }

int pi_ram_open(struct pi_device *device)
{
    pthread_mutex_lock(&arena_mu);
    if (!l3_mem) {
        l3_mem = malloc(L3_SIZE);
        REQUIRE(l3_mem != NULL, "pi_ram_open", "cannot allocate the L3 emulation");
        memset(l3_mem, 0x5a, L3_SIZE); /* HyperRAM content is undefined before writes */
    }
    pthread_mutex_unlock(&arena_mu);
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
        REQUIRE(tl_on_cluster, fn, "cluster-side call outside a cluster task");
    else
        REQUIRE(!tl_on_cluster, fn, "FC-side call from the cluster (use pi_cl_ram_*)");
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

static pthread_mutex_t team_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t team_start = PTHREAD_COND_INITIALIZER;
static pthread_cond_t team_done = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t team_barrier;
static int team_barrier_size;
static int workers_started;
static unsigned team_generation;
static int team_size;
static int team_pending;
static void (*team_entry)(void *);
static void *team_arg;

static void *worker_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned seen = 0;
    tl_core_id = id;
    for (;;) {
        pthread_mutex_lock(&team_mu);
        while (team_generation == seen)
            pthread_cond_wait(&team_start, &team_mu);
        seen = team_generation;
        int size = team_size;
        void (*entry)(void *) = team_entry;
        void *arg_ = team_arg;
        pthread_mutex_unlock(&team_mu);
        if (id >= size)
            continue;
        tl_on_cluster = 1;
        tl_team_size = size;
        entry(arg_);
        tl_team_size = 0;
        tl_on_cluster = 0;
        pthread_mutex_lock(&team_mu);
        if (--team_pending == 0)
            pthread_cond_signal(&team_done);
        pthread_mutex_unlock(&team_mu);
    }
    return NULL;
}

void pi_cl_team_fork(int nb_cores, void (*entry)(void *), void *arg)
{
    static const char *fn = "pi_cl_team_fork";
    REQUIRE(tl_on_cluster && tl_team_size == 0 && tl_core_id == 0, fn,
            "must be called by core 0 of a cluster task, outside a team");
    REQUIRE(entry != NULL, fn, "entry is NULL");
    if (nb_cores == 0)
        nb_cores = NUM_CORES;
    REQUIRE(nb_cores >= 1 && nb_cores <= NUM_CORES, fn, "nb_cores must be in [0, NUM_CORES]");
    pthread_mutex_lock(&team_mu);
    if (!workers_started) {
        for (int i = 1; i < NUM_CORES; i++) {
            pthread_t t;
            REQUIRE(pthread_create(&t, NULL, worker_main, (void *)(intptr_t)i) == 0, fn,
                    "cannot start a worker thread");
            pthread_detach(t);
        }
        workers_started = 1;
    }
    if (team_barrier_size != nb_cores) {
        if (team_barrier_size)
            pthread_barrier_destroy(&team_barrier);
        pthread_barrier_init(&team_barrier, NULL, (unsigned)nb_cores);
        team_barrier_size = nb_cores;
    }
    team_size = nb_cores;
    team_entry = entry;
    team_arg = arg;
    team_pending = nb_cores - 1;
    team_generation++;
    pthread_cond_broadcast(&team_start);
    pthread_mutex_unlock(&team_mu);

    tl_team_size = nb_cores;
    entry(arg);
    tl_team_size = 0;

    pthread_mutex_lock(&team_mu);
    while (team_pending > 0)
        pthread_cond_wait(&team_done, &team_mu);
    pthread_mutex_unlock(&team_mu);
}

void pi_cl_team_barrier()
{
    REQUIRE(tl_team_size > 0, "pi_cl_team_barrier", "called outside pi_cl_team_fork");
    pthread_barrier_wait(&team_barrier);
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

int pi_cluster_send_task_to_cl(struct pi_device *device, struct pi_cluster_task *task)
{
    static const char *fn = "pi_cluster_send_task_to_cl";
    REQUIRE(device && device->data == &cluster_marker, fn, "cluster device is not open");
    REQUIRE(task && task->entry, fn, "task has no entry");
    REQUIRE(!tl_on_cluster, fn, "called from the cluster");
    tl_on_cluster = 1;
    tl_core_id = 0;
    task->entry(task->arg);
    tl_on_cluster = 0;
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

/* "Cycles" are monotonic nanoseconds scaled to a 100 MHz clock, per thread like the
 * per-core counters of GAP-8. */
static _Thread_local uint64_t perf_start_ns, perf_total_ns;
static _Thread_local int perf_running;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pi_perf_conf(unsigned events) { (void)events; }

void pi_perf_reset(void)
{
    perf_total_ns = 0;
    if (perf_running)
        perf_start_ns = now_ns();
}

void pi_perf_start(void)
{
    if (!perf_running) {
        perf_start_ns = now_ns();
        perf_running = 1;
    }
}

void pi_perf_stop(void)
{
    if (perf_running) {
        perf_total_ns += now_ns() - perf_start_ns;
        perf_running = 0;
    }
}

unsigned int pi_perf_read(int id)
{
    (void)id;
    uint64_t ns = perf_total_ns + (perf_running ? now_ns() - perf_start_ns : 0);
    return (unsigned int)(ns / 10u);
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
