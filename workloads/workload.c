/*
 * workload: the registry of workloads, their parameter tables, and the
 * counting that every workload shares (workload.h says what a workload is).
 *
 * The counting helpers are the one place where an op becomes counts, so
 * that every workload means the same by ops, live, granted and fill at the
 * first failure.
 */
#include "workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "substrate/diag.h"

extern const struct workload wl_churn;
extern const struct workload wl_fill;
extern const struct workload wl_larson;
extern const struct workload wl_threadtest;
extern const struct workload wl_shbench;
extern const struct workload wl_xmalloc;
extern const struct workload wl_mstress;
extern const struct workload wl_phase;
extern const struct workload wl_lua_dict;
extern const struct workload wl_limit_req;
extern const struct workload wl_ssl_cache;
extern const struct workload wl_trace;

/* Listing order.  A new workload adds its table here. */
static const struct workload *const workloads[] = {
    &wl_churn,
    &wl_fill,
    &wl_larson,
    &wl_threadtest,
    &wl_shbench,
    &wl_xmalloc,
    &wl_mstress,
    &wl_phase,
    &wl_lua_dict,
    &wl_limit_req,
    &wl_ssl_cache,
    &wl_trace,
};

#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

const struct workload *const *
workload_all(size_t *n)
{
    *n = NWORKLOADS;
    return workloads;
}

const struct workload *
workload_find(const char *name)
{
    char   names[512];
    size_t i, used = 0;

    names[0] = '\0';
    for (i = 0; i < NWORKLOADS; i++) {
        if (strcmp(workloads[i]->name, name) == 0) {
            return workloads[i];
        }
        if (used < sizeof(names)) {     /* snprintf says what it would have written */
            used += (size_t) snprintf(names + used, sizeof(names) - used, "%s%s",
                                      i ? ", " : "", workloads[i]->name);
        }
    }
    diag_set("unknown workload '%s' (known: %s)", name, names);
    return NULL;
}

const struct wl_param *
workload_param(const struct workload *w, const char *name)
{
    unsigned i;

    for (i = 0; i < w->nparams; i++) {
        if (strcmp(w->params[i].name, name) == 0) {
            return &w->params[i];
        }
    }
    return NULL;
}

uint64_t *
workload_value(const struct wl_param *p, void *cfg)
{
    return (uint64_t *) ((char *) cfg + p->offset);
}

uint64_t
workload_get(const struct wl_param *p, const void *cfg)
{
    return *(const uint64_t *) ((const char *) cfg + p->offset);
}

struct size_dist *
workload_dist(const struct wl_param *p, void *cfg)
{
    return (struct size_dist *) ((char *) cfg + p->offset);
}

const struct size_dist *
workload_dist_get(const struct wl_param *p, const void *cfg)
{
    return (const struct size_dist *) ((const char *) cfg + p->offset);
}

int
workload_set_sizes(const struct wl_param *p, void *cfg, const char *text)
{
    return sizes_parse(text, workload_dist(p, cfg));
}

const char *
workload_text(const struct wl_param *p, const void *cfg)
{
    return (const char *) cfg + p->offset;
}

int
workload_kind_is_text(enum wl_kind k)
{
    return k == WL_SIZES || k == WL_TEXT || k == WL_CHOICE;
}

/* The index of `word` in a WL_CHOICE's list (def_spec, '|'-separated), or
 * -1. */
