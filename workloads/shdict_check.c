/*
 * shdict_check: every invariant of an emulated lua_shared_dict.
 *
 * The module has no such check; this one exists so that every test (and a
 * driver after a run) can tell that the emulation left a sound structure:
 * the tree is a red-black tree in the module's order, the LRU queue is a
 * ring holding exactly the tree's items, each item's fields agree with its
 * block, each list's elements are as many as its count.  Like the
 * allocators' checks it trusts nothing it reads: every offset is bounded
 * by the zone before it is followed and every walk by a count, so a
 * corrupt dict gives a message, not a crash.  It reads only.
 */
#include "shdict.h"

#include <string.h>

#include "crc32.h"

/* What the check carries around. */
struct sc {
    unsigned char      *base;
    size_t              size;
    struct zone        *zone;
    struct diag_checker c;
};

/* Whether [off, off + len) lies in the zone. */
static int
inside(const struct sc *s, uint64_t off, uint64_t len)
{
    return off <= s->size && len <= s->size - off;
}

/* The module's tree order, on nodes already known to be inside the zone;
 * keys that would reach outside it compare equal, which the tree walk
 * reports as disorder. */
static int
node_cmp(unsigned char *base, uint64_t a, uint64_t b, void *arg)
{
    const struct sc   *s = arg;
    struct shdict_rec *ra = shdict_rec_at(base, a), *rb = shdict_rec_at(base, b);
    uint64_t           ka = rbtree_at(base, a)->key, kb = rbtree_at(base, b)->key;
    size_t             n;
    int                m;

    if (ka != kb) {
        return ka < kb ? -1 : 1;
    }
    if (!inside(s, a + SHDICT_NODE_OVERHEAD, ra->key_len)
        || !inside(s, b + SHDICT_NODE_OVERHEAD, rb->key_len))
    {
        return 0;
    }
    n = ra->key_len < rb->key_len ? ra->key_len : rb->key_len;
    m = memcmp(ra->data, rb->data, n);
    if (m || ra->key_len == rb->key_len) {
        return m;
    }
    return ra->key_len < rb->key_len ? -1 : 1;
}

/* Whether the tree holds exactly `node` under its own key (a bounded
 * descent). */
static int
in_tree(const struct sc *s, const struct rbtree *t, uint64_t node)
{
    uint64_t x = t->root;
    unsigned depth;
    int      c;

    for (depth = 0; x != t->sentinel && depth < 130; depth++) {
        if (x == node) {
            return 1;
        }
        if (!inside(s, x, sizeof(struct rbtree_node))) {
            return 0;
        }
        c = node_cmp(s->base, node, x, (void *) s);
        if (c == 0) {
            return 0;
        }
        x = c < 0 ? rbtree_at(s->base, x)->left : rbtree_at(s->base, x)->right;
    }
    return 0;
}

/* The block at off was granted at least need bytes (when the allocator
 * says what it granted). */
static int
granted(const struct sc *s, uint64_t off, size_t need)
{
    if (s->zone->ops->usable_size == NULL) {
        return 1;
    }
    return s->zone->ops->usable_size(s->zone, s->base + off) >= need;
}

/* A list's element ring. */
static int
check_list(const struct sc *s, uint64_t node, const struct shdict_rec *sd)
{
    uint64_t h = shdict_list_queue(s->base, node, sd->key_len), q, prev, n = 0;
    const struct shdict_lnode *ln;

    if (sd->value_len == 0) {
        return diag_report(&s->c, "list at %llu has no element", (unsigned long long) node);
    }
    prev = h;
    for (q = ((struct shdict_queue *) (s->base + h))->next; q != h; q = ln->queue.next) {
        if (q % 8 != 0 || !inside(s, q, sizeof(struct shdict_lnode))) {
            return diag_report(&s->c, "list at %llu: element at %llu is outside the zone",
                               (unsigned long long) node, (unsigned long long) q);
        }
        ln = (const struct shdict_lnode *) (s->base + q);
        if (ln->queue.prev != prev) {
            return diag_report(&s->c, "list at %llu: element %llu has prev %llu, not %llu",
                               (unsigned long long) node, (unsigned long long) q,
                               (unsigned long long) ln->queue.prev,
                               (unsigned long long) prev);
        }
        if ((ln->value_type != SHDICT_TSTRING && ln->value_type != SHDICT_TNUMBER)
            || (ln->value_type == SHDICT_TNUMBER && ln->value_len != sizeof(double)))
        {
            return diag_report(&s->c, "list at %llu: element %llu has type %u, length %u",
                               (unsigned long long) node, (unsigned long long) q,
                               ln->value_type, ln->value_len);
        }
        if (!inside(s, q, shdict_list_elem_size(ln->value_len))
            || !granted(s, q, shdict_list_elem_size(ln->value_len)))
        {
            return diag_report(&s->c, "list at %llu: element %llu of %u bytes overruns "
                               "its block", (unsigned long long) node,
                               (unsigned long long) q, ln->value_len);
        }
        if (++n > sd->value_len) {
            break;
        }
        prev = q;
    }
    if (n != sd->value_len
        || ((const struct shdict_queue *) (s->base + h))->prev != prev)
    {
        return diag_report(&s->c, "list at %llu counts %u elements, its ring %s",
                           (unsigned long long) node, sd->value_len,
                           n > sd->value_len ? "has more" : "differs");
    }
    return 0;
}

