/* Unit tests: what the SMTP client writes into parameters (xtext, ASCII). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ipc.h"
#include "../../deliver/deliver.h"

static void
test_xtext_escapes_plus_equals_and_controls(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(smtp_xtext(&b, "a+b=c d"), 0);
	assert_string_equal(buf_cstr(&b), "a+2Bb+3Dc+20d");
	buf_reset(&b);
	assert_int_equal(smtp_xtext(&b, "\x01\x7f\xc3\xa9"), 0);
	assert_string_equal(buf_cstr(&b), "+01+7F+C3+A9");
	buf_free(&b);
}

static void
test_xtext_leaves_plain_text_alone(void **state)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(smtp_xtext(&b, "bob@example.com"), 0);
	assert_string_equal(buf_cstr(&b), "bob@example.com");
	buf_free(&b);
}

static void
test_ascii_check(void **state)
{
	assert_true(smtp_ascii("bob@example.com"));
	assert_true(smtp_ascii(""));
	assert_false(smtp_ascii("j\xc3\xb6rg@example.com"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xtext_escapes_plus_equals_and_controls),
		cmocka_unit_test(test_xtext_leaves_plain_text_alone),
		cmocka_unit_test(test_ascii_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
