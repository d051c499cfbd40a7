/*
 * shdict: lua_shared_dict's operations (shdict.h says what is emulated).
 *
 * Each public function is the lua-resty-core method of the same name (its
 * argument checks, how it turns the C result into Lua values) wrapped
 * around the module's C function (ngx_http_lua_ffi_shdict_* or the
 * list's lua_CFunction), whose control flow is kept step by step: the
 * same expiries, lookups, frees and allocations in the same order.  The
 * module's own edges are kept too, because a script run against nginx shows
 * them: lookup() calls an item expired only when its time is strictly past
 * while the expiry helper and flush_expired() free it at its time;
 * a different-length re-set frees the old value before it tries to
 * allocate, so a failure loses it; a pushed element that cannot be
 * allocated leaves a just-made empty list head freed again; ttl() of an
 * item 5 ms past its time says "not found" (5 ms is NGX_DECLINED, which
 * resty takes for its "not found" code).
 */
#include "shdict.h"

#include <string.h>

#include "crc32.h"
#include "substrate/diag.h"

/* The module's lookup outcomes (nginx's return codes). */
enum { FOUND, FOUND_EXPIRED, NOT_FOUND };

/* Where expire()'s unconditional free of the LRU tail is counted. */
enum { TAIL_EVICTED, TAIL_EXPIRED };

#define BASE(d) ((d)->zone->base)
#define REC(d, node) shdict_rec_at(BASE(d), (node))
#define Q(d, off) ((struct shdict_queue *) (BASE(d) + (off)))

static const unsigned char empty_string[1] = "";

static struct shdict_sh *
sh(const struct shdict *d)
{
    return (struct shdict_sh *) (d->zone->base + d->sh);
}

static uint64_t
lru(const struct shdict *d)
{
    return d->sh + offsetof(struct shdict_sh, lru);
}

/* ngx_queue_t over offsets. */

static void
queue_init(struct shdict *d, uint64_t h)
{
    Q(d, h)->prev = h;
    Q(d, h)->next = h;
}

static int
queue_empty(struct shdict *d, uint64_t h)
{
    return Q(d, h)->prev == h;
}

static void
queue_insert_head(struct shdict *d, uint64_t h, uint64_t x)
{
    Q(d, x)->next = Q(d, h)->next;
    Q(d, Q(d, x)->next)->prev = x;
    Q(d, x)->prev = h;
    Q(d, h)->next = x;
}

static void
queue_insert_tail(struct shdict *d, uint64_t h, uint64_t x)
{
    Q(d, x)->prev = Q(d, h)->prev;
    Q(d, Q(d, x)->prev)->next = x;
    Q(d, x)->next = h;
    Q(d, h)->prev = x;
}

static void
queue_remove(struct shdict *d, uint64_t x)
{
    Q(d, Q(d, x)->next)->prev = Q(d, x)->prev;
    Q(d, Q(d, x)->prev)->next = Q(d, x)->next;
}

static uint64_t
queue_of(uint64_t node)
{
    return node + SHDICT_REC_OFF + offsetof(struct shdict_rec, queue);
}

/* Move an item to the head of the LRU queue. */
static void
touch(struct shdict *d, uint64_t node)
{
    queue_remove(d, queue_of(node));
    queue_insert_head(d, lru(d), queue_of(node));
}

/* Memory, through the zone's allocator. */

static uint64_t
zalloc(struct shdict *d, size_t n)
{
    unsigned char *p = d->zone->ops->alloc(d->zone, n);

    return p == NULL ? 0 : (uint64_t) (p - BASE(d));
}

static void
zfree(struct shdict *d, uint64_t off)
{
    (void) d->zone->ops->free(d->zone, BASE(d) + off);
}

/* ngx_http_lua_shdict_rbtree_insert_value. */
static void
insert_value(unsigned char *base, uint64_t temp, uint64_t node, uint64_t sentinel)
{
    struct rbtree_node *n = rbtree_at(base, node), *t;
    struct shdict_rec  *sdn = shdict_rec_at(base, node), *sdt;
    uint64_t           *p;

    for (;;) {
        t = rbtree_at(base, temp);
        if (n->key < t->key) {
            p = &t->left;
        } else if (n->key > t->key) {
            p = &t->right;
        } else {
            sdt = shdict_rec_at(base, temp);
            p = rbtree_memn2cmp(sdn->data, sdt->data, sdn->key_len, sdt->key_len) < 0
                ? &t->left : &t->right;
        }
        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }
    *p = node;
    n->parent = temp;
    n->left = sentinel;
    n->right = sentinel;
    n->color = RBTREE_RED;
}

/* ngx_http_lua_shdict_lookup: find the key, move it to the LRU head, say
 * whether it has expired (strictly past its time). */
