/*
 * dynlib: dlopen a library once per process and look up its functions
 * (see dynlib.h for why this matters to the harness's malloc).
 *
 * The answer, loaded or why not, is kept in the struct dynlib. A forked
 * child inherits it along with the mapping, so the child never loads the
 * library again.
 */
#include "substrate/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "substrate/diag.h"

static pthread_mutex_t dynlib_mutex = PTHREAD_MUTEX_INITIALIZER;

/* Why dlopen failed, with the way out when it is the static TLS reserve. */
static void
dynlib_explain_open(struct dynlib *lib, const char *err)
{
    const char *hint = "";

    if (err && strstr(err, "static TLS")) {
        hint = " (the library uses initial-exec TLS: start the program with "
               "GLIBC_TUNABLES=" DYNLIB_STATIC_TLS_TUNABLE
               ", or call dynlib_reexec_with_static_tls() in main)";
    }
    snprintf(lib->why, sizeof(lib->why), "%s could not be loaded: %s%s", lib->soname,
             err ? err : "unknown dlopen error", hint);
}

/* Look up every symbol into a scratch table first, so that a library
 * missing one function leaves no pointer half set. */
static int
dynlib_resolve(struct dynlib *lib)
{
    const struct dynlib_sym *s;
    size_t                   n = 0, i;
    void                   **found;

    for (s = lib->syms; s->name; s++) {
        n++;
    }
    found = calloc(n ? n : 1, sizeof(*found));
    if (found == NULL) {
        snprintf(lib->why, sizeof(lib->why), "%s: out of memory", lib->soname);
        return -1;
    }
    for (i = 0; i < n; i++) {
        found[i] = dlsym(lib->handle, lib->syms[i].name);
        if (found[i] == NULL) {
            snprintf(lib->why, sizeof(lib->why), "%s has no function %s (a different "
                     "version than the one this allocator was written for?)",
                     lib->soname, lib->syms[i].name);
            free(found);
            return -1;
        }
    }
    for (i = 0; i < n; i++) {
        *lib->syms[i].addr = found[i];
    }
    free(found);
    return 0;
}

const char *
dynlib_load(struct dynlib *lib)
{
    pthread_mutex_lock(&dynlib_mutex);
    if (lib->state == 0) {
        lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        if (lib->handle == NULL) {
            dynlib_explain_open(lib, dlerror());
            lib->state = -1;
        } else if (dynlib_resolve(lib) != 0) {
            lib->state = -1;     /* keep the handle: its constructors ran */
        } else {
            lib->state = 1;
        }
    }
    pthread_mutex_unlock(&dynlib_mutex);
    return lib->state == 1 ? NULL : lib->why;
}

int
dynlib_reexec_disabled(void)
{
    return getenv("SHMBENCH_NO_REEXEC") != NULL;
}

int
dynlib_reexec_with_static_tls(char **argv)
{
    const char *old = getenv("GLIBC_TUNABLES");
    char       *val;
    size_t      len;

    if ((old && strstr(old, "glibc.rtld.optional_static_tls=")) || dynlib_reexec_disabled()) {
        return 0;
    }
    len = (old ? strlen(old) + 1 : 0) + sizeof(DYNLIB_STATIC_TLS_TUNABLE);
    val = malloc(len);
    if (val == NULL) {
        diag_set("dynlib_reexec_with_static_tls: out of memory");
        return -1;
    }
    snprintf(val, len, "%s%s%s", old ? old : "", old ? ":" : "",
             DYNLIB_STATIC_TLS_TUNABLE);
    if (setenv("GLIBC_TUNABLES", val, 1) != 0) {
        free(val);
        diag_set("dynlib_reexec_with_static_tls: setenv GLIBC_TUNABLES failed");
        return -1;
    }
    free(val);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    diag_set("dynlib_reexec_with_static_tls: execv /proc/self/exe: %s", strerror(errno));
    return -1;
}
