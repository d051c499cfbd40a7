/*
 * cli: error and usage messages, option matching and number parsing for the
 * `shmbench` commands (see cli.h for the conventions).
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/diag.h"

int
cli_error(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("shmbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAIL;
}

_Noreturn void
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("shmbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd) {
        fprintf(stderr, " (see 'shmbench %s --help')\n", cmd);
    } else {
        fputs(" (see 'shmbench --help')\n", stderr);
    }
    exit(CLI_EXIT_USAGE);
}

_Noreturn void
cli_unknown_option(const char *cmd, const char *arg)
{
    if (arg[0] == '-' && arg[1] != '\0') {
        cli_usage_error(cmd, "unknown option '%s' for %s", arg, cmd);
    }
    cli_usage_error(cmd, "unexpected argument '%s' for %s", arg, cmd);
}

int
cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
cli_option(const char *cmd, int argc, char **argv, int *i, const char *name,
    const char **val)
{
    const char *arg = argv[*i];
    size_t      n = strlen(name);

    if (strncmp(arg, name, n) != 0) {
        return 0;
    }
    if (arg[n] == '=') {
        *val = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option '%s' needs a value", name);
    }
    *val = argv[++*i];
    return 1;
}

int
cli_flag(const char *cmd, const char *arg, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0) {
        return 0;
    }
    if (arg[n] == '=') {
        cli_usage_error(cmd, "option '%s' takes no value", name);
    }
    return arg[n] == '\0';
}

int
cli_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned d;

    if (*s == '\0') {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        d = (unsigned) (*s - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
cli_parse_bytes(const char *s, uint64_t *out)
{
    char     num[32];
    size_t   n = strlen(s);
    unsigned shift = 0;
    uint64_t v;

    if (n > 0) {
        switch (s[n - 1]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        }
    }
    if (shift) {
        n--;
    }
    if (n == 0 || n >= sizeof(num)) {
        return -1;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    if (cli_parse_u64(num, &v) != 0 || v > (UINT64_MAX >> shift)) {
        return -1;
    }
    *out = v << shift;
    return 0;
}

static uint64_t
cli_range(const char *cmd, const char *opt, const char *s, int rc, uint64_t v,
    uint64_t min, uint64_t max)
{
    if (rc != 0) {
        cli_usage_error(cmd, "bad number '%s' for %s", s, opt);
    }
    if (v < min || v > max) {
        cli_usage_error(cmd, "%s %s is out of range (%llu to %llu)", opt, s,
                        (unsigned long long) min, (unsigned long long) max);
    }
    return v;
}

uint64_t
cli_number(const char *cmd, const char *opt, const char *s, uint64_t min,
    uint64_t max)
{
    uint64_t v = 0;
    int      rc = cli_parse_u64(s, &v);

    return cli_range(cmd, opt, s, rc, v, min, max);
}

uint64_t
cli_bytes(const char *cmd, const char *opt, const char *s, uint64_t min,
    uint64_t max)
{
    uint64_t v = 0;
    int      rc = cli_parse_bytes(s, &v);

    return cli_range(cmd, opt, s, rc, v, min, max);
}

enum zone_method
cli_zone_method(const char *cmd, const char *s)
{
    enum zone_method m;

    if (zone_method_parse(s, &m) != 0) {
        cli_usage_error(cmd, "unknown zone method '%s' (known: anon, devzero, "
                        "sysv, posix, hugetlb)", s);
    }
    return m;
}

const struct allocator_ops *
cli_allocator(const char *cmd, const char *name)
{
    const struct allocator_ops     *ops;
    const struct allocator_missing *miss;
    size_t                          i, n;

    if (name[0] == '\0') {
        cli_usage_error(cmd, "--alloc needs an allocator name");
    }
    if (strchr(name, ',') != NULL) {
        cli_usage_error(cmd, "%s takes one allocator, not a list: --alloc '%s'", cmd,
                        name);
    }
    ops = allocator_find(name);
    if (ops != NULL) {
        return ops;
    }
    miss = allocator_missing(&n);
    for (i = 0; i < n; i++) {
        if (strcmp(miss[i].name, name) == 0) {
            exit(cli_error("%s", diag_last()));
        }
    }
    cli_usage_error(cmd, "%s", diag_last());
}

void
cli_zone_name(const char *cmd, const char *what, const char *name)
{
    const char *rest = name[0] == '/' ? name + 1 : name;

    if (rest[0] == '\0') {
        cli_usage_error(cmd, "bad zone name '%s' for %s: it is empty", name, what);
    }
    if (strchr(rest, '/') != NULL) {
        cli_usage_error(cmd, "bad zone name '%s' for %s: a '/' may only come first",
                        name, what);
    }
    if (strcmp(rest, ".") == 0 || strcmp(rest, "..") == 0) {
        cli_usage_error(cmd, "bad zone name '%s' for %s: '.' and '..' are directories",
                        name, what);
    }
    /* ZONE_NAME_MAX bytes hold the '/', the name and a NUL. */
    if (strlen(rest) > ZONE_NAME_MAX - 2) {
        cli_usage_error(cmd, "bad zone name '%.20s...' for %s: more than %d characters "
                        "(not counting a leading '/')", name, what, ZONE_NAME_MAX - 2);
    }
}

void
cli_json_string(FILE *f, const char *s)
{
    const unsigned char *c;

    fputc('"', f);
    for (c = (const unsigned char *) s; c && *c; c++) {
        if (*c == '"' || *c == '\\') {
            fprintf(f, "\\%c", *c);
        } else if (*c < 0x20 || *c == 0x7f) {
            fprintf(f, "\\u%04x", *c);
        } else {
            fputc(*c, f);
        }
    }
    fputc('"', f);
}
