/* posternctl show: one message's envelope, recipients and content, decoded and formatted. */
#ifndef POSTERN_CTL_SHOW_H
#define POSTERN_CTL_SHOW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

/* One IPC_CTL_SHOW_ENV, decoded. */
struct ctl_show_env {
	char		*id;
	uint64_t	 arrival;
	uint64_t	 size;
	char		*sender;
	char		*client;
	char		*helo;
	uint32_t	 ret;		/* enum dsn_ret */
	char		*envid;
	uint32_t	 body;		/* enum body_type */
	uint32_t	 smtputf8;
	uint32_t	 state;		/* enum queue_state */
	uint32_t	 nrcpt;
};

/* One IPC_CTL_SHOW_RCPT, decoded. */
struct ctl_show_rcpt {
	char		*address;
	uint32_t	 state;		/* 0 pending, 1 delivered, 2 bounced */
	uint32_t	 attempts;
	uint64_t	 next_try;
	char		*last_reply;
	char		*last_relay;
	uint32_t	 notify;	/* DSN_NOTIFY_* bits */
	char		*orcpt;
};

int	 ctl_show_env_unpack(const void *, size_t, struct ctl_show_env *);
void	 ctl_show_env_free(struct ctl_show_env *);
int	 ctl_show_rcpt_unpack(const void *, size_t, struct ctl_show_rcpt *);
void	 ctl_show_rcpt_free(struct ctl_show_rcpt *);
/* "Key: value" lines, terminal-safe. */
int	 ctl_show_env_format(struct buf *, const struct ctl_show_env *, time_t now);
int	 ctl_show_rcpt_format(struct buf *, const struct ctl_show_rcpt *, time_t now);
/* "SUCCESS,FAILURE,DELAY", "NEVER", or "-" when not given. */
void	 ctl_show_notify(char *, size_t, uint32_t);

/* Which part of the content to print. */
enum ctl_part { CTL_PART_ALL, CTL_PART_HEADERS, CTL_PART_BODY };

/* Cuts content into lines and prints the wanted part terminal-safe:
 * CRLF becomes LF, tabs stay, other controls and bad UTF-8 become '?'. */
struct ctl_content {
	struct buf	 line;		/* a line not yet complete */
	enum ctl_part	 part;
	int		 in_body;	/* the empty line after the headers was seen */
};

void	 ctl_content_init(struct ctl_content *, enum ctl_part);
/* Appends what to print of data to out. */
int	 ctl_content_feed(struct ctl_content *, struct buf *out, const void *data,
	    size_t len);
/* The last line, when the content does not end with one. */
int	 ctl_content_finish(struct ctl_content *, struct buf *out);
void	 ctl_content_free(struct ctl_content *);

#endif
