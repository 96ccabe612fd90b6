/* posternctl stats: the queue's counts and deferral groups, decoded and formatted. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "pack.h"
#include "stats.h"

#define CTL_MAX_KEY	1024

static int
unpack_groups(struct unpack *u, size_t len, struct ctl_group_count **out,
    size_t *nout)
{
	uint32_t	 n, i;

	if (unpack_u32(u, &n) == -1)
		return -1;
	/* each group takes at least 8 bytes: no huge allocation on a lie */
	if (n > CTL_MAX_GROUPS || n > (len - u->off) / 8)
		return -1;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		(*nout)++;
		if (unpack_str(u, &(*out)[i].key, CTL_MAX_KEY) == -1 ||
		    unpack_u32(u, &(*out)[i].n) == -1)
			return -1;
	}
	return 0;
}

int
ctl_stats_unpack(const void *p, size_t len, struct ctl_stats *s)
{
	struct unpack	 u;

	memset(s, 0, sizeof(*s));
	unpack_init(&u, p, len);
	if (unpack_u64(&u, &s->now) == -1 || unpack_u64(&u, &s->started) == -1 ||
	    unpack_u32(&u, &s->active) == -1 ||
	    unpack_u32(&u, &s->deferred) == -1 ||
	    unpack_u32(&u, &s->held) == -1 ||
	    unpack_u64(&u, &s->waiting) == -1 ||
	    unpack_u64(&u, &s->oldest) == -1 ||
	    unpack_u64(&u, &s->n_accepted) == -1 ||
	    unpack_u64(&u, &s->n_delivered) == -1 ||
	    unpack_u64(&u, &s->n_deferred) == -1 ||
	    unpack_u64(&u, &s->n_bounced) == -1 ||
	    unpack_groups(&u, len, &s->reasons, &s->nreasons) == -1 ||
	    unpack_groups(&u, len, &s->domains, &s->ndomains) == -1 ||
	    (u.off < len && (unpack_u32(&u, &s->smtpd_reported) == -1 ||
	    unpack_u32(&u, &s->sessions) == -1 ||
	    unpack_u64(&u, &s->connections) == -1 ||
	    unpack_u64(&u, &s->refused) == -1)) ||
	    unpack_done(&u) == -1) {
		ctl_stats_free(s);
		return -1;
	}
	return 0;
}

void
ctl_stats_free(struct ctl_stats *s)
{
	size_t	 i;

	for (i = 0; i < s->nreasons; i++)
		free(s->reasons[i].key);
	for (i = 0; i < s->ndomains; i++)
		free(s->domains[i].key);
	free(s->reasons);
	free(s->domains);
	memset(s, 0, sizeof(*s));
}

static int
groups_text(struct buf *b, const char *title, const struct ctl_group_count *g,
    size_t n)
{
	size_t	 i;
	int	 r = 0;

	r |= buf_appendf(b, "%s:%s\n", title, n == 0 ? " none" : "");
	for (i = 0; i < n; i++) {
		r |= buf_appendf(b, "  %8" PRIu32 "  ", g[i].n);
		r |= ctl_term_safe(b, g[i].key);
		r |= buf_appendc(b, '\n');
	}
	return r ? -1 : 0;
}

/* Per minute since start; a start under a minute ago counts as a minute. */
static double
per_minute(uint64_t n, const struct ctl_stats *s)
{
	uint64_t secs = s->now > s->started ? s->now - s->started : 0;

	return (double)n * 60.0 / (double)(secs < 60 ? 60 : secs);
}

static int
count_line(struct buf *b, const char *what, uint64_t n,
    const struct ctl_stats *s)
{
	return buf_appendf(b, "  %-10s %12" PRIu64 "  %10.1f\n", what, n,
	    per_minute(n, s));
}

