/* Unit tests for smtpd/data.c: end of data, dot-unstuffing, bare CR/LF. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd.h"

struct run {
	struct buf	 out;
	size_t		 used;		/* input bytes consumed in all */
	int		 done;
	int		 bare;
	int		 too_big;
};

/* Feeds in, cut into pieces at the offsets in cuts (ascending, 0-ended). */
static void
feed_cut(const char *in, size_t len, const size_t *cuts, uint64_t max,
    struct run *r)
{
	struct data_sm	 d;
	size_t		 at = 0, next;
	ssize_t		 n;

	memset(r, 0, sizeof(*r));
	buf_init(&r->out);
	data_init(&d, max);
	while (at < len && !data_done(&d)) {
		next = (cuts && *cuts && *cuts < len) ? *cuts++ : len;
		if (next <= at)
			continue;
		n = data_feed(&d, in + at, next - at, &r->out);
		assert_true(n >= 0);
		at += (size_t)n;
	}
	r->used = at;
	r->done = data_done(&d);
	r->bare = d.bare;
	r->too_big = d.too_big;
}

static void
feed(const char *in, struct run *r)
{
	feed_cut(in, strlen(in), NULL, 1 << 20, r);
}

static void
test_empty_message_is_just_the_dot(void **state)
{
	struct run r;

	feed(".\r\n", &r);
	assert_true(r.done);
	assert_int_equal(r.out.len, 0);
	buf_free(&r.out);
}

static void
test_content_is_kept_with_crlf(void **state)
{
	struct run r;

	feed("Subject: x\r\n\r\nhello\r\n.\r\n", &r);
	assert_true(r.done);
	assert_false(r.bare);
	assert_int_equal(r.out.len, 21);
	assert_memory_equal(r.out.p, "Subject: x\r\n\r\nhello\r\n", 21);
	buf_free(&r.out);
}

static void
test_leading_dot_is_removed(void **state)
{
	struct run r;

	feed("..\r\n...x\r\n.y\r\na.b\r\n.\r\n", &r);
	assert_true(r.done);
	assert_int_equal(r.out.len, strlen(".\r\n..x\r\ny\r\na.b\r\n"));
	assert_memory_equal(r.out.p, ".\r\n..x\r\ny\r\na.b\r\n", r.out.len);
	buf_free(&r.out);
}

static void
test_bytes_after_end_of_data_are_not_consumed(void **state)
{
	struct run	 r;
	const char	*in = "a\r\n.\r\nQUIT\r\n";

	feed(in, &r);
	assert_true(r.done);
	assert_int_equal(r.used, 6);
	buf_free(&r.out);
}

static void
test_end_of_data_split_at_every_byte_boundary(void **state)
{
	const char	*in = "Subject: s\r\n\r\n..a\r\nb\r\n.\r\nNOOP\r\n";
	const char	*want = "Subject: s\r\n\r\n.a\r\nb\r\n";
	size_t		 len = strlen(in), i, j, cuts[3];
	struct run	 r;

	for (i = 1; i < len; i++) {
		for (j = i; j < len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			cuts[2] = 0;
			feed_cut(in, len, cuts, 1 << 20, &r);
			assert_true(r.done);
			assert_false(r.bare);
			assert_int_equal(r.used, len - 6);
			assert_int_equal(r.out.len, strlen(want));
			assert_memory_equal(r.out.p, want, r.out.len);
			buf_free(&r.out);
		}
	}
}

static void
test_one_byte_at_a_time(void **state)
{
	const char	*in = "x\r\n.\r\n";
	size_t		 cuts[] = { 1, 2, 3, 4, 5, 0 };
	struct run	 r;

	feed_cut(in, strlen(in), cuts, 100, &r);
	assert_true(r.done);
	assert_int_equal(r.out.len, 3);
	buf_free(&r.out);
}

