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
	assert_int_equal(cmd_verb("STARTTLS", &args), V_STARTTLS);
	assert_int_equal(cmd_verb("STARTTLSX", &args), V_UNKNOWN);
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

	assert_null(cmd_parse_mail("FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", EXT_ALL, &mp));
	assert_int_equal(mp.has_size, 1);
	assert_int_equal(mp.size, 1000);
	assert_int_equal(mp.body, BODY_TYPE_8BITMIME);
	assert_string_equal(mp.from.local, "a");
	assert_null(cmd_parse_mail("from:<> body=7bit", EXT_ALL, &mp));
	assert_int_equal(mp.from.kind, ADDR_NULL);
	assert_int_equal(mp.body, BODY_TYPE_7BIT);
	/* a space after the colon is tolerated, trailing spaces too */
	assert_null(cmd_parse_mail("FROM: <a@b.c>  ", EXT_ALL, &mp));
}

static void
test_mail_syntax_errors_are_501(void **state)
{
	struct mail_params mp;

	assert_string_equal(cmd_parse_mail("", EXT_ALL, &mp),
	    "501 5.5.4 Syntax: MAIL FROM:<address>");
	assert_string_equal(cmd_parse_mail("TO:<a@b>", EXT_ALL, &mp),
	    "501 5.5.4 Syntax: MAIL FROM:<address>");
	assert_string_equal(cmd_parse_mail("FROM:a@b.c", EXT_ALL, &mp),
	    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c", EXT_ALL, &mp),
	    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<postmaster>", EXT_ALL, &mp),
	    "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c>SIZE=1", EXT_ALL, &mp),
	    "501 5.5.4 Bad MAIL parameter syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=x", EXT_ALL, &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=", EXT_ALL, &mp),
	    "501 5.5.4 Bad MAIL parameter syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE", EXT_ALL, &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=1 SIZE=2", EXT_ALL, &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail(
	    "FROM:<a@b.c> SIZE=99999999999999999999999", EXT_ALL, &mp),
	    "501 5.5.4 Bad SIZE parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> BODY=BINARYMIME",
	    EXT_ALL & ~EXT_BINARYMIME, &mp), "501 5.5.4 Bad BODY parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> BODY=9BIT", EXT_ALL,
	    &mp), "501 5.5.4 Bad BODY parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> -X=1", EXT_ALL, &mp),
	    "501 5.5.4 Bad MAIL parameter syntax");
}

static void
test_unknown_mail_parameter_is_555(void **state)
{
	struct mail_params mp;

	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> X-FOO", EXT_ALL, &mp),
	    "555 5.5.4 Unsupported MAIL parameter");
	/* a parameter of an extension the listener does not offer */
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SMTPUTF8",
	    EXT_ALL & ~EXT_SMTPUTF8, &mp), "555 5.5.4 Unsupported MAIL parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> RET=FULL",
	    EXT_ALL & ~EXT_DSN, &mp), "555 5.5.4 Unsupported MAIL parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> SIZE=10", 0, &mp),
	    "555 5.5.4 Unsupported MAIL parameter");
}

static void
test_rcpt_parsing(void **state)
{
	struct rcpt_params rp;

	assert_null(cmd_parse_rcpt("TO:<u@example.org>", EXT_ALL, 0, &rp));
	assert_string_equal(rp.to.domain, "example.org");
	assert_int_equal(rp.notify, 0);
	assert_string_equal(rp.orcpt, "");
	assert_null(cmd_parse_rcpt("to:<Postmaster>", EXT_ALL, 0, &rp));
	assert_int_equal(rp.to.kind, ADDR_POSTMASTER);
	assert_string_equal(cmd_parse_rcpt("TO:<>", EXT_ALL, 0, &rp),
	    "501 5.1.3 Bad recipient address syntax");
	assert_string_equal(cmd_parse_rcpt("TO:u@example.org", EXT_ALL, 0, &rp),
	    "501 5.1.3 Bad recipient address syntax");
	assert_string_equal(cmd_parse_rcpt("FROM:<u@example.org>", EXT_ALL, 0,
	    &rp), "501 5.5.4 Syntax: RCPT TO:<address>");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> NOTIFY=NEVER",
	    EXT_ALL & ~EXT_DSN, 0, &rp), "555 5.5.4 Unsupported RCPT parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> X=1", EXT_ALL, 0,
	    &rp), "555 5.5.4 Unsupported RCPT parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> =x", EXT_ALL, 0,
	    &rp), "501 5.5.4 Bad RCPT parameter syntax");
}

