/* The resolver process: libunbound on our event loop, answering deliver and smtpd. */
#ifndef POSTERN_RESOLVER_H
#define POSTERN_RESOLVER_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "dnsmsg.h"

/* A query libunbound has not answered in this time gets DNS_TEMPFAIL. */
#define RESOLVER_QUERY_TIMEOUT	30		/* seconds */
/* Queries in flight at once; more are answered DNS_TEMPFAIL at once. */
#define RESOLVER_MAX_QUERIES	4096
/* The peers that ask (deliver, smtpd), and each one's share of the above:
 * a flood of connections at smtpd cannot starve deliver, nor the reverse. */
#define RESOLVER_PEER_DELIVER	0
#define RESOLVER_PEER_SMTPD	1
#define RESOLVER_NPEERS		2
#define RESOLVER_MAX_PEER_QUERIES	(RESOLVER_MAX_QUERIES / RESOLVER_NPEERS)

struct event_base;
struct ub_ctx;

/*
 * Creates and configures the libunbound context on base: forwarders from
 * the config or /etc/resolv.conf (else full recursion), and finalises it
 * with a first local query so that nothing is read from disk once
 * chrooted. Root-only set-up: call before priv_drop(). NULL on error.
 */
struct ub_ctx	*resolver_ub_new(struct event_base *, const struct config *);

/* Takes over conf and ctx, and serves the master channel on fd. */
void		 resolver_start(struct event_base *, struct config *,
		    struct ub_ctx *, int master_fd);

/*
 * Maps libunbound's outcome to an IPC_DNS_ANSWER status (enum dns_status),
 * filling ans from the packet when there is one.
 */
int		 resolver_status(int rcode, int sec, const void *pkt, int len,
		    uint16_t qtype, struct dnsmsg_answers *ans);
/* 1 when a peer with these queries in flight (and all peers with
 * all_queries) must be refused another one. */
int		 resolver_peer_full(size_t peer_queries, size_t all_queries);
/* 1 when a peer may ask for this type (enum dns_qtype). */
int		 resolver_qtype_ok(uint32_t);
/* The IPC_DNS_ANSWER payload. -1 when out of memory. */
int		 resolver_answer_pack(struct buf *, int status, int secure,
		    uint16_t qtype, const struct dnsmsg_answers *);

#endif
