/*
 * Framed IPC between postern's processes, over AF_UNIX SOCK_SEQPACKET.
 *
 * One frame is one packet: a 16-byte header (type, payload length, request
 * id, flags; host byte order, as both ends are on one machine) followed by
 * the payload, at most IPC_MAX_PAYLOAD bytes. A frame may carry one file
 * descriptor (SCM_RIGHTS); flag IPC_F_FD says so, and a frame whose flag and
 * ancillary data disagree is malformed. A malformed frame (short, truncated,
 * unknown type, unknown flag, length mismatch) closes the channel: the peer
 * is logged and dropped, the daemon goes on.
 *
 * Payloads are encoded with lib/pack.h. The payload of every type is written
 * next to it below as a list of fields: u32, u64, str (u32 length + bytes),
 * bytes (u32 length + bytes, which may hold any byte). "id" is the
 * header's request id; a reply carries the id of the
 * request it answers.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_HDR_LEN		16
#define IPC_MAX_PAYLOAD		(64 * 1024)
#define IPC_F_FD		0x1u
/* Recipients in one IPC_DELIVER_JOB at most (one SMTP transaction). */
#define IPC_JOB_MAX_RCPT	100
/* Bytes queued for writing beyond which a sender should stop reading input;
 * a channel stops reading its own peer above it until that peer has read. */
#define IPC_HIGH_WATER		(1024 * 1024)
/* Bytes queued for one peer at most: a peer that lets more pile up is
 * dropped (it never reads). */
#define IPC_MAX_QUEUED		(16 * IPC_HIGH_WATER)

/* Kinds of process; used in IPC_PEER and in log lines. */
enum proc_kind {
	PROC_MASTER = 0,
	PROC_SMTPD,
	PROC_QUEUE,
	PROC_DELIVER,
	PROC_RESOLVER,
	PROC_MAX
};

/* Status class of a result, as seen by queue-mgr. */
enum rcpt_status {
	RCPT_OK = 0,		/* delivered (2xx) */
	RCPT_TEMPFAIL = 1,	/* try again later (4xx, connection failure) */
	RCPT_PERMFAIL = 2,	/* bounce (5xx) */
};

/* DNS answer status, resolver -> deliver. */
enum dns_status {
	DNS_OK = 0,		/* answers follow */
	DNS_NXDOMAIN = 1,	/* the name does not exist */
	DNS_NODATA = 2,		/* the name exists, no record of that type */
	DNS_TEMPFAIL = 3,	/* SERVFAIL, timeout, no server: try again */
	DNS_BOGUS = 4,		/* DNSSEC validation failed */
};

enum dns_qtype {
	DNS_Q_A = 1,
	DNS_Q_PTR = 12,		/* issue 6: answers are str host names */
	DNS_Q_MX = 15,
	DNS_Q_TXT = 16,		/* issue 6: answers are bytes (strings joined) */
	DNS_Q_AAAA = 28,
	DNS_Q_TLSA = 52,	/* issue 6: u32 usage, u32 selector, u32 mtype,
				 * bytes association data */
};

enum ipc_type {
	IPC_NONE = 0,

	/* ---- master -> any child ---- */
	/* fd = one end of a channel to another daemon. u32 proc_kind of that
	 * daemon. Replaces any earlier channel to the same kind (the peer was
	 * restarted). */
	IPC_PEER,
	/* fd = a listening TCP socket (smtpd). u32 listener index in the
	 * config's listener list (order of the file), str "addr:port". */
	IPC_LISTENER,
	/* fd = the listening control socket (queue-mgr). no payload. */
	IPC_CONTROL_LISTENER,
	/* The config file's whole text for a reload: str path, then the text
	 * as a length-prefixed string (pack_bytes; it may hold newlines).
	 * The child parses it with config_parse_buf() and, if valid, applies
	 * what it can without restart. */
	IPC_CONFIG,
	/* Sent once every initial IPC_PEER/IPC_LISTENER has been sent. no payload. */
	IPC_START,

	/* ---- any child -> master ---- */
	/* The child is chrooted, unprivileged and serving. no payload. */
	IPC_READY,

