/* postern-sendmail -bs: the SMTP dialogue on standard input and output. */
#ifndef POSTERN_SENDMAIL_BS_H
#define POSTERN_SENDMAIL_BS_H

#include <stddef.h>

#include "buf.h"
#include "config.h"

#define SM_BS_CMD_MAX		512	/* octets of a command line, CRLF included (RFC 5321 4.5.3.1.4) */
#define SM_BS_TEXT_MAX		1000	/* octets of a text line, CRLF included (RFC 5321 4.5.3.1.6) */
#define SM_BS_MAX_ERRORS	20	/* bad commands before 421 and the end */

/* One accepted transaction, handed to the submit callback. */
struct sm_bs_msg {
	const char		*sender;	/* what MAIL FROM gave, "" = null */
	int			 sender_ok;	/* the submitter may choose it */
	const struct strlist	*rcpts;		/* fully qualified mailboxes */
	const struct buf	*content;	/* dot-unstuffed, CRLF line ends */
};

/*
 * Makes the message durable (a pickup file). 0 on success with a note for
 * the 250 reply in note; -1 with a whole reply ("451 4.3.0 ...") in note.
 */
typedef int (*sm_bs_submit_fn)(void *arg, const struct sm_bs_msg *, struct buf *note);

struct sm_bs_conf {
	const char	*hostname;	/* the greeting's and the EHLO's name */
	const char	*login;		/* login@hostname: the sender unless trusted */
	int		 trusted;	/* root or submit_trusted_group */
	size_t		 max_size;	/* submit_max_size */
	sm_bs_submit_fn	 submit;
	void		*arg;
};

enum sm_bs_state {
	SM_BS_CMD = 0,
	SM_BS_DATA,
	SM_BS_DONE,		/* QUIT, or too many errors: ignore the rest */
};

struct sm_bs {
	struct sm_bs_conf	 conf;
	enum sm_bs_state	 state;
	struct buf		 line;		/* a partial input line */
	int			 line_long;	/* the line went past its limit */
	int			 have_mail;
	char			*sender;	/* MAIL FROM as given; "" = null */
	struct strlist		 rcpts;
	struct buf		 data;		/* the message as it arrives */
	int			 data_error;	/* enum in bs.c: why DATA fails */
	int			 errors;
};

void	sm_bs_init(struct sm_bs *, const struct sm_bs_conf *);
void	sm_bs_free(struct sm_bs *);
/* The 220 greeting. */
int	sm_bs_greeting(struct sm_bs *, struct buf *out);
/*
 * Input bytes as they come, in any cuts; replies are appended to out.
 * Returns 1 once the session is over (QUIT, or 421), else 0, -1 when out
 * of memory.
 */
int	sm_bs_feed(struct sm_bs *, const char *, size_t, struct buf *out);
/* End of input: 1 when a message was being sent and is lost. */
int	sm_bs_eof(struct sm_bs *);
/*
 * The whole session between two descriptors; a sysexits code: EX_OK after
 * QUIT or at the end of input between messages, EX_DATAERR when input ends
 * inside DATA (that message is lost), EX_PROTOCOL after too many errors.
 */
int	sm_bs_run(struct sm_bs *, int in, int out);

#endif
