/* posternctl route: the route a recipient's mail would take, its next hops and their DNS answers. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/string.h>
#include <unbound.h>

#include "config.h"
#include "ctl.h"
#include "format.h"
#include "ipc.h"
#include "route.h"
#include "../resolver/dnsmsg.h"

#define RCODE_NXDOMAIN	3

const char *
ctl_dns_status_name(int s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_BOGUS:
		return "bogus";
	default:
		return "tempfail";
	}
}

const char *
ctl_route_tls_name(int t)
{
	static const char *const names[] = { "none", "may", "encrypt",
	    "verify", "dane" };

	return t >= 0 && t <= RTLS_DANE ? names[t] : "?";
}

static const char *
dclass_name(int c)
{
	return c == CTL_DOMAIN_LOCAL ? "local" : c == CTL_DOMAIN_RELAY ?
	    "relay" : "other";
}

static const char *
hop_kind_name(int k)
{
	switch (k) {
	case HOP_MX:
		return "mx";
	case HOP_HOST:
		return "host";
	case HOP_ADDR:
		return "address";
	default:
		return "unix";
	}
}

/* Where the hop came from: "route", "relayhost" or "default" (MX lookup). */
static const char *
hop_source(const struct ctl_route *r)
{
	if (r->dclass == CTL_DOMAIN_LOCAL)
		return "local";
	if (r->rc != NULL)
		return "route";
	if (strcmp(r->hop.why, "relayhost") == 0)
		return "relayhost";
	return "default";
}

int
ctl_route_plan(const struct config *c, const char *arg, struct ctl_route *r,
    char *err, size_t errsz)
{
	const char	*d;
	char		*p;
	size_t		 len;
	int		 rv;

	memset(r, 0, sizeof(*r));
	if (strlcpy(r->query, arg, sizeof(r->query)) >= sizeof(r->query)) {
		snprintf(err, errsz, "argument too long");
		return -1;
	}
	d = strrchr(arg, '@') ? strrchr(arg, '@') + 1 : arg;
	len = strlen(d);
	if (len > 0 && d[len - 1] == '.' && d[0] != '[')
		len--;
	if (len == 0 || len >= sizeof(r->domain)) {
		snprintf(err, errsz, "'%s' has no domain", arg);
		return -1;
	}
	memcpy(r->domain, d, len);
	r->domain[len] = '\0';
	for (p = r->domain; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
			snprintf(err, errsz, "'%s' is not a domain", arg);
			return -1;
		}
		*p = (char)tolower((unsigned char)*p);
	}
	if (r->domain[0] != '[' && !dnsmsg_qname_valid(r->domain)) {
		snprintf(err, errsz, "'%s' is not a domain", r->domain);
		return -1;
	}
	if (domain_list_match(&c->local_domains, r->domain))
		r->dclass = CTL_DOMAIN_LOCAL;
	else if (domain_list_match(&c->relay_domains, r->domain))
		r->dclass = CTL_DOMAIN_RELAY;
	r->rc = config_route_for_domain(c, r->domain);
	r->concurrency = r->rc != NULL && r->rc->concurrency ?
	    r->rc->concurrency : c->destination_concurrency;
	r->rate_limit = r->rc != NULL && r->rc->rate_limit ?
	    r->rc->rate_limit : c->destination_rate_limit;
	if ((rv = route_choose(c, r->domain, &r->hop, err, errsz)) != 0) {
		if (rv == -2 && err[0] == '\0')
			snprintf(err, errsz, "bad domain %s", r->domain);
		return -1;
	}
	return 0;
}

static int
host_cmp(const void *a, const void *b)
{
	const struct mx_host	*x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcasecmp(x->name, y->name);
}

void
ctl_route_mx_hosts(struct ctl_route *r, const char *hostname,
    const struct mx_host *v, size_t n)
{
	struct mx_host	*w;
	size_t		 i, m = 0;

	r->nhosts = 0;
	if (n == 0 || (w = calloc(n, sizeof(*w))) == NULL)
		return;
	for (i = 0; i < n; i++)
		if (v[i].name[0] != '\0')
			w[m++] = v[i];
	r->null_mx = m == 0;
	/* deliver's own rule for our name among the MX hosts */
	m = route_mx_drop_self(w, m, hostname, &r->loop);
	/* deliver shuffles equal preferences; an admin wants a stable list */
	qsort(w, m, sizeof(*w), host_cmp);
	for (i = 0; i < m && r->nhosts < CTL_ROUTE_MAX_HOSTS; i++) {
		struct ctl_route_host *h = &r->hosts[r->nhosts++];

		memset(h, 0, sizeof(*h));
		strlcpy(h->name, w[i].name, sizeof(h->name));
		h->pref = w[i].pref;
		h->has_pref = 1;
	}
	free(w);
}

