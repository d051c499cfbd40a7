/*
 * zone: a shared memory region, acquired the ways nginx does and two more.
 *
 *   anon     mmap(MAP_ANONYMOUS | MAP_SHARED)           nginx's choice on Linux
 *   devzero  mmap of /dev/zero, MAP_SHARED              nginx's second choice
 *   sysv     shmget(IPC_PRIVATE) + shmat + IPC_RMID     nginx's third choice
 *   posix    shm_open(name, 0600) + mmap                attachable by name
 *   hugetlb  mmap(MAP_ANONYMOUS | MAP_SHARED | MAP_HUGETLB)
 *
 * All give zero-filled memory that survives fork() at the same address.
 *
 * Layout of one mapping:
 *
 *   map                                  base = map + base_off
 *   | struct zone_ctl (ZONE_CTL_SIZE) | pad | allocator's region (size bytes) |
 *
 * The control block at the start describes the zone (magic, method, sizes,
 * which allocator formatted it, the base offset) and holds the per-process
 * counter slots of the zone's lock.  It is what lets another process attach
 * a `posix` zone by name and read it: everything it needs is at offset 0,
 * and everything inside the allocator's region is stored as offsets from
 * base.  The allocator sees only [base, base + size): its geometry is the one
 * it would have on a bare mapping of `size` bytes (nginx's page count for a
 * zone of that size).  `base` is aligned to `align` (at least the OS page)
 * by reserving up to `align` extra bytes: reserved, never touched.
 */
#ifndef SHMBENCH_ZONE_H
#define SHMBENCH_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "substrate/shmtx.h"

enum zone_method {
    ZONE_ANON,
    ZONE_DEVZERO,
    ZONE_SYSV,
    ZONE_POSIX,
    ZONE_HUGETLB,
    ZONE_METHOD_COUNT
};

#define ZONE_MAGIC      "SHMBNCH1"
#define ZONE_VERSION    1
#define ZONE_HEAD_SIZE  4096
#define ZONE_CTL_SIZE   (ZONE_HEAD_SIZE + PROC_MAX * sizeof(struct shmtx_counters) \
                         + PROC_MAX * sizeof(struct zone_proc_counters))
#define ZONE_NAME_MAX   64
#define ZONE_ALLOC_NAME_MAX 32

/*
 * Per-process counters an allocator's glue keeps beside the allocator's own
 * structures, one cache line per process (proc_index()): what the
 * allocator's statistics do not count.  The slab, like nginx, counts no
 * failure of a page-run request; its glue counts them here.
 */
struct zone_proc_counters {
    uint64_t alloc_fails;        /* failed allocations not in the allocator's stats */
    uint64_t reserved[7];
} __attribute__((aligned(64)));

/* Count one such failure for this process (the overflow slot, shared by
 * processes with no index, takes an atomic add). */
static inline void
zone_count_fail(struct zone_proc_counters *slots)
{
    int i = proc_index();

    if (i == PROC_INDEX_SHARED) {
        __atomic_add_fetch(&slots[i].alloc_fails, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&slots[i].alloc_fails,
                         __atomic_load_n(&slots[i].alloc_fails, __ATOMIC_RELAXED) + 1,
                         __ATOMIC_RELAXED);
    }
}

/* Sum of all processes' alloc_fails. */
static inline uint64_t
zone_fails(const struct zone_proc_counters *slots)
{
    uint64_t n = 0;
    int      i;

    for (i = 0; i < PROC_MAX; i++) {
        n += __atomic_load_n(&slots[i].alloc_fails, __ATOMIC_RELAXED);
    }
    return n;
}

