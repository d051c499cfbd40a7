/*
 * test_trace: the trace parser maps IDs to dense slots (direct map and hash
 * table alike, across the hash-to-direct migration), tracks liveness,
 * reports every malformed line with its number (a NUL byte as such, bytes
 * that are not printable escaped), reads files across its buffer boundaries
 * exactly as it parses memory, takes lines of TRACE_LINE_MAX bytes and no
 * longer from a file and from memory alike, and replays over the slab.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "substrate/allocator.h"
#include "registry.h"
#include "substrate/diag.h"
#include "testutil.h"
#include "trace.h"

static int
parse(struct trace *t, const char *text)
{
    return trace_parse_mem(t, "t", text, strlen(text));
}

/* The parse of the `len` bytes at `text` fails with exactly `msg`. */
static void
expect_error_len(const char *text, size_t len, const char *msg)
{
    struct trace t;
    int          rc = trace_parse_mem(&t, "t", text, len);

    CHECK(rc == -1, "'%s' was accepted", text);
    CHECK(strcmp(diag_last(), msg) == 0, "'%s': got \"%s\", want \"%s\"", text,
          diag_last(), msg);
    CHECK(t.ops == NULL && t.nops == 0, "failed parse left ops");
    trace_free(&t);
}

/* The parse of the string `text` fails with exactly `msg`. */
static void
expect_error(const char *text, const char *msg)
{
    expect_error_len(text, strlen(text), msg);
}

static void
test_basic(void)
{
    struct trace t;

    CHECK(parse(&t, "# c\n\npagesize 16384\r\n  pages 7\na 5 0\n\ta 18446744073709551615 9\n"
                    "f 5\na 5 3\nf 18446744073709551615\n# end") == 0, "%s", diag_last());
    CHECK(t.page_size == 16384 && t.page_size_line == 3, "pagesize");
    CHECK(t.pages == 7 && t.pages_line == 4, "pages");
    CHECK(t.nops == 5 && t.nallocs == 3 && t.nfrees == 2, "counts %zu", t.nops);
    CHECK(t.nslots == 2 && t.ids[0] == 5 && t.ids[1] == UINT64_MAX, "slots");
    CHECK(t.max_live == 2 && t.first_op_line == 5 && t.lines == 10, "live/lines");
    CHECK(t.ops[0].slot == 0 && t.ops[0].size == 0 && t.ops[0].line == 5, "op0");
    CHECK(t.ops[2].slot == (0 | TRACE_OP_FREE) && t.ops[2].line == 7, "op2");
    CHECK(t.ops[3].slot == 0 && t.ops[3].size == 3, "reuse keeps the slot");
    trace_free(&t);

    CHECK(parse(&t, "") == 0 && t.nops == 0 && t.first_op_line == 1, "empty");
    trace_free(&t);
}

