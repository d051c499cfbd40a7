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
        } else {
            *workload_value(p, cfg) = p->def;
        }
    }
}

char *
workload_format(const struct wl_param *p, const void *cfg, char *buf, size_t n)
{
    if (p->kind == WL_SIZES && cfg == NULL) {
        snprintf(buf, n, "%s", p->def_spec);
    } else if (p->kind == WL_SIZES) {
        sizes_spec(workload_dist_get(p, cfg), buf, n);
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
