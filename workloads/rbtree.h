/*
 * rbtree: nginx's red-black tree (ngx_rbtree.c), over offsets in a zone.
 *
 * nginx's modules keep their shared indexes in this tree: a node is a
 * 40-byte header (key, left, right, parent, then a colour byte at offset
 * 32) at the start of a block the module allocated in the zone, and the
 * module's own record begins at the colour byte.  The tree has a sentinel
 * node, black, that stands for every leaf; an empty tree's root is the
 * sentinel.  Insertion is a plain binary-tree descent done by a function
 * the module supplies (its order: for lua_shared_dict the key's CRC-32,
 * then the key's bytes), followed by nginx's recolouring and rotations;
 * deletion is nginx's, with its successor substitution and fix-up, and
 * leaves the removed node's links and key zeroed as nginx's does.
 *
 * The idea: the same steps as nginx in the same order, so that from the
 * same sequence of inserts and deletes the tree has the same shape and
 * colours as nginx's.  Here every link is an offset from the zone's base,
 * so the tree is valid wherever another process maps the zone; offset 0
 * stands for nginx's NULL (the root's parent, a deleted node's links), and
 * is never a node, since the block holding the tree's header (and its
 * sentinel) is allocated before any node and never freed.
 */
#ifndef SHMBENCH_RBTREE_H
#define SHMBENCH_RBTREE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "substrate/diag.h"

/* A node's header (ngx_rbtree_node_t, 40 bytes on LP64). */
struct rbtree_node {
    uint64_t key;                   /* the module's ordering key */
    uint64_t left, right, parent;   /* offsets from the zone base; 0 = NULL */
    uint8_t  color;                 /* RBTREE_RED or RBTREE_BLACK */
    uint8_t  data;                  /* first byte of the module's record */
};

#define RBTREE_BLACK 0
#define RBTREE_RED   1

/* The tree (ngx_rbtree_t, 24 bytes). */
struct rbtree {
    uint64_t root;       /* offset of the root; the sentinel when empty */
    uint64_t sentinel;   /* offset of the sentinel node */
    uint64_t insert;     /* nginx's insert-function pointer; 0 here: a
                            function pointer means nothing in another
                            program, so rbtree_insert() is given it */
};

/* ngx_memn2cmp, the key order the modules' descents break ties with:
 * bytes first, then the shorter is less. */
static inline int
rbtree_memn2cmp(const unsigned char *s1, const unsigned char *s2, size_t n1, size_t n2)
{
    int m = memcmp(s1, s2, n1 <= n2 ? n1 : n2);

    if (m || n1 == n2) {
        return m;
    }
    return n1 < n2 ? -1 : 1;
}

/* The node at offset off from base. */
static inline struct rbtree_node *
rbtree_at(unsigned char *base, uint64_t off)
{
    return (struct rbtree_node *) (base + off);
}

/*
 * A module's descent: link `node` below `temp` (the root at first, never the
 * sentinel), leaves set to the sentinel, parent set, colour red, exactly as
 * nginx's insert_value functions do.
 */
typedef void (*rbtree_insert_fn)(unsigned char *base, uint64_t temp,
    uint64_t node, uint64_t sentinel);

/* An empty tree with its sentinel at offset `sentinel` (made black). */
void rbtree_init(unsigned char *base, struct rbtree *t, uint64_t sentinel);

/* Insert node: descent by `insert`, then nginx's rebalancing. */
void rbtree_insert(unsigned char *base, struct rbtree *t, uint64_t node,
    rbtree_insert_fn insert);

/* Delete node (in the tree), rebalancing as nginx does; the node's links
 * and key are zeroed afterwards. */
void rbtree_delete(unsigned char *base, struct rbtree *t, uint64_t node);

/* Order of two nodes for rbtree_check: < 0, 0, > 0. */
typedef int (*rbtree_cmp_fn)(unsigned char *base, uint64_t a, uint64_t b,
    void *arg);

/*
 * Verify the tree, trusting nothing read from it: every link inside
 * [base, base + size), the sentinel black, the root black,
 * each child's parent link pointing back, no red node with a red child,
 * the same number of black nodes on every path, and an in-order walk
 * strictly increasing by cmp (keys are unique).  At most `max` nodes (a
 * bound for a cyclic tree).  Sets *count to the nodes found.  Returns 0, or
 * -1 through c (diag_report) at the first violation.
 */
int rbtree_check(unsigned char *base, size_t size, const struct rbtree *t,
    rbtree_cmp_fn cmp, void *arg, uint64_t max, uint64_t *count,
    const struct diag_checker *c);

#endif
