/* Local recipients: resolution through virtual_maps, aliases and the password file; no I/O but the lookups handed in. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>

#include "ipc.h"
#include "resolve.h"

#define LRES_ADDR_MAX	1024

void
lres_out_init(struct lres_out *o)
{
	memset(o, 0, sizeof(*o));
}

void
lres_out_free(struct lres_out *o)
{
	strlist_free(&o->users);
	strlist_free(&o->remote);
	strlist_free(&o->pipes);
}

static void
note(struct lres_out *o, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keeps the worst failure: a temporary one outranks the rest, as a retry
 * may still deliver. */
static void
note(struct lres_out *o, int status, const char *fmt, ...)
{
	va_list ap;

	if (o->worst == LRES_TEMP || (o->worst != LRES_OK && status != LRES_TEMP))
		return;
	o->worst = status;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
}

static int
add_once(struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 0;
	return strlist_add(l, s, strlen(s));
}

int
lres_local_domain(const struct lres *r, const char *domain)
{
	return domain_list_match(&r->conf->local_domains, domain) ||
	    (r->vmap != NULL && addr_map_has_domain(r->vmap, domain));
}

static char
delim(const struct lres *r)
{
	return r->conf->recipient_delimiter[0];
}

static void	resolve_addr(const struct lres *, const char *, int,
		    struct lres_out *);

/* A local name after alias expansion: a login, or an unknown name. */
static void
resolve_user(const struct lres *r, const char *name, struct lres_out *o)
{
	uid_t	 uid;
	int	 f;

	if ((f = r->getpw(name, &uid, r->arg)) == -1) {
		note(o, LRES_TEMP, "451 4.3.0 <%s>: user lookup failed", name);
		return;
	}
	if (f == 0) {
		note(o, LRES_UNKNOWN, "550 5.1.1 <%s>: user unknown", name);
		return;
	}
	if (uid == 0) {
		note(o, LRES_PERM, "550 5.7.1 <%s>: mail is never delivered "
		    "as root; add an alias for root", name);
		return;
	}
	if (add_once(&o->users, name) == -1)
		note(o, LRES_TEMP, "451 4.3.0 out of memory");
}

static void
resolve_target(const struct lres *r, const char *t, int depth,
    struct lres_out *o)
{
	if (t[0] == '|') {
		/* aliases_expand checks this too; a map entry must not skip it */
		if (!r->conf->allow_alias_pipes)
			note(o, LRES_PERM, "550 5.7.1 delivery to a command is "
			    "not allowed (%s)", t);
		else if (add_once(&o->pipes, t) == -1)
			note(o, LRES_TEMP, "451 4.3.0 out of memory");
	} else if (strchr(t, '@') != NULL)
		resolve_addr(r, t, depth + 1, o);
	else
		resolve_user(r, t, o);
}

static void
resolve_local(const struct lres *r, const char *name, int depth,
    struct lres_out *o)
{
	struct strlist	 res = { NULL, 0 };
	struct buf	 err;
	size_t		 i;

	buf_init(&err);
	if (aliases_expand(r->aliases, name, r->conf->allow_alias_pipes,
	    r->inc, r->arg, &res, &err) == -1) {
		const char *e = buf_cstr(&err) ? err.p : "alias expansion failed";

		/* an unreadable include may be readable later; the rest is
		 * how the files are written */
		note(o, strstr(e, "cannot read include") != NULL ? LRES_TEMP :
		    LRES_PERM, "%s <%s>: %s", strstr(e, "cannot read include") ?
		    "451 4.3.0" : "550 5.7.1", name, e);
	} else {
		for (i = 0; i < res.n; i++)
			resolve_target(r, res.v[i], depth, o);
	}
	strlist_free(&res);
	buf_free(&err);
}

/*
 * A local part or bare name is only ever looked up, never taken as an
 * alias target: "|cmd@local" from SMTP would run a command, and
 * ":include:/etc/shadow" in a ~/.forward would have root read the file.
 * '@' inside (a quoted local part) would relay through us.
 */
static int
plain_name(const char *s)
{
	return s[0] != '\0' && strchr("|:/", s[0]) == NULL &&
	    strchr(s, '@') == NULL;
}

static void
resolve_addr(const struct lres *r, const char *addr, int depth,
    struct lres_out *o)
{
	const struct alias	*a = NULL;
	char			 local[LRES_ADDR_MAX], base[LRES_ADDR_MAX];
	const char		*at, *domain;
	size_t			 i;

