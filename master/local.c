/* Local delivery: a child of the master that becomes the recipient before it opens any mailbox. */
#include <sys/types.h>
#include <sys/prctl.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

#define LOCAL_MAX_GROUPS	256

/*
 * Drops to the user's uid, gid and supplementary groups, for good; the
 * mail group is added for mbox, whose spool folder holds the dot-locks.
 * Returns -1 (errno set) if anything is left of root.
 */
int
local_become(const char *user, uid_t uid, gid_t gid, int with_mail_group)
{
	gid_t		 groups[LOCAL_MAX_GROUPS];
	int		 n = LOCAL_MAX_GROUPS;
	struct group	*mail;

	if (uid == 0) {
		errno = EPERM;		/* never deliver as root */
		return -1;
	}
	if (getgrouplist(user, gid, groups, &n) == -1)
		n = 1, groups[0] = gid;
	if (with_mail_group && n < LOCAL_MAX_GROUPS &&
	    (mail = getgrnam("mail")) != NULL)
		groups[n++] = mail->gr_gid;
	if (setgroups((size_t)n, groups) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return -1;
	if (setuid(0) != -1 || geteuid() != uid || getegid() != gid) {
		errno = EPERM;
		return -1;
	}
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

int
local_child_deliver(const struct local_target *t, const struct mbox_msg *m,
    const char *hostname, char *why, size_t whysz)
{
	if (local_become(t->user, t->uid, t->gid, t->kind == LOCAL_MBOX) == -1) {
		snprintf(why, whysz, "cannot become %s: %s", t->user,
		    strerror(errno));
		return MBOX_TEMPFAIL;
	}
	if (t->kind == LOCAL_MBOX)
		return mbox_deliver_mbox(t->path, m, why, whysz);
	return mbox_deliver_maildir(t->path, m, hostname, why, whysz);
}