static int
workload_word(const struct wl_param *p, const char *word)
{
    const char *s = p->def_spec, *bar;
    size_t      n = strlen(word);
    int         i;

    for (i = 0; s != NULL; i++) {
        bar = strchr(s, '|');
        if ((bar ? (size_t) (bar - s) : strlen(s)) == n && strncmp(s, word, n) == 0) {
            return i;
        }
        s = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* The words of a WL_CHOICE as a list for messages: "each, split". */
static char *
workload_words(const struct wl_param *p, char *buf, size_t n)
{
    size_t i, k = 0;

    for (i = 0; p->def_spec[i] != '\0' && k + 3 < n; i++) {
        if (p->def_spec[i] == '|') {
            buf[k++] = ',';
            buf[k++] = ' ';
        } else {
            buf[k++] = p->def_spec[i];
        }
    }
    buf[k] = '\0';
    return buf;
}

int
workload_set_text(const struct wl_param *p, void *cfg, const char *text)
{
    size_t n = strlen(text);
    char   words[256];
    int    i;

    switch (p->kind) {
    case WL_SIZES:
        return workload_set_sizes(p, cfg, text);
    case WL_TEXT:
        if (n == 0 || n >= WL_TEXT_MAX) {
            if (n == 0) {
                diag_set("the value is empty");
            } else {
                diag_set("a value of %zu bytes is longer than the %u that %s= holds", n,
                         WL_TEXT_MAX - 1, p->name);
            }
            return -1;
        }
        memcpy((char *) cfg + p->offset, text, n + 1);
        return 0;
    case WL_CHOICE:
        i = workload_word(p, text);
        if (i < 0) {
            diag_set("'%s' is not one of %s", text, workload_words(p, words, sizeof(words)));
            return -1;
        }
        *workload_value(p, cfg) = (uint64_t) i;
        return 0;
    default:
        diag_set("%s is a number, not text", p->name);
        return -1;
    }
}

int
workload_check_given(const struct workload *w, const char *name, const void *cfg)
{
    const struct wl_param *p = workload_param(w, name);
    char                   up[32];
    size_t                 i;

    if (p != NULL && workload_text(p, cfg)[0] != '\0') {
        return 0;
    }
    for (i = 0; name[i] != '\0' && i + 1 < sizeof(up); i++) {
        up[i] = name[i] >= 'a' && name[i] <= 'z' ? (char) (name[i] - 'a' + 'A') : name[i];
    }
    up[i] = '\0';
    if (w->bare != NULL && strcmp(w->bare, name) == 0) {
        diag_set("%s: %s is required (--workload %s:%s, or %s:%s=%s)", w->name, name,
                 w->name, up, w->name, name, up);
    } else {
        diag_set("%s: %s is required (--workload %s:%s=%s)", w->name, name, w->name, name,
                 up);
    }
    return -1;
}

void
workload_defaults(const struct workload *w, void *cfg)
{
    const struct wl_param *p;
    unsigned               i;

    memset(cfg, 0, w->cfg_size);
    for (i = 0; i < w->nparams; i++) {
        p = &w->params[i];
        if (p->kind == WL_SIZES) {
            /* A default that does not parse is the table's bug: the
             * registry test parses every one. */
            (void) workload_set_sizes(p, cfg, p->def_spec);
        } else if (p->kind == WL_TEXT) {
            /* No default: the array stays "" (memset above). */
            if (p->def_spec != NULL) {
                (void) workload_set_text(p, cfg, p->def_spec);
            }
        } else {
            *workload_value(p, cfg) = p->def;
        }
    }
}

/* Word i of a WL_CHOICE's list into buf ("" if there is none). */
static char *
workload_word_at(const struct wl_param *p, uint64_t i, char *buf, size_t n)
{
    const char *s = p->def_spec, *bar;

    for (; s != NULL && i > 0; i--) {
        bar = strchr(s, '|');
        s = bar ? bar + 1 : NULL;
    }
    bar = s ? strchr(s, '|') : NULL;
    snprintf(buf, n, "%.*s", s ? (int) (bar ? (size_t) (bar - s) : strlen(s)) : 0,
             s ? s : "");
    return buf;
}

char *
workload_format(const struct wl_param *p, const void *cfg, char *buf, size_t n)
{
    if (p->kind == WL_SIZES && cfg == NULL) {
        snprintf(buf, n, "%s", p->def_spec);
    } else if (p->kind == WL_SIZES) {
        sizes_spec(workload_dist_get(p, cfg), buf, n);
    } else if (p->kind == WL_TEXT) {
        snprintf(buf, n, "%s", cfg ? workload_text(p, cfg) : p->def_spec ? p->def_spec : "");
    } else if (p->kind == WL_CHOICE) {
        workload_word_at(p, cfg ? workload_get(p, cfg) : p->def, buf, n);
    } else {
        snprintf(buf, n, "%llu", (unsigned long long) (cfg ? workload_get(p, cfg) : p->def));
    }
    return buf;
}

void
workload_print_param(FILE *out, const struct wl_param *p)
{
    char def[96], val[64];

    snprintf(def, sizeof(def), "%s=%s", p->name, workload_format(p, NULL, val, sizeof(val)));
    if (p->kind == WL_SIZES) {
        fprintf(out, "      %-16s %s (" SIZES_KINDS "): %s\n", def,
                workload_kind_name(p->kind), p->help);
    } else if (p->kind == WL_TEXT) {
        fprintf(out, "      %-16s %s of at most %u bytes%s: %s\n", def,
                workload_kind_name(p->kind), WL_TEXT_MAX - 1,
                p->def_spec ? "" : ", required (no default)", p->help);
    } else if (p->kind == WL_CHOICE) {
        fprintf(out, "      %-16s %s, one of %s: %s\n", def, workload_kind_name(p->kind),
                workload_words(p, val, sizeof(val)), p->help);
    } else {
        fprintf(out, "      %-16s %s, %llu to %llu: %s\n", def, workload_kind_name(p->kind),
                (unsigned long long) p->min, (unsigned long long) p->max, p->help);
    }
}

int
workload_check_sizes(const char *wl, const char *name, const struct size_dist *d)
{
    char spec[64];

    if (sizes_min(d) < 1 || (!sizes_unbounded(d) && sizes_max(d) > UINT32_MAX)) {
        diag_set("%s: %s=%s draws requests outside 1 to %u bytes", wl, name,
                 sizes_spec(d, spec, sizeof(spec)), UINT32_MAX);
        return -1;
    }
    return 0;
}

const char *
workload_kind_name(enum wl_kind k)
{
    switch (k) {
    case WL_BYTES:   return "bytes";
    case WL_PERCENT: return "percent";
    case WL_SIZES:   return "size distribution";
    case WL_TEXT:    return "text";
    case WL_CHOICE:  return "word";
    default:         return "count";
    }
}

uint64_t
workload_worker_seed(uint64_t seed, unsigned w)
{
    return prng_mix(seed ^ prng_mix((uint64_t) w + 1));
}

/* ---- counting ---- */

/* A block leaves the worker's live set. */
static void
wl_unlive(struct wl_counters *k, uint64_t size, uint64_t granted)
{
    wl_sub(&k->live_blocks, 1);
    wl_sub(&k->live_bytes, size);
    wl_sub(&k->granted_bytes, granted);
}

void *
wl_alloc(struct wl_ctx *c, size_t size, uint64_t *granted)
{
    struct wl_counters *k = c->cnt;
    uint64_t            t0 = wl_lat_start(c, WL_OP_ALLOC);
    void               *p = c->ops->alloc(c->zone, size);
    uint64_t            g;

    if (p == NULL) {
        /* A failed allocation is not an op: its time is not recorded, so
         * that the histograms count the ops column exactly. */
        wl_add(&k->fails, 1);
        if (k->first_fail_op == 0) {
            k->fill_at_fail = k->live_bytes;
            k->first_fail_op = k->ops + k->fails;
        }
        *granted = 0;
        return NULL;
    }
    wl_lat_stop(c, WL_OP_ALLOC, t0);
    g = c->ops->usable_size ? c->ops->usable_size(c->zone, p) : size;
    wl_add(&k->ops, 1);
    wl_add(&k->allocs, 1);
    wl_add(&k->live_blocks, 1);
    wl_add(&k->live_bytes, size);
    wl_add(&k->granted_bytes, g);
    if (k->live_bytes > k->peak_live) {
        __atomic_store_n(&k->peak_live, k->live_bytes, __ATOMIC_RELAXED);
    }
    *granted = g;
    return p;
}

int
wl_free(struct wl_ctx *c, void *p, uint64_t size, uint64_t granted)
{
    struct wl_counters *k = c->cnt;
    uint64_t            t0 = wl_lat_start(c, WL_OP_FREE);

    if (c->ops->free(c->zone, p) != 0) {
        return -1;
    }
    wl_lat_stop(c, WL_OP_FREE, t0);
    wl_add(&k->ops, 1);
    wl_add(&k->frees, 1);
    wl_unlive(k, size, granted);
    return 0;
}

void
wl_give(struct wl_ctx *c, uint64_t size, uint64_t granted)
{
    wl_unlive(c->cnt, size, granted);
    wl_add(&c->cnt->handed_off, 1);
}

int
wl_free_remote(struct wl_ctx *c, void *p)
{
    uint64_t t0 = wl_lat_start(c, WL_OP_FREE);

    if (c->ops->free(c->zone, p) != 0) {
        return -1;
    }
    wl_lat_stop(c, WL_OP_FREE, t0);
    wl_add(&c->cnt->ops, 1);
    wl_add(&c->cnt->frees, 1);
    wl_add(&c->cnt->remote_frees, 1);
    return 0;
}

void
wl_recount(struct wl_ctx *c, uint64_t blocks, uint64_t bytes)
{
    __atomic_store_n(&c->cnt->t_end, clock_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&c->cnt->held_blocks, blocks, __ATOMIC_RELAXED);
    __atomic_store_n(&c->cnt->held_bytes, bytes, __ATOMIC_RELAXED);
}

int
wl_blocks_make(struct wl_ctx *c, struct wl_blocks *b, uint64_t cap, const char *who)
{
    memset(b, 0, sizeof(*b));
    b->p = calloc(cap, sizeof(*b->p));
    b->size = calloc(cap, sizeof(*b->size));
    b->granted = calloc(cap, sizeof(*b->granted));
    if (b->p == NULL || b->size == NULL || b->granted == NULL) {
        free(b->p);
        free(b->size);
        free(b->granted);
        memset(b, 0, sizeof(*b));
        diag_set("%s: worker %u: out of memory for %llu slots", who, c->worker,
                 (unsigned long long) cap);
        return -1;
    }
    b->cap = cap;
    return 0;
}

void
wl_blocks_done(struct wl_ctx *c, struct wl_blocks *b)
{
    uint64_t i, blocks = 0, bytes = 0;

    for (i = 0; i < b->n; i++) {
        blocks += b->p[i] != NULL;
        bytes += b->p[i] != NULL ? b->size[i] : 0;
    }
    wl_recount(c, blocks, bytes);
    free(b->p);
    free(b->size);
    free(b->granted);
    memset(b, 0, sizeof(*b));
}
