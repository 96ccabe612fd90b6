/* Unit tests for smtpd/policy.c: relay control at RCPT. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd.h"

static struct config *
policy_conf(void)
{
	static const char text[] =
	    "spool = /nonexistent\n"
	    "local_domains = example.org\n"
	    "relay_domains = .example.net\n"
	    "trusted_networks = 192.0.2.0/24 2001:db8::/32\n"
	    "listener mx {\n\tlisten = 127.0.0.1:25\n}\n";
	struct buf	 err;
	struct config	*c;

	buf_init(&err);
	c = config_parse_buf("test.conf", text, sizeof(text) - 1, &err);
	if (c == NULL)
		fail_msg("config: %s", buf_cstr(&err));
	buf_free(&err);
	return c;
}

static struct sockaddr_in
v4(const char *s)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, s, &sin.sin_addr);
	return sin;
}

static enum policy_verdict
verdict(struct config *c, const char *client, const char *rcpt)
{
	struct sockaddr_in	 sin = v4(client);
	struct addr		 a;
	size_t			 used;

	assert_int_equal(addr_parse_path(rcpt, strlen(rcpt),
	    ADDR_F_POSTMASTER_OK, &a, &used), 0);
	return policy_rcpt(c, (struct sockaddr *)&sin, &a);
}

static void
test_local_and_relay_domains_accepted_from_anyone(void **state)
{
	struct config *c = policy_conf();

	assert_int_equal(verdict(c, "198.51.100.7", "<u@example.org>"), POLICY_ACCEPT);
	assert_int_equal(verdict(c, "198.51.100.7", "<u@EXAMPLE.org>"), POLICY_ACCEPT);
	assert_int_equal(verdict(c, "198.51.100.7", "<u@a.example.net>"), POLICY_ACCEPT);
	config_free(c);
}

static void
test_foreign_domain_from_untrusted_is_relay_denied(void **state)
{
	struct config *c = policy_conf();

	assert_int_equal(verdict(c, "198.51.100.7", "<u@foreign.example>"),
	    POLICY_RELAY_DENIED);
	assert_int_equal(verdict(c, "198.51.100.7", "<u@sub.example.org>"),
	    POLICY_RELAY_DENIED);
	assert_int_equal(verdict(c, "198.51.100.7", "<u@example.net>"),
	    POLICY_RELAY_DENIED);
	assert_int_equal(verdict(c, "198.51.100.7", "<u@[192.0.2.1]>"),
	    POLICY_RELAY_DENIED);
	/* a source route through our domain changes nothing */
	assert_int_equal(verdict(c, "198.51.100.7",
	    "<@example.org:u@foreign.example>"), POLICY_RELAY_DENIED);
	config_free(c);
}

static void
test_trusted_client_may_relay_anywhere(void **state)
{
	struct config		*c = policy_conf();
	struct sockaddr_in6	 s6;
	struct addr		 a;

	assert_int_equal(verdict(c, "192.0.2.55", "<u@foreign.example>"), POLICY_ACCEPT);
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::5", &s6.sin6_addr);
	assert_int_equal(addr_parse_mailbox("u@foreign.example", 17, &a), 0);
	assert_int_equal(policy_rcpt(c, (struct sockaddr *)&s6, &a), POLICY_ACCEPT);
	/* an IPv4 client seen through a dual-stack socket */
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &s6.sin6_addr);
	assert_int_equal(policy_rcpt(c, (struct sockaddr *)&s6, &a), POLICY_ACCEPT);
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &s6.sin6_addr);
	assert_int_equal(policy_rcpt(c, (struct sockaddr *)&s6, &a),
	    POLICY_RELAY_DENIED);
	config_free(c);
}

static void
test_postmaster_is_always_accepted(void **state)
{
	struct config *c = policy_conf();

	assert_int_equal(verdict(c, "198.51.100.7", "<postmaster>"), POLICY_ACCEPT);
	config_free(c);
}

/* A config with the issue 4 policy keys on top of policy_conf's. */
static struct config *
policy_conf_extra(const char *extra)
{
	static const char base[] =
	    "spool = /nonexistent\n"
	    "local_domains = example.org\n"
	    "relay_domains = .example.net\n"
	    "trusted_networks = 192.0.2.0/24 2001:db8::/32\n";
	char		 text[2048];
	struct buf	 err;
	struct config	*c;

	snprintf(text, sizeof(text), "%s%s\nlistener mx {\n\tlisten = "
	    "127.0.0.1:25\n}\n", base, extra);
	buf_init(&err);
	c = config_parse_buf("test.conf", text, strlen(text), &err);
	if (c == NULL)
		fail_msg("config: %s", buf_cstr(&err));
	buf_free(&err);
	return c;
}

