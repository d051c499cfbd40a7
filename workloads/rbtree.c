/*
 * rbtree: nginx's red-black tree over offsets (rbtree.h says why).
 *
 * Insert, delete and the two rotations follow ngx_rbtree.c statement by
 * statement (Cormen, Leiserson and Rivest's algorithm as nginx writes it),
 * with every pointer an offset from base: N(x) is the node at offset x, so
 * `N(x)->left` reads as nginx's `x->left`.  Keeping nginx's order of
 * assignments matters beyond taste: the sentinel's parent link is written
 * during deletion exactly when nginx writes it, and the fix-up reads it.
 */
#include "rbtree.h"

#define N(x) rbtree_at(base, (x))

static inline int
is_red(unsigned char *base, uint64_t x)
{
    return N(x)->color == RBTREE_RED;
}

static inline uint64_t
tree_min(unsigned char *base, uint64_t x, uint64_t sentinel)
{
    while (N(x)->left != sentinel) {
        x = N(x)->left;
    }
    return x;
}

static void
left_rotate(unsigned char *base, uint64_t *root, uint64_t sentinel, uint64_t x)
{
    uint64_t temp = N(x)->right;

    N(x)->right = N(temp)->left;
    if (N(temp)->left != sentinel) {
        N(N(temp)->left)->parent = x;
    }
    N(temp)->parent = N(x)->parent;
    if (x == *root) {
        *root = temp;
    } else if (x == N(N(x)->parent)->left) {
        N(N(x)->parent)->left = temp;
    } else {
        N(N(x)->parent)->right = temp;
    }
    N(temp)->left = x;
    N(x)->parent = temp;
}

static void
right_rotate(unsigned char *base, uint64_t *root, uint64_t sentinel, uint64_t x)
{
    uint64_t temp = N(x)->left;

    N(x)->left = N(temp)->right;
    if (N(temp)->right != sentinel) {
        N(N(temp)->right)->parent = x;
    }
    N(temp)->parent = N(x)->parent;
    if (x == *root) {
        *root = temp;
    } else if (x == N(N(x)->parent)->right) {
        N(N(x)->parent)->right = temp;
    } else {
        N(N(x)->parent)->left = temp;
    }
    N(temp)->right = x;
    N(x)->parent = temp;
}

void
rbtree_init(unsigned char *base, struct rbtree *t, uint64_t sentinel)
{
    N(sentinel)->color = RBTREE_BLACK;
    t->root = sentinel;
    t->sentinel = sentinel;
    t->insert = 0;
}

void
rbtree_insert(unsigned char *base, struct rbtree *t, uint64_t node,
    rbtree_insert_fn insert)
{
    uint64_t *root = &t->root, sentinel = t->sentinel, temp, gp;

    if (*root == sentinel) {
        N(node)->parent = 0;
        N(node)->left = sentinel;
        N(node)->right = sentinel;
        N(node)->color = RBTREE_BLACK;
        *root = node;
        return;
    }

    insert(base, *root, node, sentinel);

    while (node != *root && is_red(base, N(node)->parent)) {
        gp = N(N(node)->parent)->parent;
        if (N(node)->parent == N(gp)->left) {
            temp = N(gp)->right;
            if (is_red(base, temp)) {
                N(N(node)->parent)->color = RBTREE_BLACK;
                N(temp)->color = RBTREE_BLACK;
                N(gp)->color = RBTREE_RED;
                node = gp;
            } else {
                if (node == N(N(node)->parent)->right) {
                    node = N(node)->parent;
                    left_rotate(base, root, sentinel, node);
                }
                N(N(node)->parent)->color = RBTREE_BLACK;
                N(N(N(node)->parent)->parent)->color = RBTREE_RED;
                right_rotate(base, root, sentinel, N(N(node)->parent)->parent);
            }
        } else {
            temp = N(gp)->left;
            if (is_red(base, temp)) {
                N(N(node)->parent)->color = RBTREE_BLACK;
                N(temp)->color = RBTREE_BLACK;
                N(gp)->color = RBTREE_RED;
                node = gp;
            } else {
                if (node == N(N(node)->parent)->left) {
                    node = N(node)->parent;
                    right_rotate(base, root, sentinel, node);
                }
                N(N(node)->parent)->color = RBTREE_BLACK;
                N(N(N(node)->parent)->parent)->color = RBTREE_RED;
                left_rotate(base, root, sentinel, N(N(node)->parent)->parent);
            }
        }
    }
    N(*root)->color = RBTREE_BLACK;
}