int
ctl_stats_format(struct buf *b, const struct ctl_stats *s)
{
	char	 up[32], age[32];
	int	 r = 0;

	ctl_format_age(up, sizeof(up), (int64_t)s->now - (int64_t)s->started);
	if (s->oldest == 0)
		snprintf(age, sizeof(age), "-");
	else
		ctl_format_age(age, sizeof(age),
		    (int64_t)s->now - (int64_t)s->oldest);
	r |= buf_appendf(b, "Messages:   %" PRIu32 " (%" PRIu32 " active, %"
	    PRIu32 " deferred, %" PRIu32 " held), %" PRIu64
	    " recipients waiting\n", s->active + s->deferred + s->held,
	    s->active, s->deferred, s->held, s->waiting);
	r |= buf_appendf(b, "Oldest:     %s\n", age);
	if (s->smtpd_reported)
		r |= buf_appendf(b, "Sessions:   %" PRIu32 " open (%" PRIu64
		    " connections since smtpd started, %" PRIu64 " refused at "
		    "once)\n", s->sessions, s->connections, s->refused);
	else
		r |= buf_appendf(b, "Sessions:   unknown (smtpd has not "
		    "reported)\n");
	/* "per minute" ends where count_line's last column does (37) */
	r |= buf_appendf(b, "Since start (%s ago):%*s\n", up,
	    (int)(strlen(up) < 7 ? 18 - strlen(up) : 11), "per minute");
	r |= count_line(b, "accepted", s->n_accepted, s);
	r |= count_line(b, "delivered", s->n_delivered, s);
	r |= count_line(b, "deferred", s->n_deferred, s);
	r |= count_line(b, "bounced", s->n_bounced, s);
	r |= groups_text(b, "Deferred by reason", s->reasons, s->nreasons);
	r |= groups_text(b, "Deferred by domain", s->domains, s->ndomains);
	return r ? -1 : 0;
}

static int
groups_json(struct buf *b, const char *name, const struct ctl_group_count *g,
    size_t n, const char *keyname)
{
	size_t	 i;
	int	 r = 0;

	r |= buf_appendf(b, ", \"%s\": [", name);
	for (i = 0; i < n; i++) {
		r |= buf_appendf(b, "%s{\"%s\": ", i ? ", " : "", keyname);
		r |= ctl_json_string(b, g[i].key);
		r |= buf_appendf(b, ", \"recipients\": %" PRIu32 "}", g[i].n);
	}
	r |= buf_appendc(b, ']');
	return r ? -1 : 0;
}

int
ctl_stats_json(struct buf *b, const struct ctl_stats *s)
{
	int	 r = 0;

	r |= buf_appendf(b, "{\"now\": %" PRIu64 ", \"started\": %" PRIu64
	    ", \"messages\": {\"active\": %" PRIu32 ", \"deferred\": %" PRIu32
	    ", \"held\": %" PRIu32 "}, \"recipients_waiting\": %" PRIu64
	    ", \"oldest_arrival\": %" PRIu64 ", \"oldest_age\": %" PRId64
	    ", \"since_start\": {\"accepted\": %" PRIu64 ", \"delivered\": %"
	    PRIu64 ", \"deferred\": %" PRIu64 ", \"bounced\": %" PRIu64 "}",
	    s->now, s->started, s->active, s->deferred, s->held, s->waiting,
	    s->oldest, s->oldest ? (int64_t)s->now - (int64_t)s->oldest : 0,
	    s->n_accepted, s->n_delivered, s->n_deferred, s->n_bounced);
	r |= buf_appendf(b, ", \"per_minute\": {\"accepted\": %.2f, "
	    "\"delivered\": %.2f, \"deferred\": %.2f, \"bounced\": %.2f}",
	    per_minute(s->n_accepted, s), per_minute(s->n_delivered, s),
	    per_minute(s->n_deferred, s), per_minute(s->n_bounced, s));
	if (s->smtpd_reported)
		r |= buf_appendf(b, ", \"smtpd\": {\"sessions_open\": %" PRIu32
		    ", \"connections\": %" PRIu64 ", \"refused\": %" PRIu64 "}",
		    s->sessions, s->connections, s->refused);
	else
		r |= buf_appends(b, ", \"smtpd\": null");
	r |= groups_json(b, "deferred_by_reason", s->reasons, s->nreasons,
	    "status");
	r |= groups_json(b, "deferred_by_domain", s->domains, s->ndomains,
	    "domain");
	r |= buf_appends(b, "}\n");
	return r ? -1 : 0;
}
