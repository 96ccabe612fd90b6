/* Unit tests: the Berkeley DB spool in a temporary directory (no chroot). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../queue-mgr/qmgr.h"

static char	 home[] = "/tmp/postern-spool-test.XXXXXX";

static void
rmtree(const char *dir)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static int
setup(void **state)
{
	strcpy(home, "/tmp/postern-spool-test.XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	*state = home;
	return 0;
}

static int
teardown(void **state)
{
	rmtree(*state);
	return 0;
}

static void
make_env(struct qenv *e, uint64_t size)
{
	memset(e, 0, sizeof(*e));
	e->arrival = 1700000000;
	e->queued_us = 1700000000000000ULL;
	e->size = size;
	e->sender = strdup("a@b.example");
	e->client = strdup("192.0.2.1");
	e->helo = strdup("client.example");
	e->nrcpt = 2;
	e->rcpts = calloc(2, sizeof(*e->rcpts));
	e->rcpts[0].addr = strdup("x@dest.example");
	e->rcpts[0].last_reply = strdup("");
	e->rcpts[1].addr = strdup("y@dest.example");
	e->rcpts[1].last_reply = strdup("451 4.7.1 later");
	e->rcpts[1].attempts = 3;
	e->rcpts[1].next_try = 1700000300;
}

struct collect {
	struct buf	 b;
	int		 calls;
};

static int
collect_cb(const void *p, size_t len, void *arg)
{
	struct collect *c = arg;

	c->calls++;
	return buf_append(&c->b, p, len);
}

static int
count_cb(const char *qid, struct qenv *e, void *arg)
{
	int *n = arg;

	(*n)++;
	assert_true(qid_valid(qid, strlen(qid)));
	record_env_free(e);
	return 0;
}

static void
test_commit_read_delete_message(void **state)
{
	struct spool	*sp;
	struct qenv	 e, got;
	struct collect	 c;
	DB_TXN		*txn;
	char		 qid[QID_SIZE];
	char		*content;
	size_t		 size = 3 * CONTENT_CHUNK + 1234, i;
	int		 n = 0;

	assert_non_null(sp = spool_open(*state));
	content = malloc(size);
	for (i = 0; i < size; i++)
		content[i] = (char)('a' + i % 26);
	make_env(&e, size);
	qid_new(qid);

	assert_int_equal(spool_txn_begin(sp, &txn), 0);
	assert_int_equal(spool_put_envelope(sp, txn, qid, &e, 1), 0);
	assert_int_equal(spool_put_content(sp, txn, qid, content, size), 0);
	assert_int_equal(spool_txn_commit(sp, txn), 0);
	assert_int_equal(spool_flush(sp), 0);

	/* the same id again is refused: DB_NOOVERWRITE */
	assert_int_equal(spool_txn_begin(sp, &txn), 0);
	assert_int_equal(spool_put_envelope(sp, txn, qid, &e, 1), -1);
	assert_int_equal(spool_error(sp), DB_KEYEXIST);
	spool_txn_abort(sp, txn);

	assert_int_equal(spool_get_envelope(sp, qid, &got), 0);
	assert_string_equal(got.sender, "a@b.example");
	assert_int_equal(got.nrcpt, 2);
	assert_string_equal(got.rcpts[1].last_reply, "451 4.7.1 later");
	assert_int_equal(got.rcpts[1].attempts, 3);
	record_env_free(&got);

	buf_init(&c.b);
	c.calls = 0;
	assert_int_equal(spool_read_content(sp, qid, size, collect_cb, &c), 0);
	assert_int_equal(c.calls, 4);
	assert_int_equal(c.b.len, size);
	assert_memory_equal(c.b.p, content, size);
	buf_free(&c.b);

	/* a size that disagrees with the chunks is an error, not a short read */
	buf_init(&c.b);
	assert_int_equal(spool_read_content(sp, qid, size + 1, collect_cb, &c), -1);
	buf_free(&c.b);

	assert_int_equal(spool_scan(sp, count_cb, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(spool_txn_begin(sp, &txn), 0);
	assert_int_equal(spool_delete(sp, txn, qid), 0);
	assert_int_equal(spool_txn_commit(sp, txn), 0);
	assert_int_equal(spool_flush(sp), 0);
	assert_int_equal(spool_get_envelope(sp, qid, &got), 1);
	buf_init(&c.b);
	assert_int_equal(spool_read_content(sp, qid, size, collect_cb, &c), -1);
	buf_free(&c.b);
	assert_int_equal(spool_checkpoint(sp), 0);
	spool_close(sp);
	record_env_free(&e);
	free(content);
}

static void
test_committed_message_survives_reopen(void **state)
{
	struct spool	*sp;
	struct qenv	 e, got;
	DB_TXN		*txn;
	char		 qid[QID_SIZE];
	int		 n = 0;

	assert_non_null(sp = spool_open(*state));
	make_env(&e, 5);
	qid_new(qid);
	assert_int_equal(spool_txn_begin(sp, &txn), 0);
	assert_int_equal(spool_put_envelope(sp, txn, qid, &e, 1), 0);
	assert_int_equal(spool_put_content(sp, txn, qid, "hello", 5), 0);
	assert_int_equal(spool_txn_commit(sp, txn), 0);
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);

	/* recovery at open finds it again */
	assert_non_null(sp = spool_open(*state));
	assert_int_equal(spool_get_envelope(sp, qid, &got), 0);
	assert_int_equal(got.size, 5);
	record_env_free(&got);
	assert_int_equal(spool_scan(sp, count_cb, &n), 0);
	assert_int_equal(n, 1);
	spool_close(sp);
	record_env_free(&e);
}

static void
test_aborted_message_leaves_nothing(void **state)
{
	struct spool	*sp;
	struct qenv	 e, got;
	DB_TXN		*txn;
	char		 qid[QID_SIZE];

	assert_non_null(sp = spool_open(*state));
	make_env(&e, 5);
	qid_new(qid);
	assert_int_equal(spool_txn_begin(sp, &txn), 0);
	assert_int_equal(spool_put_envelope(sp, txn, qid, &e, 1), 0);
	assert_int_equal(spool_put_content(sp, txn, qid, "hello", 5), 0);
	spool_txn_abort(sp, txn);
	assert_int_equal(spool_get_envelope(sp, qid, &got), 1);
	spool_close(sp);
	record_env_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_read_delete_message,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_committed_message_survives_reopen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_aborted_message_leaves_nothing,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