	/* ---- smtpd -> queue-mgr: one message ---- */
	/* id = a transaction number chosen by smtpd, unique per smtpd channel.
	 * u64 arrival (unix seconds), str client address, str client helo,
	 * str sender (no brackets; "" for the null sender), u32 nrcpt,
	 * nrcpt x str recipient. Asks for a queue id, sent before 354.
	 * Optional extension (issue 3/5; absent = all defaults), appended:
	 * struct msg_params as u32 ret (enum dsn_ret), str envid (xtext-
	 * decoded, "" = none), u32 body (enum body_type), u32 smtputf8 (0/1),
	 * u32 nrcpt again, then per recipient in the same order:
	 * u32 notify (DSN_NOTIFY_* bits, 0 = not given), str orcpt (the
	 * ORCPT value as "addr-type;decoded-address", "" = none). */
	IPC_MSG_BEGIN,
	/* id. The payload is the next piece of content itself (raw bytes, no
	 * length prefix), in wire form with CRLF line endings and
	 * dot-unstuffed, the Received header first. */
	IPC_MSG_DATA,
	/* id, no payload: content complete; make it durable. */
	IPC_MSG_END,
	/* id, no payload: forget this transaction (client went away, too big,
	 * rejected). No reply. */
	IPC_MSG_ABORT,

	/* ---- queue-mgr -> smtpd ---- */
	/* id, str queue id: BEGIN accepted, send data. */
	IPC_MSG_BEGIN_OK,
	/* id, str queue id: END done; the message is on disk (synced). Only
	 * now may smtpd send 250. */
	IPC_MSG_COMMITTED,
	/* id, str reply text like "451 4.3.0 Queue write error": BEGIN or END
	 * failed, the transaction is gone. smtpd sends this text to the client. */
	IPC_MSG_TEMPFAIL,

	/* ---- queue-mgr -> deliver: one job = one message, one domain ---- */
	/* id = job id chosen by queue-mgr. fd = a read-only file descriptor
	 * (memfd) holding the content as stored, from offset 0.
	 * str queue id, str sender ("" = null sender), str domain,
	 * u32 nrcpt, nrcpt x str recipient.
	 * Optional extension (issue 5/6), appended exactly as in
	 * IPC_MSG_BEGIN's: u32 ret, str envid, u32 body, u32 smtputf8,
	 * u32 nrcpt, nrcpt x (u32 notify, str orcpt). Absent = defaults. */
	IPC_DELIVER_JOB,

	/* ---- deliver -> queue-mgr ---- */
	/* id = job id. u32 nrcpt (same count and order as the job), then per
	 * recipient: u32 rcpt_status, str reply ("250 2.0.0 Ok" or our own text
	 * for failures without a reply), str relay ("host[addr]:port" or "none").
	 * Exactly one per job.
	 * Optional extension (issue 6/5), appended: u32 nrcpt, then per
	 * recipient u32 flags (RESULT_F_* bits). Absent = all 0. */
	IPC_DELIVER_RESULT,

	/* ---- deliver -> resolver ---- */
	/* id = query id chosen by deliver. u32 dns_qtype, str name. */
	IPC_DNS_QUERY,

	/* ---- resolver -> deliver ---- */
	/* id. u32 dns_status, u32 secure (1 if DNSSEC-validated), u32 n, then
	 * n answers: for DNS_Q_MX u32 preference + str exchange host (no
	 * trailing dot); for A/AAAA str address in text form; for PTR str
	 * host name; for TXT bytes (one record's strings joined); for TLSA
	 * u32 usage, u32 selector, u32 matching type, bytes data. Records
	 * that would not fit the frame are left out (n says how many). */
	IPC_DNS_ANSWER,

	/* ---- posternctl -> queue-mgr (control socket) ---- */
	/* no payload. Replies: zero or more IPC_CTL_QUEUE_ENTRY, then IPC_CTL_END. */
	IPC_CTL_QUEUE,
	/* str queue id, or "" for all. Reply: IPC_CTL_OK or IPC_CTL_ERROR. */
	IPC_CTL_FLUSH,

	/* ---- queue-mgr -> posternctl ---- */
	/* str queue id, u64 arrival, u64 size, str sender, u32 state
	 * (enum queue_state), u64 next try (unix seconds, 0 = none),
	 * str last error ("" = none), u32 nrcpt, nrcpt x (str recipient,
	 * u32 rcpt state: 0 pending, 1 delivered, 2 bounced). */
	IPC_CTL_QUEUE_ENTRY,
	/* u32 count of entries sent. */
	IPC_CTL_END,
	/* str human-readable text. */
	IPC_CTL_OK,
	/* str human-readable error. */
	IPC_CTL_ERROR,

