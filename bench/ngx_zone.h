/*
 * ngx_zone: the slab zones of a running nginx, found and copied through
 * /proc, for `shmbench stat --pid` (docs/stat.md, "stat --pid").
 *
 * nginx's master maps every zone MAP_SHARED before it forks, so the master
 * and every worker have the same zones at the same addresses: any of their
 * pids will do.  A zone is a shared read-write mapping of /dev/zero (what
 * an anonymous shared mapping shows as on Linux) or of a System V segment,
 * and it is a slab zone when it starts with nginx's pool header for it
 * (slab_nginx_header(): the header's own address field is the mapping's
 * start, its end is the mapping's end, and the rest of the geometry is
 * nginx 1.22.1's).  Its name is the log-context string nginx writes into
 * the zone itself (` in lua_shared_dict zone "d"`).
 *
 * A copy is made consistent in one of two ways.  By default nothing is
 * written to nginx: the copy is read through /proc/PID/mem, the part before
 * the data pages is read again after it, and the copy is taken if the two
 * agree (nginx changes that part, the statistics at least, in every
 * allocation and free, under its lock) and it passes the slab's checker;
 * otherwise it is tried again, up to a bound, and the zone "changed while
 * it was read".  With the lock, the zone is mapped through
 * /proc/PID/map_files (root only) and its ngx_shmtx taken the way a worker
 * takes it, for the time of the copy.  Every pointer in the copy is an
 * address in nginx's process: it is translated (slab_nginx_translate())
 * and never followed outside the zone.
 *
 * Functions return 0 (or a count) and -1 with one diag message and the
 * kind of failure in the proc's `err`, which decides the CLI's message.
 */
#ifndef SHMBENCH_NGX_ZONE_H
#define SHMBENCH_NGX_ZONE_H

#include <stdint.h>
#include <sys/types.h>

#include "substrate/zone.h"

/* What went wrong, for the caller's message (diag says the detail). */
enum ngxz_err {
    NGXZ_OK = 0,
    NGXZ_NOPROC,        /* no such process */
    NGXZ_GONE,          /* it exited while it was read */
    NGXZ_PERM,          /* its memory may not be read (or mapped) by us */
    NGXZ_CHANGED,       /* no copy settled within the tries */
    NGXZ_CORRUPT,       /* a copy that held still fails the checker */
    NGXZ_BUSY,          /* --lock: the lock was not had within the bound */
    NGXZ_FAIL           /* anything else (no memory, a malformed maps line) */
};

/* One shared read-write mapping of the process. */
struct ngxz_map {
    uint64_t start, end;
    char     path[128];         /* as /proc/PID/maps names it */
};

/* A process being read. */
struct ngxz_proc {
    pid_t            pid;
    int              mem;       /* /proc/PID/mem, -1: not open */
    char             exe[256];  /* what /proc/PID/exe links to */
    char             version[32]; /* "1.22.1" found in it, "" if none */
    size_t           page_size; /* nginx's (getpagesize(): the same as ours) */
    struct ngxz_map *maps;      /* its rw-s mappings */
    unsigned         nmaps;
    enum ngxz_err    err;       /* of the last failure */
};

/* How a zone is copied. */
struct ngxz_how {
    int      lock;              /* take the zone's lock (root) */
    uint64_t wait_ms;           /* for it, at most */
    unsigned tries;             /* copies without the lock, at most */
};

/* One slab zone of the process and its last copy. */
struct ngxz_zone {
    const struct ngxz_map *map;
    uint64_t       addr;        /* in nginx's process */
    size_t         size;        /* end - addr */
    size_t         meta;        /* bytes before the data pages */
    uint64_t       lock_ptr[2]; /* the mutex's pointers to its lock word and
                                   wait count, as nginx set them */
    char           log_ctx[160]; /* the raw string, "" if none */
    char           feature[64]; /* parsed from it, "" if it does not parse */
    char           name[160];   /* likewise (the raw string if not) */
    unsigned char *mem;         /* private: a control block, then the image */
    size_t         len;
    unsigned char *raw;         /* the part before the data, as last read */
    unsigned char *again;       /* ... and as read again */
    struct zone    z;           /* a slab zone over the translated image */
    /* how the last copy was made */
    int            locked;
    unsigned       tries;
    uint64_t       wait_ns, hold_ns;
};

/* Look at pid: its program, its version, its shared mappings; open its
 * memory.  -1: no such process (NGXZ_NOPROC), no permission to read its
 * memory (NGXZ_PERM, diag says what would), or another failure. */
int ngxz_open(struct ngxz_proc *p, pid_t pid);

/* Close and free what ngxz_open made (safe on a zeroed proc). */
void ngxz_close(struct ngxz_proc *p);

/* Whether mapping m is a slab zone: 1 (z describes it, names it and has
 * memory for its copies), 0 (not one: diag says why), -1 (it could not be
 * read: p->err). */
int ngxz_identify(struct ngxz_proc *p, const struct ngxz_map *m, struct ngxz_zone *z);

/* A consistent copy of zone z, as `how` says, into z->z (a slab zone of
 * the slab's offsets that slab_check() passed).  0, or -1 with p->err:
 * NGXZ_CHANGED, NGXZ_CORRUPT, NGXZ_BUSY, NGXZ_GONE, NGXZ_PERM. */
int ngxz_copy(struct ngxz_proc *p, struct ngxz_zone *z, const struct ngxz_how *how);

/* Free a zone's copies (safe on a zeroed zone). */
void ngxz_release(struct ngxz_zone *z);

#endif