static void
test_errors(void)
{
    expect_error("pages 4\nx 1\n",
                 "t:2: unknown op 'x' (expected a, f, pages, pagesize or #)");
    expect_error("pages 4\nalloc 1 2\n",
                 "t:2: unknown op 'alloc' (expected a, f, pages, pagesize or #)");
    expect_error("a 1\n", "t:1: missing SIZE: expected 'a ID SIZE'");
    expect_error("a\n", "t:1: missing ID: expected 'a ID SIZE'");
    expect_error("f\n", "t:1: missing ID: expected 'f ID'");
    expect_error("pages\n", "t:1: missing N: expected 'pages N'");
    expect_error("a 1 2 3\n", "t:1: extra field '3': expected 'a ID SIZE'");
    expect_error("a 1 2 # no\n", "t:1: extra field '#': expected 'a ID SIZE'");
    expect_error("a 1 -2\n", "t:1: SIZE '-2' is not a decimal number");
    expect_error("a 0x1 2\n", "t:1: ID '0x1' is not a decimal number");
    expect_error("a 18446744073709551616 2\n",
                 "t:1: ID '18446744073709551616' does not fit in 64 bits");
    expect_error("a 1 99999999999999999999999\n",
                 "t:1: SIZE '99999999999999999999999' does not fit in 64 bits");
    expect_error("a 1 8\n\na 1 8\n",
                 "t:3: a of ID 1, which is still live (allocated at line 1)");
    expect_error("f 3\n", "t:1: f of ID 3, which was never allocated");
    expect_error("a 3 1\nf 3\nf 3\n", "t:3: f of ID 3, which was already freed at line 2");
    expect_error("a 1 8\npages 4\n", "t:2: 'pages' after the first op (line 1)");
    expect_error("pages 4\npages 4\n", "t:2: second 'pages' line (the first is line 1)");
    expect_error("pages 0\n", "t:1: pages must be at least 1");
    expect_error("pages 4\npagesize 4096\n",
                 "t:2: 'pagesize' after 'pages' (line 1): it must come first");
    expect_error("a 1 8\npagesize 4096\n", "t:2: 'pagesize' after the first op (line 1)");
    expect_error("pagesize 4096\npagesize 4096\n",
                 "t:2: second 'pagesize' line (the first is line 1)");
    expect_error("pagesize 5000\n", "t:1: pagesize 5000 is not a power of two");
    expect_error("pagesize 0\n", "t:1: pagesize 0 is not a power of two");
    expect_error("a 1 123456789012345678901234567890123456789012345678901234567890x\n",
                 "t:1: SIZE '1234567890123456789012345678901234567890...' "
                 "is not a decimal number");
}

/* A NUL byte is named as such, wherever it is, not taken for the end of a
 * field; bytes that are not printable ASCII are quoted escaped. */
static void
test_bytes(void)
{
    static const char nul_size[] = "pages 4\na 1 8\0 9\n";
    static const char nul_comment[] = "# a\0b\n";
    static const char nul_op[] = "\0\n";
    char              many[64], want[300], *w = want;
    int               i;

    expect_error_len(nul_size, sizeof(nul_size) - 1,
                     "t:2: line holds a NUL byte (at byte 6): a trace is text");
    expect_error_len(nul_comment, sizeof(nul_comment) - 1,
                     "t:1: line holds a NUL byte (at byte 4): a trace is text");
    expect_error_len(nul_op, sizeof(nul_op) - 1,
                     "t:1: line holds a NUL byte (at byte 1): a trace is text");

    expect_error("pages 4\n\x1b[31mred 1\n",
                 "t:2: unknown op '\\x1b[31mred' (expected a, f, pages, pagesize or #)");
    expect_error("a 1 8\x01\n", "t:1: SIZE '8\\x01' is not a decimal number");
    expect_error("a 1 8\nf 1 \xc3\xa9\n",
                 "t:2: extra field '\\xc3\\xa9': expected 'f ID'");
    expect_error("a \\1 8\n", "t:1: ID '\\\\1' is not a decimal number");
    expect_error("a 1 8\vx\n", "t:1: SIZE '8\\x0bx' is not a decimal number");

    /* 45 unprintable bytes: the first 40 shown, each escaped, then "...". */
    memset(many, 0x7f, 45);
    many[45] = '\n';
    many[46] = '\0';
    w += sprintf(w, "t:1: unknown op '");
    for (i = 0; i < 40; i++) {
        w += sprintf(w, "\\x7f");
    }
    sprintf(w, "...' (expected a, f, pages, pagesize or #)");
    expect_error(many, want);
}

/*
 * "pages 1\n", then line 2 of `len` bytes ('#' and x's), with its newline
 * and an op after it, or last without a newline.
 */
static char *
long_line(size_t len, int last, size_t *n)
{
    char *buf = malloc(len + 32);

    memcpy(buf, "pages 1\n#", 9);
    memset(buf + 9, 'x', len - 1);
    *n = 8 + len;
    if (!last) {
        memcpy(buf + *n, "\na 1 8\n", 7);
        *n += 7;
    }
    return buf;
}

/* Lines of TRACE_LINE_MAX bytes load, from a file and from memory, whether
 * a newline ends them or not; one byte more is refused with the limit. */
