/*
 * shdict_script: reading a dict script and running its commands
 * (shdict_script.h has the grammar).
 *
 * The file is read whole into one buffer and split in place: every word
 * becomes a NUL-terminated string inside it, so a command's KEY points into
 * the script's own storage and nothing is copied per line.  Each line is
 * checked against the command's row of one table (name, arguments, fields
 * of its output line); the same table tells the printer which fields a
 * line has.  Running a command is one call of the Lua method of the same
 * name in workloads/shdict.h, with the arguments the Lua runner passes, and
 * the reading of free_space() and #get_keys(0) that ends every line.
 */
#include "shdict_script.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/diag.h"

static const struct shdict_script_desc descs[SHS_NOPS] = {
    [SHS_SET]           = { "set", "KEY VLEN [EXPTIME]", 2, 3, 1, 0 },
    [SHS_SAFE_SET]      = { "safe_set", "KEY VLEN [EXPTIME]", 2, 3, 1, 0 },
    [SHS_ADD]           = { "add", "KEY VLEN [EXPTIME]", 2, 3, 1, 0 },
    [SHS_SAFE_ADD]      = { "safe_add", "KEY VLEN [EXPTIME]", 2, 3, 1, 0 },
    [SHS_REPLACE]       = { "replace", "KEY VLEN [EXPTIME]", 2, 3, 1, 0 },
    [SHS_INCR]          = { "incr", "KEY DELTA [INIT]", 2, 3, 1, SHS_F_VALUE },
    [SHS_GET]           = { "get", "KEY", 1, 1, 1, SHS_F_FOUND | SHS_F_VLEN },
    [SHS_DELETE]        = { "delete", "KEY", 1, 1, 1, 0 },
    [SHS_LPUSH]         = { "lpush", "KEY VLEN", 2, 2, 1, SHS_F_LEN },
    [SHS_RPUSH]         = { "rpush", "KEY VLEN", 2, 2, 1, SHS_F_LEN },
    [SHS_LPOP]          = { "lpop", "KEY", 1, 1, 1, SHS_F_FOUND | SHS_F_VLEN },
    [SHS_RPOP]          = { "rpop", "KEY", 1, 1, 1, SHS_F_FOUND | SHS_F_VLEN },
    [SHS_FLUSH_ALL]     = { "flush_all", "no arguments", 0, 0, 0, 0 },
    [SHS_FLUSH_EXPIRED] = { "flush_expired", "[MAX]", 0, 1, 0, SHS_F_FLUSHED },
    [SHS_SLEEP]         = { "sleep", "SECONDS", 1, 1, 0, 0 },
};

/* The stores' op flags in the module's numbering. */
static const enum shdict_op store_ops[] = {
    [SHS_SET] = SHDICT_SET, [SHS_SAFE_SET] = SHDICT_SAFE_SET,
    [SHS_ADD] = SHDICT_ADD, [SHS_SAFE_ADD] = SHDICT_SAFE_ADD,
    [SHS_REPLACE] = SHDICT_REPLACE,
};

#define SHS_MAX_WORDS 4          /* the command and three arguments */
#define SHS_READ_CHUNK (1u << 16)

const struct shdict_script_desc *
shdict_script_desc(unsigned op)
{
    return op < SHS_NOPS ? &descs[op] : NULL;
}

/* Parsing. */

struct shs_parser {
    struct shdict_script *s;
    uint64_t              line;
    size_t                cap;   /* room in s->cmds */
};

