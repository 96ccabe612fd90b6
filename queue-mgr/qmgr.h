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
#define RECORD_VERSION		1
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

struct qrcpt {
	char		*addr;
	char		*last_reply;	/* "" = none */
	uint64_t	 next_try;	/* unix seconds; 0 = at once */
	uint32_t	 state;		/* enum qrcpt_state */
	uint32_t	 attempts;
	/* memory only, never stored */
	int		 inflight;	/* part of a job at deliver now */
	int		 notify;	/* bounced, sender not told yet */
};

struct qenv {
	uint64_t	 arrival;	/* unix seconds, as smtpd saw it */
	uint64_t	 queued_us;	/* our clock at BEGIN, microseconds */
	uint64_t	 size;		/* content bytes */
	char		*sender;	/* "" = null sender */
	char		*client;
	char		*helo;
	struct qrcpt	*rcpts;
	uint32_t	 nrcpt;
};

int	 record_env_encode(const struct qenv *, struct buf *);
/* -1 for anything short, long, out of range or trailing: never trusted. */
int	 record_env_decode(const void *, size_t, struct qenv *);
void	 record_env_free(struct qenv *);
void	 record_content_key(const char *qid, uint32_t chunk,
	    uint8_t out[CONTENT_KEY_LEN]);
uint32_t record_content_nchunks(uint64_t size);
/* Lower-cased domain of an address (after the last '@'), or NULL. */
char	*record_rcpt_domain(const char *addr);

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
};

/* 2^(attempts-1) * min, capped at max; min when attempts is 0. */
uint64_t	 sched_backoff(uint64_t min, uint64_t max, uint32_t attempts);
/* The DSN code of a reply ("250 2.1.5 Ok" -> "2.1.5"), else "4.0.0"/"5.0.0"/"2.0.0". */
void		 sched_dsn(const char *reply, int status, char out[16]);
struct qmsg	*sched_msg_new(void);
void		 sched_msg_free(struct qmsg *);
/* Rebuilds the index from the spool; -1 on a DB error. */
int		 sched_load(void);
/* A newly durable message: tried at once. Takes m. */
void		 sched_add(struct qmsg *);
struct qmsg	*sched_find(const char *qid);
struct qmsg	*sched_first(void);
struct qmsg	*sched_next_after(const char *qid);
/* "" = all. Number of messages made due now, -1 if qid unknown. */
int		 sched_flush(const char *qid);
void		 sched_run(void);
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

/* ---- bounces (bounce.c) ---- */

/* The text of a simple non-delivery message (CRLF lines). */
int	 bounce_build(struct buf *out, const char *hostname, const char *bqid,
	    const char *qid, const struct qenv *orig, const char *headers,
	    size_t headerslen, time_t now);
/* The original's header block (up to the empty line, capped). */
int	 bounce_headers(const char *qid, const struct qenv *, struct buf *out);
/* Writes a bounce of orig's notify-flagged recipients in txn; the new
 * message (not yet in the index) in *out. 0 when there is nothing to send. */
int	 bounce_create(DB_TXN *, const char *qid, const struct qenv *orig,
	    const struct buf *headers, struct qmsg **out);

/* ---- group commit (commit.c) ---- */

/* m is committed (NOSYNC); after the next flush tell smtpd (if the same
 * channel generation is still there) and hand m to the scheduler. */
void	 commit_enqueue(struct qmsg *m, uint32_t smtpd_gen, uint32_t reqid);
/* Some other NOSYNC commit wants flushing soon. */
void	 commit_dirty(void);
/* Flush now (shutdown). */
void	 commit_flush(void);
void	 commit_shutdown(void);

/* ---- control socket (control.c) ---- */

/* Before chroot: the admin group's gid and its members' uids. */
int	 control_resolve_admin(const char *group);
/* True when the credentials may use the control socket. */
int	 control_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);
void	 control_listen(int fd);
void	 control_shutdown(void);

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

#endif
