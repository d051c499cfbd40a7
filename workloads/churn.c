/*
 * churn: drawing the churn sequence (churn.h says what it is).
 *
 * The order of the draws is the sequence's definition: changing it, or the
 * way a draw is brought into a range (prng_below), changes every
 * benchmark's workload, so neither may change.
 */
#include "churn.h"

#include <stdlib.h>
#include <string.h>

#include "prng.h"
#include "substrate/diag.h"

/* One size: uniform in [min, max] as bench always drew it, or from the
 * distribution, cut to what a round can hold. */
static uint32_t
churn_size(const struct churn_params *p, uint64_t *state, uint64_t span)
{
    uint64_t v;

    if (p->dist == NULL) {
        return (uint32_t) (p->min_size + prng_below(state, span));
    }
    v = sizes_draw(p->dist, state);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
}

int
churn_generate(struct churn_seq *q, const struct churn_params *p)
{
    uint64_t i, state = p->seed, span = p->max_size - p->min_size + 1;

    memset(q, 0, sizeof(*q));
    q->fill = malloc(p->live * sizeof(*q->fill));
    q->round = malloc(p->rounds * sizeof(*q->round));
    if (q->fill == NULL || q->round == NULL) {
        churn_free(q);
        diag_set("out of memory for %llu rounds", (unsigned long long) p->rounds);
        return -1;
    }
    q->live = p->live;
    q->rounds = p->rounds;
    for (i = 0; i < q->live; i++) {
        q->fill[i] = churn_size(p, &state, span);
    }
    for (i = 0; i < q->rounds; i++) {
        q->round[i].slot = (uint32_t) prng_below(&state, q->live);
        q->round[i].size = churn_size(p, &state, span);
    }
    return 0;
}

void
churn_free(struct churn_seq *q)
{
    free(q->fill);
    free(q->round);
    memset(q, 0, sizeof(*q));
}
