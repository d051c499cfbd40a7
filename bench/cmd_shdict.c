/*
 * shdict: one lua_shared_dict, simulated over any allocator of the
 * registry, running a script of dict commands and printing what each did.
 *
 * The script (workloads/shdict_script.h) is read and checked whole first,
 * so that a malformed line stops the command as FILE:LINE before any
 * output.  Then a fresh zone of --zone-size bytes is made for the
 * allocator, the dict is made in it as lua-nginx-module makes its zone
 * (workloads/shdict.h: header and log-context string first), and every
 * command runs in order, one JSON object a line on stdout, in the fields
 * that shdict_script_desc() gives each command (docs/shdict.md,
 * "Scripts").  On `slab` and `nginx` the lines are what Debian's nginx
 * 1.22.1 with lua-nginx-module 0.10.23 prints for the same script through
 * tests/shdict_runner.lua (tests/shdict_real.sh compares them); on the other
 * allocators they say what the dict would have done over that allocator.
 * At the end the dict and the zone are checked.
 */
#include <string.h>

#include "cli.h"
#include "shdict.h"
#include "shdict_script.h"
#include "substrate/diag.h"

#define SHDICT_DEFAULT_ZONE  (1u << 20)
#define SHDICT_NAME_MAX      255

const char cmd_shdict_help[] =
    "usage: shmbench shdict SCRIPT [--alloc NAME] [--zone-size SIZE] [--name NAME]\n"
    "\n"
    "Run the dict commands of SCRIPT ('-' for standard input) against one\n"
    "lua_shared_dict (lua-nginx-module 0.10.23's, emulated) in a fresh zone of\n"
    "the allocator, and print one JSON object a line per command.\n"
    "\n"
    "script (one command a line; '#' comments and blank lines are ignored):\n"
    "  set KEY VLEN [EXPTIME]       safe_set KEY VLEN [EXPTIME]\n"
    "  add KEY VLEN [EXPTIME]       safe_add KEY VLEN [EXPTIME]\n"
    "  replace KEY VLEN [EXPTIME]   incr KEY DELTA [INIT]\n"
    "  get KEY                      delete KEY\n"
    "  lpush KEY VLEN               rpush KEY VLEN\n"
    "  lpop KEY                     rpop KEY\n"
    "  flush_all                    flush_expired [MAX]\n"
    "  sleep SECONDS                (advances the dict's simulated clock)\n"
    "A value is VLEN bytes of filler; EXPTIME and SECONDS are seconds with an\n"
    "optional fraction, DELTA and INIT integers, MAX a count (0: all).\n"
    "\n"
    "output, one line per command, in script order:\n"
    "  {\"line\":N,\"op\":\"set\",\"key\":\"k1\",\"ok\":true,\"err\":null,\"forcible\":false,\n"
    "   \"free_space\":1028096,\"keys\":1}\n"
    "err as Lua gives it (\"no memory\", \"exists\", \"not found\", ...), key null\n"
    "for the commands without one, free_space and keys (#get_keys(0)) after\n"
    "the command; get, lpop and rpop add \"found\" and \"vlen\", incr \"value\",\n"
    "lpush and rpush \"len\", flush_expired \"flushed\".\n"
    "\n"
    "options:\n"
    "  --alloc NAME       allocator (default slab; 'shmbench list'); on slab and\n"
    "                     nginx the output is what nginx 1.22.1 gives\n"
    "  --zone-size SIZE   the dict's zone, as lua_shared_dict's size (suffix k,\n"
    "                     m, g: KiB, MiB, GiB; default 1m)\n"
    "  --name NAME        the dict's name (default d), whose length sets the\n"
    "                     size of the log-context string the module allocates\n"
    "\n"
    "exit status: 0 done; 1 a malformed script (reported as FILE:LINE before\n"
    "any output), a zone that cannot be made or hold the dict, or a dict or\n"
    "zone that fails its check at the end; 2 usage.\n";

struct shdict_opts {
    const char                 *path;
    const struct allocator_ops *ops;
    uint64_t                    zone_size;
    const char                 *name;
};

static void
shdict_json_bool(const char *key, int v)
{
    printf(",\"%s\":%s", key, v ? "true" : "false");
}

/* `,"key":N`, or null when !known. */
static void
shdict_json_u64(const char *key, int known, uint64_t v)
{
    if (known) {
        printf(",\"%s\":%llu", key, (unsigned long long) v);
    } else {
        printf(",\"%s\":null", key);
    }
}

