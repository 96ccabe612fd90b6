/* queue-mgr's internal interfaces: records, queue ids, spool, scheduler, commit, control. */
#ifndef POSTERN_QMGR_H
#define POSTERN_QMGR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <db.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"

/* libbsd's RB_GENERATE_STATIC leans on a __unused it leaves undefined. */
#define QMGR_RB_GENERATE_STATIC(name, type, field, cmp)			\
	RB_GENERATE_INTERNAL(name, type, field, cmp,			\
	    __attribute__((__unused__)) static)

/* ---- queue ids (qid.c) ---- */

/* 11 base32 digits of the microsecond clock, then 8 of arc4random. */
#define QID_TIME_LEN	11
#define QID_RAND_LEN	8
#define QID_LEN		(QID_TIME_LEN + QID_RAND_LEN)
#define QID_SIZE	(QID_LEN + 1)

void	 qid_new(char out[QID_SIZE]);
/* Formats a given time and random value; what qid_new uses. */
void	 qid_format(char out[QID_SIZE], uint64_t usec, uint64_t rnd);
/* 1 when s is exactly QID_LEN bytes of the Crockford alphabet. */
int	 qid_valid(const char *s, size_t len);

/* ---- spool records (record.c) ---- */

#define RECORD_MAGIC		0x45515050u	/* "PPQE" little-endian */
#define RECORD_VERSION		2	/* written; version 1 is still read */
#define RECORD_MAX_ENVID	1024		/* ENVID, xtext-decoded */
#define RECORD_MAX_ADDR		1024		/* sender, recipient */
#define RECORD_MAX_STR		1024		/* client, helo */
#define RECORD_MAX_REPLY	4096		/* last reply */
#define RECORD_MAX_RCPT		100000
#define RECORD_MAX_SIZE		(4ULL << 30)	/* content bytes */

/* One chunk fills one 64 KiB overflow page (less its header) exactly. */
#define CONTENT_PAGESIZE	(64 * 1024)
#define CONTENT_CHUNK		(CONTENT_PAGESIZE - 64)
#define CONTENT_KEY_LEN		(QID_LEN + 4)

enum qrcpt_state {
	QRCPT_PENDING = 0,
	QRCPT_DELIVERED = 1,
	QRCPT_BOUNCED = 2,
};

/* qrcpt.flags (stored) */
#define QRCPT_F_WARNED		0x1u	/* a delay warning was sent */
#define QRCPT_F_RELAYED		0x2u	/* delivered to a server without DSN */
#define QRCPT_F_ALL		0x3u

/* qrcpt.report (memory only): which notice the sender is owed */
#define REPORT_FAILED		0x1
#define REPORT_DELAYED		0x2
#define REPORT_DELIVERED	0x4

struct qrcpt {
	char		*addr;
	char		*last_reply;	/* "" = none */
	char		*orcpt;		/* "addr-type;address", "" = none */
	char		*last_relay;	/* "host[addr]:port", "" = none */
	uint64_t	 next_try;	/* unix seconds; 0 = at once */
	uint32_t	 state;		/* enum qrcpt_state */
	uint32_t	 attempts;
	uint32_t	 notify;	/* DSN_NOTIFY_* bits; 0 = not given */
	uint32_t	 flags;		/* QRCPT_F_* */
	/* memory only, never stored */
	int		 inflight;	/* part of a job at deliver now */
	int		 ready;		/* in a destination's ready queue */
	int		 report;	/* REPORT_*: a notice not yet made */
};

/* qenv.flags (stored) */
#define QENV_F_HELD		0x1u	/* on hold: never tried until released */
#define QENV_F_DOUBLE_BOUNCE	0x2u	/* a notice to the postmaster: never reported on */
#define QENV_F_ALL		0x3u

struct qenv {
	uint64_t	 arrival;	/* unix seconds, as smtpd saw it */
	uint64_t	 queued_us;	/* our clock at BEGIN, microseconds */
	uint64_t	 size;		/* content bytes */
	char		*sender;	/* "" = null sender */
	char		*client;
	char		*helo;
	/* RFC 3461 parameters of the transaction (version 2) */
	uint32_t	 ret;		/* enum dsn_ret */
	char		*envid;		/* "" = none */
	uint32_t	 body;		/* enum body_type */
	uint32_t	 smtputf8;
	uint32_t	 flags;		/* QENV_F_* */
	struct qrcpt	*rcpts;
	uint32_t	 nrcpt;
};

