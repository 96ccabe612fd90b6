/* The control socket: posternctl's clients, their credentials and verbs. */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "log.h"
#include "pack.h"
#include "qmgr.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS	59
#endif

#define CONTROL_MAX_CLIENTS	64
/* ctl_read_group members together never take every slot: root and
 * admin_group can always get in to act. */
#define CONTROL_MAX_READERS	(CONTROL_MAX_CLIENTS / 2)
#define CONTROL_MAX_GROUPS	256
#define CONTROL_MAX_ID		128	/* as posternctl sends at most */
#define CONTROL_MAX_GROUPS_SENT	50	/* deferral reasons, domains */
/* A refused client's socket stays open this long for it to read why. */
#define CONTROL_LINGER_SECS	2
/* Queue entries sent per turn of the event loop: a listing of a big queue
 * goes in slices so that smtpd's and deliver's frames are served between
 * them. */
#define CONTROL_LIST_SLICE	256

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct ipc_chan		*chan;
	uint32_t		 reqid;
	int			 listing;	/* an IPC_CTL_QUEUE in progress */
	int			 showing;	/* an IPC_CTL_SHOW in progress */
	int			 show_content;	/* content asked for */
	uint32_t		 show_rcpt;	/* next recipient to send */
	uint64_t		 show_off;	/* content bytes sent */
	char			 show_qid[QID_SIZE];
	uint32_t		 nsent;
	char			 last[QID_SIZE];	/* last entry sent */
	int			 admin;		/* root or admin_group: every verb */
	uid_t			 uid;
	pid_t			 pid;
	int			 tracing;	/* an IPC_CTL_TRACE in progress */
	char			 trace_qid[QID_SIZE];
	uint8_t			 trace_from[TRACE_KEY_LEN];	/* resume here */
	size_t			 trace_fromlen;
	struct event		*reload_ev;	/* waiting for the new config */
	struct event		*more_ev;	/* the listing's next slice */
};

struct qstats		 qstats;

static TAILQ_HEAD(, ctl_client) ctl_clients = TAILQ_HEAD_INITIALIZER(ctl_clients);
static size_t		 ctl_nclients, ctl_nlinger, ctl_nreaders;
static struct event	*ctl_ev;
static int		 ctl_fd = -1;

/* Resolved before chroot: /etc/group and /etc/passwd are not inside it. */
struct ctl_group_ids {
	int	 ok;
	gid_t	 gid;
	uid_t	*uids;		/* its listed members */
	size_t	 nuids;
};

static struct ctl_group_ids	 admin_ids, read_ids;

static int
resolve_group(const char *group, const char *key, struct ctl_group_ids *ids)
{
	struct group	*gr;
	struct passwd	*pw;
	char		**names;
	size_t		 n, i;

	if (group == NULL || group[0] == '\0')
		return 0;
	if ((gr = getgrnam(group)) == NULL) {
		log_warn("%s %s does not exist; its members get no access to "
		    "the control socket", key, group);
		return 0;
	}
	ids->gid = gr->gr_gid;
	ids->ok = 1;
	for (n = 0; gr->gr_mem[n] != NULL; n++)
		;
	if (n == 0)
		return 0;
	if ((ids->uids = reallocarray(NULL, n, sizeof(*ids->uids))) == NULL)
		return -1;
	/* copy the names first: getpwnam may reuse getgrnam's storage */
	if ((names = calloc(n, sizeof(*names))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		names[i] = strdup(gr->gr_mem[i]);
	for (i = 0; i < n; i++) {
		if (names[i] != NULL && (pw = getpwnam(names[i])) != NULL)
			ids->uids[ids->nuids++] = pw->pw_uid;
		free(names[i]);
	}
	free(names);
	return 0;
}

static int
group_has(const struct ctl_group_ids *ids, uid_t uid, gid_t gid,
    const gid_t *groups, size_t ngroups)
{
	size_t	 i;

	if (!ids->ok)
		return 0;
	if (gid == ids->gid)
		return 1;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == ids->gid)
			return 1;
	for (i = 0; i < ids->nuids; i++)
		if (ids->uids[i] == uid)
			return 1;
	return 0;
}

int
control_resolve_admin(const char *group)
{
	return resolve_group(group, "admin_group", &admin_ids);
}

int
control_resolve_read(const char *group)
{
	return resolve_group(group, "ctl_read_group", &read_ids);
}

int
control_allowed(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	if (uid == 0)
		return 1;
	return group_has(&admin_ids, uid, gid, groups, ngroups);
}

int
control_read_allowed(uid_t uid, gid_t gid, const gid_t *groups,
    size_t ngroups)
{
	return group_has(&read_ids, uid, gid, groups, ngroups);
}

static void
ctl_client_free(struct ctl_client *cl)
{
	TAILQ_REMOVE(&ctl_clients, cl, entry);
	ctl_nclients--;
	if (!cl->admin)
		ctl_nreaders--;
	if (cl->reload_ev != NULL)
		event_free(cl->reload_ev);
	if (cl->more_ev != NULL)
		event_free(cl->more_ev);
	ipc_chan_free(cl->chan);
	free(cl);
}

/* Sends a last word and closes: written at once if nothing is queued before it. */
static void
ctl_close_with(struct ctl_client *cl, uint32_t type, const char *text)
{
	struct buf	 b;

	buf_init(&b);
	if (pack_str(&b, text) == 0 && ipc_pending(cl->chan) == 0)
		ipc_sync_send(ipc_chan_fd(cl->chan), type, cl->reqid, -1, b.p, b.len);
	buf_free(&b);
	ctl_client_free(cl);
}

static void
ctl_reply(struct ctl_client *cl, uint32_t type, const char *text)
{
	struct buf	 b;

	buf_init(&b);
	if (pack_str(&b, text) == 0)
		ipc_send_buf(cl->chan, type, cl->reqid, -1, &b);
	buf_free(&b);
}

static int
ctl_entry(struct buf *b, const struct qmsg *m)
{
	return record_pack_entry(b, m->qid, &m->env, sched_msg_state(m),
	    sched_msg_next_try(m));
}

static void	ctl_list_more(struct ctl_client *);

static void
ctl_more_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_client	*cl = arg;

	(void)fd;
	(void)ev;
	if (cl->listing && ipc_pending(cl->chan) <= IPC_HIGH_WATER)
		ctl_list_more(cl);
}