static struct addr
path(const char *p)
{
	struct addr	 a;
	size_t		 used;

	assert_int_equal(addr_parse_path(p, strlen(p), ADDR_F_NULL_OK |
	    ADDR_F_POSTMASTER_OK, &a, &used), 0);
	return a;
}

static void
test_routing_characters_in_our_domains_are_refused(void **state)
{
	struct config *c = policy_conf();

	assert_int_equal(verdict(c, "198.51.100.7", "<u%foreign.example@example.org>"),
	    POLICY_ROUTING);
	assert_int_equal(verdict(c, "198.51.100.7", "<foreign.example!u@example.org>"),
	    POLICY_ROUTING);
	assert_int_equal(verdict(c, "198.51.100.7",
	    "<\"u@foreign.example\"@example.org>"), POLICY_ROUTING);
	/* a trusted client cannot use them on our domains either */
	assert_int_equal(verdict(c, "192.0.2.1", "<u%foreign.example@a.example.net>"),
	    POLICY_ROUTING);
	/* but may relay such an address to a foreign host, which owns it */
	assert_int_equal(verdict(c, "192.0.2.1", "<u%x@foreign.example>"),
	    POLICY_ACCEPT);
	/* case tricks: the domain is compared without case, quotes dropped */
	assert_int_equal(verdict(c, "198.51.100.7", "<u@EXAMPLE.ORG>"), POLICY_ACCEPT);
	assert_int_equal(verdict(c, "198.51.100.7", "<\"u\"@example.org>"),
	    POLICY_ACCEPT);
	assert_int_equal(verdict(c, "198.51.100.7", "<u@[IPv6:::1]>"),
	    POLICY_RELAY_DENIED);
	config_free(c);
}

static void
test_never_relay_networks_beat_trust_and_auth(void **state)
{
	struct config		*c = policy_conf_extra(
	    "never_relay_networks = 192.0.2.128/25\n");
	struct sockaddr_in	 in = v4("192.0.2.200"), ok = v4("192.0.2.1");
	struct addr		 foreign = path("<u@foreign.example>");
	struct addr		 ours = path("<u@example.org>");

	assert_int_equal(policy_rcpt(c, (struct sockaddr *)&in, &foreign),
	    POLICY_RELAY_DENIED);
	assert_int_equal(policy_rcpt_session(c, (struct sockaddr *)&in, 1,
	    &foreign), POLICY_RELAY_DENIED);
	assert_int_equal(policy_rcpt_session(c, (struct sockaddr *)&in, 1,
	    &ours), POLICY_ACCEPT);
	assert_int_equal(policy_rcpt(c, (struct sockaddr *)&ok, &foreign),
	    POLICY_ACCEPT);
	config_free(c);
}

static void
test_recipient_check_skips_postmaster_and_foreign(void **state)
{
	struct config	*c = policy_conf();
	struct addr	 a;

	a = path("<bob@example.org>");
	assert_true(policy_rcpt_needs_check(c, &a));
	a = path("<bob@b.example.net>");
	assert_true(policy_rcpt_needs_check(c, &a));
	a = path("<PostMaster@example.org>");
	assert_false(policy_rcpt_needs_check(c, &a));
	a = path("<postmaster>");
	assert_false(policy_rcpt_needs_check(c, &a));
	a = path("<bob@foreign.example>");
	assert_false(policy_rcpt_needs_check(c, &a));
	config_free(c);
}

static void
test_sender_list_entries_match_address_domain_and_subdomains(void **state)
{
	struct config	*c = policy_conf_extra(
	    "sender_reject = Spam@Bad.example @only.example tree.example <>\n");
	struct addr	 a;

	a = path("<spam@bad.example>");
	assert_true(policy_sender_listed(&c->sender_reject, &a));
	a = path("<ham@bad.example>");
	assert_false(policy_sender_listed(&c->sender_reject, &a));
	a = path("<x@only.example>");
	assert_true(policy_sender_listed(&c->sender_reject, &a));
	a = path("<x@sub.only.example>");
	assert_false(policy_sender_listed(&c->sender_reject, &a));
	a = path("<x@tree.example>");
	assert_true(policy_sender_listed(&c->sender_reject, &a));
	a = path("<x@a.b.TREE.example>");
	assert_true(policy_sender_listed(&c->sender_reject, &a));
	a = path("<x@subtree.example>");
	assert_false(policy_sender_listed(&c->sender_reject, &a));
	a = path("<>");
	assert_true(policy_sender_listed(&c->sender_reject, &a));
	config_free(c);
}

