/*
 * nginx_shim/ngx_config.h: the little of nginx's platform layer that
 * src/core/ngx_slab.c and src/core/ngx_shmtx.c need, written for shmbench.
 *
 * nginx's own ngx_config.h pulls in its configure-generated headers and the
 * whole OS layer.  The two files we compile use only integer types, memset,
 * the page-size globals, the process globals, gcc atomics, POSIX semaphores
 * and logging.  This header and ngx_core.h give exactly those, with the
 * values nginx's configure chooses on x86-64 Linux with gcc (GCC atomics,
 * POSIX semaphores, no malloc debugging).  This directory must come before
 * nginx's src/core on the include path, so that these are found instead of
 * nginx's own ngx_config.h and ngx_core.h.
 */
#ifndef _NGX_CONFIG_H_INCLUDED_
#define _NGX_CONFIG_H_INCLUDED_

#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define NGX_LINUX             1
#define NGX_HAVE_GCC_ATOMIC   1
#define NGX_HAVE_ATOMIC_OPS   1
#define NGX_HAVE_POSIX_SEM    1
#define NGX_HAVE_SCHED_YIELD  1

#if (UINTPTR_MAX == 0xffffffffu)
#define NGX_PTR_SIZE          4
#else
#define NGX_PTR_SIZE          8
#endif

/* Not defined, as in an ordinary Linux build: NGX_DEBUG, NGX_DEBUG_MALLOC,
 * NGX_HAVE_DEBUG_MALLOC (ngx_slab.c then never junk-fills). */

typedef intptr_t        ngx_int_t;
typedef uintptr_t       ngx_uint_t;
typedef intptr_t        ngx_flag_t;
typedef unsigned char   u_char;

#define NGX_OK          0
#define NGX_ERROR      -1

#define ngx_align_ptr(p, a)                                                   \
    (u_char *) (((uintptr_t) (p) + ((uintptr_t) a - 1)) & ~((uintptr_t) a - 1))

#endif /* _NGX_CONFIG_H_INCLUDED_ */