/* nginx's "DEBUG stuff": a deleted node's links and key are cleared. */
static void
clear_links(unsigned char *base, uint64_t node)
{
    N(node)->left = 0;
    N(node)->right = 0;
    N(node)->parent = 0;
    N(node)->key = 0;
}

/* The fix-up after removing a black node; temp took its place. */
static void
delete_fixup(unsigned char *base, uint64_t *root, uint64_t sentinel, uint64_t temp)
{
    uint64_t w;

    while (temp != *root && !is_red(base, temp)) {
        if (temp == N(N(temp)->parent)->left) {
            w = N(N(temp)->parent)->right;
            if (is_red(base, w)) {
                N(w)->color = RBTREE_BLACK;
                N(N(temp)->parent)->color = RBTREE_RED;
                left_rotate(base, root, sentinel, N(temp)->parent);
                w = N(N(temp)->parent)->right;
            }
            if (!is_red(base, N(w)->left) && !is_red(base, N(w)->right)) {
                N(w)->color = RBTREE_RED;
                temp = N(temp)->parent;
            } else {
                if (!is_red(base, N(w)->right)) {
                    N(N(w)->left)->color = RBTREE_BLACK;
                    N(w)->color = RBTREE_RED;
                    right_rotate(base, root, sentinel, w);
                    w = N(N(temp)->parent)->right;
                }
                N(w)->color = N(N(temp)->parent)->color;
                N(N(temp)->parent)->color = RBTREE_BLACK;
                N(N(w)->right)->color = RBTREE_BLACK;
                left_rotate(base, root, sentinel, N(temp)->parent);
                temp = *root;
            }
        } else {
            w = N(N(temp)->parent)->left;
            if (is_red(base, w)) {
                N(w)->color = RBTREE_BLACK;
                N(N(temp)->parent)->color = RBTREE_RED;
                right_rotate(base, root, sentinel, N(temp)->parent);
                w = N(N(temp)->parent)->left;
            }
            if (!is_red(base, N(w)->left) && !is_red(base, N(w)->right)) {
                N(w)->color = RBTREE_RED;
                temp = N(temp)->parent;
            } else {
                if (!is_red(base, N(w)->left)) {
                    N(N(w)->right)->color = RBTREE_BLACK;
                    N(w)->color = RBTREE_RED;
                    left_rotate(base, root, sentinel, w);
                    w = N(N(temp)->parent)->left;
                }
                N(w)->color = N(N(temp)->parent)->color;
                N(N(temp)->parent)->color = RBTREE_BLACK;
                N(N(w)->left)->color = RBTREE_BLACK;
                right_rotate(base, root, sentinel, N(temp)->parent);
                temp = *root;
            }
        }
    }
    N(temp)->color = RBTREE_BLACK;
}

void
rbtree_delete(unsigned char *base, struct rbtree *t, uint64_t node)
{
    uint64_t *root = &t->root, sentinel = t->sentinel, subst, temp;
    int       red;

    if (N(node)->left == sentinel) {
        temp = N(node)->right;
        subst = node;
    } else if (N(node)->right == sentinel) {
        temp = N(node)->left;
        subst = node;
    } else {
        subst = tree_min(base, N(node)->right, sentinel);
        temp = N(subst)->right;
    }

    if (subst == *root) {
        *root = temp;
        N(temp)->color = RBTREE_BLACK;
        clear_links(base, node);
        return;
    }

    red = is_red(base, subst);

    if (subst == N(N(subst)->parent)->left) {
        N(N(subst)->parent)->left = temp;
    } else {
        N(N(subst)->parent)->right = temp;
    }

    if (subst == node) {
        N(temp)->parent = N(subst)->parent;
    } else {
        if (N(subst)->parent == node) {
            N(temp)->parent = subst;
        } else {
            N(temp)->parent = N(subst)->parent;
        }
        N(subst)->left = N(node)->left;
        N(subst)->right = N(node)->right;
        N(subst)->parent = N(node)->parent;
        N(subst)->color = N(node)->color;
        if (node == *root) {
            *root = subst;
        } else if (node == N(N(node)->parent)->left) {
            N(N(node)->parent)->left = subst;
        } else {
            N(N(node)->parent)->right = subst;
        }
        if (N(subst)->left != sentinel) {
            N(N(subst)->left)->parent = subst;
        }
        if (N(subst)->right != sentinel) {
            N(N(subst)->right)->parent = subst;
        }
    }

    clear_links(base, node);
    if (red) {
        return;
    }
    delete_fixup(base, root, sentinel, temp);
}

