/* Unit tests: postern-sendmail -bs, the SMTP dialogue on standard input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bsd/string.h>

#include "../../sendmail/bs.h"

/* what the submit stand-in saw */
static struct {
	int		 calls;
	int		 fail;
	char		 sender[300];
	int		 sender_ok;
	struct buf	 rcpts;		/* "a|b|c" */
	struct buf	 content;
} seen;

static int
submit_stub(void *arg, const struct sm_bs_msg *m, struct buf *note)
{
	size_t	 i;

	(void)arg;
	seen.calls++;
	strlcpy(seen.sender, m->sender, sizeof(seen.sender));
	seen.sender_ok = m->sender_ok;
	buf_reset(&seen.rcpts);
	for (i = 0; i < m->rcpts->n; i++)
		buf_appendf(&seen.rcpts, "%s%s", i ? "|" : "", m->rcpts->v[i]);
	buf_reset(&seen.content);
	buf_append(&seen.content, m->content->p, m->content->len);
	if (seen.fail)
		return buf_appends(note, "451 4.3.0 Error: disk on fire"), -1;
	return buf_appends(note, "submitted as pickup file 1.x");
}

static struct sm_bs	 s;
static struct buf	 out;

static int
setup(void **state)
{
	struct sm_bs_conf	 c = { "mx.test", "joe@mx.test", 1, 200,
	    submit_stub, NULL };

	(void)state;
	memset(&seen, 0, sizeof(seen));
	buf_init(&seen.rcpts);
	buf_init(&seen.content);
	buf_init(&out);
	sm_bs_init(&s, &c);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sm_bs_free(&s);
	buf_free(&out);
	buf_free(&seen.rcpts);
	buf_free(&seen.content);
	return 0;
}

/* Feeds text in one piece; returns the replies. */
static const char *
talk(const char *text)
{
	buf_reset(&out);
	assert_int_not_equal(sm_bs_feed(&s, text, strlen(text), &out), -1);
	return buf_cstr(&out) ? out.p : "";
}

static const char *
content(void)
{
	return buf_cstr(&seen.content) ? seen.content.p : "";
}

