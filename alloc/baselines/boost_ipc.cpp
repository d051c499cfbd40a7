/*
 * boost_ipc: Boost.Interprocess's own memory algorithms behind plain C calls
 * (boost_ipc.h), for the `boost-rbtree` and `boost-seqfit` allocators
 * (boost_ops.c).  "Measured, not tuned": each is what a C++ user gets today
 * from
 *
 *     basic_managed_external_buffer<char, ALGORITHM<mutex_family>, iset_index>
 *
 * over memory already mapped, with Boost's defaults (16-byte alignment,
 * Boost's process-shared mutex taken inside every allocate and deallocate),
 * and allocate(n, std::nothrow) / deallocate(p) / size(p) on its segment
 * manager.  ALGORITHM is rbtree_best_fit (Boost's default: free blocks in a
 * red-black tree ordered by size, best fit, boundary tags for O(1) merging)
 * or simple_seq_fit (one address-ordered free list, first fit, merging by
 * walking it).
 *
 * This file holds only what must be C++: Boost's calls, each wrapped so that
 * no exception leaves it (a failure becomes NULL or -1 and a diag message).
 * Everything about the zone (our header, refusing pointers Boost would
 * trust, counting failures, the ops tables) is C, in boost_ops.c.
 */
#include <boost/interprocess/creation_tags.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/indexes/iset_index.hpp>
#include <boost/interprocess/managed_external_buffer.hpp>
#include <boost/interprocess/mem_algo/rbtree_best_fit.hpp>
#include <boost/interprocess/mem_algo/simple_seq_fit.hpp>
#include <boost/interprocess/sync/mutex_family.hpp>
#include <boost/version.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>

#include "baselines/boost_ipc.h"

extern "C" {
#include "substrate/diag.h"
}

namespace {

namespace bi = boost::interprocess;

/* Both algorithms through one template. */
template <class Algorithm>
struct segment_of {
    typedef bi::basic_managed_external_buffer<char, Algorithm, bi::iset_index> buffer;
};

typedef segment_of<bi::rbtree_best_fit<bi::mutex_family>>::buffer rbtree_buffer;
typedef segment_of<bi::simple_seq_fit<bi::mutex_family>>::buffer  seqfit_buffer;

const char *
name_of(boost_ipc_algo a)
{
    return a == BOOST_IPC_RBTREE ? "rbtree_best_fit" : "simple_seq_fit";
}

/* Run f on the buffer type of algorithm a; report anything thrown. */
template <class F, class R>
R
with_buffer(boost_ipc_algo a, const char *what, R failed, F f) noexcept
{
    try {
        if (a == BOOST_IPC_RBTREE) {
            return f(static_cast<rbtree_buffer *>(nullptr));
        }
        return f(static_cast<seqfit_buffer *>(nullptr));
    } catch (const std::exception &e) {
        diag_set("boost %s %s: %s", name_of(a), what, e.what());
    } catch (...) {
        diag_set("boost %s %s: an exception", name_of(a), what);
    }
    return failed;
}

}  // namespace

extern "C" const char *
boost_ipc_algorithm(boost_ipc_algo a)
{
    return name_of(a);
}

extern "C" const char *
boost_ipc_version(void)
{
    static char v[16];

    if (v[0] == '\0') {
        snprintf(v, sizeof(v), "%d.%d", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000);
    }
    return v;
}

extern "C" size_t
boost_ipc_alignment(boost_ipc_algo a)
{
    return a == BOOST_IPC_RBTREE ? bi::rbtree_best_fit<bi::mutex_family>::Alignment
                                 : bi::simple_seq_fit<bi::mutex_family>::Alignment;
}

extern "C" size_t
boost_ipc_block_header(boost_ipc_algo a)
{
    return a == BOOST_IPC_RBTREE ? bi::rbtree_best_fit<bi::mutex_family>::PayloadPerAllocation
                                 : bi::simple_seq_fit<bi::mutex_family>::PayloadPerAllocation;
}

extern "C" size_t
boost_ipc_min_segment(boost_ipc_algo a)
{
    return a == BOOST_IPC_RBTREE ? rbtree_buffer::segment_manager::get_min_size()
                                 : seqfit_buffer::segment_manager::get_min_size();
}

extern "C" void *
boost_ipc_create(boost_ipc_algo a, void *seg, size_t size)
{
    return with_buffer(a, "create", static_cast<void *>(nullptr), [&](auto *type) -> void * {
        typedef std::remove_pointer_t<decltype(type)> buffer;
        return new buffer(bi::create_only, seg, size);
    });
}

extern "C" void *
boost_ipc_open(boost_ipc_algo a, void *seg, size_t size)
{
    return with_buffer(a, "open", static_cast<void *>(nullptr), [&](auto *type) -> void * {
        typedef std::remove_pointer_t<decltype(type)> buffer;
        return new buffer(bi::open_only, seg, size);
    });
}

extern "C" void
boost_ipc_close(boost_ipc_algo a, void *handle)
{
    with_buffer(a, "close", 0, [&](auto *type) -> int {
        delete static_cast<decltype(type)>(handle);
        return 0;
    });
}

extern "C" void *
boost_ipc_allocate(boost_ipc_algo a, void *handle, size_t size)
{
    return with_buffer(a, "allocate", static_cast<void *>(nullptr), [&](auto *type) -> void * {
        return static_cast<decltype(type)>(handle)->allocate(size, std::nothrow);
    });
}

extern "C" int
boost_ipc_deallocate(boost_ipc_algo a, void *handle, void *p)
{
    return with_buffer(a, "deallocate", -1, [&](auto *type) -> int {
        static_cast<decltype(type)>(handle)->deallocate(p);
        return 0;
    });
}

/* Boost's own comment on size(): a block's size does not change while it is
 * allocated, so no lock is taken. */
extern "C" size_t
boost_ipc_size(boost_ipc_algo a, void *seg, size_t size, const void *p)
{
    return with_buffer(a, "size", static_cast<size_t>(0), [&](auto *type) -> size_t {
        typedef std::remove_pointer_t<decltype(type)> buffer;
        buffer mb(bi::open_only, seg, size);
        return mb.get_segment_manager()->size(p);
    });
}

extern "C" uint64_t
boost_ipc_free_memory(boost_ipc_algo a, void *seg, size_t size)
{
    return with_buffer(a, "get_free_memory", static_cast<uint64_t>(0), [&](auto *type) {
        typedef std::remove_pointer_t<decltype(type)> buffer;
        buffer mb(bi::open_only, seg, size);
        return static_cast<uint64_t>(mb.get_free_memory());
    });
}

extern "C" int
boost_ipc_check_sanity(boost_ipc_algo a, void *seg, size_t size)
{
    return with_buffer(a, "check_sanity", -1, [&](auto *type) -> int {
        typedef std::remove_pointer_t<decltype(type)> buffer;
        buffer mb(bi::open_only, seg, size);
        if (!mb.check_sanity()) {
            diag_set("boost %s: check_sanity() failed", name_of(a));
            return -1;
        }
        return 0;
    });
}
