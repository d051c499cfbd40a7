/*
 * boost_ipc: the C face of Boost.Interprocess's memory algorithms.
 *
 * boost_ipc.cpp wraps Boost's managed external buffer over
 * rbtree_best_fit<mutex_family> or simple_seq_fit<mutex_family> in these
 * plain C calls; boost_ops.c builds the `boost-rbtree` and `boost-seqfit`
 * ops tables on them.  Keeping the C++ behind this header means no C++ code
 * sees shmbench's C11 headers (their _Atomic lock words are not C++), and no
 * exception ever crosses into C: every function catches everything and
 * reports a failure with a diag message.
 *
 * `seg` is the segment's first byte and `size` its length; everything Boost
 * keeps in the segment is linked by offset_ptr, so any process may pass its
 * own mapping's address.  A handle is a process-private C++ object.
 */
#ifndef SHMBENCH_BOOST_IPC_H
#define SHMBENCH_BOOST_IPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum boost_ipc_algo {
    BOOST_IPC_RBTREE,       /* rbtree_best_fit: best fit, size-ordered red-black tree */
    BOOST_IPC_SEQFIT        /* simple_seq_fit: address-ordered list, first fit */
};

/* Boost's name of the algorithm ("rbtree_best_fit", "simple_seq_fit"). */
const char *boost_ipc_algorithm(enum boost_ipc_algo a);

/* "1.74": the Boost version the adapter was compiled against. */
const char *boost_ipc_version(void);

/* Boost's block alignment, its smallest segment, and the bytes a block
 * header takes (PayloadPerAllocation). */
size_t boost_ipc_alignment(enum boost_ipc_algo a);
size_t boost_ipc_min_segment(enum boost_ipc_algo a);
size_t boost_ipc_block_header(enum boost_ipc_algo a);

/* Construct a segment over [seg, seg + size) (create_only) and return a
 * handle on it; NULL with a diag message if Boost refuses. */
void *boost_ipc_create(enum boost_ipc_algo a, void *seg, size_t size);

/* Open an existing segment (open_only); NULL with a diag message. */
void *boost_ipc_open(enum boost_ipc_algo a, void *seg, size_t size);

/* Delete a handle (the segment stays). */
void boost_ipc_close(enum boost_ipc_algo a, void *handle);

/* allocate(size, std::nothrow); NULL if Boost has no block (or throws). */
void *boost_ipc_allocate(enum boost_ipc_algo a, void *handle, size_t size);

/* deallocate(p): 0, or -1 with a diag message if Boost throws.  Boost
 * trusts p: the caller must have ruled out what it can. */
int boost_ipc_deallocate(enum boost_ipc_algo a, void *handle, void *p);

/* The bytes the block at p may use (segment_manager::size), no lock. */
size_t boost_ipc_size(enum boost_ipc_algo a, void *seg, size_t size, const void *p);

/* get_free_memory(): reads two header words, no lock. */
uint64_t boost_ipc_free_memory(enum boost_ipc_algo a, void *seg, size_t size);

/* check_sanity() (takes the segment's mutex): 0 if sane, -1 with a diag
 * message if not (or if Boost throws). */
int boost_ipc_check_sanity(enum boost_ipc_algo a, void *seg, size_t size);

#ifdef __cplusplus
}
#endif

#endif
