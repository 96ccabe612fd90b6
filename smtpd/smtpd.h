/* smtpd's types and the functions its files share. */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <bsd/sys/queue.h>

#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "ipc.h"

/* A command line with its CRLF (RFC 5321 4.5.3.1.4). */
#define SMTPD_LINE_MAX		512
/* Error replies in one session before it is dropped with 421. */
#define SMTPD_MAX_ERRORS	10
/* Bytes read from a client at once. */
#define SMTPD_READ_CHUNK	16384
/* Unsent reply bytes beyond which a client is not read (it is not reading). */
#define SMTPD_OUT_HIGH		16384
/* Content gathered before it goes to queue-mgr as one IPC_MSG_DATA. */
#define SMTPD_DATA_CHUNK	(32 * 1024)
/* Longest HELO/EHLO argument kept. */
#define SMTPD_HELO_MAX		255

struct event;
struct event_base;
struct session;

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	struct smtpd		*env;
	struct event		*ev;
	int			 fd;
	uint32_t		 index;		/* into conf->listeners */
	char			 addr[128];	/* "addr:port", for logs */
	char			 name[64];
	/* copied from the config so a reload never leaves sessions dangling */
	uint64_t		 max_message_size;
	uint64_t		 max_recipients;
};

struct smtpd {
	struct event_base	*base;
	struct config		*conf;
	struct ipc_chan		*master;
	struct ipc_chan		*queue;		/* NULL until the master sends it */
	TAILQ_HEAD(, listener)	 listeners;
	TAILQ_HEAD(, session)	 sessions;
	size_t			 nsessions;
	uint32_t		 next_txid;
	int			 queue_full;	/* queue channel above high water */
	int			 started;	/* IPC_START seen: accept */
	int			 accept_paused;	/* out of fds */
	struct event		*accept_ev;	/* resumes accept after a pause */
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
};

/* ---- data.c: the DATA content state machine ---- */

enum data_state {
	DS_BOL = 0,	/* just after CRLF (or after the DATA command) */
	DS_TEXT,	/* inside a line */
	DS_CR,		/* CR seen, not yet known whether CRLF */
	DS_DOT,		/* "." at the start of a line */
	DS_DOT_CR,	/* "." CR at the start of a line */
	DS_DONE,	/* CRLF "." CRLF seen */
};

struct data_sm {
	enum data_state	 state;
	int		 bare;		/* a bare CR or LF was seen */
	int		 too_big;	/* content went over max */
	uint64_t	 size;		/* content bytes, dot-unstuffed */
	uint64_t	 max;		/* max_message_size */
};

void	data_init(struct data_sm *, uint64_t max);
/*
 * Feeds client bytes; appends content (dot-unstuffed, CRLF) to out until
 * it would exceed max, then only scans. Returns how many bytes of in were
 * used: fewer than len only when the end of data was reached (the rest is
 * the client's next command). -1 when out cannot grow.
 */
ssize_t	data_feed(struct data_sm *, const char *in, size_t len, struct buf *out);
int	data_done(const struct data_sm *);

/* ---- commands.c: command line parsing ---- */

enum smtp_verb {
	V_UNKNOWN = 0,
	V_HELO, V_EHLO, V_MAIL, V_RCPT, V_DATA, V_RSET, V_NOOP, V_QUIT,
	V_VRFY, V_EXPN, V_HELP,
	V_HTTP,		/* GET / POST / CONNECT / HEAD: not a mail client */
};


struct mail_params {
	struct addr	 from;
	uint64_t	 size;		/* SIZE=, 0 when absent */
	int		 has_size;
	enum body_type	 body;
};

/* The verb of a NUL-free line; *args points past it and one space. */
enum smtp_verb	 cmd_verb(const char *line, const char **args);
/* NULL on success, else the whole reply line (without CRLF) to send. */
const char	*cmd_parse_mail(const char *args, struct mail_params *);
const char	*cmd_parse_rcpt(const char *args, struct addr *);
/* A HELO/EHLO argument we are willing to put in a Received header. */
int		 cmd_helo_valid(const char *arg);

/* ---- policy.c: relay control ---- */

enum policy_verdict {
	POLICY_ACCEPT = 0,
	POLICY_RELAY_DENIED,
};

enum policy_verdict policy_rcpt(const struct config *, const struct sockaddr *client,
		    const struct addr *rcpt);

/* ---- session.c: one client connection ---- */

struct session	*session_new(struct smtpd *, struct listener *, int fd,
		    const struct sockaddr *, socklen_t);
void		 session_free(struct session *);
/* Bytes from the client, as if read from the socket (tests use it too). */
int		 session_input(struct session *, const char *, size_t);
/* queue-mgr replies for transaction txid; unknown ids are ignored. */
void		 session_queue_reply(struct smtpd *, uint32_t type, uint32_t txid,
		    const char *text);
/* The queue channel is gone: fail every transaction that used it. */
void		 session_queue_lost(struct smtpd *);
/* The queue channel drained: read from clients again. */
void		 session_resume_all(struct smtpd *);
/* Ends every session (shutdown). */
void		 session_close_all(struct smtpd *);

/* ---- server.c: listeners and channels ---- */

void	server_init(struct smtpd *, struct event_base *, struct config *);
void	server_master_msg(struct ipc_chan *, struct ipc_msg *, void *);
void	server_master_closed(struct ipc_chan *, void *);
void	server_shutdown(struct smtpd *);
/* Called by sessions when a client leaves, to retry a paused accept. */
void	server_session_gone(struct smtpd *);

#endif
