/* Unit tests: posternctl's offline view: which files are copied, and entries packed as queue-mgr packs them. */
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
#include "../../ctl/offline.h"
#include "../../ctl/show.h"
#include "../../queue-mgr/qmgr.h"

static const char *QID = "0123456789ABCDEFGHJ";

/* A message with three recipients: waiting, delivered, waiting. */
static void
make_env(struct qenv *e, uint32_t flags)
{
	static struct qrcpt	 r[3];
	static char		*addr[] = { "a@x.example", "b@y.example",
				    "c@z.example" };
	static char		*reply[] = { "", "250 2.0.0 Ok",
				    "451 4.4.1 no answer" };
	int			 i;

	memset(e, 0, sizeof(*e));
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].addr = addr[i];
		r[i].last_reply = reply[i];
		r[i].orcpt = "";
		r[i].last_relay = "";
		r[i].attempts = (uint32_t)i;
	}
	r[0].next_try = 2000;
	r[1].next_try = 500;		/* delivered: does not count */
	r[1].state = QRCPT_DELIVERED;
	r[2].next_try = 1500;
	r[2].notify = DSN_NOTIFY_FAILURE;
	e->arrival = 1000;
	e->size = 42;
	e->sender = "s@example.org";
	e->client = "192.0.2.1";
	e->helo = "client.example";
	e->envid = "";
	e->flags = flags;
	e->rcpts = r;
	e->nrcpt = 3;
}

static void
test_region_files_are_left_out_of_the_copy(void **state)
{
	(void)state;
	assert_int_equal(ctl_offline_copy_name("envelopes.db"), 1);
	assert_int_equal(ctl_offline_copy_name("content.db"), 1);
	assert_int_equal(ctl_offline_copy_name("log.0000000001"), 1);
	assert_int_equal(ctl_offline_copy_name("__db.001"), 0);
	assert_int_equal(ctl_offline_copy_name("__db.register"), 0);
	assert_int_equal(ctl_offline_copy_name("."), 0);
	assert_int_equal(ctl_offline_copy_name(".."), 0);
	assert_int_equal(ctl_offline_copy_name(""), 0);
}

/* The spool's owner could point Berkeley DB at the live spool (or at any
 * folder) from DB_CONFIG; the copy is opened by root. */
static void
test_db_config_is_left_out_of_the_copy(void **state)
{
	(void)state;
	assert_int_equal(ctl_offline_copy_name("DB_CONFIG"), 0);
}

static void
test_copy_must_fit_with_a_margin(void **state)
{
	(void)state;
	assert_int_equal(ctl_offline_fits(0, CTL_OFFLINE_MARGIN), 1);
	assert_int_equal(ctl_offline_fits(1, CTL_OFFLINE_MARGIN), 0);
	assert_int_equal(ctl_offline_fits(1000, 1000 + CTL_OFFLINE_MARGIN), 1);
	assert_int_equal(ctl_offline_fits(UINT64_MAX, UINT64_MAX), 0);
	assert_int_equal(ctl_offline_fits(UINT64_MAX - 1, UINT64_MAX), 0);
}

static void
test_nothing_is_active_offline(void **state)
{
	struct qenv	 e;

	(void)state;
	make_env(&e, 0);
	assert_int_equal(ctl_offline_state(&e), QSTATE_DEFERRED);
	make_env(&e, QENV_F_HELD);
	assert_int_equal(ctl_offline_state(&e), QSTATE_HELD);
}

static void
test_next_try_is_the_earliest_waiting_recipient(void **state)
{
	struct qenv	 e;

	(void)state;
	make_env(&e, 0);
	assert_int_equal(ctl_offline_next_try(&e), 1500);
	assert_string_equal(ctl_offline_last_error(&e), "451 4.4.1 no answer");
	assert_int_equal(ctl_offline_waiting(&e), 1);
	/* a held message is never tried */
	make_env(&e, QENV_F_HELD);
	assert_int_equal(ctl_offline_next_try(&e), 0);
	/* every recipient done: no next try, and not waiting */
	make_env(&e, 0);
	e.rcpts[0].state = QRCPT_DELIVERED;
	e.rcpts[2].state = QRCPT_BOUNCED;
	assert_int_equal(ctl_offline_next_try(&e), 0);
	assert_string_equal(ctl_offline_last_error(&e), "");
	assert_int_equal(ctl_offline_waiting(&e), 0);
}

static void
test_entry_decodes_as_a_live_queue_entry(void **state)
{
	struct ctl_entry	 ce;
	struct qenv		 e;
	struct buf		 b;

	(void)state;
	make_env(&e, 0);
	buf_init(&b);
	assert_int_equal(ctl_offline_entry(&b, QID, &e), 0);
	assert_int_equal(ctl_entry_unpack(b.p, b.len, &ce), 0);
	assert_string_equal(ce.id, QID);
	assert_int_equal(ce.arrival, 1000);
	assert_int_equal(ce.size, 42);
	assert_string_equal(ce.sender, "s@example.org");
	assert_int_equal(ce.state, QSTATE_DEFERRED);
	assert_int_equal(ce.next_try, 1500);
	assert_string_equal(ce.last_error, "451 4.4.1 no answer");
	assert_int_equal(ce.nrcpt, 3);
	assert_string_equal(ce.rcpts[1].address, "b@y.example");
	assert_int_equal(ce.rcpts[1].state, QRCPT_DELIVERED);
	ctl_entry_free(&ce);
	buf_free(&b);
}

static void
test_show_frames_decode_as_live_ones(void **state)
{
	struct ctl_show_env	 se;
	struct ctl_show_rcpt	 sr;
	struct qenv		 e;
	struct buf		 b;

	(void)state;
	make_env(&e, QENV_F_HELD);
	buf_init(&b);
	assert_int_equal(ctl_offline_show_env(&b, QID, &e), 0);
	assert_int_equal(ctl_show_env_unpack(b.p, b.len, &se), 0);
	assert_string_equal(se.id, QID);
	assert_string_equal(se.client, "192.0.2.1");
	assert_string_equal(se.helo, "client.example");
	assert_int_equal(se.state, QSTATE_HELD);
	assert_int_equal(se.nrcpt, 3);
	ctl_show_env_free(&se);
	buf_reset(&b);
	assert_int_equal(ctl_offline_show_rcpt(&b, &e, 2), 0);
	assert_int_equal(ctl_show_rcpt_unpack(b.p, b.len, &sr), 0);
	assert_string_equal(sr.address, "c@z.example");
	assert_int_equal(sr.attempts, 2);
	assert_int_equal(sr.next_try, 1500);
	assert_string_equal(sr.last_reply, "451 4.4.1 no answer");
	assert_int_equal(sr.notify, DSN_NOTIFY_FAILURE);
	ctl_show_rcpt_free(&sr);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_files_are_left_out_of_the_copy),
		cmocka_unit_test(test_db_config_is_left_out_of_the_copy),
		cmocka_unit_test(test_copy_must_fit_with_a_margin),
		cmocka_unit_test(test_nothing_is_active_offline),
		cmocka_unit_test(test_next_try_is_the_earliest_waiting_recipient),
		cmocka_unit_test(test_entry_decodes_as_a_live_queue_entry),
		cmocka_unit_test(test_show_frames_decode_as_live_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