static int
lookup(struct shdict *d, uint32_t hash, const unsigned char *key, size_t klen,
    uint64_t *found)
{
    unsigned char     *base = BASE(d);
    uint64_t           node = sh(d)->rbtree.root, sentinel = sh(d)->rbtree.sentinel;
    struct shdict_rec *sd;
    int                rc;

    while (node != sentinel) {
        if (hash < rbtree_at(base, node)->key) {
            node = rbtree_at(base, node)->left;
            continue;
        }
        if (hash > rbtree_at(base, node)->key) {
            node = rbtree_at(base, node)->right;
            continue;
        }
        sd = shdict_rec_at(base, node);
        rc = rbtree_memn2cmp(key, sd->data, klen, sd->key_len);
        if (rc == 0) {
            touch(d, node);
            *found = node;
            if (sd->expires != 0 && (int64_t) (sd->expires - d->now_ms) < 0) {
                return FOUND_EXPIRED;
            }
            return FOUND;
        }
        node = rc < 0 ? rbtree_at(base, node)->left : rbtree_at(base, node)->right;
    }
    *found = 0;
    return NOT_FOUND;
}

/* ngx_http_lua_shdict_peek: find without touching the LRU or the clock. */
static uint64_t
peek(struct shdict *d, uint32_t hash, const unsigned char *key, size_t klen)
{
    unsigned char *base = BASE(d);
    uint64_t       node = sh(d)->rbtree.root, sentinel = sh(d)->rbtree.sentinel;
    int            rc;

    while (node != sentinel) {
        if (hash != rbtree_at(base, node)->key) {
            node = hash < rbtree_at(base, node)->key ? rbtree_at(base, node)->left
                                                     : rbtree_at(base, node)->right;
            continue;
        }
        rc = rbtree_memn2cmp(key, shdict_rec_at(base, node)->data, klen,
                      shdict_rec_at(base, node)->key_len);
        if (rc == 0) {
            return node;
        }
        node = rc < 0 ? rbtree_at(base, node)->left : rbtree_at(base, node)->right;
    }
    return 0;
}

/* Free every element of a list item (the module walks and frees). */
static void
free_list_elements(struct shdict *d, uint64_t node, size_t klen)
{
    uint64_t h = shdict_list_queue(BASE(d), node, klen), q, next;

    for (q = Q(d, h)->next; q != h; q = next) {
        next = Q(d, q)->next;
        zfree(d, q);             /* an element's queue is at its offset 0 */
    }
}

/* Unlink an item from the LRU queue and the tree, and free its block. */
static void
remove_node(struct shdict *d, uint64_t node)
{
    queue_remove(d, queue_of(node));
    rbtree_delete(BASE(d), &sh(d)->rbtree, node);
    zfree(d, node);
}

/* The same, a list's elements first. */
static void
remove_item(struct shdict *d, uint64_t node)
{
    if (REC(d, node)->value_type == SHDICT_TLIST) {
        free_list_elements(d, node, REC(d, node)->key_len);
    }
    remove_node(d, node);
}

/*
 * ngx_http_lua_shdict_expire.  n = 1: free up to 2 expired items from the
 * LRU tail, stopping at the first that is not expired (or never expires).
 * n = 0: free the tail whatever it is, then up to 2 more expired ones.
 * Returns the number freed.
 */
static int
expire(struct shdict *d, unsigned n, int tail_kind)
{
    uint64_t           q, node;
    struct shdict_rec *sd;
    int                freed = 0, forced;

    while (n < 3) {
        if (queue_empty(d, lru(d))) {
            return freed;
        }
        q = Q(d, lru(d))->prev;
        node = shdict_node_of_queue(q);
        sd = REC(d, node);
        forced = n++ == 0;
        if (!forced) {
            if (sd->expires == 0 || (int64_t) (sd->expires - d->now_ms) > 0) {
                return freed;
            }
        }
        if (forced && tail_kind == TAIL_EVICTED) {
            d->count.evictions++;
        } else {
            d->count.expired++;
        }
        remove_item(d, node);
        freed++;
    }
    return freed;
}

/* After an item's allocation failed: up to 30 rounds of forced expiry,
 * each followed by a retry, stopping at the first success (the first
 * attempt is the caller's, as in the module, so that an allocator's count
 * of failed requests is nginx's). */
static uint64_t
alloc_evicting(struct shdict *d, size_t n, int *forcible)
{
    uint64_t node = 0;
    int      i;

    for (i = 0; node == 0 && i < SHDICT_MAX_EVICT_ROUNDS; i++) {
        if (expire(d, 0, TAIL_EVICTED) == 0) {
            break;
        }
        *forcible = 1;
        node = zalloc(d, n);
    }
    return node;
}

