/*
 * test_wl_trace: the trace workload and the parameter kinds it brought
 * (text and word), in one process, without the master.
 *
 * The kinds: a text parameter defaults to "" when it has none, holds up to
 * WL_TEXT_MAX - 1 bytes and refuses more (or nothing) with the value left
 * as it was; a word parameter keeps the index of its word, formats back
 * to the word and refuses others, naming the list; numbers are not text.
 * The workload's check() wants its file, in the words that name the bare
 * form.  Then a seven-line trace, written here, is replayed over slab and
 * tlsf by "workers" called one after another on one zone with a driver
 * context whose barrier returns at once: in split mode over 3 workers,
 * each worker's counts are exactly its slots' share (worked out by hand
 * below), in each mode 2 passes give the ops of two replays plus the frees
 * of what the first left live, and the zone checks afterwards.  A free the
 * allocator refuses stops the worker with the trace's FILE:LINE and ID.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"
#include "testutil.h"
#include "workload.h"

/* The configuration's space (trace's holds a WL_TEXT_MAX path). */
static uint64_t test_cfg[(WL_TEXT_MAX + 4096) / 8];

static void
test_ready(struct wl_ctx *c)
{
    c->cnt->ops = 0;
}

static void
test_kinds(void)
{
    const struct workload *w = workload_find("trace");
    const struct wl_param *file, *mode, *passes;
    char                   buf[WL_TEXT_MAX + 2];

    CHECK(w != NULL && w->cfg_size <= sizeof(test_cfg), "trace missing or too big");
    if (w == NULL || w->cfg_size > sizeof(test_cfg)) {
        return;
    }
    file = workload_param(w, "file");
    mode = workload_param(w, "mode");
    passes = workload_param(w, "passes");
    CHECK(file && mode && passes && file->kind == WL_TEXT && mode->kind == WL_CHOICE
          && strcmp(w->bare, "file") == 0, "trace's parameters");
    memset(test_cfg, 0xff, sizeof(test_cfg));
    workload_defaults(w, test_cfg);
    CHECK(strcmp(workload_format(file, test_cfg, buf, sizeof(buf)), "") == 0
          && strcmp(workload_format(file, NULL, buf, sizeof(buf)), "") == 0,
          "file's default is \"%s\"", buf);
    CHECK(strcmp(workload_format(mode, test_cfg, buf, sizeof(buf)), "each") == 0
          && workload_get(mode, test_cfg) == 0 && workload_get(passes, test_cfg) == 0,
          "mode's default is %s", buf);
    CHECK(w->check(test_cfg, 1) == -1
          && diag_is("trace: file is required (--workload trace:FILE, or trace:file=FILE)"),
          "no file accepted");
    CHECK(workload_set_text(mode, test_cfg, "split") == 0 && workload_get(mode, test_cfg) == 1
          && strcmp(workload_format(mode, test_cfg, buf, sizeof(buf)), "split") == 0,
          "mode=split is %s", buf);
    CHECK(workload_set_text(mode, test_cfg, "spli") == -1
          && diag_is("'spli' is not one of each, split") && workload_get(mode, test_cfg) == 1,
          "mode=spli accepted, or it changed the value");
    CHECK(workload_set_text(mode, test_cfg, "each|split") == -1, "the list taken as a word");
    memset(buf, 'x', WL_TEXT_MAX - 1);
    buf[WL_TEXT_MAX - 1] = '\0';
    CHECK(workload_set_text(file, test_cfg, buf) == 0
          && strlen(workload_text(file, test_cfg)) == WL_TEXT_MAX - 1,
          "a file of %u bytes refused: %s", WL_TEXT_MAX - 1, diag_last());
    CHECK(w->check(test_cfg, 1) == 0, "a file given, still refused: %s", diag_last());
    buf[WL_TEXT_MAX - 1] = 'x';
    buf[WL_TEXT_MAX] = '\0';
    CHECK(workload_set_text(file, test_cfg, buf) == -1
          && diag_is("a value of %u bytes is longer than the %u that file= holds",
                     WL_TEXT_MAX, WL_TEXT_MAX - 1)
          && strlen(workload_text(file, test_cfg)) == WL_TEXT_MAX - 1,
          "a file of %u bytes accepted, or it changed the value", WL_TEXT_MAX);
    CHECK(workload_set_text(file, test_cfg, "") == -1 && diag_is("the value is empty"),
          "an empty file accepted");
    CHECK(workload_set_text(passes, test_cfg, "3") == -1 && !workload_kind_is_text(WL_COUNT)
          && workload_kind_is_text(WL_SIZES) && workload_kind_is_text(WL_TEXT)
          && workload_kind_is_text(WL_CHOICE), "which kinds are text");
    CHECK(w->needs == NULL, "trace asks something of the allocator");
}

