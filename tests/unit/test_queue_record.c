/* Unit tests: spool record encoding, queue ids, backoff, DSN codes, bounces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pack.h"
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
	b.p[4] = 3;			/* version 3 is not known */
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
	assert_int_equal(sched_backoff(300, 3600, 2000, 0), 300);
	assert_int_equal(sched_backoff(300, 3600, 2000, 1), 300);
	assert_int_equal(sched_backoff(300, 3600, 2000, 2), 600);
	assert_int_equal(sched_backoff(300, 3600, 2000, 3), 1200);
	assert_int_equal(sched_backoff(300, 3600, 2000, 4), 2400);
	assert_int_equal(sched_backoff(300, 3600, 2000, 5), 3600);
	assert_int_equal(sched_backoff(300, 3600, 2000, 1000000), 3600);
	assert_int_equal(sched_backoff(UINT64_MAX / 2 + 1, UINT64_MAX, 2000, 3),
	    UINT64_MAX);
	/* a minimum above the maximum is held to the maximum */
	assert_int_equal(sched_backoff(7200, 3600, 2000, 1), 3600);
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
test_version_1_records_are_still_read(void **state)
{
	struct qenv	 d;
	struct buf	 b;

	(void)state;
	/* a record as round 1 wrote it */
	buf_init(&b);
	pack_u32(&b, RECORD_MAGIC);
	pack_u32(&b, 1);
	pack_u64(&b, 1700000000);
	pack_u64(&b, 1700000000000000ULL);
	pack_u64(&b, 10);
	pack_str(&b, "a@b.example");
	pack_str(&b, "192.0.2.1");
	pack_str(&b, "helo.example");
	pack_u32(&b, 1);
	pack_str(&b, "x@dest.example");
	pack_u32(&b, QRCPT_PENDING);
	pack_u32(&b, 2);
	pack_u64(&b, 1700000600);
	pack_str(&b, "451 4.7.1 later");
	assert_int_equal(record_env_decode(b.p, b.len, &d), 0);
	assert_string_equal(d.rcpts[0].addr, "x@dest.example");
	assert_int_equal(d.rcpts[0].attempts, 2);
	/* the fields version 2 added take their defaults */
	assert_string_equal(d.envid, "");
	assert_int_equal(d.ret, DSN_RET_UNSPEC);
	assert_int_equal(d.flags, 0);
	assert_string_equal(d.rcpts[0].orcpt, "");
	assert_string_equal(d.rcpts[0].last_relay, "");
	assert_int_equal(d.rcpts[0].notify, 0);
	/* and it is written back as version 2 */
	buf_reset(&b);
	assert_int_equal(record_env_encode(&d, &b), 0);
	assert_int_equal((uint8_t)b.p[4], RECORD_VERSION);
	record_env_free(&d);
	buf_free(&b);
}

static void
test_dsn_fields_round_trip(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;

	(void)state;
	make_env(&e);
	e.ret = DSN_RET_HDRS;
	e.envid = strdup("QQ314159");
	e.body = BODY_TYPE_8BITMIME;
	e.smtputf8 = 1;
	e.flags = QENV_F_HELD;
	e.rcpts[1].notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
	e.rcpts[1].orcpt = strdup("rfc822;Y@Other.example");
	e.rcpts[1].last_relay = strdup("mx.other.example[192.0.2.9]:25");
	e.rcpts[1].flags = QRCPT_F_WARNED;
	e.rcpts[1].report = REPORT_DELAYED;	/* memory only */
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), 0);
	assert_int_equal(d.ret, DSN_RET_HDRS);
	assert_string_equal(d.envid, "QQ314159");
	assert_int_equal(d.body, BODY_TYPE_8BITMIME);
	assert_int_equal(d.smtputf8, 1);
	assert_int_equal(d.flags, QENV_F_HELD);
	assert_int_equal(d.rcpts[0].notify, 0);
	assert_string_equal(d.rcpts[0].orcpt, "");
	assert_int_equal(d.rcpts[1].notify, DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
	assert_string_equal(d.rcpts[1].orcpt, "rfc822;Y@Other.example");
	assert_string_equal(d.rcpts[1].last_relay, "mx.other.example[192.0.2.9]:25");
	assert_int_equal(d.rcpts[1].flags, QRCPT_F_WARNED);
	assert_int_equal(d.rcpts[1].report, 0);
	record_env_free(&d);
	record_env_free(&e);
	buf_free(&b);
}