static void
dict_lock(struct shdict *d)
{
    if (d->lock != NULL) {
        d->lock(d->lock_arg);
    }
}

static void
dict_unlock(struct shdict *d)
{
    if (d->unlock != NULL) {
        d->unlock(d->lock_arg);
    }
}

/* Results. */

static void
res_clear(struct shdict_result *r)
{
    memset(r, 0, sizeof(*r));
    r->ret = SHDICT_RET_NIL;
    r->type = SHDICT_TNIL;
}

/* `return nil, err` (or false, err). */
static int
res_error(struct shdict_result *r, enum shdict_ret first, const char *err)
{
    res_clear(r);
    r->nret = 2;
    r->ret = first;
    r->err = err;
    return 0;
}

static void
res_number(struct shdict_result *r, unsigned nret, double v)
{
    res_clear(r);
    r->nret = nret;
    r->ret = SHDICT_RET_NUMBER;
    r->num = v;
}

/* resty's key checks, common to every keyed method: 1 if the key is bad
 * (r then holds nil, err). */
static int
bad_key(const void *key, size_t klen, struct shdict_result *r)
{
    const char *err = NULL;

    if (key == NULL) {
        err = "nil key";
    } else if (klen == 0) {
        err = "empty key";
    } else if (klen > SHDICT_KEY_MAX) {
        err = "key too long";
    }
    if (err != NULL) {
        res_error(r, SHDICT_RET_NIL, err);
    }
    return err != NULL;
}

/* Write a value's bytes: the caller's, or the pattern. */
static void
put_bytes(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t i;

    if (src != NULL) {
        memcpy(dst, src, len);
        return;
    }
    for (i = 0; i < len; i++) {
        dst[i] = (unsigned char) ('a' + i % 26);
    }
}

/* Append to buf[*at ...] what fits of n bytes, counting them all. */
static void
fmt_put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
    if (*at < len) {
        memcpy(buf + *at, s, *at + n < len ? n : len - *at);
    }
    *at += n;
}

static void
fmt_str(char *buf, size_t len, size_t *at, const char *s)
{
    fmt_put(buf, len, at, s, strlen(s));
}

size_t
shdict_result_format(const struct shdict_result *r, char *buf, size_t len)
{
    char     num[32];
    size_t   at = 0;
    unsigned i;

    for (i = 0; i < r->nret; i++) {
        if (i > 0) {
            fmt_str(buf, len, &at, " ");
        }
        if (i == 0) {
            switch (r->ret) {
            case SHDICT_RET_TRUE:
                fmt_str(buf, len, &at, "true");
                break;
            case SHDICT_RET_FALSE:
                fmt_str(buf, len, &at, "false");
                break;
            case SHDICT_RET_NUMBER:
                snprintf(num, sizeof(num), "%.14g", r->num);
                fmt_str(buf, len, &at, num);
                break;
            case SHDICT_RET_STRING:
                fmt_put(buf, len, &at, (const char *) r->str, r->str != NULL ? r->len : 0);
                break;
            case SHDICT_RET_TABLE:
                fmt_str(buf, len, &at, "table");
                break;
            default:
                fmt_str(buf, len, &at, "nil");
            }
        } else if (i == 1) {
            if (r->err != NULL) {
                fmt_str(buf, len, &at, r->err);
            } else if (r->has_flags) {
                snprintf(num, sizeof(num), "%u", r->flags);
                fmt_str(buf, len, &at, num);
            } else {
                fmt_str(buf, len, &at, "nil");
            }
        } else {
            fmt_str(buf, len, &at, r->forcible || r->stale ? "true" : "false");
        }
    }
    if (len > 0) {
        buf[at < len ? at : len - 1] = '\0';
    }
    return at;
}

/* Set-up. */

size_t
shdict_node_size(size_t klen, size_t vlen)
{
    return SHDICT_NODE_OVERHEAD + klen + vlen;
}

size_t
shdict_list_head_size(size_t klen)
{
    return (SHDICT_NODE_OVERHEAD + klen + sizeof(struct shdict_queue) + 7) & ~(size_t) 7;
}

size_t
shdict_list_elem_size(size_t vlen)
{
    return offsetof(struct shdict_lnode, data) + vlen;
}

