/*
 * shdict_script: scripts of lua_shared_dict commands, read and run over the
 * emulated dict (workloads/shdict.h), for `shmbench shdict`.
 *
 * A script is text, one command a line, the words separated by blanks;
 * a line whose first word starts with '#' is a comment, a blank line is
 * skipped:
 *
 *   set KEY VLEN [EXPTIME]       safe_set KEY VLEN [EXPTIME]
 *   add KEY VLEN [EXPTIME]       safe_add KEY VLEN [EXPTIME]
 *   replace KEY VLEN [EXPTIME]   incr KEY DELTA [INIT]
 *   get KEY                      delete KEY
 *   lpush KEY VLEN               rpush KEY VLEN
 *   lpop KEY                     rpop KEY
 *   flush_all                    flush_expired [MAX]
 *   sleep SECONDS
 *
 * KEY is its bytes; a value is VLEN bytes of a fixed filler (the dict's
 * own, 'a' + i % 26, which the Lua runner of the tests writes too).
 * EXPTIME and SECONDS are seconds as digits with an optional fraction
 * ("0.25"); EXPTIME becomes milliseconds the way lua-resty-core passes it
 * to the module (exptime * 1000, truncated to an integer), SECONDS
 * advances the dict's simulated clock by as many milliseconds (truncated
 * as ngx.sleep truncates).  DELTA and INIT are integers (an optional '-'),
 * VLEN and MAX counts.  The idea: the whole script is parsed before any
 * command runs, so a malformed line is reported as FILE:LINE before any
 * output, and every command is then one call of the dict's Lua method.
 *
 * What a command gives is one struct shdict_step: the fields of its output
 * line (docs/shdict.md, "Scripts"), decided per command by the table that
 * shdict_script_desc() reads, so that the C printer and the Lua runner
 * print the same fields.
 */
#ifndef SHMBENCH_SHDICT_SCRIPT_H
#define SHMBENCH_SHDICT_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "shdict.h"

/* The commands, in the order of the grammar above. */
enum shdict_script_op {
    SHS_SET,
    SHS_SAFE_SET,
    SHS_ADD,
    SHS_SAFE_ADD,
    SHS_REPLACE,
    SHS_INCR,
    SHS_GET,
    SHS_DELETE,
    SHS_LPUSH,
    SHS_RPUSH,
    SHS_LPOP,
    SHS_RPOP,
    SHS_FLUSH_ALL,
    SHS_FLUSH_EXPIRED,
    SHS_SLEEP,
    SHS_NOPS
};

/* The fields a line has beyond the common ones (line, op, key, ok, err,
 * forcible, free_space, keys), printed in this order. */
enum shdict_script_field {
    SHS_F_FOUND   = 1u << 0,     /* "found": true|false */
    SHS_F_VLEN    = 1u << 1,     /* "vlen": N|null, the value's bytes */
    SHS_F_VALUE   = 1u << 2,     /* "value": N|null, incr's new value */
    SHS_F_LEN     = 1u << 3,     /* "len": N|null, a push's new length */
    SHS_F_FLUSHED = 1u << 4      /* "flushed": N */
};

/* What one command is. */
struct shdict_script_desc {
    const char *name;            /* as written in a script and printed as "op" */
    const char *usage;           /* its arguments, for messages: "KEY VLEN [EXPTIME]" */
    unsigned    min_args, max_args;
    int         keyed;           /* its first argument is KEY */
    unsigned    fields;          /* enum shdict_script_field */
};

/* The description of op (SHS_NOPS or more: NULL). */
const struct shdict_script_desc *shdict_script_desc(unsigned op);

/* One parsed command. */
struct shdict_script_cmd {
    uint32_t    op;              /* enum shdict_script_op */
    uint64_t    line;            /* its line in the script, from 1 */
    const char *key;             /* KEY (NUL-terminated, in the script's
                                    storage), NULL for the keyless commands */
    size_t      klen;
    uint64_t    vlen;            /* stores and pushes */
    int64_t     exptime_ms;      /* stores: exptime * 1000, 0 for none */
    int64_t     delta;           /* incr */
    int64_t     init;            /* incr, when has_init */
    int         has_init;
    uint64_t    max;             /* flush_expired, 0 for all */
    uint64_t    sleep_ms;        /* sleep */
};

/* A parsed script. */
struct shdict_script {
    char                     *path;  /* as given ("-": standard input) */
    struct shdict_script_cmd *cmds;
    size_t                    ncmds;
    uint64_t                  lines; /* lines read */
    char                     *text;  /* the keys' storage */
};

/* The largest VLEN a script may give (a value is built whole on the Lua
 * side too), the largest magnitude of DELTA and INIT (the doubles that
 * incr adds stay exact integers), the largest MAX (the module's int) and
 * the most seconds EXPTIME and SECONDS may give. */
#define SHDICT_SCRIPT_VLEN_MAX  (1ull << 30)
#define SHDICT_SCRIPT_INT_MAX   (1ll << 53)
#define SHDICT_SCRIPT_MAX_MAX   2147483647ull
#define SHDICT_SCRIPT_SECS_MAX  1000000000.0

/*
 * Read and check the whole script at path ("-": standard input).  Returns
 * 0, or -1 with "PATH:LINE: what is wrong" (or "PATH: why" when it cannot
 * be read) in diag; s is then empty and needs no free.
 */
int shdict_script_load(struct shdict_script *s, const char *path);

/* Free what shdict_script_load allocated. */
void shdict_script_free(struct shdict_script *s);

/* What a command did: the fields of its output line.  err is the Lua
 * error string or NULL; a field that the command's line does not have is
 * left 0. */
struct shdict_step {
    int         ok;
    const char *err;
    int         forcible;
    uint64_t    free_space;      /* dict:free_space() after the command */
    uint64_t    keys;            /* #dict:get_keys(0) after it */
    int         found;
    int         has_vlen;
    uint64_t    vlen;            /* a string's bytes; 8 for a number */
    int         has_value;
    int64_t     value;
    int         has_len;
    uint64_t    len;
    uint64_t    flushed;
};

/*
 * Run command c on the dict d (a sleep advances its clock), then read
 * free_space and the live keys.  Returns 0 with *st filled in, or -1 with
 * the dict's error in diag (the dict raised: its state is suspect).
 */
int shdict_script_step(struct shdict *d, const struct shdict_script_cmd *c,
    struct shdict_step *st);

#endif