int	 record_env_encode(const struct qenv *, struct buf *);
/* -1 for anything short, long, out of range or trailing: never trusted. */
int	 record_env_decode(const void *, size_t, struct qenv *);
void	 record_env_free(struct qenv *);
/* 1 when the RFC 3461 values are in range. */
int	 record_dsn_valid(uint32_t ret, uint32_t body, uint32_t smtputf8);
int	 record_notify_valid(uint32_t notify);
void	 record_content_key(const char *qid, uint32_t chunk,
	    uint8_t out[CONTENT_KEY_LEN]);
uint32_t record_content_nchunks(uint64_t size);
/* Lower-cased domain of an address (after the last '@'), or NULL. */
char	*record_rcpt_domain(const char *addr);
/* The first waiting recipient's last reply: a message's "last error". */
const char *record_last_error(const struct qenv *);
/* An IPC_CTL_QUEUE_ENTRY payload (lib/ipc.h), for queue-mgr and for
 * posternctl's offline view alike; a recipient list too big for one frame
 * is cut short. */
int	 record_pack_entry(struct buf *, const char *qid, const struct qenv *,
	    uint32_t state, uint64_t next_try);

/* ---- the Berkeley DB spool (spool.c) ---- */

struct spool;

/* Opens (creating, recovering) the environment in home. NULL on error. */
struct spool	*spool_open(const char *home);
void		 spool_close(struct spool *);
/* The Berkeley DB error of the last failed call (errno value or DB_*). */
int		 spool_error(const struct spool *);
int		 spool_nospace(const struct spool *);
int		 spool_panicked(const struct spool *);

int	 spool_txn_begin(struct spool *, DB_TXN **);
/* DB_TXN_NOSYNC: durable only after the next spool_flush(). */
int	 spool_txn_commit(struct spool *, DB_TXN *);
void	 spool_txn_abort(struct spool *, DB_TXN *);
/* Writes and syncs the whole log: every commit so far becomes durable. */
int	 spool_flush(struct spool *);
int	 spool_checkpoint(struct spool *);

/* create: DB_NOOVERWRITE (a new message); -1 with DB_KEYEXIST on clash. */
int	 spool_put_envelope(struct spool *, DB_TXN *, const char *qid,
	    const struct qenv *, int create);
int	 spool_put_content(struct spool *, DB_TXN *, const char *qid,
	    const void *, size_t);
int	 spool_delete(struct spool *, DB_TXN *, const char *qid);
/* 0 found, 1 not found, -1 error or corrupt. */
int	 spool_get_envelope(struct spool *, const char *qid, struct qenv *);
/* Calls cb for each chunk in order; -1 if missing, out of order, or not
 * exactly size bytes. cb returns -1 to stop (then -1). No txn may be open. */
int	 spool_read_content(struct spool *, const char *qid, uint64_t size,
	    int (*cb)(const void *, size_t, void *), void *);
/* Every valid envelope, in queue id (arrival) order; a corrupt one is
 * logged and skipped. cb owns the qenv. Returns the number skipped, -1 on error. */
int	 spool_scan(struct spool *,
	    int (*cb)(const char *qid, struct qenv *, void *), void *);
/* trace.db: key = queue id, big-endian u64 time (us), big-endian u32 seq;
 * value = the events of one write (trace.c). */
#define TRACE_KEY_LEN	(QID_LEN + 12)
int	 spool_put_trace(struct spool *, DB_TXN *, const uint8_t *key,
	    size_t keylen, const void *val, size_t vallen);
/* Calls cb for each record from the first key >= from (all when fromlen
 * is 0) until cb returns non-zero: that value is returned (0 at the end,
 * -1 on error). With a txn the records are write-locked and cb may delete
 * the current one with the cursor. */
