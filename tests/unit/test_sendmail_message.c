/* Unit tests: postern-sendmail's reading of a message, header fixes, -t extraction. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../sendmail/message.h"

static char *
joined(struct strlist *l)
{
	static struct buf	b;
	size_t			i;

	buf_free(&b);
	for (i = 0; i < l->n; i++) {
		buf_appendf(&b, "%s%s", i ? "|" : "", l->v[i]);
		free(l->v[i]);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
	return buf_cstr(&b) ? b.p : "";
}

static void
test_address_lists(void **state)
{
	struct strlist	 l = { NULL, 0 };
	const char	*v;

	(void)state;
	v = " Bob <bob@example.com>, carol@example.net (Carol), \"Doe, John\" <j@x.org>";
	assert_int_equal(sm_address_list(v, strlen(v), &l), 0);
	assert_string_equal(joined(&l), "bob@example.com|carol@example.net|j@x.org");
	v = "friends: a@x.org, B <b@y.org>;, last@z.org";
	assert_int_equal(sm_address_list(v, strlen(v), &l), 0);
	assert_string_equal(joined(&l), "a@x.org|b@y.org|last@z.org");
	v = "\"a b\"@example.com";
	assert_int_equal(sm_address_list(v, strlen(v), &l), 0);
	assert_string_equal(joined(&l), "\"a b\"@example.com");
	v = "undisclosed-recipients:;";
	assert_int_equal(sm_address_list(v, strlen(v), &l), 0);
	assert_string_equal(joined(&l), "");
}

static void
test_dot_line_ends_input_unless_told_not_to(void **state)
{
	const char	 in[] = "Subject: x\n\nline\n.\nafter\n";
	struct buf	 b;
	FILE		*f;

	(void)state;
	buf_init(&b);
	f = fmemopen((void *)in, sizeof(in) - 1, "r");
	assert_int_equal(sm_read_message(f, 0, 1000, &b), 0);
	fclose(f);
	assert_int_equal(b.len, strlen("Subject: x\r\n\r\nline\r\n"));
	assert_memory_equal(b.p, "Subject: x\r\n\r\nline\r\n", b.len);
	buf_reset(&b);
	f = fmemopen((void *)in, sizeof(in) - 1, "r");
	assert_int_equal(sm_read_message(f, 1, 1000, &b), 0);
	fclose(f);
	assert_memory_equal(b.p, "Subject: x\r\n\r\nline\r\n.\r\nafter\r\n", b.len);
	/* too big is an error, not a cut */
	buf_reset(&b);
	f = fmemopen((void *)in, sizeof(in) - 1, "r");
	assert_int_equal(sm_read_message(f, 1, 10, &b), -1);
	fclose(f);
	buf_free(&b);
}

static void
test_missing_headers_are_added_and_bcc_dropped(void **state)
{
	const char	 text[] = "To: a@x.org\r\nBcc: Hidden <h@y.org>,\r\n c@z.org\r\n"
	    "Subject: s\r\n\r\nbody\r\n";
	struct buf	 in, out;
	struct strlist	 r = { NULL, 0 };
	struct sm_opts	 o;
	char		*s;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.extract = 1;
	o.from = "cron@mx.example.org";
	o.fullname = "Cron Daemon";
	o.hostname = "mx.example.org";
	o.warning = "joe set sender to x@y using -f; not allowed";
	o.now = 1764095400;
	buf_init(&in);
	buf_init(&out);
	buf_append(&in, text, sizeof(text) - 1);
	assert_int_equal(sm_prepare(&in, &o, &r, &out), 0);
	s = buf_cstr(&out);
	assert_non_null(strstr(s, "From: Cron Daemon <cron@mx.example.org>\r\n"));
	assert_non_null(strstr(s, "Date: "));
	assert_non_null(strstr(s, "Message-ID: <1764095400."));
	assert_non_null(strstr(s, "@mx.example.org>\r\n"));
	assert_non_null(strstr(s, "X-Authentication-Warning: mx.example.org: joe set sender"));
	assert_null(strstr(s, "Bcc"));
	assert_null(strstr(s, "h@y.org"));
	assert_non_null(strstr(s, "To: a@x.org\r\nSubject: s\r\n\r\nbody\r\n"));
	assert_string_equal(joined(&r), "a@x.org|h@y.org|c@z.org");
	buf_free(&in);
	buf_free(&out);
}

static void
test_present_headers_are_kept(void **state)
{
	const char	 text[] = "From: me@x.org\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Message-ID: <a@b>\r\n\r\nb\r\n";
	struct buf	 in, out;
	struct strlist	 r = { NULL, 0 };
	struct sm_opts	 o;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.from = "x@y";
	o.hostname = "h";
	buf_init(&in);
	buf_init(&out);
	buf_append(&in, text, sizeof(text) - 1);
	assert_int_equal(sm_prepare(&in, &o, &r, &out), 0);
	assert_int_equal(out.len, sizeof(text) - 1);
	assert_memory_equal(out.p, text, out.len);
	buf_free(&in);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_lists),
		cmocka_unit_test(test_dot_line_ends_input_unless_told_not_to),
		cmocka_unit_test(test_missing_headers_are_added_and_bcc_dropped),
		cmocka_unit_test(test_present_headers_are_kept),
	};
	return cmocka_run_group_tests_name("sendmail_message", tests, NULL, NULL);
}