int
ctl_route_usable(const struct ctl_route *r)
{
	size_t	 i;

	if (r->dclass == CTL_DOMAIN_LOCAL || r->hop.kind == HOP_UNIX ||
	    r->hop.kind == HOP_ADDR)
		return 1;
	for (i = 0; i < r->nhosts; i++)
		if (r->hosts[i].a.n + r->hosts[i].aaaa.n > 0)
			return 1;
	return 0;
}

/* ---- DNS, with the resolver's settings ---- */

static struct ub_ctx *
route_ub_new(const struct config *c)
{
	struct ub_ctx	*ctx;
	size_t		 i;
	int		 r;

	if ((ctx = ub_ctx_create()) == NULL) {
		fprintf(stderr, "posternctl: cannot create a libunbound "
		    "context\n");
		return NULL;
	}
	/* as resolver/resolver.c: a forwarder on loopback, test. served */
	(void)ub_ctx_set_option(ctx, "do-not-query-localhost:", "no");
	(void)ub_ctx_set_option(ctx, "local-zone:", "test. transparent");
	if (c->dns_trust_anchor_file[0] != '\0' &&
	    (r = ub_ctx_add_ta_file(ctx, c->dns_trust_anchor_file)) != 0) {
		fprintf(stderr, "posternctl: dns_trust_anchor_file %s: %s\n",
		    c->dns_trust_anchor_file, ub_strerror(r));
		ub_ctx_delete(ctx);
		return NULL;
	}
	for (i = 0; i < c->dns_forwarders.n; i++) {
		if ((r = ub_ctx_set_fwd(ctx, c->dns_forwarders.v[i])) != 0) {
			fprintf(stderr, "posternctl: dns_forwarders: '%s': %s\n",
			    c->dns_forwarders.v[i], ub_strerror(r));
			ub_ctx_delete(ctx);
			return NULL;
		}
	}
	if (c->dns_forwarders.n == 0 &&
	    (r = ub_ctx_resolvconf(ctx, "/etc/resolv.conf")) != 0)
		fprintf(stderr, "posternctl: warning: /etc/resolv.conf: %s; "
		    "resolving by full recursion\n", ub_strerror(r));
	return ctx;
}

/* One question, mapped to enum dns_status as resolver_status() does. */
static int
route_query(struct ub_ctx *ctx, const char *name, int qtype,
    struct dnsmsg_answers *ans, int *secure)
{
	struct ub_result	*res = NULL;
	int			 st;

	ans->n = 0;
	ans->nbad = 0;
	*secure = 0;
	if (ub_resolve(ctx, name, qtype, 1, &res) != 0 || res == NULL)
		return DNS_TEMPFAIL;
	*secure = res->secure;
	if (res->bogus)
		st = DNS_BOGUS;
	else if (res->rcode == RCODE_NXDOMAIN)
		st = DNS_NXDOMAIN;
	else if (res->rcode != 0 || res->answer_packet == NULL ||
	    res->answer_len <= 0 || dnsmsg_parse(res->answer_packet,
	    (size_t)res->answer_len, (uint16_t)qtype, ans) == -1)
		st = DNS_TEMPFAIL;
	else if (ans->rcode == RCODE_NXDOMAIN)
		st = DNS_NXDOMAIN;
	else if (ans->rcode != 0)
		st = DNS_TEMPFAIL;
	else if (ans->n > 0)
		st = DNS_OK;
	else
		st = ans->nbad > 0 ? DNS_TEMPFAIL : DNS_NODATA;
	ub_resolve_free(res);
	return st;
}

static void
route_ask(struct ub_ctx *ctx, const char *name, int qtype,
    struct dnsmsg_answers *ans, struct ctl_route_rr *rr)
{
	size_t	 i;

	rr->asked = 1;
	rr->status = route_query(ctx, name, qtype, ans, &rr->secure);
	rr->n = 0;
	if (rr->status != DNS_OK)
		return;
	for (i = 0; i < ans->n; i++) {
		if (qtype == DNS_Q_TLSA)
			rr->n++;
		else if (rr->n < CTL_ROUTE_MAX_ADDRS)
			strlcpy(rr->addr[rr->n++], ans->rr[i].text,
			    sizeof(rr->addr[0]));
	}
}

