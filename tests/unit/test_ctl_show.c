/* Unit tests: posternctl show's decoding, envelope and recipient lines, and content filtering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc.h"
#include "pack.h"
#include "../../ctl/format.h"
#include "../../ctl/show.h"

/* Feeds content in pieces of step bytes; returns what would be printed. */
static char *
feed(enum ctl_part part, const char *data, size_t step)
{
	static struct buf	 out;
	struct ctl_content	 c;
	size_t			 i, n, len = strlen(data);

	buf_free(&out);
	ctl_content_init(&c, part);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		assert_int_equal(ctl_content_feed(&c, &out, data + i, n), 0);
	}
	assert_int_equal(ctl_content_finish(&c, &out), 0);
	ctl_content_free(&c);
	return buf_cstr(&out) ? out.p : "";
}

static const char *MSG = "Subject: hi\r\nX-A: \x1b[2J\r\n\r\nbody\tone\r\n\r\nlast";

static void
test_content_crlf_becomes_lf_and_controls_are_replaced(void **state)
{
	(void)state;
	assert_string_equal(feed(CTL_PART_ALL, MSG, 1000),
	    "Subject: hi\nX-A: ?[2J\n\nbody\tone\n\nlast\n");
}

static void
test_content_parts_split_at_the_first_empty_line(void **state)
{
	(void)state;
	assert_string_equal(feed(CTL_PART_HEADERS, MSG, 1000),
	    "Subject: hi\nX-A: ?[2J\n");
	assert_string_equal(feed(CTL_PART_BODY, MSG, 1000),
	    "body\tone\n\nlast\n");
}

static void
test_content_split_anywhere_gives_the_same_output(void **state)
{
	const char	*utf = "Subject: caf\xc3\xa9\r\n\r\n\xe2\x82\xac 5\r\n";
	size_t		 step;

	(void)state;
	for (step = 1; step < 8; step++) {
		assert_string_equal(feed(CTL_PART_ALL, MSG, step),
		    "Subject: hi\nX-A: ?[2J\n\nbody\tone\n\nlast\n");
		/* a UTF-8 sequence cut between frames stays whole */
		assert_string_equal(feed(CTL_PART_ALL, utf, step),
		    "Subject: caf\xc3\xa9\n\n\xe2\x82\xac 5\n");
	}
}

static void
test_nul_and_bad_utf8_in_content_become_question_marks(void **state)
{
	struct ctl_content	 c;
	struct buf		 out;

	(void)state;
	buf_init(&out);
	ctl_content_init(&c, CTL_PART_BODY);
	assert_int_equal(ctl_content_feed(&c, &out, "\r\na\0b\xff\r\n", 8), 0);
	assert_int_equal(ctl_content_finish(&c, &out), 0);
	assert_non_null(buf_cstr(&out));
	assert_string_equal(out.p, "a?b?\n");
	ctl_content_free(&c);
	buf_free(&out);
}

static void
test_notify_names(void **state)
{
	char	 s[64];

	(void)state;
	ctl_show_notify(s, sizeof(s), 0);
	assert_string_equal(s, "-");
	ctl_show_notify(s, sizeof(s), DSN_NOTIFY_NEVER);
	assert_string_equal(s, "NEVER");
	ctl_show_notify(s, sizeof(s), DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY);
	assert_string_equal(s, "SUCCESS,DELAY");
}

static void
pack_env(struct buf *b, const char *sender, uint32_t nrcpt)
{
	assert_int_equal(pack_str(b, "0ABCDEFGHJK12345678"), 0);
	assert_int_equal(pack_u64(b, 1000), 0);
	assert_int_equal(pack_u64(b, 321), 0);
	assert_int_equal(pack_str(b, sender), 0);
	assert_int_equal(pack_str(b, "127.0.0.1"), 0);
	assert_int_equal(pack_str(b, "helo.example"), 0);
	assert_int_equal(pack_u32(b, DSN_RET_HDRS), 0);
	assert_int_equal(pack_str(b, "env-1"), 0);
	assert_int_equal(pack_u32(b, BODY_TYPE_8BITMIME), 0);
	assert_int_equal(pack_u32(b, 0), 0);
	assert_int_equal(pack_u32(b, QSTATE_DEFERRED), 0);
	assert_int_equal(pack_u32(b, nrcpt), 0);
}