/* Sends a slice of entries, then yields to the loop; a full channel queue
 * waits for the drain callback instead. */
static void
ctl_list_more(struct ctl_client *cl)
{
	struct timeval	 now = { 0, 0 };
	struct qmsg	*m;
	struct buf	 b;
	int		 n = 0;

	buf_init(&b);
	m = cl->last[0] == '\0' ? sched_first() : sched_next_after(cl->last);
	for (; m != NULL; m = sched_next_after(cl->last)) {
		if (ipc_pending(cl->chan) > IPC_HIGH_WATER)
			break;
		if (n++ >= CONTROL_LIST_SLICE) {
			if (cl->more_ev == NULL)
				cl->more_ev = evtimer_new(qmgr.base, ctl_more_cb,
				    cl);
			if (cl->more_ev != NULL &&
			    evtimer_add(cl->more_ev, &now) == 0)
				break;
			/* no timer: go on at once, as before */
		}
		buf_reset(&b);
		strlcpy(cl->last, m->qid, sizeof(cl->last));
		if (ctl_entry(&b, m) == -1 || ipc_send_buf(cl->chan,
		    IPC_CTL_QUEUE_ENTRY, cl->reqid, -1, &b) == -1) {
			log_err("control: cannot send a queue entry");
			continue;
		}
		cl->nsent++;
	}
	if (m == NULL) {
		buf_reset(&b);
		if (pack_u32(&b, cl->nsent) == 0)
			ipc_send_buf(cl->chan, IPC_CTL_END, cl->reqid, -1, &b);
		cl->listing = 0;
	}
	buf_free(&b);
}

static int
ctl_show_env(struct buf *b, const struct qmsg *m)
{
	const struct qenv	*e = &m->env;

	if (pack_str(b, m->qid) == -1 || pack_u64(b, e->arrival) == -1 ||
	    pack_u64(b, e->size) == -1 || pack_str(b, e->sender) == -1 ||
	    pack_str(b, e->client) == -1 || pack_str(b, e->helo) == -1 ||
	    pack_u32(b, e->ret) == -1 || pack_str(b, e->envid) == -1 ||
	    pack_u32(b, e->body) == -1 || pack_u32(b, e->smtputf8) == -1 ||
	    pack_u32(b, sched_msg_state(m)) == -1 ||
	    pack_u32(b, e->nrcpt) == -1)
		return -1;
	return 0;
}

static int
ctl_show_rcpt(struct buf *b, const struct qrcpt *r)
{
	if (pack_str(b, r->addr) == -1 || pack_u32(b, r->state) == -1 ||
	    pack_u32(b, r->attempts) == -1 || pack_u64(b, r->next_try) == -1 ||
	    pack_str(b, r->last_reply) == -1 ||
	    pack_str(b, r->last_relay) == -1 ||
	    pack_u32(b, r->notify) == -1 || pack_str(b, r->orcpt) == -1)
		return -1;
	return 0;
}

struct show_ctx {
	struct ctl_client	*cl;
	uint64_t		 pos;		/* content offset of this chunk */
	int			 paused;	/* stopped for the queue to drain */
};

/* Skips what was sent before, sends the rest until the queue is full. */
static int
ctl_show_chunk(const void *data, size_t len, void *arg)
{
	struct show_ctx		*sc = arg;
	struct ctl_client	*cl = sc->cl;
	const uint8_t		*p = data;
	size_t			 skip, n;

	if (sc->pos + len <= cl->show_off) {
		sc->pos += len;
		return 0;
	}
	skip = cl->show_off - sc->pos;
	p += skip;
	len -= skip;
	sc->pos = cl->show_off;
	while (len > 0) {
		if (ipc_pending(cl->chan) > IPC_HIGH_WATER) {
			sc->paused = 1;
			return -1;
		}
		n = len > IPC_MAX_PAYLOAD ? IPC_MAX_PAYLOAD : len;
		if (ipc_send(cl->chan, IPC_CTL_CONTENT, cl->reqid, -1, p,
		    n) == -1)
			return -1;
		p += n;
		len -= n;
		sc->pos += n;
		cl->show_off += n;
	}
	return 0;
}

