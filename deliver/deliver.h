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
};

struct route_hop {
	int		 kind;			/* enum hop_kind */
	char		 host[DELIVER_HOST_MAX];
	uint16_t	 port;
	/* the MX lookup is of the recipient domain itself: NXDOMAIN and
	 * null MX bounce; for a configured host they are config errors */
	int		 recipient_domain;
	char		 why[64];		/* "route \"pat\"", "relayhost", "mx" */
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
};

enum smtp_outcome {
	SMTP_NEXT,	/* nothing decided; try the next address or host */
	SMTP_DONE,	/* every recipient of the session has its result */
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
};

struct smtp_sess;
struct event_base;

/* Called once per session, after which the session is gone. why says
 * what went wrong for SMTP_NEXT (and for any recipient left undecided). */
typedef void (*smtp_done_cb)(void *arg, int outcome, const char *why);

struct smtp_sess *smtp_start(struct event_base *, const struct sockaddr *,
		    socklen_t, const struct smtp_params *, smtp_done_cb,
		    void *arg);
/* Drops the session without calling back (its job is gone). */
void		 smtp_abort(struct smtp_sess *);

/* ---- deliver.c: the process ---- */

void	deliver_start(struct event_base *, struct config *, int master_fd);

/* Sets the result of one recipient (text is copied, capped). */
void	dl_rcpt_set(struct dl_rcpt *, int status, const char *text,
	    const char *relay);

#endif