static void
test_envelope_is_decoded_and_formatted_safely(void **state)
{
	struct ctl_show_env	 e;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	pack_env(&b, "evil\x1b]0;x@example.org", 2);
	assert_int_equal(ctl_show_env_unpack(b.p, b.len, &e), 0);
	assert_int_equal(e.nrcpt, 2);
	assert_int_equal(ctl_show_env_format(&out, &e, 1060), 0);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.p, "Queue-ID: 0ABCDEFGHJK12345678\n"));
	assert_non_null(strstr(out.p, "Sender: <evil?]0;x@example.org>\n"));
	assert_non_null(strstr(out.p, "Arrival: 1970-01-01 00:16:40 UTC (1m0s ago)\n"));
	assert_non_null(strstr(out.p, "Size: 321 bytes\n"));
	assert_non_null(strstr(out.p, "State: deferred\n"));
	assert_non_null(strstr(out.p, "Ret: HDRS\n"));
	assert_non_null(strstr(out.p, "Body: 8BITMIME\n"));
	assert_non_null(strstr(out.p, "Envid: env-1\n"));
	ctl_show_env_free(&e);
	/* one byte short, or one too many: refused */
	assert_int_equal(ctl_show_env_unpack(b.p, b.len - 1, &e), -1);
	assert_int_equal(buf_appendc(&b, 0), 0);
	assert_int_equal(ctl_show_env_unpack(b.p, b.len, &e), -1);
	buf_free(&b);
	buf_free(&out);
}

static void
test_recipient_is_decoded_and_formatted(void **state)
{
	struct ctl_show_rcpt	 r;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	assert_int_equal(pack_str(&b, "bob@example.com"), 0);
	assert_int_equal(pack_u32(&b, 0), 0);
	assert_int_equal(pack_u32(&b, 3), 0);
	assert_int_equal(pack_u64(&b, 1120), 0);
	assert_int_equal(pack_str(&b, "451 4.7.1 Try\x07 later"), 0);
	assert_int_equal(pack_str(&b, "mx.example.com[127.0.0.1]:25"), 0);
	assert_int_equal(pack_u32(&b, DSN_NOTIFY_FAILURE), 0);
	assert_int_equal(pack_str(&b, "rfc822;bob@example.com"), 0);
	assert_int_equal(ctl_show_rcpt_unpack(b.p, b.len, &r), 0);
	assert_int_equal(ctl_show_rcpt_format(&out, &r, 1060), 0);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.p, "Recipient: <bob@example.com>\n"));
	assert_non_null(strstr(out.p, "  State: pending\n"));
	assert_non_null(strstr(out.p, "  Attempts: 3\n"));
	assert_non_null(strstr(out.p, "(in 1m0s)\n"));
	assert_non_null(strstr(out.p, "  Last-Reply: 451 4.7.1 Try? later\n"));
	assert_non_null(strstr(out.p, "  Relay: mx.example.com[127.0.0.1]:25\n"));
	assert_non_null(strstr(out.p, "  Notify: FAILURE\n"));
	assert_non_null(strstr(out.p, "  Orcpt: rfc822;bob@example.com\n"));
	ctl_show_rcpt_free(&r);
	assert_int_equal(ctl_show_rcpt_unpack(b.p, 10, &r), -1);
	buf_free(&b);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_crlf_becomes_lf_and_controls_are_replaced),
		cmocka_unit_test(test_content_parts_split_at_the_first_empty_line),
		cmocka_unit_test(test_content_split_anywhere_gives_the_same_output),
		cmocka_unit_test(test_nul_and_bad_utf8_in_content_become_question_marks),
		cmocka_unit_test(test_notify_names),
		cmocka_unit_test(test_envelope_is_decoded_and_formatted_safely),
		cmocka_unit_test(test_recipient_is_decoded_and_formatted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
