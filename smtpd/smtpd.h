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
/* A text line of content without its CRLF (RFC 5321 4.5.3.1.6). */
#define SMTPD_TEXT_LINE_MAX	998
/* How long an ETRN waits for queue-mgr's reply before 458. */
#define SMTPD_ETRN_WAIT		5
/* How long RCPT waits for the master's recipient check before 451. */
#define SMTPD_RCPT_CHECK_WAIT	5
/* ENVID (RFC 3461 4.4) and ORCPT (4.2) at most, decoded, with the NUL. */
#define SMTPD_ENVID_MAX		101
#define SMTPD_ORCPT_MAX		501
/* Bytes read from a client at once. */
#define SMTPD_READ_CHUNK	16384
/* Unsent reply bytes beyond which a client is not read (it is not reading). */
#define SMTPD_OUT_HIGH		16384
/* Content gathered before it goes to queue-mgr as one IPC_MSG_DATA. */
#define SMTPD_DATA_CHUNK	(32 * 1024)
/* Longest HELO/EHLO argument kept. */
#define SMTPD_HELO_MAX		255
/* AUTH user name and password at most, without the NUL. */
#define SMTPD_AUTH_USER_MAX	255
#define SMTPD_AUTH_PASS_MAX	255

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
	char			 hostname[256];
	uint64_t		 max_message_size;
	int			 tls;		/* enum tls_mode */
	int			 auth;		/* enum auth_mode */
	int			 auth_plaintext;
	uint64_t		 max_recipients;
	uint64_t		 greeting_delay;	/* ms */
	uint64_t		 command_timeout;	/* s */
	uint64_t		 data_timeout;		/* s */
	uint64_t		 max_messages;
	uint64_t		 max_sessions;
	uint64_t		 max_sessions_per_ip;
	uint64_t		 max_connection_rate;
	uint64_t		 max_errors;
	uint64_t		 max_received_headers;
	int			 recipient_check;	/* issue 4 policy */
	int			 sender_login_match;
	int			 auth_relay;	/* 1: AUTH opens the relay */
	unsigned		 ext;		/* EXT_* offered */
	struct cidrlist		 allow;
	struct cidrlist		 deny;
	struct cidrlist		 etrn;
	size_t			 nsessions;
};

/* EHLO extensions a listener may offer (disable_extensions). */
#define EXT_PIPELINING		0x001u
#define EXT_SIZE		0x002u
#define EXT_8BITMIME		0x004u
#define EXT_CHUNKING		0x008u
#define EXT_BINARYMIME		0x010u
#define EXT_DSN			0x020u
#define EXT_SMTPUTF8		0x040u
#define EXT_ETRN		0x080u
#define EXT_ALL			0x0ffu

struct ip_entry;

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
	struct ip_entry		**iptab;	/* limits.c: per client IP counts */
	unsigned		 ipsweep;
	int			 paused;	/* IPC_SMTPD_PAUSE: refuse new mail */
	/* stats.c: counts for posternctl stats, and what was last sent */
	uint64_t		 n_connections;	/* accepted since start */
	uint64_t		 n_refused;	/* of them, refused at once */
	struct event		*stats_ev;
	size_t			 stats_sent_sessions;
	uint64_t		 stats_sent_connections, stats_sent_refused;
};

/* ---- vdomains.c: the domains of virtual_maps (read before chroot) ---- */
void	vdomains_load(const struct config *);
void	vdomains_reload(const struct config *);
int	vdomains_has(const char *domain);

/* ---- stats.c ---- */
void	stats_start(struct smtpd *);
/* A new queue-mgr channel: send the numbers now. */
void	stats_queue_up(struct smtpd *);
void	stats_stop(struct smtpd *);

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
	int		 bdat;		/* BDAT chunks, not DATA */
	int		 binary;	/* BODY=BINARYMIME: no line rules */
	int		 bare;		/* a bare CR or LF was seen */
	int		 too_big;	/* content went over max */
	int		 nul;		/* a NUL byte was seen */
	int		 long_line;	/* a line over SMTPD_TEXT_LINE_MAX */
	int		 in_body;	/* past the header section */
	uint32_t	 linelen;	/* octets of the line so far, no CR/LF */
	uint32_t	 match;		/* octets of "Received:" matched */
	uint32_t	 nreceived;	/* Received fields in the header */
	uint64_t	 size;		/* content bytes, dot-unstuffed */
	uint64_t	 max;		/* max_message_size */
};

