/* Route choice: which next hop a domain's mail goes to, and MX ordering. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "deliver.h"

/* port of a configured next hop that names none (Postfix does the same) */
#define ROUTE_DEFAULT_PORT	25

int
route_ip_literal(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		*len = sizeof(*sin);
		return 1;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		*len = sizeof(*sin6);
		return 1;
	}
	return 0;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 address literals). */
static int
domain_literal(const char *domain, char *out, size_t outsz)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	size_t			 len = strlen(domain);
	const char		*s;

	if (len < 3 || domain[0] != '[' || domain[len - 1] != ']')
		return 0;
	s = domain + 1;
	len -= 2;
	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
	}
	if (len >= outsz)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	if (!route_ip_literal(out, &ss, &sl))
		return -1;
	/* a bare v6 address must have had its IPv6: tag, a v4 must not */
	if ((ss.ss_family == AF_INET6) != (s != domain + 1))
		return -1;
	return 1;
}

static int
hop_from_nexthop(const char *via, const char *why, struct route_hop *h,
    char *err, size_t errsz)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 bracketed;

	uint16_t		 defport = ROUTE_DEFAULT_PORT;

	if (strncmp(via, "lmtp:", 5) == 0) {
		h->lmtp = 1;
		via += 5;
		defport = DELIVER_LMTP_PORT;
		if (strncmp(via, "unix:", 5) == 0) {
			via += 5;
			/* sun_path holds 108 octets with the NUL */
			if (via[0] != '/' || strlen(via) >= 108) {
				snprintf(err, errsz, "%s: bad LMTP socket "
				    "path '%s'", why, via);
				return -1;
			}
			strlcpy(h->host, via, sizeof(h->host));
			h->kind = HOP_UNIX;
			h->recipient_domain = 0;
			strlcpy(h->why, why, sizeof(h->why));
			return 0;
		}
	}
	if (hostport_parse(via, h->host, sizeof(h->host), &h->port,
	    &bracketed, defport) == -1) {
		snprintf(err, errsz, "%s: bad next hop '%s'", why, via);
		return -1;
	}
	if (route_ip_literal(h->host, &ss, &sl))
		h->kind = HOP_ADDR;
	else
		h->kind = bracketed || h->lmtp ? HOP_HOST : HOP_MX;
	h->recipient_domain = 0;
	strlcpy(h->why, why, sizeof(h->why));
	return 0;
}

int
route_choose(const struct config *c, const char *domain, struct route_hop *h,
    char *err, size_t errsz)
{
	const struct route_conf	*r;
	char			 why[sizeof(h->why)];
	int			 lit;

	memset(h, 0, sizeof(*h));
	h->tls = RTLS_MAY;
	if ((r = config_route_for_domain(c, domain)) != NULL) {
		h->tls = r->tls;
		if (r->auth_user != NULL)
			strlcpy(h->auth_user, r->auth_user, sizeof(h->auth_user));
		if (r->auth_password_file != NULL)
			strlcpy(h->auth_file, r->auth_password_file,
			    sizeof(h->auth_file));
	}
	if (r != NULL && strcmp(r->via, "mx") != 0) {
		snprintf(why, sizeof(why), "route \"%s\"", r->pattern);
		return hop_from_nexthop(r->via, why, h, err, errsz);
	}
	/* an explicit "mx" route overrides the relayhost */
	if (r == NULL && c->relayhost != NULL && c->relayhost[0] != '\0')
		return hop_from_nexthop(c->relayhost, "relayhost", h, err,
		    errsz);
	h->port = (uint16_t)c->remote_port;
	strlcpy(h->why, r != NULL ? "route mx" : "mx", sizeof(h->why));
	lit = domain_literal(domain, h->host, sizeof(h->host));
	if (lit == -1) {
		snprintf(err, errsz, "bad address literal %s", domain);
		return -2;
	}
	if (lit == 1) {
		h->kind = HOP_ADDR;
		return 0;
	}
	if (strlcpy(h->host, domain, sizeof(h->host)) >= sizeof(h->host)) {
		snprintf(err, errsz, "domain name too long");
		return -2;
	}
	h->kind = HOP_MX;
	h->recipient_domain = 1;
	return 0;
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

size_t
route_mx_order(struct mx_host *v, size_t n, size_t max, int *all_null)
{
	size_t		 i, j, k, m = 0;
	struct mx_host	 t;

	for (i = 0; i < n; i++) {
		if (v[i].name[0] == '\0')
			continue;
		if (m != i)
			v[m] = v[i];
		m++;
	}
	*all_null = n > 0 && m == 0;
	qsort(v, m, sizeof(*v), mx_cmp);
	/* equal preferences share the load: Fisher-Yates within each run */
	for (i = 0; i < m; i = j) {
		for (j = i + 1; j < m && v[j].pref == v[i].pref; j++)
			;
		for (k = j - 1; k > i; k--) {
			size_t r = i + arc4random_uniform((uint32_t)(k - i + 1));

			t = v[k];
			v[k] = v[r];
			v[r] = t;
		}
	}
	return m < max ? m : max;
}

/* Host names compare without case and without a final dot. */
static int
same_host(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

size_t
route_mx_drop_self(struct mx_host *v, size_t n, const char *hostname,
    int *loop)
{
	size_t		 i, m = 0;
	uint32_t	 self = UINT32_MAX;
	int		 found = 0;

	*loop = 0;
	for (i = 0; i < n; i++)
		if (hostname != NULL && same_host(v[i].name, hostname) &&
		    v[i].pref <= self) {
			self = v[i].pref;
			found = 1;
		}
	if (!found)
		return n;
	for (i = 0; i < n; i++)
		if (v[i].pref < self)
			v[m++] = v[i];
	*loop = m == 0;
	return m;
}

int
route_addr_is_self(const struct config *c, const struct sockaddr *sa)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 host[DELIVER_HOST_MAX];
	uint16_t		 port, want;
	size_t			 i, j;
	int			 br;

	if (sa->sa_family == AF_INET)
		want = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		want = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	else
		return 0;
	for (i = 0; i < c->nlisteners; i++)
		for (j = 0; j < c->listeners[i].listen.n; j++) {
			if (hostport_parse(c->listeners[i].listen.v[j], host,
			    sizeof(host), &port, &br, 25) == -1 ||
			    port != want || !route_ip_literal(host, &ss, &sl) ||
			    ss.ss_family != sa->sa_family)
				continue;
			if (sa->sa_family == AF_INET &&
			    memcmp(&((struct sockaddr_in *)&ss)->sin_addr,
			    &((const struct sockaddr_in *)sa)->sin_addr, 4) == 0)
				return 1;
			if (sa->sa_family == AF_INET6 &&
			    memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr,
			    16) == 0)
				return 1;
		}
	return 0;
}
