/* deliver: shared types of the remote delivery process (jobs, routes, SMTP). */
#ifndef POSTERN_DELIVER_H
#define POSTERN_DELIVER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

#define DELIVER_MAX_RCPT	IPC_JOB_MAX_RCPT	/* recipients in one job */
#define DELIVER_MAX_MX		10	/* MX hosts tried per delivery */
#define DELIVER_MAX_ADDRS	16	/* addresses tried per host */
#define DELIVER_MAX_REPLY	512	/* reply text kept per recipient */
#define DELIVER_DNS_TIMEOUT	60	/* s; the resolver answers within 30 */
#define DELIVER_HOST_MAX	256	/* host names, with the NUL */

/* ---- route.c: where a domain's mail goes ---- */

enum hop_kind {
	HOP_MX,		/* MX lookup of host, then each MX's addresses */
	HOP_HOST,	/* addresses of host, no MX lookup ([host]:port) */
	HOP_ADDR,	/* host is an IP address literal */
	HOP_UNIX,	/* host is the path of a unix socket (lmtp:unix:) */
};

#define DELIVER_PATH_MAX	512	/* password file paths, with the NUL */
#define DELIVER_LMTP_PORT	24	/* lmtp:host with no port (RFC 2033) */

struct route_hop {
	int		 kind;			/* enum hop_kind */
	char		 host[DELIVER_HOST_MAX];
	uint16_t	 port;
	/* the MX lookup is of the recipient domain itself: NXDOMAIN and
	 * null MX bounce; for a configured host they are config errors */
	int		 recipient_domain;
	char		 why[64];		/* "route \"pat\"", "relayhost", "mx" */
	int		 lmtp;			/* speak LMTP (RFC 2033) */
	int		 tls;			/* enum route_tls */
	char		 auth_user[DELIVER_HOST_MAX];	/* "" = no AUTH */
	char		 auth_file[DELIVER_PATH_MAX];	/* its password file */
};

/*
 * The next hop for mail to domain: the first matching route, else the
 * relayhost, else MX lookup of the domain on remote_port. A domain that is
 * an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]") goes straight
 * to that address. -1 (with a reason in err) when the config's next hop
 * does not parse.
 */
int	route_choose(const struct config *, const char *domain,
	    struct route_hop *, char *err, size_t errsz);

struct mx_host {
	uint32_t	 pref;
	char		 name[DELIVER_HOST_MAX];
};

/*
 * Orders MX records for trying: drops null MX entries (name ""), sorts by
 * preference, shuffles equal preferences, keeps at most max. Returns the
 * count kept; *all_null is set when there were records and every one was
 * a null MX (RFC 7505: the domain takes no mail).
 */
size_t	route_mx_order(struct mx_host *, size_t n, size_t max, int *all_null);

/*
 * Drops the MX hosts that are us (named hostname, RFC 5321 5.1): every MX
 * at our preference or worse. Returns the count kept; *loop is set when
 * we were the best MX (mail would loop: bounce 5.4.6).
 */
size_t	route_mx_drop_self(struct mx_host *, size_t n, const char *hostname,
	    int *loop);

/* 1 when addr:port is one of the config's listen addresses. */
int	route_addr_is_self(const struct config *, const struct sockaddr *);

/* 1 and the address filled when s is an IPv4 or IPv6 literal. */
int	route_ip_literal(const char *s, struct sockaddr_storage *, socklen_t *);

/* ---- reply.c: SMTP replies from the server, bounds-checked ---- */

#define REPLY_MAX_LINE		2048	/* octets of one reply line */
#define REPLY_MAX_LINES		100	/* lines of one reply */

struct smtp_reply {
	int		 code;		/* 200..599 */
	size_t		 nlines;
	/* the text after "NNN-" / "NNN " of each line, lines separated by
	 * '\n', bytes outside printable ASCII replaced by '?' */
	struct buf	 text;
};

void	reply_init(struct smtp_reply *);
void	reply_free(struct smtp_reply *);
/*
 * Takes one whole reply from the front of in (consuming its lines), into
 * r. 1 when a reply was taken, 0 when more input is needed (nothing
 * consumed), -1 when the input is not a valid reply (line too long, too
 * many lines, bad code, codes that differ between lines).
 */
int	reply_take(struct buf *in, struct smtp_reply *r);
/* "550 5.1.1 text of line one text of line two", capped at max octets. */
void	reply_summary(const struct smtp_reply *, char *out, size_t max);
/* 1 when an EHLO reply line (other than the first) names keyword;
 * *param points at its parameter text (or "") and *plen is its length. */
int	reply_ehlo_has(const struct smtp_reply *, const char *keyword,
	    const char **param, size_t *plen);

/* ---- body.c: content to wire form ---- */

struct body_enc {
	int	 bol;		/* at the start of a line */
	int	 cr;		/* a CR was seen and its line end not yet written */
};

void	body_enc_init(struct body_enc *);
/* Appends in, every line end as CRLF (CRLF, bare LF and bare CR alike)
 * and a leading '.' doubled. -1 when out of memory. */
int	body_enc_feed(struct body_enc *, const void *in, size_t len,
	    struct buf *out);
/* Ends the last line if needed and appends the final ".\r\n". */
int	body_enc_finish(struct body_enc *, struct buf *out);

/* ---- smtp.c: one SMTP client session ---- */

