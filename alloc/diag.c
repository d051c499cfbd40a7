/*
 * diag: a per-thread buffer holding the last refusal message (see diag.h).
 */
#include "diag.h"

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
