/* Unit tests: SMTP reply parsing on the client side. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../deliver/deliver.h"

static int
take(const char *in, struct buf *b, struct smtp_reply *r)
{
	buf_reset(b);
	buf_appends(b, in);
	return reply_take(b, r);
}

static void
test_single_line_reply(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	char			 sum[128];

	buf_init(&b);
	reply_init(&r);
	assert_int_equal(take("250 2.0.0 Ok\r\n", &b, &r), 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 1);
	reply_summary(&r, sum, sizeof(sum));
	assert_string_equal(sum, "250 2.0.0 Ok");
	assert_int_equal(b.len, 0);
	reply_free(&r);
	buf_free(&b);
}

static void
test_multiline_reply_and_ehlo_keywords(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	const char		*p;
	size_t			 pl;
	char			 sum[128];

	buf_init(&b);
	reply_init(&r);
	assert_int_equal(take("250-mx.example.com hello\r\n250-PIPELINING\r\n"
	    "250-SIZE 1000\r\n250 8BITMIME\r\n", &b, &r), 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 4);
	assert_true(reply_ehlo_has(&r, "pipelining", NULL, NULL));
	assert_true(reply_ehlo_has(&r, "SIZE", &p, &pl));
	assert_int_equal(pl, 4);
	assert_memory_equal(p, "1000", 4);
	assert_true(reply_ehlo_has(&r, "8BITMIME", &p, &pl));
	assert_int_equal(pl, 0);
	assert_false(reply_ehlo_has(&r, "STARTTLS", NULL, NULL));
	/* the greeting line is not an extension */
	assert_false(reply_ehlo_has(&r, "mx.example.com", NULL, NULL));
	reply_summary(&r, sum, sizeof(sum));
	assert_string_equal(sum,
	    "250 mx.example.com hello PIPELINING SIZE 1000 8BITMIME");
	reply_free(&r);
	buf_free(&b);
}

static void
test_partial_reply_needs_more_and_consumes_nothing(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;

	buf_init(&b);
	reply_init(&r);
	assert_int_equal(take("250-first\r\n250 sec", &b, &r), 0);
	assert_int_equal(b.len, strlen("250-first\r\n250 sec"));
	buf_appends(&b, "ond\r\n354 go\r\n");
	assert_int_equal(reply_take(&b, &r), 1);
	assert_int_equal(r.code, 250);
	/* pipelined replies come one at a time */
	assert_int_equal(reply_take(&b, &r), 1);
	assert_int_equal(r.code, 354);
	assert_int_equal(reply_take(&b, &r), 0);
	reply_free(&r);
	buf_free(&b);
}

static void
test_bare_code_and_bare_lf_are_accepted(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	char			 sum[16];

	buf_init(&b);
	reply_init(&r);
	assert_int_equal(take("221\n", &b, &r), 1);
	assert_int_equal(r.code, 221);
	reply_summary(&r, sum, sizeof(sum));
	assert_string_equal(sum, "221");
	reply_free(&r);
	buf_free(&b);
}

static void
test_broken_replies_are_errors(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;

	buf_init(&b);
	reply_init(&r);
	assert_int_equal(take("25 short\r\n", &b, &r), -1);
	assert_int_equal(take("2x0 bad\r\n", &b, &r), -1);
	assert_int_equal(take("650 no such class\r\n", &b, &r), -1);
	assert_int_equal(take("250_ok\r\n", &b, &r), -1);
	assert_int_equal(take("250-one\r\n451 two\r\n", &b, &r), -1);
	assert_int_equal(take("\r\n", &b, &r), -1);
	reply_free(&r);
	buf_free(&b);
}

static void
test_overlong_line_is_an_error_even_unfinished(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	char			*s;

	buf_init(&b);
	reply_init(&r);
	s = malloc(REPLY_MAX_LINE + 10);
	memset(s, 'a', REPLY_MAX_LINE + 9);
	memcpy(s, "250 ", 4);
	s[REPLY_MAX_LINE + 9] = '\0';
	/* no line end yet, but it can no longer fit */
	assert_int_equal(take(s, &b, &r), -1);
	free(s);
	reply_free(&r);
	buf_free(&b);
}

static void
test_too_many_lines_is_an_error(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	int			 i;

	buf_init(&b);
	reply_init(&r);
	for (i = 0; i < REPLY_MAX_LINES; i++)
		buf_appends(&b, "250-x\r\n");
	assert_int_equal(reply_take(&b, &r), 0);
	buf_appends(&b, "250 x\r\n");
	assert_int_equal(reply_take(&b, &r), -1);
	reply_free(&r);
	buf_free(&b);
}

static void
test_control_bytes_are_masked(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	char			 sum[64];

	buf_init(&b);
	reply_init(&r);
	buf_append(&b, "550 a\0b\rc\x1b\r\n", 12);
	assert_int_equal(reply_take(&b, &r), 1);
	reply_summary(&r, sum, sizeof(sum));
	assert_string_equal(sum, "550 a?b?c?");
	reply_free(&r);
	buf_free(&b);
}

static void
test_summary_is_capped(void **state)
{
	struct buf		 b;
	struct smtp_reply	 r;
	char			 sum[10];

	buf_init(&b);
	reply_init(&r);
	assert_int_equal(take("550 5.1.1 a long reason\r\n", &b, &r), 1);
	reply_summary(&r, sum, sizeof(sum));
	assert_string_equal(sum, "550 5.1.1");
	reply_free(&r);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_line_reply),
		cmocka_unit_test(test_multiline_reply_and_ehlo_keywords),
		cmocka_unit_test(test_partial_reply_needs_more_and_consumes_nothing),
		cmocka_unit_test(test_bare_code_and_bare_lf_are_accepted),
		cmocka_unit_test(test_broken_replies_are_errors),
		cmocka_unit_test(test_overlong_line_is_an_error_even_unfinished),
		cmocka_unit_test(test_too_many_lines_is_an_error),
		cmocka_unit_test(test_control_bytes_are_masked),
		cmocka_unit_test(test_summary_is_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