/* One command's line, its fields in the table's order. */
static void
shdict_print(const struct shdict_script_cmd *c, const struct shdict_step *st)
{
    const struct shdict_script_desc *d = shdict_script_desc(c->op);

    printf("{\"line\":%llu,\"op\":", (unsigned long long) c->line);
    cli_json_string(stdout, d->name);
    fputs(",\"key\":", stdout);
    if (c->key != NULL) {
        cli_json_string(stdout, c->key);
    } else {
        fputs("null", stdout);
    }
    shdict_json_bool("ok", st->ok);
    fputs(",\"err\":", stdout);
    if (st->err != NULL) {
        cli_json_string(stdout, st->err);
    } else {
        fputs("null", stdout);
    }
    shdict_json_bool("forcible", st->forcible);
    shdict_json_u64("free_space", 1, st->free_space);
    shdict_json_u64("keys", 1, st->keys);
    if (d->fields & SHS_F_FOUND) {
        shdict_json_bool("found", st->found);
    }
    if (d->fields & SHS_F_VLEN) {
        shdict_json_u64("vlen", st->has_vlen, st->vlen);
    }
    if (d->fields & SHS_F_VALUE) {
        if (st->has_value) {
            printf(",\"value\":%lld", (long long) st->value);
        } else {
            fputs(",\"value\":null", stdout);
        }
    }
    if (d->fields & SHS_F_LEN) {
        shdict_json_u64("len", st->has_len, st->len);
    }
    if (d->fields & SHS_F_FLUSHED) {
        shdict_json_u64("flushed", 1, st->flushed);
    }
    fputs("}\n", stdout);
}

/* Make the zone and the dict, run every command, check both. */
static int
shdict_simulate(const struct shdict_opts *o, const struct shdict_script *s)
{
    struct alloc_params params;
    struct shdict_step  st;
    struct shdict       d;
    struct zone         z;
    size_t              i, min;
    int                 rc = 0;

    memset(&params, 0, sizeof(params));
    params.nworkers = 1;        /* one process: a per-process allocator's one slice */
    min = allocator_min_zone_size(o->ops, &params);
    if (o->zone_size < min) {
        return cli_error("shdict: a zone of %llu bytes is too small for \"%s\": the "
                         "minimum is %zu bytes (--zone-size)",
                         (unsigned long long) o->zone_size, o->ops->name, min);
    }
    if (allocator_zone_create(&z, o->ops, ZONE_ANON, (size_t) o->zone_size, 0, &params,
                              NULL) != 0)
    {
        return cli_error("shdict: %s", diag_last());
    }
    if (shdict_init(&d, &z, o->name) != 0) {
        rc = cli_error("shdict: a zone of %llu bytes on \"%s\" cannot hold the dict: %s",
                       (unsigned long long) o->zone_size, o->ops->name, diag_last());
    }
    for (i = 0; rc == 0 && i < s->ncmds; i++) {
        if (shdict_script_step(&d, &s->cmds[i], &st) != 0) {
            rc = cli_error("%s:%llu: %s raised: %s", s->path,
                           (unsigned long long) s->cmds[i].line,
                           shdict_script_desc(s->cmds[i].op)->name, diag_last());
            break;
        }
        shdict_print(&s->cmds[i], &st);
    }
    if (rc == 0 && shdict_check(&d, NULL, NULL) != 0) {
        rc = cli_error("%s: the dict fails its check at the end: %s", s->path, diag_last());
    }
    if (rc == 0 && o->ops->check != NULL && o->ops->check(&z, NULL) != 0) {
        rc = cli_error("%s: the zone fails \"%s\"'s check at the end: %s", s->path,
                       o->ops->name, diag_last());
    }
    if (o->ops->fini) {
        o->ops->fini(&z);
    }
    zone_destroy(&z);
    return rc;
}

int
cmd_shdict(int argc, char **argv)
{
    static const char    cmd[] = "shdict";
    struct shdict_opts   o;
    struct shdict_script s;
    const char          *val;
    int                  i, rc;

    memset(&o, 0, sizeof(o));
    o.zone_size = SHDICT_DEFAULT_ZONE;
    o.name = "d";
    for (i = 1; i < argc; i++) {
        if (cli_option(cmd, argc, argv, &i, "--alloc", &val)) {
            o.ops = cli_allocator(cmd, val);
        } else if (cli_option(cmd, argc, argv, &i, "--zone-size", &val)) {
            o.zone_size = cli_bytes(cmd, "--zone-size", val, 1, SIZE_MAX / 2);
        } else if (cli_option(cmd, argc, argv, &i, "--name", &val)) {
            if (val[0] == '\0' || strlen(val) > SHDICT_NAME_MAX) {
                cli_usage_error(cmd, "--name takes a dict name of 1 to %d bytes",
                                SHDICT_NAME_MAX);
            }
            o.name = val;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && o.path == NULL) {
            o.path = argv[++i];
        } else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && o.path == NULL) {
            o.path = argv[i];
        } else {
            cli_unknown_option(cmd, argv[i]);
        }
    }
    if (o.path == NULL) {
        cli_usage_error(cmd, "shdict needs a SCRIPT file");
    }
    if (o.ops == NULL) {
        o.ops = cli_allocator(cmd, "slab");
    }
    if (!(o.ops->caps & ALLOC_IN_SHM)) {
        return cli_error("shdict: a dict lives in its zone, and \"%s\" keeps its blocks "
                         "in a private heap (see 'shmbench list')", o.ops->name);
    }
    if (shdict_script_load(&s, o.path) != 0) {
        return cli_error("%s", diag_last());
    }
    rc = shdict_simulate(&o, &s);
    shdict_script_free(&s);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        rc = cli_error("%s: writing the output failed", cmd);
    }
    return rc;
}
