/* Unit tests for smtpd/dnscheck.c: reversed names, DNSBL answers, verdicts. */
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
#include <event2/event.h>

#include "../../smtpd/smtpd.h"
#include "../../smtpd/dnscheck.h"

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static void
test_ipv4_reverse_name_reverses_the_octets(void **state)
{
	struct sockaddr_storage	 ss = addr("192.0.2.10");
	char			 out[256];

	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss,
	    "in-addr.arpa", out, sizeof(out)), 0);
	assert_string_equal(out, "10.2.0.192.in-addr.arpa");
	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss,
	    "zen.example.org.", out, sizeof(out)), 0);
	assert_string_equal(out, "10.2.0.192.zen.example.org");
}

static void
test_ipv6_reverse_name_is_32_nibbles_low_first(void **state)
{
	struct sockaddr_storage	 ss = addr("2001:db8::567:89ab");
	char			 out[256];

	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss,
	    "ip6.arpa", out, sizeof(out)), 0);
	/* RFC 3596 2.5's example */
	assert_string_equal(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

static void
test_v4_mapped_client_is_reversed_as_ipv4(void **state)
{
	struct sockaddr_storage	 ss = addr("::ffff:127.0.0.3");
	char			 out[256];

	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss,
	    "bl.test", out, sizeof(out)), 0);
	assert_string_equal(out, "3.0.0.127.bl.test");
}

static void
test_reverse_name_that_does_not_fit_is_refused(void **state)
{
	struct sockaddr_storage	 ss = addr("2001:db8::1");
	char			 out[256], zone[300];

	/* too small a buffer */
	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss,
	    "ip6.arpa", out, 20), -1);
	/* longer than a DNS name may be */
	memset(zone, 'a', sizeof(zone) - 1);
	zone[sizeof(zone) - 1] = '\0';
	zone[63] = '.';
	zone[127] = '.';
	zone[191] = '.';
	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss, zone,
	    out, sizeof(out)), -1);
	/* an empty zone */
	assert_int_equal(dnscheck_reverse_name((struct sockaddr *)&ss, ".",
	    out, sizeof(out)), -1);
}

static void
test_dnsbl_listing_is_127_8_but_not_its_error_codes(void **state)
{
	assert_true(dnscheck_bl_listed("127.0.0.2"));
	assert_true(dnscheck_bl_listed("127.0.0.11"));
	assert_false(dnscheck_bl_listed("127.255.255.254"));
	assert_false(dnscheck_bl_listed("127.255.255.252"));
	assert_false(dnscheck_bl_listed("192.0.2.1"));
	assert_false(dnscheck_bl_listed("::1"));
	assert_false(dnscheck_bl_listed("garbage"));
}

static void
test_ptr_names_fit_for_received_only(void **state)
{
	assert_true(dnscheck_hostname_ok("mail.example.org"));
	assert_true(dnscheck_hostname_ok("host_1.example.org"));
	assert_false(dnscheck_hostname_ok(""));
	assert_false(dnscheck_hostname_ok("a..b"));
	assert_false(dnscheck_hostname_ok(".a"));
	assert_false(dnscheck_hostname_ok("a b.example"));
	assert_false(dnscheck_hostname_ok("evil\r\nX-Header: 1"));
	assert_false(dnscheck_hostname_ok("a(b).example"));
}

/* ---- verdicts with no resolver channel (a DNS failure) ---- */

static struct config *
conf_with(const char *listener)
{
	struct buf	 err;
	struct config	*c;
	char		 text[512];

	snprintf(text, sizeof(text), "spool = /nonexistent\n"
	    "trusted_networks = 192.0.2.0/24\n"
	    "listener mx {\n\tlisten = 127.0.0.1:25\n%s}\n", listener);
	buf_init(&err);
	c = config_parse_buf("test.conf", text, strlen(text), &err);
	if (c == NULL)
		fail_msg("config: %s", buf_cstr(&err));
	buf_free(&err);
	return c;
}

static struct dnscheck *
start(struct smtpd *env, struct listener *l, const char *listener,
    const char *client)
{
	struct sockaddr_storage ss = addr(client);

	memset(env, 0, sizeof(*env));
	memset(l, 0, sizeof(*l));
	env->base = event_base_new();
	env->conf = conf_with(listener);
	l->env = env;
	return dnscheck_start(env, l, (struct sockaddr *)&ss, client, NULL);
}

static void
done(struct smtpd *env, struct dnscheck *dc)
{
	dnscheck_free(dc);
	config_free(env->conf);
	event_base_free(env->base);
}

static void
test_defaults_check_nothing(void **state)
{
	struct smtpd	 env;
	struct listener	 l;

	assert_null(start(&env, &l, "", "198.51.100.1"));
	assert_int_equal(env.conf->dns_check_timeout, 5000);
	assert_int_equal(env.conf->listeners[0].reverse_dns, DNSCHECK_RDNS_NO);
	assert_int_equal(env.conf->listeners[0].dnsbl_action,
	    DNSCHECK_BL_REJECT);
	done(&env, NULL);
}

static void
test_dns_failure_with_reverse_dns_log_greets(void **state)
{
	struct smtpd	 env;
	struct listener	 l;
	struct dnscheck	*dc;

	dc = start(&env, &l, "\treverse_dns = log\n\tdnsbl = bl.test\n",
	    "198.51.100.1");
	assert_non_null(dc);
	assert_false(dnscheck_busy(dc));
	assert_null(dnscheck_refusal(dc));
	assert_string_equal(dnscheck_name(dc), "");
	done(&env, dc);
}

static void
test_dns_failure_with_require_is_450_4_7_25(void **state)
{
	struct smtpd	 env;
	struct listener	 l;
	struct dnscheck	*dc;

	dc = start(&env, &l, "\treverse_dns = require\n", "198.51.100.1");
	assert_non_null(dc);
	assert_false(dnscheck_busy(dc));
	assert_string_equal(dnscheck_refusal(dc), "450 4.7.25 Client host "
	    "rejected: cannot find your hostname, [198.51.100.1]");
	done(&env, dc);
}

static void
test_trusted_client_is_not_looked_up_in_dnsbls(void **state)
{
	struct smtpd	 env;
	struct listener	 l;

	assert_null(start(&env, &l, "\tdnsbl = bl.test\n", "192.0.2.7"));
	done(&env, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_reverse_name_reverses_the_octets),
		cmocka_unit_test(test_ipv6_reverse_name_is_32_nibbles_low_first),
		cmocka_unit_test(test_v4_mapped_client_is_reversed_as_ipv4),
		cmocka_unit_test(test_reverse_name_that_does_not_fit_is_refused),
		cmocka_unit_test(test_dnsbl_listing_is_127_8_but_not_its_error_codes),
		cmocka_unit_test(test_ptr_names_fit_for_received_only),
		cmocka_unit_test(test_defaults_check_nothing),
		cmocka_unit_test(test_dns_failure_with_reverse_dns_log_greets),
		cmocka_unit_test(test_dns_failure_with_require_is_450_4_7_25),
		cmocka_unit_test(test_trusted_client_is_not_looked_up_in_dnsbls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