static void
test_bad_notify_and_dsn_values_are_rejected(void **state)
{
	struct qenv	 e, d;
	struct buf	 b;

	(void)state;
	assert_true(record_notify_valid(0));
	assert_true(record_notify_valid(DSN_NOTIFY_NEVER));
	assert_true(record_notify_valid(DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE |
	    DSN_NOTIFY_DELAY));
	assert_false(record_notify_valid(DSN_NOTIFY_NEVER | DSN_NOTIFY_FAILURE));
	assert_false(record_notify_valid(0x10));
	assert_true(record_dsn_valid(DSN_RET_FULL, BODY_TYPE_BINARYMIME, 1));
	assert_false(record_dsn_valid(3, 0, 0));
	assert_false(record_dsn_valid(0, 4, 0));
	assert_false(record_dsn_valid(0, 0, 2));
	make_env(&e);
	e.rcpts[0].notify = DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS;
	buf_init(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	e.rcpts[0].notify = 0;
	e.flags = 0x80;
	buf_reset(&b);
	assert_int_equal(record_env_encode(&e, &b), 0);
	assert_int_equal(record_env_decode(b.p, b.len, &d), -1);
	record_env_free(&e);
	buf_free(&b);
}

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
	return c;
}

static void
test_exchange_schedule_repeats_its_last_entry(void **state)
{
	struct config		*c;
	struct sched_policy	 p;
	struct buf		 err;

	(void)state;
	c = conf_of("queue_retry_schedule = 10m 10m 10m 15m\n");
	assert_non_null(c);
	buf_init(&err);
	assert_int_equal(sched_policy_parse(c, &p, &err), 0);
	assert_int_equal(sched_policy_wait(&p, 1), 600);
	assert_int_equal(sched_policy_wait(&p, 3), 600);
	assert_int_equal(sched_policy_wait(&p, 4), 900);
	assert_int_equal(sched_policy_wait(&p, 5), 900);
	assert_int_equal(sched_policy_wait(&p, 1000), 900);
	sched_policy_free(&p);
	config_free(c);
	/* no schedule: the default doubling from 5m to 1h */
	c = conf_of("");
	assert_int_equal(sched_policy_parse(c, &p, &err), 0);
	assert_int_equal(sched_policy_wait(&p, 1), 300);
	assert_int_equal(sched_policy_wait(&p, 2), 600);
	assert_int_equal(sched_policy_wait(&p, 9), 3600);
	sched_policy_free(&p);
	config_free(c);
	buf_free(&err);
}

static void
test_backoff_factor_one_and_a_half(void **state)
{
	struct config		*c;
	struct sched_policy	 p;
	struct buf		 err;

	(void)state;
	c = conf_of("queue_min_backoff = 10m\nqueue_max_backoff = 1h\n"
	    "queue_backoff_factor = 1.5\n");
	assert_non_null(c);
	buf_init(&err);
	assert_int_equal(sched_policy_parse(c, &p, &err), 0);
	assert_int_equal(p.factor_milli, 1500);
	assert_int_equal(sched_policy_wait(&p, 1), 600);
	assert_int_equal(sched_policy_wait(&p, 2), 900);
	assert_int_equal(sched_policy_wait(&p, 3), 1350);
	assert_int_equal(sched_policy_wait(&p, 4), 2025);
	assert_int_equal(sched_policy_wait(&p, 5), 3037);
	assert_int_equal(sched_policy_wait(&p, 6), 3600);
	sched_policy_free(&p);
	config_free(c);
	buf_free(&err);
}