static void
test_line_max(void)
{
    struct trace t;
    char         path[] = "/tmp/test_trace.XXXXXX", want[300], *buf;
    size_t       len, n;
    int          fd, last, rc;

    fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    for (len = TRACE_LINE_MAX - 1; len <= TRACE_LINE_MAX + 1; len++) {
        for (last = 0; last <= 1; last++) {
            buf = long_line(len, last, &n);
            CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, buf, n, 0) == (ssize_t) n, "write");

            rc = trace_load(&t, path);
            if (len <= TRACE_LINE_MAX) {
                CHECK(rc == 0 && t.lines == 3 - (size_t) last, "line of %zu bytes%s: %s",
                      len, last ? " (last)" : "", rc ? diag_last() : "");
            } else {
                snprintf(want, sizeof(want), "%s:2: line longer than 1048576 bytes", path);
                CHECK(rc == -1 && strcmp(diag_last(), want) == 0,
                      "line of %zu bytes%s: got \"%s\"", len, last ? " (last)" : "",
                      rc ? diag_last() : "accepted");
            }
            trace_free(&t);

            rc = trace_parse_mem(&t, "m", buf, n);
            if (len <= TRACE_LINE_MAX) {
                CHECK(rc == 0, "in memory, line of %zu bytes: %s", len, diag_last());
            } else {
                CHECK(rc == -1 && strcmp(diag_last(), "m:2: line longer than 1048576 bytes")
                      == 0, "in memory, line of %zu bytes: \"%s\"", len,
                      rc ? diag_last() : "accepted");
            }
            trace_free(&t);
            free(buf);
        }
    }
    close(fd);
    unlink(path);
}

/*
 * Sparse IDs first go to the hash table; once enough slots exist the direct
 * map grows over them and they must move without losing liveness.
 */
static void
test_id_maps(void)
{
    struct trace t;
    char        *buf, *p;
    size_t       i, n = 20000, cap = 64 * n + 256;

    buf = malloc(cap);
    p = buf;
    p += sprintf(p, "a 60000 1\na 18000000000000000000 2\n");
    for (i = 0; i < n; i++) {
        p += sprintf(p, "a %zu 8\n", i);
    }
    /* 60000 is now inside the direct map; still live, freed once. */
    p += sprintf(p, "f 60000\nf 18000000000000000000\n");
    for (i = 0; i < n; i += 2) {
        p += sprintf(p, "f %zu\n", i);
    }
    for (i = 0; i < n; i += 2) {
        p += sprintf(p, "a %zu 16\n", i);
    }
    CHECK(trace_parse_mem(&t, "m", buf, (size_t) (p - buf)) == 0, "%s", diag_last());
    CHECK(t.nslots == n + 2, "slots %zu", t.nslots);
    CHECK(t.nops == 2 + n + 2 + n, "ops %zu", t.nops);
    CHECK(t.ids[0] == 60000 && t.ids[1] == 18000000000000000000ull, "ids");
    CHECK(t.ops[n + 2].slot == (0 | TRACE_OP_FREE), "60000 keeps slot 0");
    CHECK(t.ops[t.nops - 1].slot == (uint32_t) (n - 2 + 2), "reused slot");
    CHECK(t.max_live == n + 2, "max live %zu", t.max_live);
    trace_free(&t);

    p += sprintf(p, "f 60000\n");
    CHECK(trace_parse_mem(&t, "m", buf, (size_t) (p - buf)) == -1, "double free");
    CHECK(strstr(diag_last(), "f of ID 60000, which was already freed at line") != NULL,
          "%s", diag_last());
    trace_free(&t);
    free(buf);
}

