/* smtpd's connect-time DNS checks: forward-confirmed reverse DNS, DNSBLs. */
#ifndef POSTERN_SMTPD_DNSCHECK_H
#define POSTERN_SMTPD_DNSCHECK_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

/* A listener's reverse_dns and dnsbl_action (the config's enum order). */
enum dnscheck_rdns {
	DNSCHECK_RDNS_NO = 0,		/* no PTR lookup */
	DNSCHECK_RDNS_LOG = 1,		/* look up, record, never refuse */
	DNSCHECK_RDNS_REQUIRE = 2,	/* no confirmed name: 450 4.7.25 */
};
enum dnscheck_action {
	DNSCHECK_BL_REJECT = 0,		/* listed: 554 5.7.1 at the greeting */
	DNSCHECK_BL_LOG = 1,		/* listed: logged only */
};

/* Host names from PTR records whose addresses are looked up, at most. */
#define DNSCHECK_MAX_NAMES	4
/* DNSBL zones of one listener that are asked, at most. */
#define DNSCHECK_MAX_ZONES	16
/*
 * Queries smtpd keeps in flight at the resolver: beyond it (a connection
 * flood), new sessions skip the checks as if DNS had failed. It is the
 * resolver's share for smtpd (RESOLVER_MAX_PEER_QUERIES).
 */
#define DNSCHECK_MAX_INFLIGHT	2048
/* Longest name we build or keep, without the NUL. */
#define DNSCHECK_NAME_MAX	253

struct smtpd;
struct listener;
struct session;
struct dnscheck;

/*
 * "<reversed address>.<suffix>": d.c.b.a for IPv4 (also an IPv4 client
 * seen through a dual-stack socket), 32 nibbles for IPv6 (RFC 3596).
 * suffix is "in-addr.arpa", "ip6.arpa" or a DNSBL zone (a trailing dot is
 * dropped). -1 when it does not fit out, or the family is not IP.
 */
int	dnscheck_reverse_name(const struct sockaddr *, const char *suffix,
	    char *out, size_t outsz);
/* 1 when a DNSBL's A record means "listed" (127.0.0.0/8 less the
 * 127.255.255.0/24 error codes that some lists answer with). */
int	dnscheck_bl_listed(const char *addr);
/* 1 when a PTR target is a host name we would put in a Received header. */
int	dnscheck_hostname_ok(const char *);

/*
 * Starts the checks the listener asks for on a new session; NULL when
 * there is nothing to check (or no memory: logged, the session goes on
 * unchecked). The result comes back through session_dns_ready(), never
 * from inside this call; a check that needs no answer is done at once.
 */
struct dnscheck	*dnscheck_start(struct smtpd *, struct listener *,
		    const struct sockaddr *, const char *addr, struct session *);
/* 1 while answers are awaited (the greeting must wait). NULL: 0. */
int		 dnscheck_busy(const struct dnscheck *);
/* The reply that refuses the client at the greeting, or NULL. */
const char	*dnscheck_refusal(const struct dnscheck *);
/* The forward-confirmed client name, "" when there is none. */
const char	*dnscheck_name(const struct dnscheck *);
/* Forgets the check; its late answers are dropped. NULL is fine. */
void		 dnscheck_free(struct dnscheck *);

/* The master's IPC_PEER for PROC_RESOLVER: takes m->fd. A new channel
 * replaces the old; checks waiting on the old one fail as timeouts. */
void		 dnscheck_peer(struct smtpd *, struct ipc_msg *);
/* Drops the resolver channel (shutdown). */
void		 dnscheck_shutdown(struct smtpd *);

/* In session.c: the check of s is complete; greet (or refuse) now. */
void		 session_dns_ready(struct session *);

#endif
