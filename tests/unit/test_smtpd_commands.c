/* Unit tests for smtpd/commands.c: verbs, MAIL/RCPT arguments, HELO. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd.h"

static void
test_verbs_are_case_insensitive_and_need_a_space(void **state)
{
	const char *args;

	assert_int_equal(cmd_verb("ehlo x.y", &args), V_EHLO);
	assert_string_equal(args, "x.y");
	assert_int_equal(cmd_verb("MaIl FROM:<>", &args), V_MAIL);
	assert_string_equal(args, "FROM:<>");
	assert_int_equal(cmd_verb("DATA", &args), V_DATA);
	assert_string_equal(args, "");
	assert_int_equal(cmd_verb("DATAX", &args), V_UNKNOWN);
	assert_int_equal(cmd_verb("", &args), V_UNKNOWN);
	assert_int_equal(cmd_verb(" HELO x", &args), V_UNKNOWN);
	assert_int_equal(cmd_verb("STARTTLS", &args), V_UNKNOWN);
}

static void
test_http_verbs_are_recognised(void **state)
{
	const char *args;

	assert_int_equal(cmd_verb("GET / HTTP/1.1", &args), V_HTTP);
	assert_int_equal(cmd_verb("POST /x HTTP/1.0", &args), V_HTTP);
	assert_int_equal(cmd_verb("CONNECT a:25 HTTP/1.1", &args), V_HTTP);
}

static void
test_mail_with_size_and_body(void **state)
{
	struct mail_params mp;

	assert_null(cmd_parse_mail("FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", &mp));
	assert_int_equal(mp.has_size, 1);
	assert_int_equal(mp.size, 1000);
	assert_int_equal(mp.body, BODY_TYPE_8BITMIME);
	assert_string_equal(mp.from.local, "a");
	assert_null(cmd_parse_mail("from:<> body=7bit", &mp));
	assert_int_equal(mp.from.kind, ADDR_NULL);
	assert_int_equal(mp.body, BODY_TYPE_7BIT);
	/* a space after the colon is tolerated, trailing spaces too */
	assert_null(cmd_parse_mail("FROM: <a@b.c>  ", &mp));
}

static void
test_mail_syntax_errors_are_501(void **state)
{
	struct mail_params mp;

	assert_string_equal(cmd_parse_mail("", &mp),
	    "501 5.5.4 Syntax: MAIL FROM:<address>");
	assert_string_equal(cmd_parse_mail("TO:<a@b>", &mp),
	    "501 5.5.4 Syntax: MAIL FROM:<address>");
	assert_string_equal(cmd_parse_mail("FROM:a@b.c", &mp),
	    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c", &mp),
	    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<postmaster>", &mp),
	    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c>SIZE=1", &mp),
	    "501 5.5.4 Bad MAIL parameter syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=x", &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=", &mp),
	    "501 5.5.4 Bad MAIL parameter syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE", &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=1 SIZE=2", &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail(
	    "FROM:<a@b.c> SIZE=99999999999999999999999", &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> BODY=BINARYMIME", &mp),
	    "501 5.5.4 Bad BODY parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> -X=1", &mp),
	    "501 5.5.4 Bad MAIL parameter syntax");
}

static void
test_unknown_mail_parameter_is_555(void **state)
{
	struct mail_params mp;

	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SMTPUTF8", &mp),
	    "555 5.5.4 Unsupported MAIL parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> RET=FULL", &mp),
	    "555 5.5.4 Unsupported MAIL parameter");
}

static void
test_rcpt_parsing(void **state)
{
	struct addr a;

	assert_null(cmd_parse_rcpt("TO:<u@example.org>", &a));
	assert_string_equal(a.domain, "example.org");
	assert_null(cmd_parse_rcpt("to:<Postmaster>", &a));
	assert_int_equal(a.kind, ADDR_POSTMASTER);
	assert_string_equal(cmd_parse_rcpt("TO:<>", &a),
	    "501 5.1.3 Bad recipient address syntax");
	assert_string_equal(cmd_parse_rcpt("TO:u@example.org", &a),
	    "501 5.1.3 Bad recipient address syntax");
	assert_string_equal(cmd_parse_rcpt("FROM:<u@example.org>", &a),
	    "501 5.5.4 Syntax: RCPT TO:<address>");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> NOTIFY=NEVER", &a),
	    "555 5.5.4 Unsupported RCPT parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> =x", &a),
	    "501 5.5.4 Bad RCPT parameter syntax");
}

static void
test_helo_argument_rules(void **state)
{
	char long_name[300];

	assert_true(cmd_helo_valid("mail.example.org"));
	assert_true(cmd_helo_valid("[192.0.2.1]"));
	assert_false(cmd_helo_valid(""));
	assert_false(cmd_helo_valid("two words"));
	assert_false(cmd_helo_valid("caf\xc3\xa9"));
	assert_false(cmd_helo_valid("tab\there"));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_false(cmd_helo_valid(long_name));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs_are_case_insensitive_and_need_a_space),
		cmocka_unit_test(test_http_verbs_are_recognised),
		cmocka_unit_test(test_mail_with_size_and_body),
		cmocka_unit_test(test_mail_syntax_errors_are_501),
		cmocka_unit_test(test_unknown_mail_parameter_is_555),
		cmocka_unit_test(test_rcpt_parsing),
		cmocka_unit_test(test_helo_argument_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
