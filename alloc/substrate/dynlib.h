/*
 * dynlib: a shared library loaded at run time, once per process, and a table
 * of its functions.
 *
 * jemalloc and mimalloc export plain malloc and free.  Linking either one
 * would replace glibc's malloc in the whole process, the harness included, so
 * the allocators built on them load the library with dlopen(RTLD_NOW |
 * RTLD_LOCAL): its symbols stay out of the global scope, and the harness
 * keeps glibc's malloc.  They call the library only through the
 * pointers looked up here.  When a library cannot be loaded or lacks a
 * function, the loader keeps one sentence that says why. The allocator's
 * unavailable() returns that sentence.
 */
#ifndef SHMBENCH_DYNLIB_H
#define SHMBENCH_DYNLIB_H

/* One function to look up: its name, and where its address goes (the
 * address of a function pointer variable, cast to void **). */
struct dynlib_sym {
    const char *name;
    void      **addr;
};

/* A library and the functions wanted from it.  Define one statically with
 * soname and syms; the rest is dynlib_load's. */
struct dynlib {
    const char              *soname;    /* e.g. "libjemalloc.so.2" */
    const struct dynlib_sym *syms;      /* ends with { NULL, NULL } */
    void                    *handle;
    int                      state;     /* 0 not tried, 1 loaded, -1 failed */
    char                     why[320];
};

/*
 * Load lib and look up every symbol, on the first call in this process;
 * later calls (forked children included) return the first answer.  NULL
 * if all are there; otherwise the reason (for unavailable()), and no
 * pointer in syms is set.
 */
const char *dynlib_load(struct dynlib *lib);

/*
 * Debian's jemalloc uses initial-exec TLS (about 2.6 KiB).  A library
 * loaded by dlopen after start-up can only get static TLS from a reserve
 * that glibc sets when the program starts (512 bytes unless the
 * glibc.rtld.optional_static_tls tunable says more), so the dlopen fails
 * ("cannot allocate memory in static TLS block").  This re-executes the
 * program (/proc/self/exe, same argv and environment) with the tunable
 * added to GLIBC_TUNABLES, unless it is there already.  Call it first thing in
 * main().  It returns 0 if nothing needed doing, -1 (diag) if the exec
 * failed; on success it does not return.
 */
int dynlib_reexec_with_static_tls(char **argv);

/* Whether SHMBENCH_NO_REEXEC is set: then programs skip the re-exec (under
 * valgrind, whose tracing would not follow it, set GLIBC_TUNABLES by hand). */
int dynlib_reexec_disabled(void);

/* The tunable setting that dynlib_reexec_with_static_tls adds. */
#define DYNLIB_STATIC_TLS_TUNABLE "glibc.rtld.optional_static_tls=16384"

#endif