int
shdict_init(struct shdict *d, struct zone *z, const char *name)
{
    static const char fmt[] = " in lua_shared_dict zone \"%s\"";
    size_t            len = SHDICT_LOG_CTX_BASE + strlen(name);
    unsigned char    *log, *hdr;

    memset(d, 0, sizeof(*d));
    d->zone = z;
    d->now_ms = SHDICT_CLOCK_START;
    /* the header is asked for directly: it may be the zone's first block,
     * and zalloc's 0 means failure */
    hdr = z->ops->alloc(z, sizeof(struct shdict_sh));
    if (hdr == NULL) {
        diag_set("shdict_init(): no memory for the %zu-byte header of "
                 "lua_shared_dict \"%s\"", sizeof(struct shdict_sh), name);
        return -1;
    }
    d->sh = (uint64_t) (hdr - z->base);
    rbtree_init(z->base, &sh(d)->rbtree, d->sh + offsetof(struct shdict_sh, sentinel));
    queue_init(d, lru(d));
    d->log_ctx = zalloc(d, len);
    if (d->log_ctx == 0) {
        diag_set("shdict_init(): no memory for the %zu-byte log context of "
                 "lua_shared_dict \"%s\"", len, name);
        return -1;
    }
    log = z->base + d->log_ctx;
    snprintf((char *) log, len, fmt, name);
    return 0;
}

void
shdict_set_lock(struct shdict *d, void (*lock)(void *), void (*unlock)(void *),
    void *arg)
{
    d->lock = lock;
    d->unlock = unlock;
    d->lock_arg = arg;
}

uint64_t
shdict_now(const struct shdict *d)
{
    return d->now_ms;
}

void
shdict_clock_set(struct shdict *d, uint64_t ms)
{
    d->now_ms = ms;
}

void
shdict_clock_advance(struct shdict *d, uint64_t ms)
{
    d->now_ms += ms;
}

/* Stores: ngx_http_lua_ffi_shdict_store. */

/* An expiry time for exptime ms from now (0: never). */
static uint64_t
expiry(const struct shdict *d, int64_t exptime_ms)
{
    return exptime_ms > 0 ? d->now_ms + (uint64_t) exptime_ms : 0;
}

/* The C function's body, under the lock; 0 (NGX_OK) or -1 with *errmsg. */
static int
store_locked(struct shdict *d, int op, const unsigned char *key, size_t klen,
    uint32_t hash, int type, const unsigned char *buf, size_t len,
    const unsigned char *pattern_src, int64_t exptime_ms, uint32_t flags,
    const char **errmsg, int *forcible)
{
    struct shdict_rec *sd;
    uint64_t           node;
    int                rc;

    expire(d, 1, TAIL_EXPIRED);
    rc = lookup(d, hash, key, klen, &node);

    if (op & SHDICT_REPLACE) {
        if (rc != FOUND) {
            *errmsg = "not found";
            return -1;
        }
        goto replace;
    }
    if (op & SHDICT_ADD) {
        if (rc == FOUND) {
            *errmsg = "exists";
            return -1;
        }
        if (rc == FOUND_EXPIRED) {
            goto replace;
        }
        goto insert;
    }
    if (rc == NOT_FOUND) {
        goto insert;
    }
    if (type == SHDICT_TNIL) {
        goto remove;
    }

replace:
    sd = REC(d, node);
    if (buf != NULL && len == sd->value_len && sd->value_type != SHDICT_TLIST) {
        /* same length: the node is reused in place */
        touch(d, node);
        sd->expires = expiry(d, exptime_ms);
        sd->user_flags = flags;
        sd->value_type = (uint8_t) type;
        put_bytes(sd->data + klen, pattern_src, len);
        return 0;
    }

remove:
    remove_item(d, node);

insert:
    if (buf == NULL) {
        return 0;                /* a delete */
    }
    node = zalloc(d, shdict_node_size(klen, len));
    if (node == 0) {
        if (op & SHDICT_SAFE_SET) {
            *errmsg = "no memory";
            return -1;
        }
        node = alloc_evicting(d, shdict_node_size(klen, len), forcible);
        if (node == 0) {
            *errmsg = "no memory";
            return -1;
        }
    }
    rbtree_at(BASE(d), node)->key = hash;
    sd = REC(d, node);
    sd->key_len = (uint16_t) klen;
    sd->expires = expiry(d, exptime_ms);
    sd->user_flags = flags;
    sd->value_len = (uint32_t) len;
    sd->value_type = (uint8_t) type;
    memcpy(sd->data, key, klen);
    put_bytes(sd->data + klen, pattern_src, len);
    rbtree_insert(BASE(d), &sh(d)->rbtree, node, insert_value);
    queue_insert_head(d, lru(d), queue_of(node));
    return 0;
}

