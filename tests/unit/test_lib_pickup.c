/* Unit tests: the pickup file envelope — round trip and hostile files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "pickup.h"

static void
test_roundtrip_and_content_offset(void **state)
{
	char			*r[] = { "bob@example.org", "carol@example.net" };
	struct pickup_env	 e = { 1764095400, PICKUP_F_SENDER_SET,
	    "alice@example.org", r, 2 }, d;
	struct buf		 b;
	size_t			 off;

	(void)state;
	buf_init(&b);
	assert_int_equal(pickup_encode(&e, &b), 0);
	buf_appends(&b, "Subject: x\r\n\r\nbody\r\n");
	assert_int_equal(pickup_decode(b.p, b.len, &d, &off), 0);
	assert_string_equal(d.sender, "alice@example.org");
	assert_int_equal(d.nrcpt, 2);
	assert_string_equal(d.rcpt[1], "carol@example.net");
	assert_true(d.time == 1764095400);
	assert_string_equal(b.p + off, "Subject: x\r\n\r\nbody\r\n");
	pickup_env_free(&d);
	buf_free(&b);
}

static void
test_hostile_files_are_refused(void **state)
{
	char			*bad[] = { "not an address" }, *ok[] = { "a@b.org" };
	char			*crlf[] = { "a@b.org\r\nRCPT TO:<x@y>" };
	struct pickup_env	 e = { 1, 0, "", ok, 1 }, d;
	struct buf		 b;
	size_t			 off, i;

	(void)state;
	buf_init(&b);
	/* wrong magic */
	assert_int_equal(pickup_decode("POSTERN-PICKUP-9\n", 17, &d, &off), -1);
	/* every truncation of a good header */
	assert_int_equal(pickup_encode(&e, &b), 0);
	for (i = 0; i < b.len; i++)
		assert_int_equal(pickup_decode(b.p, i, &d, &off), -1);
	assert_int_equal(pickup_decode(b.p, b.len, &d, &off), 0);
	pickup_env_free(&d);
	/* a recipient that is no address, or carries a line break */
	buf_reset(&b);
	e.rcpt = bad;
	assert_int_equal(pickup_encode(&e, &b), 0);
	assert_int_equal(pickup_decode(b.p, b.len, &d, &off), -1);
	buf_reset(&b);
	e.rcpt = crlf;
	assert_int_equal(pickup_encode(&e, &b), 0);
	assert_int_equal(pickup_decode(b.p, b.len, &d, &off), -1);
	/* unknown flags, no recipients */
	buf_reset(&b);
	e.rcpt = ok;
	e.flags = 0x80;
	assert_int_equal(pickup_encode(&e, &b), 0);
	assert_int_equal(pickup_decode(b.p, b.len, &d, &off), -1);
	buf_reset(&b);
	e.flags = 0;
	e.nrcpt = 0;
	assert_int_equal(pickup_encode(&e, &b), 0);
	assert_int_equal(pickup_decode(b.p, b.len, &d, &off), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_content_offset),
		cmocka_unit_test(test_hostile_files_are_refused),
	};
	return cmocka_run_group_tests_name("lib_pickup", tests, NULL, NULL);
}
