/* Unit tests for smtpd/policy.c: relay control at RCPT. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_and_relay_domains_accepted_from_anyone),
		cmocka_unit_test(test_foreign_domain_from_untrusted_is_relay_denied),
		cmocka_unit_test(test_trusted_client_may_relay_anywhere),
		cmocka_unit_test(test_postmaster_is_always_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