/* Sends the next part of a message until the queue is full; the drain
 * callback resumes. */
static void
ctl_show_more(struct ctl_client *cl)
{
	struct show_ctx	 sc;
	struct qmsg	*m;
	struct buf	 b;

	/* the message may have been delivered while the admin read */
	if ((m = sched_find(cl->show_qid)) == NULL) {
		cl->showing = 0;
		ctl_reply(cl, IPC_CTL_ERROR, "the message left the queue");
		return;
	}
	buf_init(&b);
	for (; cl->show_rcpt < m->env.nrcpt; cl->show_rcpt++) {
		if (ipc_pending(cl->chan) > IPC_HIGH_WATER) {
			buf_free(&b);
			return;
		}
		buf_reset(&b);
		if (ctl_show_rcpt(&b, &m->env.rcpts[cl->show_rcpt]) == -1 ||
		    ipc_send_buf(cl->chan, IPC_CTL_SHOW_RCPT, cl->reqid, -1,
		    &b) == -1) {
			buf_free(&b);
			cl->showing = 0;
			ctl_reply(cl, IPC_CTL_ERROR, "out of memory");
			return;
		}
	}
	if (cl->show_content && cl->show_off < m->env.size) {
		memset(&sc, 0, sizeof(sc));
		sc.cl = cl;
		if (spool_read_content(qmgr.spool, m->qid, m->env.size,
		    ctl_show_chunk, &sc) == -1 && !sc.paused) {
			buf_free(&b);
			cl->showing = 0;
			ctl_reply(cl, IPC_CTL_ERROR, "cannot read the content "
			    "(see the mail log)");
			return;
		}
		if (sc.paused) {
			buf_free(&b);
			return;
		}
	}
	buf_reset(&b);
	if (pack_u32(&b, (uint32_t)cl->show_off) == 0)
		ipc_send_buf(cl->chan, IPC_CTL_END, cl->reqid, -1, &b);
	buf_free(&b);
	cl->showing = 0;
}

/* IPC_CTL_SHOW: -1 when the request is malformed. */
static int
ctl_show(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	struct qmsg	*m;
	struct buf	 b;
	char		*qid = NULL;
	uint32_t	 content;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	/* a wrong id is the admin's typo, not a malformed request */
	if (unpack_str(&u, &qid, CONTROL_MAX_ID) == -1 ||
	    unpack_u32(&u, &content) == -1 || unpack_done(&u) == -1 ||
	    content > 1) {
		free(qid);
		return -1;
	}
	if (!qid_valid(qid, strlen(qid)) || (m = sched_find(qid)) == NULL) {
		free(qid);
		ctl_reply(cl, IPC_CTL_ERROR, "no such message");
		return 0;
	}
	free(qid);
	/* ctl_read_group sees where mail goes, not what it says */
	if (content && !cl->admin) {
		log_warn("control: uid %u asked for a message's content without "
		    "being in admin_group; refused", (unsigned)cl->uid);
		ctl_reply(cl, IPC_CTL_ERROR, "permission denied: message content "
		    "is shown to root and admin_group only (show --envelope "
		    "shows the rest)");
		return 0;
	}
	buf_init(&b);
	if (ctl_show_env(&b, m) == -1 || ipc_send_buf(cl->chan,
	    IPC_CTL_SHOW_ENV, cl->reqid, -1, &b) == -1) {
		buf_free(&b);
		ctl_reply(cl, IPC_CTL_ERROR, "out of memory");
		return 0;
	}
	buf_free(&b);
	strlcpy(cl->show_qid, m->qid, sizeof(cl->show_qid));
	cl->show_content = (int)content;
	cl->show_rcpt = 0;
	cl->show_off = 0;
	cl->showing = 1;
	ctl_show_more(cl);
	return 0;
}

