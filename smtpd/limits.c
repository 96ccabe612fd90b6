/* Connection control at accept: allow/deny lists, session counts and rates per client IP. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtpd.h"

/*
 * One entry per (listener, client address) with live sessions or
 * connections in the current rate window. The rate is counted in fixed
 * one-minute windows (Postfix's anvil does the same): cheap, and a burst
 * at a window's edge can at worst double it for a moment.
 * Clients in trusted_networks are not counted per IP: a local submission
 * host or a test suite must not lock itself out.
 */
#define IPTAB_SIZE	4096
#define RATE_WINDOW	60
#define SWEEP_EVERY	1024

struct ip_entry {
	struct ip_entry	*next;
	uint32_t	 listener;
	uint8_t		 family;
	uint8_t		 addr[16];
	uint32_t	 nsessions;
	uint32_t	 nconn;		/* connections in the window */
	time_t		 window;	/* its start */
};

/* The address bytes, an IPv4-mapped IPv6 one as IPv4. */
static int
key_of(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16])
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;

	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)sa;
		*family = 4;
		memcpy(addr, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			*family = 4;
			memcpy(addr, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			*family = 6;
			memcpy(addr, &s6->sin6_addr, 16);
		}
		return 0;
	}
	return -1;
}

static size_t
hash(uint32_t listener, uint8_t family, const uint8_t addr[16])
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	h = (h ^ listener) * 16777619u;
	h = (h ^ family) * 16777619u;
	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % IPTAB_SIZE;
}

static int
idle(const struct ip_entry *e, time_t now)
{
	return e->nsessions == 0 && now - e->window >= RATE_WINDOW;
}

/* Drops every entry with nothing left to count. */
static void
sweep(struct smtpd *env, time_t now)
{
	struct ip_entry	**pp, *e;
	size_t		  i;

	for (i = 0; i < IPTAB_SIZE; i++) {
		pp = &env->iptab[i];
		while ((e = *pp) != NULL) {
			if (idle(e, now)) {
				*pp = e->next;
				free(e);
			} else
				pp = &e->next;
		}
	}
}

static struct ip_entry *
lookup(struct smtpd *env, uint32_t listener, const struct sockaddr *sa,
    int create)
{
	struct ip_entry	*e;
	uint8_t		 fam, addr[16];
	size_t		 h;

	if (env->iptab == NULL) {
		if (!create || (env->iptab = calloc(IPTAB_SIZE,
		    sizeof(*env->iptab))) == NULL)
			return NULL;
	}
	if (key_of(sa, &fam, addr) == -1)
		return NULL;
	h = hash(listener, fam, addr);
	for (e = env->iptab[h]; e != NULL; e = e->next)
		if (e->listener == listener && e->family == fam &&
		    memcmp(e->addr, addr, 16) == 0)
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->listener = listener;
	e->family = fam;
	memcpy(e->addr, addr, 16);
	e->next = env->iptab[h];
	env->iptab[h] = e;
	return e;
}

static int
exempt(const struct smtpd *env, const struct sockaddr *sa)
{
	return cidrlist_match(&env->conf->trusted_networks, sa);
}

enum limit_verdict
limits_check(struct smtpd *env, struct listener *l, const struct sockaddr *sa,
    time_t now, int *counted)
{
	struct ip_entry *e;

	*counted = 0;
	/* checked before anything that could let a trusted client in */
	if (cidrlist_match(&env->conf->never_connect_networks, sa))
		return LIMIT_NEVER;
	if (cidrlist_match(&l->deny, sa) ||
	    (l->allow.n > 0 && !cidrlist_match(&l->allow, sa)))
		return LIMIT_DENIED;
	if (l->nsessions >= l->max_sessions)
		return LIMIT_SESSIONS;
	if (!exempt(env, sa)) {
		if (++env->ipsweep % SWEEP_EVERY == 0 && env->iptab != NULL)
			sweep(env, now);
		/* out of memory for the entry: the client goes uncounted */
		if ((e = lookup(env, l->index, sa, 1)) != NULL) {
			if (e->nsessions >= l->max_sessions_per_ip)
				return LIMIT_PER_IP;
			if (now - e->window >= RATE_WINDOW || now < e->window) {
				e->window = now;
				e->nconn = 0;
			}
			if (l->max_connection_rate > 0 &&
			    e->nconn >= l->max_connection_rate)
				return LIMIT_RATE;
			e->nconn++;
			e->nsessions++;
			*counted = 1;
		}
	}
	l->nsessions++;
	return LIMIT_OK;
}

void
limits_release(struct smtpd *env, struct listener *l, const struct sockaddr *sa,
    int counted)
{
	struct ip_entry *e;

	if (l->nsessions > 0)
		l->nsessions--;
	if (counted && (e = lookup(env, l->index, sa, 0)) != NULL &&
	    e->nsessions > 0)
		e->nsessions--;
}

void
limits_free(struct smtpd *env)
{
	struct ip_entry	*e;
	size_t		 i;

	if (env->iptab == NULL)
		return;
	for (i = 0; i < IPTAB_SIZE; i++) {
		while ((e = env->iptab[i]) != NULL) {
			env->iptab[i] = e->next;
			free(e);
		}
	}
	free(env->iptab);
	env->iptab = NULL;
}

const char *
limits_reply(enum limit_verdict v)
{
	switch (v) {
	case LIMIT_DENIED:
		return "554 5.7.1 Error: access denied for your address";
	case LIMIT_NEVER:
		return "554 5.7.1 Error: connections from your network are "
		    "refused";
	case LIMIT_SESSIONS:
		return "421 4.7.0 Error: too many sessions, try again later";
	case LIMIT_PER_IP:
		return "421 4.7.0 Error: too many sessions from your address";
	case LIMIT_RATE:
		return "421 4.7.0 Error: too many connections from your "
		    "address, slow down";
	case LIMIT_OK:
		break;
	}
	return "421 4.3.0 Error: try again later";
}