/* State of one rbtree_check walk. */
struct rb_walk {
    unsigned char             *base;
    size_t                     size;
    uint64_t                   sentinel, max, count, prev;
    rbtree_cmp_fn              cmp;
    void                      *arg;
    const struct diag_checker *c;
};

static int
in_bounds(const struct rb_walk *w, uint64_t x)
{
    return x % 8 == 0 && x >= 8 && x <= w->size
           && w->size - x >= sizeof(struct rbtree_node);
}

/* Check the subtree at x, child of parent, `depth` levels down; its black
 * height goes to *bh.  The root's parent link is not checked: nginx leaves
 * it pointing at the deleted old root when a root with one child is
 * deleted, and never reads it. */
static int
walk(struct rb_walk *w, uint64_t x, uint64_t parent, unsigned depth, unsigned *bh)
{
    unsigned char *base = w->base;
    unsigned       lh = 0, rh = 0;
    uint64_t       l, r;

    if (x == w->sentinel) {
        *bh = 1;
        return 0;
    }
    if (!in_bounds(w, x)) {
        return diag_report(w->c, "node at offset %llu is outside the zone",
                           (unsigned long long) x);
    }
    if (depth > 128 || ++w->count > w->max) {
        return diag_report(w->c, "more than %llu nodes or a cycle, at offset %llu",
                           (unsigned long long) w->max, (unsigned long long) x);
    }
    if (depth > 0 && N(x)->parent != parent) {
        return diag_report(w->c, "node %llu has parent %llu, expected %llu",
                           (unsigned long long) x, (unsigned long long) N(x)->parent,
                           (unsigned long long) parent);
    }
    if (N(x)->color != RBTREE_RED && N(x)->color != RBTREE_BLACK) {
        return diag_report(w->c, "node %llu has colour %u", (unsigned long long) x,
                           N(x)->color);
    }
    l = N(x)->left;
    r = N(x)->right;
    if (N(x)->color == RBTREE_RED
        && ((l != w->sentinel && in_bounds(w, l) && is_red(base, l))
            || (r != w->sentinel && in_bounds(w, r) && is_red(base, r))))
    {
        return diag_report(w->c, "red node %llu has a red child", (unsigned long long) x);
    }
    if (walk(w, l, x, depth + 1, &lh) != 0) {
        return -1;
    }
    if (w->prev != 0 && w->cmp(base, w->prev, x, w->arg) >= 0) {
        return diag_report(w->c, "in-order walk: node %llu does not follow node %llu",
                           (unsigned long long) x, (unsigned long long) w->prev);
    }
    w->prev = x;
    if (walk(w, r, x, depth + 1, &rh) != 0) {
        return -1;
    }
    if (lh != rh) {
        return diag_report(w->c, "node %llu: black heights %u left, %u right",
                           (unsigned long long) x, lh, rh);
    }
    *bh = lh + (N(x)->color == RBTREE_BLACK);
    return 0;
}

int
rbtree_check(unsigned char *base, size_t size, const struct rbtree *t,
    rbtree_cmp_fn cmp, void *arg, uint64_t max, uint64_t *count,
    const struct diag_checker *c)
{
    struct rb_walk w = { base, size, t->sentinel, max, 0, 0, cmp, arg, c };
    unsigned       bh;

    *count = 0;
    if (!in_bounds(&w, t->sentinel)) {
        return diag_report(c, "sentinel at offset %llu is outside the zone",
                           (unsigned long long) t->sentinel);
    }
    if (N(t->sentinel)->color != RBTREE_BLACK) {
        return diag_report(c, "the sentinel is not black");
    }
    if (t->root != t->sentinel) {
        if (!in_bounds(&w, t->root)) {
            return diag_report(c, "root at offset %llu is outside the zone",
                               (unsigned long long) t->root);
        }
        if (N(t->root)->color != RBTREE_BLACK) {
            return diag_report(c, "the root is red");
        }
    }
    if (walk(&w, t->root, 0, 0, &bh) != 0) {
        return -1;
    }
    *count = w.count;
    return 0;
}
