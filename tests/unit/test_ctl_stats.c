/* Unit tests: posternctl stats' decoding, text and JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pack.h"
#include "../../ctl/stats.h"

static void
pack_stats(struct buf *b, uint32_t ngroups, const char *domain)
{
	assert_int_equal(pack_u64(b, 10000), 0);	/* now */
	assert_int_equal(pack_u64(b, 6400), 0);		/* started: 1h ago */
	assert_int_equal(pack_u32(b, 1), 0);
	assert_int_equal(pack_u32(b, 2), 0);
	assert_int_equal(pack_u32(b, 3), 0);
	assert_int_equal(pack_u64(b, 9), 0);
	assert_int_equal(pack_u64(b, 9880), 0);		/* oldest: 2m ago */
	assert_int_equal(pack_u64(b, 100), 0);
	assert_int_equal(pack_u64(b, 90), 0);
	assert_int_equal(pack_u64(b, 7), 0);
	assert_int_equal(pack_u64(b, 2), 0);
	assert_int_equal(pack_u32(b, ngroups), 0);
	if (ngroups > 0) {
		assert_int_equal(pack_str(b, "4.7.1"), 0);
		assert_int_equal(pack_u32(b, 5), 0);
	}
	assert_int_equal(pack_u32(b, 1), 0);
	assert_int_equal(pack_str(b, domain), 0);
	assert_int_equal(pack_u32(b, 4), 0);
}

static void
test_stats_text_shows_counts_and_groups(void **state)
{
	struct ctl_stats	 s;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	pack_stats(&b, 1, "evil\x1b[0m.example");
	assert_int_equal(ctl_stats_unpack(b.p, b.len, &s), 0);
	assert_int_equal(ctl_stats_format(&out, &s), 0);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.p, "Messages:   6 (1 active, 2 deferred, 3 held), 9 recipients waiting\n"));
	assert_non_null(strstr(out.p, "Oldest:     2m0s\n"));
	assert_non_null(strstr(out.p, "Since start (1h0m ago):"));
	/* 90 in an hour: 1.5 a minute */
	assert_non_null(strstr(out.p, "  delivered            90         1.5\n"));
	assert_non_null(strstr(out.p, "Sessions:   unknown"));
	assert_non_null(strstr(out.p, "         5  4.7.1\n"));
	assert_non_null(strstr(out.p, "         4  evil?[0m.example\n"));
	buf_reset(&out);
	assert_int_equal(ctl_stats_json(&out, &s), 0);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.p, "\"messages\": {\"active\": 1, \"deferred\": 2, \"held\": 3}"));
	assert_non_null(strstr(out.p, "\"oldest_age\": 120"));
	assert_non_null(strstr(out.p, "\"per_minute\": {\"accepted\": 1.67, \"delivered\": 1.50"));
	assert_non_null(strstr(out.p, "\"smtpd\": null"));
	assert_non_null(strstr(out.p, "\"deferred_by_reason\": [{\"status\": \"4.7.1\", \"recipients\": 5}]"));
	assert_non_null(strstr(out.p, "\"domain\": \"evil\\u001b[0m.example\""));
	ctl_stats_free(&s);
	buf_free(&b);
	buf_free(&out);
}

static void
test_stats_show_smtpd_sessions_when_reported(void **state)
{
	struct ctl_stats	 s;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	pack_stats(&b, 0, "example.com");
	assert_int_equal(pack_u32(&b, 1), 0);
	assert_int_equal(pack_u32(&b, 17), 0);
	assert_int_equal(pack_u64(&b, 5000), 0);
	assert_int_equal(pack_u64(&b, 12), 0);
	assert_int_equal(ctl_stats_unpack(b.p, b.len, &s), 0);
	assert_int_equal(ctl_stats_format(&out, &s), 0);
	assert_non_null(strstr(buf_cstr(&out), "Sessions:   17 open (5000 connections "
	    "since smtpd started, 12 refused at once)\n"));
	buf_reset(&out);
	assert_int_equal(ctl_stats_json(&out, &s), 0);
	assert_non_null(strstr(buf_cstr(&out), "\"smtpd\": {\"sessions_open\": 17, "
	    "\"connections\": 5000, \"refused\": 12}"));
	ctl_stats_free(&s);
	/* a cut extension is refused like any other cut reply */
	assert_int_equal(ctl_stats_unpack(b.p, b.len - 3, &s), -1);
	buf_free(&b);
	buf_free(&out);
}

static void
test_stats_truncated_or_lying_reply_is_refused(void **state)
{
	struct ctl_stats	 s;
	struct buf		 b;

	(void)state;
	buf_init(&b);
	pack_stats(&b, 1, "example.com");
	assert_int_equal(ctl_stats_unpack(b.p, b.len - 1, &s), -1);
	buf_reset(&b);
	/* a group count far beyond what the frame holds */
	pack_stats(&b, 0, "example.com");
	memset(b.p + 8 * 2 + 4 * 3 + 8 * 6, 0xff, 4);
	assert_int_equal(ctl_stats_unpack(b.p, b.len, &s), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_text_shows_counts_and_groups),
		cmocka_unit_test(test_stats_show_smtpd_sessions_when_reported),
		cmocka_unit_test(test_stats_truncated_or_lying_reply_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