int
shdict_store(struct shdict *d, enum shdict_op op, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r)
{
    const unsigned char *buf = NULL, *src = NULL;
    unsigned char        num[sizeof(double)], c;
    const char          *errmsg = NULL;
    size_t               len = 0;
    int                  rc, forcible = 0;

    if (exptime_ms < 0) {
        diag_set("bad \"exptime\" argument");
        return -1;
    }
    if (bad_key(key, klen, r)) {
        return 0;
    }
    switch (v->type) {
    case SHDICT_TSTRING:
        buf = v->str != NULL ? v->str : empty_string;
        src = v->str;
        len = v->len;
        break;
    case SHDICT_TNUMBER:
        memcpy(num, &v->num, sizeof(double));
        buf = src = num;
        len = sizeof(double);
        break;
    case SHDICT_TBOOLEAN:
        c = v->num != 0;
        buf = src = &c;
        len = 1;
        break;
    case SHDICT_TNIL:
        break;
    default:
        return res_error(r, SHDICT_RET_NIL, "bad value type");
    }

    if (v->type == SHDICT_TNIL && (op & (SHDICT_ADD | SHDICT_REPLACE))) {
        rc = -1;
        errmsg = "attempt to add or replace nil values";
    } else {
        dict_lock(d);
        rc = store_locked(d, op, key, klen, crc32_short(key, klen), v->type,
                          buf, len, src, exptime_ms, flags, &errmsg, &forcible);
        dict_unlock(d);
    }

    if (v->type == SHDICT_TNIL && op == SHDICT_SET) {
        d->count.deletes++;
    } else {
        d->count.sets++;
    }
    d->count.forcible += forcible != 0;
    d->count.nomem += rc != 0 && strcmp(errmsg, "no memory") == 0;

    res_clear(r);
    r->nret = 3;
    r->ret = rc == 0 ? SHDICT_RET_TRUE : SHDICT_RET_FALSE;
    r->err = rc == 0 ? NULL : errmsg;
    r->forcible = forcible;
    return 0;
}

int
shdict_set(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r)
{
    return shdict_store(d, SHDICT_SET, key, klen, v, exptime_ms, flags, r);
}

int
shdict_safe_set(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r)
{
    return shdict_store(d, SHDICT_SAFE_SET, key, klen, v, exptime_ms, flags, r);
}

int
shdict_add(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r)
{
    return shdict_store(d, SHDICT_ADD, key, klen, v, exptime_ms, flags, r);
}

int
shdict_safe_add(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r)
{
    return shdict_store(d, SHDICT_SAFE_ADD, key, klen, v, exptime_ms, flags, r);
}

int
shdict_replace(struct shdict *d, const void *key, size_t klen,
    const struct shdict_value *v, int64_t exptime_ms, uint32_t flags,
    struct shdict_result *r)
{
    return shdict_store(d, SHDICT_REPLACE, key, klen, v, exptime_ms, flags, r);
}

int
shdict_delete(struct shdict *d, const void *key, size_t klen,
    struct shdict_result *r)
{
    static const struct shdict_value nil = { SHDICT_TNIL, 0, NULL, 0 };

    return shdict_store(d, SHDICT_SET, key, klen, &nil, 0, 0, r);
}

/* get and get_stale: ngx_http_lua_ffi_shdict_get. */

int
shdict_get(struct shdict *d, const void *key, size_t klen, int stale,
    struct shdict_result *r)
{
    struct shdict_rec *sd;
    uint64_t           node;
    int                rc;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    d->count.gets++;
    dict_lock(d);
    if (!stale) {
        expire(d, 1, TAIL_EXPIRED);
    }
    rc = lookup(d, crc32_short(key, klen), key, klen, &node);
    if (rc == NOT_FOUND || (rc == FOUND_EXPIRED && !stale)) {
        dict_unlock(d);
        d->count.misses++;
        res_clear(r);
        r->nret = 1;
        return 0;
    }
    sd = REC(d, node);
    res_clear(r);
    r->type = sd->value_type;
    r->len = sd->value_len;
    switch (sd->value_type) {
    case SHDICT_TSTRING:
        r->ret = SHDICT_RET_STRING;
        r->str = sd->data + sd->key_len;
        break;
    case SHDICT_TNUMBER:
        if (sd->value_len != sizeof(double)) {
            dict_unlock(d);
            diag_set("failed to get the key");
            return -1;
        }
        r->ret = SHDICT_RET_NUMBER;
        memcpy(&r->num, sd->data + sd->key_len, sizeof(double));
        break;
    case SHDICT_TBOOLEAN:
        if (sd->value_len != 1) {
            dict_unlock(d);
            diag_set("failed to get the key");
            return -1;
        }
        r->ret = sd->data[sd->key_len] ? SHDICT_RET_TRUE : SHDICT_RET_FALSE;
        break;
    case SHDICT_TLIST:
        dict_unlock(d);
        d->count.misses++;
        res_error(r, SHDICT_RET_NIL, "value is a list");
        r->type = SHDICT_TLIST;
        return 0;
    default:
        dict_unlock(d);
        diag_set("failed to get the key");
        return -1;
    }
    r->flags = sd->user_flags;
    dict_unlock(d);
    d->count.hits++;
    r->has_flags = r->flags != 0;
    if (stale) {
        r->nret = 3;
        r->stale = rc == FOUND_EXPIRED;
    } else {
        r->nret = r->has_flags ? 2 : 1;
    }
    return 0;
}