/* IPC_CTL_DELETE and IPC_CTL_BOUNCE: -1 when the request is malformed. */
static int
ctl_remove(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	struct qmsg	*m;
	char		*qid = NULL, text[128], last[QID_SIZE];
	int		 bounce = msg->type == IPC_CTL_BOUNCE, r, n = 0, busy = 0;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &qid, CONTROL_MAX_ID) == -1 ||
	    unpack_done(&u) == -1 || (bounce && qid[0] == '\0')) {
		free(qid);
		return -1;
	}
	if (qid[0] == '\0') {
		/* every deferred message; removal does not disturb the walk */
		for (m = sched_first(); m != NULL; m = sched_next_after(last)) {
			strlcpy(last, m->qid, sizeof(last));
			if (sched_msg_state(m) != QSTATE_DEFERRED)
				continue;
			r = sched_admin_remove(last, 0);
			if (r == 0)
				n++;
			else if (r == -2)
				busy++;
		}
		/* durable before the admin hears it; one sync for them all */
		commit_flush();
		sched_run();
		snprintf(text, sizeof(text), "%d message%s deleted%s", n,
		    n == 1 ? "" : "s", busy ? " (some were being delivered: "
		    "try again)" : "");
		ctl_reply(cl, IPC_CTL_OK, text);
		log_info("control: delete all deferred: %s", text);
		free(qid);
		return 0;
	}
	r = qid_valid(qid, strlen(qid)) ? sched_admin_remove(qid, bounce) : -1;
	if (r == 0 || r == -3) {
		commit_flush();
		sched_run();
	}
	switch (r) {
	case 0:
		snprintf(text, sizeof(text), "%s %s", qid,
		    bounce ? "bounced" : "deleted");
		ctl_reply(cl, IPC_CTL_OK, text);
		break;
	case -2:
		ctl_reply(cl, IPC_CTL_ERROR, "the message is being delivered "
		    "now; try again in a moment");
		break;
	case -3:
		snprintf(text, sizeof(text), "%s %s, but not stored yet (spool "
		    "trouble; retried)", qid, bounce ? "bounced" : "deleted");
		ctl_reply(cl, IPC_CTL_OK, text);
		break;
	default:
		ctl_reply(cl, IPC_CTL_ERROR, "no such message");
	}
	free(qid);
	return 0;
}

struct ctl_group {
	char		*key;
	uint32_t	 n;
};

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
group_cmp(const void *a, const void *b)
{
	const struct ctl_group *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Counts equal keys (sorting them) and packs the largest groups. */
static int
pack_groups(struct buf *b, char **keys, size_t nkeys)
{
	struct ctl_group	*g;
	size_t			 i, ng = 0;
	int			 r = 0;

	if (nkeys == 0)
		return pack_u32(b, 0);
	qsort(keys, nkeys, sizeof(*keys), str_cmp);
	if ((g = reallocarray(NULL, nkeys, sizeof(*g))) == NULL)
		return -1;
	for (i = 0; i < nkeys; i++) {
		if (ng > 0 && strcmp(g[ng - 1].key, keys[i]) == 0) {
			g[ng - 1].n++;
			continue;
		}
		g[ng].key = keys[i];
		g[ng].n = 1;
		ng++;
	}
	qsort(g, ng, sizeof(*g), group_cmp);
	if (ng > CONTROL_MAX_GROUPS_SENT)
		ng = CONTROL_MAX_GROUPS_SENT;
	r |= pack_u32(b, (uint32_t)ng);
	for (i = 0; i < ng; i++) {
		r |= pack_str(b, g[i].key);
		r |= pack_u32(b, g[i].n);
	}
	free(g);
	return r ? -1 : 0;
}

static int
push_key(char ***v, size_t *n, size_t *cap, char *key)
{
	char	**nv;

	if (key == NULL)
		return -1;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;

		if ((nv = reallocarray(*v, ncap, sizeof(**v))) == NULL) {
			free(key);
			return -1;
		}
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = key;
	return 0;
}

/* IPC_CTL_STATS: one walk over the index, nothing read from disk. */
static int
ctl_stats(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct qmsg	*m;
	struct buf	 b;
	uint32_t	 count[3] = { 0, 0, 0 }, i, st;
	uint64_t	 waiting = 0, oldest = 0;
	char		**reasons = NULL, **domains = NULL, dsn[16];
	size_t		 nr = 0, capr = 0, nd = 0, capd = 0, k;
	int		 r = 0;

	if (msg->len != 0 || msg->fd != -1)
		return -1;
	for (m = sched_first(); m != NULL && r == 0; m = sched_next_after(m->qid)) {
		st = sched_msg_state(m);
		if (st < 3)
			count[st]++;
		if (oldest == 0 || m->env.arrival < oldest)
			oldest = m->env.arrival;
		for (i = 0; i < m->env.nrcpt && r == 0; i++) {
			const struct qrcpt *rc = &m->env.rcpts[i];

			if (rc->state != QRCPT_PENDING)
				continue;
			waiting++;
			if (rc->attempts == 0 || rc->last_reply[0] == '\0')
				continue;
			sched_dsn(rc->last_reply, RCPT_TEMPFAIL, dsn);
			r |= push_key(&reasons, &nr, &capr, strdup(dsn));
			r |= push_key(&domains, &nd, &capd,
			    record_rcpt_domain(rc->addr));
		}
	}
	buf_init(&b);
	if (r == 0) {
		r |= pack_u64(&b, (uint64_t)time(NULL));
		r |= pack_u64(&b, qstats.started);
		for (k = 0; k < 3; k++)
			r |= pack_u32(&b, count[k]);
		r |= pack_u64(&b, waiting);
		r |= pack_u64(&b, oldest);
		r |= pack_u64(&b, qstats.accepted);
		r |= pack_u64(&b, qstats.delivered);
		r |= pack_u64(&b, qstats.deferred);
		r |= pack_u64(&b, qstats.bounced);
		r |= pack_groups(&b, reasons, nr);
		r |= pack_groups(&b, domains, nd);
		r |= pack_u32(&b, qmgr.smtpd_stats.reported ? 1 : 0);
		r |= pack_u32(&b, qmgr.smtpd_stats.sessions);
		r |= pack_u64(&b, qmgr.smtpd_stats.connections);
		r |= pack_u64(&b, qmgr.smtpd_stats.refused);
	}
	if (r != 0)
		ctl_reply(cl, IPC_CTL_ERROR, "out of memory");
	else
		ipc_send_buf(cl->chan, IPC_CTL_STATS_REPLY, cl->reqid, -1, &b);
	buf_free(&b);
	for (k = 0; k < nr; k++)
		free(reasons[k]);
	for (k = 0; k < nd; k++)
		free(domains[k]);
	free(reasons);
	free(domains);
	return 0;
}

static int
ctl_trace_send_cb(const void *ev, size_t len, void *arg)
{
	struct ctl_client	*cl = arg;

	if (ipc_send(cl->chan, IPC_CTL_TRACE_EVENT, cl->reqid, -1, ev,
	    len) == -1)
		return -1;
	cl->nsent++;
	return 0;
}

static int
ctl_trace_cb(DBC *c, const uint8_t *k, size_t klen, const void *v,
    size_t vlen, void *arg)
{
	struct ctl_client	*cl = arg;

	(void)c;
	if (klen != TRACE_KEY_LEN || memcmp(k, cl->trace_qid, QID_LEN) != 0)
		return 1;
	if (ipc_pending(cl->chan) > IPC_HIGH_WATER) {
		/* resumed from this record when the queue has drained */
		memcpy(cl->trace_from, k, klen);
		cl->trace_fromlen = klen;
		return 2;
	}
	if (trace_record_each(v, vlen, ctl_trace_send_cb, cl) != 0) {
		log_err("control: %s: malformed trace record", cl->trace_qid);
		return -1;
	}
	return 0;
}

/* Sends a message's events until the channel's queue is full. */
static void
ctl_trace_more(struct ctl_client *cl)
{
	struct buf	 b;
	int		 r;

	r = spool_trace_walk(qmgr.spool, NULL, cl->trace_from,
	    cl->trace_fromlen, ctl_trace_cb, cl);
	if (r == 2)
		return;
	cl->tracing = 0;
	if (r < 0) {
		ctl_reply(cl, IPC_CTL_ERROR, "cannot read the trace (see the "
		    "mail log)");
		return;
	}
	if (cl->nsent == 0) {
		ctl_reply(cl, IPC_CTL_ERROR, "no trace of that message (unknown, "
		    "or gone longer than trace_retention)");
		return;
	}
	buf_init(&b);
	if (pack_u32(&b, cl->nsent) == 0)
		ipc_send_buf(cl->chan, IPC_CTL_END, cl->reqid, -1, &b);
	buf_free(&b);
}

/* IPC_CTL_TRACE: -1 when the request is malformed. */
static int
ctl_trace(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	char		*qid = NULL;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &qid, CONTROL_MAX_ID) == -1 ||
	    unpack_done(&u) == -1) {
		free(qid);
		return -1;
	}
	if (!qid_valid(qid, strlen(qid))) {
		free(qid);
		ctl_reply(cl, IPC_CTL_ERROR, "no trace of that message "
		    "(not a queue id)");
		return 0;
	}
	strlcpy(cl->trace_qid, qid, sizeof(cl->trace_qid));
	memcpy(cl->trace_from, qid, QID_LEN);
	cl->trace_fromlen = QID_LEN;
	free(qid);
	cl->nsent = 0;
	cl->tracing = 1;
	ctl_trace_more(cl);
	return 0;
}

