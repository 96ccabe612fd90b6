/* Unit tests: message tracking in trace.db (events, order, the retention sweep). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include <bsd/string.h>

#include "../../queue-mgr/qmgr.h"
#include "pack.h"

static char		 home[] = "/tmp/postern-trace-test.XXXXXX";
static struct config	 conf;

static int
setup(void **state)
{
	strcpy(home, "/tmp/postern-trace-test.XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	memset(&conf, 0, sizeof(conf));
	conf.trace_retention = 3600;
	qmgr.conf = &conf;
	if ((qmgr.base = event_base_new()) == NULL ||
	    (qmgr.spool = spool_open(home)) == NULL)
		return -1;
	*state = home;
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[256];

	spool_close(qmgr.spool);
	qmgr.spool = NULL;
	event_base_free(qmgr.base);
	qmgr.base = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", (char *)*state);
	return 0;
}

struct seen {
	char		 events[16][32];
	uint64_t	 times[16];
	size_t		 n;
	size_t		 all;
	const char	*qid;
};

static int
event_cb(const void *v, size_t vlen, void *arg)
{
	struct seen	*s = arg;
	struct unpack	 u;
	char		*ev = NULL;
	uint64_t	 t;

	unpack_init(&u, v, vlen);
	assert_int_equal(unpack_u64(&u, &t), 0);
	assert_int_equal(unpack_str(&u, &ev, 64), 0);
	if (s->n < 16) {
		strlcpy(s->events[s->n], ev, sizeof(s->events[0]));
		s->times[s->n] = t;
	}
	s->n++;
	free(ev);
	return 0;
}

static int
collect_cb(DBC *c, const uint8_t *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct seen	*s = arg;

	(void)c;
	s->all++;
	if (s->qid != NULL && (klen != TRACE_KEY_LEN ||
	    memcmp(k, s->qid, QID_LEN) != 0))
		return 1;
	assert_int_equal(trace_record_each(v, vlen, event_cb, s), 0);
	return 0;
}

static void
put_events(const char *qid, const char *const *names, size_t n)
{
	struct buf	 b;
	DB_TXN		*txn;
	const char	*kv[2] = { "to", "x@example.com" };
	size_t		 i;

	buf_init(&b);
	for (i = 0; i < n; i++)
		assert_int_equal(trace_add(&b, names[i], kv, 1), 0);
	assert_int_equal(spool_txn_begin(qmgr.spool, &txn), 0);
	assert_int_equal(trace_write(txn, qid, &b), 0);
	assert_int_equal(spool_txn_commit(qmgr.spool, txn), 0);
	buf_free(&b);
}

static void
test_events_read_back_in_order_per_message(void **state)
{
	static const char *const a[] = { "received", "delivery", "removed" };
	static const char *const b[] = { "received", "held" };
	struct seen	 s;

	(void)state;
	put_events("0000000000000000001", a, 3);
	put_events("0000000000000000002", b, 2);
	memset(&s, 0, sizeof(s));
	s.qid = "0000000000000000001";
	assert_int_equal(spool_trace_walk(qmgr.spool, NULL,
	    (const uint8_t *)s.qid, QID_LEN, collect_cb, &s), 1);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.events[0], "received");
	assert_string_equal(s.events[1], "delivery");
	assert_string_equal(s.events[2], "removed");
	assert_true(s.times[0] <= s.times[1] && s.times[1] <= s.times[2]);
}

static void
test_an_aborted_txn_records_nothing(void **state)
{
	struct buf	 b;
	DB_TXN		*txn;
	struct seen	 s;

	(void)state;
	buf_init(&b);
	assert_int_equal(trace_add(&b, "received", NULL, 0), 0);
	assert_int_equal(spool_txn_begin(qmgr.spool, &txn), 0);
	assert_int_equal(trace_write(txn, "0000000000000000003", &b), 0);
	spool_txn_abort(qmgr.spool, txn);
	buf_free(&b);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_trace_walk(qmgr.spool, NULL, NULL, 0,
	    collect_cb, &s), 0);
	assert_int_equal(s.all, 0);
}

static void
test_sweep_keeps_a_trace_for_trace_retention_then_purges_it(void **state)
{
	static const char *const a[] = { "received", "removed" };
	struct seen	 s;
	uint64_t	 now = qmgr_now_us();

	(void)state;
	put_events("0000000000000000004", a, 2);
	assert_int_equal(trace_sweep(now + 3000ULL * 1000000), 0);
	memset(&s, 0, sizeof(s));
	spool_trace_walk(qmgr.spool, NULL, NULL, 0, collect_cb, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(trace_sweep(now + 3700ULL * 1000000), 0);
	memset(&s, 0, sizeof(s));
	spool_trace_walk(qmgr.spool, NULL, NULL, 0, collect_cb, &s);
	assert_int_equal(s.all, 0);
}

static void
test_sweep_work_is_bounded_and_resumes(void **state)
{
	static const char *const a[] = { "received" };
	char		 qid[QID_SIZE];
	struct seen	 s;
	uint64_t	 later = qmgr_now_us() + 7200ULL * 1000000;
	int		 i, rounds = 0;

	(void)state;
	for (i = 0; i < 12000; i++) {
		snprintf(qid, sizeof(qid), "%019d", i);
		put_events(qid, a, 1);
	}
	/* more than one sweep's budget: several rounds, each bounded */
	while (trace_sweep(later) == 1 && rounds < 10)
		rounds++;
	assert_true(rounds >= 2 && rounds < 10);
	memset(&s, 0, sizeof(s));
	spool_trace_walk(qmgr.spool, NULL, NULL, 0, collect_cb, &s);
	assert_int_equal(s.all, 0);
}

static void
test_an_oversized_event_is_refused_and_leaves_the_buffer_as_it_was(void **state)
{
	struct buf	 b;
	char		*big;
	const char	*kv[2];
	size_t		 len;

	(void)state;
	big = malloc(IPC_MAX_PAYLOAD + 10);
	memset(big, 'a', IPC_MAX_PAYLOAD + 9);
	big[IPC_MAX_PAYLOAD + 9] = '\0';
	kv[0] = "reply";
	kv[1] = big;
	buf_init(&b);
	assert_int_equal(trace_add(&b, "received", NULL, 0), 0);
	len = b.len;
	assert_int_equal(trace_add(&b, "delivery", kv, 1), -1);
	assert_int_equal(b.len, len);
	buf_free(&b);
	free(big);
}

static int
count_cb(const void *v, size_t len, void *arg)
{
	(void)v;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_one_record_holds_the_events_of_one_write_and_a_cut_one_is_refused(void **state)
{
	struct buf	 b;
	int		 n = 0;

	(void)state;
	buf_init(&b);
	assert_int_equal(trace_add(&b, "delivery", NULL, 0), 0);
	assert_int_equal(trace_add(&b, "removed", NULL, 0), 0);
	assert_int_equal(trace_record_each(b.p, b.len, count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(trace_record_each(b.p, b.len - 1, count_cb, &n), -1);
	assert_int_equal(trace_record_each(b.p, 3, count_cb, &n), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_events_read_back_in_order_per_message, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_aborted_txn_records_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sweep_keeps_a_trace_for_trace_retention_then_purges_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sweep_work_is_bounded_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_oversized_event_is_refused_and_leaves_the_buffer_as_it_was,
		    setup, teardown),
		cmocka_unit_test(
		    test_one_record_holds_the_events_of_one_write_and_a_cut_one_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