static void
route_resolve(struct ub_ctx *ctx, const struct config *c, struct ctl_route *r,
    struct dnsmsg_answers *ans)
{
	struct mx_host	*v;
	char		 tlsa[DELIVER_HOST_MAX + 16];
	size_t		 i;

	if (r->dclass == CTL_DOMAIN_LOCAL || r->hop.kind == HOP_UNIX ||
	    r->hop.kind == HOP_ADDR)
		return;
	if (r->hop.kind == HOP_MX) {
		route_ask(ctx, r->hop.host, DNS_Q_MX, ans, &r->mx);
		if (r->mx.status == DNS_OK) {
			if ((v = calloc(ans->n, sizeof(*v))) == NULL)
				return;
			for (i = 0; i < ans->n; i++) {
				v[i].pref = ans->rr[i].pref;
				strlcpy(v[i].name, ans->rr[i].text,
				    sizeof(v[i].name));
			}
			ctl_route_mx_hosts(r, c->hostname, v, ans->n);
			free(v);
		} else if (r->mx.status == DNS_NODATA) {
			/* no MX: the name itself is the mail host */
			r->implicit = 1;
			r->nhosts = 1;
			strlcpy(r->hosts[0].name, r->hop.host,
			    sizeof(r->hosts[0].name));
		}
	} else {
		r->nhosts = 1;
		strlcpy(r->hosts[0].name, r->hop.host, sizeof(r->hosts[0].name));
	}
	for (i = 0; i < r->nhosts; i++) {
		struct ctl_route_host *h = &r->hosts[i];

		route_ask(ctx, h->name, DNS_Q_A, ans, &h->a);
		route_ask(ctx, h->name, DNS_Q_AAAA, ans, &h->aaaa);
		if (r->hop.tls == RTLS_DANE) {
			snprintf(tlsa, sizeof(tlsa), "_%u._tcp.%s",
			    (unsigned)r->hop.port, h->name);
			route_ask(ctx, tlsa, DNS_Q_TLSA, ans, &h->tlsa);
		}
	}
}

/* ---- output ---- */

static const char *
dns_status_text(int s)
{
	switch (s) {
	case DNS_NODATA:
		return "no record";
	case DNS_NXDOMAIN:
		return "no such name";
	case DNS_BOGUS:
		return "DNSSEC validation failed";
	default:
		return "temporary DNS failure";
	}
}

static const char *
dnssec_name(const struct ctl_route_rr *rr)
{
	if (rr->status == DNS_BOGUS)
		return "bogus";
	return rr->secure ? "secure" : "insecure";
}

static int
fmt_kv(struct buf *b, const char *key, const char *val)
{
	struct buf	 safe;
	int		 r;

	buf_init(&safe);
	r = ctl_term_safe(&safe, val) == -1 || buf_cstr(&safe) == NULL ? -1 :
	    buf_appendf(b, "%-13s %s\n", key, safe.p);
	buf_free(&safe);
	return r;
}

static int
fmt_rr(struct buf *b, const char *type, const struct ctl_route_rr *rr)
{
	size_t	 i;
	int	 r = 0;

	if (!rr->asked)
		return 0;
	if (rr->status != DNS_OK)
		return buf_appendf(b, "       %-6s (%s)\n", type,
		    dns_status_text(rr->status));
	if (strcmp(type, "TLSA") == 0)
		return buf_appendf(b, "       %-6s %zu record%s (DNSSEC %s)\n",
		    type, rr->n, rr->n == 1 ? "" : "s", dnssec_name(rr));
	for (i = 0; i < rr->n && r == 0; i++)
		r = buf_appendf(b, "       %-6s %s\n", type, rr->addr[i]);
	return r;
}

