/*
 * shdict: one lua_shared_dict, emulated over any allocator of the registry.
 *
 * lua-nginx-module 0.10.23's ngx_http_lua_shdict.c, with the lua-resty-core
 * layer that turns its C results into what a Lua script sees, reproduced
 * step by step so that a script of dict operations gives, on the `slab`
 * (or `nginx`) allocator, the same results, the same evictions and the same
 * free_space() as a running nginx 1.22.1, and on any other allocator shows
 * what that allocator would have changed.  docs/shdict.md explains it at
 * length; in short:
 *
 *  - Init allocates what the module's zone init allocates: the dict's
 *    shared header (tree, sentinel, LRU queue: 80 bytes) and the log-context
 *    string " in lua_shared_dict zone \"NAME\"" (28 + strlen(NAME) bytes).
 *  - An item is one block of 68 + K + V bytes (K key bytes, V value bytes):
 *    nginx's 32-byte tree-node head, the module's record from the node's
 *    colour byte (type, key length, value length, expiry in ms, LRU links,
 *    user flags), then the key and the value.  Numbers are 8-byte doubles,
 *    booleans one byte.  A list is a head of align8(84 + K) bytes and one
 *    block of 21 + V bytes per element.
 *  - The index is nginx's red-black tree keyed by ngx_crc32_short(key),
 *    ties broken by ngx_memn2cmp of the keys (workloads/rbtree.h); the LRU
 *    queue has the most recent item at its head, and every lookup moves the
 *    item it finds there.  Every link is an offset from the zone's base.
 *  - Expiry: absolute times in ms on a clock the caller sets and advances
 *    (shdict_clock_*), starting at SHDICT_CLOCK_START, a real epoch time, so
 *    that flush_all's "expires = 1" is in the past as it is in nginx.
 *  - Each operation runs the module's control flow: expire up to 2 stale
 *    items from the LRU tail first, look up, reuse a node in place when the
 *    new value has exactly the old length, else free and allocate; on
 *    failure up to 30 rounds of forced expiry from the tail (safe_* never
 *    evict), `forcible` set once a round ran.
 *
 * Results are given as the Lua method returns them (struct shdict_result):
 * how many values, the first one's kind and value, the error string, the
 * forcible or stale flag.  A call that Lua would end by raising an error
 * (a negative exptime, a malformed list) returns -1 with the error's text
 * in diag; every other call returns 0 with the result filled in.
 *
 * Locking: nginx runs each operation under the zone's one mutex, with the
 * slab's _locked calls inside.  Here memory is taken through the zone's ops
 * table (z->ops->alloc / free, which lock as the allocator does), and the
 * whole operation is serialised by the lock the caller gives
 * (shdict_set_lock); one process needs none.  What is allocated and freed,
 * in which order, is the module's; only the lock counters differ.
 *
 * The handle (struct shdict) is process-private: a worker forked after
 * shdict_init() uses its copy; counters in it are that process's.
 */
#ifndef SHMBENCH_SHDICT_H
#define SHMBENCH_SHDICT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rbtree.h"
#include "substrate/allocator.h"

/* Value types, numbered as the module numbers them (Lua's type tags). */
enum shdict_type {
    SHDICT_TNIL     = 0,
    SHDICT_TBOOLEAN = 1,
    SHDICT_TNUMBER  = 3,
    SHDICT_TSTRING  = 4,
    SHDICT_TLIST    = 5
};

/* The store operations (the module's op flags: add 1, replace 2, safe 4). */
enum shdict_op {
    SHDICT_SET      = 0,
    SHDICT_ADD      = 1,
    SHDICT_REPLACE  = 2,
    SHDICT_SAFE_SET = 4,
    SHDICT_SAFE_ADD = 5
};

