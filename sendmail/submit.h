/* postern-sendmail: who may choose the sender, address checks, the pickup file. */
#ifndef POSTERN_SENDMAIL_SUBMIT_H
#define POSTERN_SENDMAIL_SUBMIT_H

#include <sys/types.h>

#include <stddef.h>

#include "bs.h"
#include "buf.h"
#include "config.h"

/* What a -bs session needs to turn a transaction into a pickup file. */
struct sm_submit {
	const struct config	*c;
	const char		*login;		/* the submitter's login name */
	const char		*login_addr;	/* login@hostname */
	const char		*fullname;	/* -F, or "" */
};

/* root, or a member of submit_trusted_group: may choose the envelope sender. */
int	sm_may_set_sender(const struct config *, uid_t, const char *login);
/* "user" becomes user@hostname; anything else must be a mailbox. NULL with
 * errno EINVAL when it is not one, ENOMEM. */
char	*sm_qualify(const char *, const char *hostname);
/*
 * Writes head and body as one new pickup file, synced, and renames it into
 * place; its name goes to name. EX_OK, or a sysexits code with why in err.
 */
int	sm_drop(const char *spool, const struct buf *head, const struct buf *body,
	    char *name, size_t namesz, struct buf *err);
/* The -bs submit callback (sm_bs_submit_fn); arg is a struct sm_submit. */
int	sm_submit_bs(void *arg, const struct sm_bs_msg *, struct buf *note);

#endif