/* IPC_CTL_REQUEUE: -1 when the request is malformed. */
static int
ctl_requeue(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	char		*qid = NULL, text[128];
	int		 n;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &qid, CONTROL_MAX_ID) == -1 ||
	    unpack_done(&u) == -1) {
		free(qid);
		return -1;
	}
	if (qid[0] != '\0' && !qid_valid(qid, strlen(qid)))
		n = -1;
	else
		n = sched_requeue(qid);
	if (n == -1)
		ctl_reply(cl, IPC_CTL_ERROR, "no such message");
	else if (n == -2)
		ctl_reply(cl, IPC_CTL_ERROR, "the message is held: release it "
		    "first");
	else {
		if (qid[0] != '\0')
			snprintf(text, sizeof(text), "%s %s", qid, n ? "requeued" :
			    "has no waiting recipient (being delivered now?)");
		else
			snprintf(text, sizeof(text), "%d message%s requeued", n,
			    n == 1 ? "" : "s");
		ctl_reply(cl, IPC_CTL_OK, text);
		log_info("control: requeue %s: %s", qid[0] ? qid : "all", text);
	}
	free(qid);
	return 0;
}

static const char *const ctl_level_names[] = { "err", "warning", "info",
    "debug" };

/* IPC_CTL_LOG_LEVEL: -1 when the request is malformed. */
static int
ctl_log_level(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	struct buf	 b;
	uint32_t	 lvl;
	char		 text[128];

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &lvl) == -1 || unpack_done(&u) == -1 ||
	    lvl > LOG_LVL_DEBUG)
		return -1;
	log_set_level((enum log_level)lvl);
	log_warn("control: log level set to %s by uid %d",
	    ctl_level_names[lvl], (int)cl->uid);
	buf_init(&b);
	if (pack_u32(&b, lvl) == -1 || qmgr_send_master(IPC_LOG_LEVEL,
	    &b) == -1) {
		buf_free(&b);
		ctl_reply(cl, IPC_CTL_ERROR, "log level set in queue-mgr only: "
		    "cannot reach the master");
		return 0;
	}
	buf_free(&b);
	snprintf(text, sizeof(text), "log level %s (until the next reload or "
	    "restart)", ctl_level_names[lvl]);
	ctl_reply(cl, IPC_CTL_OK, text);
	return 0;
}

