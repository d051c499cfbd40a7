/*
 * diag: a per-thread buffer holding the last refusal message (see diag.h).
 */
#include "substrate/diag.h"

#include <stdio.h>

#include <string.h>

static _Thread_local char diag_buf[DIAG_MAX];
static _Thread_local unsigned long diag_n;

/* Formatted aside first, then copied: a message that quotes the last one
 * (diag_set("x: %s", diag_last()), the usual way to add context) reads the
 * buffer this writes. */
void
diag_vset(const char *fmt, va_list ap)
{
    char msg[DIAG_MAX];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    memcpy(diag_buf, msg, strlen(msg) + 1);
    diag_n++;
}

void
diag_set(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vset(fmt, ap);
    va_end(ap);
}

int
diag_report(const struct diag_checker *c, const char *fmt, ...)
{
    va_list ap;
    char    msg[400];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_set("%s(): %s", c->who, msg);
    if (c->report) {
        fprintf(c->report, "%s\n", diag_buf);
    }
    return -1;
}

void
diag_note(const struct diag_checker *c, const char *kind, const char *fmt, ...)
{
    va_list ap;

    if (c->report == NULL) {
        return;
    }
    fprintf(c->report, "%s(): %s: ", c->who, kind);
    va_start(ap, fmt);
    vfprintf(c->report, fmt, ap);
    va_end(ap);
    fputc('\n', c->report);
}

const char *
diag_last(void)
{
    return diag_buf;
}

void
diag_clear(void)
{
    diag_buf[0] = '\0';
}

unsigned long
diag_count(void)
{
    return diag_n;
}
