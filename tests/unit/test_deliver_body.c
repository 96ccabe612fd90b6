/* Unit tests: content to wire form (CRLF everywhere, dot-stuffing). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../deliver/deliver.h"

/* Encodes in (split into pieces of step octets) and checks the result. */
static void
check(const char *in, size_t inlen, size_t step, const char *want)
{
	struct body_enc	 e;
	struct buf	 out;
	size_t		 i, n;

	buf_init(&out);
	body_enc_init(&e);
	for (i = 0; i < inlen; i += n) {
		n = inlen - i < step ? inlen - i : step;
		assert_int_equal(body_enc_feed(&e, in + i, n, &out), 0);
	}
	assert_int_equal(body_enc_finish(&e, &out), 0);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.p, want, out.len);
	buf_free(&out);
}

static void
check_all_splits(const char *in, const char *want)
{
	size_t step, len = strlen(in);

	for (step = 1; step <= len + 1; step++)
		check(in, len, step, want);
}

static void
test_crlf_content_passes_unchanged(void **state)
{
	check_all_splits("Subject: x\r\n\r\nbody\r\n",
	    "Subject: x\r\n\r\nbody\r\n.\r\n");
}

static void
test_bare_lf_becomes_crlf(void **state)
{
	check_all_splits("a\nb\n", "a\r\nb\r\n.\r\n");
}

static void
test_bare_cr_becomes_crlf(void **state)
{
	check_all_splits("a\rb\r", "a\r\nb\r\n.\r\n");
	/* CR CR LF: a bare CR, then a CRLF */
	check_all_splits("a\r\r\nb\r\n", "a\r\n\r\nb\r\n.\r\n");
}

static void
test_leading_dots_are_doubled(void **state)
{
	check_all_splits(".x\r\n..y\r\nz.\r\n", "..x\r\n...y\r\nz.\r\n.\r\n");
}

static void
test_lone_dot_line_cannot_end_the_data(void **state)
{
	check_all_splits("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n");
	check_all_splits(".", "..\r\n.\r\n");
}

static void
test_smuggling_sequences_are_neutralised(void **state)
{
	/* \n.\n and \r.\r must not reach the wire as an end of data */
	check_all_splits("a\n.\nMAIL FROM:<x>\r\n",
	    "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
	check_all_splits("a\r.\rRCPT TO:<y>\r\n",
	    "a\r\n..\r\nRCPT TO:<y>\r\n.\r\n");
	check_all_splits("a\r\n.\nb", "a\r\n..\r\nb\r\n.\r\n");
}

static void
test_missing_final_line_end_is_added(void **state)
{
	check_all_splits("no newline", "no newline\r\n.\r\n");
}

static void
test_empty_content_is_just_the_dot(void **state)
{
	check("", 0, 1, ".\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crlf_content_passes_unchanged),
		cmocka_unit_test(test_bare_lf_becomes_crlf),
		cmocka_unit_test(test_bare_cr_becomes_crlf),
		cmocka_unit_test(test_leading_dots_are_doubled),
		cmocka_unit_test(test_lone_dot_line_cannot_end_the_data),
		cmocka_unit_test(test_smuggling_sequences_are_neutralised),
		cmocka_unit_test(test_missing_final_line_end_is_added),
		cmocka_unit_test(test_empty_content_is_just_the_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