/* incr: ngx_http_lua_ffi_shdict_incr. */

static int
incr_locked(struct shdict *d, const unsigned char *key, size_t klen,
    double *value, const double *init, int64_t init_ttl, const char **err,
    int *forcible)
{
    uint32_t           hash = crc32_short(key, klen);
    struct shdict_rec *sd;
    uint64_t           node;
    double             num;
    int                rc;

    expire(d, 1, TAIL_EXPIRED);
    rc = lookup(d, hash, key, klen, &node);

    if (rc == FOUND) {
        sd = REC(d, node);
        if (sd->value_type != SHDICT_TNUMBER || sd->value_len != sizeof(double)) {
            *err = "not a number";
            return -1;
        }
        touch(d, node);
        memcpy(&num, sd->data + klen, sizeof(double));
        num += *value;
        memcpy(sd->data + klen, &num, sizeof(double));
        *value = num;
        return 0;
    }
    if (init == NULL) {
        *err = "not found";
        return -1;
    }
    num = *value + *init;

    if (rc == FOUND_EXPIRED) {
        sd = REC(d, node);
        if (sd->value_len == sizeof(double) && sd->value_type != SHDICT_TLIST) {
            touch(d, node);
            goto setvalue;
        }
        remove_item(d, node);
    }

    node = zalloc(d, shdict_node_size(klen, sizeof(double)));
    if (node == 0) {
        node = alloc_evicting(d, shdict_node_size(klen, sizeof(double)), forcible);
        if (node == 0) {
            *err = "no memory";
            return -1;
        }
    }
    rbtree_at(BASE(d), node)->key = hash;
    sd = REC(d, node);
    sd->key_len = (uint16_t) klen;
    sd->value_len = sizeof(double);
    rbtree_insert(BASE(d), &sh(d)->rbtree, node, insert_value);
    queue_insert_head(d, lru(d), queue_of(node));

setvalue:
    sd->user_flags = 0;
    sd->expires = expiry(d, init_ttl);
    sd->value_type = SHDICT_TNUMBER;
    memcpy(sd->data, key, klen);
    memcpy(sd->data + klen, &num, sizeof(double));
    *value = num;
    return 0;
}

int
shdict_incr(struct shdict *d, const void *key, size_t klen, double delta,
    const double *init, const int64_t *init_ttl_ms, struct shdict_result *r)
{
    const char *err = NULL;
    double      value = delta;
    int64_t     ttl = 0;
    int         rc, forcible = 0;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    if (init_ttl_ms != NULL) {
        if (*init_ttl_ms < 0) {
            diag_set("bad \"init_ttl\" argument");
            return -1;
        }
        if (init == NULL) {
            diag_set("must provide \"init\" when providing \"init_ttl\"");
            return -1;
        }
        ttl = *init_ttl_ms;
    }
    d->count.incrs++;
    dict_lock(d);
    rc = incr_locked(d, key, klen, &value, init, ttl, &err, &forcible);
    dict_unlock(d);
    d->count.forcible += forcible != 0;
    if (rc != 0) {
        d->count.nomem += strcmp(err, "no memory") == 0;
        return res_error(r, SHDICT_RET_NIL, err);
    }
    res_number(r, init != NULL ? 3 : 1, value);
    r->forcible = init != NULL && forcible;
    return 0;
}

/* Lists: ngx_http_lua_shdict_push_helper and pop_helper. */

/* The push under the lock; the list's length, or 0 with *err and the first
 * value to return (*first: false when the head could not be had, nil when
 * the element could not). */
