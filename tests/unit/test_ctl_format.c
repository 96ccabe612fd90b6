/* Unit tests: posternctl's ages, sizes, terminal and JSON escaping, table and entry decoding. */
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

static char *
json(const char *s)
{
	static struct buf b;

	buf_free(&b);
	assert_int_equal(ctl_json_string(&b, s), 0);
	return buf_cstr(&b);
}

static char *
term(const char *s)
{
	static struct buf b;

	buf_free(&b);
	assert_int_equal(ctl_term_safe(&b, s), 0);
	return buf_cstr(&b) ? b.p : "";
}

static void
test_age_picks_two_largest_units(void **state)
{
	char	 s[32];

	(void)state;
	ctl_format_age(s, sizeof(s), 0);
	assert_string_equal(s, "0s");
	ctl_format_age(s, sizeof(s), 59);
	assert_string_equal(s, "59s");
	ctl_format_age(s, sizeof(s), 192);
	assert_string_equal(s, "3m12s");
	ctl_format_age(s, sizeof(s), 2 * 3600 + 5 * 60 + 59);
	assert_string_equal(s, "2h5m");
	ctl_format_age(s, sizeof(s), 86400 + 3 * 3600 + 1);
	assert_string_equal(s, "1d3h");
	ctl_format_age(s, sizeof(s), 400 * 86400);
	assert_string_equal(s, "400d0h");
}

static void
test_terminal_text_hides_no_direction_or_zero_width_tricks(void **state)
{
	(void)state;
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE, U+2066,
	 * U+FEFF: each shown as '?' so the admin sees what is there */
	assert_string_equal(term("admin\xe2\x80\xaelmth.exe"), "admin?lmth.exe");
	assert_string_equal(term("pay\xe2\x80\x8bpal@x"), "pay?pal@x");
	assert_string_equal(term("\xe2\x81\xa6" "a\xef\xbb\xbf"), "?a?");
	/* ordinary non-ASCII text stays */
	assert_string_equal(term("J\xc3\xbcrgen \xe2\x82\xac"), "J\xc3\xbcrgen \xe2\x82\xac");
}

static void
test_age_in_the_future_is_zero(void **state)
{
	char	 s[32];

	(void)state;
	ctl_format_age(s, sizeof(s), -5000);
	assert_string_equal(s, "0s");
}

static void
test_size_scales_to_three_digits(void **state)
{
	char	 s[32];

	(void)state;
	ctl_format_size(s, sizeof(s), 0);
	assert_string_equal(s, "0");
	ctl_format_size(s, sizeof(s), 1023);
	assert_string_equal(s, "1023");
	ctl_format_size(s, sizeof(s), 1536);
	assert_string_equal(s, "1.5K");
	ctl_format_size(s, sizeof(s), 35 * 1024 * 1024);
	assert_string_equal(s, "35M");
	ctl_format_size(s, sizeof(s), UINT64_MAX);
	assert_string_equal(s, "15E");
}

