/* Unit tests: the master's PAM check (real PAM, pam_pwdfile in a private confdir) and AUTH failure limits. */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <bsd/string.h>

#include "../../master/auth.h"

/* openssl passwd -6 -salt p0stern5alt 'correct horse' */
#define ALICE_HASH "$6$p0stern5alt$bGs5iaNvVWmA/KIyzYW.2xWRflUtWpvBr2UBgVQgJG9o6dNFOfqupwRa1ri5dPvP8jtjiHqpAJ6uXFud6ybkS0"

static char confdir[256];

static int
setup(void **state)
{
	char	 path[512], pw[512];
	FILE	*f;

	(void)state;
	strlcpy(confdir, "/tmp/postern-pam-XXXXXX", sizeof(confdir));
	if (mkdtemp(confdir) == NULL)
		return -1;
	snprintf(pw, sizeof(pw), "%s/passwd", confdir);
	if ((f = fopen(pw, "w")) == NULL)
		return -1;
	fprintf(f, "alice:%s\n", ALICE_HASH);
	fclose(f);
	snprintf(path, sizeof(path), "%s/postern-test", confdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "auth required pam_pwdfile.so pwdfile=%s nodelay\n"
	    "account required pam_permit.so\n", pw);
	fclose(f);
	return 0;
}

static int
teardown(void **state)
{
	char p[512];

	(void)state;
	snprintf(p, sizeof(p), "%s/passwd", confdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/postern-test", confdir);
	unlink(p);
	rmdir(confdir);
	return 0;
}

static void
test_right_password_is_accepted(void **state)
{
	char canon[64], why[256];

	(void)state;
	assert_int_equal(auth_pam_check("postern-test", confdir, "alice",
	    "correct horse", canon, sizeof(canon), why, sizeof(why)), AUTH_OK);
	assert_string_equal(canon, "alice");
}

static void
test_wrong_password_and_unknown_user_fail(void **state)
{
	char canon[64], why[256];

	(void)state;
	assert_int_equal(auth_pam_check("postern-test", confdir, "alice",
	    "battery staple", canon, sizeof(canon), why, sizeof(why)), AUTH_FAILED);
	assert_string_equal(canon, "");
	assert_int_equal(auth_pam_check("postern-test", confdir, "mallory",
	    "correct horse", canon, sizeof(canon), why, sizeof(why)), AUTH_FAILED);
	assert_int_equal(auth_pam_check("postern-test", confdir, "alice",
	    "", canon, sizeof(canon), why, sizeof(why)), AUTH_FAILED);
}

static void
test_missing_service_never_accepts(void **state)
{
	char canon[64], why[256];

	(void)state;
	assert_int_not_equal(auth_pam_check("no-such-service", confdir, "alice",
	    "correct horse", canon, sizeof(canon), why, sizeof(why)), AUTH_OK);
}

static void
test_failures_limit_client_and_user_within_window(void **state)
{
	struct config	 c;
	time_t		 t0 = 1000000;
	int		 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.auth_max_failures = 3;
	c.auth_failure_window = 60;
	for (i = 0; i < 3; i++) {
		assert_false(auth_is_limited(&c, "192.0.2.1", "bob", t0));
		auth_note_result(&c, "192.0.2.1", "bob", AUTH_FAILED, t0 + i);
	}
	assert_true(auth_is_limited(&c, "192.0.2.1", "bob", t0 + 5));
	/* the client is limited for any user, the user from any client */
	assert_true(auth_is_limited(&c, "192.0.2.1", "carol", t0 + 5));
	assert_true(auth_is_limited(&c, "198.51.100.7", "BOB", t0 + 5));
	assert_false(auth_is_limited(&c, "198.51.100.7", "carol", t0 + 5));
	/* after the window, both may try again */
	assert_false(auth_is_limited(&c, "192.0.2.1", "bob", t0 + 70));
	/* temporary failures are not the client's fault */
	for (i = 0; i < 5; i++)
		auth_note_result(&c, "203.0.113.9", "dave", AUTH_TEMPFAIL, t0);
	assert_false(auth_is_limited(&c, "203.0.113.9", "dave", t0));
}

static void
test_ipv6_clients_count_per_64(void **state)
{
	struct config	 c;
	time_t		 t0 = 2000000;
	char		 addr[64];
	int		 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.auth_max_failures = 3;
	c.auth_failure_window = 60;
	/* a new address of the same /64 for every guess does not help */
	for (i = 0; i < 3; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:1:2::%x", i + 1);
		auth_note_result(&c, addr, "user-v6-a", AUTH_FAILED, t0);
		auth_note_result(&c, addr, "user-v6-b", AUTH_FAILED, t0);
	}
	assert_true(auth_is_limited(&c, "2001:db8:1:2:ffff::9", "someone-else", t0));
	assert_false(auth_is_limited(&c, "2001:db8:1:3::1", "someone-else", t0));
}

static void
test_locked_out_users_survive_a_flood_of_new_failures(void **state)
{
	struct config	 c;
	time_t		 t0 = 3000000;
	char		 addr[64];
	int		 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.auth_max_failures = 2;
	c.auth_failure_window = 600;
	auth_note_result(&c, "192.0.2.200", "victim", AUTH_FAILED, t0);
	auth_note_result(&c, "192.0.2.201", "victim", AUTH_FAILED, t0);
	assert_true(auth_is_limited(&c, "192.0.2.202", "victim", t0));
	/* thousands of other failures would evict an unlocked record... */
	for (i = 0; i < 3000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.1", i / 250, i % 250);
		auth_note_result(&c, addr, addr, AUTH_FAILED, t0 + 1);
	}
	/* ...but never the locked-out user */
	assert_true(auth_is_limited(&c, "192.0.2.203", "victim", t0 + 2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_right_password_is_accepted),
		cmocka_unit_test(test_wrong_password_and_unknown_user_fail),
		cmocka_unit_test(test_missing_service_never_accepts),
		cmocka_unit_test(test_failures_limit_client_and_user_within_window),
		cmocka_unit_test(test_ipv6_clients_count_per_64),
		cmocka_unit_test(test_locked_out_users_survive_a_flood_of_new_failures),
	};
	return cmocka_run_group_tests_name("master_auth", tests, setup, teardown);
}
