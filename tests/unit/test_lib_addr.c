/* Unit tests for lib/addr.c: the RFC 5321 path and mailbox parser. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bsd/string.h>

#include "addr.h"

/* Parses s as a path; returns the formatted address or NULL. */
static const char *
path(const char *s, int flags)
{
	static char	 out[ADDR_TEXT_MAX];
	struct addr	 a;
	size_t		 used;

	if (addr_parse_path(s, strlen(s), flags, &a, &used) == -1)
		return NULL;
	if (used != strlen(s))
		return NULL;
	assert_int_equal(addr_format(&a, out, sizeof(out)), 0);
	return out;
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_plain_mailbox_is_accepted(void **state)
{
	assert_string_equal(path("<user@example.org>", 0), "user@example.org");
	assert_string_equal(path("<first.last+tag@sub.example-x.org>", 0),
	    "first.last+tag@sub.example-x.org");
	assert_string_equal(path("<!#$%&'*+-/=?^_`{|}~@a.b>", 0),
	    "!#$%&'*+-/=?^_`{|}~@a.b");
	assert_string_equal(path("<u@localhost>", 0), "u@localhost");
}

static void
test_null_sender_only_when_allowed(void **state)
{
	struct addr	 a;
	size_t		 used;

	assert_int_equal(addr_parse_path("<>", 2, ADDR_F_NULL_OK, &a, &used), 0);
	assert_int_equal(a.kind, ADDR_NULL);
	assert_int_equal(used, 2);
	assert_string_equal(path("<>", ADDR_F_NULL_OK), "");
	assert_null(path("<>", 0));
	assert_null(path("<>", ADDR_F_POSTMASTER_OK));
}

static void
test_bare_postmaster_only_when_allowed(void **state)
{
	assert_string_equal(path("<postmaster>", ADDR_F_POSTMASTER_OK),
	    "postmaster");
	assert_string_equal(path("<PostMaster>", ADDR_F_POSTMASTER_OK),
	    "postmaster");
	assert_null(path("<postmaster>", ADDR_F_NULL_OK));
	assert_null(path("<postmasterx>", ADDR_F_POSTMASTER_OK));
	assert_null(path("<@a.b:postmaster>", ADDR_F_POSTMASTER_OK));
	assert_string_equal(path("<postmaster@example.org>", 0),
	    "postmaster@example.org");
}

static void
test_source_route_is_stripped(void **state)
{
	assert_string_equal(path("<@a.example,@b.example:u@d.example>", 0),
	    "u@d.example");
	assert_string_equal(path("<@a:u@d>", 0), "u@d");
	assert_null(path("<@a.example:>", 0));
	assert_null(path("<@:u@d>", 0));
	assert_null(path("<@a,b:u@d>", 0));
	assert_null(path("<@a;@b:u@d>", 0));
	assert_null(path("<@a.example,u@d>", 0));
}

static void
test_quoted_local_part(void **state)
{
	assert_string_equal(path("<\"john doe\"@example.org>", 0),
	    "\"john doe\"@example.org");
	assert_string_equal(path("<\"a\\\"b\"@x.y>", 0), "\"a\\\"b\"@x.y");
	/* a quoted dot-string has one spelling: unquoted */
	assert_string_equal(path("<\"plain.name\"@x.y>", 0), "plain.name@x.y");
	assert_string_equal(path("<\"\\a\"@x.y>", 0), "a@x.y");
	assert_null(path("<\"\"@x.y>", 0));
	assert_null(path("<\"unterminated@x.y>", 0));
	assert_null(path("<\"a\"b@x.y>", 0));
	assert_null(path("<\"tab\there\"@x.y>", 0));
	assert_null(path("<\"bs at end\\\"@x.y>", 0));
}

static void
test_ip_literals(void **state)
{
	struct addr	 a;
	size_t		 used;
	const char	*s = "<u@[192.0.2.1]>";

	assert_int_equal(addr_parse_path(s, strlen(s), 0, &a, &used), 0);
	assert_int_equal(a.literal, 1);
	assert_string_equal(a.domain, "[192.0.2.1]");
	assert_string_equal(path("<u@[IPv6:2001:db8::1]>", 0), "u@[IPv6:2001:db8::1]");
	assert_string_equal(path("<u@[ipv6:::1]>", 0), "u@[ipv6:::1]");
	assert_string_equal(path("<u@[IPv6:::ffff:192.0.2.1]>", 0),
	    "u@[IPv6:::ffff:192.0.2.1]");
	assert_null(path("<u@[256.0.0.1]>", 0));
	assert_null(path("<u@[1.2.3]>", 0));
	assert_null(path("<u@[1.2.3.4.5]>", 0));
	assert_null(path("<u@[01.2.3.4]>", 0));
	assert_null(path("<u@[1.2.3.4>", 0));
	assert_null(path("<u@[IPv6:1:2:3]>", 0));
	assert_null(path("<u@[IPv6:]>", 0));
	assert_null(path("<u@[2001:db8::1]>", 0));
	assert_null(path("<u@[tag:stuff]>", 0));
	assert_null(path("<u@[]>", 0));
}

static void
test_malformed_paths_are_refused(void **state)
{
	static const char *bad[] = {
		"", "<", ">", "<<a@b>>", "a@b", "<a@b", "a@b>", "<a@>", "<@b>",
		"<a>", "<a@b.>", "<a@.b>", "<a@b..c>", "<.a@b>", "<a.@b>",
		"<a..b@c>", "<a@-b.c>", "<a@b-.c>", "<a@b_c.d>", "<a b@c>",
		"<a@b c>", "<a@@b>", "<a@b@c>", "<a@b>x", "< a@b>", "<a@b >",
		"<a\\b@c>", "<a(b)@c>", "<a,b@c>", "<a@b,c>", "<a:b@c>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (path(bad[i], ADDR_F_NULL_OK | ADDR_F_POSTMASTER_OK) != NULL)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_eight_bit_bytes_are_refused(void **state)
{
	assert_null(path("<j\xc3\xb6rg@example.org>", 0));
	assert_null(path("<jorg@ex\xc3\xa4mple.org>", 0));
	assert_null(path("<\"j\xc3\xb6rg\"@example.org>", 0));
	assert_null(path("<\x80@a.b>", 0));
}

static void
test_nul_and_control_bytes_are_refused(void **state)
{
	struct addr	 a;
	size_t		 used;
	const char	 s[] = "<a\0b@c.d>";

	assert_int_equal(addr_parse_path(s, sizeof(s) - 1, 0, &a, &used), -1);
	assert_null(path("<a\r@b.c>", 0));
	assert_null(path("<a@b.c\n>", 0));
	assert_null(path("<\"a\r\nb\"@b.c>", 0));
}

static void
test_local_part_limit_is_64(void **state)
{
	char *l64 = repeat('a', 64), *l65 = repeat('a', 65), s[512];

	snprintf(s, sizeof(s), "<%s@x.y>", l64);
	assert_non_null(path(s, 0));
	snprintf(s, sizeof(s), "<%s@x.y>", l65);
	assert_null(path(s, 0));
	/* the quotes count: 62 + 2 is fine, 63 + 2 is not */
	l64[62] = '\0';
	snprintf(s, sizeof(s), "<\"%s\"@x.y>", l64);
	assert_non_null(path(s, 0));
	l65[63] = '\0';
	snprintf(s, sizeof(s), "<\" %s\"@x.y>", l65);
	assert_null(path(s, 0));
	free(l64);
	free(l65);
}

static void
test_label_limit_is_63(void **state)
{
	char	*l63 = repeat('b', 63), *l64 = repeat('b', 64), s[256];

	snprintf(s, sizeof(s), "<a@%s.org>", l63);
	assert_non_null(path(s, 0));
	snprintf(s, sizeof(s), "<a@%s.org>", l64);
	assert_null(path(s, 0));
	free(l63);
	free(l64);
}

static void
test_path_of_257_octets_is_refused(void **state)
{
	char	 s[600], *label = repeat('c', 50);
	size_t	 n;

	/* build "<a@ccc...>" with a domain of labels until the path is 257 */
	strlcpy(s, "<a@", sizeof(s));
	while (strlen(s) < 200) {
		strlcat(s, label, sizeof(s));
		strlcat(s, ".", sizeof(s));
	}
	n = strlen(s);
	/* fill the last label so that the path including ">" is 256 */
	memset(s + n, 'd', 256 - 1 - n);
	s[255] = '>';
	s[256] = '\0';
	assert_int_equal(strlen(s), 256);
	assert_non_null(path(s, 0));
	s[255] = 'd';
	s[256] = '>';
	s[257] = '\0';
	assert_null(path(s, 0));
	free(label);
}

static void
test_domain_over_255_is_refused(void **state)
{
	char	 s[400], *label = repeat('e', 60);
	int	 i;

	s[0] = '\0';
	for (i = 0; i < 4; i++) {
		strlcat(s, label, sizeof(s));
		strlcat(s, ".", sizeof(s));
	}
	strlcat(s, "abcdefghijklmnopq", sizeof(s));	/* 244 + 17 = 261 */
	assert_false(addr_domain_valid(s, strlen(s)));
	s[255] = '\0';
	if (s[254] == '.')
		s[254] = 'x';
	assert_true(addr_domain_valid(s, strlen(s)));
	free(label);
}

static void
test_parameters_after_path_are_left_to_caller(void **state)
{
	struct addr	 a;
	size_t		 used;
	const char	*s = "<a@b.c> SIZE=10";

	assert_int_equal(addr_parse_path(s, strlen(s), 0, &a, &used), 0);
	assert_int_equal(used, 7);
	assert_string_equal(a.local, "a");
	assert_string_equal(a.domain, "b.c");
}

static void
test_bare_mailbox_parser(void **state)
{
	struct addr a;

	assert_int_equal(addr_parse_mailbox("x@y.z", 5, &a), 0);
	assert_string_equal(a.domain, "y.z");
	assert_int_equal(addr_parse_mailbox("x@y.z>", 6, &a), -1);
	assert_int_equal(addr_parse_mailbox("<x@y.z>", 7, &a), -1);
	assert_int_equal(addr_parse_mailbox("", 0, &a), -1);
}

static void
test_hostile_long_input_is_bounded(void **state)
{
	struct addr	 a;
	size_t		 used, n = 1 << 20;
	char		*s = repeat('a', n);

	s[0] = '<';
	assert_int_equal(addr_parse_path(s, n, 0, &a, &used), -1);
	s[0] = '"';
	assert_int_equal(addr_parse_mailbox(s, n, &a), -1);
	memset(s, '.', n);
	assert_int_equal(addr_parse_mailbox(s, n, &a), -1);
	free(s);
}

static void
test_format_refuses_short_buffer(void **state)
{
	struct addr	 a;
	char		 out[4];

	assert_int_equal(addr_parse_mailbox("abc@d.e", 7, &a), 0);
	assert_int_equal(addr_format(&a, out, sizeof(out)), -1);
}

static void
test_utf8_only_with_the_flag(void **state)
{
	struct addr	 a;
	size_t		 used;
	const char	*p = "<j\xc3\xb6rg@m\xc3\xbc" "ller.example>";

	assert_int_equal(addr_parse_path(p, strlen(p), 0, &a, &used), -1);
	assert_int_equal(addr_parse_path(p, strlen(p), ADDR_F_UTF8, &a, &used), 0);
	assert_true(a.utf8);
	assert_string_equal(a.local, "j\xc3\xb6rg");
	assert_string_equal(a.domain, "m\xc3\xbc" "ller.example");
	p = "<\"\xe7\x94\xa8 \xe6\x88\xb7\"@example.org>";
	assert_int_equal(addr_parse_path(p, strlen(p), ADDR_F_UTF8, &a, &used), 0);
	p = "<plain@example.org>";
	assert_int_equal(addr_parse_path(p, strlen(p), ADDR_F_UTF8, &a, &used), 0);
	assert_false(a.utf8);
	assert_int_equal(addr_parse_mailbox_flags("\xc3\xa9@x.example", 12,
	    ADDR_F_UTF8, &a), 0);
	assert_int_equal(addr_parse_mailbox("\xc3\xa9@x.example", 12, &a), -1);
}

static void
test_ill_formed_utf8_is_refused(void **state)
{
	static const char *bad[] = {
		"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\xc3", "\xe2\x82", "\xff",
	};
	struct addr	 a;
	char		 path[64];
	size_t		 i, used;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(addr_utf8_valid(bad[i], strlen(bad[i])));
		snprintf(path, sizeof(path), "<a%sb@example.org>", bad[i]);
		assert_int_equal(addr_parse_path(path, strlen(path),
		    ADDR_F_UTF8, &a, &used), -1);
		snprintf(path, sizeof(path), "<ab@ex%sample.org>", bad[i]);
		assert_int_equal(addr_parse_path(path, strlen(path),
		    ADDR_F_UTF8, &a, &used), -1);
	}
	assert_true(addr_utf8_valid("\xf0\x9f\x98\x80 ok \xe2\x82\xac", 11));
	assert_true(addr_utf8_valid("\xf4\x8f\xbf\xbf", 4));
}

static void
test_utf8_lengths_count_octets(void **state)
{
	struct addr	 a;
	char		 path[200];
	size_t		 used, i, o = 0;

	/* 32 two-octet characters: 64 octets pass, 33 do not */
	path[o++] = '<';
	for (i = 0; i < 32; i++) {
		path[o++] = (char)0xc3;
		path[o++] = (char)0xa9;
	}
	memcpy(path + o, "@example.org>", 14);
	assert_int_equal(addr_parse_path(path, strlen(path), ADDR_F_UTF8, &a,
	    &used), 0);
	memmove(path + 3, path + 1, strlen(path + 1) + 1);
	path[1] = (char)0xc3;
	path[2] = (char)0xa9;
	assert_int_equal(addr_parse_path(path, strlen(path), ADDR_F_UTF8, &a,
	    &used), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_mailbox_is_accepted),
		cmocka_unit_test(test_null_sender_only_when_allowed),
		cmocka_unit_test(test_bare_postmaster_only_when_allowed),
		cmocka_unit_test(test_source_route_is_stripped),
		cmocka_unit_test(test_quoted_local_part),
		cmocka_unit_test(test_ip_literals),
		cmocka_unit_test(test_malformed_paths_are_refused),
		cmocka_unit_test(test_eight_bit_bytes_are_refused),
		cmocka_unit_test(test_nul_and_control_bytes_are_refused),
		cmocka_unit_test(test_local_part_limit_is_64),
		cmocka_unit_test(test_label_limit_is_63),
		cmocka_unit_test(test_path_of_257_octets_is_refused),
		cmocka_unit_test(test_domain_over_255_is_refused),
		cmocka_unit_test(test_parameters_after_path_are_left_to_caller),
		cmocka_unit_test(test_bare_mailbox_parser),
		cmocka_unit_test(test_hostile_long_input_is_bounded),
		cmocka_unit_test(test_format_refuses_short_buffer),
		cmocka_unit_test(test_utf8_only_with_the_flag),
		cmocka_unit_test(test_ill_formed_utf8_is_refused),
		cmocka_unit_test(test_utf8_lengths_count_octets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
