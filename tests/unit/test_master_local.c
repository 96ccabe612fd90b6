/* Unit tests: a local delivery runs as the recipient and cannot write where the recipient could not. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pwd.h>
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

#include "../../master/local.h"

static char		 top[128];
static struct passwd	*nobody;

static int
setup(void **state)
{
	(void)state;
	if (geteuid() != 0 || (nobody = getpwnam("nobody")) == NULL)
		return -1;
	strlcpy(top, "/tmp/postern-local-XXXXXX", sizeof(top));
	if (mkdtemp(top) == NULL)
		return -1;
	return chmod(top, 0755);
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

static const char content[] = "Subject: t\r\n\r\nbody\r\n";
static const struct mbox_msg msg = { "a@example.org", "nobody@example.org",
    content, sizeof(content) - 1, 0 };

/* Forks, delivers as nobody, returns the child's enum mbox_result. */
static int
deliver_as_nobody(enum local_kind kind, const char *path)
{
	struct local_target	 t = { "nobody", 0, 0, kind, path };
	char			 why[256];
	pid_t			 pid;
	int			 st;

	t.uid = nobody->pw_uid;
	t.gid = nobody->pw_gid;
	if ((pid = fork()) == 0)
		_exit(local_child_deliver(&t, &msg, "host", why, sizeof(why)));
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void
test_delivery_runs_as_the_recipient(void **state)
{
	char		 home[200], md[220], newdir[240];
	struct stat	 st;

	(void)state;
	snprintf(home, sizeof(home), "%s/home-nobody", top);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(chown(home, nobody->pw_uid, nobody->pw_gid), 0);
	snprintf(md, sizeof(md), "%s/Maildir", home);
	assert_int_equal(deliver_as_nobody(LOCAL_MAILDIR, md), MBOX_OK);
	snprintf(newdir, sizeof(newdir), "%s/new", md);
	assert_int_equal(stat(newdir, &st), 0);
	/* what was made belongs to the recipient, not to root */
	assert_int_equal(st.st_uid, nobody->pw_uid);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void
test_delivery_cannot_write_where_the_recipient_could_not(void **state)
{
	char	 rootonly[200], md[220];

	(void)state;
	snprintf(rootonly, sizeof(rootonly), "%s/root-only", top);
	assert_int_equal(mkdir(rootonly, 0700), 0);
	snprintf(md, sizeof(md), "%s/Maildir", rootonly);
	/* EACCES is retried (a home may be on a mount not there yet); what
	 * matters is that nothing is written */
	assert_int_equal(deliver_as_nobody(LOCAL_MAILDIR, md), MBOX_TEMPFAIL);
	assert_int_equal(access(md, F_OK), -1);
}

static void
test_mbox_of_another_owner_is_refused(void **state)
{
	char		 path[200], why[256];
	struct stat	 st;
	int		 fd;

	(void)state;
	/* root's own file, named as nobody's mailbox */
	snprintf(path, sizeof(path), "%s/nobody.mbox", top);
	assert_int_not_equal(fd = open(path, O_CREAT | O_WRONLY, 0666), -1);
	close(fd);
	assert_int_not_equal(deliver_as_nobody(LOCAL_MBOX, path), MBOX_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* made properly by mbox_prepare, it works */
	snprintf(path, sizeof(path), "%s/nobody2.mbox", top);
	assert_int_equal(mbox_prepare(path, nobody->pw_uid, nobody->pw_gid, why,
	    sizeof(why)), MBOX_OK);
	assert_int_equal(deliver_as_nobody(LOCAL_MBOX, path), MBOX_OK);
}

static void
test_root_is_never_a_recipient(void **state)
{
	(void)state;
	assert_int_equal(local_become("root", 0, 0, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivery_runs_as_the_recipient),
		cmocka_unit_test(test_delivery_cannot_write_where_the_recipient_could_not),
		cmocka_unit_test(test_mbox_of_another_owner_is_refused),
		cmocka_unit_test(test_root_is_never_a_recipient),
	};
	return cmocka_run_group_tests_name("master_local", tests, setup, teardown);
}
