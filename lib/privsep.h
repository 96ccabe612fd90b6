/* Dropping root: chroot, then the daemon's own uid/gid, for good. */
#ifndef POSTERN_PRIVSEP_H
#define POSTERN_PRIVSEP_H

/* Unprivileged users, one per daemon (created by the master if missing). */
#define USER_SMTPD	"_postern-smtpd"
#define USER_QUEUE	"_postern-queue"
#define USER_DELIVER	"_postern-deliver"
#define USER_DNS	"_postern-dns"

/*
 * chroot(root) (unless NULL), chdir("/"), then setgroups/setresgid/setresuid
 * to user, no_new_privs, and a check that root cannot be regained.
 * Exits on any failure: a daemon must never serve with more than it should.
 */
void	priv_drop(const char *user, const char *root);

#endif

/* Folders under the spool (config key "spool"), made by the master. */
#define SPOOL_QUEUE_DIR		"queue"		/* BDB environment; queue-mgr's chroot, 0700 */
#define SPOOL_EMPTY_DIR		"empty"		/* root-owned, empty: smtpd's and deliver's chroot */
#define SPOOL_RESOLVER_DIR	"resolver"	/* resolver's chroot, holds etc/resolv.conf, etc/hosts */
#define SPOOL_RUN_DIR		"run"		/* control socket */
#define SPOOL_CONTROL_SOCK	"run/control"