/* The master sends IPC_CONFIG only for a config it accepted. */
#define CONTROL_RELOAD_WAIT_SECS	5

static void
ctl_reload_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_client	*cl = arg;

	(void)fd;
	(void)ev;
	event_free(cl->reload_ev);
	cl->reload_ev = NULL;
	ctl_reply(cl, IPC_CTL_ERROR, "reload requested, but no new config "
	    "reached queue-mgr: the master refused it? (see the mail log)");
}

void
control_reload_done(int ok, const char *text)
{
	struct ctl_client	*cl;

	TAILQ_FOREACH(cl, &ctl_clients, entry) {
		if (cl->reload_ev == NULL)
			continue;
		event_free(cl->reload_ev);
		cl->reload_ev = NULL;
		ctl_reply(cl, ok ? IPC_CTL_OK : IPC_CTL_ERROR, text);
	}
}

static int
ctl_reload(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct timeval	 tv = { CONTROL_RELOAD_WAIT_SECS, 0 };

	if (msg->fd != -1 || msg->len != 0)
		return -1;
	if (qmgr_send_master(IPC_RELOAD_REQ, NULL) == -1) {
		ctl_reply(cl, IPC_CTL_ERROR, "cannot reach the master");
		return 0;
	}
	log_info("control: reload requested by uid %d", (int)cl->uid);
	if ((cl->reload_ev = evtimer_new(qmgr.base, ctl_reload_timeout_cb,
	    cl)) == NULL || evtimer_add(cl->reload_ev, &tv) == -1) {
		if (cl->reload_ev != NULL)
			event_free(cl->reload_ev);
		cl->reload_ev = NULL;
		ctl_reply(cl, IPC_CTL_OK, "reload requested (see the mail log)");
	}
	return 0;
}

/* IPC_CTL_POLICY_TEST: checked here, run by smtpd. -1 when malformed. */
static int
ctl_policy_test(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	struct buf	 b;
	unsigned char	 a[sizeof(struct in6_addr)];
	char		*client = NULL, *helo = NULL, *listener = NULL;
	size_t		 i;
	int		 rv = -1, found;

	if (msg->fd == -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &client, 64) == -1 ||
	    unpack_str(&u, &helo, 255) == -1 ||
	    unpack_str(&u, &listener, 255) == -1 || unpack_done(&u) == -1)
		goto out;
	rv = 0;
	if (inet_pton(AF_INET, client, a) != 1 &&
	    inet_pton(AF_INET6, client, a) != 1) {
		ctl_reply(cl, IPC_CTL_ERROR, "not an IP address");
		goto out;
	}
	found = listener[0] == '\0' && qmgr.conf->nlisteners > 0;
	for (i = 0; !found && i < qmgr.conf->nlisteners; i++)
		if (qmgr.conf->listeners[i].name != NULL &&
		    strcmp(qmgr.conf->listeners[i].name, listener) == 0)
			found = 1;
	if (!found) {
		ctl_reply(cl, IPC_CTL_ERROR, "no such listener");
		goto out;
	}
	buf_init(&b);
	if (buf_append(&b, msg->data, msg->len) == -1 ||
	    qmgr_smtpd_test_session(msg->fd, &b) == -1) {
		msg->fd = -1;
		buf_free(&b);
		ctl_reply(cl, IPC_CTL_ERROR, "smtpd is not running");
		goto out;
	}
	msg->fd = -1;
	buf_free(&b);
	log_info("control: policy test as %s by uid %d", client, (int)cl->uid);
	ctl_reply(cl, IPC_CTL_OK, "policy test session started");
out:
	free(client);
	free(helo);
	free(listener);
	return rv;
}

static void
ctl_drain_cb(struct ipc_chan *c, void *arg)
{
	struct ctl_client *cl = arg;

	(void)c;
	if (cl->listing)
		ctl_list_more(cl);
	else if (cl->showing)
		ctl_show_more(cl);
	else if (cl->tracing)
		ctl_trace_more(cl);
}

/* IPC_CTL_QUEUE: the listing goes out in slices (ctl_list_more). */
static int
ctl_queue(struct ctl_client *cl, struct ipc_msg *msg)
{
	if (msg->len != 0 || msg->fd != -1)
		return -1;
	cl->listing = 1;
	cl->nsent = 0;
	cl->last[0] = '\0';
	ctl_list_more(cl);
	return 0;
}