int	 spool_trace_walk(struct spool *, DB_TXN *, const uint8_t *from,
	    size_t fromlen, int (*cb)(DBC *, const uint8_t *key, size_t keylen,
	    const void *val, size_t vallen, void *), void *);

/* ---- the scheduler (scheduler.c) ---- */

struct qmsg {
	RB_ENTRY(qmsg)	 by_id;
	RB_ENTRY(qmsg)	 by_due;
	char		 qid[QID_SIZE];
	struct qenv	 env;
	uint64_t	 due;		/* earliest next try; valid when in_due */
	int		 in_due;
	uint32_t	 njobs;		/* jobs at deliver now */
	int		 dirty;		/* memory ahead of disk: write again */
	struct buf	 trace;		/* trace events not yet stored (trace.c) */
};

/* min * (factor/1000)^(attempts-1), capped at max; min when attempts is 0. */
uint64_t	 sched_backoff(uint64_t min, uint64_t max, uint32_t factor_milli,
		    uint32_t attempts);
/*
 * The retry policy of a config: queue_retry_schedule (durations; the last
 * repeats) or else queue_min_backoff grown by queue_backoff_factor up to
 * queue_max_backoff. -1 with a reason in err when the config's values are bad.
 */
struct sched_policy {
	uint64_t	*schedule;	/* seconds */
	size_t		 nschedule;
	uint32_t	 factor_milli;	/* 1000 .. 10000 */
	uint64_t	 min, max;
};
int		 sched_policy_parse(const struct config *, struct sched_policy *,
		    struct buf *err);
void		 sched_policy_free(struct sched_policy *);
uint64_t	 sched_policy_wait(const struct sched_policy *, uint32_t attempts);
/* Makes c's policy the scheduler's; -1 (and the old one stays) if c is bad. */
int		 sched_configure(const struct config *c);
/* The wait before the next try after attempts failed tries. */
uint64_t	 sched_retry_wait(uint32_t attempts);
/* The DSN code of a reply ("250 2.1.5 Ok" -> "2.1.5"), else "4.0.0"/"5.0.0"/"2.0.0". */
void		 sched_dsn(const char *reply, int status, char out[16]);
struct qmsg	*sched_msg_new(void);
void		 sched_msg_free(struct qmsg *);
/* Rebuilds the index from the spool; -1 on a DB error. */
int		 sched_load(void);
/* The watchdog for jobs deliver never answers (delivery_job_timeout). */
void		 sched_watch_start(void);
/* A newly durable message: tried at once. Takes m. */
void		 sched_add(struct qmsg *);
struct qmsg	*sched_find(const char *qid);
struct qmsg	*sched_first(void);
struct qmsg	*sched_next_after(const char *qid);
/* "" = all. Number of messages made due now, -1 if qid unknown. */
int		 sched_flush(const char *qid);
void		 sched_run(void);
/* ETRN: "example.com" or "@example.com" (and its subdomains); messages made due. */
int		 sched_etrn(const char *domain);
/* Hold / release a message: 0, or -1 if unknown; 1 when it already was so. */
int		 sched_hold(const char *qid);
int		 sched_release(const char *qid);
/* posternctl delete (bounce 0) or bounce: 0; -1 unknown; -2 being delivered
 * now; -3 not stored yet (retried). Then commit_flush() and sched_run(). */
int		 sched_admin_remove(const char *qid, int bounce);
/* posternctl pause (1) / resume (0) outgoing: no job is handed to deliver
 * while paused; nothing else changes. 1 when it already was so. */
int		 sched_pause(int on);
/* Whether a recipient wants a kind of notice (RFC 3461 NOTIFY; 0 = default). */
int		 sched_wants_failure(const struct qrcpt *);
int		 sched_wants_delay(const struct qrcpt *);
void		 sched_result(struct ipc_msg *);
/* The deliver channel went away: its jobs are due again soon. */
void		 sched_deliver_lost(void);
/* Retries writes that failed before (disk full that cleared). */
void		 sched_maintain(void);
void		 sched_shutdown(void);
/* For posternctl: u32 enum queue_state, next try, a last error. */
uint32_t	 sched_msg_state(const struct qmsg *);
uint64_t	 sched_msg_next_try(const struct qmsg *);
const char	*sched_msg_last_error(const struct qmsg *);