struct dl_rcpt {
	char	*addr;
	int	 status;	/* enum rcpt_status */
	int	 final;		/* the status is known for this job */
	char	*reply;		/* reply text or our own diagnostic */
	char	 relay[DELIVER_HOST_MAX + 64];
	uint32_t notify;	/* DSN_NOTIFY_* bits, 0 = not given */
	char	*orcpt;		/* "rfc822;decoded-address" or NULL */
	uint32_t flags;		/* RESULT_F_* */
};

enum smtp_outcome {
	SMTP_NEXT,	/* nothing decided; try the next address or host */
	SMTP_DONE,	/* every recipient of the session has its result */
	SMTP_PLAIN,	/* TLS handshake failed under "may": again, no TLS */
	SMTP_STALE,	/* a cached connection failed: again, a new one */
};

struct ssl_ctx_st;

/* One TLSA record (RFC 6698) for DANE. */
struct dl_tlsa {
	uint8_t	 usage, selector, mtype;
	size_t	 dlen;
	uint8_t	 data[2048];
};

struct smtp_params {
	const char	*qid;		/* for log lines */
	const char	*helo;
	const char	*sender;
	int		 fd;		/* content, read with pread */
	uint64_t	 size;
	struct dl_rcpt	**rcpt;		/* the recipients still to deliver */
	size_t		 nrcpt;
	int		 connect_timeout;	/* seconds */
	int		 timeout;		/* seconds, per reply */
	const char	*relay;		/* "host[addr]:port" */
	int		 lmtp;		/* LHLO and a reply per recipient */
	int		 tls;		/* enum route_tls; RTLS_NONE: no STARTTLS */
	const char	*tls_name;	/* server name for SNI and verify */
	struct ssl_ctx_st *ssl_ctx;	/* NULL: no TLS at all */
	const struct dl_tlsa *tlsa;	/* usable TLSA records for dane */
	size_t		 ntlsa;
	const char	*auth_user;	/* NULL: no AUTH */
	const char	*auth_pass;
	uint32_t	 ret;		/* enum dsn_ret */
	const char	*envid;		/* "" = none */
	int		 body;		/* enum body_type */
	int		 smtputf8;
	const struct sockaddr *src;	/* source address to bind, or NULL */
	socklen_t	 srclen;
	const char	*cache_key;	/* "" or NULL: not to be cached */
	size_t		 cache_max;	/* idle sessions kept at most */
	int		 cache_time;	/* seconds one may stay idle */
};

struct smtp_sess;
struct event_base;

/* Called once per session, after which the session is gone. why says
 * what went wrong for SMTP_NEXT (and for any recipient left undecided). */
typedef void (*smtp_done_cb)(void *arg, int outcome, const char *why);

struct smtp_sess *smtp_start(struct event_base *, const struct sockaddr *,
		    socklen_t, const struct smtp_params *, smtp_done_cb,
		    void *arg);
/* The same from an already connected socket (lmtp:unix:); fd is taken. */
struct smtp_sess *smtp_start_fd(struct event_base *, int fd,
		    const struct smtp_params *, smtp_done_cb, void *arg);
/* An idle cached session for p->cache_key, restarted with RSET for this
 * transaction; NULL when there is none. */
struct smtp_sess *smtp_reuse(const struct smtp_params *, smtp_done_cb,
		    void *arg);
/* Drops the session without calling back (its job is gone). */
void		 smtp_abort(struct smtp_sess *);
/* Closes every idle cached session (QUIT). */
void		 smtp_cache_flush(void);

/* xtext (RFC 3461 4) of s appended to out. -1 when out of memory. */
int		 smtp_xtext(struct buf *out, const char *s);
/* 1 when every octet of s is ASCII. */
int		 smtp_ascii(const char *s);

/* ---- tls.c: the client TLS context ---- */

/* Reads openssl.cnf, the system CA bundle and ca_file ("" = none) into
 * memory. Root, before chroot. */
void		 tls_preload(const char *ca_file);
/*
 * The one client SSL_CTX, its store made from what tls_preload() read
 * (after chroot: the hashed certificate folder could not be read then).
 * NULL (logged) when TLS cannot be set up.
 */
struct ssl_ctx_st *tls_client_ctx(void);

/* ---- secrets.c: route passwords, read before chroot ---- */

/* Reads every route's auth_password_file (first line). Root, pre-chroot. */
void		 secrets_load(const struct config *);
/* The password read from path at start, or NULL. */
const char	*secrets_get(const char *path);

/* ---- deliver.c: the process ---- */

void	deliver_start(struct event_base *, struct config *,
	    struct ssl_ctx_st *, int master_fd);

/* ---- unixconn.c: unix sockets outside the chroot (lmtp:unix:) ---- */

/*
 * Forks the connect helper: an unprivileged, unchrooted child that only
 * connects to the lmtp:unix: paths named in the config at start and
 * passes the sockets back. Root, before chroot.
 */
void	unixconn_start(const struct config *);
/* A connected socket to path, or -1 with errno. */
int	unixconn_connect(const char *path);

/* ---- localdom.c: domains delivered by the master (issue 8) ---- */

/* Reads virtual_maps for its domains. Root, before chroot. */
void	localdom_load(const struct config *);
/* A reload: warns when virtual_maps changed (it cannot be read again). */
void	localdom_reload(const struct config *);
/* 1 for a domain of local_domains or of virtual_maps that has no route of
 * its own (a "*" route does not count): the master delivers it. */
int	localdom_match(const struct config *, const char *domain);

/* Sets the result of one recipient (text is copied, capped). */
void	dl_rcpt_set(struct dl_rcpt *, int status, const char *text,
	    const char *relay);

#endif