/* IPC_CTL_FLUSH: str queue id, "" for all. */
static int
ctl_flush(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	char		*qid = NULL, text[64];
	int		 n;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &qid, QID_LEN) == -1 || unpack_done(&u) == -1) {
		free(qid);
		return -1;
	}
	if (qid[0] != '\0' && !qid_valid(qid, strlen(qid)))
		n = -1;
	else
		n = sched_flush(qid);
	if (n < 0) {
		ctl_reply(cl, IPC_CTL_ERROR, "no such message");
	} else {
		snprintf(text, sizeof(text), "%d message%s scheduled", n,
		    n == 1 ? "" : "s");
		ctl_reply(cl, IPC_CTL_OK, text);
		log_info("control: flush %s: %s", qid[0] ? qid : "all", text);
	}
	free(qid);
	return 0;
}

/* IPC_CTL_PAUSE: u32 on, str "incoming" or "outgoing". */
static int
ctl_pause(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	char		*what = NULL, text[64];
	uint32_t	 on;
	int		 n;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &on) == -1 ||
	    unpack_str(&u, &what, CONTROL_MAX_ID) == -1 ||
	    unpack_done(&u) == -1 || on > 1) {
		free(what);
		return -1;
	}
	if (strcmp(what, "incoming") == 0) {
		n = qmgr_pause_incoming((int)on);
		snprintf(text, sizeof(text), "incoming mail %s%s",
		    n == 1 ? "already " : "", on ? "paused" : "resumed");
		ctl_reply(cl, IPC_CTL_OK, text);
	} else if (strcmp(what, "outgoing") != 0)
		ctl_reply(cl, IPC_CTL_ERROR, "pause what? incoming or "
		    "outgoing");
	else {
		n = sched_pause((int)on);
		snprintf(text, sizeof(text), "outgoing delivery %s%s",
		    n == 1 ? "already " : "", on ? "paused" : "resumed");
		ctl_reply(cl, IPC_CTL_OK, text);
	}
	free(what);
	return 0;
}

/* IPC_CTL_HOLD and IPC_CTL_RELEASE: str queue id. */
static int
ctl_hold(struct ctl_client *cl, struct ipc_msg *msg)
{
	struct unpack	 u;
	char		*qid = NULL, text[64];
	int		 n;

	if (msg->fd != -1)
		return -1;
	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &qid, QID_LEN) == -1 || unpack_done(&u) == -1) {
		free(qid);
		return -1;
	}
	if (!qid_valid(qid, strlen(qid)))
		n = -1;
	else if (msg->type == IPC_CTL_HOLD)
		n = sched_hold(qid);
	else
		n = sched_release(qid);
	if (n < 0)
		ctl_reply(cl, IPC_CTL_ERROR, "no such message");
	else {
		snprintf(text, sizeof(text), "%s %s%s", qid,
		    n == 1 ? "already " : "",
		    msg->type == IPC_CTL_HOLD ? "held" : "released");
		ctl_reply(cl, IPC_CTL_OK, text);
	}
	free(qid);
	return 0;
}

/*
 * Every request posternctl may send: its handler (-1 = malformed, the
 * client is closed) and whether ctl_read_group may send it.
 */
struct ctl_verb {
	uint32_t	 type;
	int		(*run)(struct ctl_client *, struct ipc_msg *);
	int		 read_only;
};

static const struct ctl_verb ctl_verbs[] = {
	{ IPC_CTL_QUEUE, ctl_queue, 1 },
	{ IPC_CTL_SHOW, ctl_show, 1 },
	{ IPC_CTL_STATS, ctl_stats, 1 },
	{ IPC_CTL_TRACE, ctl_trace, 1 },
	{ IPC_CTL_FLUSH, ctl_flush, 0 },
	{ IPC_CTL_HOLD, ctl_hold, 0 },
	{ IPC_CTL_RELEASE, ctl_hold, 0 },
	{ IPC_CTL_DELETE, ctl_remove, 0 },
	{ IPC_CTL_BOUNCE, ctl_remove, 0 },
	{ IPC_CTL_PAUSE, ctl_pause, 0 },
	{ IPC_CTL_REQUEUE, ctl_requeue, 0 },
	{ IPC_CTL_LOG_LEVEL, ctl_log_level, 0 },
	{ IPC_CTL_RELOAD, ctl_reload, 0 },
	{ IPC_CTL_POLICY_TEST, ctl_policy_test, 0 },
};

static const struct ctl_verb *
ctl_verb_find(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++)
		if (ctl_verbs[i].type == type)
			return &ctl_verbs[i];
	return NULL;
}

int
control_read_only_verb(uint32_t type)
{
	const struct ctl_verb *v = ctl_verb_find(type);

	return v != NULL && v->read_only;
}