static void
test_bad_retry_policy_is_refused(void **state)
{
	static const char *bad[] = {
		"queue_backoff_factor = 0.5\n",
		"queue_backoff_factor = 11\n",
		"queue_backoff_factor = 1.2345\n",
		"queue_backoff_factor = x\n",
		"queue_backoff_factor = .5\n",
		"queue_retry_schedule = 10m soon\n",
		"queue_retry_schedule = 0s\n",
	};
	struct buf		 err;
	size_t			 i;

	(void)state;
	/* refused when the file is read (postern -n), with the key's name */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_init(&err);
		assert_null(config_parse_buf("test.conf", bad[i], strlen(bad[i]), &err));
		assert_non_null(buf_cstr(&err));
		assert_non_null(strstr(err.p, "test.conf:1: queue_"));
		buf_free(&err);
	}
}

static void
test_notify_defaults_and_never(void **state)
{
	struct qrcpt	 r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_true(sched_wants_failure(&r));
	assert_true(sched_wants_delay(&r));
	r.notify = DSN_NOTIFY_NEVER;
	assert_false(sched_wants_failure(&r));
	assert_false(sched_wants_delay(&r));
	r.notify = DSN_NOTIFY_SUCCESS;
	assert_false(sched_wants_failure(&r));
	assert_false(sched_wants_delay(&r));
	r.notify = DSN_NOTIFY_FAILURE;
	assert_true(sched_wants_failure(&r));
	assert_false(sched_wants_delay(&r));
	r.notify = DSN_NOTIFY_DELAY;
	assert_false(sched_wants_failure(&r));
	assert_true(sched_wants_delay(&r));
}

static void
assert_crlf_only(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			assert_true(i > 0 && b->p[i - 1] == '\r');
}

static void
test_failure_dsn_is_a_multipart_report(void **state)
{
	struct qenv	 e;
	struct buf	 b;
	const char	*hdr = "Subject: hi\r\nFrom: a@b.example\r\n";
	const char	*msg = "Subject: hi\r\nFrom: a@b.example\r\n\r\nbody\r\n";

	(void)state;
	make_env(&e);
	e.envid = strdup("ID+1=2");
	e.rcpts[1].report = REPORT_FAILED;
	e.rcpts[1].orcpt = strdup("rfc822;Y@Other.example");
	e.rcpts[1].last_relay = strdup("mx.other.example[192.0.2.9]:25");
	free(e.rcpts[1].last_reply);
	e.rcpts[1].last_reply = strdup("550 5.1.1 No such user");
	buf_init(&b);
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "a@b.example",
	    "QID", &e, REPORT_FAILED, hdr, strlen(hdr), 0, 0), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"));
	assert_non_null(strstr(b.p, "To: <a@b.example>\r\n"));
	assert_non_null(strstr(b.p, "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(strstr(b.p, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
	assert_non_null(strstr(b.p, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(b.p, "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"BQID/mx.example\"\r\n"));
	assert_non_null(strstr(b.p, "Content-Type: message/delivery-status\r\n"));
	assert_non_null(strstr(b.p, "Reporting-MTA: dns; mx.example\r\n"));
	assert_non_null(strstr(b.p, "Original-Envelope-Id: ID+2B1+3D2\r\n"));
	assert_non_null(strstr(b.p, "\r\n\r\nOriginal-Recipient: rfc822; Y@Other.example\r\n"
	    "Final-Recipient: rfc822; y@other.example\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\nRemote-MTA: dns; mx.other.example\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"));
	assert_non_null(strstr(b.p, "<y@other.example>: 550 5.1.1 No such user\r\n"));
	/* a recipient without a notice is not named */
	assert_null(strstr(b.p, "x@dest.example"));
	/* RET=HDRS or none: the header block */
	assert_non_null(strstr(b.p, "Content-Type: text/rfc822-headers\r\n\r\n"
	    "Subject: hi\r\nFrom: a@b.example\r\n"));
	assert_non_null(strstr(b.p, "\r\n--BQID/mx.example--\r\n"));
	assert_crlf_only(&b);
	/* RET=FULL: the whole message */
	buf_reset(&b);
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "a@b.example",
	    "QID", &e, REPORT_FAILED, msg, strlen(msg), 1, 0), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "Content-Type: message/rfc822\r\n\r\n"
	    "Subject: hi\r\nFrom: a@b.example\r\n\r\nbody\r\n"));
	assert_crlf_only(&b);
	buf_free(&b);
	record_env_free(&e);
}