/* The control block at offset 0 of every mapping (shared). */
struct zone_ctl {
    char     magic[8];           /* ZONE_MAGIC */
    uint32_t version;            /* ZONE_VERSION */
    uint32_t method;             /* enum zone_method */
    uint64_t map_size;           /* bytes mapped, control block included */
    uint64_t base_off;           /* allocator region, from the mapping start */
    uint64_t size;               /* allocator region bytes */
    uint64_t align;              /* alignment asked for base */
    uint64_t page_size;          /* allocator page size, set by its init (0 = n/a) */
    char     allocator[ZONE_ALLOC_NAME_MAX]; /* set by the allocator's init */
    char     name[ZONE_NAME_MAX];            /* posix name, else "" */
    _Atomic uint32_t formatted;  /* 1 once the allocator's init finished */
    uint8_t  pad[ZONE_HEAD_SIZE - 8 - 4 - 4 - 6 * 8 - ZONE_ALLOC_NAME_MAX
                 - ZONE_NAME_MAX - 4];
    struct shmtx_counters lockstat[PROC_MAX]; /* the zone lock's counters */
    struct zone_proc_counters procstat[PROC_MAX]; /* the glue's own counters */
};

/* A process's handle on a zone (process-private). */
struct zone {
    unsigned char    *base;      /* allocator region */
    size_t            size;      /* its bytes */
    struct zone_ctl  *ctl;       /* = map */
    unsigned char    *map;       /* whole mapping */
    size_t            map_size;
    enum zone_method  method;
    int               shmid;     /* sysv, else -1 */
    int               owner;     /* created here (destroy removes posix name) */
    int               readonly;  /* attached read-only */
    char              name[ZONE_NAME_MAX];
    const struct allocator_ops *ops;  /* allocator formatted over it, if any */
    void             *priv;      /* that allocator's process-private state */
};

/*
 * Create a zone of `size` allocator bytes by `method`, base aligned to
 * `align` (0 = the OS page; must be a power of two).  `name` is required for
 * posix ("/shmbench-..." style; a leading '/' is added if missing) and
 * ignored otherwise.  Returns 0, or -1 with a diag message (for hugetlb with
 * no huge pages reserved it names /proc/sys/vm/nr_hugepages).
 */
int zone_create(struct zone *z, enum zone_method method, size_t size,
    size_t align, const char *name);

/*
 * Flags for the zones this process creates from now on (zone_create and
 * so allocator_zone_create); returns the previous ones.  A process-wide
 * setting rather than an argument, so that every existing caller keeps
 * its behaviour and the one that wants a flag (the driver, from its
 * command line) sets it once before it creates its zone.
 *
 *   ZONE_NORESERVE  map without reserving swap or RAM for the zone
 *                   (MAP_NORESERVE; SHM_NORESERVE for sysv), so that under
 *                   Linux's default overcommit a zone as large as RAM or
 *                   more can be made: pages come when first touched, and
 *                   touching more than the machine has gets the process
 *                   killed instead of a refused mmap.
 *
 * Without it, a mapping the kernel will not promise to back is refused
 * with ENOMEM.  When zone_create fails because the mapping itself (mmap,
 * shmget) failed, errno is that call's, so that a caller can explain it in
 * its own terms.
 */
#define ZONE_NORESERVE 1u
unsigned zone_set_flags(unsigned flags);

/*
 * Attach an existing posix zone by name from another process.  What is not
 * a regular file (a FIFO, a directory) is refused at once, without blocking
 * on it; the control block is validated against the object's real size
 * before anything is trusted; a corrupt or foreign object gives -1 and a
 * diag message.
 */
int zone_attach(struct zone *z, const char *name, int readonly);

/* Unmap.  The creator of a posix zone also removes its name. */
void zone_destroy(struct zone *z);

/* Remove a posix zone's name now (the mapping stays valid). */
int zone_unlink(struct zone *z);

/* Bytes of the allocator region resident in RAM (mincore), or -1. */
long long zone_resident(const struct zone *z);

/* Parse "anon", "devzero", "sysv", "posix", "hugetlb"; -1 if unknown. */
int zone_method_parse(const char *s, enum zone_method *out);

/* The name of a method. */
const char *zone_method_name(enum zone_method m);

/* The OS page size. */
size_t zone_os_page(void);

#endif