static int
shs_fail(struct shs_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
shs_fail(struct shs_parser *p, const char *fmt, ...)
{
    char    what[300];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    diag_set("%s:%llu: %s", p->s->path, (unsigned long long) p->line, what);
    return -1;
}

/* Digits only, at most max; 0 or -1. */
static int
shs_count(const char *w, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (*w == '\0') {
        return -1;
    }
    for (; *w; w++) {
        if (*w < '0' || *w > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t) (*w - '0');
        if (v > max) {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* An optional '-', then digits, of magnitude at most SHDICT_SCRIPT_INT_MAX. */
static int
shs_int(const char *w, int64_t *out)
{
    uint64_t v;
    int      neg = *w == '-';

    if (shs_count(w + neg, (uint64_t) SHDICT_SCRIPT_INT_MAX, &v) != 0) {
        return -1;
    }
    *out = neg ? -(int64_t) v : (int64_t) v;
    return 0;
}

/* Seconds, digits with an optional '.' and digits, at most
 * SHDICT_SCRIPT_SECS_MAX, as milliseconds truncated toward zero (what
 * LuaJIT's conversion of seconds * 1000 to an integer gives). */
static int
shs_seconds(const char *w, int64_t *ms)
{
    const char *c = w;
    double      v;

    while (*c >= '0' && *c <= '9') {
        c++;
    }
    if (c == w) {
        return -1;
    }
    if (*c == '.') {
        c++;
        if (*c < '0' || *c > '9') {
            return -1;
        }
        while (*c >= '0' && *c <= '9') {
            c++;
        }
    }
    if (*c != '\0') {
        return -1;
    }
    v = strtod(w, NULL);
    if (v > SHDICT_SCRIPT_SECS_MAX) {
        return -1;
    }
    *ms = (int64_t) (v * 1000);
    return 0;
}

static int
shs_find_op(const char *w, uint32_t *op)
{
    uint32_t i;

    for (i = 0; i < SHS_NOPS; i++) {
        if (strcmp(w, descs[i].name) == 0) {
            *op = i;
            return 0;
        }
    }
    return -1;
}

/* The arguments of a command, after its name, into c. */
static int
shs_args(struct shs_parser *p, struct shdict_script_cmd *c, char **w, unsigned n)
{
    const struct shdict_script_desc *d = &descs[c->op];
    int64_t                          ms;
    unsigned                         a = 0;

    if (d->keyed) {
        c->key = w[a++];
        c->klen = strlen(c->key);
        if (c->klen > SHDICT_KEY_MAX) {
            return shs_fail(p, "%s: the key has %zu bytes, more than the %d a dict takes",
                            d->name, c->klen, SHDICT_KEY_MAX);
        }
    }
    switch (c->op) {
    case SHS_SET: case SHS_SAFE_SET: case SHS_ADD: case SHS_SAFE_ADD:
    case SHS_REPLACE: case SHS_LPUSH: case SHS_RPUSH:
        if (shs_count(w[a], SHDICT_SCRIPT_VLEN_MAX, &c->vlen) != 0) {
            return shs_fail(p, "%s: bad VLEN '%s' (a byte count, 0 to %llu)", d->name,
                            w[a], (unsigned long long) SHDICT_SCRIPT_VLEN_MAX);
        }
        a++;
        if (a < n) {
            if (shs_seconds(w[a], &c->exptime_ms) != 0) {
                return shs_fail(p, "%s: bad EXPTIME '%s' (seconds, as digits with an "
                                "optional fraction, at most %.0f)", d->name, w[a],
                                SHDICT_SCRIPT_SECS_MAX);
            }
        }
        return 0;
    case SHS_INCR:
        if (shs_int(w[a], &c->delta) != 0) {
            return shs_fail(p, "incr: bad DELTA '%s' (an integer of magnitude at most "
                            "2^53)", w[a]);
        }
        if (++a < n) {
            if (shs_int(w[a], &c->init) != 0) {
                return shs_fail(p, "incr: bad INIT '%s' (an integer of magnitude at "
                                "most 2^53)", w[a]);
            }
            c->has_init = 1;
        }
        return 0;
    case SHS_FLUSH_EXPIRED:
        if (n > 0 && shs_count(w[0], SHDICT_SCRIPT_MAX_MAX, &c->max) != 0) {
            return shs_fail(p, "flush_expired: bad MAX '%s' (a count, 0 to %llu; 0: "
                            "all)", w[0], (unsigned long long) SHDICT_SCRIPT_MAX_MAX);
        }
        return 0;
    case SHS_SLEEP:
        if (shs_seconds(w[0], &ms) != 0) {
            return shs_fail(p, "sleep: bad SECONDS '%s' (digits with an optional "
                            "fraction, at most %.0f)", w[0], SHDICT_SCRIPT_SECS_MAX);
        }
        c->sleep_ms = (uint64_t) ms;
        return 0;
    default:
        return 0;
    }
}

/* One line, [b, e), NUL bytes not allowed; its words are cut in place. */
static int
shs_line(struct shs_parser *p, char *b, char *e)
{
    struct shdict_script_cmd *c;
    char                     *w[SHS_MAX_WORDS];
    unsigned                  n = 0;
    uint32_t                  op;
    void                     *grown;

    p->line++;
    if (memchr(b, '\0', (size_t) (e - b)) != NULL) {
        return shs_fail(p, "a NUL byte in the line");
    }
    *e = '\0';
    for (;;) {
        while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\f' || *b == '\v') {
            b++;
        }
        if (*b == '\0') {
            break;
        }
        if (n < SHS_MAX_WORDS) {
            w[n] = b;            /* more are counted, for the message */
        }
        n++;
        while (*b && *b != ' ' && *b != '\t' && *b != '\r' && *b != '\f' && *b != '\v') {
            b++;
        }
        if (*b) {
            *b++ = '\0';
        }
    }
    if (n == 0 || w[0][0] == '#') {
        return 0;
    }
    if (shs_find_op(w[0], &op) != 0) {
        return shs_fail(p, "unknown command '%s' (known: set, safe_set, add, safe_add, "
                        "replace, incr, get, delete, lpush, rpush, lpop, rpop, "
                        "flush_all, flush_expired, sleep)", w[0]);
    }
    if (n - 1 < descs[op].min_args || n - 1 > descs[op].max_args) {
        return shs_fail(p, "%s takes %s, not %u argument%s", descs[op].name,
                        descs[op].usage, n - 1, n == 2 ? "" : "s");
    }
    if (p->s->ncmds == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        grown = realloc(p->s->cmds, p->cap * sizeof(*p->s->cmds));
        if (grown == NULL) {
            return shs_fail(p, "out of memory for %zu commands", p->cap);
        }
        p->s->cmds = grown;
    }
    c = &p->s->cmds[p->s->ncmds];
    memset(c, 0, sizeof(*c));
    c->op = op;
    c->line = p->line;
    if (shs_args(p, c, w + 1, n - 1) != 0) {
        return -1;
    }
    p->s->ncmds++;
    return 0;
}

/* The whole of f into *text (NUL-terminated), its length in *len. */
static int
shs_read(struct shdict_script *s, FILE *f, size_t *len)
{
    size_t cap = 0, n;
    char  *grown;

    *len = 0;
    for (;;) {
        if (cap - *len < SHS_READ_CHUNK + 1) {
            cap = cap ? 2 * cap : SHS_READ_CHUNK + 1;
            grown = realloc(s->text, cap);
            if (grown == NULL) {
                diag_set("%s: out of memory for %zu bytes", s->path, cap);
                return -1;
            }
            s->text = grown;
        }
        n = fread(s->text + *len, 1, SHS_READ_CHUNK, f);
        *len += n;
        if (n < SHS_READ_CHUNK) {
            break;
        }
    }
    if (ferror(f)) {
        diag_set("%s: %s", s->path, strerror(errno));
        return -1;
    }
    s->text[*len] = '\0';
    return 0;
}

int
shdict_script_load(struct shdict_script *s, const char *path)
{
    struct shs_parser p;
    FILE             *f;
    size_t            len;
    char             *b, *e, *end;
    int               rc;

    memset(s, 0, sizeof(*s));
    memset(&p, 0, sizeof(p));
    p.s = s;
    s->path = strdup(path);
    if (s->path == NULL) {
        diag_set("%s: out of memory", path);
        return -1;
    }
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        diag_set("%s: %s", path, strerror(errno));
        shdict_script_free(s);
        return -1;
    }
    rc = shs_read(s, f, &len);
    if (f != stdin) {
        fclose(f);
    }
    end = s->text != NULL ? s->text + len : NULL;
    for (b = s->text; rc == 0 && b < end; b = e + 1) {
        e = memchr(b, '\n', (size_t) (end - b));
        if (e == NULL) {
            e = end;             /* the last line, without its newline */
        }
        rc = shs_line(&p, b, e);
    }
    s->lines = p.line;
    if (rc != 0) {
        shdict_script_free(s);
    }
    return rc;
}

void
shdict_script_free(struct shdict_script *s)
{
    free(s->path);
    free(s->cmds);
    free(s->text);
    memset(s, 0, sizeof(*s));
}

/* Running. */

int
shdict_script_step(struct shdict *d, const struct shdict_script_cmd *c,
    struct shdict_step *st)
{
    struct shdict_result r;
    struct shdict_value  v;
    double               init;
    int                  rc = 0;

    memset(st, 0, sizeof(*st));
    memset(&v, 0, sizeof(v));
    v.type = SHDICT_TSTRING;
    v.len = (size_t) c->vlen;    /* the dict writes its filler (str NULL) */
    switch (c->op) {
    case SHS_SET: case SHS_SAFE_SET: case SHS_ADD: case SHS_SAFE_ADD: case SHS_REPLACE:
        rc = shdict_store(d, store_ops[c->op], c->key, c->klen, &v, c->exptime_ms, 0, &r);
        st->ok = r.ret == SHDICT_RET_TRUE;
        st->forcible = r.forcible;
        break;
    case SHS_DELETE:
        rc = shdict_delete(d, c->key, c->klen, &r);
        st->ok = r.ret == SHDICT_RET_TRUE;
        break;
    case SHS_GET:
    case SHS_LPOP:
    case SHS_RPOP:
        rc = c->op == SHS_GET ? shdict_get(d, c->key, c->klen, 0, &r)
                              : shdict_pop(d, c->key, c->klen, c->op == SHS_LPOP, &r);
        st->found = r.ret != SHDICT_RET_NIL;
        st->ok = r.err == NULL;
        st->has_vlen = st->found;
        st->vlen = r.len;
        break;
    case SHS_INCR:
        init = (double) c->init;
        rc = shdict_incr(d, c->key, c->klen, (double) c->delta,
                         c->has_init ? &init : NULL, NULL, &r);
        st->ok = r.ret == SHDICT_RET_NUMBER;
        st->forcible = r.forcible;
        st->has_value = st->ok;
        st->value = (int64_t) r.num;
        break;
    case SHS_LPUSH:
    case SHS_RPUSH:
        rc = shdict_push(d, c->key, c->klen, c->op == SHS_LPUSH, &v, &r);
        st->ok = r.ret == SHDICT_RET_NUMBER;
        st->has_len = st->ok;
        st->len = (uint64_t) r.num;
        break;
    case SHS_FLUSH_ALL:
        rc = shdict_flush_all(d, &r);
        st->ok = 1;
        break;
    case SHS_FLUSH_EXPIRED:
        rc = shdict_flush_expired(d, (int) c->max, &r);
        st->ok = 1;
        st->flushed = (uint64_t) r.num;
        break;
    case SHS_SLEEP:
        shdict_clock_advance(d, c->sleep_ms);
        memset(&r, 0, sizeof(r));
        st->ok = 1;
        break;
    default:
        diag_set("shdict_script_step(): no command %u", c->op);
        return -1;
    }
    if (rc != 0) {
        return -1;
    }
    st->err = r.err;
    st->free_space = shdict_free_space(d);
    if (shdict_get_keys(d, 0, &r) != 0) {
        return -1;
    }
    st->keys = (uint64_t) r.num;
    return 0;
}
