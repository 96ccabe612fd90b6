/* Relay control: which recipients smtpd accepts from which clients. */
#include <sys/types.h>
#include <sys/socket.h>

#include "smtpd.h"

/*
 * A recipient in one of our own domains (local_domains, relay_domains) is
 * accepted from anyone; any other domain only from trusted_networks, or
 * we would be an open relay. A bare "postmaster" (RFC 5321 4.5.1) is ours
 * by definition. An address literal is never one of our domains.
 */
enum policy_verdict
policy_rcpt(const struct config *conf, const struct sockaddr *client,
    const struct addr *rcpt)
{
	if (rcpt->kind == ADDR_POSTMASTER)
		return POLICY_ACCEPT;
	if (rcpt->kind != ADDR_MAILBOX)
		return POLICY_RELAY_DENIED;
	if (!rcpt->literal &&
	    (domain_list_match(&conf->local_domains, rcpt->domain) ||
	    domain_list_match(&conf->relay_domains, rcpt->domain)))
		return POLICY_ACCEPT;
	if (client != NULL && cidrlist_match(&conf->trusted_networks, client))
		return POLICY_ACCEPT;
	return POLICY_RELAY_DENIED;
}

enum policy_verdict
policy_rcpt_session(const struct config *conf, const struct sockaddr *client,
    int authenticated, const struct addr *rcpt)
{
	/* a user who proved a password is one of ours, wherever they are */
	if (authenticated && (rcpt->kind == ADDR_MAILBOX ||
	    rcpt->kind == ADDR_POSTMASTER))
		return POLICY_ACCEPT;
	return policy_rcpt(conf, client, rcpt);
}