static void
ctl_msg_cb(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	struct ctl_client	*cl = arg;
	const struct ctl_verb	*v;

	(void)c;
	cl->reqid = msg->id;
	if (cl->listing || cl->showing || cl->tracing || cl->reload_ev != NULL) {
		ctl_close_with(cl, IPC_CTL_ERROR, "one request at a time");
		return;
	}
	if (!cl->admin && !control_read_only_verb(msg->type)) {
		log_warn("control: uid %d pid %d: %s refused: read-only access "
		    "(ctl_read_group)", (int)cl->uid, (int)cl->pid,
		    ipc_type_name(msg->type));
		ctl_close_with(cl, IPC_CTL_ERROR, "permission denied: this verb "
		    "needs root or admin_group (ctl_read_group may only read)");
		return;
	}
	if ((v = ctl_verb_find(msg->type)) != NULL && v->run(cl, msg) == 0)
		return;
	log_warn("control: malformed %s request, closing the client",
	    ipc_type_name(msg->type));
	ctl_close_with(cl, IPC_CTL_ERROR, "malformed request");
}

static void
ctl_close_cb(struct ipc_chan *c, void *arg)
{
	(void)c;
	ctl_client_free(arg);
}

static void
ctl_linger_cb(evutil_socket_t fd, short ev, void *arg)
{
	char	 junk[256];

	/* the client's request (or EOF) arrived, or time is up; unread
	 * bytes at close would reset the client before it reads our error */
	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	event_free(arg);
	close(fd);
	ctl_nlinger--;
}

static void
ctl_linger(int fd)
{
	struct timeval	 tv = { CONTROL_LINGER_SECS, 0 };
	struct event	*ev;

	if (ctl_nlinger >= CONTROL_MAX_CLIENTS ||
	    (ev = event_new(qmgr.base, fd, EV_READ, ctl_linger_cb,
	    event_self_cbarg())) == NULL || event_add(ev, &tv) == -1) {
		close(fd);
		return;
	}
	ctl_nlinger++;
}

static void
ctl_accept_one(int fd)
{
	struct ctl_client	*cl;
	struct ucred		 cred;
	gid_t			 groups[CONTROL_MAX_GROUPS];
	socklen_t		 len = sizeof(cred), glen = sizeof(groups);
	size_t			 ngroups = 0;
	int			 admin;
	struct buf		 b;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_errno("control: SO_PEERCRED");
		close(fd);
		return;
	}
	/* the peer's supplementary groups, from the kernel (Linux >= 4.13) */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
		ngroups = glen / sizeof(gid_t);
	admin = control_allowed(cred.uid, cred.gid, groups, ngroups);
	if (!admin && !control_read_allowed(cred.uid, cred.gid, groups,
	    ngroups)) {
		log_warn("control: uid %d pid %d: permission denied",
		    (int)cred.uid, (int)cred.pid);
		/* told first, closed at its request or after a grace time,
		 * so that a client that writes before reading reads it */
		buf_init(&b);
		if (pack_str(&b, "permission denied") == 0)
			ipc_sync_send(fd, IPC_CTL_ERROR, 0, -1, b.p, b.len);
		buf_free(&b);
		ctl_linger(fd);
		return;
	}
	if (ctl_nclients >= CONTROL_MAX_CLIENTS ||
	    (!admin && ctl_nreaders >= CONTROL_MAX_READERS)) {
		log_warn("control: too many clients");
		close(fd);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		log_errno("control: client");
		close(fd);
		return;
	}
	if ((cl->chan = ipc_chan_new(qmgr.base, fd, "posternctl", ctl_msg_cb,
	    ctl_close_cb, cl)) == NULL) {
		log_errno("control: channel");
		close(fd);
		free(cl);
		return;
	}
	cl->admin = admin;
	cl->uid = cred.uid;
	cl->pid = cred.pid;
	ipc_set_drain_cb(cl->chan, ctl_drain_cb);
	TAILQ_INSERT_TAIL(&ctl_clients, cl, entry);
	ctl_nclients++;
	if (!admin)
		ctl_nreaders++;
	log_debug("control: client uid %d pid %d", (int)cred.uid, (int)cred.pid);
}

static void
ctl_accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	int	 fd;

	(void)ev;
	(void)arg;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_errno("control: accept");
			return;
		}
		ctl_accept_one(fd);
	}
}

void
control_listen(int fd)
{
	int	 fl;

	control_shutdown();
	if (qstats.started == 0)
		qstats.started = (uint64_t)time(NULL);
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (ctl_ev = event_new(qmgr.base, fd, EV_READ | EV_PERSIST,
	    ctl_accept_cb, NULL)) == NULL || event_add(ctl_ev, NULL) == -1) {
		log_errno("control: listening");
		if (ctl_ev != NULL) {
			event_free(ctl_ev);
			ctl_ev = NULL;
		}
		close(fd);
		return;
	}
	ctl_fd = fd;
	log_debug("control: listening");
}

void
control_shutdown(void)
{
	struct ctl_client	*cl;

	while ((cl = TAILQ_FIRST(&ctl_clients)) != NULL)
		ctl_client_free(cl);
	if (ctl_ev != NULL) {
		event_free(ctl_ev);
		ctl_ev = NULL;
	}
	if (ctl_fd != -1) {
		close(ctl_fd);
		ctl_fd = -1;
	}
}