	/* smtpd -> queue-mgr: ETRN (RFC 1985) from an allowed client.
	 * id = chosen by smtpd. str domain (as given: "example.com", or
	 * "@example.com" for it and its subdomains). Reply IPC_ETRN_REPLY. */
	IPC_ETRN,
	/* queue-mgr -> smtpd: id, u32 number of messages scheduled now. */
	IPC_ETRN_REPLY,
	/* == issue 3 (smtpd) message types == */
	/* == issue 8 (local delivery, submission) message types == */
	/* deliver -> master: deliver to local mailboxes. Sent by deliver for
	 * a job whose domain is a local domain (local_domains, or a domain of
	 * virtual_maps). id = chosen by deliver. fd and payload exactly as in
	 * IPC_DELIVER_JOB (deliver passes the job on as it got it). The master
	 * resolves each recipient (virtual_maps, aliases, the password file,
	 * ~/.forward) and writes in a child that has become the user. Targets
	 * outside this host are sent on as a new message (a pickup file owned
	 * by root, same sender). Reply IPC_LOCAL_RESULT. */
	IPC_LOCAL_JOB,
	/* master -> deliver: id, then exactly IPC_DELIVER_RESULT's payload
	 * (same recipients, same order; extension allowed). deliver sends it on
	 * to queue-mgr as the job's IPC_DELIVER_RESULT. Exactly one per job;
	 * if the master restarts deliver, the job is lost and queue-mgr retries
	 * (a duplicate is possible, a loss is not). */
	IPC_LOCAL_RESULT,
	/* master -> queue-mgr: a file from <spool>/pickup to queue. id =
	 * chosen by the master. fd = the file, read-only, at offset 0 (the
	 * master checked: regular, one link, not too big). u32 uid of its
	 * owner (the submitter), str that user's login name, u32 1 if that
	 * user may choose the envelope sender (root, submit_trusted_group),
	 * else 0: then a sender set in the file is replaced by
	 * login@hostname. Reply IPC_PICKUP_DONE. */
	IPC_PICKUP,
	/* queue-mgr -> master: id, u32 enum pickup_status, str the queue id
	 * or the reason. The master removes the file only after PICKUP_OK. */
	IPC_PICKUP_DONE,
	/* == issue 4 (TLS, AUTH) message types == */
	/* smtpd -> master: may this recipient get mail? Sent at RCPT for an
	 * address in a local domain, a virtual_maps domain or a relay domain
	 * (smtpd cannot read the files that decide). id = chosen by smtpd.
	 * str address (lower-case domain, local part as given).
	 * Reply IPC_RCPT_CHECK_REPLY. */
	IPC_RCPT_CHECK,
	/* master -> smtpd: id, u32 enum rcpt_check, str reason for the log
	 * ("" when none). */
	IPC_RCPT_CHECK_REPLY,
	/* smtpd <-> resolver, on their own channel (PROC_RESOLVER / PROC_SMTPD
	 * peers): IPC_DNS_QUERY and IPC_DNS_ANSWER exactly as between deliver
	 * and the resolver; the resolver answers on the channel that asked. */
	/* smtpd -> master: check a password with PAM. id = chosen by smtpd.
	 * str client address, str mechanism ("PLAIN", "LOGIN"; for the log),
	 * str user, bytes password (no NUL). Reply IPC_AUTH_REPLY. */
	IPC_AUTH_REQ,
	/* master -> smtpd: id, u32 enum auth_result, str the user name PAM
	 * settled on ("" unless AUTH_OK). */
	IPC_AUTH_REPLY,
	/* master -> smtpd, before IPC_START and again after each reload:
	 * u32 listener index, bytes certificate chain (PEM). Never a private
	 * key: smtpd faces the network, so the keys stay in the master. */
	IPC_TLS_CERT,
	/* master -> smtpd, once before IPC_START when a listener has TLS:
	 * fd = smtpd's end of a channel used only for IPC_TLS_SIGN, so that
	 * smtpd may wait for the answer there in the middle of a handshake
	 * without mixing it with other frames. No payload. */
	IPC_TLS_SIGNER,
	/* smtpd -> master on the signer channel: sign a digest with a
	 * listener's key. id = chosen by smtpd. u32 listener index,
	 * u32 padding (enum tls_sign_padding), u32 digest NID (OpenSSL's),
	 * u32 PSS salt length (as int32: -1 = digest length, -2 = maximum),
	 * bytes digest (at most 64). Reply IPC_TLS_SIGNATURE. */
	IPC_TLS_SIGN,
	/* master -> smtpd: id, u32 0 = ok (else failed), bytes signature. */
	IPC_TLS_SIGNATURE,
	/* == issue 5 (queue-mgr) message types == */
	/* posternctl -> queue-mgr: put a message on hold (never tried until
	 * released; the hold is stored). str queue id. Reply IPC_CTL_OK or
	 * IPC_CTL_ERROR ("no such message"). */
	IPC_CTL_HOLD,
	/* posternctl -> queue-mgr: release a held message; its waiting
	 * recipients are tried at once. str queue id. Reply IPC_CTL_OK or
	 * IPC_CTL_ERROR. */
	IPC_CTL_RELEASE,
	/* == issue 6 (deliver, resolver) message types == */
	/* == issue 7 (posternctl) message types == */
	/* queue-mgr -> master, then master -> every child: u32 log level
	 * (enum log_level). Set by posternctl log-level; queue-mgr applies it
	 * itself and sends it on; the master applies it and tells the others.
	 * Until the next restart or reload. */
	IPC_LOG_LEVEL,
	/* queue-mgr -> smtpd: u32 1 = pause incoming mail, 0 = resume. While
	 * paused, a new connection gets "421 4.3.2 <host> Not accepting mail
	 * now, try again later" and is closed; a session already open gets
	 * 451 4.3.2 at MAIL; a transaction already past MAIL goes on (nothing
	 * acknowledged is refused). queue-mgr sends the state again whenever
	 * smtpd (re)connects. */
	IPC_SMTPD_PAUSE,
	/* posternctl -> queue-mgr: fd = one end of a SOCK_STREAM socketpair;
	 * str client address (IP text), str HELO name (may be ""), str listener
	 * name ("" = the first). queue-mgr checks it and passes it on to smtpd
	 * as IPC_SMTPD_TEST_SESSION, then replies IPC_CTL_OK, or IPC_CTL_ERROR
	 * (no smtpd, bad address, no such listener). posternctl then speaks
	 * SMTP on its end. */
	IPC_CTL_POLICY_TEST,
	/* queue-mgr -> smtpd: fd, then exactly IPC_CTL_POLICY_TEST's payload.
	 * smtpd runs an ordinary session on the fd as if the connection came
	 * from that address to that listener (same limits, deny lists, DNS
	 * checks, relay and recipient rules), except: no TLS is offered, AUTH
	 * is refused, and DATA/BDAT get "554 5.7.0 Policy test: no mail is
	 * accepted". Logged as a policy test. */
	IPC_SMTPD_TEST_SESSION,
	/* queue-mgr -> master: posternctl reload. No payload. The master
	 * reloads exactly as on SIGHUP (and logs the outcome). */
	IPC_RELOAD_REQ,
	/* posternctl -> queue-mgr: route again after a config change. str
	 * queue id, or "" for every message not held. Each waiting recipient
	 * leaves its destination's ready queue and backoff, its attempt count
	 * starts again at 0, and it is due now with the current config.
	 * Reply IPC_CTL_OK or IPC_CTL_ERROR. */
	IPC_CTL_REQUEUE,
	/* posternctl -> queue-mgr: a message's history. str queue id.
	 * Replies: IPC_CTL_TRACE_EVENT frames in time order, then IPC_CTL_END
	 * (u32 count); or IPC_CTL_ERROR ("no trace of that message"). */
	IPC_CTL_TRACE,
	/* queue-mgr -> posternctl: u64 time (unix microseconds), str event
	 * ("received", "delivery", "held", "released", "requeued",
	 * "deleted", "bounced", "dsn", "removed"), u32 n, n x (str name,
	 * str value) in a fixed order per event. */
	IPC_CTL_TRACE_EVENT,
	/* posternctl -> queue-mgr: u32 log level (enum log_level). queue-mgr
	 * applies it and sends IPC_LOG_LEVEL to the master. Reply IPC_CTL_OK. */
	IPC_CTL_LOG_LEVEL,
	/* posternctl -> queue-mgr: no payload. queue-mgr sends IPC_RELOAD_REQ
	 * and replies IPC_CTL_OK when the new config has reached it (the
	 * master sends IPC_CONFIG only for a valid one), or IPC_CTL_ERROR
	 * when it did not within a few seconds (see the master's log). */
	IPC_CTL_RELOAD,
	/* smtpd -> queue-mgr, for posternctl stats: u32 sessions open now,
	 * u64 connections accepted since smtpd started, u64 of them refused
	 * at once (pause, limits, deny lists, DNSBL at the greeting). Sent
	 * when a new queue-mgr channel comes up, then at most once a second
	 * while the numbers change. */
	IPC_SMTPD_STATS,
	/* posternctl -> queue-mgr: one message in full. str queue id, u32
	 * with content (0 = envelope and recipients only, 1 = and content).
	 * Replies: IPC_CTL_SHOW_ENV, nrcpt x IPC_CTL_SHOW_RCPT, then (with
	 * content) IPC_CTL_CONTENT frames, then IPC_CTL_END (u32 number of
	 * content bytes sent); or IPC_CTL_ERROR ("no such message"). */
	IPC_CTL_SHOW,
	/* queue-mgr -> posternctl: str queue id, u64 arrival, u64 size,
	 * str sender, str client, str helo, u32 ret (enum dsn_ret), str envid,
	 * u32 body (enum body_type), u32 smtputf8, u32 state (enum
	 * queue_state), u32 nrcpt. */
	IPC_CTL_SHOW_ENV,
	/* queue-mgr -> posternctl: str recipient, u32 state (0 pending,
	 * 1 delivered, 2 bounced), u32 attempts, u64 next try (unix seconds,
	 * 0 = at once), str last reply, str last relay, u32 notify
	 * (DSN_NOTIFY_* bits, 0 = not given), str orcpt. */
	IPC_CTL_SHOW_RCPT,
	/* queue-mgr -> posternctl: raw content bytes (the payload itself, no
	 * length prefix), in order. */
	IPC_CTL_CONTENT,
	/* posternctl -> queue-mgr: remove a message without a notice. str
	 * queue id, or "" for every deferred message. Reply IPC_CTL_OK or
	 * IPC_CTL_ERROR ("no such message", or busy: being delivered now). */
	IPC_CTL_DELETE,
	/* posternctl -> queue-mgr: return a message to its sender: each
	 * waiting recipient fails with 5.0.0 and a DSN goes out. str queue id.
	 * Reply IPC_CTL_OK or IPC_CTL_ERROR. */
	IPC_CTL_BOUNCE,
	/* posternctl -> queue-mgr: no payload. Reply IPC_CTL_STATS_REPLY. */
	IPC_CTL_STATS,
	/* queue-mgr -> posternctl: u64 now, u64 started (unix seconds),
	 * u32 messages active, u32 deferred, u32 held, u64 recipients
	 * waiting, u64 oldest arrival (0 = empty queue), u64 accepted,
	 * u64 delivered, u64 deferred, u64 bounced (counts since start: one
	 * message accepted, one recipient result each), u32 n, n x (str
	 * enhanced status, u32 waiting recipients deferred with it), u32 n,
	 * n x (str domain, u32 such recipients); groups by count, largest
	 * first, at most 50 each.
	 * Extension (absent from an older queue-mgr): u32 1 if smtpd has
	 * reported (else the rest is 0), u32 sessions open, u64 connections,
	 * u64 refused (IPC_SMTPD_STATS's last numbers). */
	IPC_CTL_STATS_REPLY,
	/* posternctl -> queue-mgr: u32 1 = pause, 0 = resume; str what
	 * ("outgoing": no job goes to deliver while paused). Reply IPC_CTL_OK
	 * or IPC_CTL_ERROR. */
	IPC_CTL_PAUSE,
	IPC_TYPE_MAX
};