static void
test_bare_lf_is_never_a_line_end(void **state)
{
	static const char *smuggle[] = {
		"a\n.\nMAIL FROM:<x@y>\r\n",
		"a\n.\r\nMAIL FROM:<x@y>\r\n",
		"a\r.\rMAIL FROM:<x@y>\r\n",
		"a\r\n.\nMAIL FROM:<x@y>\r\n",
		"a\r\n.\rMAIL FROM:<x@y>\r\n",
		"a\r.\r\nMAIL FROM:<x@y>\r\n",
		"a\n\r\n.\n\r\n",
		"\n.\n",
		"\r.\r",
	};
	struct run	 r;
	size_t		 i;

	for (i = 0; i < sizeof(smuggle) / sizeof(smuggle[0]); i++) {
		feed(smuggle[i], &r);
		if (r.done)
			fail_msg("variant %zu ended the data", i);
		assert_true(r.bare);
		assert_int_equal(r.used, strlen(smuggle[i]));
		buf_free(&r.out);
	}
}

static void
test_bare_cr_or_lf_marks_message_bad_but_real_end_still_ends(void **state)
{
	static const char *bad[] = {
		"a\nb\r\n.\r\n", "a\rb\r\n.\r\n", "a\r\r\n.\r\n", "\n\r\n.\r\n",
		".\n\r\n.\r\n", ".\rx\r\n.\r\n", "a\r\n.\r\r\n.\r\n",
	};
	struct run	 r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		feed(bad[i], &r);
		if (!r.done || !r.bare)
			fail_msg("variant %zu: done %d bare %d", i, r.done, r.bare);
		assert_int_equal(r.used, strlen(bad[i]));
		buf_free(&r.out);
	}
}

static void
test_crlf_dot_crlf_after_bare_cr_split_everywhere(void **state)
{
	const char	*in = "x\ry\r\n.\r\n";
	size_t		 len = strlen(in), i, cuts[2];
	struct run	 r;

	for (i = 1; i < len; i++) {
		cuts[0] = i;
		cuts[1] = 0;
		feed_cut(in, len, cuts, 100, &r);
		assert_true(r.done);
		assert_true(r.bare);
		assert_int_equal(r.used, len);
		buf_free(&r.out);
	}
}

static void
test_over_limit_is_flagged_and_not_kept(void **state)
{
	char		 in[300];
	struct run	 r;

	memset(in, 'x', 200);
	memcpy(in + 200, "\r\n.\r\n", 6);
	feed_cut(in, strlen(in), NULL, 100, &r);
	assert_true(r.done);
	assert_true(r.too_big);
	assert_true(r.out.len <= 100);
	buf_free(&r.out);
	feed_cut(in, strlen(in), NULL, 202, &r);
	assert_false(r.too_big);
	assert_int_equal(r.out.len, 202);
	buf_free(&r.out);
}

static void
test_long_lines_are_flagged_and_not_kept(void **state)
{
	size_t		 n = 5000;
	char		*in = malloc(n + 6);
	struct run	 r;
	struct data_sm	 d;
	struct buf	 out;

	assert_non_null(in);
	memset(in, 'L', n);
	memcpy(in + n, "\r\n.\r\n", 6);
	feed(in, &r);
	/* the end of data is still found; the content is refused */
	assert_true(r.done);
	assert_int_equal(r.used, n + 5);
	assert_true(r.out.len <= 998);
	buf_free(&r.out);
	/* 998 octets and a dot-stuffed 999 (998 once unstuffed) pass */
	buf_init(&out);
	data_init(&d, 1 << 20);
	memset(in, 'L', 998);
	memcpy(in + 998, "\r\n", 2);
	assert_int_equal(data_feed(&d, in, 1000, &out), 1000);
	in[0] = '.';
	memset(in + 1, '.', 998);
	memcpy(in + 999, "\r\n.\r\n", 5);
	assert_int_equal(data_feed(&d, in, 1004, &out), 1004);
	assert_true(data_done(&d));
	assert_false(data_rejected(&d));
	assert_false(d.long_line);
	buf_free(&out);
	free(in);
}

static void
test_nul_bytes_are_flagged(void **state)
{
	const char	 in[] = "a\0b\r\n.\r\n";
	struct data_sm	 d;
	struct buf	 out;

	buf_init(&out);
	data_init(&d, 100);
	assert_int_equal(data_feed(&d, in, sizeof(in) - 1, &out), 8);
	assert_true(data_done(&d));
	assert_true(d.nul);
	assert_true(data_rejected(&d));
	buf_free(&out);
}

