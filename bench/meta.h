/*
 * meta: what every result directory's meta.json says about where it was
 * made, and the directory itself.
 *
 * A figure is worth only as much as what is known of the machine and the
 * build that produced it, so every command that writes results (`run`,
 * `micro`) records the same fields, written here once: the git revision
 * (asked of the source tree at run time, the configure-time one when git
 * cannot answer), the compiler and its flags, the kernel, the CPU, the
 * frequency governor and the load.  docs/results.md names each field.
 *
 * The writers emit object members, not a whole object: each line ends with
 * ",\n", so a command writes its own opening brace and fields around them.
 */
#ifndef SHMBENCH_META_H
#define SHMBENCH_META_H

#include <stdio.h>

/* The "git" member: {"revision", "dirty", "from": "source"|"build"}. */
void meta_json_git(FILE *f);

/* The members "compiler", "c_flags", "kernel", "hostname", "cpu_model",
 * "cpu_mhz", "cores", "governor" and "loadavg". */
void meta_json_machine(FILE *f);

/* mkdir -p PATH for command WHO; 0, or the exit status after printing
 * `shmbench: WHO: ...`. */
int meta_mkdirs(const char *who, const char *path);

/*
 * The result directory of command WHO into out (len bytes): `given` (the
 * --out value) if not NULL, made with its parents if missing; otherwise the
 * first of BASE/STEM-1, BASE/STEM-2, ... that does not exist yet, made
 * (BASE with its parents).  *made (may be NULL) is 1 when the directory was
 * made here, so a command that fails before writing anything can remove it.
 * 0, or the exit status after printing `shmbench: WHO: ...`.
 */
int meta_make_out(const char *who, const char *given, const char *base, const char *stem,
    char *out, size_t len, int *made);

#endif