static void
test_delay_and_success_dsn_actions(void **state)
{
	struct qenv	 e;
	struct buf	 b;
	const char	*hdr = "Subject: hi\r\n";

	(void)state;
	make_env(&e);
	e.rcpts[1].report = REPORT_DELAYED;
	buf_init(&b);
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "a@b.example",
	    "QID", &e, REPORT_DELAYED, hdr, strlen(hdr), 0, 0), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(b.p, "Action: delayed\r\nStatus: 4.7.1\r\n"));
	assert_non_null(strstr(b.p, "Will-Retry-Until: "));
	buf_reset(&b);
	e.rcpts[1].report = 0;
	e.rcpts[0].report = REPORT_DELIVERED;
	free(e.rcpts[0].last_reply);
	e.rcpts[0].last_reply = strdup("250 2.0.0 Ok");
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "a@b.example",
	    "QID", &e, REPORT_DELIVERED, hdr, strlen(hdr), 0, 0), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "Subject: Successful Mail Delivery Report\r\n"));
	assert_non_null(strstr(b.p, "Action: delivered\r\nStatus: 2.0.0\r\n"));
	buf_reset(&b);
	e.rcpts[0].flags = QRCPT_F_RELAYED;
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "a@b.example",
	    "QID", &e, REPORT_DELIVERED, hdr, strlen(hdr), 0, 0), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "Action: relayed\r\n"));
	buf_free(&b);
	record_env_free(&e);
}

static void
test_dsn_text_from_a_peer_cannot_inject_lines(void **state)
{
	struct qenv	 e;
	struct buf	 b;

	(void)state;
	make_env(&e);
	e.rcpts[1].report = REPORT_FAILED;
	free(e.rcpts[1].last_reply);
	e.rcpts[1].last_reply = strdup("550 5.0.0 x\r\nAction: delivered\n\r\x01\xff");
	e.rcpts[1].last_relay = strdup("evil\r\nX: y[1.2.3.4]:25");
	buf_init(&b);
	assert_int_equal(bounce_build(&b, "mx.example", "BQID", "a@b.example",
	    "QID", &e, REPORT_FAILED, "", 0, 0, 0), 0);
	buf_cstr(&b);
	assert_null(strstr(b.p, "\r\nAction: delivered"));
	assert_null(strstr(b.p, "\r\nX: y"));
	assert_non_null(strstr(b.p, "Diagnostic-Code: smtp; 550 5.0.0 xAction: delivered??\r\n"));
	assert_crlf_only(&b);
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
		cmocka_unit_test(test_version_1_records_are_still_read),
		cmocka_unit_test(test_dsn_fields_round_trip),
		cmocka_unit_test(test_bad_notify_and_dsn_values_are_rejected),
		cmocka_unit_test(test_exchange_schedule_repeats_its_last_entry),
		cmocka_unit_test(test_backoff_factor_one_and_a_half),
		cmocka_unit_test(test_bad_retry_policy_is_refused),
		cmocka_unit_test(test_notify_defaults_and_never),
		cmocka_unit_test(test_failure_dsn_is_a_multipart_report),
		cmocka_unit_test(test_delay_and_success_dsn_actions),
		cmocka_unit_test(test_dsn_text_from_a_peer_cannot_inject_lines),
		cmocka_unit_test(test_root_may_use_the_control_socket_and_others_not),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