/* posternctl requeue: qid or "" (all not held). Waiting recipients leave
 * their destination and backoff, attempts start again, due now. Number of
 * messages requeued, -1 if qid is unknown, -2 if it is held. */
int		 sched_requeue(const char *qid);

/* ---- message tracking (trace.c) ---- */

/* Adds an event (npairs name/value pairs) to a message's unstored events. */
int	 trace_add(struct buf *pending, const char *event,
	    const char *const *kv, size_t npairs);
/* Stores the pending events of qid in txn; the caller resets the buffer
 * after the commit. */
int	 trace_write(DB_TXN *, const char *qid, const struct buf *pending);
/* Calls cb with each event payload of a trace.db record; -1 if malformed,
 * else the first non-zero cb value, or 0. */
int	 trace_record_each(const void *val, size_t vallen,
	    int (*cb)(const void *, size_t, void *), void *);
/* Adds and stores one event at once. */
int	 trace_now(DB_TXN *, const char *qid, const char *event,
	    const char *const *kv, size_t npairs);
/* The "received" event of a new message, in the txn that stores it. */
int	 trace_received(DB_TXN *, const char *qid, const struct qenv *,
	    const char *source);
/* Starts the periodic sweep of traces older than trace_retention. */
void	 trace_start(void);
/* One sweep: at most about TRACE_SWEEP_BUDGET records. 1 if there is more. */
int	 trace_sweep(uint64_t now_us);
void	 trace_shutdown(void);

/* ---- destinations (dest.c) ---- */

/* One (message, destination) pair with ready recipients. */
struct qready {
	TAILQ_ENTRY(qready)	 entry;
	char			 qid[QID_SIZE];
};

struct qdest {
	RB_ENTRY(qdest)		 entry;
	TAILQ_ENTRY(qdest)	 list;		/* in the dispatcher's list */
	TAILQ_HEAD(, qready)	 ready;
	char			*name;		/* lower-case domain */
	uint32_t		 nready;
	uint32_t		 active;	/* jobs at deliver */
	uint32_t		 failures;	/* jobs in a row that all failed */
	uint64_t		 dead_until;	/* unix seconds; backed off as a whole */
	uint64_t		 next_slot_us;	/* rate limit: next job not before */
	uint64_t		 mark;		/* scheduler pass that last queued here */
	int			 in_list;
};

struct qdest	*dest_find(const char *name);
struct qdest	*dest_get(const char *name);
uint64_t	 dest_concurrency(const struct config *, const struct qdest *);
uint64_t	 dest_rate(const struct config *, const struct qdest *);
int		 dest_dead(const struct qdest *, uint64_t now);
/* 1 when a job may go now; else lowers *wake_us to when the rate allows one. */
int		 dest_can_send(const struct config *, const struct qdest *,
		    uint64_t now_us, uint64_t *wake_us);
void		 dest_sent(const struct config *, struct qdest *, uint64_t now_us);
/* A job's end; 1 when the destination has just been backed off as a whole. */
int		 dest_result(const struct config *, struct qdest *,
		    int all_tempfail, uint64_t now);
void		 dest_reset(struct qdest *);
void		 dest_reset_all(void);
void		 dest_gc(uint64_t now);
void		 dest_shutdown(void);

/* ---- bounces (bounce.c) ---- */

/* RFC 3464 delivery status notifications. */
#define BOUNCE_MAX_FULL		(10 * 1024 * 1024)	/* RET=FULL returns at most this */

/*
 * The text of a multipart/report DSN (CRLF lines) about orig's recipients
 * whose report has the bit kind (REPORT_*), addressed to to. content is the
 * original message (full != 0) or its header block.
 */
int	 bounce_build(struct buf *out, const char *hostname, const char *bqid,
	    const char *to, const char *qid, const struct qenv *orig, int kind,
	    const char *content, size_t contentlen, int full, time_t now);
