/*
 * diag: a per-thread buffer holding the last refusal message (see diag.h).
 */
#include "substrate/diag.h"

#include <stdio.h>

static _Thread_local char diag_buf[512];
static _Thread_local unsigned long diag_n;

void
diag_vset(const char *fmt, va_list ap)
{
    vsnprintf(diag_buf, sizeof(diag_buf), fmt, ap);
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
diag_vreport(FILE *report, const char *who, const char *fmt, va_list ap)
{
    char msg[400];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    diag_set("%s(): %s", who, msg);
    if (report) {
        fprintf(report, "%s\n", diag_buf);
    }
    return -1;
}

int
diag_report(FILE *report, const char *who, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = diag_vreport(report, who, fmt, ap);
    va_end(ap);
    return rc;
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