static void
test_json_escapes_quotes_backslashes_and_controls(void **state)
{
	(void)state;
	assert_string_equal(json(""), "\"\"");
	assert_string_equal(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
	assert_string_equal(json("\x1b[31m\x07\x7f"), "\"\\u001b[31m\\u0007\\u007f\"");
	assert_string_equal(json("\t\r\n"), "\"\\t\\r\\n\"");
	assert_string_equal(json("</script>"), "\"</script>\"");
}

static void
test_json_replaces_bad_utf8(void **state)
{
	(void)state;
	/* lone continuation, overlong '/', truncated sequence, surrogate */
	assert_string_equal(json("\x80"), "\"\\ufffd\"");
	assert_string_equal(json("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	assert_string_equal(json("x\xe2\x82"), "\"x\\ufffd\\ufffd\"");
	assert_string_equal(json("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(json("\xf4\x90\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void
test_json_keeps_valid_utf8_and_escapes_line_separators(void **state)
{
	(void)state;
	assert_string_equal(json("caf\xc3\xa9 \xf0\x9f\x93\xa7"),
	    "\"caf\xc3\xa9 \xf0\x9f\x93\xa7\"");
	assert_string_equal(json("a\xe2\x80\xa8" "b"), "\"a\\u2028b\"");
}

static void
test_terminal_output_neutralises_escape_sequences(void **state)
{
	(void)state;
	assert_string_equal(term("evil\x1b]0;pwn\x07"), "evil?]0;pwn?");
	/* C1 CSI (U+009B) is a control on many terminals */
	assert_string_equal(term("a\xc2\x9b" "31m"), "a?31m");
	assert_string_equal(term("b\xff" "ad"), "b?ad");
	assert_string_equal(term("caf\xc3\xa9"), "caf\xc3\xa9");
}

static void
pack_entry(struct buf *b, const char *id, const char *sender, uint32_t nrcpt,
    const char *err)
{
	uint32_t i;

	buf_init(b);
	pack_str(b, id);
	pack_u64(b, 1000);
	pack_u64(b, 2048);
	pack_str(b, sender);
	pack_u32(b, QSTATE_DEFERRED);
	pack_u64(b, 1300);
	pack_str(b, err);
	pack_u32(b, nrcpt);
	for (i = 0; i < nrcpt; i++) {
		pack_str(b, "r@example.net");
		pack_u32(b, i % 2);
	}
}

static void
test_entry_unpacks_and_renders_as_json(void **state)
{
	struct ctl_entry	 e;
	struct buf		 b, out;

	(void)state;
	pack_entry(&b, "ABC123", "", 2, "451 4.4.1 \"refused\"");
	assert_int_equal(ctl_entry_unpack(b.p, b.len, &e), 0);
	assert_int_equal(e.nrcpt, 2);
	assert_int_equal(ctl_entry_pending(&e), 1);
	buf_init(&out);
	assert_int_equal(ctl_json_entry(&out, &e), 0);
	assert_string_equal(buf_cstr(&out),
	    "{\"id\":\"ABC123\",\"arrival\":1000,\"size\":2048,\"sender\":\"\","
	    "\"state\":\"deferred\",\"next_try\":1300,"
	    "\"last_error\":\"451 4.4.1 \\\"refused\\\"\",\"recipients\":["
	    "{\"address\":\"r@example.net\",\"state\":\"pending\"},"
	    "{\"address\":\"r@example.net\",\"state\":\"delivered\"}]}");
	ctl_entry_free(&e);
	buf_free(&out);
	buf_free(&b);
}

static void
test_entry_with_lying_count_or_trailing_bytes_is_refused(void **state)
{
	struct ctl_entry	 e;
	struct buf		 b;
	size_t			 cut;

	(void)state;
	pack_entry(&b, "ABC", "a@b", 1, "");
	/* claims a million recipients in a few bytes */
	b.p[b.len - 4 - 13 - 4 - 4] = 0x40;
	b.p[b.len - 4 - 13 - 4 - 2] = 0x0f;
	assert_int_equal(ctl_entry_unpack(b.p, b.len, &e), -1);
	buf_free(&b);

	pack_entry(&b, "ABC", "a@b", 1, "");
	buf_appendc(&b, 'x');
	assert_int_equal(ctl_entry_unpack(b.p, b.len, &e), -1);
	buf_free(&b);

	pack_entry(&b, "ABC", "a@b", 3, "");
	for (cut = 0; cut < b.len; cut++)
		assert_int_equal(ctl_entry_unpack(b.p, cut, &e), -1);
	buf_free(&b);
}

static void
test_table_aligns_columns_and_totals(void **state)
{
	struct ctl_entry	 e[2];
	struct buf		 b, out;

	(void)state;
	pack_entry(&b, "SHORT", "", 1, "");
	assert_int_equal(ctl_entry_unpack(b.p, b.len, &e[0]), 0);
	buf_free(&b);
	pack_entry(&b, "LONGERQUEUEID", "someone@example.org", 2,
	    "451 4.7.1 greylisted\x1b[2J");
	assert_int_equal(ctl_entry_unpack(b.p, b.len, &e[1]), 0);
	buf_free(&b);
	buf_init(&out);
	assert_int_equal(ctl_format_table(&out, e, 2, 1192), 0);
	assert_string_equal(buf_cstr(&out),
	    "QUEUE ID       ARRIVED  SIZE  SENDER                 RCPTS  STATE     NEXT TRY\n"
	    "SHORT            3m12s  2.0K  <>                     1/1    deferred  in 1m48s\n"
	    "LONGERQUEUEID    3m12s  2.0K  <someone@example.org>  1/2    deferred  in 1m48s\n"
	    "    last error: 451 4.7.1 greylisted?[2J\n"
	    "2 messages, 2 recipients, 4096 bytes\n");
	ctl_entry_free(&e[0]);
	ctl_entry_free(&e[1]);
	buf_free(&out);
}

static void
test_empty_queue_says_so(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out);
	assert_int_equal(ctl_format_table(&out, NULL, 0, 0), 0);
	assert_string_equal(buf_cstr(&out), "Mail queue is empty\n");
	buf_free(&out);
}

static void
fill(struct ctl_entry *e, struct ctl_rcpt *r, const char *sender,
    uint64_t arrival, uint32_t st)
{
	memset(e, 0, sizeof(*e));
	e->id = "1K13SEKSZBWSY2NAYM9";
	e->sender = (char *)sender;
	e->arrival = arrival;
	e->state = st;
	e->size = 2048;
	e->last_error = "";
	e->rcpts = r;
	e->nrcpt = 2;
	r[0].address = "bob@mail.Example.com";
	r[0].state = 0;
	r[1].address = "carol@example.net";
	r[1].state = 1;
}

static void
test_filters_narrow_the_listing(void **state)
{
	struct ctl_entry	 e;
	struct ctl_rcpt		 r[2];
	struct ctl_filter	 none = { NULL, NULL, NULL, 0, -1 };
	struct ctl_filter	 f;

	(void)state;
	fill(&e, r, "Alice@example.org", 1000, QSTATE_DEFERRED);
	assert_true(ctl_entry_matches(&e, &none, 2000));
	f = none; f.sender = "alice@";
	assert_true(ctl_entry_matches(&e, &f, 2000));
	f = none; f.sender = "mallory";
	assert_false(ctl_entry_matches(&e, &f, 2000));
	f = none; f.rcpt = "CAROL";
	assert_true(ctl_entry_matches(&e, &f, 2000));
	f = none; f.domain = "example.com";
	assert_true(ctl_entry_matches(&e, &f, 2000));	/* a subdomain */
	f = none; f.domain = "@example.net";
	assert_true(ctl_entry_matches(&e, &f, 2000));
	f = none; f.domain = "ample.com";		/* not a label boundary */
	assert_false(ctl_entry_matches(&e, &f, 2000));
	f = none; f.older = 1000;
	assert_true(ctl_entry_matches(&e, &f, 2000));
	f = none; f.older = 1001;
	assert_false(ctl_entry_matches(&e, &f, 2000));
	f = none; f.state = QSTATE_HELD;
	assert_false(ctl_entry_matches(&e, &f, 2000));
	f = none; f.state = QSTATE_DEFERRED; f.domain = "example.com";
	assert_true(ctl_entry_matches(&e, &f, 2000));
}

static void
test_mailq_lists_pending_recipients_and_marks_states(void **state)
{
	struct ctl_entry	 e[2];
	struct ctl_rcpt		 r[2][2];
	struct buf		 b;

	(void)state;
	fill(&e[0], r[0], "alice@example.org", 1000, QSTATE_ACTIVE);
	fill(&e[1], r[1], "", 1000, QSTATE_HELD);
	e[1].id = "1K13SEKSZBWSY2NAYMA";
	e[1].last_error = "451 4.3.2 try later";
	buf_init(&b);
	assert_int_equal(ctl_format_mailq(&b, e, 2), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "-Queue ID-"));
	assert_non_null(strstr(b.p, "1K13SEKSZBWSY2NAYM9*"));
	assert_non_null(strstr(b.p, "1K13SEKSZBWSY2NAYMA!"));
	assert_non_null(strstr(b.p, "MAILER-DAEMON"));
	assert_non_null(strstr(b.p, "(451 4.3.2 try later)"));
	assert_non_null(strstr(b.p, "bob@mail.Example.com"));
	/* delivered recipients are not listed */
	assert_null(strstr(b.p, "carol@example.net"));
	assert_non_null(strstr(b.p, "-- 4 Kbytes in 2 Requests."));
	buf_free(&b);
	buf_init(&b);
	assert_int_equal(ctl_format_mailq(&b, e, 0), 0);
	assert_string_equal(buf_cstr(&b), "Mail queue is empty\n");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age_picks_two_largest_units),
		cmocka_unit_test(test_age_in_the_future_is_zero),
		cmocka_unit_test(test_terminal_text_hides_no_direction_or_zero_width_tricks),
		cmocka_unit_test(test_size_scales_to_three_digits),
		cmocka_unit_test(test_json_escapes_quotes_backslashes_and_controls),
		cmocka_unit_test(test_json_replaces_bad_utf8),
		cmocka_unit_test(test_json_keeps_valid_utf8_and_escapes_line_separators),
		cmocka_unit_test(test_terminal_output_neutralises_escape_sequences),
		cmocka_unit_test(test_entry_unpacks_and_renders_as_json),
		cmocka_unit_test(test_entry_with_lying_count_or_trailing_bytes_is_refused),
		cmocka_unit_test(test_table_aligns_columns_and_totals),
		cmocka_unit_test(test_empty_queue_says_so),
		cmocka_unit_test(test_filters_narrow_the_listing),
		cmocka_unit_test(test_mailq_lists_pending_recipients_and_marks_states),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
