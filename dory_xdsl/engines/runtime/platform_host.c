/*
 * Host platform of the runtime (runtime_platform.h): POSIX threads, one per cluster core, a real
 * barrier, arenas mmap'ed below 4 GB (MAP_32BIT: generated code passes addresses as uint32_t),
 * monotonic nanoseconds scaled to a 100 MHz clock. Build with -pthread -no-pie.
 */
#include "pmsis.h"
#include "runtime_platform.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static _Thread_local struct dory_core self;
static pthread_mutex_t runtime_mu = PTHREAD_MUTEX_INITIALIZER;
static int failed;

struct dory_core *dory_platform_core(void) { return &self; }

void dory_platform_lock(void) { pthread_mutex_lock(&runtime_mu); }

void dory_platform_unlock(void) { pthread_mutex_unlock(&runtime_mu); }

uint8_t *dory_platform_arena(const char *name, uint32_t size)
{
    (void)name;
    size_t bytes = ((size_t)size + 4095u) & ~(size_t)4095u;
    void *p = mmap(NULL, bytes ? bytes : 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

uint64_t dory_platform_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) / 10u;
}

void dory_platform_failing(void)
{
    if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST) != 0)
        for (;;) /* another thread is reporting and will abort the process */
            pause();
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
    self.id = id;
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
        self.on_cluster = 1;
        self.team_size = size;
        entry(arg_);
        self.team_size = 0;
        self.on_cluster = 0;
        pthread_mutex_lock(&team_mu);
        if (--team_pending == 0)
            pthread_cond_signal(&team_done);
        pthread_mutex_unlock(&team_mu);
    }
    return NULL;
}

void dory_platform_team(int nb_cores, void (*entry)(void *), void *arg)
{
    pthread_mutex_lock(&team_mu);
    if (!workers_started) {
        for (int i = 1; i < NUM_CORES; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, worker_main, (void *)(intptr_t)i) != 0)
                dory_host_fail("pi_cl_team_fork", "cannot start a worker thread");
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

    self.team_size = nb_cores;
    entry(arg);
    self.team_size = 0;

    pthread_mutex_lock(&team_mu);
    while (team_pending > 0)
        pthread_cond_wait(&team_done, &team_mu);
    pthread_mutex_unlock(&team_mu);
}

void dory_platform_barrier(void) { pthread_barrier_wait(&team_barrier); }
