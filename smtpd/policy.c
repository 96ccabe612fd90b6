/* Relay and sender policy: which senders and recipients smtpd accepts from whom. */
#include <sys/types.h>
#include <sys/socket.h>

#include <string.h>
#include <strings.h>

#include "smtpd.h"

/*
 * Characters that make a local part a route to somewhere else on hosts
 * that still honour the old conventions (the "%" hack, UUCP bang paths,
 * a quoted "user@host"). Postern never routes on them, but the inside
 * server a relay domain goes to might: in our own domains they are refused.
 */
#define ROUTING_CHARS	"%!@"

int
policy_own_domain(const struct config *conf, const struct addr *a)
{
	/* an address literal is never one of our domains: no IP tricks */
	return a->kind == ADDR_MAILBOX && !a->literal &&
	    (domain_list_match(&conf->local_domains, a->domain) ||
	    domain_list_match(&conf->relay_domains, a->domain) ||
	    vdomains_has(a->domain));
}

static int
never_relays(const struct config *conf, const struct sockaddr *client)
{
	return client != NULL &&
	    cidrlist_match(&conf->never_relay_networks, client);
}

static int
trusted(const struct config *conf, const struct sockaddr *client)
{
	return client != NULL &&
	    cidrlist_match(&conf->trusted_networks, client);
}

/*
 * A recipient in one of our own domains (local_domains, relay_domains) is
 * accepted from anyone; any other domain only from trusted_networks, or
 * we would be an open relay, and never from never_relay_networks. A bare
 * "postmaster" (RFC 5321 4.5.1) is ours by definition.
 */
enum policy_verdict
policy_rcpt(const struct config *conf, const struct sockaddr *client,
    const struct addr *rcpt)
{
	if (rcpt->kind == ADDR_POSTMASTER)
		return POLICY_ACCEPT;
	if (rcpt->kind != ADDR_MAILBOX)
		return POLICY_RELAY_DENIED;
	if (policy_own_domain(conf, rcpt)) {
		if (strpbrk(rcpt->local, ROUTING_CHARS) != NULL)
			return POLICY_ROUTING;
		return POLICY_ACCEPT;
	}
	if (trusted(conf, client) && !never_relays(conf, client))
		return POLICY_ACCEPT;
	return POLICY_RELAY_DENIED;
}

enum policy_verdict
policy_rcpt_session(const struct config *conf, const struct sockaddr *client,
    int authenticated, const struct addr *rcpt)
{
	/* a user who proved a password is one of ours, wherever they are */
	if (authenticated && rcpt->kind == ADDR_MAILBOX &&
	    !policy_own_domain(conf, rcpt) && !never_relays(conf, client))
		return POLICY_ACCEPT;
	return policy_rcpt(conf, client, rcpt);
}

int
policy_rcpt_needs_check(const struct config *conf, const struct addr *rcpt)
{
	/* RFC 5321 4.5.1: postmaster must work, whatever the tables say */
	return policy_own_domain(conf, rcpt) &&
	    strcasecmp(rcpt->local, "postmaster") != 0;
}

/* domain is entry itself or one of its subdomains (case-insensitive). */
static int
domain_or_sub(const char *domain, const char *entry)
{
	size_t dl = strlen(domain), el = strlen(entry);

	if (el == 0)
		return 0;
	if (strcasecmp(domain, entry) == 0)
		return 1;
	return dl > el && domain[dl - el - 1] == '.' &&
	    strcasecmp(domain + dl - el, entry) == 0;
}

int
policy_sender_listed(const struct strlist *l, const struct addr *a)
{
	const char	*e, *at;
	size_t		 i, ll;

	for (i = 0; i < l->n; i++) {
		e = l->v[i];
		if (strcmp(e, "<>") == 0) {
			if (a->kind == ADDR_NULL)
				return 1;
			continue;
		}
		if (a->kind != ADDR_MAILBOX)
			continue;
		if (e[0] == '@') {
			if (strcasecmp(a->domain, e + 1) == 0)
				return 1;
		} else if ((at = strrchr(e, '@')) != NULL) {
			ll = (size_t)(at - e);
			if (strlen(a->local) == ll &&
			    strncasecmp(a->local, e, ll) == 0 &&
			    strcasecmp(a->domain, at + 1) == 0)
				return 1;
		} else if (domain_or_sub(a->domain, e))
			return 1;
	}
	return 0;
}

/*
 * login@domain or login+ext@domain (any character of recipient_delimiter
 * for "+"), domain one of local_domains; a login
 * that is itself an address ("alice@example.org") owns that address and
 * its +ext forms. The local part is compared exactly (logins are case
 * sensitive), the domain without regard to case.
 */
int
policy_login_owns(const struct config *conf, const char *login,
    const struct addr *from)
{
	const char	*at;
	size_t		 ll, n;

	if (from->kind != ADDR_MAILBOX || from->literal || login == NULL ||
	    *login == '\0')
		return 0;
	if ((at = strchr(login, '@')) != NULL) {
		ll = (size_t)(at - login);
		if (strcasecmp(from->domain, at + 1) != 0)
			return 0;
	} else {
		ll = strlen(login);
		if (!domain_list_match(&conf->local_domains, from->domain))
			return 0;
	}
	n = strlen(from->local);
	if (ll == 0 || n < ll || memcmp(from->local, login, ll) != 0)
		return 0;
	/* recipient_delimiter: each of its characters starts an extension */
	return n == ll || (conf->recipient_delimiter != NULL &&
	    strchr(conf->recipient_delimiter, from->local[ll]) != NULL);
}

/*
 * The order says which reason a client hears: the admin's explicit
 * refusal first, then forgery by a logged-in user, then forgery of our
 * domains by a stranger; a discard only once nothing refuses.
 */
enum sender_verdict
policy_sender(const struct config *conf, const struct sockaddr *client,
    const char *auth_user, int login_match, const struct addr *from)
{
	if (policy_sender_listed(&conf->sender_reject, from))
		return SENDER_REJECT;
	if (auth_user != NULL && login_match &&
	    !policy_login_owns(conf, auth_user, from))
		return SENDER_NOT_OWNED;
	if (conf->reject_own_domain_sender && auth_user == NULL &&
	    !trusted(conf, client) && policy_own_domain(conf, from))
		return SENDER_OWN_DOMAIN;
	if (policy_sender_listed(&conf->sender_discard, from))
		return SENDER_DISCARD;
	return SENDER_OK;
}