void	data_init(struct data_sm *, uint64_t max);
void	data_init_bdat(struct data_sm *, uint64_t max, int binary);
/* A chunk's bytes, all of them; -1 when out cannot grow. */
int	data_feed_bdat(struct data_sm *, const char *, size_t, struct buf *out);
/* After BDAT LAST: final checks, CRLF added to an unended text body. */
int	data_end_bdat(struct data_sm *, struct buf *out);
/* The content broke a rule: it will be refused, nothing more is kept. */
int	data_rejected(const struct data_sm *);
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
	V_VRFY, V_EXPN, V_HELP, V_BDAT, V_ETRN, V_STARTTLS, V_AUTH,
	V_HTTP,		/* GET / POST / CONNECT / HEAD: not a mail client */
};


struct mail_params {
	struct addr	 from;
	uint64_t	 size;		/* SIZE=, 0 when absent */
	int		 has_size;
	enum body_type	 body;
	enum dsn_ret	 ret;
	int		 smtputf8;
	char		 envid[SMTPD_ENVID_MAX];	/* xtext-decoded */
};

struct rcpt_params {
	struct addr	 to;
	unsigned	 notify;	/* DSN_NOTIFY_* bits, 0 = not given */
	char		 orcpt[SMTPD_ORCPT_MAX];	/* "type;decoded" */
};

/* The verb of a NUL-free line; *args points past it and one space. */
enum smtp_verb	 cmd_verb(const char *line, const char **args);
/*
 * NULL on success, else the whole reply line (without CRLF) to send.
 * ext: the listener's EXT_* (a parameter of an extension not offered is
 * 555); utf8: the transaction declared SMTPUTF8.
 */
const char	*cmd_parse_mail(const char *args, unsigned ext, struct mail_params *);
const char	*cmd_parse_rcpt(const char *args, unsigned ext, int utf8,
		    struct rcpt_params *);
/* "size [LAST]": 0, or -1 on bad syntax. */
int		 cmd_parse_bdat(const char *args, uint64_t *size, int *last);
/* ETRN's argument: 0 (domain copied), -1 bad syntax, -2 a "#queue" name. */
int		 cmd_parse_etrn(const char *args, char *domain, size_t domainsz);
/* RFC 3461 xtext: decoded length, or -1 (bad, or not printable ASCII). */
int		 cmd_xtext_decode(const char *s, size_t len, char *out,
		    size_t outsz);
/* The offered extensions: EXT_ALL minus the names in disabled. -1 names
 * the first unknown one in *bad. */
int		 cmd_ext_mask(const struct strlist *disabled, unsigned *mask,
		    const char **bad);
/* "with" protocol of the Received header (RFC 3848, RFC 6531 3.7.3). */
const char	*cmd_received_protocol(int esmtp, int utf8, int tls, int auth);
/* A HELO/EHLO argument we are willing to put in a Received header. */
int		 cmd_helo_valid(const char *arg);
/* RFC 4648 base64, padded; bytes decoded or -1. */
int		 cmd_base64_decode(const char *, unsigned char *, size_t);
/* An AUTH user name fit for logs and the Received header. */
int		 cmd_auth_user_valid(const char *, size_t);
/* RFC 4616 "authzid NUL authcid NUL passwd": 0, or -1 when malformed
 * (or an authzid other than the user). */
int		 cmd_auth_plain(const unsigned char *, size_t, char *user,
		    size_t usersz, char *pass, size_t passsz);

/* ---- policy.c: relay control ---- */

enum policy_verdict {
	POLICY_ACCEPT = 0,
	POLICY_RELAY_DENIED,	/* 554 5.7.1 Relay access denied */
	POLICY_ROUTING,		/* our domain, "%", "!" or "@" in the local
				 * part: 553 5.1.3 */
};