/* The trace: IDs 10, 11, 12, 13 get slots 0, 1, 2, 3 (in order of first
 * use); 11 is allocated again after its free and keeps its slot. */
static const char test_trace[] =
    "# seven ops\n"
    "pages 4\n"
    "a 10 100\n"
    "a 11 200\n"
    "a 12 300\n"
    "f 11\n"
    "a 13 50\n"
    "f 10\n"
    "a 11 70\n";

/* Worker w of n, as test_prepare configured the workload, over zone z;
 * its counters in *k; the run's result. */
static int
test_worker(struct zone *z, const struct allocator_ops *ops, unsigned w, unsigned n,
    struct wl_counters *k)
{
    _Atomic unsigned stop = 0;
    struct wl_ctx    c;

    memset(&c, 0, sizeof(c));
    memset(k, 0, sizeof(*k));
    c.zone = z;
    c.ops = ops;
    c.cfg = test_cfg;
    c.worker = w;
    c.nworkers = n;
    c.seed = 1;
    c.stop = &stop;
    c.cnt = k;
    c.ready = test_ready;
    return workload_find("trace")->run(&c);
}

/* The trace workload configured (path, mode, passes) and prepared. */
static int
test_prepare(const char *path, const char *mode, uint64_t passes, unsigned n)
{
    const struct workload *w = workload_find("trace");

    workload_defaults(w, test_cfg);
    if (workload_set_text(workload_param(w, "file"), test_cfg, path) != 0
        || workload_set_text(workload_param(w, "mode"), test_cfg, mode) != 0)
    {
        return -1;
    }
    *workload_value(workload_param(w, "passes"), test_cfg) = passes;
    return w->check(test_cfg, n) == 0 ? w->prepare(test_cfg, 1, n) : -1;
}