int
ctl_route_format(struct buf *b, const struct ctl_route *r)
{
	const struct route_hop	*h = &r->hop;
	char			 line[2048];
	size_t			 i;
	int			 rv = 0;

	if (strchr(r->query, '@') != NULL)
		rv |= fmt_kv(b, "Recipient:", r->query);
	rv |= fmt_kv(b, "Domain:", r->domain);
	rv |= fmt_kv(b, "Class:", r->dclass == CTL_DOMAIN_LOCAL ?
	    "local domain (local_domains): delivered on this host" :
	    r->dclass == CTL_DOMAIN_RELAY ?
	    "relay domain (relay_domains): accepted from anyone, relayed" :
	    "other: relayed only for trusted networks and authenticated "
	    "clients");
	if (r->dclass == CTL_DOMAIN_LOCAL) {
		rv |= fmt_kv(b, "Route:", "local delivery (mailboxes, aliases)");
		return rv ? -1 : 0;
	}
	if (r->rc != NULL)
		snprintf(line, sizeof(line), "route \"%s\" (line %d), via %s",
		    r->rc->pattern, r->rc->line, r->rc->via);
	else if (strcmp(h->why, "relayhost") == 0)
		snprintf(line, sizeof(line), "relayhost (no route block "
		    "matches)");
	else
		snprintf(line, sizeof(line), "MX lookup (no route block "
		    "matches, no relayhost)");
	rv |= fmt_kv(b, "Route:", line);
	switch (h->kind) {
	case HOP_MX:
		snprintf(line, sizeof(line), "MX of %s, port %u%s", h->host,
		    (unsigned)h->port, h->lmtp ? ", LMTP" : "");
		break;
	case HOP_UNIX:
		snprintf(line, sizeof(line), "unix socket %s, LMTP", h->host);
		break;
	default:
		snprintf(line, sizeof(line), "%s%s%s port %u%s",
		    h->kind == HOP_HOST ? "host " : "address ",
		    h->host, h->kind == HOP_HOST ? " (no MX lookup)," : ",",
		    (unsigned)h->port, h->lmtp ? ", LMTP" : "");
	}
	rv |= fmt_kv(b, "Next-Hop:", line);
	rv |= fmt_kv(b, "TLS:", ctl_route_tls_name(h->tls));
	if (h->auth_user[0] != '\0')
		rv |= fmt_kv(b, "Auth:", h->auth_user);
	snprintf(line, sizeof(line), "%llu", (unsigned long long)r->concurrency);
	rv |= fmt_kv(b, "Concurrency:", line);
	if (r->rate_limit)
		snprintf(line, sizeof(line), "%llu/minute",
		    (unsigned long long)r->rate_limit);
	else
		strlcpy(line, "none", sizeof(line));
	rv |= fmt_kv(b, "Rate-Limit:", line);
	if (r->mx.asked) {
		if (r->mx.status == DNS_OK)
			snprintf(line, sizeof(line), "%zu host%s (DNSSEC %s)%s%s",
			    r->nhosts, r->nhosts == 1 ? "" : "s",
			    dnssec_name(&r->mx), r->null_mx ?
			    ", null MX: the domain takes no mail" : "",
			    r->loop ? ", loop: this host is the best MX" : "");
		else if (r->implicit)
			snprintf(line, sizeof(line), "no MX record, the name "
			    "itself (DNSSEC %s)", dnssec_name(&r->mx));
		else
			snprintf(line, sizeof(line), "%s",
			    dns_status_text(r->mx.status));
		rv |= fmt_kv(b, "MX:", line);
	}
	if (r->nhosts > 0)
		rv |= buf_appends(b, "Hosts:\n");
	for (i = 0; i < r->nhosts; i++) {
		const struct ctl_route_host *ho = &r->hosts[i];

		if (ho->has_pref)
			rv |= buf_appendf(b, "  %-4u %s\n", ho->pref, ho->name);
		else
			rv |= buf_appendf(b, "  %s\n", ho->name);
		rv |= fmt_rr(b, "A", &ho->a);
		rv |= fmt_rr(b, "AAAA", &ho->aaaa);
		rv |= fmt_rr(b, "TLSA", &ho->tlsa);
	}
	return rv ? -1 : 0;
}

static int
json_rr(struct buf *b, const char *key, const struct ctl_route_rr *rr)
{
	size_t	 i;
	int	 r = 0;

	r |= buf_appendf(b, "\"%s\":", key);
	if (!rr->asked)
		return r | buf_appends(b, "null");
	r |= buf_appendf(b, "{\"status\":\"%s\",\"dnssec\":\"%s\"",
	    ctl_dns_status_name(rr->status), dnssec_name(rr));
	/* MX hosts are listed under "hosts"; TLSA data is not shown */
	if (strcmp(key, "tlsa") == 0 || strcmp(key, "mx") == 0)
		return r | buf_appendf(b, ",\"records\":%zu}", rr->n);
	r |= buf_appends(b, ",\"addresses\":[");
	for (i = 0; i < rr->n; i++) {
		if (i > 0)
			r |= buf_appends(b, ",");
		r |= ctl_json_string(b, rr->addr[i]);
	}
	return r | buf_appends(b, "]}");
}