/* RFC 3461 DSN parameters and the body type, as carried in IPC. */
enum dsn_ret { DSN_RET_UNSPEC = 0, DSN_RET_FULL = 1, DSN_RET_HDRS = 2 };
#define DSN_NOTIFY_NEVER	0x1u
#define DSN_NOTIFY_SUCCESS	0x2u
#define DSN_NOTIFY_FAILURE	0x4u
#define DSN_NOTIFY_DELAY	0x8u
enum body_type {
	BODY_TYPE_UNSPEC = 0,
	BODY_TYPE_7BIT = 1,
	BODY_TYPE_8BITMIME = 2,
	BODY_TYPE_BINARYMIME = 3,
};
/* IPC_DELIVER_RESULT extension flags, per recipient. */
#define RESULT_F_RELAYED	0x1u	/* delivered to a server without DSN: "relayed" */
#define RESULT_F_TLS		0x2u	/* the session used TLS */

/* How IPC_TLS_SIGN pads: what TLS 1.2/1.3 need, with ECDHE only. */
enum tls_sign_padding {
	TLS_SIGN_ECDSA = 0,		/* EC keys: no padding */
	TLS_SIGN_RSA_PKCS1 = 1,		/* RSA, PKCS#1 v1.5 (TLS 1.2) */
	TLS_SIGN_RSA_PSS = 2,		/* RSA-PSS (TLS 1.3, TLS 1.2) */
};