static void
test_replay(const struct allocator_ops *ops, const char *path)
{
    /* split over 3: slots 0 and 3 (a 10, a 13, f 10), slot 1 (a 11, f 11,
     * a 11), slot 2 (a 12); allocs, frees, held blocks, held bytes */
    static const uint64_t want[3][4] = { { 2, 1, 1, 50 }, { 2, 1, 1, 70 }, { 1, 0, 1, 300 } };
    const struct workload *w = workload_find("trace");
    struct wl_counters     k;
    struct zone            z;
    unsigned               i;

    if (allocator_zone_create(&z, ops, ZONE_ANON, 4u << 20, 0, NULL, NULL) != 0) {
        CHECK(0, "%s: zone: %s", ops->name, diag_last());
        return;
    }
    CHECK(test_prepare(path, "split", 1, 3) == 0, "prepare: %s", diag_last());
    for (i = 0; i < 3; i++) {
        CHECK(test_worker(&z, ops, i, 3, &k) == 0, "split worker %u: %s", i, diag_last());
        CHECK(k.allocs == want[i][0] && k.frees == want[i][1] && k.fails == 0
              && k.held_blocks == want[i][2] && k.held_bytes == want[i][3]
              && k.live_blocks == k.held_blocks && k.live_bytes == k.held_bytes
              && k.ops == k.allocs + k.frees,
              "%s split worker %u: %llu allocs, %llu frees, %llu held (%llu bytes)",
              ops->name, i, (unsigned long long) k.allocs, (unsigned long long) k.frees,
              (unsigned long long) k.held_blocks, (unsigned long long) k.held_bytes);
    }
    w->release(test_cfg);
    /* each, 2 passes: 5 + 5 allocations, 2 + 2 frees and the 3 blocks the
     * first pass left; the second pass's 3 blocks held */
    CHECK(test_prepare(path, "each", 2, 1) == 0, "prepare: %s", diag_last());
    CHECK(test_worker(&z, ops, 0, 1, &k) == 0, "each: %s", diag_last());
    CHECK(k.allocs == 10 && k.frees == 7 && k.ops == 17 && k.held_blocks == 3
          && k.held_bytes == 420 && k.live_bytes == 420,
          "%s each, 2 passes: %llu allocs, %llu frees, %llu held", ops->name,
          (unsigned long long) k.allocs, (unsigned long long) k.frees,
          (unsigned long long) k.held_blocks);
    w->release(test_cfg);
    CHECK(ops->check(&z, stderr) == 0, "%s: check after the replays: %s", ops->name,
          diag_last());
    zone_destroy(&z);
}

/* tlsf, with every free refused. */
static int
test_refuse_free(struct zone *z, void *p)
{
    (void) z;
    (void) p;
    diag_set("refused by the test");
    return -1;
}

static void
test_refused(const char *path)
{
    struct allocator_ops ops = *allocator_find("tlsf");
    struct wl_counters   k;
    struct zone          z;
    char                 want[600];

    ops.free = test_refuse_free;
    if (allocator_zone_create(&z, &ops, ZONE_ANON, 4u << 20, 0, NULL, NULL) != 0) {
        CHECK(0, "zone: %s", diag_last());
        return;
    }
    CHECK(test_prepare(path, "each", 1, 1) == 0, "prepare: %s", diag_last());
    snprintf(want, sizeof(want), "trace: worker 0: %s:6: free of ID 11 refused: refused by "
             "the test", path);
    CHECK(test_worker(&z, &ops, 0, 1, &k) == -1 && strcmp(diag_last(), want) == 0,
          "a refused free: %s", diag_last());
    workload_find("trace")->release(test_cfg);
    zone_destroy(&z);
}

static void
test_bad_traces(const char *dir)
{
    char  path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/bad.trace", dir);
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("a 1 8\nf 1\nf 1\n", f);
        fclose(f);
    }
    CHECK(test_prepare(path, "each", 0, 1) == -1
          && diag_is("%s:3: f of ID 1, which was already freed at line 2", path),
          "a double free in the trace: %s", diag_last());
    snprintf(path, sizeof(path), "%s/empty.trace", dir);
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("# none\n", f);
        fclose(f);
    }
    CHECK(test_prepare(path, "each", 0, 1) == -1 && diag_is("%s: no allocation to replay", path),
          "a trace of no allocation: %s", diag_last());
}

int
main(void)
{
    char  dir[] = "/tmp/test_wl_trace.XXXXXX", path[512];
    FILE *f;

    test_kinds();
    if (mkdtemp(dir) == NULL) {
        CHECK(0, "mkdtemp failed");
        return test_summary("test_wl_trace");
    }
    snprintf(path, sizeof(path), "%s/t.trace", dir);
    f = fopen(path, "w");
    CHECK(f != NULL && fputs(test_trace, f) >= 0 && fclose(f) == 0, "writing %s", path);
    test_replay(allocator_find("slab"), path);
    test_replay(allocator_find("tlsf"), path);
    test_refused(path);
    test_bad_traces(dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/bad.trace", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/empty.trace", dir);
    unlink(path);
    rmdir(dir);
    return test_summary("test_wl_trace");
}