static void
test_login_owns_login_and_plus_ext_in_local_domains(void **state)
{
	struct config	*c = policy_conf();
	struct addr	 a;

	a = path("<alice@example.org>");
	assert_true(policy_login_owns(c, "alice", &a));
	a = path("<alice@EXAMPLE.org>");
	assert_true(policy_login_owns(c, "alice", &a));
	a = path("<alice+lists@example.org>");
	assert_true(policy_login_owns(c, "alice", &a));
	a = path("<alicex@example.org>");
	assert_false(policy_login_owns(c, "alice", &a));
	a = path("<Alice@example.org>");
	assert_false(policy_login_owns(c, "alice", &a));
	a = path("<bob@example.org>");
	assert_false(policy_login_owns(c, "alice", &a));
	a = path("<alice@x.example.net>");	/* a relay domain is not ours */
	assert_false(policy_login_owns(c, "alice", &a));
	a = path("<alice@[192.0.2.1]>");
	assert_false(policy_login_owns(c, "alice", &a));
	a = path("<>");
	assert_false(policy_login_owns(c, "alice", &a));
	/* a login that is an address owns exactly that one */
	a = path("<al+x@other.example>");
	assert_true(policy_login_owns(c, "al@other.example", &a));
	a = path("<al@example.org>");
	assert_false(policy_login_owns(c, "al@other.example", &a));
	config_free(c);
}

static void
test_sender_verdicts_in_order(void **state)
{
	struct config		*c = policy_conf_extra(
	    "sender_reject = bad.example\nsender_discard = @quiet.example "
	    "example.org\n");
	struct sockaddr_in	 out = v4("198.51.100.7"), in = v4("192.0.2.1");
	struct sockaddr		*o = (struct sockaddr *)&out;
	struct sockaddr		*i = (struct sockaddr *)&in;
	struct addr		 a;

	a = path("<x@bad.example>");
	assert_int_equal(policy_sender(c, i, NULL, 0, &a), SENDER_REJECT);
	a = path("<x@quiet.example>");
	assert_int_equal(policy_sender(c, o, NULL, 0, &a), SENDER_DISCARD);
	/* own domain from a stranger, then from trust and from a login */
	a = path("<x@example.org>");
	assert_int_equal(policy_sender(c, o, NULL, 0, &a), SENDER_OWN_DOMAIN);
	a = path("<x@a.example.net>");
	assert_int_equal(policy_sender(c, o, NULL, 0, &a), SENDER_OWN_DOMAIN);
	a = path("<x@example.org>");
	assert_int_equal(policy_sender(c, i, NULL, 0, &a), SENDER_DISCARD);
	a = path("<>");
	assert_int_equal(policy_sender(c, o, NULL, 0, &a), SENDER_OK);
	a = path("<x@example.org>");
	assert_int_equal(policy_sender(c, o, "x", 1, &a), SENDER_DISCARD);
	assert_int_equal(policy_sender(c, o, "y", 1, &a), SENDER_NOT_OWNED);
	assert_int_equal(policy_sender(c, o, "y", 0, &a), SENDER_DISCARD);
	a = path("<>");
	assert_int_equal(policy_sender(c, o, "y", 1, &a), SENDER_NOT_OWNED);
	config_free(c);
	c = policy_conf_extra("reject_own_domain_sender = no\n");
	a = path("<x@example.org>");
	assert_int_equal(policy_sender(c, o, NULL, 0, &a), SENDER_OK);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_and_relay_domains_accepted_from_anyone),
		cmocka_unit_test(test_foreign_domain_from_untrusted_is_relay_denied),
		cmocka_unit_test(test_trusted_client_may_relay_anywhere),
		cmocka_unit_test(test_postmaster_is_always_accepted),
		cmocka_unit_test(test_routing_characters_in_our_domains_are_refused),
		cmocka_unit_test(test_never_relay_networks_beat_trust_and_auth),
		cmocka_unit_test(test_recipient_check_skips_postmaster_and_foreign),
		cmocka_unit_test(test_sender_list_entries_match_address_domain_and_subdomains),
		cmocka_unit_test(test_login_owns_login_and_plus_ext_in_local_domains),
		cmocka_unit_test(test_sender_verdicts_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