static void
test_dsn_mail_parameters(void **state)
{
	struct mail_params mp;

	assert_null(cmd_parse_mail("FROM:<a@b.c> RET=HDRS ENVID=QQ+2B1+3D2",
	    EXT_ALL, &mp));
	assert_int_equal(mp.ret, DSN_RET_HDRS);
	assert_string_equal(mp.envid, "QQ+1=2");
	assert_null(cmd_parse_mail("FROM:<a@b.c> ret=full", EXT_ALL, &mp));
	assert_int_equal(mp.ret, DSN_RET_FULL);
	assert_string_equal(mp.envid, "");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> RET=ALL", EXT_ALL,
	    &mp), "501 5.5.4 Bad RET parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> RET=FULL RET=HDRS",
	    EXT_ALL, &mp), "501 5.5.4 Bad RET parameter");
	/* lower-case hex, a lone "+", an encoded control byte */
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> ENVID=a+2b", EXT_ALL,
	    &mp), "501 5.5.4 Bad ENVID parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> ENVID=a+", EXT_ALL,
	    &mp), "501 5.5.4 Bad ENVID parameter");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.c> ENVID=a+0A", EXT_ALL,
	    &mp), "501 5.5.4 Bad ENVID parameter");
}

static void
test_dsn_rcpt_parameters(void **state)
{
	struct rcpt_params rp;

	assert_null(cmd_parse_rcpt("TO:<u@example.org> NOTIFY=SUCCESS,DELAY "
	    "ORCPT=rfc822;u+2Bx@example.org", EXT_ALL, 0, &rp));
	assert_int_equal(rp.notify, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY);
	assert_string_equal(rp.orcpt, "rfc822;u+x@example.org");
	assert_null(cmd_parse_rcpt("TO:<u@example.org> NOTIFY=never", EXT_ALL,
	    0, &rp));
	assert_int_equal(rp.notify, DSN_NOTIFY_NEVER);
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> "
	    "NOTIFY=NEVER,SUCCESS", EXT_ALL, 0, &rp),
	    "501 5.5.4 Bad NOTIFY parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> "
	    "NOTIFY=FAILURE,", EXT_ALL, 0, &rp), "501 5.5.4 Bad NOTIFY parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> "
	    "NOTIFY=FAILURE,FAILURE", EXT_ALL, 0, &rp),
	    "501 5.5.4 Bad NOTIFY parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> "
	    "ORCPT=u@example.org", EXT_ALL, 0, &rp),
	    "501 5.5.4 Bad ORCPT parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> "
	    "ORCPT=x400;u", EXT_ALL, 0, &rp), "501 5.5.4 Bad ORCPT parameter");
	assert_string_equal(cmd_parse_rcpt("TO:<u@example.org> "
	    "ORCPT=rfc822;", EXT_ALL, 0, &rp), "501 5.5.4 Bad ORCPT parameter");
}

static void
test_utf8_addresses_need_smtputf8(void **state)
{
	struct mail_params	 mp;
	struct rcpt_params	 rp;

	assert_null(cmd_parse_mail("FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> "
	    "SMTPUTF8", EXT_ALL, &mp));
	assert_true(mp.smtputf8);
	assert_true(mp.from.utf8);
	assert_string_equal(cmd_parse_mail("FROM:<j\xc3\xb6rg@b.example>",
	    EXT_ALL, &mp), "553 5.6.7 Non-ASCII sender address needs SMTPUTF8");
	/* not offered: UTF-8 is plain bad syntax */
	assert_string_equal(cmd_parse_mail("FROM:<j\xc3\xb6rg@b.example> "
	    "SMTPUTF8", EXT_ALL & ~EXT_SMTPUTF8, &mp),
	    "501 5.1.7 Bad sender address syntax");
	/* ill-formed UTF-8: an overlong "/" and a lone continuation byte */
	assert_string_equal(cmd_parse_mail("FROM:<a\xc0\xaf" "b@b.example> "
	    "SMTPUTF8", EXT_ALL, &mp), "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a\x80@b.example> SMTPUTF8",
	    EXT_ALL, &mp), "501 5.1.7 Bad sender address syntax");
	assert_string_equal(cmd_parse_mail("FROM:<a@b.example> SMTPUTF8=yes",
	    EXT_ALL, &mp), "501 5.5.4 Bad SMTPUTF8 parameter");
	assert_null(cmd_parse_rcpt("TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>",
	    EXT_ALL, 1, &rp));
	assert_string_equal(cmd_parse_rcpt("TO:<\xe7\x94\xa8@example.org>",
	    EXT_ALL, 0, &rp),
	    "553 5.6.7 Non-ASCII recipient address needs SMTPUTF8");
}