/* What queue-mgr answers to IPC_PICKUP. */
enum pickup_status {
	PICKUP_OK = 0,		/* queued and durable: remove the file */
	PICKUP_LATER = 1,	/* spool trouble: keep it, try again */
	PICKUP_BAD = 2,		/* malformed: move it aside for the admin */
};

/* What the master answers to IPC_RCPT_CHECK. */
enum rcpt_check {
	RCPT_CHECK_OK = 0,		/* 250 */
	RCPT_CHECK_UNKNOWN = 1,		/* 550 5.1.1 user unknown */
	RCPT_CHECK_TEMPFAIL = 2,	/* 451 4.3.0: lookup failed, try later */
};

/* What the master answers to IPC_AUTH_REQ. */
enum auth_result {
	AUTH_OK = 0,		/* 235 2.7.0 */
	AUTH_FAILED = 1,	/* 535 5.7.8: bad user or password */
	AUTH_TEMPFAIL = 2,	/* 454 4.7.0: PAM or the system failed */
	AUTH_LIMITED = 3,	/* 454 4.7.0: too many failures of this client or user */
};

/* A message's state as posternctl shows it. */
enum queue_state {
	QSTATE_ACTIVE = 0,	/* being delivered now */
	QSTATE_DEFERRED = 1,	/* waiting for its next try */
	QSTATE_HELD = 2,	/* held by the admin (issue 7) */
};

