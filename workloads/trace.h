/*
 * trace: reading allocation traces and replaying them over an allocator.
 *
 * A trace (docs/formats.md) is text, one op a line:
 *
 *   # comment                  ignored, as are blank lines
 *   pagesize P                 optional, before `pages`: the page size (power of two)
 *   pages N                    optional, before the first op: a zone of N data pages
 *   a ID SIZE                  allocate SIZE bytes, call the block ID
 *   f ID                       free block ID (a no-op if its allocation failed)
 *
 * The idea: parse everything before replaying anything, into a compact op
 * array, so that the replay loop measures the allocator and not the parser.
 * IDs are arbitrary 64-bit decimal names; the parser maps each distinct ID to
 * a dense slot index with an open-addressing hash table and checks liveness
 * as it goes (an `a` of a live ID, an `f` of an ID that is not live, are
 * errors found here, with their line).  An ID freed and allocated again keeps
 * its slot.  The replay then needs only an array of block pointers indexed by
 * slot: no hashing, no strings, 16 bytes of op per line.
 */
#ifndef SHMBENCH_TRACE_H
#define SHMBENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "substrate/allocator.h"

/* One op.  `slot` carries TRACE_OP_FREE in its top bit for `f`. */
struct trace_op {
    uint64_t size;           /* requested bytes (`a`), 0 for `f` */
    uint32_t slot;           /* dense index of the ID | TRACE_OP_FREE */
    uint32_t line;           /* source line (saturates at UINT32_MAX) */
};

#define TRACE_OP_FREE  0x80000000u
#define TRACE_SLOT_MAX 0x7fffffffu

/* The longest line a trace may hold, in bytes, its '\n' not counted (the
 * reader's buffer holds one such line and its newline). */
#define TRACE_LINE_MAX (1u << 20)

/* A parsed trace. */
struct trace {
    char            *path;        /* as given ("-" = standard input) */
    struct trace_op *ops;
    size_t           nops;
    size_t           nallocs;     /* `a` lines */
    size_t           nfrees;      /* `f` lines */
    uint64_t        *ids;         /* ID of each slot */
    size_t           nslots;      /* distinct IDs */
    size_t           max_live;    /* most IDs live at once */
    uint64_t         pages;       /* `pages N`, 0 if absent */
    uint64_t         page_size;   /* `pagesize P`, 0 if absent */
    uint64_t         pages_line;  /* their lines, 0 if absent */
    uint64_t         page_size_line;
    uint64_t         first_op_line; /* line of the first `a`/`f`, else lines + 1 */
    uint64_t         lines;       /* lines read */
};

/*
 * Read and check the trace at `path` ("-" for standard input).  Returns 0, or
 * -1 with a diag message: "PATH: <strerror>" when it cannot be read,
 * "PATH:LINE: <what is wrong>" for malformed input (a line longer than
 * TRACE_LINE_MAX bytes or holding a NUL byte, unknown op, missing or extra
 * field, a number that is not decimal or does not fit in 64 bits,
 * `pages`/`pagesize` misplaced or repeated, a page size that is not a power
 * of two, an `a` of a live ID, an `f` of an ID that is not live).  A token
 * quoted in a message has its unprintable bytes escaped (\x1b).
 * On error *t is left empty (trace_free is still safe).
 */
int trace_load(struct trace *t, const char *path);

/* The same from `len` bytes in memory; `name` stands for PATH in messages. */
int trace_parse_mem(struct trace *t, const char *name, const char *buf,
    size_t len);

/* Release everything trace_load allocated. */
void trace_free(struct trace *t);

/* What a replay did. */
struct trace_replay_result {
    uint64_t allocs;         /* allocations that succeeded */
    uint64_t fails;          /* allocations that failed */
    uint64_t frees;          /* frees done */
    uint64_t frees_skipped;  /* `f` of an ID whose allocation failed */
    uint64_t first_fail_op;  /* 1-based index in the ops of the first failed
                                allocation; 0 if none failed */
    uint64_t first_fail_line; /* its trace line; 0 if none failed */
    uint64_t ns;             /* CLOCK_MONOTONIC ns of the op loop alone (with
                                trace_replay_memory: accounting included) */
};

/*
 * Replay t over the formatted zone z (z->ops is the allocator).  If
 * `offsets` is not NULL it gets, for each `a` in order, the block's byte
 * offset from `origin`, or -1 for a failed allocation.  Returns 0, or -1
 * with a diag message "PATH:LINE: free of ID N refused: <why>" if the
 * allocator refuses a free (a bug in it: the trace was checked).  Blocks
 * still live at the end stay allocated in the zone.  The loop does nothing
 * but the ops and, for a failure, count it: its time is the allocator's.
 */
int trace_replay(const struct trace *t, struct zone *z,
    const unsigned char *origin, int64_t *offsets,
    struct trace_replay_result *r);

/*
 * What trace_replay_memory found, in bytes (docs/metrics.md).  Live is the
 * sum of the requested sizes of the blocks live, granted the sum of their
 * usable_size() (the requested size for an allocator without it); footprint
 * and header are the allocator's stats().  "At peak" is the state after
 * the first op that brought the footprint to its peak value.
 */
struct trace_memory {
    int      footprint_exact; /* every stats() read said ALLOC_EXACT_FOOTPRINT */
    uint64_t stats_calls;    /* stats() reads the replay made */
    uint64_t header_bytes;   /* stats().header_bytes before the first op */
    uint64_t data_bytes;     /* stats().data_bytes before the first op */
    uint64_t peak_footprint;
    uint64_t peak_footprint_op; /* 1-based op index where it was reached; 0:
                                   the footprint never rose above the start */
    uint64_t live_at_peak;   /* live and granted then */
    uint64_t granted_at_peak;
    uint64_t peak_live;      /* the most live bytes at any time */
    uint64_t peak_granted;   /* the most granted bytes at any time */
    uint64_t end_live, end_granted, end_footprint; /* after the last op */
    /* Just before the first failed allocation (valid if r->first_fail_op): */
    uint64_t fail_live;
    uint64_t fail_footprint;
    uint64_t fail_free_bytes;    /* stats().free_bytes */
    uint64_t fail_largest_free;  /* stats().largest_free */
    int      fail_largest_exact; /* ALLOC_EXACT_LARGEST was set */
};

/*
 * trace_replay, with memory accounting after every op: live and granted
 * bytes kept incrementally, the footprint read from stats() whenever it may
 * have changed (see trace.c), and the zone's state read at the first
 * failure.  `r->ns` then includes the accounting, which is not the
 * allocator's time.  Returns 0, or -1 with a diag message: a refused free
 * as trace_replay, out of memory, or "PATH:LINE: ..." when the allocator's
 * pages in use disagree with the pages its live blocks cover (an empty page
 * it kept, for an allocator that takes page counts).
 */
int trace_replay_memory(const struct trace *t, struct zone *z,
    const unsigned char *origin, struct trace_replay_result *r,
    struct trace_memory *m);

#endif
