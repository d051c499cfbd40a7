/*
 * trace: a streaming parser for allocation traces and the replay loop.
 *
 * The parser reads in chunks that hold the longest line allowed (1 MiB) and
 * its newline, cuts lines with memchr and scans fields by hand: no stdio, no
 * scanf, no allocation per line.  Each distinct ID gets a dense slot.  Small
 * IDs (traces number their blocks 1, 2, 3 ...) find it in a direct map, the
 * rest in an open-addressing table (linear probing, a splitmix64 hash,
 * grown at half load).  A word per slot holds whether the ID is live and
 * the line of its last `a`/`f`, so that an error can say where the
 * conflicting op was.  All that is dropped after parsing; only the ops and
 * each slot's ID remain.  A token quoted in an error is cut and escaped: a
 * bad trace may hold any bytes at all, and the message goes to a terminal.
 *
 * Memory touched is what costs (a page fault is ~10 us on a VM): the
 * parser's own structures stay at a few words per distinct ID.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prng.h"
#include "substrate/clock.h"
#include "substrate/diag.h"

#define TRACE_READ_CHUNK  (TRACE_LINE_MAX + 1)  /* the longest line and its '\n' */
#define TRACE_TOKEN_SHOWN 40                    /* bytes of a token quoted */
#define TRACE_SHOWN_MAX   (4 * TRACE_TOKEN_SHOWN + 4)  /* all escaped, "...", NUL */

struct trace_hash_entry {
    uint64_t id;
    uint32_t slot1;          /* slot + 1; 0 = empty */
    uint32_t pad;
};

struct trace_parser {
    struct trace            *t;
    const char              *name;
    uint64_t                 line;
    uint32_t                *direct;     /* id -> slot + 1 for id < direct_cap */
    size_t                   direct_cap;
    struct trace_hash_entry *tab;        /* the other IDs */
    size_t                   tab_mask;   /* capacity - 1 (power of two) */
    size_t                   tab_used;
    size_t                   slots_cap;
    uint32_t                *state;      /* per slot: TRACE_LIVE | line of its last a/f */
    size_t                   live_now;
    size_t                   ops_cap;
};

#define TRACE_LIVE      0x80000000u
#define TRACE_LINE_MASK 0x7fffffffu