static uint32_t
push_locked(struct shdict *d, const unsigned char *key, size_t klen, int left,
    int type, const unsigned char *src, size_t len,
    const char **err, enum shdict_ret *first)
{
    uint32_t           hash = crc32_short(key, klen);
    struct shdict_rec *sd;
    struct shdict_lnode *ln;
    uint64_t           node, queue, elem;
    int                rc;

    expire(d, 1, TAIL_EXPIRED);
    rc = lookup(d, hash, key, klen, &node);

    if (rc == FOUND_EXPIRED) {
        sd = REC(d, node);
        if (sd->value_type != SHDICT_TLIST) {
            remove_node(d, node);
            goto init_list;
        }
        /* an expired list is emptied and reused */
        sd->expires = 0;
        sd->value_len = 0;
        free_list_elements(d, node, klen);
        queue = shdict_list_queue(BASE(d), node, klen);
        queue_init(d, queue);
        touch(d, node);
        goto push_node;
    }
    if (rc == FOUND) {
        sd = REC(d, node);
        if (sd->value_type != SHDICT_TLIST) {
            *err = "value not a list";
            *first = SHDICT_RET_NIL;
            return 0;
        }
        queue = shdict_list_queue(BASE(d), node, klen);
        touch(d, node);
        goto push_node;
    }

init_list:
    node = zalloc(d, shdict_list_head_size(klen));
    if (node == 0) {
        *err = "no memory";
        *first = SHDICT_RET_FALSE;
        return 0;
    }
    sd = REC(d, node);
    queue = shdict_list_queue(BASE(d), node, klen);
    rbtree_at(BASE(d), node)->key = hash;
    sd->key_len = (uint16_t) klen;
    sd->expires = 0;
    sd->value_len = 0;
    sd->value_type = SHDICT_TLIST;
    memcpy(sd->data, key, klen);
    queue_init(d, queue);
    rbtree_insert(BASE(d), &sh(d)->rbtree, node, insert_value);
    queue_insert_head(d, lru(d), queue_of(node));

push_node:
    elem = zalloc(d, shdict_list_elem_size(len));
    if (elem == 0) {
        if (sd->value_len == 0) {
            remove_node(d, node);
        }
        *err = "no memory";
        *first = SHDICT_RET_NIL;
        return 0;
    }
    sd->value_len++;
    ln = (struct shdict_lnode *) (BASE(d) + elem);
    ln->value_len = (uint32_t) len;
    ln->value_type = (uint8_t) type;
    put_bytes(ln->data, src, len);
    if (left) {
        queue_insert_head(d, queue, elem);
    } else {
        queue_insert_tail(d, queue, elem);
    }
    return sd->value_len;
}

int
shdict_push(struct shdict *d, const void *key, size_t klen, int left,
    const struct shdict_value *v, struct shdict_result *r)
{
    const unsigned char *src;
    unsigned char        num[sizeof(double)];
    enum shdict_ret      first = SHDICT_RET_NIL;
    const char          *err = NULL;
    size_t               len;
    uint32_t             n;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    switch (v->type) {
    case SHDICT_TSTRING:
        src = v->str;
        len = v->len;
        break;
    case SHDICT_TNUMBER:
        memcpy(num, &v->num, sizeof(double));
        src = num;
        len = sizeof(double);
        break;
    default:
        return res_error(r, SHDICT_RET_NIL, "bad value type");
    }
    d->count.pushes++;
    dict_lock(d);
    n = push_locked(d, key, klen, left, v->type, src, len, &err, &first);
    dict_unlock(d);
    if (n == 0) {
        d->count.nomem += strcmp(err, "no memory") == 0;
        return res_error(r, first, err);
    }
    res_number(r, 1, n);
    return 0;
}

int
shdict_pop(struct shdict *d, const void *key, size_t klen, int left,
    struct shdict_result *r)
{
    struct shdict_rec   *sd;
    struct shdict_lnode *ln;
    uint64_t             node, queue, elem;
    int                  rc;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    d->count.pops++;
    dict_lock(d);
    expire(d, 1, TAIL_EXPIRED);
    rc = lookup(d, crc32_short(key, klen), key, klen, &node);
    if (rc != FOUND) {
        dict_unlock(d);
        res_clear(r);
        r->nret = 1;
        return 0;
    }
    sd = REC(d, node);
    if (sd->value_type != SHDICT_TLIST) {
        dict_unlock(d);
        return res_error(r, SHDICT_RET_NIL, "value not a list");
    }
    if (sd->value_len == 0) {
        dict_unlock(d);
        diag_set("bad lua list length found for key %.*s: %u", (int) klen,
                 (const char *) key, sd->value_len);
        return -1;
    }
    queue = shdict_list_queue(BASE(d), node, klen);
    elem = left ? Q(d, queue)->next : Q(d, queue)->prev;
    ln = (struct shdict_lnode *) (BASE(d) + elem);
    res_clear(r);
    r->nret = 1;
    r->type = ln->value_type;
    r->len = ln->value_len;
    switch (ln->value_type) {
    case SHDICT_TSTRING:
        r->ret = SHDICT_RET_STRING;
        r->str = NULL;           /* lua copies the bytes; here they are freed */
        break;
    case SHDICT_TNUMBER:
        if (ln->value_len != sizeof(double)) {
            dict_unlock(d);
            diag_set("bad lua list node number value size found for key %.*s: %u",
                     (int) klen, (const char *) key, ln->value_len);
            return -1;
        }
        r->ret = SHDICT_RET_NUMBER;
        memcpy(&r->num, ln->data, sizeof(double));
        break;
    default:
        dict_unlock(d);
        diag_set("bad list node value type found for key %.*s: %u", (int) klen,
                 (const char *) key, ln->value_type);
        return -1;
    }
    queue_remove(d, elem);
    zfree(d, elem);
    if (sd->value_len == 1) {
        remove_node(d, node);
    } else {
        sd->value_len--;
        touch(d, node);
    }
    dict_unlock(d);
    return 0;
}

