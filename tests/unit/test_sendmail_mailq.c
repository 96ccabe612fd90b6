/* Unit tests for postern-sendmail's search for posternctl (-bp, mailq). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../sendmail/mailq.h"

static void
test_posternctl_is_looked_for_beside_our_binary_first(void **state)
{
	char	 out[64];

	(void)state;
	assert_int_equal(sm_ctl_candidate(0, "/usr/local/sbin/postern-sendmail",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "/usr/local/sbin/posternctl");
	assert_int_equal(sm_ctl_candidate(1, "/x/postern-sendmail", out,
	    sizeof(out)), 0);
	assert_non_null(strstr(out, "/../../sbin/posternctl"));
	assert_int_equal(sm_ctl_candidate(2, "/x/y", out, sizeof(out)), -1);
}

static void
test_unknown_or_too_long_self_gives_no_candidate(void **state)
{
	char	 out[24];

	(void)state;
	assert_int_equal(sm_ctl_candidate(0, NULL, out, sizeof(out)), -1);
	assert_int_equal(sm_ctl_candidate(0, "no-slash", out, sizeof(out)), -1);
	assert_int_equal(sm_ctl_candidate(0, "/a/very/long/folder/name/sendmail",
	    out, sizeof(out)), -1);
	assert_int_equal(sm_ctl_candidate(0, "/b/s", out, sizeof(out)), 0);
	assert_string_equal(out, "/b/posternctl");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posternctl_is_looked_for_beside_our_binary_first),
		cmocka_unit_test(test_unknown_or_too_long_self_gives_no_candidate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
