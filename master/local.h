/* Local delivery as the recipient user: the privilege drop and the dispatch to a mailbox writer. */
#ifndef POSTERN_MASTER_LOCAL_H
#define POSTERN_MASTER_LOCAL_H

#include <sys/types.h>

#include "mailbox.h"

enum local_kind { LOCAL_MAILDIR, LOCAL_MBOX };

struct local_target {
	const char	*user;		/* login name, for the supplementary groups */
	uid_t		 uid;
	gid_t		 gid;
	enum local_kind	 kind;
	const char	*path;		/* ~/Maildir, or /var/mail/USER (made as root first) */
};

int	local_become(const char *user, uid_t, gid_t, int with_mail_group);
/* In a freshly forked child of the master: become the user, then write.
 * Returns enum mbox_result. */
int	local_child_deliver(const struct local_target *, const struct mbox_msg *,
	    const char *hostname, char *why, size_t whysz);

#endif