/* Sizes the module allocates (bytes requested from the allocator). */
#define SHDICT_NODE_OVERHEAD   68    /* an item: 68 + K + V */
#define SHDICT_HEADER_SIZE     80    /* the shared header */
#define SHDICT_LOG_CTX_BASE    28    /* the log-context string: 28 + name length */
#define SHDICT_KEY_MAX         65535
#define SHDICT_MAX_EVICT_ROUNDS 30

/*
 * The layout in the zone, field for field the module's on LP64.  Every
 * link is an offset from the zone's base.
 *
 * An item is a block whose first 32 bytes are a tree node's key and links
 * (struct rbtree_node); its record (ngx_http_lua_shdict_node_t) starts at
 * the node's colour byte, offset 32, and its data (key bytes, then value
 * bytes) at offset 32 + 36 = 68.
 */
struct shdict_queue {            /* ngx_queue_t: offsets of queue fields */
    uint64_t prev, next;
};

struct shdict_rec {
    uint8_t             color;       /* the tree node's colour */
    uint8_t             value_type;  /* enum shdict_type */
    uint16_t            key_len;
    uint32_t            value_len;   /* a list: its element count */
    uint64_t            expires;     /* ms since the epoch; 0: never */
    struct shdict_queue queue;       /* LRU links */
    uint32_t            user_flags;
    unsigned char       data[];      /* key, then value (a list: key, pad to
                                        8, its element queue's head) */
};

#define SHDICT_REC_OFF 32            /* offsetof(ngx_rbtree_node_t, color) */

/* A list element (ngx_http_lua_shdict_list_node_t): 21 + V bytes. */
struct shdict_lnode {
    struct shdict_queue queue;
    uint32_t            value_len;
    uint8_t             value_type;
    unsigned char       data[];
};

/* The shared header (ngx_http_lua_shdict_shctx_t), 80 bytes. */
struct shdict_sh {
    struct rbtree       rbtree;
    struct rbtree_node  sentinel;
    struct shdict_queue lru;         /* head: most recent */
};

/* The record of the item at offset node. */
static inline struct shdict_rec *
shdict_rec_at(unsigned char *base, uint64_t node)
{
    return (struct shdict_rec *) (base + node + SHDICT_REC_OFF);
}

/* The item whose LRU links are at offset q. */
static inline uint64_t
shdict_node_of_queue(uint64_t q)
{
    return q - SHDICT_REC_OFF - offsetof(struct shdict_rec, queue);
}

/* The offset of a list item's element-queue head: the first 8-aligned
 * address after its key, as the module aligns the pointer. */
static inline uint64_t
shdict_list_queue(unsigned char *base, uint64_t node, size_t klen)
{
    uintptr_t a = (uintptr_t) (shdict_rec_at(base, node)->data + klen);

    return (uint64_t) (((a + 7) & ~(uintptr_t) 7) - (uintptr_t) base);
}

/* The simulated clock's start: 2022-12-01 00:00:00 UTC in ms. */
#define SHDICT_CLOCK_START     1669852800000ull

/* A value to store or push. */
struct shdict_value {
    int                  type;   /* enum shdict_type (nil deletes) */
    double               num;    /* a number; for a boolean, non-zero is true */
    const unsigned char *str;    /* a string's bytes; NULL: len bytes of a pattern */
    size_t               len;    /* a string's length */
};

/* The kind of a returned Lua value. */
enum shdict_ret {
    SHDICT_RET_NIL,
    SHDICT_RET_TRUE,
    SHDICT_RET_FALSE,
    SHDICT_RET_NUMBER,
    SHDICT_RET_STRING,
    SHDICT_RET_TABLE             /* get_keys: a table of num keys */
};

/*
 * What a Lua method returned.  The values in order: the first (ret, with
 * num or str/len); the second, which is the error string when err is not
 * NULL, else the user flags when has_flags, else nil; the third, forcible
 * (stores, incr with init) or stale (get_stale).  nret is how many values
 * Lua returns (`return nil` is one, `return nil, err` two).
 */