/* What MAIL FROM gets, in the order policy_sender() checks. */
enum sender_verdict {
	SENDER_OK = 0,
	SENDER_REJECT,		/* sender_reject: 550 5.7.1 */
	SENDER_NOT_OWNED,	/* sender_login_match: 553 5.7.1 */
	SENDER_OWN_DOMAIN,	/* reject_own_domain_sender: 550 5.7.1 */
	SENDER_DISCARD,		/* sender_discard: 250s, then dropped */
};

enum policy_verdict policy_rcpt(const struct config *, const struct sockaddr *client,
		    const struct addr *rcpt);
/* The same for a session: an authenticated client may relay. */
enum policy_verdict policy_rcpt_session(const struct config *,
		    const struct sockaddr *client, int authenticated,
		    const struct addr *rcpt);
/* A mailbox in local_domains or relay_domains (never a literal). */
int		 policy_own_domain(const struct config *, const struct addr *);
/* Ask the master about this recipient (recipient_check)? */
int		 policy_rcpt_needs_check(const struct config *,
		    const struct addr *);
/* sender_reject / sender_discard entries: user@domain, @domain, domain
 * (and its subdomains), <> (the null sender). */
int		 policy_sender_listed(const struct strlist *, const struct addr *);
/* sender_login_match: may login use this envelope sender? */
int		 policy_login_owns(const struct config *, const char *login,
		    const struct addr *from);
/* auth_user NULL when the session has not authenticated. */
enum sender_verdict policy_sender(const struct config *,
		    const struct sockaddr *client, const char *auth_user,
		    int login_match, const struct addr *from);

/* ---- limits.c: connection control at accept ---- */

enum limit_verdict {
	LIMIT_OK = 0,
	LIMIT_DENIED,		/* client_deny / client_allow: 554 5.7.1 */
	LIMIT_SESSIONS,		/* max_sessions: 421 4.7.0 */
	LIMIT_PER_IP,		/* max_sessions_per_ip: 421 4.7.0 */
	LIMIT_RATE,		/* max_connection_rate: 421 4.7.0 */
	LIMIT_NEVER,		/* never_connect_networks: 554 5.7.1 */
};

/*
 * Decides on a new connection; LIMIT_OK counts it (undo: limits_release
 * with the same *counted, which says whether the per-IP counts took it).
 */
enum limit_verdict limits_check(struct smtpd *, struct listener *,
		    const struct sockaddr *, time_t now, int *counted);
void		 limits_release(struct smtpd *, struct listener *,
		    const struct sockaddr *, int counted);
void		 limits_free(struct smtpd *);
/* The reply line for a refusal (no CRLF). */
const char	*limits_reply(enum limit_verdict);

/* ---- session.c: one client connection ---- */

/* counted: what limits_check() said; the session releases it at the end. */
struct session	*session_new(struct smtpd *, struct listener *, int fd,
		    const struct sockaddr *, socklen_t, int counted);
void		 session_free(struct session *);
/*
 * A policy test (IPC_SMTPD_TEST_SESSION): an ordinary session on fd as if
 * from sa, except no TLS, no AUTH and no mail taken. NULL when out of memory.
 */
struct session	*session_new_test(struct smtpd *, struct listener *, int fd,
		    const struct sockaddr *, socklen_t, int counted,
		    const char *helo);
/* The master's IPC_RCPT_CHECK_REPLY for request id (enum rcpt_check). */
void		 session_rcpt_check_reply(struct smtpd *, uint32_t id,
		    uint32_t result, const char *reason);
/* A client address as text for logs ("unknown" when none). */
void		 session_client_text(const struct sockaddr *, char *, size_t);
/* Bytes from the client, as if read from the socket (tests use it too). */
int		 session_input(struct session *, const char *, size_t);
/* queue-mgr replies for transaction txid; unknown ids are ignored. */
void		 session_queue_reply(struct smtpd *, uint32_t type, uint32_t txid,
		    const char *text);
/* The master's IPC_AUTH_REPLY for request id. */
void		 session_auth_reply(struct smtpd *, uint32_t id, uint32_t result,
		    const char *user);
/* queue-mgr's IPC_ETRN_REPLY for request id. */
void		 session_etrn_reply(struct smtpd *, uint32_t id, uint32_t count);
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
/* Copies a listener's settings from conf (at start and at every reload). */
void	server_listener_config(struct listener *, const struct config *);
void	server_listener_clear(struct listener *);

#endif
