/* Dropping root for good: chroot, groups, gid, uid, no_new_privs. */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

void
priv_drop(const char *user, const char *root)
{
	struct passwd	*pw;
	struct rlimit	 rl = { 0, 0 };
	uid_t		 uid;
	gid_t		 gid;

	if ((pw = getpwnam(user)) == NULL)
		log_fatal("user %s does not exist", user);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		log_fatal("user %s has uid 0; refusing to run as root", user);
	if (root != NULL) {
		if (chroot(root) == -1 || chdir("/") == -1) {
			log_errno("chroot %s", root);
			_exit(1);
		}
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_errno("dropping privileges to %s", user);
		_exit(1);
	}
	if (setuid(0) != -1 || seteuid(0) != -1)
		log_fatal("could regain root after dropping to %s", user);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_errno("prctl(PR_SET_NO_NEW_PRIVS)");
	/* a core file could hold message content or credentials */
	(void)setrlimit(RLIMIT_CORE, &rl);
}