	if (depth > LRES_MAX_DEPTH) {
		note(o, LRES_PERM, "550 5.4.6 <%s>: alias or virtual map loop",
		    addr);
		return;
	}
	if ((at = strrchr(addr, '@')) == NULL) {
		if (plain_name(addr))
			resolve_local(r, addr, depth, o);
		else
			note(o, LRES_UNKNOWN, "550 5.1.1 <%s>: user unknown",
			    addr);
		return;
	}
	domain = at + 1;
	if ((size_t)(at - addr) >= sizeof(local) || at == addr ||
	    memchr(addr, '@', (size_t)(at - addr)) != NULL ||
	    strchr("|:/", addr[0]) != NULL) {
		note(o, LRES_UNKNOWN, "550 5.1.1 <%s>: user unknown", addr);
		return;
	}
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	if (aliases_strip_extension(local, delim(r), base, sizeof(base)) == -1)
		strlcpy(base, local, sizeof(base));
	if (r->vmap != NULL && (a = addr_map_find(r->vmap, local, domain)) ==
	    NULL && strcmp(base, local) != 0)
		a = addr_map_find(r->vmap, base, domain);
	if (a != NULL) {
		for (i = 0; i < a->targets.n; i++)
			resolve_target(r, a->targets.v[i], depth, o);
		return;
	}
	if (domain_list_match(&r->conf->local_domains, domain)) {
		resolve_local(r, base, depth, o);
		return;
	}
	if (r->vmap != NULL && addr_map_has_domain(r->vmap, domain)) {
		note(o, LRES_UNKNOWN, "550 5.1.1 <%s>: user unknown", addr);
		return;
	}
	if (add_once(&o->remote, addr) == -1)
		note(o, LRES_TEMP, "451 4.3.0 out of memory");
}

int
lres_resolve(const struct lres *r, const char *addr, struct lres_out *o)
{
	resolve_addr(r, addr, 0, o);
	if (o->users.n + o->remote.n + o->pipes.n > 0)
		return LRES_OK;
	if (o->worst == LRES_OK) {
		/* an alias with nothing in it */
		o->worst = LRES_UNKNOWN;
		snprintf(o->why, sizeof(o->why), "550 5.1.1 <%s>: user unknown",
		    addr);
	}
	return o->worst;
}

int
lres_check(const struct lres *r, const char *addr, char *why, size_t whysz)
{
	struct lres_out	 o;
	const char	*at = strrchr(addr, '@');
	int		 st;

	why[0] = '\0';
	if (at == NULL || at == addr || at[1] == '\0') {
		snprintf(why, whysz, "no domain");
		return RCPT_CHECK_UNKNOWN;
	}
	if (!lres_local_domain(r, at + 1)) {
		if (r->relay == NULL ||
		    !domain_list_match(&r->conf->relay_domains, at + 1))
			return RCPT_CHECK_OK;
		if (r->relay_broken) {
			snprintf(why, whysz, "relay_recipients unreadable");
			return RCPT_CHECK_TEMPFAIL;
		}
		{
			char	 local[LRES_ADDR_MAX];

			if ((size_t)(at - addr) >= sizeof(local))
				return RCPT_CHECK_UNKNOWN;
			memcpy(local, addr, (size_t)(at - addr));
			local[at - addr] = '\0';
			if (addr_map_find(r->relay, local, at + 1) != NULL)
				return RCPT_CHECK_OK;
		}
		snprintf(why, whysz, "not in relay_recipients");
		return RCPT_CHECK_UNKNOWN;
	}
	{
		/* delivered by its own route (LMTP to a store): not ours to judge */
		const struct route_conf *rc = config_route_for_domain(r->conf,
		    at + 1);

		if (rc != NULL && strcmp(rc->pattern, "*") != 0)
			return RCPT_CHECK_OK;
	}
	lres_out_init(&o);
	st = lres_resolve(r, addr, &o);
	if (st != LRES_OK)
		strlcpy(why, o.why, whysz);
	lres_out_free(&o);
	if (st == LRES_OK)
		return RCPT_CHECK_OK;
	return st == LRES_TEMP ? RCPT_CHECK_TEMPFAIL : RCPT_CHECK_UNKNOWN;
}