static int
trace_fail(struct trace_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
trace_fail(struct trace_parser *p, const char *fmt, ...)
{
    char    what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    diag_set("%s:%llu: %s", p->name, (unsigned long long) p->line, what);
    return -1;
}

static int
trace_nomem(struct trace_parser *p)
{
    return trace_fail(p, "out of memory");
}

static inline int
trace_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static inline const char *
trace_skip_blank(const char *s, const char *e)
{
    while (s < e && trace_blank(*s)) {
        s++;
    }
    return s;
}

static inline const char *
trace_token_end(const char *s, const char *e)
{
    while (s < e && !trace_blank(*s)) {
        s++;
    }
    return s;
}

/*
 * The token [s, e) as a message quotes it, into out[TRACE_SHOWN_MAX]: its
 * first TRACE_TOKEN_SHOWN bytes, then "..." if it is longer.  What is not
 * printable ASCII is written \xHH (and a backslash \\), so that a message
 * is one line and sends no control bytes to a terminal.
 */
static const char *
trace_show(char *out, const char *s, const char *e)
{
    static const char hex[] = "0123456789abcdef";
    const char       *end = e - s > TRACE_TOKEN_SHOWN ? s + TRACE_TOKEN_SHOWN : e;
    char             *o = out;
    unsigned char     c;

    for (; s < end; s++) {
        c = (unsigned char) *s;
        if (c == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else if (c >= 0x20 && c < 0x7f) {
            *o++ = (char) c;
        } else {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0xf];
        }
    }
    if (end < e) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

/* Parse the decimal token [s, e) naming field `what`. */
static int
trace_number(struct trace_parser *p, const char *what, const char *s,
    const char *e, uint64_t *out)
{
    const char *c;
    uint64_t    v = 0;
    unsigned    d;
    char        shown[TRACE_SHOWN_MAX];

    for (c = s; c < e; c++) {
        if (*c < '0' || *c > '9') {
            return trace_fail(p, "%s '%s' is not a decimal number", what,
                              trace_show(shown, s, e));
        }
    }
    for (c = s; c < e; c++) {
        d = (unsigned) (*c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return trace_fail(p, "%s '%s' does not fit in 64 bits", what,
                              trace_show(shown, s, e));
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/*
 * Take the next field (named `what`) of the line into *out.  `form` is the
 * op's full form for the "missing" message.
 */
static int
trace_field(struct trace_parser *p, const char **s, const char *e,
    const char *what, const char *form, uint64_t *out)
{
    const char *b, *te;

    b = trace_skip_blank(*s, e);
    if (b == e) {
        return trace_fail(p, "missing %s: expected '%s'", what, form);
    }
    te = trace_token_end(b, e);
    if (trace_number(p, what, b, te, out) != 0) {
        return -1;
    }
    *s = te;
    return 0;
}

static int
trace_line_end(struct trace_parser *p, const char *s, const char *e,
    const char *form)
{
    const char *te;
    char        shown[TRACE_SHOWN_MAX];

    s = trace_skip_blank(s, e);
    if (s == e) {
        return 0;
    }
    te = trace_token_end(s, e);
    return trace_fail(p, "extra field '%s': expected '%s'", trace_show(shown, s, te),
                      form);
}

static inline size_t
trace_hash(uint64_t x)
{
    return (size_t) prng_mix(x);
}

/* slot + 1 of `id` in the hash table, 0 if absent. */
static inline uint32_t
trace_hash_get(const struct trace_parser *p, uint64_t id)
{
    size_t j;

    if (p->tab == NULL) {
        return 0;
    }
    for (j = trace_hash(id) & p->tab_mask; p->tab[j].slot1; j = (j + 1) & p->tab_mask) {
        if (p->tab[j].id == id) {
            return p->tab[j].slot1;
        }
    }
    return 0;
}

static void
trace_hash_insert(struct trace_parser *p, uint64_t id, uint32_t slot1)
{
    size_t j;

    for (j = trace_hash(id) & p->tab_mask; p->tab[j].slot1; j = (j + 1) & p->tab_mask) {
        /* linear probing */
    }
    p->tab[j].id = id;
    p->tab[j].slot1 = slot1;
    p->tab_used++;
}

/* Rebuild the table with room for `need` entries at most half full,
 * leaving out the IDs that the direct map now covers. */
static int
trace_hash_rebuild(struct trace_parser *p, size_t need)
{
    struct trace_hash_entry *old = p->tab;
    size_t                   i, cap = 1024, old_cap = old ? p->tab_mask + 1 : 0;

    while (cap < need * 2) {
        cap *= 2;
    }
    p->tab = calloc(cap, sizeof(*p->tab));
    if (p->tab == NULL) {
        p->tab = old;
        return -1;
    }
    p->tab_mask = cap - 1;
    p->tab_used = 0;
    for (i = 0; i < old_cap; i++) {
        if (old[i].slot1 == 0) {
            continue;
        }
        if (old[i].id < p->direct_cap) {
            p->direct[old[i].id] = old[i].slot1;
        } else {
            trace_hash_insert(p, old[i].id, old[i].slot1);
        }
    }
    free(old);
    return 0;
}

/* Grow the direct map to cover `id`; move the hash entries it now covers. */
static int
trace_direct_grow(struct trace_parser *p, uint64_t id)
{
    size_t    cap = p->direct_cap ? p->direct_cap : 4096;
    uint32_t *q;

    while (cap <= id) {
        cap *= 2;
    }
    q = realloc(p->direct, cap * sizeof(*q));
    if (q == NULL) {
        return -1;
    }
    memset(q + p->direct_cap, 0, (cap - p->direct_cap) * sizeof(*q));
    p->direct = q;
    p->direct_cap = cap;
    return p->tab_used ? trace_hash_rebuild(p, p->tab_used) : 0;
}

/* slot + 1 of `id`, 0 if it has none yet. */
static inline uint32_t
trace_find(const struct trace_parser *p, uint64_t id)
{
    return id < p->direct_cap ? p->direct[id] : trace_hash_get(p, id);
}

/*
 * Give `id` the next slot.  IDs are usually small and dense (1, 2, 3 ...):
 * those go in a direct map (4 bytes per possible ID, sequential access);
 * the direct map grows while it stays within a few words per slot, and
 * every other ID goes in the hash table.
 */
static int64_t
trace_new_slot(struct trace_parser *p, uint64_t id)
{
    struct trace *t = p->t;
    uint32_t      slot1;
    size_t        n;
    void         *q;

    if (t->nslots >= TRACE_SLOT_MAX) {
        trace_fail(p, "more than %u distinct IDs", TRACE_SLOT_MAX);
        return -1;
    }
    if (t->nslots == p->slots_cap) {
        n = p->slots_cap ? p->slots_cap * 2 : 4096;
        if ((q = realloc(t->ids, n * sizeof(*t->ids))) == NULL) {
            goto nomem;
        }
        t->ids = q;
        if ((q = realloc(p->state, n * sizeof(*p->state))) == NULL) {
            goto nomem;
        }
        p->state = q;
        p->slots_cap = n;
    }
    slot1 = (uint32_t) t->nslots + 1;
    if (id >= p->direct_cap && id < 4 * ((uint64_t) t->nslots + 1024)
        && trace_direct_grow(p, id) != 0)
    {
        goto nomem;
    }
    if (id < p->direct_cap) {
        p->direct[id] = slot1;
    } else {
        if ((p->tab_used + 1) * 2 > (p->tab ? p->tab_mask + 1 : 0)
            && trace_hash_rebuild(p, p->tab_used + 1) != 0)
        {
            goto nomem;
        }
        trace_hash_insert(p, id, slot1);
    }
    t->ids[t->nslots] = id;
    p->state[t->nslots] = 0;
    t->nslots++;
    return (int64_t) slot1 - 1;

nomem:
    trace_nomem(p);
    return -1;
}

static inline uint32_t
trace_line32(const struct trace_parser *p)
{
    return p->line > TRACE_LINE_MASK ? TRACE_LINE_MASK : (uint32_t) p->line;
}

static int
trace_push(struct trace_parser *p, uint64_t size, uint32_t slot)
{
    struct trace    *t = p->t;
    struct trace_op *op;
    size_t           n;

    if (t->nops == p->ops_cap) {
        n = p->ops_cap ? p->ops_cap * 2 : 4096;
        op = realloc(t->ops, n * sizeof(*op));
        if (op == NULL) {
            return trace_nomem(p);
        }
        t->ops = op;
        p->ops_cap = n;
    }
    op = &t->ops[t->nops++];
    op->size = size;
    op->slot = slot;
    op->line = p->line > UINT32_MAX ? UINT32_MAX : (uint32_t) p->line;
    if (t->first_op_line == 0) {
        t->first_op_line = p->line;
    }
    return 0;
}

static int
trace_op_alloc(struct trace_parser *p, const char *s, const char *e)
{
    static const char form[] = "a ID SIZE";
    uint64_t          id, size;
    int64_t           slot;

    if (trace_field(p, &s, e, "ID", form, &id) != 0
        || trace_field(p, &s, e, "SIZE", form, &size) != 0
        || trace_line_end(p, s, e, form) != 0)
    {
        return -1;
    }
    slot = (int64_t) trace_find(p, id) - 1;
    if (slot < 0 && (slot = trace_new_slot(p, id)) < 0) {
        return -1;
    }
    if (p->state[slot] & TRACE_LIVE) {
        return trace_fail(p, "a of ID %llu, which is still live (allocated at line %lu)",
                          (unsigned long long) id,
                          (unsigned long) (p->state[slot] & TRACE_LINE_MASK));
    }
    p->state[slot] = TRACE_LIVE | trace_line32(p);
    if (++p->live_now > p->t->max_live) {
        p->t->max_live = p->live_now;
    }
    p->t->nallocs++;
    return trace_push(p, size, (uint32_t) slot);
}

static int
trace_op_free(struct trace_parser *p, const char *s, const char *e)
{
    static const char form[] = "f ID";
    uint64_t          id;
    int64_t           slot;

    if (trace_field(p, &s, e, "ID", form, &id) != 0
        || trace_line_end(p, s, e, form) != 0)
    {
        return -1;
    }
    slot = (int64_t) trace_find(p, id) - 1;
    if (slot < 0) {
        return trace_fail(p, "f of ID %llu, which was never allocated",
                          (unsigned long long) id);
    }
    if (!(p->state[slot] & TRACE_LIVE)) {
        return trace_fail(p, "f of ID %llu, which was already freed at line %lu",
                          (unsigned long long) id,
                          (unsigned long) (p->state[slot] & TRACE_LINE_MASK));
    }
    p->state[slot] = trace_line32(p);
    p->live_now--;
    p->t->nfrees++;
    return trace_push(p, 0, (uint32_t) slot | TRACE_OP_FREE);
}

static int
trace_op_pages(struct trace_parser *p, const char *s, const char *e)
{
    static const char form[] = "pages N";
    struct trace     *t = p->t;
    uint64_t          n;

    if (trace_field(p, &s, e, "N", form, &n) != 0
        || trace_line_end(p, s, e, form) != 0)
    {
        return -1;
    }
    if (t->first_op_line) {
        return trace_fail(p, "'pages' after the first op (line %llu)",
                          (unsigned long long) t->first_op_line);
    }
    if (t->pages_line) {
        return trace_fail(p, "second 'pages' line (the first is line %llu)",
                          (unsigned long long) t->pages_line);
    }
    if (n == 0) {
        return trace_fail(p, "pages must be at least 1");
    }
    t->pages = n;
    t->pages_line = p->line;
    return 0;
}

static int
trace_op_pagesize(struct trace_parser *p, const char *s, const char *e)
{
    static const char form[] = "pagesize P";
    struct trace     *t = p->t;
    uint64_t          n;

    if (trace_field(p, &s, e, "P", form, &n) != 0
        || trace_line_end(p, s, e, form) != 0)
    {
        return -1;
    }
    if (t->first_op_line) {
        return trace_fail(p, "'pagesize' after the first op (line %llu)",
                          (unsigned long long) t->first_op_line);
    }
    if (t->pages_line) {
        return trace_fail(p, "'pagesize' after 'pages' (line %llu): it must come first",
                          (unsigned long long) t->pages_line);
    }
    if (t->page_size_line) {
        return trace_fail(p, "second 'pagesize' line (the first is line %llu)",
                          (unsigned long long) t->page_size_line);
    }
    if (n == 0 || (n & (n - 1)) != 0) {
        return trace_fail(p, "pagesize %llu is not a power of two",
                          (unsigned long long) n);
    }
    t->page_size = n;
    t->page_size_line = p->line;
    return 0;
}

/* The one message for a line over the limit, from the line parser and from
 * the reader (whose buffer fills up without a newline) alike. */
static int
trace_long_line(struct trace_parser *p)
{
    return trace_fail(p, "line longer than %u bytes", TRACE_LINE_MAX);
}

/* One line [s, e), without its '\n'. */
static int
trace_line(struct trace_parser *p, const char *s, const char *e)
{
    const char *te, *nul;
    size_t      n;
    char        shown[TRACE_SHOWN_MAX];

    p->line++;
    if ((size_t) (e - s) > TRACE_LINE_MAX) {
        return trace_long_line(p);
    }
    /* Text has no NUL; a field cut at one would be misreported. */
    nul = memchr(s, '\0', (size_t) (e - s));
    if (nul != NULL) {
        return trace_fail(p, "line holds a NUL byte (at byte %zu): a trace is text",
                          (size_t) (nul - s) + 1);
    }
    s = trace_skip_blank(s, e);
    if (s == e || *s == '#') {
        return 0;
    }
    te = trace_token_end(s, e);
    n = (size_t) (te - s);
    if (n == 1 && *s == 'a') {
        return trace_op_alloc(p, te, e);
    }
    if (n == 1 && *s == 'f') {
        return trace_op_free(p, te, e);
    }
    if (n == 5 && memcmp(s, "pages", 5) == 0) {
        return trace_op_pages(p, te, e);
    }
    if (n == 8 && memcmp(s, "pagesize", 8) == 0) {
        return trace_op_pagesize(p, te, e);
    }
    return trace_fail(p, "unknown op '%s' (expected a, f, pages, pagesize or #)",
                      trace_show(shown, s, te));
}

/* Lines of buf[0, len) up to the last '\n'; *used gets the bytes consumed. */
static int
trace_lines(struct trace_parser *p, const char *buf, size_t len, size_t *used)
{
    const char *s = buf, *e = buf + len, *nl;

    while (s < e && (nl = memchr(s, '\n', (size_t) (e - s))) != NULL) {
        if (trace_line(p, s, nl) != 0) {
            return -1;
        }
        s = nl + 1;
    }
    *used = (size_t) (s - buf);
    return 0;
}

static int
trace_begin(struct trace_parser *p, struct trace *t, const char *name,
    size_t ops_hint)
{
    memset(t, 0, sizeof(*t));
    memset(p, 0, sizeof(*p));
    p->t = t;
    p->name = name;
    t->path = strdup(name);
    if (ops_hint > (1u << 26)) {
        ops_hint = 1u << 26;
    }
    if (ops_hint > 4096) {
        t->ops = malloc(ops_hint * sizeof(*t->ops));
        p->ops_cap = t->ops ? ops_hint : 0;
    }
    if (t->path == NULL) {
        return trace_nomem(p);
    }
    p->name = t->path;
    return 0;
}

static int
trace_end(struct trace_parser *p, int rc)
{
    struct trace *t = p->t;
    void         *q;

    free(p->tab);
    free(p->direct);
    free(p->state);
    if (rc != 0) {
        trace_free(t);
        return -1;
    }
    t->lines = p->line;
    if (t->first_op_line == 0) {
        t->first_op_line = p->line + 1;
    }
    if (t->nops > 0 && t->nops < p->ops_cap / 2
        && (q = realloc(t->ops, t->nops * sizeof(*t->ops))) != NULL)
    {
        t->ops = q;
    }
    return 0;
}

int
trace_parse_mem(struct trace *t, const char *name, const char *buf, size_t len)
{
    struct trace_parser p;
    size_t              used = 0;
    int                 rc;

    rc = trace_begin(&p, t, name, len / 10);
    if (rc == 0) {
        rc = trace_lines(&p, buf, len, &used);
    }
    if (rc == 0 && used < len) {
        rc = trace_line(&p, buf + used, buf + len);
    }
    return trace_end(&p, rc);
}

int
trace_load(struct trace *t, const char *path)
{
    struct trace_parser p;
    struct stat         st;
    char               *buf = NULL;
    size_t              have = 0, used, hint = 0;
    ssize_t             n;
    int                 fd, rc, err;

    memset(t, 0, sizeof(*t));
    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diag_set("%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        hint = (size_t) st.st_size / 10;
    }
    rc = trace_begin(&p, t, path, hint);
    if (rc == 0 && (buf = malloc(TRACE_READ_CHUNK)) == NULL) {
        rc = trace_nomem(&p);
    }
    while (rc == 0) {
        n = read(fd, buf + have, TRACE_READ_CHUNK - have);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            err = errno;
            diag_set("%s: %s", path, strerror(err));
            rc = -1;
            break;
        }
        if (n == 0) {
            if (have > 0) {
                rc = trace_line(&p, buf, buf + have);
            }
            break;
        }
        have += (size_t) n;
        rc = trace_lines(&p, buf, have, &used);
        if (rc != 0) {
            break;
        }
        memmove(buf, buf + used, have - used);
        have -= used;
        if (have == TRACE_READ_CHUNK) {
            p.line++;               /* no '\n' in a longest line's room */
            rc = trace_long_line(&p);
        }
    }
    free(buf);
    if (fd != STDIN_FILENO) {
        close(fd);
    }
    return trace_end(&p, rc);
}

void
trace_free(struct trace *t)
{
    free(t->path);
    free(t->ops);
    free(t->ids);
    memset(t, 0, sizeof(*t));
}

/* The diag message for a free that the allocator refused at op. */
static int
trace_refused(const struct trace *t, const struct zone *z, const struct trace_op *op)
{
    char why[512];

    snprintf(why, sizeof(why), "%s", diag_last());
    diag_set("%s:%lu: free of ID %llu refused by \"%s\": %s", t->path,
             (unsigned long) op->line,
             (unsigned long long) t->ids[op->slot & TRACE_SLOT_MAX],
             z->ops->name, why[0] ? why : "no reason given");
    return -1;
}

/* Where the first failure was, into r. */
static void
trace_first_fail(const struct trace *t, const struct trace_op *first,
    struct trace_replay_result *r)
{
    if (first) {
        r->first_fail_op = (uint64_t) (first - t->ops) + 1;
        r->first_fail_line = first->line;
    }
}

int
trace_replay(const struct trace *t, struct zone *z, const unsigned char *origin,
    int64_t *offsets, struct trace_replay_result *r)
{
    void *(*alloc)(struct zone *, size_t) = z->ops->alloc;
    int   (*release)(struct zone *, void *) = z->ops->free;
    const struct trace_op *op = t->ops, *end = t->ops + t->nops, *first = NULL;
    void                 **blocks;
    void                  *b;
    uint64_t               t0, t1, fails = 0, frees = 0, skipped = 0;
    uint32_t               slot;

    memset(r, 0, sizeof(*r));
    blocks = calloc(t->nslots ? t->nslots : 1, sizeof(*blocks));
    if (blocks == NULL) {
        diag_set("%s: out of memory for %zu block pointers", t->path, t->nslots);
        return -1;
    }

    t0 = clock_ns();
    for (; op < end; op++) {
        slot = op->slot;
        if (slot & TRACE_OP_FREE) {
            slot &= TRACE_SLOT_MAX;
            b = blocks[slot];
            if (b == NULL) {
                skipped++;
                continue;
            }
            if (release(z, b) != 0) {
                break;
            }
            blocks[slot] = NULL;
            frees++;
        } else {
            b = alloc(z, (size_t) op->size);
            blocks[slot] = b;
            if (b == NULL && fails++ == 0) {
                first = op;
            }
            if (offsets) {
                *offsets++ = b ? (int64_t) ((unsigned char *) b - origin) : -1;
            }
        }
    }
    t1 = clock_ns();
    free(blocks);

    r->fails = fails;
    r->frees = frees;
    r->frees_skipped = skipped;
    r->allocs = (uint64_t) (op - t->ops) - frees - skipped - fails;
    r->ns = t1 - t0;
    trace_first_fail(t, first, r);
    return op < end ? trace_refused(t, z, op) : 0;
}

/*
 * Memory accounting.  Live and granted bytes change only at the ops, by
 * sizes the replay knows, so they are kept incrementally.  The footprint is
 * the allocator's, from stats(), which is not cheap: the slab's walks its
 * free page runs for largest_free, so one call per op would cost more than
 * the op (docs/formats.md has the figures).  So stats() is read only when
 * the footprint may have changed:
 *
 * - For an allocator that takes page counts (`slab`, `nginx`), a data page
 *   is in use exactly while a live block lies in it: nginx takes a page
 *   when a slot has no free chunk, gives it back when its last chunk is
 *   freed, and a page run holds one block.  So the replay counts the live
 *   blocks on every page (from each block's offset and usable size), which
 *   says at every op how many pages are in use, and reads stats() only when
 *   that count passes its highest so far (the peak is then the allocator's
 *   own figure), at the first failure and at the end.  Each read checks the
 *   allocator's pages in use against the count; a difference (an empty
 *   page kept) stops the replay with an error.
 * - For any other allocator, the footprint can grow only at an allocation,
 *   so stats() is read after each one (its peak is then exact; it may
 *   shrink after a free unseen until the next allocation, which no peak
 *   needs).
 */
struct trace_block {
    void    *p;
    uint64_t size;           /* requested */
    uint64_t granted;        /* usable_size() */
};

struct trace_acct {
    const struct trace  *t;
    struct zone         *z;
    const unsigned char *origin;
    struct trace_memory *m;
    uint64_t             live, granted;
    uint32_t            *page_live;  /* live blocks on each data page; NULL:
                                        stats() after every allocation */
    uint64_t             npages, page_shift, pages_used, pages_peak;
};

/* Read stats() into st after op (NULL: before the first or after the
 * last), checking the pages in use against the count; 0 or -1 (diag). */
static int
trace_acct_read(struct trace_acct *a, struct alloc_stats *st, const struct trace_op *op)
{
    a->z->ops->stats(a->z, st);
    a->m->stats_calls++;
    if (!(st->exact & ALLOC_EXACT_FOOTPRINT)) {
        a->m->footprint_exact = 0;
    }
    if (a->page_live && st->pages - st->pages_free != a->pages_used) {
        diag_set("%s:%lu: \"%s\" has %llu data pages in use, but its live blocks lie "
                 "in %llu (memory accounting)", a->t->path,
                 (unsigned long) (op ? op->line : a->t->lines), a->z->ops->name,
                 (unsigned long long) (st->pages - st->pages_free),
                 (unsigned long long) a->pages_used);
        return -1;
    }
    return 0;
}

/* Read stats() after op number `opno` (0: before the first), and take a
 * new peak footprint. */
static int
trace_acct_look(struct trace_acct *a, uint64_t opno, const struct trace_op *op)
{
    struct trace_memory *m = a->m;
    struct alloc_stats   st;

    if (trace_acct_read(a, &st, op) != 0) {
        return -1;
    }
    m->end_footprint = st.footprint;
    if (st.footprint > m->peak_footprint || opno == 0) {
        m->peak_footprint = st.footprint;
        m->peak_footprint_op = opno;
        m->live_at_peak = a->live;
        m->granted_at_peak = a->granted;
    }
    return 0;
}

/* Add d (+1 or -1) to the count of every page block b lies on; 1 if a page
 * came into use or went out of it, 0 if not, -1 (diag) if b is no block on
 * the data pages. */
static int
trace_acct_pages(struct trace_acct *a, const struct trace_block *b, int d,
    const struct trace_op *op)
{
    uint64_t off = (uint64_t) ((const unsigned char *) b->p - a->origin);
    uint64_t pg, last, len = b->granted ? b->granted : 1;
    int      changed = 0;

    if ((const unsigned char *) b->p < a->origin || off >= a->npages << a->page_shift
        || len > (a->npages << a->page_shift) - off)
    {
        diag_set("%s:%lu: \"%s\" gave a block at offset %lld (%llu bytes) outside its "
                 "%llu data pages (memory accounting)", a->t->path, (unsigned long) op->line,
                 a->z->ops->name, (long long) ((const unsigned char *) b->p - a->origin),
                 (unsigned long long) len, (unsigned long long) a->npages);
        return -1;
    }
    last = (off + len - 1) >> a->page_shift;
    for (pg = off >> a->page_shift; pg <= last; pg++) {
        if (d > 0 && a->page_live[pg]++ == 0) {
            a->pages_used++;
            changed = 1;
        } else if (d < 0 && --a->page_live[pg] == 0) {
            a->pages_used--;
            changed = 1;
        }
    }
    return changed;
}

/* The zone's state just before the first failed allocation, at op. */
static int
trace_acct_fail(struct trace_acct *a, const struct trace_op *op)
{
    struct trace_memory *m = a->m;
    struct alloc_stats   st;

    if (trace_acct_read(a, &st, op) != 0) {
        return -1;
    }
    m->fail_live = a->live;
    m->fail_footprint = st.footprint;
    m->fail_free_bytes = st.free_bytes;
    m->fail_largest_free = st.largest_free;
    m->fail_largest_exact = (st.exact & ALLOC_EXACT_LARGEST) != 0;
    return 0;
}

/* Set up a: the first stats() read, and the page counts if they apply. */
static int
trace_acct_init(struct trace_acct *a, const struct trace *t, struct zone *z,
    const unsigned char *origin, struct trace_memory *m)
{
    struct alloc_stats st;

    memset(a, 0, sizeof(*a));
    memset(m, 0, sizeof(*m));
    a->t = t;
    a->z = z;
    a->origin = origin;
    a->m = m;
    m->footprint_exact = 1;
    z->ops->stats(z, &st);
    m->header_bytes = st.header_bytes;
    m->data_bytes = st.data_bytes;
    if (allocator_takes_pages(z->ops) && st.pages && st.page_size
        && (st.page_size & (st.page_size - 1)) == 0)
    {
        a->page_live = calloc(st.pages, sizeof(*a->page_live));
        if (a->page_live == NULL) {
            diag_set("%s: out of memory for %llu page counts", t->path,
                     (unsigned long long) st.pages);
            return -1;
        }
        a->npages = st.pages;
        while (((uint64_t) 1 << a->page_shift) < st.page_size) {
            a->page_shift++;
        }
        a->pages_used = st.pages - st.pages_free;
        a->pages_peak = a->pages_used;
    }
    return trace_acct_look(a, 0, NULL);
}

/* The accounting after the allocation of b at op; 0 or -1 (diag). */
static int
trace_acct_alloc(struct trace_acct *a, const struct trace_block *b,
    const struct trace_op *op)
{
    struct trace_memory *m = a->m;
    uint64_t             opno = (uint64_t) (op - a->t->ops) + 1;
    int                  changed;

    a->live += b->size;
    a->granted += b->granted;
    if (a->live > m->peak_live) {
        m->peak_live = a->live;
    }
    if (a->granted > m->peak_granted) {
        m->peak_granted = a->granted;
    }
    if (a->page_live == NULL) {
        return trace_acct_look(a, opno, op);
    }
    changed = trace_acct_pages(a, b, 1, op);
    if (changed <= 0 || a->pages_used <= a->pages_peak) {
        return changed < 0 ? -1 : 0;
    }
    a->pages_peak = a->pages_used;
    return trace_acct_look(a, opno, op);
}

/* The accounting after the free of b at op; 0 or -1 (diag). */
static int
trace_acct_free(struct trace_acct *a, const struct trace_block *b,
    const struct trace_op *op)
{
    a->live -= b->size;
    a->granted -= b->granted;
    return a->page_live ? (trace_acct_pages(a, b, -1, op) < 0 ? -1 : 0) : 0;
}

int
trace_replay_memory(const struct trace *t, struct zone *z, const unsigned char *origin,
    struct trace_replay_result *r, struct trace_memory *m)
{
    size_t (*usable)(struct zone *, void *) = z->ops->usable_size;
    const struct trace_op *op = t->ops, *end = t->ops + t->nops, *first = NULL;
    struct trace_block    *blocks = NULL, *b;
    struct trace_acct      a;
    uint64_t               t0, t1, fails = 0, frees = 0, skipped = 0;
    int                    rc = -1;

    memset(r, 0, sizeof(*r));
    if (trace_acct_init(&a, t, z, origin, m) != 0) {
        goto done;
    }
    blocks = calloc(t->nslots ? t->nslots : 1, sizeof(*blocks));
    if (blocks == NULL) {
        diag_set("%s: out of memory for %zu blocks", t->path, t->nslots);
        goto done;
    }

    t0 = clock_ns();
    for (; op < end; op++) {
        b = &blocks[op->slot & TRACE_SLOT_MAX];
        if (op->slot & TRACE_OP_FREE) {
            if (b->p == NULL) {
                skipped++;
                continue;
            }
            if (z->ops->free(z, b->p) != 0) {
                break;
            }
            frees++;
            if (trace_acct_free(&a, b, op) != 0) {
                goto done;
            }
            b->p = NULL;
        } else {
            b->p = z->ops->alloc(z, (size_t) op->size);
            if (b->p == NULL) {
                if (fails++ == 0 && trace_acct_fail(&a, op) != 0) {
                    goto done;
                }
                if (first == NULL) {
                    first = op;
                }
                continue;
            }
            b->size = op->size;
            b->granted = usable ? usable(z, b->p) : op->size;
            if (trace_acct_alloc(&a, b, op) != 0) {
                goto done;
            }
        }
    }
    t1 = clock_ns();

    r->fails = fails;
    r->frees = frees;
    r->frees_skipped = skipped;
    r->allocs = (uint64_t) (op - t->ops) - frees - skipped - fails;
    r->ns = t1 - t0;
    trace_first_fail(t, first, r);
    if (op < end) {
        trace_refused(t, z, op);
        goto done;
    }
    m->end_live = a.live;
    m->end_granted = a.granted;
    if (trace_acct_look(&a, (uint64_t) t->nops, NULL) != 0) {
        goto done;
    }
    rc = 0;
done:
    free(blocks);
    free(a.page_live);
    return rc;
}
