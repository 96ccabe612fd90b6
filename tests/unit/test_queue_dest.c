/* Unit tests: destinations' concurrency, rate limit and whole-destination backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../queue-mgr/qmgr.h"

static struct config *
conf_of(const char *text)
{
	struct buf	 err;
	struct config	*c;

	buf_init(&err);
	c = config_parse_buf("test.conf", text, strlen(text), &err);
	if (c == NULL)
		fprintf(stderr, "%s\n", buf_cstr(&err));
	buf_free(&err);
	assert_non_null(c);
	return c;
}

static void
test_route_overrides_the_destination_limits(void **state)
{
	struct config	*c;
	struct qdest	*a, *b;

	(void)state;
	c = conf_of("destination_concurrency = 7\ndestination_rate_limit = 30\n"
	    "route \"*.slow.example\" {\n\tconcurrency = 2\n\trate_limit = 6\n}\n");
	a = dest_get("mx.slow.example");
	b = dest_get("fast.example");
	assert_ptr_equal(dest_get("fast.example"), b);
	assert_int_equal(dest_concurrency(c, a), 2);
	assert_int_equal(dest_rate(c, a), 6);
	assert_int_equal(dest_concurrency(c, b), 7);
	assert_int_equal(dest_rate(c, b), 30);
	dest_shutdown();
	config_free(c);
}

static void
test_concurrency_limit_stops_sending(void **state)
{
	struct config	*c;
	struct qdest	*d;
	uint64_t	 wake = UINT64_MAX, now = 1000000000ULL * 1000000;

	(void)state;
	c = conf_of("destination_concurrency = 2\n");
	d = dest_get("example.com");
	assert_true(dest_can_send(c, d, now, &wake));
	dest_sent(c, d, now);
	assert_true(dest_can_send(c, d, now, &wake));
	dest_sent(c, d, now);
	assert_false(dest_can_send(c, d, now, &wake));
	/* a result wakes it, not the clock */
	assert_int_equal(wake, UINT64_MAX);
	dest_result(c, d, 0, now / 1000000);
	assert_true(dest_can_send(c, d, now, &wake));
	dest_shutdown();
	config_free(c);
}

static void
test_rate_limit_spaces_jobs_evenly(void **state)
{
	struct config	*c;
	struct qdest	*d;
	uint64_t	 wake = UINT64_MAX, now = 1000000000ULL * 1000000;

	(void)state;
	c = conf_of("destination_rate_limit = 120\n");	/* one each 0.5 s */
	d = dest_get("example.com");
	assert_true(dest_can_send(c, d, now, &wake));
	dest_sent(c, d, now);
	dest_result(c, d, 0, now / 1000000);
	assert_false(dest_can_send(c, d, now + 100000, &wake));
	assert_int_equal(wake, now + 500000);
	assert_true(dest_can_send(c, d, now + 500000, &wake));
	dest_shutdown();
	config_free(c);
}

static void
test_failing_destination_is_backed_off_then_probed(void **state)
{
	struct config	*c;
	struct qdest	*d;
	uint64_t	 wake = UINT64_MAX, now = 1700000000;

	(void)state;
	c = conf_of("destination_failure_limit = 3\ndestination_concurrency = 10\n"
	    "queue_retry_schedule = 1m 5m\n");
	assert_int_equal(sched_configure(c), 0);
	d = dest_get("example.com");
	assert_int_equal(dest_result(c, d, 1, now), 0);
	assert_int_equal(dest_result(c, d, 1, now), 0);
	assert_false(dest_dead(d, now));
	/* the third failure in a row: backed off by the first retry wait */
	assert_int_equal(dest_result(c, d, 1, now), 1);
	assert_true(dest_dead(d, now));
	assert_int_equal(d->dead_until, now + 60);
	assert_false(dest_can_send(c, d, (now + 10) * 1000000, &wake));
	/* when the time comes: one probe at a time */
	assert_true(dest_can_send(c, d, (now + 60) * 1000000, &wake));
	assert_int_equal(dest_concurrency(c, d), 1);
	/* the probe fails too: the next wait */
	assert_int_equal(dest_result(c, d, 1, now + 60), 1);
	assert_int_equal(d->dead_until, now + 60 + 300);
	/* a delivery revives it */
	assert_int_equal(dest_result(c, d, 0, now + 400), 0);
	assert_false(dest_dead(d, now + 400));
	assert_int_equal(dest_concurrency(c, d), 10);
	dest_shutdown();
	config_free(c);
}

static void
test_failure_limit_zero_never_backs_off(void **state)
{
	struct config	*c;
	struct qdest	*d;
	int		 i;

	(void)state;
	c = conf_of("destination_failure_limit = 0\n");
	d = dest_get("example.com");
	for (i = 0; i < 100; i++)
		assert_int_equal(dest_result(c, d, 1, 1700000000), 0);
	assert_false(dest_dead(d, 1700000000));
	dest_reset_all();
	assert_int_equal(d->failures, 0);
	dest_shutdown();
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_overrides_the_destination_limits),
		cmocka_unit_test(test_concurrency_limit_stops_sending),
		cmocka_unit_test(test_rate_limit_spaces_jobs_evenly),
		cmocka_unit_test(test_failing_destination_is_backed_off_then_probed),
		cmocka_unit_test(test_failure_limit_zero_never_backs_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