/* A file bigger than the read buffer parses as the same bytes in memory. */
static void
test_file(void)
{
    struct trace a, b;
    char         path[] = "/tmp/test_trace.XXXXXX";
    char        *buf, *p;
    size_t       i, n = 150000;
    FILE        *f;
    int          fd;

    buf = malloc(n * 40);
    p = buf;
    p += sprintf(p, "pages 100\n");
    for (i = 0; i < n; i++) {
        p += sprintf(p, "a %zu %zu\n# comment %zu\nf %zu\n", i, i % 3000, i, i);
    }
    p += sprintf(p, "a 7 7");     /* no final newline */
    fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    f = fdopen(fd, "w");
    fwrite(buf, 1, (size_t) (p - buf), f);
    fclose(f);

    CHECK(trace_load(&a, path) == 0, "%s", diag_last());
    CHECK(trace_parse_mem(&b, path, buf, (size_t) (p - buf)) == 0, "%s", diag_last());
    CHECK(a.nops == 2 * n + 1 && a.nops == b.nops, "nops %zu %zu", a.nops, b.nops);
    CHECK(memcmp(a.ops, b.ops, a.nops * sizeof(*a.ops)) == 0, "ops differ");
    CHECK(a.nslots == b.nslots && memcmp(a.ids, b.ids, a.nslots * 8) == 0, "ids");
    CHECK(a.lines == 3 * n + 2 && a.ops[a.nops - 1].line == 3 * n + 2, "lines");
    trace_free(&a);
    trace_free(&b);

    /* An error deep in the file names its line. */
    f = fopen(path, "a");
    fputs("\nf 7\nf 7\n", f);
    fclose(f);
    CHECK(trace_load(&a, path) == -1, "double free accepted");
    snprintf(buf, 200, "%s:%zu: f of ID 7, which was already freed at line %zu", path,
             3 * n + 4, 3 * n + 3);
    CHECK(strcmp(diag_last(), buf) == 0, "got \"%s\" want \"%s\"", diag_last(), buf);

    /* A line longer than the read buffer. */
    f = fopen(path, "w");
    fputs("pages 1\n#", f);
    for (i = 0; i < (2u << 20); i++) {
        fputc('x', f);
    }
    fclose(f);
    CHECK(trace_load(&a, path) == -1, "long line accepted");
    CHECK(strstr(diag_last(), ":2: line longer than") != NULL, "%s", diag_last());

    unlink(path);
    CHECK(trace_load(&a, path) == -1, "missing file");
    snprintf(buf, 200, "%s: No such file or directory", path);
    CHECK(strcmp(diag_last(), buf) == 0, "%s", diag_last());
    free(buf);
}

static void
test_replay(void)
{
    const struct allocator_ops *ops = allocator_find("slab");
    struct trace_replay_result  r;
    struct alloc_params         params = { .page_size = 4096 };
    struct trace                t;
    struct zone                 z;
    int64_t                     off[4];

    CHECK(ops != NULL, "%s", diag_last());
    if (ops == NULL) {
        return;
    }
    CHECK(parse(&t, "pages 2\na 1 12288\nf 1\na 2 8\na 3 4096\nf 2\na 2 4096\n") == 0,
          "%s", diag_last());
    CHECK(allocator_zone_create(&z, ops, ZONE_ANON, 0, 2, &params, NULL) == 0, "%s",
          diag_last());
    CHECK(trace_replay(&t, &z, z.base + ops->data_offset(&z), off, &r) == 0, "%s",
          diag_last());
    CHECK(off[0] == -1, "3 pages do not fit in 2: %lld", (long long) off[0]);
    CHECK(off[1] == 64 && off[2] == 4096 && off[3] == 0, "offsets %lld %lld %lld",
          (long long) off[1], (long long) off[2], (long long) off[3]);
    CHECK(r.allocs == 3 && r.fails == 1 && r.frees == 1 && r.frees_skipped == 1,
          "result %llu %llu %llu %llu", (unsigned long long) r.allocs,
          (unsigned long long) r.fails, (unsigned long long) r.frees,
          (unsigned long long) r.frees_skipped);
    CHECK(ops->check(&z, stderr) == 0, "%s", diag_last());
    zone_destroy(&z);
    trace_free(&t);
}

int
main(void)
{
    test_basic();
    test_errors();
    test_bytes();
    test_id_maps();
    test_file();
    test_line_max();
    test_replay();
    return test_summary("test_trace");
}
