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

	if (strncmp(via, "lmtp:", 5) == 0) {
		snprintf(err, errsz, "%s: LMTP next hops are not supported yet",
		    why);
		return -1;
	}
	if (hostport_parse(via, h->host, sizeof(h->host), &h->port,
	    &bracketed, ROUTE_DEFAULT_PORT) == -1) {
		snprintf(err, errsz, "%s: bad next hop '%s'", why, via);
		return -1;
	}
	if (route_ip_literal(h->host, &ss, &sl))
		h->kind = HOP_ADDR;
	else
		h->kind = bracketed ? HOP_HOST : HOP_MX;
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
	if ((r = config_route_for_domain(c, domain)) != NULL &&
	    strcmp(r->via, "mx") != 0) {
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
