/*
 * nginx_shim/ngx_core.h: the declarations ngx_slab.c and ngx_shmtx.c use
 * from nginx's core and OS layers, for shmbench's `nginx` reference
 * allocator (alloc/nginx_ref.c defines the globals).
 *
 * Atomics and the spin pause are nginx's own definitions for
 * NGX_HAVE_GCC_ATOMIC (src/os/unix/ngx_atomic.h).  Logging differs on
 * purpose: every ngx_log_error() goes to ngx_ref_log_error(), which never
 * prints; it records the message in shmbench's diag buffer and counts it,
 * so the glue can tell that ngx_slab_free() refused a pointer.  Debug
 * logging compiles to nothing, as in a build without --with-debug.  At the
 * end come nginx's own ngx_shmtx.h and ngx_slab.h, from src/core.
 */
#ifndef _NGX_CORE_H_INCLUDED_
#define _NGX_CORE_H_INCLUDED_

#include <ngx_config.h>

typedef struct ngx_log_s     ngx_log_t;
typedef struct ngx_cycle_s   ngx_cycle_t;

typedef pid_t   ngx_pid_t;
typedef int     ngx_err_t;

#define ngx_errno           errno
#define NGX_EINTR           EINTR
#define NGX_EAGAIN          EAGAIN

/* src/os/unix/ngx_atomic.h, NGX_HAVE_GCC_ATOMIC */
typedef long                        ngx_atomic_int_t;
typedef unsigned long               ngx_atomic_uint_t;
typedef volatile ngx_atomic_uint_t  ngx_atomic_t;

#define ngx_atomic_cmp_set(lock, old, set)                                    \
    __sync_bool_compare_and_swap(lock, old, set)

#define ngx_atomic_fetch_add(value, add)                                      \
    __sync_fetch_and_add(value, add)

#define ngx_memory_barrier()        __sync_synchronize()

#if ( __i386__ || __i386 || __amd64__ || __amd64 )
#define ngx_cpu_pause()             __asm__ ("pause")
#else
#define ngx_cpu_pause()
#endif

/* src/os/unix/ngx_process.h */
#define ngx_sched_yield()           sched_yield()
#define ngx_debug_point()           ((void) 0)

/* src/core/ngx_string.h */
#define ngx_memzero(buf, n)         (void) memset(buf, 0, n)
#define ngx_memset(buf, c, n)       (void) memset(buf, c, n)

/* src/core/ngx_log.h: levels */
#define NGX_LOG_STDERR            0
#define NGX_LOG_EMERG             1
#define NGX_LOG_ALERT             2
#define NGX_LOG_CRIT              3
#define NGX_LOG_ERR               4
#define NGX_LOG_WARN              5
#define NGX_LOG_NOTICE            6
#define NGX_LOG_INFO              7
#define NGX_LOG_DEBUG             8

#define NGX_LOG_DEBUG_CORE        0x010
#define NGX_LOG_DEBUG_ALLOC       0x020
#define NGX_LOG_DEBUG_MUTEX       0x040

struct ngx_log_s {
    ngx_uint_t   log_level;
};

/* Only ->log is used (as ngx_cycle->log, an argument the macros drop). */
struct ngx_cycle_s {
    ngx_log_t   *log;
};

/* Records the message (diag) and counts it; never prints. */
void ngx_ref_log_error(ngx_uint_t level, ngx_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ngx_log_error(level, log, ...)                                        \
    ngx_ref_log_error(level, __VA_ARGS__)

#define ngx_log_debug0(level, log, err, fmt)
#define ngx_log_debug1(level, log, err, fmt, arg1)
#define ngx_log_debug2(level, log, err, fmt, arg1, arg2)
#define ngx_log_debug3(level, log, err, fmt, arg1, arg2, arg3)

/* The globals nginx keeps per process (defined in alloc/nginx_ref.c). */
extern volatile ngx_cycle_t  *ngx_cycle;
extern ngx_pid_t              ngx_pid;
extern ngx_int_t              ngx_ncpu;
extern ngx_uint_t             ngx_pagesize;
extern ngx_uint_t             ngx_pagesize_shift;

/* nginx's own headers for the two files. */
#include <ngx_shmtx.h>
#include <ngx_slab.h>

#endif /* _NGX_CORE_H_INCLUDED_ */
