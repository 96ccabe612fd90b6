/* Unit tests: posternctl policy-test's reply lines, EHLO literal, paths and the aligned dialogue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "../../ctl/policytest.h"

static void
test_reply_lines_and_continuations(void **state)
{
	int	 code, more;

	(void)state;
	assert_int_equal(ctl_policy_reply_line("250-mx.example", &code, &more), 1);
	assert_int_equal(code, 250);
	assert_int_equal(more, 1);
	assert_int_equal(ctl_policy_reply_line("554 5.7.1 no", &code, &more), 1);
	assert_int_equal(code, 554);
	assert_int_equal(more, 0);
	assert_int_equal(ctl_policy_reply_line("221", &code, &more), 1);
	assert_int_equal(more, 0);
	assert_int_equal(ctl_policy_reply_line("25", &code, &more), 0);
	assert_int_equal(ctl_policy_reply_line("2500 x", &code, &more), 0);
	assert_int_equal(ctl_policy_reply_line("650 x", &code, &more), 0);
	assert_int_equal(ctl_policy_reply_line("abc x", &code, &more), 0);
	assert_int_equal(ctl_policy_reply_line("", &code, &more), 0);
}

static void
test_ehlo_literal_for_v4_and_v6(void **state)
{
	char	 out[64];

	(void)state;
	assert_int_equal(ctl_policy_ehlo_literal("192.0.2.1", out, sizeof(out)), 0);
	assert_string_equal(out, "[192.0.2.1]");
	assert_int_equal(ctl_policy_ehlo_literal("2001:db8::1", out, sizeof(out)), 0);
	assert_string_equal(out, "[IPv6:2001:db8::1]");
	assert_int_equal(ctl_policy_ehlo_literal("host.example", out, sizeof(out)), -1);
	assert_int_equal(ctl_policy_ehlo_literal("192.0.2.1", out, 5), -1);
}

static void
test_paths_get_brackets_and_refuse_line_breaks(void **state)
{
	char	 out[600];

	(void)state;
	assert_int_equal(ctl_policy_path("a@b.example", out, sizeof(out)), 0);
	assert_string_equal(out, "<a@b.example>");
	assert_int_equal(ctl_policy_path("<a@b.example>", out, sizeof(out)), 0);
	assert_string_equal(out, "<a@b.example>");
	assert_int_equal(ctl_policy_path("", out, sizeof(out)), 0);
	assert_string_equal(out, "<>");
	assert_int_equal(ctl_policy_path("<>", out, sizeof(out)), 0);
	assert_string_equal(out, "<>");
	assert_int_equal(ctl_policy_path("a@b\r\nDATA", out, sizeof(out)), -1);
	assert_int_equal(ctl_policy_path("a b@c", out, sizeof(out)), -1);
	assert_int_equal(ctl_policy_path("<a@b> SIZE=1", out, sizeof(out)), -1);
	assert_int_equal(ctl_policy_path("a@b", out, 5), -1);
}

static void
test_dialogue_is_aligned_and_terminal_safe(void **state)
{
	struct ctl_policy_step	 s[3];
	struct buf		 b;

	(void)state;
	memset(s, 0, sizeof(s));
	s[0].cmd = "(connect)";
	buf_init(&s[0].reply);
	buf_appends(&s[0].reply, "220 mx ESMTP\n");
	s[1].cmd = "RCPT TO:<a@b.example>";
	buf_init(&s[1].reply);
	buf_appends(&s[1].reply, "550-no \x1b[31mway\n550 really\n");
	s[2].cmd = "QUIT";
	buf_init(&s[2].reply);
	buf_init(&b);
	assert_int_equal(ctl_policy_format(&b, s, 3), 0);
	assert_string_equal(buf_cstr(&b),
	    "(connect)              220 mx ESMTP\n"
	    "RCPT TO:<a@b.example>  550-no ?[31mway\n"
	    "                       550 really\n"
	    "QUIT                   (no reply)\n");
	buf_free(&b);
	buf_free(&s[0].reply);
	buf_free(&s[1].reply);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_lines_and_continuations),
		cmocka_unit_test(test_ehlo_literal_for_v4_and_v6),
		cmocka_unit_test(test_paths_get_brackets_and_refuse_line_breaks),
		cmocka_unit_test(test_dialogue_is_aligned_and_terminal_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