/* The original's header block (up to the empty line, capped). */
int	 bounce_headers(const char *qid, const struct qenv *, struct buf *out);
/* The original's whole content, when at most BOUNCE_MAX_FULL bytes. */
int	 bounce_content(const char *qid, const struct qenv *, struct buf *out);
/* Writes a DSN of kind about orig's recipients to to in txn; the new
 * message (not yet in the index) in *out. */
int	 bounce_create(DB_TXN *, const char *qid, const struct qenv *orig,
	    int kind, const char *to, int double_bounce, const struct buf *content,
	    int full, struct qmsg **out);

/* ---- group commit (commit.c) ---- */

/* m is committed (NOSYNC); after the next flush tell smtpd (if the same
 * channel generation is still there) and hand m to the scheduler. */
void	 commit_enqueue(struct qmsg *m, uint32_t smtpd_gen, uint32_t reqid);
/* The same for a pickup file; the master gets IPC_PICKUP_DONE. */
void	 commit_enqueue_pickup(struct qmsg *m, uint32_t reqid);
/* IPC_PICKUP from the master (pickup.c). */
void	 pickup_import(struct ipc_msg *);
/* Some other NOSYNC commit wants flushing soon. */
void	 commit_dirty(void);
/* Flush now (shutdown). */
void	 commit_flush(void);
void	 commit_shutdown(void);

/* ---- control socket (control.c) ---- */

/* Before chroot: the admin group's gid and its members' uids. */
int	 control_resolve_admin(const char *group);
/* Before chroot: the same for ctl_read_group (the read-only verbs). */
int	 control_resolve_read(const char *group);
/* True when the credentials may use the read-only verbs. */
int	 control_read_allowed(uid_t uid, gid_t gid, const gid_t *groups,
	    size_t ngroups);
/* The verbs a read-only client may use. */
int	 control_read_only_verb(uint32_t type);
/* A new config reached queue-mgr (ok), or was refused here: answers
 * posternctl reload. */
void	 control_reload_done(int ok, const char *text);
/* True when the credentials may use the control socket. */
int	 control_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);
void	 control_listen(int fd);
void	 control_shutdown(void);

/* Since start, for posternctl stats: messages accepted, recipient results. */
struct qstats {
	uint64_t	 started;	/* unix seconds */
	uint64_t	 accepted, delivered, deferred, bounced;
};
extern struct qstats qstats;

/* ---- process state and channels (server.c) ---- */

#define QMGR_REPLY_WRITE_ERROR	"451 4.3.0 Queue write error, try again later"
#define QMGR_REPLY_NOSPACE	"452 4.3.1 Insufficient system storage"

struct qmgr {
	struct config		*conf;
	struct event_base	*base;
	struct spool		*spool;
	struct ipc_chan		*master;
	struct ipc_chan		*smtpd;
	struct ipc_chan		*deliver;
	uint32_t		 smtpd_gen;	/* bumped whenever smtpd changes */
	uint64_t		 max_data;	/* bytes a transaction may hold */
	int			 incoming_paused;	/* posternctl pause incoming */
	struct {			/* smtpd's last IPC_SMTPD_STATS */
		int		 reported;
		uint32_t	 sessions;
		uint64_t	 connections, refused;
	}			 smtpd_stats;
	int			 stopping;
};

extern struct qmgr qmgr;

/* Runs the daemon after priv_drop; returns the exit status. */
int	 qmgr_main(struct config *);
void	 qmgr_stop(void);
/* Log loudly; a panicked environment ends the process for recovery. */
void	 qmgr_spool_failed(const char *what);
uint64_t qmgr_now_us(void);
/* The reply smtpd should see for the spool's last error. */
const char *qmgr_write_error_reply(void);
/* posternctl pause|resume incoming: kept here and told to smtpd now and
 * whenever its channel is replaced. 1 when it already was so. */
int	 qmgr_pause_incoming(int on);
/* Sends a frame to the master; -1 when it is not there. */
int	 qmgr_send_master(uint32_t type, const struct buf *);
/* Sends a policy-test session to smtpd: -1 when smtpd is not there. */
int	 qmgr_smtpd_test_session(int fd, const struct buf *payload);

#endif