struct shdict_result {
    unsigned             nret;
    enum shdict_ret      ret;
    double               num;        /* ret NUMBER (also TABLE: its length) */
    const unsigned char *str;        /* ret STRING from get: the bytes, in
                                        the zone, valid until the next
                                        operation; NULL from a pop, whose
                                        element is freed */
    size_t               len;
    int                  type;       /* get/pop: the type found, else TNIL */
    const char          *err;        /* the second value when a string */
    int                  has_flags;  /* the second value is flags */
    uint32_t             flags;
    int                  forcible;   /* third value of a store / incr(init) */
    int                  stale;      /* third value of get_stale */
};

/*
 * The values of r as Lua's tostring() writes each, separated by one space:
 * "true nil false", "false no memory true", "nil", "13.5", "table" for
 * get_keys' table; numbers as LuaJIT writes them ("%.14g"), strings as
 * their bytes.  Written into buf as snprintf does (truncated, always
 * terminated when len > 0); returns the length of the whole text.
 */
size_t shdict_result_format(const struct shdict_result *r, char *buf, size_t len);

/* Counts of this process's operations and of what they did. */
struct shdict_counters {
    uint64_t sets;          /* set, safe_set, add, safe_add, replace (delete apart) */
    uint64_t deletes;
    uint64_t incrs;
    uint64_t gets;          /* get and get_stale */
    uint64_t hits;          /* ... that returned a value */
    uint64_t misses;        /* ... that returned nil or an error */
    uint64_t pushes, pops;
    uint64_t evictions;     /* items freed by force (expire(0)'s tail, in the
                               30-round loops) */
    uint64_t expired;       /* items freed because they had expired */
    uint64_t nomem;         /* operations that returned "no memory" */
    uint64_t forcible;      /* operations that returned forcible = true */
};

/* A process's handle on one dict. */
struct shdict {
    struct zone           *zone;
    uint64_t               sh;        /* offset of the shared header */
    uint64_t               log_ctx;   /* offset of the log-context string */
    uint64_t               now_ms;    /* the simulated clock */
    struct shdict_counters count;
    void                 (*lock)(void *);
    void                 (*unlock)(void *);
    void                  *lock_arg;
};

/*
 * Make a dict named `name` in the zone z, which an allocator formatted
 * (nginx's figures need a zone nothing else allocates from, as nginx gives
 * each dict its own): allocate its header and log-context string as the
 * module does, empty tree and queue, clock at SHDICT_CLOCK_START.  Returns
 * 0, or -1 with a diag message (the zone cannot hold them).
 */
int shdict_init(struct shdict *d, struct zone *z, const char *name);

/* Serialise every operation with lock(arg) / unlock(arg) (NULL: none). */
void shdict_set_lock(struct shdict *d, void (*lock)(void *),
    void (*unlock)(void *), void *arg);

/* The simulated clock, in ms since the epoch: read, set, advance. */
uint64_t shdict_now(const struct shdict *d);
void shdict_clock_set(struct shdict *d, uint64_t ms);
void shdict_clock_advance(struct shdict *d, uint64_t ms);

/* Bytes the module requests for an item (68 + K + V), a list head
 * (align8(84 + K)) and a list element (21 + V). */
size_t shdict_node_size(size_t klen, size_t vlen);
size_t shdict_list_head_size(size_t klen);
size_t shdict_list_elem_size(size_t vlen);

/*
 * dict:set / safe_set / add / safe_add / replace(key, value, exptime,
 * flags) by op; exptime_ms is resty's exptime * 1000 (0: never).  Returns
 * true|false, nil|err, forcible.  Errors as Lua gives them: "nil key",
 * "empty key", "key too long", "bad value type" (nil, err); "exists", "not
 * found", "no memory", "attempt to add or replace nil values" (false, err,
 * forcible).  A negative exptime_ms raises (-1).
 */
int shdict_store(struct shdict *d, enum shdict_op op, const void *key,
    size_t klen, const struct shdict_value *v, int64_t exptime_ms,
    uint32_t flags, struct shdict_result *r);

