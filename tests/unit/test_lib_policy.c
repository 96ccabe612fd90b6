/* Unit tests for lib/policy.c: the open-relay warnings of a config. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "policy.h"

static struct config *
conf_with(const char *globals)
{
	char		 text[2048];
	struct buf	 err;
	struct config	*c;

	snprintf(text, sizeof(text), "spool = /nonexistent\n%s\n"
	    "listener mx {\n\tlisten = 127.0.0.1:25\n}\n", globals);
	buf_init(&err);
	c = config_parse_buf("t.conf", text, strlen(text), &err);
	if (c == NULL)
		fail_msg("config: %s", buf_cstr(&err));
	buf_free(&err);
	return c;
}

/* The number of warnings; their text in out (caller frees). */
static int
warnings(const char *globals, struct buf *out)
{
	struct config	*c = conf_with(globals);
	int		 n;

	buf_init(out);
	n = policy_open_relay_warnings(c, out);
	config_free(c);
	return n;
}

static void
test_default_config_is_a_closed_relay(void **state)
{
	struct buf out;

	assert_int_equal(warnings("local_domains = example.org\n"
	    "relay_domains = .example.net *.example.com", &out), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void
test_trusting_the_whole_internet_is_an_open_relay(void **state)
{
	struct buf out;

	assert_int_equal(warnings("trusted_networks = 0.0.0.0/0 ::/0", &out), 2);
	assert_non_null(strstr(buf_cstr(&out), "trusted_networks has 0.0.0.0/0"));
	assert_non_null(strstr(buf_cstr(&out), "trusted_networks has ::/0"));
	buf_free(&out);
}

static void
test_public_ranges_shorter_than_slash_8_warn_private_do_not(void **state)
{
	struct buf out;

	assert_int_equal(warnings("trusted_networks = 64.0.0.0/2 8.0.0.0/8 "
	    "10.0.0.0/8 192.168.0.0/16 127.0.0.0/8", &out), 1);
	assert_non_null(strstr(buf_cstr(&out), "64.0.0.0/2"));
	buf_free(&out);
	assert_int_equal(warnings("trusted_networks = 2000::/3 fc00::/7 "
	    "2001:db8::/32 ::1/128", &out), 1);
	assert_non_null(strstr(buf_cstr(&out), "2000::/3"));
	buf_free(&out);
}

/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: such a range
 * trusts IPv4 clients as widely as its IPv4 equivalent. */
static void
test_v4_mapped_ranges_warn_like_their_ipv4_equivalent(void **state)
{
	struct buf out;

	assert_int_equal(warnings("trusted_networks = ::ffff:0.0.0.0/96 ::/64 "
	    "::ffff:64.0.0.0/98", &out), 3);
	assert_non_null(strstr(buf_cstr(&out), "::ffff:0.0.0.0/96"));
	assert_non_null(strstr(buf_cstr(&out), "::/64"));
	assert_non_null(strstr(buf_cstr(&out), "::ffff:64.0.0.0/98"));
	buf_free(&out);
	/* ::ffff:10.0.0.0/104 is 10/8; ::1 and 2001:db8::/32 hold no IPv4 */
	assert_int_equal(warnings("trusted_networks = ::ffff:10.0.0.0/104 "
	    "::1/128 2001:db8::/32 ::/96", &out), 0);
	buf_free(&out);
}

static void
test_relay_domains_covering_a_tld_or_star_warn(void **state)
{
	struct buf out;

	assert_int_equal(warnings("relay_domains = .com * example.net\n"
	    "local_domains = *.org", &out), 3);
	assert_non_null(strstr(buf_cstr(&out), "relay_domains has '.com'"));
	assert_non_null(strstr(buf_cstr(&out), "relay_domains has '*'"));
	assert_non_null(strstr(buf_cstr(&out), "local_domains has '*.org'"));
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_config_is_a_closed_relay),
		cmocka_unit_test(test_trusting_the_whole_internet_is_an_open_relay),
		cmocka_unit_test(test_public_ranges_shorter_than_slash_8_warn_private_do_not),
		cmocka_unit_test(test_v4_mapped_ranges_warn_like_their_ipv4_equivalent),
		cmocka_unit_test(test_relay_domains_covering_a_tld_or_star_warn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