static void
test_bdat_and_etrn_arguments(void **state)
{
	uint64_t	 size;
	int		 last;
	char		 d[300];

	assert_int_equal(cmd_parse_bdat("100", &size, &last), 0);
	assert_int_equal(size, 100);
	assert_false(last);
	assert_int_equal(cmd_parse_bdat("0 LAST", &size, &last), 0);
	assert_int_equal(size, 0);
	assert_true(last);
	assert_int_equal(cmd_parse_bdat("7 last", &size, &last), 0);
	assert_true(last);
	assert_int_equal(cmd_parse_bdat("", &size, &last), -1);
	assert_int_equal(cmd_parse_bdat("-1", &size, &last), -1);
	assert_int_equal(cmd_parse_bdat("10 FIRST", &size, &last), -1);
	assert_int_equal(cmd_parse_bdat("10LAST", &size, &last), -1);
	assert_int_equal(cmd_parse_bdat("99999999999999999999999", &size,
	    &last), -1);
	assert_int_equal(cmd_parse_etrn("example.org", d, sizeof(d)), 0);
	assert_string_equal(d, "example.org");
	assert_int_equal(cmd_parse_etrn("@example.org", d, sizeof(d)), 0);
	assert_string_equal(d, "@example.org");
	assert_int_equal(cmd_parse_etrn("#queue", d, sizeof(d)), -2);
	assert_int_equal(cmd_parse_etrn("", d, sizeof(d)), -1);
	assert_int_equal(cmd_parse_etrn("a b", d, sizeof(d)), -1);
	assert_int_equal(cmd_parse_etrn("@", d, sizeof(d)), -1);
}

static void
test_extension_mask_and_protocol_names(void **state)
{
	char		*names[] = { "chunking", "DSN" };
	char		*bad[] = { "ETRN", "STARTTLZ" };
	struct strlist	 l = { names, 2 };
	unsigned	 mask;
	const char	*which = NULL;

	assert_int_equal(cmd_ext_mask(&l, &mask, &which), 0);
	/* BINARYMIME goes with CHUNKING */
	assert_int_equal(mask, EXT_ALL & ~(EXT_CHUNKING | EXT_BINARYMIME |
	    EXT_DSN));
	l.v = bad;
	assert_int_equal(cmd_ext_mask(&l, &mask, &which), -1);
	assert_string_equal(which, "STARTTLZ");
	assert_int_equal(mask, EXT_ALL & ~EXT_ETRN);
	assert_string_equal(cmd_received_protocol(0, 0, 0, 0), "SMTP");
	assert_string_equal(cmd_received_protocol(1, 0, 0, 0), "ESMTP");
	assert_string_equal(cmd_received_protocol(1, 0, 1, 0), "ESMTPS");
	assert_string_equal(cmd_received_protocol(1, 0, 0, 1), "ESMTPA");
	assert_string_equal(cmd_received_protocol(1, 0, 1, 1), "ESMTPSA");
	assert_string_equal(cmd_received_protocol(1, 1, 0, 0), "UTF8SMTP");
	assert_string_equal(cmd_received_protocol(1, 1, 0, 1), "UTF8SMTPA");
	assert_string_equal(cmd_received_protocol(1, 1, 1, 1), "UTF8SMTPSA");
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
		cmocka_unit_test(test_dsn_mail_parameters),
		cmocka_unit_test(test_dsn_rcpt_parameters),
		cmocka_unit_test(test_utf8_addresses_need_smtputf8),
		cmocka_unit_test(test_bdat_and_etrn_arguments),
		cmocka_unit_test(test_extension_mask_and_protocol_names),
		cmocka_unit_test(test_helo_argument_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
