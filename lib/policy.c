/* Open-relay warnings: the settings of a config that let strangers relay. */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>

#include "policy.h"

/*
 * A public IPv4 range shorter than /8 is more than any one site owns; every
 * such range reaches beyond 10/8, the largest private block.
 */
#define WIDE_V4_PREFIX	8
/* IPv6: anything shorter than /16 outside fc00::/7 (unique local) */
#define WIDE_V6_PREFIX	16

static int
cidr_text(const struct cidr *c, char *out, size_t outsz)
{
	if (inet_ntop(c->family, c->addr, out, (socklen_t)outsz) == NULL)
		return -1;
	return 0;
}

/* Inside fc00::/7 (RFC 4193): private, however wide. */
static int
v6_unique_local(const struct cidr *c)
{
	return c->prefix >= 7 && (c->addr[0] & 0xfe) == 0xfc;
}


/*
 * A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d, and an IPv6
 * range matches them (cidr_match_addr): one that holds ::ffff:0:0/96, or
 * a wide part of it, trusts as much of the IPv4 Internet.
 */
static int
wide_v4_mapped(const struct cidr *c)
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

	if (c->prefix <= 96)
		return cidr_prefix_eq(c->addr, mapped, c->prefix);
	return memcmp(c->addr, mapped, sizeof(mapped)) == 0 &&
	    c->prefix - 96 < WIDE_V4_PREFIX;
}

static int
wide_network(const struct cidr *c)
{
	if (c->family == AF_INET)
		return c->prefix < WIDE_V4_PREFIX;
	if (wide_v4_mapped(c))
		return 1;
	return c->prefix < WIDE_V6_PREFIX && !v6_unique_local(c);
}

/* ".com", "*.com", "*", "." : a domain list entry that is a whole TLD or more. */
static int
wide_domain(const char *e)
{
	if (e[0] == '*' && e[1] == '\0')
		return 1;
	if (e[0] == '*' && e[1] == '.')
		e++;
	if (e[0] != '.')
		return 0;
	/* ".tld": one label, or nothing at all */
	return strchr(e + 1, '.') == NULL;
}

/* Lines for a domain list; (size_t)-1 when out cannot grow. */
static size_t
domain_warnings(const char *key, const struct strlist *l, struct buf *out)
{
	size_t	 i, n = 0;
	int	 r;

	for (i = 0; i < l->n; i++) {
		if (!wide_domain(l->v[i]))
			continue;
		if (strcmp(l->v[i], "*") == 0)
			/* not a wildcard here, but surely meant as one */
			r = buf_appendf(out, "%s has '*': it matches no domain, "
			    "but reads as \"every domain\" (an open relay); "
			    "remove it\n", key);
		else
			r = buf_appendf(out, "%s has '%s': mail for a whole "
			    "top-level domain or more is accepted from anyone "
			    "and sent on: an open relay\n", key, l->v[i]);
		if (r == -1)
			return (size_t)-1;
		n++;
	}
	return n;
}

int
policy_open_relay_warnings(const struct config *conf, struct buf *out)
{
	char	 text[INET6_ADDRSTRLEN];
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < conf->trusted_networks.n; i++) {
		const struct cidr *c = &conf->trusted_networks.v[i];

		if (!wide_network(c))
			continue;
		if (cidr_text(c, text, sizeof(text)) == -1)
			continue;
		if (buf_appendf(out, "trusted_networks has %s/%u: %s may relay "
		    "to any domain: an open relay\n", text, c->prefix,
		    c->prefix == 0 ? "every address on the Internet" :
		    "a large part of the Internet") == -1)
			return -1;
		n++;
	}
	if ((i = domain_warnings("relay_domains", &conf->relay_domains,
	    out)) == (size_t)-1)
		return -1;
	n += (int)i;
	if ((i = domain_warnings("local_domains", &conf->local_domains,
	    out)) == (size_t)-1)
		return -1;
	n += (int)i;
	return n;
}
