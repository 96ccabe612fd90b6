/* Destinations: per-domain concurrency, rate limit and whole-destination backoff. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <bsd/string.h>

#include "log.h"
#include "qmgr.h"

static int
dest_cmp(struct qdest *a, struct qdest *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(dests, qdest);
QMGR_RB_GENERATE_STATIC(dests, qdest, entry, dest_cmp)

static struct dests	 dest_tree = RB_INITIALIZER(&dest_tree);
static size_t		 dest_count;

struct qdest *
dest_find(const char *name)
{
	struct qdest	 key;

	key.name = (char *)name;
	return RB_FIND(dests, &dest_tree, &key);
}

struct qdest *
dest_get(const char *name)
{
	struct qdest	*d;

	if ((d = dest_find(name)) != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->name = strdup(name)) == NULL) {
		log_errno("destination %s", name);
		free(d);
		return NULL;
	}
	TAILQ_INIT(&d->ready);
	RB_INSERT(dests, &dest_tree, d);
	dest_count++;
	return d;
}

static void
dest_free(struct qdest *d)
{
	struct qready	*e;

	while ((e = TAILQ_FIRST(&d->ready)) != NULL) {
		TAILQ_REMOVE(&d->ready, e, entry);
		free(e);
	}
	RB_REMOVE(dests, &dest_tree, d);
	dest_count--;
	free(d->name);
	free(d);
}

uint64_t
dest_concurrency(const struct config *c, const struct qdest *d)
{
	const struct route_conf	*r = config_route_for_domain(c, d->name);

	/* a destination that keeps failing gets one probe at a time */
	if (c->destination_failure_limit > 0 &&
	    d->failures >= c->destination_failure_limit)
		return 1;
	if (r != NULL && r->concurrency > 0)
		return r->concurrency;
	return c->destination_concurrency;
}

uint64_t
dest_rate(const struct config *c, const struct qdest *d)
{
	const struct route_conf	*r = config_route_for_domain(c, d->name);

	if (r != NULL && r->rate_limit > 0)
		return r->rate_limit;
	return c->destination_rate_limit;
}

int
dest_dead(const struct qdest *d, uint64_t now)
{
	return d->dead_until > now;
}

int
dest_can_send(const struct config *c, const struct qdest *d, uint64_t now_us,
    uint64_t *wake_us)
{
	if (dest_dead(d, now_us / 1000000))
		return 0;
	if (d->active >= dest_concurrency(c, d))
		return 0;	/* a result wakes it */
	if (dest_rate(c, d) > 0 && now_us < d->next_slot_us) {
		if (d->next_slot_us < *wake_us)
			*wake_us = d->next_slot_us;
		return 0;
	}
	return 1;
}

void
dest_sent(const struct config *c, struct qdest *d, uint64_t now_us)
{
	uint64_t	 rate = dest_rate(c, d);

	d->active++;
	if (rate > 0) {
		/* evenly spaced: one message every 60/rate seconds */
		if (d->next_slot_us < now_us)
			d->next_slot_us = now_us;
		d->next_slot_us += 60ULL * 1000000 / rate;
	}
}

int
dest_result(const struct config *c, struct qdest *d, int all_tempfail,
    uint64_t now)
{
	uint64_t	 wait, limit = c->destination_failure_limit;

	if (d->active > 0)
		d->active--;
	if (!all_tempfail) {
		if (d->failures >= limit && limit > 0)
			log_info("destination %s: reachable again", d->name);
		d->failures = 0;
		d->dead_until = 0;
		return 0;
	}
	if (d->failures < UINT32_MAX)
		d->failures++;
	if (limit == 0 || d->failures < limit)
		return 0;
	wait = sched_retry_wait(d->failures - (uint32_t)limit + 1);
	d->dead_until = now + wait;
	log_warn("destination %s: %u failures in a row; every message to it "
	    "waits %llus", d->name, d->failures, (unsigned long long)wait);
	return 1;
}

void
dest_reset(struct qdest *d)
{
	d->failures = 0;
	d->dead_until = 0;
	d->next_slot_us = 0;
}

void
dest_reset_all(void)
{
	struct qdest	*d;

	RB_FOREACH(d, dests, &dest_tree)
		dest_reset(d);
}

void
dest_gc(uint64_t now)
{
	struct qdest	*d, *next;

	/* nothing waits, nothing runs and nothing is remembered */
	RB_FOREACH_SAFE(d, dests, &dest_tree, next)
		if (d->nready == 0 && d->active == 0 && !d->in_list &&
		    d->dead_until <= now && d->failures == 0)
			dest_free(d);
}

void
dest_shutdown(void)
{
	struct qdest	*d, *next;

	RB_FOREACH_SAFE(d, dests, &dest_tree, next)
		dest_free(d);
}