/* dict:set(key, value, exptime, flags), the other stores the same way. */
int shdict_set(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r);
int shdict_safe_set(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r);
int shdict_add(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r);
int shdict_safe_add(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r);
int shdict_replace(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r);

/* dict:delete(key): set(key, nil); true, nil, false. */
int shdict_delete(struct shdict *d, const void *key, size_t klen,
    struct shdict_result *r);

/*
 * dict:get(key) (stale 0) or dict:get_stale(key) (stale 1).  get: value
 * [, flags when not 0], or nil; get_stale: value, flags|nil, stale.  A list
 * gives nil, "value is a list".  result.type and len say what was found.
 */
int shdict_get(struct shdict *d, const void *key, size_t klen, int stale,
    struct shdict_result *r);

/*
 * dict:incr(key, delta, init, init_ttl): init and init_ttl_ms NULL when not
 * given.  The new value; with init: value, nil, forcible; on error nil,
 * err ("not found", "not a number", "no memory").  A negative init_ttl, or
 * one without init, raises (-1).
 */
int shdict_incr(struct shdict *d, const void *key, size_t klen, double delta,
    const double *init, const int64_t *init_ttl_ms, struct shdict_result *r);

/* dict:lpush (left 1) / rpush (left 0)(key, value): the list's new length,
 * or nil|false, err ("value not a list", "no memory", "bad value type"). */
int shdict_push(struct shdict *d, const void *key, size_t klen, int left,
    const struct shdict_value *v, struct shdict_result *r);

/* dict:lpop (left 1) / rpop (left 0)(key): the value, or nil; nil, "value
 * not a list".  A corrupt list raises (-1). */
int shdict_pop(struct shdict *d, const void *key, size_t klen, int left,
    struct shdict_result *r);

/* dict:llen(key): the length (0 if absent or expired), or nil, "value not a
 * list". */
int shdict_llen(struct shdict *d, const void *key, size_t klen,
    struct shdict_result *r);

/* dict:ttl(key): seconds left (negative once expired, 0 for never), or nil,
 * "not found".  dict:expire(key, exptime): true, or nil, "not found". */
int shdict_ttl(struct shdict *d, const void *key, size_t klen,
    struct shdict_result *r);
int shdict_expire(struct shdict *d, const void *key, size_t klen,
    int64_t exptime_ms, struct shdict_result *r);

/* dict:flush_all(): marks every item expired and frees at most 3; returns
 * nothing (nret 0). */
int shdict_flush_all(struct shdict *d, struct shdict_result *r);

/* dict:flush_expired(max) (max 0: all): frees expired items from the LRU
 * tail; their count. */
int shdict_flush_expired(struct shdict *d, int max, struct shdict_result *r);

/* dict:get_keys(max) (max 0: all; Lua's default is 1024): a table of the
 * live keys, least recent first; result.num is its length. */
int shdict_get_keys(struct shdict *d, int max, struct shdict_result *r);

/* dict:free_space(): for a page allocator free pages x page size (the
 * slab's pfree, as the module reads it), for others the free bytes the
 * allocator reports.  dict:capacity(): the zone's size. */
uint64_t shdict_free_space(struct shdict *d);
uint64_t shdict_capacity(const struct shdict *d);

/*
 * Verify the dict, trusting nothing read: the tree (rbtree_check, ordered
 * by CRC-32 then key), every node inside the zone, 8-aligned, within the
 * block the allocator granted it (where usable_size is known), its key's
 * CRC-32 as tree key, a valid type and length; the LRU queue a consistent
 * ring holding exactly the tree's nodes; every list's element ring as long
 * as its count.  *nodes (if not NULL) gets the item count, expired ones
 * included.  Returns 0, or -1 with the first violation in diag and in
 * report (if not NULL).
 */
int shdict_check(struct shdict *d, FILE *report, uint64_t *nodes);

#endif