static void
test_received_fields_are_counted_in_the_header_only(void **state)
{
	const char	*in = "Received: a\r\nreceived:b\r\nReceivedX: c\r\n"
	    " Received: folded\r\nX-Received: d\r\nReceived: e\r\n\r\n"
	    "Received: in the body\r\n.\r\n";
	size_t		 cuts[] = { 3, 9, 10, 20, 40, 0 };
	struct run	 r;
	struct data_sm	 d;
	struct buf	 out;
	size_t		 i, len = strlen(in);

	feed_cut(in, len, cuts, 1 << 20, &r);
	assert_true(r.done);
	buf_free(&r.out);
	/* whatever the cuts, the count is the same */
	for (i = 1; i < len; i++) {
		buf_init(&out);
		data_init(&d, 1 << 20);
		assert_int_equal(data_feed(&d, in, i, &out), (ssize_t)i);
		assert_int_equal(data_feed(&d, in + i, len - i, &out),
		    (ssize_t)(len - i));
		assert_int_equal(d.nreceived, 3);
		buf_free(&out);
	}
}

static void
test_bdat_keeps_dots_and_checks_line_ends_across_chunks(void **state)
{
	struct data_sm	 d;
	struct buf	 out;

	buf_init(&out);
	data_init_bdat(&d, 1000, 0);
	assert_int_equal(data_feed_bdat(&d, "a\r", 2, &out), 0);
	assert_int_equal(data_feed_bdat(&d, "\n.\r\n", 4, &out), 0);
	assert_false(d.bare);
	assert_int_equal(data_end_bdat(&d, &out), 0);
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.p, "a\r\n.\r\n", 6);
	buf_free(&out);

	/* a CR at the end of one chunk and no LF at the start of the next */
	buf_init(&out);
	data_init_bdat(&d, 1000, 0);
	data_feed_bdat(&d, "a\r", 2, &out);
	data_feed_bdat(&d, "b\r\n", 3, &out);
	assert_true(d.bare);
	buf_free(&out);

	/* a text body without its last CRLF gets one */
	buf_init(&out);
	data_init_bdat(&d, 1000, 0);
	data_feed_bdat(&d, "x\r\ny", 4, &out);
	assert_int_equal(data_end_bdat(&d, &out), 0);
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.p, "x\r\ny\r\n", 6);
	buf_free(&out);

	/* a final lone CR is bare */
	buf_init(&out);
	data_init_bdat(&d, 1000, 0);
	data_feed_bdat(&d, "x\r", 2, &out);
	data_end_bdat(&d, &out);
	assert_true(d.bare);
	buf_free(&out);
}

static void
test_binarymime_bdat_takes_any_byte(void **state)
{
	struct data_sm	 d;
	struct buf	 out;

	buf_init(&out);
	data_init_bdat(&d, 1000, 1);
	assert_int_equal(data_feed_bdat(&d, "\0\n\r\rz", 5, &out), 0);
	assert_int_equal(data_end_bdat(&d, &out), 0);
	assert_false(data_rejected(&d));
	assert_int_equal(out.len, 5);
	buf_free(&out);
	/* the size limit still holds */
	buf_init(&out);
	data_init_bdat(&d, 4, 1);
	data_feed_bdat(&d, "12345", 5, &out);
	assert_true(d.too_big);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_message_is_just_the_dot),
		cmocka_unit_test(test_content_is_kept_with_crlf),
		cmocka_unit_test(test_leading_dot_is_removed),
		cmocka_unit_test(test_bytes_after_end_of_data_are_not_consumed),
		cmocka_unit_test(test_end_of_data_split_at_every_byte_boundary),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_bare_lf_is_never_a_line_end),
		cmocka_unit_test(test_bare_cr_or_lf_marks_message_bad_but_real_end_still_ends),
		cmocka_unit_test(test_crlf_dot_crlf_after_bare_cr_split_everywhere),
		cmocka_unit_test(test_over_limit_is_flagged_and_not_kept),
		cmocka_unit_test(test_long_lines_are_flagged_and_not_kept),
		cmocka_unit_test(test_nul_bytes_are_flagged),
		cmocka_unit_test(test_received_fields_are_counted_in_the_header_only),
		cmocka_unit_test(test_bdat_keeps_dots_and_checks_line_ends_across_chunks),
		cmocka_unit_test(test_binarymime_bdat_takes_any_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