struct ipc_msg {
	uint32_t	 type;
	uint32_t	 id;
	int		 fd;		/* -1 when none; the handler owns it */
	const uint8_t	*data;
	size_t		 len;
};

struct ipc_chan;
struct event_base;

typedef void (*ipc_msg_cb)(struct ipc_chan *, struct ipc_msg *, void *);
typedef void (*ipc_close_cb)(struct ipc_chan *, void *);

/*
 * Wraps a connected SOCK_SEQPACKET socket (made non-blocking here).
 * on_msg runs for each valid frame; if it does not take the passed fd
 * (set msg->fd = -1), the fd is closed after it returns. on_close runs once
 * when the peer is gone or broke the protocol; the callback must then free
 * the channel with ipc_chan_free() (it may do so inside on_close, and it
 * may free the channel inside on_msg too).
 */
struct ipc_chan	*ipc_chan_new(struct event_base *, int fd, const char *peer_name,
		    ipc_msg_cb, ipc_close_cb, void *arg);
void		 ipc_chan_free(struct ipc_chan *);
/* Queues one frame. fd (or -1) is handed over: it is closed once sent or
 * when the channel dies. Returns -1 if the payload is too big or memory is
 * short (fd is closed then too). */
int		 ipc_send(struct ipc_chan *, uint32_t type, uint32_t id, int fd,
		    const void *data, size_t len);
int		 ipc_send_buf(struct ipc_chan *, uint32_t type, uint32_t id, int fd,
		    const struct buf *);
/* Bytes queued and not yet written: stop producing above IPC_HIGH_WATER. */
size_t		 ipc_pending(const struct ipc_chan *);
/* Runs when the queue drains below IPC_HIGH_WATER / 2 after being above. */
void		 ipc_set_drain_cb(struct ipc_chan *, void (*)(struct ipc_chan *, void *));
int		 ipc_chan_fd(const struct ipc_chan *);
const char	*ipc_type_name(uint32_t);

/* Blocking use, for posternctl and tests: whole frames, one at a time. */
int	ipc_sync_send(int sock, uint32_t type, uint32_t id, int fd,
	    const void *data, size_t len);
/* Receives one frame into out (payload copied into payload, which must have
 * IPC_MAX_PAYLOAD bytes). timeout_ms < 0 waits forever. Returns 0, or -1
 * with errno (ETIMEDOUT, EPROTO for a malformed frame, ECONNRESET at EOF). */
int	ipc_sync_recv(int sock, struct ipc_msg *out, uint8_t *payload, int timeout_ms);

/* socketpair(AF_UNIX, SOCK_SEQPACKET) with close-on-exec. */
int	ipc_socketpair(int sv[2]);

#endif
