/* Unit tests: spool record encoding, queue ids, backoff, DSN codes, bounces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../queue-mgr/qmgr.h"

static void
make_env(struct qenv *e)
{
	memset(e, 0, sizeof(*e));
	e->arrival = 1700000000;
	e->queued_us = 1700000000123456ULL;
	e->size = 4242;
	e->sender = strdup("a@b.example");
	e->client = strdup("192.0.2.1");
	e->helo = strdup("client.example");
	e->nrcpt = 2;
	e->rcpts = calloc(2, sizeof(*e->rcpts));
	e->rcpts[0].addr = strdup("x@dest.example");
	e->rcpts[0].last_reply = strdup("");
	e->rcpts[0].state = QRCPT_DELIVERED;
	e->rcpts[1].addr = strdup("y@other.example");
	e->rcpts[1].last_reply = strdup("451 4.7.1 later");
	e->rcpts[1].attempts = 3;
	e->rcpts[1].next_try = 1700000300;
}

static void
test_envelope_round_trips(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;

	(void)state;
	make_env(&e);
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), 0);
	assert_int_equal(d.arrival, e.arrival);
	assert_int_equal(d.queued_us, e.queued_us);
	assert_int_equal(d.size, 4242);
	assert_string_equal(d.sender, "a@b.example");
	assert_string_equal(d.client, "192.0.2.1");
	assert_string_equal(d.helo, "client.example");
	assert_int_equal(d.nrcpt, 2);
	assert_string_equal(d.rcpts[0].addr, "x@dest.example");
	assert_int_equal(d.rcpts[0].state, QRCPT_DELIVERED);
	assert_string_equal(d.rcpts[1].last_reply, "451 4.7.1 later");
	assert_int_equal(d.rcpts[1].attempts, 3);
	assert_int_equal(d.rcpts[1].next_try, 1700000300);
	/* memory-only fields are never stored */
	assert_int_equal(d.rcpts[1].inflight, 0);
	record_env_free(&d);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_null_sender_round_trips(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;

	(void)state;
	make_env(&e);
	free(e.sender);
	e.sender = strdup("");
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), 0);
	assert_string_equal(d.sender, "");
	record_env_free(&d);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_every_truncation_is_rejected(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;
	size_t		 n;

	(void)state;
	make_env(&e);
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	for (n = 0; n < b.len; n++)
		assert_int_equal(record_env_decode(b.p, n, &d), -1);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_trailing_bytes_are_rejected(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;

	(void)state;
	make_env(&e);
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	buf_appendc(&b, 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_wrong_magic_or_version_is_rejected(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;

	(void)state;
	make_env(&e);
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	b.p[0] ^= 1;
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	b.p[0] ^= 1;
	b.p[4] = 2;			/* version 2 is not known */
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_newline_in_a_stored_string_is_rejected(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;
	char		*p;

	(void)state;
	make_env(&e);
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	p = memmem(b.p, b.len, "a@b.example", 11);
	assert_non_null(p);
	p[1] = '\n';
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_bad_state_and_huge_counts_are_rejected(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;
	char		*p;

	(void)state;
	make_env(&e);
	e.rcpts[0].state = 3;
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	e.rcpts[0].state = 0;

	/* a recipient count far beyond the bytes that follow */
	buf_reset(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	p = memmem(b.p, b.len, "client.example", 14);
	assert_non_null(p);
	p += 14;
	memset(p, 0xff, 4);
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);

	/* no recipients at all */
	e.nrcpt = 0;
	buf_reset(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	e.nrcpt = 2;
	record_env_free(&e);
	buf_free(&b);
}

static void
test_content_keys_sort_by_chunk(void **state)
{
	uint8_t	 a[CONTENT_KEY_LEN], b[CONTENT_KEY_LEN];

	(void)state;
	record_content_key("0123456789ABCDEFGHJ", 255, a);
	record_content_key("0123456789ABCDEFGHJ", 256, b);
	assert_true(memcmp(a, b, sizeof(a)) < 0);
	assert_memory_equal(a, "0123456789ABCDEFGHJ", QID_LEN);
	assert_int_equal(record_content_nchunks(0), 0);
	assert_int_equal(record_content_nchunks(1), 1);
	assert_int_equal(record_content_nchunks(CONTENT_CHUNK), 1);
	assert_int_equal(record_content_nchunks(CONTENT_CHUNK + 1), 2);
}

static void
test_rcpt_domain_is_lowercased(void **state)
{
	char	*d;

	(void)state;
	d = record_rcpt_domain("Joe@Example.ORG");
	assert_string_equal(d, "example.org");
	free(d);
	d = record_rcpt_domain("\"a@b\"@c.example");
	assert_string_equal(d, "c.example");
	free(d);
	assert_null(record_rcpt_domain("postmaster"));
	assert_null(record_rcpt_domain("x@"));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_queue_ids_are_valid_and_unique(void **state)
{
	enum { N = 20000 };
	char	**ids;
	size_t	  i;

	(void)state;
	ids = calloc(N, sizeof(*ids));
	for (i = 0; i < N; i++) {
		ids[i] = malloc(QID_SIZE);
		qid_new(ids[i]);
		assert_int_equal(strlen(ids[i]), QID_LEN);
		assert_true(qid_valid(ids[i], QID_LEN));
	}
	qsort(ids, N, sizeof(*ids), cmp_str);
	for (i = 1; i < N; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) != 0);
	for (i = 0; i < N; i++)
		free(ids[i]);
	free(ids);
}

static void
test_queue_ids_sort_by_time(void **state)
{
	char	 a[QID_SIZE], b[QID_SIZE], c[QID_SIZE];

	(void)state;
	/* a later clock sorts later, whatever the random part */
	qid_format(a, 1700000000000000ULL, 0xffffffffffULL);
	qid_format(b, 1700000000000001ULL, 0);
	qid_format(c, 1800000000000000ULL, 12345);
	assert_true(strcmp(a, b) < 0);
	assert_true(strcmp(b, c) < 0);
	qid_new(a);
	qid_new(b);
	/* the same microsecond or later: the time part never goes backwards */
	assert_true(memcmp(a, b, QID_TIME_LEN) <= 0);
}

static void
test_queue_id_validation(void **state)
{
	(void)state;
	assert_true(qid_valid("0123456789ABCDEFGHJ", 19));
	assert_false(qid_valid("0123456789ABCDEFGHI", 19));	/* I is not Crockford */
	assert_false(qid_valid("0123456789abcdefghj", 19));
	assert_false(qid_valid("0123456789ABCDEFGH", 18));
	assert_false(qid_valid("../../../etc/passwd", 19));
	assert_false(qid_valid("0123456789ABCDEF\0HJ", 19));
}

static void
test_backoff_doubles_up_to_the_maximum(void **state)
{
	(void)state;
	assert_int_equal(sched_backoff(300, 3600, 0), 300);
	assert_int_equal(sched_backoff(300, 3600, 1), 300);
	assert_int_equal(sched_backoff(300, 3600, 2), 600);
	assert_int_equal(sched_backoff(300, 3600, 3), 1200);
	assert_int_equal(sched_backoff(300, 3600, 4), 2400);
	assert_int_equal(sched_backoff(300, 3600, 5), 3600);
	assert_int_equal(sched_backoff(300, 3600, 1000000), 3600);
	assert_int_equal(sched_backoff(UINT64_MAX / 2 + 1, UINT64_MAX, 3), UINT64_MAX);
	/* a minimum above the maximum is held to the maximum */
	assert_int_equal(sched_backoff(7200, 3600, 1), 3600);
}

static void
test_dsn_is_taken_from_the_reply(void **state)
{
	char	 d[16];

	(void)state;
	sched_dsn("250 2.1.5 Ok", RCPT_OK, d);
	assert_string_equal(d, "2.1.5");
	sched_dsn("550-5.7.1 Go away", RCPT_PERMFAIL, d);
	assert_string_equal(d, "5.7.1");
	sched_dsn("451 try later", RCPT_TEMPFAIL, d);
	assert_string_equal(d, "4.0.0");
	sched_dsn("550 no", RCPT_PERMFAIL, d);
	assert_string_equal(d, "5.0.0");
	sched_dsn("connection refused", RCPT_TEMPFAIL, d);
	assert_string_equal(d, "4.0.0");
	sched_dsn("250 2.0.0", RCPT_OK, d);
	assert_string_equal(d, "2.0.0");
	sched_dsn("550 5.1.12345 too long", RCPT_PERMFAIL, d);
	assert_string_equal(d, "5.0.0");
	sched_dsn("", RCPT_OK, d);
	assert_string_equal(d, "2.0.0");
}

static void
test_bounce_names_failed_recipients_and_quotes_headers(void **state)
{
	struct qenv	 e;
	struct buf	 b;
	const char	*hdr = "Subject: hi\r\nFrom: a@b.example\r\n";

	(void)state;
	make_env(&e);
	e.rcpts[1].notify = 1;
	free(e.rcpts[1].last_reply);
	e.rcpts[1].last_reply = strdup("550 5.1.1 No such user");
	buf_init(&b);
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "QID", &e, hdr,
	    strlen(hdr), 0), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"));
	assert_non_null(strstr(b.p, "To: <a@b.example>\r\n"));
	assert_non_null(strstr(b.p, "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(strstr(b.p, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	assert_non_null(strstr(b.p, "Message-ID: <BQID@mx.example>\r\n"));
	assert_non_null(strstr(b.p, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(b.p, "<y@other.example>: 550 5.1.1 No such user\r\n"));
	/* a delivered recipient is not named */
	assert_null(strstr(b.p, "x@dest.example"));
	assert_non_null(strstr(b.p, "\r\n\r\nSubject: hi\r\nFrom: a@b.example\r\n"));
	/* every line ends in CRLF */
	for (size_t i = 0; i < b.len; i++)
		if (b.p[i] == '\n')
			assert_true(i > 0 && b.p[i - 1] == '\r');
	buf_free(&b);
	record_env_free(&e);
}

static void
test_root_may_use_the_control_socket_and_others_not(void **state)
{
	gid_t	 g[] = { 100, 200 };

	(void)state;
	assert_true(control_allowed(0, 0, NULL, 0));
	/* no admin group resolved: nobody else */
	assert_false(control_allowed(1000, 1000, g, 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_round_trips),
		cmocka_unit_test(test_null_sender_round_trips),
		cmocka_unit_test(test_every_truncation_is_rejected),
		cmocka_unit_test(test_trailing_bytes_are_rejected),
		cmocka_unit_test(test_wrong_magic_or_version_is_rejected),
		cmocka_unit_test(test_newline_in_a_stored_string_is_rejected),
		cmocka_unit_test(test_bad_state_and_huge_counts_are_rejected),
		cmocka_unit_test(test_content_keys_sort_by_chunk),
		cmocka_unit_test(test_rcpt_domain_is_lowercased),
		cmocka_unit_test(test_queue_ids_are_valid_and_unique),
		cmocka_unit_test(test_queue_ids_sort_by_time),
		cmocka_unit_test(test_queue_id_validation),
		cmocka_unit_test(test_backoff_doubles_up_to_the_maximum),
		cmocka_unit_test(test_dsn_is_taken_from_the_reply),
		cmocka_unit_test(test_bounce_names_failed_recipients_and_quotes_headers),
		cmocka_unit_test(test_root_may_use_the_control_socket_and_others_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
