/* Unit tests: Maildir and mbox writers — bytes on disk, quoting, locking, refusal of symlinks and foreign files. */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
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

#include "../../master/mailbox.h"

static char	 top[128];
static const char content[] =
    "From: alice@example.org\r\nSubject: hi\r\n\r\n"
    "From the start\r\n>From quoted\r\nplain\r\n";

static int
setup(void **state)
{
	(void)state;
	strlcpy(top, "/tmp/postern-mbox-XXXXXX", sizeof(top));
	return mkdtemp(top) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
slurp(const char *path)
{
	static char	 data[8192];
	ssize_t		 n;
	int		 fd;

	assert_int_not_equal(fd = open(path, O_RDONLY), -1);
	n = read(fd, data, sizeof(data) - 1);
	close(fd);
	assert_true(n >= 0);
	data[n] = '\0';
	return data;
}

static const struct mbox_msg msg = {
	"alice@example.org", "bob@example.org", content, sizeof(content) - 1,
	1764095400,	/* Tue Nov 25 18:30:00 2025 UTC */
};

static void
test_maildir_delivery_lands_in_new_with_lf_and_headers(void **state)
{
	char		 dir[200], newdir[300], path[600], why[256];
	DIR		*d;
	struct dirent	*de;
	int		 found = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/Maildir", top);
	assert_int_equal(mbox_deliver_maildir(dir, &msg, "mx:host/x", why,
	    sizeof(why)), MBOX_OK);
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	assert_non_null(d = opendir(newdir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		found++;
		/* ':' and '/' of the host name are encoded, per the spec */
		assert_non_null(strstr(de->d_name, "mx\\072host\\057x"));
		snprintf(path, sizeof(path), "%s/%s", newdir, de->d_name);
		assert_string_equal(slurp(path),
		    "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n"
		    "From: alice@example.org\nSubject: hi\n\n"
		    "From the start\n>From quoted\nplain\n");
	}
	closedir(d);
	assert_int_equal(found, 1);
	/* tmp/ is left empty */
	snprintf(path, sizeof(path), "%s/tmp", dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		assert_true(de->d_name[0] == '.');
	closedir(d);
}

static void
test_mbox_quotes_from_lines_and_separates_messages(void **state)
{
	char	 path[200], why[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/bob.mbox", top);
	assert_int_equal(mbox_prepare(path, getuid(), getgid(), why, sizeof(why)), MBOX_OK);
	assert_int_equal(mbox_deliver_mbox(path, &msg, why, sizeof(why)), MBOX_OK);
	assert_int_equal(mbox_deliver_mbox(path, &msg, why, sizeof(why)), MBOX_OK);
	assert_string_equal(slurp(path),
	    "From alice@example.org Tue Nov 25 18:30:00 2025\n"
	    "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n"
	    "From: alice@example.org\nSubject: hi\n\n"
	    ">From the start\n>>From quoted\nplain\n\n"
	    "From alice@example.org Tue Nov 25 18:30:00 2025\n"
	    "Return-Path: <alice@example.org>\nDelivered-To: bob@example.org\n"
	    "From: alice@example.org\nSubject: hi\n\n"
	    ">From the start\n>>From quoted\nplain\n\n");
	/* the dot-lock is gone afterwards */
	snprintf(path, sizeof(path), "%s/bob.mbox.lock", top);
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_mbox_separator_never_carries_a_spaced_sender(void **state)
{
	struct mbox_msg	 m = msg;
	char		 path[200], why[256];

	(void)state;
	m.return_path = "\"a b\"@example.org";
	snprintf(path, sizeof(path), "%s/spaced.mbox", top);
	assert_int_equal(mbox_prepare(path, getuid(), getgid(), why, sizeof(why)), MBOX_OK);
	assert_int_equal(mbox_deliver_mbox(path, &m, why, sizeof(why)), MBOX_OK);
	assert_memory_equal(slurp(path), "From MAILER-DAEMON Tue Nov 25", 29);
}

static void
test_mbox_refuses_symlinks_and_hard_links(void **state)
{
	char	 target[200], link1[200], link2[200], why[256];
	int	 fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/victim", top);
	snprintf(link1, sizeof(link1), "%s/sym.mbox", top);
	snprintf(link2, sizeof(link2), "%s/hard.mbox", top);
	assert_int_not_equal(fd = open(target, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	assert_int_equal(symlink(target, link1), 0);
	assert_int_equal(mbox_deliver_mbox(link1, &msg, why, sizeof(why)), MBOX_PERMFAIL);
	assert_int_equal(link(target, link2), 0);
	assert_int_equal(mbox_deliver_mbox(link2, &msg, why, sizeof(why)), MBOX_PERMFAIL);
	assert_non_null(strstr(why, "one link"));
	assert_string_equal(slurp(target), "");
	/* mbox_prepare does not follow a symlink to make a file either */
	snprintf(link1, sizeof(link1), "%s/dangling.mbox", top);
	snprintf(target, sizeof(target), "%s/should-not-exist", top);
	assert_int_equal(symlink(target, link1), 0);
	assert_int_equal(mbox_prepare(link1, getuid(), getgid(), why, sizeof(why)), MBOX_OK);
	assert_int_equal(mbox_deliver_mbox(link1, &msg, why, sizeof(why)), MBOX_PERMFAIL);
	assert_int_equal(access(target, F_OK), -1);
}

static void
test_maildir_refuses_a_symlinked_subfolder(void **state)
{
	char	 dir[200], sub[200], elsewhere[200], why[256];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/Maildir2", top);
	snprintf(sub, sizeof(sub), "%s/Maildir2/tmp", top);
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", top);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	assert_int_equal(symlink(elsewhere, sub), 0);
	assert_int_equal(mbox_deliver_maildir(dir, &msg, "h", why, sizeof(why)),
	    MBOX_PERMFAIL);
}

static void
test_missing_home_is_temporary(void **state)
{
	char why[256];

	(void)state;
	/* a home on a mount not there yet: retry, do not bounce */
	assert_int_equal(mbox_deliver_maildir("/nonexistent/x/Maildir", &msg, "h",
	    why, sizeof(why)), MBOX_TEMPFAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maildir_delivery_lands_in_new_with_lf_and_headers),
		cmocka_unit_test(test_mbox_quotes_from_lines_and_separates_messages),
		cmocka_unit_test(test_mbox_separator_never_carries_a_spaced_sender),
		cmocka_unit_test(test_mbox_refuses_symlinks_and_hard_links),
		cmocka_unit_test(test_maildir_refuses_a_symlinked_subfolder),
		cmocka_unit_test(test_missing_home_is_temporary),
	};
	return cmocka_run_group_tests_name("master_mailbox", tests, setup, teardown);
}
