/* Unit tests: posternctl trace's decoding, aligned lines and JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pack.h"
#include "../../ctl/trace.h"

/* 2026-11-25 21:40:01.123456 UTC */
#define T	1795642801123456ULL

static void
pack_event(struct buf *b, const char *event, const char *const *kv, uint32_t n)
{
	uint32_t	 i;

	assert_int_equal(pack_u64(b, T), 0);
	assert_int_equal(pack_str(b, event), 0);
	assert_int_equal(pack_u32(b, n), 0);
	for (i = 0; i < 2 * n; i++)
		assert_int_equal(pack_str(b, kv[i]), 0);
}

static void
test_delivery_line_puts_addresses_in_brackets_and_the_reply_last(void **state)
{
	static const char *const kv[] = { "to", "bob@example.com",
	    "relay", "mx.example.com[192.0.2.1]:25", "delay", "0.12",
	    "dsn", "2.0.0", "status", "sent", "reply", "250 2.0.0 Ok" };
	struct ctl_trace_event	 ev;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	pack_event(&b, "delivery", kv, 6);
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len, &ev), 0);
	assert_int_equal(ctl_trace_line(&out, &ev), 0);
	assert_non_null(buf_cstr(&out));
	assert_string_equal(out.p, "2026-11-25 21:40:01.123  delivery  "
	    "to=<bob@example.com> relay=mx.example.com[192.0.2.1]:25 "
	    "delay=0.12 dsn=2.0.0 status=sent (250 2.0.0 Ok)\n");
	ctl_trace_event_free(&ev);
	buf_free(&b);
	buf_free(&out);
}

static void
test_empty_and_spaced_values_are_quoted_and_escapes_neutralised(void **state)
{
	static const char *const kv[] = { "helo", "", "client",
	    "a b", "from", "evil\x1b[2J@example.com" };
	struct ctl_trace_event	 ev;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	pack_event(&b, "received", kv, 3);
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len, &ev), 0);
	assert_int_equal(ctl_trace_line(&out, &ev), 0);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.p, " helo=\"\" client=\"a b\" "));
	assert_null(strchr(out.p, '\x1b'));
	ctl_trace_event_free(&ev);
	buf_free(&b);
	buf_free(&out);
}

static void
test_json_has_fixed_keys_then_the_fields(void **state)
{
	static const char *const kv[] = { "kind",
	    "sender non-delivery notification",
	    "queue_id", "0000000000000000001", "event", "x" };
	struct ctl_trace_event	 ev;
	struct buf		 b, out;

	(void)state;
	buf_init(&b);
	buf_init(&out);
	pack_event(&b, "dsn", kv, 3);
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len, &ev), 0);
	assert_int_equal(ctl_trace_json(&out, &ev), 0);
	assert_non_null(buf_cstr(&out));
	assert_string_equal(out.p, "{\"time\": \"2026-11-25T21:40:01.123456Z\", "
	    "\"time_us\": 1795642801123456, \"event\": \"dsn\", \"kind\": "
	    "\"sender non-delivery notification\", \"queue_id\": "
	    "\"0000000000000000001\"}");
	ctl_trace_event_free(&ev);
	buf_free(&b);
	buf_free(&out);
}

static void
test_malformed_events_are_refused(void **state)
{
	static const char *const kv[] = { "to", "x@example.com" };
	struct ctl_trace_event	 ev;
	struct buf		 b;

	(void)state;
	buf_init(&b);
	pack_event(&b, "delivery", kv, 1);
	/* short, trailing byte, a count that lies, an empty event name */
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len - 1, &ev), -1);
	assert_int_equal(buf_appendc(&b, 'x'), 0);
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len, &ev), -1);
	buf_reset(&b);
	assert_int_equal(pack_u64(&b, T), 0);
	assert_int_equal(pack_str(&b, "delivery"), 0);
	assert_int_equal(pack_u32(&b, 1000000), 0);
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len, &ev), -1);
	buf_reset(&b);
	pack_event(&b, "", kv, 1);
	assert_int_equal(ctl_trace_event_unpack(b.p, b.len, &ev), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_delivery_line_puts_addresses_in_brackets_and_the_reply_last),
		cmocka_unit_test(
		    test_empty_and_spaced_values_are_quoted_and_escapes_neutralised),
		cmocka_unit_test(test_json_has_fixed_keys_then_the_fields),
		cmocka_unit_test(test_malformed_events_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
