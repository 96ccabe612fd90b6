/* Local mailboxes: Maildir and mbox writers, run in a child that has become the recipient. */
#ifndef POSTERN_MASTER_MAILBOX_H
#define POSTERN_MASTER_MAILBOX_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "buf.h"

/* What a local delivery says: done, try later, or never. */
enum mbox_result {
	MBOX_OK = 0,
	MBOX_TEMPFAIL = 1,	/* full disk, quota, lock busy, I/O error */
	MBOX_PERMFAIL = 2,	/* no such mailbox and it may not be made, wrong owner */
};

struct mbox_msg {
	const char	*return_path;	/* envelope sender, "" = null sender */
	const char	*delivered_to;	/* the recipient address */
	const char	*content;	/* as stored: CRLF line ends */
	size_t		 len;
	time_t		 arrival;
};

/*
 * Maildir (tmp -> fsync -> link into new, per the Maildir spec): dir is the
 * Maildir itself (e.g. /home/u/Maildir); tmp/new/cur are made (0700) when
 * missing, but dir's parent must exist. Adds Return-Path and Delivered-To;
 * line ends become LF. why gets a reason for the log.
 */
int	mbox_deliver_maildir(const char *dir, const struct mbox_msg *,
	    const char *hostname, char *why, size_t whysz);

/*
 * mbox (mboxrd): a "From " line, ">From " quoting of lines that begin
 * with zero or more '>' and "From ", a blank line after; fcntl and dot-lock
 * locking; an fsync before success; on failure the file is cut back to
 * where it was. The file must exist (made by mbox_prepare as root), be a
 * regular file with one link, owned by the caller's uid, never a symlink.
 */
int	mbox_deliver_mbox(const char *path, const struct mbox_msg *,
	    char *why, size_t whysz);

/* As root: make /var/mail/USER if missing (0600, owned by uid:gid), never
 * following a symlink. */
int	mbox_prepare(const char *path, uid_t, gid_t, char *why, size_t whysz);

/* The whole message for a mailbox: the two headers, then the content with
 * LF line ends; exported for tests. */
int	mbox_render(const struct mbox_msg *, int mboxrd, struct buf *out);

#endif
