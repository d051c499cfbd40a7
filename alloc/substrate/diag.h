/*
 * diag: the last error message of this process.
 *
 * Library functions in alloc/ never print.  When they refuse something (a bad
 * free, a zone too small, a mapping that failed) they return -1 or NULL and
 * leave one sentence here, naming the function and the fact, the way nginx
 * logs an alert.  The caller (the CLI, a test) decides whether to print it.
 * The buffer is process-private and per thread.
 */
#ifndef SHMBENCH_DIAG_H
#define SHMBENCH_DIAG_H

#include <stdarg.h>
#include <stdio.h>

/* A message keeps at most DIAG_MAX - 1 bytes (longer ones are cut). */
#define DIAG_MAX 1024

/* Record a message (printf format), replacing the previous one.  The
 * arguments may quote the last message (diag_set("x: %s", diag_last())). */
void diag_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Same, from a va_list. */
void diag_vset(const char *fmt, va_list ap);

/*
 * For integrity checks.  A checker keeps one diag_checker in its context and
 * stops at the first broken invariant with `return diag_report(&c->out, ...)`:
 * the message, as "WHO(): message", becomes the last one and, when report is
 * not NULL, is written there too with a newline.  Returns -1.
 */
struct diag_checker {
    FILE       *report;      /* where messages also go; NULL: only diag_last() */
    const char *who;         /* the checker's name, "slab_check" */
};

int diag_report(const struct diag_checker *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A finding that does not fail the check ("orphan", "note"): written to the
 * report only, as "WHO(): KIND: message"; the last message is untouched. */
void diag_note(const struct diag_checker *c, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The last message recorded, or "" if none since diag_clear(). */
const char *diag_last(void);

/* Forget the last message. */
void diag_clear(void);

/* How many messages were recorded since the process started (tests use it to
 * see that a refusal really said something). */
unsigned long diag_count(void);

#endif