static void
test_greeting_and_ehlo_offer_pipelining_8bitmime_size(void **state)
{
	(void)state;
	assert_int_equal(sm_bs_greeting(&s, &out), 0);
	assert_string_equal(buf_cstr(&out), "220 mx.test ESMTP postern (sendmail -bs)\r\n");
	assert_string_equal(talk("EHLO client\r\n"), "250-mx.test\r\n250-PIPELINING\r\n"
	    "250-SIZE 200\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n");
	assert_string_equal(talk("HELO client\r\n"), "250 mx.test\r\n");
	assert_string_equal(talk("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
}

static void
test_message_is_dot_unstuffed_and_submitted(void **state)
{
	(void)state;
	assert_string_equal(talk("EHLO c\r\nMAIL FROM:<a@example.org> BODY=8BITMIME SIZE=10\r\n"
	    "RCPT TO:<b@example.net>\r\nRCPT TO:<postmaster>\r\nDATA\r\n"),
	    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 200\r\n250-8BITMIME\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(talk("Subject: x\r\n\r\n..leading dot\r\n.\r\n"),
	    "250 2.0.0 Ok: submitted as pickup file 1.x\r\n");
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.sender, "a@example.org");
	assert_int_equal(seen.sender_ok, 1);
	assert_string_equal(buf_cstr(&seen.rcpts), "b@example.net|postmaster@mx.test");
	assert_string_equal(content(), "Subject: x\r\n\r\n.leading dot\r\n");
}

static void
test_bare_lf_ends_lines_and_becomes_crlf(void **state)
{
	(void)state;
	talk("MAIL FROM:<>\nRCPT TO:<b@example.net>\nDATA\nline one\nline two\n.\n");
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.sender, "");
	assert_string_equal(content(), "line one\r\nline two\r\n");
}

static void
test_byte_at_a_time_gives_the_same_dialogue(void **state)
{
	const char	*in = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "DATA\r\nhello\r\n.\r\nQUIT\r\n";
	size_t		 i;
	int		 r = 0;

	(void)state;
	buf_reset(&out);
	for (i = 0; in[i] != '\0' && r == 0; i++)
		r = sm_bs_feed(&s, in + i, 1, &out);
	assert_int_equal(r, 1);
	assert_string_equal(buf_cstr(&out), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: submitted as pickup file 1.x\r\n221 2.0.0 mx.test Bye\r\n");
	assert_string_equal(content(), "hello\r\n");
}

static void
test_rcpt_before_mail_is_503(void **state)
{
	(void)state;
	assert_string_equal(talk("RCPT TO:<b@example.net>\r\n"),
	    "503 5.5.1 Error: need MAIL command\r\n");
}

static void
test_data_before_rcpt_is_503(void **state)
{
	(void)state;
	assert_string_equal(talk("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
	talk("MAIL FROM:<a@example.org>\r\n");
	assert_string_equal(talk("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
	assert_string_equal(talk("MAIL FROM:<a@example.org>\r\n"),
	    "503 5.5.1 Error: nested MAIL command\r\n");
}

static void
test_bad_syntax_is_501_and_unknown_verbs_500(void **state)
{
	(void)state;
	assert_string_equal(talk("MAIL FROM:a@example.org\r\n"),
	    "501 5.1.7 Bad sender address syntax\r\n");
	assert_string_equal(talk("MAIL TO:<a@example.org>\r\n"),
	    "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	assert_string_equal(talk("MAIL FROM:<a@example.org> SIZE=x\r\n"),
	    "501 5.5.4 Bad SIZE parameter\r\n");
	assert_string_equal(talk("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n"),
	    "501 5.5.4 Bad BODY parameter\r\n");
	assert_string_equal(talk("MAIL FROM:<a@example.org> NOTIFY=x\r\n"),
	    "555 5.5.4 Unsupported MAIL parameter\r\n");
	talk("MAIL FROM:<a@example.org>\r\n");
	assert_string_equal(talk("RCPT TO:<nodomain>\r\n"),
	    "501 5.1.3 Bad recipient address syntax\r\n");
	assert_string_equal(talk("RCPT TO:<b@example.net> NOTIFY=NEVER\r\n"),
	    "555 5.5.4 Unsupported RCPT parameter\r\n");
	assert_string_equal(talk("DATA now\r\n"), "501 5.5.4 Syntax: DATA\r\n");
	assert_string_equal(talk("BDAT 10\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(talk("\r\n"), "500 5.5.2 Error: command not recognized\r\n");
	assert_string_equal(talk("VRFY joe\r\n"), "502 5.5.1 Error: command not implemented\r\n");
	assert_string_equal(talk("noop\r\nhelp\r\n"), "250 2.0.0 Ok\r\n"
	    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP\r\n");
}

static void
test_size_parameter_over_limit_is_552(void **state)
{
	(void)state;
	assert_string_equal(talk("MAIL FROM:<a@example.org> SIZE=201\r\n"),
	    "552 5.3.4 Message size exceeds the limit (submit_max_size)\r\n");
}

static void
test_message_over_submit_max_size_is_552_and_not_submitted(void **state)
{
	char	 text[400];

	(void)state;
	talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
	memset(text, 'x', 150);
	strlcpy(text + 150, "\r\n", sizeof(text) - 150);
	talk(text);
	talk(text);
	assert_string_equal(talk(".\r\n"),
	    "552 5.3.4 Error: message larger than submit_max_size (200 bytes)\r\n");
	assert_int_equal(seen.calls, 0);
	/* the session goes on */
	assert_string_equal(talk("RCPT TO:<b@example.net>\r\n"),
	    "503 5.5.1 Error: need MAIL command\r\n");
}

static void
test_long_command_line_is_500(void **state)
{
	char	 line[700];

	(void)state;
	strlcpy(line, "NOOP ", sizeof(line));
	memset(line + 5, 'a', 600);
	strlcpy(line + 605, "\r\nNOOP\r\n", sizeof(line) - 605);
	assert_string_equal(talk(line), "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
}

static void
test_long_text_line_is_550_at_end_of_data(void **state)
{
	static char	 line[1200];

	(void)state;
	talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
	memset(line, 'a', 999);
	strlcpy(line + 999, "\r\n.\r\n", sizeof(line) - 999);
	assert_string_equal(talk(line), "550 5.6.0 Error: a line is longer than 998 octets\r\n");
	assert_int_equal(seen.calls, 0);
}

static void
test_nul_and_bare_cr_in_text_are_550(void **state)
{
	static const char	 nul[] = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "DATA\r\na\0b\r\n.\r\n";

	(void)state;
	buf_reset(&out);
	assert_int_equal(sm_bs_feed(&s, nul, sizeof(nul) - 1, &out), 0);
	assert_non_null(strstr(buf_cstr(&out), "550 5.6.0 Error: NUL in message\r\n"));
	assert_string_equal(talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "DATA\r\na\rb\r\n.\r\n"), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n550 5.6.0 Error: bare CR in message\r\n");
	assert_int_equal(seen.calls, 0);
}

static void
test_untrusted_sender_is_told_it_will_be_replaced(void **state)
{
	(void)state;
	s.conf.trusted = 0;
	assert_string_equal(talk("MAIL FROM:<ceo@example.org>\r\n"),
	    "250 2.1.0 Ok, but the sender will be <joe@mx.test>: only root and "
	    "submit_trusted_group may choose it\r\n");
	talk("RSET\r\n");
	assert_string_equal(talk("MAIL FROM:<joe@mx.test>\r\n"), "250 2.1.0 Ok\r\n");
	talk("RCPT TO:<b@example.net>\r\nDATA\r\nx\r\n.\r\n");
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.sender_ok, 0);
}

static void
test_rset_and_ehlo_clear_the_transaction(void **state)
{
	(void)state;
	talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n");
	assert_string_equal(talk("RSET\r\nDATA\r\n"),
	    "250 2.0.0 Ok\r\n503 5.5.1 Error: need MAIL command\r\n");
	talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nEHLO x\r\n");
	assert_string_equal(talk("DATA\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
}

static void
test_failed_submit_passes_its_reply_on(void **state)
{
	(void)state;
	seen.fail = 1;
	assert_string_equal(talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "DATA\r\nx\r\n.\r\n"), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n451 4.3.0 Error: disk on fire\r\n");
	/* a new transaction may follow */
	assert_string_equal(talk("MAIL FROM:<a@example.org>\r\n"), "250 2.1.0 Ok\r\n");
}

static void
test_quit_ends_the_session_and_the_rest_is_ignored(void **state)
{
	(void)state;
	buf_reset(&out);
	assert_int_equal(sm_bs_feed(&s, "QUIT\r\nNOOP\r\n", 12, &out), 1);
	assert_string_equal(buf_cstr(&out), "221 2.0.0 mx.test Bye\r\n");
	assert_int_equal(sm_bs_eof(&s), 0);
}

static void
test_too_many_errors_is_421(void **state)
{
	int	 i, r = 0;

	(void)state;
	buf_reset(&out);
	for (i = 0; i < SM_BS_MAX_ERRORS && r == 0; i++)
		r = sm_bs_feed(&s, "BOGUS\r\n", 7, &out);
	assert_int_equal(r, 1);
	assert_int_equal(i, SM_BS_MAX_ERRORS);
	assert_non_null(strstr(buf_cstr(&out), "421 4.7.0 mx.test Error: too many errors\r\n"));
}

static void
test_end_of_input_inside_data_is_reported(void **state)
{
	(void)state;
	talk("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nhalf");
	assert_int_equal(sm_bs_eof(&s), 1);
	assert_int_equal(seen.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_greeting_and_ehlo_offer_pipelining_8bitmime_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_is_dot_unstuffed_and_submitted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_lf_ends_lines_and_becomes_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_at_a_time_gives_the_same_dialogue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_before_mail_is_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_before_rcpt_is_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_syntax_is_501_and_unknown_verbs_500, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_parameter_over_limit_is_552, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_over_submit_max_size_is_552_and_not_submitted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_command_line_is_500, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_text_line_is_550_at_end_of_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_and_bare_cr_in_text_are_550, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_sender_is_told_it_will_be_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rset_and_ehlo_clear_the_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_submit_passes_its_reply_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_ends_the_session_and_the_rest_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_errors_is_421, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_of_input_inside_data_is_reported, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