int
ctl_route_json(struct buf *b, const struct ctl_route *r)
{
	const struct route_hop	*h = &r->hop;
	size_t			 i;
	int			 rv = 0;

	rv |= buf_appends(b, "{\"query\":");
	rv |= ctl_json_string(b, r->query);
	rv |= buf_appends(b, ",\"domain\":");
	rv |= ctl_json_string(b, r->domain);
	rv |= buf_appendf(b, ",\"class\":\"%s\",\"route\":{\"source\":\"%s\"",
	    dclass_name(r->dclass), hop_source(r));
	if (r->rc != NULL) {
		rv |= buf_appends(b, ",\"pattern\":");
		rv |= ctl_json_string(b, r->rc->pattern);
		rv |= buf_appendf(b, ",\"line\":%d,\"via\":", r->rc->line);
		rv |= ctl_json_string(b, r->rc->via);
	}
	if (r->dclass != CTL_DOMAIN_LOCAL) {
		rv |= buf_appendf(b, ",\"kind\":\"%s\",\"host\":",
		    hop_kind_name(h->kind));
		rv |= ctl_json_string(b, h->host);
		rv |= buf_appendf(b, ",\"port\":%u,\"lmtp\":%s,\"tls\":\"%s\","
		    "\"auth_user\":", (unsigned)h->port,
		    h->lmtp ? "true" : "false", ctl_route_tls_name(h->tls));
		rv |= ctl_json_string(b, h->auth_user);
		rv |= buf_appendf(b, ",\"concurrency\":%llu,\"rate_limit\":%llu",
		    (unsigned long long)r->concurrency,
		    (unsigned long long)r->rate_limit);
	}
	rv |= buf_appends(b, "},");
	rv |= json_rr(b, "mx", &r->mx);
	rv |= buf_appendf(b, ",\"implicit_mx\":%s,\"null_mx\":%s,\"loop\":%s,"
	    "\"hosts\":[", r->implicit ? "true" : "false",
	    r->null_mx ? "true" : "false", r->loop ? "true" : "false");
	for (i = 0; i < r->nhosts; i++) {
		const struct ctl_route_host *ho = &r->hosts[i];

		rv |= buf_appends(b, i > 0 ? ",{\"name\":" : "{\"name\":");
		rv |= ctl_json_string(b, ho->name);
		if (ho->has_pref)
			rv |= buf_appendf(b, ",\"preference\":%u", ho->pref);
		else
			rv |= buf_appends(b, ",\"preference\":null");
		rv |= buf_appends(b, ",");
		rv |= json_rr(b, "a", &ho->a);
		rv |= buf_appends(b, ",");
		rv |= json_rr(b, "aaaa", &ho->aaaa);
		rv |= buf_appends(b, ",");
		rv |= json_rr(b, "tlsa", &ho->tlsa);
		rv |= buf_appends(b, "}");
	}
	rv |= buf_appendf(b, "],\"usable\":%s}\n",
	    ctl_route_usable(r) ? "true" : "false");
	return rv ? -1 : 0;
}

/* ---- the verb ---- */

static void
route_usage(void)
{
	fprintf(stderr, "usage: posternctl [-f config] route [--json] "
	    "DOMAIN|ADDRESS\n");
	exit(2);
}

int
ctl_verb_route(const char *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct dnsmsg_answers	*ans;
	struct ctl_route	*r;
	struct ub_ctx		*ctx = NULL;
	struct config		*c;
	struct buf		 b, err;
	char			 why[512];
	int			 ch, json = 0, rv = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (ch != 'j')
			route_usage();
		json = 1;
	}
	if (optind != argc - 1 || argv[optind][0] == '\0')
		route_usage();
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		buf_free(&err);
		return 1;
	}
	buf_free(&err);
	buf_init(&b);
	r = calloc(1, sizeof(*r));
	ans = calloc(1, sizeof(*ans));
	if (r == NULL || ans == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		goto out;
	}
	why[0] = '\0';
	if (ctl_route_plan(c, argv[optind], r, why, sizeof(why)) == -1) {
		fprintf(stderr, "posternctl: route: %s\n", why);
		goto out;
	}
	if (r->dclass != CTL_DOMAIN_LOCAL && r->hop.kind != HOP_UNIX &&
	    r->hop.kind != HOP_ADDR) {
		if ((ctx = route_ub_new(c)) == NULL)
			goto out;
		route_resolve(ctx, c, r, ans);
	}
	if ((json ? ctl_route_json(&b, r) : ctl_route_format(&b, r)) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		goto out;
	}
	ctl_out(&b);
	/* 1 when no next hop has an address: mail there would wait */
	rv = fflush(stdout) == 0 && ctl_route_usable(r) ? 0 : 1;
out:
	if (ctx != NULL)
		ub_ctx_delete(ctx);
	buf_free(&b);
	free(ans);
	free(r);
	config_free(c);
	return rv;
}