/* One item's own fields, against its block. */
static int
check_item(const struct sc *s, const struct rbtree *t, uint64_t node)
{
    const struct shdict_rec *sd = shdict_rec_at(s->base, node);
    size_t                   need;

    if (sd->key_len == 0 || !inside(s, node + SHDICT_NODE_OVERHEAD, sd->key_len)) {
        return diag_report(&s->c, "item at %llu: bad key length %u",
                           (unsigned long long) node, sd->key_len);
    }
    if (rbtree_at(s->base, node)->key != crc32_short(sd->data, sd->key_len)) {
        return diag_report(&s->c, "item at %llu: tree key %llu is not its key's CRC-32",
                           (unsigned long long) node,
                           (unsigned long long) rbtree_at(s->base, node)->key);
    }
    switch (sd->value_type) {
    case SHDICT_TSTRING:
        need = shdict_node_size(sd->key_len, sd->value_len);
        break;
    case SHDICT_TNUMBER:
    case SHDICT_TBOOLEAN:
        if (sd->value_len != (sd->value_type == SHDICT_TNUMBER ? sizeof(double) : 1)) {
            return diag_report(&s->c, "item at %llu: type %u with value length %u",
                               (unsigned long long) node, sd->value_type, sd->value_len);
        }
        need = shdict_node_size(sd->key_len, sd->value_len);
        break;
    case SHDICT_TLIST:
        need = shdict_list_head_size(sd->key_len);
        break;
    default:
        return diag_report(&s->c, "item at %llu: value type %u",
                           (unsigned long long) node, sd->value_type);
    }
    if (!inside(s, node, need) || !granted(s, node, need)) {
        return diag_report(&s->c, "item at %llu: %zu bytes overrun its block",
                           (unsigned long long) node, need);
    }
    if (!in_tree(s, t, node)) {
        return diag_report(&s->c, "item at %llu is on the LRU queue but not in the tree",
                           (unsigned long long) node);
    }
    return sd->value_type == SHDICT_TLIST ? check_list(s, node, sd) : 0;
}

int
shdict_check(struct shdict *d, FILE *report, uint64_t *nodes)
{
    struct sc               s = { d->zone->base, d->zone->size, d->zone,
                                  { report, "shdict_check" } };
    const struct shdict_sh *h;
    uint64_t                head, q, prev, node, n = 0, tree_n, max;

    if (nodes != NULL) {
        *nodes = 0;
    }
    if (d->sh % 8 != 0 || !inside(&s, d->sh, sizeof(struct shdict_sh))) {
        return diag_report(&s.c, "header at %llu is outside the zone",
                           (unsigned long long) d->sh);
    }
    h = (const struct shdict_sh *) (s.base + d->sh);
    if (h->rbtree.sentinel != d->sh + offsetof(struct shdict_sh, sentinel)) {
        return diag_report(&s.c, "the tree's sentinel is at %llu, not in the header",
                           (unsigned long long) h->rbtree.sentinel);
    }
    max = s.size / SHDICT_NODE_OVERHEAD;
    if (rbtree_check(s.base, s.size, &h->rbtree, node_cmp, &s, max, &tree_n, &s.c) != 0) {
        return -1;
    }
    head = d->sh + offsetof(struct shdict_sh, lru);
    prev = head;
    for (q = h->lru.next; q != head; q = ((const struct shdict_queue *) (s.base + q))->next) {
        node = shdict_node_of_queue(q);
        if (node % 8 != 0 || q < SHDICT_REC_OFF + offsetof(struct shdict_rec, queue)
            || !inside(&s, node, SHDICT_NODE_OVERHEAD))
        {
            return diag_report(&s.c, "LRU link %llu is outside the zone",
                               (unsigned long long) q);
        }
        if (((const struct shdict_queue *) (s.base + q))->prev != prev) {
            return diag_report(&s.c, "LRU item at %llu has prev %llu, not %llu",
                               (unsigned long long) node,
                               (unsigned long long) ((const struct shdict_queue *)
                                                     (s.base + q))->prev,
                               (unsigned long long) prev);
        }
        if (++n > tree_n) {
            return diag_report(&s.c, "the LRU queue holds more than the tree's %llu items",
                               (unsigned long long) tree_n);
        }
        if (check_item(&s, &h->rbtree, node) != 0) {
            return -1;
        }
        prev = q;
    }
    if (h->lru.prev != prev) {
        return diag_report(&s.c, "the LRU head's prev is %llu, not the last item's %llu",
                           (unsigned long long) h->lru.prev, (unsigned long long) prev);
    }
    if (n != tree_n) {
        return diag_report(&s.c, "the LRU queue holds %llu items, the tree %llu",
                           (unsigned long long) n, (unsigned long long) tree_n);
    }
    if (nodes != NULL) {
        *nodes = n;
    }
    return 0;
}
