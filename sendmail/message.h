/* postern-sendmail: reading a message from a program and making it fit to send. */
#ifndef POSTERN_SENDMAIL_MESSAGE_H
#define POSTERN_SENDMAIL_MESSAGE_H

#include <stdio.h>
#include <time.h>

#include "buf.h"
#include "config.h"

struct sm_opts {
	int		 ignore_dots;	/* -i, -oi: a lone "." does not end input */
	int		 extract;	/* -t: recipients from To, Cc, Bcc */
	const char	*from;		/* the From: address when one is added */
	const char	*fullname;	/* -F, or "" */
	const char	*hostname;	/* for Message-ID */
	const char	*warning;	/* an X-Authentication-Warning, or NULL */
	time_t		 now;
};

/*
 * Reads a message from in: every line end becomes CRLF; unless
 * ignore_dots, a line of a single "." ends it. -1 (errno EFBIG) when it is
 * longer than max, -1 on a read error.
 */
int	sm_read_message(FILE *in, int ignore_dots, size_t max, struct buf *out);

/*
 * Adds Date, Message-ID and From when missing (and the warning header),
 * drops Bcc, and with -t collects the addresses of To, Cc and Bcc into rcpts.
 * msg is in CRLF form; out gets the result.
 */
int	sm_prepare(const struct buf *msg, const struct sm_opts *, struct strlist *rcpts,
	    struct buf *out);

/* The addr-specs of an RFC 5322 address-list ("A <a@x>, b@y, g: c@z;"). */
int	sm_address_list(const char *value, size_t len, struct strlist *out);

#endif