int
shdict_llen(struct shdict *d, const void *key, size_t klen,
    struct shdict_result *r)
{
    uint64_t node;
    uint32_t n = 0;
    int      rc;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    dict_lock(d);
    expire(d, 1, TAIL_EXPIRED);
    rc = lookup(d, crc32_short(key, klen), key, klen, &node);
    if (rc == FOUND) {
        if (REC(d, node)->value_type != SHDICT_TLIST) {
            dict_unlock(d);
            return res_error(r, SHDICT_RET_NIL, "value not a list");
        }
        touch(d, node);
        n = REC(d, node)->value_len;
    }
    dict_unlock(d);
    res_number(r, 1, n);
    return 0;
}

/* ttl and expire: peek, never touching the LRU queue or expiring. */

int
shdict_ttl(struct shdict *d, const void *key, size_t klen,
    struct shdict_result *r)
{
    uint64_t node, expires;
    int64_t  left;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    dict_lock(d);
    node = peek(d, crc32_short(key, klen), key, klen);
    expires = node != 0 ? REC(d, node)->expires : 0;
    dict_unlock(d);
    left = expires == 0 ? 0 : (int64_t) (expires - d->now_ms);
    /* the C function answers NGX_DECLINED (-5) for "absent", which an item
     * 5 ms past its time also gives */
    if (node == 0 || left == -5) {
        return res_error(r, SHDICT_RET_NIL, "not found");
    }
    res_number(r, 1, (double) left / 1000);
    return 0;
}

int
shdict_expire(struct shdict *d, const void *key, size_t klen,
    int64_t exptime_ms, struct shdict_result *r)
{
    uint64_t node;

    if (bad_key(key, klen, r)) {
        return 0;
    }
    dict_lock(d);
    node = peek(d, crc32_short(key, klen), key, klen);
    if (node != 0) {
        REC(d, node)->expires = expiry(d, exptime_ms);
    }
    dict_unlock(d);
    if (node == 0) {
        return res_error(r, SHDICT_RET_NIL, "not found");
    }
    res_clear(r);
    r->nret = 1;
    r->ret = SHDICT_RET_TRUE;
    return 0;
}

/* Whole-dict operations. */

int
shdict_flush_all(struct shdict *d, struct shdict_result *r)
{
    uint64_t q;

    dict_lock(d);
    for (q = Q(d, lru(d))->next; q != lru(d); q = Q(d, q)->next) {
        REC(d, shdict_node_of_queue(q))->expires = 1;
    }
    expire(d, 0, TAIL_EXPIRED);
    dict_unlock(d);
    res_clear(r);
    return 0;
}

int
shdict_flush_expired(struct shdict *d, int max, struct shdict_result *r)
{
    struct shdict_rec *sd;
    uint64_t           q, prev, node;
    int                freed = 0;

    dict_lock(d);
    for (q = Q(d, lru(d))->prev; q != lru(d); q = prev) {
        prev = Q(d, q)->prev;
        node = shdict_node_of_queue(q);
        sd = REC(d, node);
        if (sd->expires != 0 && sd->expires <= d->now_ms) {
            d->count.expired++;
            remove_item(d, node);
            if (++freed == max) {
                break;
            }
        }
    }
    dict_unlock(d);
    res_number(r, 1, freed);
    return 0;
}

int
shdict_get_keys(struct shdict *d, int max, struct shdict_result *r)
{
    struct shdict_rec *sd;
    uint64_t           q;
    int                total = 0;

    dict_lock(d);
    for (q = Q(d, lru(d))->prev; q != lru(d); q = Q(d, q)->prev) {
        sd = REC(d, shdict_node_of_queue(q));
        if (sd->expires == 0 || sd->expires > d->now_ms) {
            if (++total == max) {
                break;
            }
        }
    }
    dict_unlock(d);
    res_number(r, 1, total);
    r->ret = SHDICT_RET_TABLE;
    return 0;
}

uint64_t
shdict_free_space(struct shdict *d)
{
    struct alloc_stats st;

    dict_lock(d);
    d->zone->ops->stats(d->zone, &st);
    dict_unlock(d);
    return st.free_bytes;
}

uint64_t
shdict_capacity(const struct shdict *d)
{
    return d->zone->size;
}
