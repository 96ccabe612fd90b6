/* posternctl route: which way mail for a recipient would go, and its next hops in DNS. */
#ifndef POSTERN_CTL_ROUTE_H
#define POSTERN_CTL_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "../deliver/deliver.h"

#define CTL_ROUTE_MAX_ADDRS	DELIVER_MAX_ADDRS	/* per family and host */
#define CTL_ROUTE_MAX_HOSTS	DELIVER_MAX_MX

/* What the recipient's domain is to postern. */
enum ctl_domain_class {
	CTL_DOMAIN_OTHER = 0,	/* relayed for trusted networks and AUTH only */
	CTL_DOMAIN_LOCAL,	/* local_domains: delivered on this host */
	CTL_DOMAIN_RELAY,	/* relay_domains: accepted from anyone, relayed */
};

/* One DNS question's outcome: enum dns_status, DNSSEC, and whether asked. */
struct ctl_route_rr {
	int		 asked;
	int		 status;	/* enum dns_status */
	int		 secure;
	size_t		 n;		/* records (addresses, TLSA records) */
	char		 addr[CTL_ROUTE_MAX_ADDRS][64];	/* A/AAAA text */
};

struct ctl_route_host {
	char			 name[DELIVER_HOST_MAX];
	uint32_t		 pref;
	int			 has_pref;	/* an MX record named it */
	struct ctl_route_rr	 a, aaaa, tlsa;
};

struct ctl_route {
	char			 query[DELIVER_HOST_MAX + 1024];	/* as given */
	char			 domain[DELIVER_HOST_MAX];
	int			 dclass;		/* enum ctl_domain_class */
	struct route_hop	 hop;
	const struct route_conf	*rc;		/* the matching route block */
	uint64_t		 concurrency;
	uint64_t		 rate_limit;		/* messages/minute, 0 = none */
	struct ctl_route_rr	 mx;		/* the MX question, when asked */
	int			 null_mx;	/* every MX record was "." */
	int			 loop;		/* we are the best MX */
	int			 implicit;	/* no MX: the name itself */
	struct ctl_route_host	 hosts[CTL_ROUTE_MAX_HOSTS];
	size_t			 nhosts;
};

/*
 * The route part, without DNS: the domain of DOMAIN or ADDRESS (lower
 * case, no final dot), its class, and the next hop deliver would choose.
 * -1 with a reason in err when the argument or the config's hop is bad.
 */
int	ctl_route_plan(const struct config *, const char *arg, struct ctl_route *,
	    char *err, size_t errsz);
/* Orders the MX answers as they are tried (preference, then name); drops
 * null MX and the hosts at or below our own preference. */
void	ctl_route_mx_hosts(struct ctl_route *, const char *hostname,
	    const struct mx_host *, size_t n);
/* 1 when at least one next hop has an address (or needs none). */
int	ctl_route_usable(const struct ctl_route *);
int	ctl_route_format(struct buf *, const struct ctl_route *);
int	ctl_route_json(struct buf *, const struct ctl_route *);

const char	*ctl_dns_status_name(int);
const char	*ctl_route_tls_name(int);

/* The verb: posternctl route [--json] DOMAIN|ADDRESS. */
int	ctl_verb_route(const char *conf, int argc, char **argv);

#endif
