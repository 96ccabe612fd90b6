/* Framed IPC over SOCK_SEQPACKET with validation and fd passing. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "ipc.h"
#include "log.h"

struct ipc_frame {
	struct ipc_frame	*next;
	int			 fd;
	size_t			 len;		/* header + payload */
	uint8_t			 data[];
};

struct ipc_chan {
	int			 fd;
	char			 peer[32];
	struct event		*rev;
	struct event		*wev;
	struct ipc_frame	*head;
	struct ipc_frame	*tail;
	size_t			 pending;
	int			 above_water;
	int			 read_paused;	/* our replies pile up: peer reads first */
	int			 overflow;	/* peer never reads: drop it */
	int			 dead;
	struct event		*retry;		/* after ENOBUFS, try writing again */
	int			*alive;		/* set to 0 by ipc_chan_free */
	ipc_msg_cb		 on_msg;
	ipc_close_cb		 on_close;
	void			(*on_drain)(struct ipc_chan *, void *);
	void			*arg;
	uint8_t			 rbuf[IPC_HDR_LEN + IPC_MAX_PAYLOAD];
};

static const char *type_names[IPC_TYPE_MAX] = {
	[IPC_NONE] = "NONE",
	[IPC_PEER] = "PEER",
	[IPC_LISTENER] = "LISTENER",
	[IPC_CONTROL_LISTENER] = "CONTROL_LISTENER",
	[IPC_CONFIG] = "CONFIG",
	[IPC_START] = "START",
	[IPC_READY] = "READY",
	[IPC_MSG_BEGIN] = "MSG_BEGIN",
	[IPC_MSG_DATA] = "MSG_DATA",
	[IPC_MSG_END] = "MSG_END",
	[IPC_MSG_ABORT] = "MSG_ABORT",
	[IPC_MSG_BEGIN_OK] = "MSG_BEGIN_OK",
	[IPC_MSG_COMMITTED] = "MSG_COMMITTED",
	[IPC_MSG_TEMPFAIL] = "MSG_TEMPFAIL",
	[IPC_DELIVER_JOB] = "DELIVER_JOB",
	[IPC_DELIVER_RESULT] = "DELIVER_RESULT",
	[IPC_DNS_QUERY] = "DNS_QUERY",
	[IPC_DNS_ANSWER] = "DNS_ANSWER",
	[IPC_CTL_QUEUE] = "CTL_QUEUE",
	[IPC_CTL_FLUSH] = "CTL_FLUSH",
	[IPC_CTL_QUEUE_ENTRY] = "CTL_QUEUE_ENTRY",
	[IPC_CTL_END] = "CTL_END",
	[IPC_CTL_OK] = "CTL_OK",
	[IPC_CTL_ERROR] = "CTL_ERROR",
	[IPC_ETRN] = "ETRN",
	[IPC_ETRN_REPLY] = "ETRN_REPLY",
	[IPC_CTL_HOLD] = "CTL_HOLD",
	[IPC_CTL_RELEASE] = "CTL_RELEASE",
	[IPC_PICKUP] = "PICKUP",
	[IPC_PICKUP_DONE] = "PICKUP_DONE",
	[IPC_AUTH_REQ] = "AUTH_REQ",
	[IPC_AUTH_REPLY] = "AUTH_REPLY",
	[IPC_TLS_CERT] = "TLS_CERT",
	[IPC_TLS_SIGNER] = "TLS_SIGNER",
	[IPC_TLS_SIGN] = "TLS_SIGN",
	[IPC_TLS_SIGNATURE] = "TLS_SIGNATURE",
	[IPC_CTL_SHOW] = "CTL_SHOW",
	[IPC_CTL_SHOW_ENV] = "CTL_SHOW_ENV",
	[IPC_CTL_SHOW_RCPT] = "CTL_SHOW_RCPT",
	[IPC_CTL_CONTENT] = "CTL_CONTENT",
	[IPC_CTL_DELETE] = "CTL_DELETE",
	[IPC_CTL_BOUNCE] = "CTL_BOUNCE",
	[IPC_CTL_STATS] = "CTL_STATS",
	[IPC_CTL_STATS_REPLY] = "CTL_STATS_REPLY",
	[IPC_CTL_PAUSE] = "CTL_PAUSE",
	[IPC_LOCAL_JOB] = "LOCAL_JOB",
	[IPC_LOCAL_RESULT] = "LOCAL_RESULT",
	[IPC_RCPT_CHECK] = "RCPT_CHECK",
	[IPC_RCPT_CHECK_REPLY] = "RCPT_CHECK_REPLY",
	[IPC_LOG_LEVEL] = "LOG_LEVEL",
	[IPC_SMTPD_PAUSE] = "SMTPD_PAUSE",
	[IPC_CTL_POLICY_TEST] = "CTL_POLICY_TEST",
	[IPC_SMTPD_TEST_SESSION] = "SMTPD_TEST_SESSION",
	[IPC_RELOAD_REQ] = "RELOAD_REQ",
	[IPC_SMTPD_STATS] = "SMTPD_STATS",
	[IPC_CTL_REQUEUE] = "CTL_REQUEUE",
	[IPC_CTL_TRACE] = "CTL_TRACE",
	[IPC_CTL_TRACE_EVENT] = "CTL_TRACE_EVENT",
	[IPC_CTL_LOG_LEVEL] = "CTL_LOG_LEVEL",
	[IPC_CTL_RELOAD] = "CTL_RELOAD",
};

const char *
ipc_type_name(uint32_t t)
{
	if (t >= IPC_TYPE_MAX || type_names[t] == NULL)
		return "UNKNOWN";
	return type_names[t];
}

int
ipc_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static void
hdr_put(uint8_t *p, uint32_t type, uint32_t len, uint32_t id, uint32_t flags)
{
	memcpy(p, &type, 4);
	memcpy(p + 4, &len, 4);
	memcpy(p + 8, &id, 4);
	memcpy(p + 12, &flags, 4);
}

/* Receives one packet; validates the frame. 0 ok, -1 EOF/error, -2 again. */
static int
frame_recv(int sock, uint8_t *buf, size_t bufsz, struct ipc_msg *m)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cmsgbuf;
	ssize_t		 n;
	uint32_t	 type, len, id, flags;
	int		 fd = -1, extra = 0;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = bufsz;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -2;
	if (n == -1)
		return -1;
	if (n == 0) {
		errno = ECONNRESET;
		return -1;
	}
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(cm);
			for (size_t i = 0; i < nfd; i++) {
				if (fd == -1)
					fd = fds[i];
				else {
					close(fds[i]);
					extra = 1;
				}
			}
		}
	}
	errno = EPROTO;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || extra ||
	    (size_t)n < IPC_HDR_LEN)
		goto bad;
	memcpy(&type, buf, 4);
	memcpy(&len, buf + 4, 4);
	memcpy(&id, buf + 8, 4);
	memcpy(&flags, buf + 12, 4);
	if (type == IPC_NONE || type >= IPC_TYPE_MAX || (flags & ~IPC_F_FD) ||
	    len > IPC_MAX_PAYLOAD || (size_t)n != IPC_HDR_LEN + len ||
	    ((flags & IPC_F_FD) != 0) != (fd != -1))
		goto bad;
	m->type = type;
	m->id = id;
	m->fd = fd;
	m->data = buf + IPC_HDR_LEN;
	m->len = len;
	return 0;
bad:
	if (fd != -1)
		close(fd);
	errno = EPROTO;
	return -1;
}

static int
frame_send(int sock, const uint8_t *data, size_t len, int fd)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cm;
	ssize_t		 n;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	/* SOCK_SEQPACKET sends a record whole or not at all */
	return 0;
}

static void
chan_die(struct ipc_chan *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	event_del(c->rev);
	event_del(c->wev);
	event_del(c->retry);
	if (c->on_close)
		c->on_close(c, c->arg);
}

static void
chan_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_chan	*c = arg;
	struct ipc_msg	 m;
	int		 r, alive, budget = 64;

	(void)fd;
	(void)ev;
	while (budget-- > 0 && !c->dead) {
		/*
		 * A peer that keeps asking but does not read our answers gets
		 * no more of our attention until it does: memory stays bounded.
		 */
		if (c->pending > IPC_HIGH_WATER) {
			event_del(c->rev);
			c->read_paused = 1;
			return;
		}
		r = frame_recv(c->fd, c->rbuf, sizeof(c->rbuf), &m);
		if (r == -2)
			return;
		if (r == -1) {
			if (errno == EPROTO)
				log_err("ipc: malformed frame from %s, dropping it",
				    c->peer);
			else if (errno != ECONNRESET)
				log_errno("ipc: read from %s", c->peer);
			chan_die(c);
			return;
		}
		alive = 1;
		c->alive = &alive;
		c->on_msg(c, &m, c->arg);
		if (m.fd != -1)
			close(m.fd);
		if (!alive)
			return;
		c->alive = NULL;
	}
}

static void
chan_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_chan		*c = arg;
	struct ipc_frame	*f;

	struct timeval		 tv = { 0, 10000 };

	(void)fd;
	(void)ev;
	if (c->overflow) {
		log_err("ipc: %s does not read; more than %d bytes queued for it, "
		    "dropping it", c->peer, IPC_MAX_QUEUED);
		chan_die(c);
		return;
	}
	while ((f = c->head) != NULL) {
		if (frame_send(c->fd, f->data, f->len, f->fd) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				event_add(c->wev, NULL);
				return;
			}
			/* memory pressure, not a full peer: polling would spin */
			if (errno == ENOBUFS) {
				evtimer_add(c->retry, &tv);
				return;
			}
			if (errno != EPIPE && errno != ECONNRESET)
				log_errno("ipc: write to %s", c->peer);
			chan_die(c);
			return;
		}
		c->head = f->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->pending -= f->len;
		if (f->fd != -1)
			close(f->fd);
		free(f);
	}
	if (c->read_paused && c->pending < IPC_HIGH_WATER / 2) {
		c->read_paused = 0;
		event_add(c->rev, NULL);
	}
	if (c->above_water && c->pending < IPC_HIGH_WATER / 2) {
		c->above_water = 0;
		if (c->on_drain)
			c->on_drain(c, c->arg);
	}
}

struct ipc_chan *
ipc_chan_new(struct event_base *base, int fd, const char *peer_name,
    ipc_msg_cb on_msg, ipc_close_cb on_close, void *arg)
{
	struct ipc_chan	*c;
	int		 fl, sz = 512 * 1024;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		free(c);
		return NULL;
	}
	/* room for several whole frames; failure only costs throughput */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	c->fd = fd;
	strlcpy(c->peer, peer_name, sizeof(c->peer));
	c->on_msg = on_msg;
	c->on_close = on_close;
	c->arg = arg;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, chan_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, chan_write_cb, c);
	c->retry = evtimer_new(base, chan_write_cb, c);
	if (c->rev == NULL || c->wev == NULL || c->retry == NULL ||
	    event_add(c->rev, NULL) == -1) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		if (c->retry)
			event_free(c->retry);
		free(c);
		return NULL;
	}
	return c;
}

void
ipc_chan_free(struct ipc_chan *c)
{
	struct ipc_frame *f;

	if (c == NULL)
		return;
	if (c->alive)
		*c->alive = 0;
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->retry);
	while ((f = c->head) != NULL) {
		c->head = f->next;
		if (f->fd != -1)
			close(f->fd);
		free(f);
	}
	close(c->fd);
	free(c);
}

int
ipc_send(struct ipc_chan *c, uint32_t type, uint32_t id, int fd,
    const void *data, size_t len)
{
	struct ipc_frame *f;

	if (c->dead || c->overflow || len > IPC_MAX_PAYLOAD ||
	    c->pending + IPC_HDR_LEN + len > IPC_MAX_QUEUED ||
	    (f = malloc(sizeof(*f) + IPC_HDR_LEN + len)) == NULL) {
		if (fd != -1)
			close(fd);
		if (!c->dead && c->pending + IPC_HDR_LEN + len > IPC_MAX_QUEUED) {
			/* drop the peer from the loop, not under the caller's feet */
			c->overflow = 1;
			event_active(c->wev, EV_WRITE, 1);
		}
		return -1;
	}
	f->next = NULL;
	f->fd = fd;
	f->len = IPC_HDR_LEN + len;
	hdr_put(f->data, type, (uint32_t)len, id, fd != -1 ? IPC_F_FD : 0);
	if (len)
		memcpy(f->data + IPC_HDR_LEN, data, len);
	if (c->tail)
		c->tail->next = f;
	else
		c->head = f;
	c->tail = f;
	c->pending += f->len;
	if (c->pending > IPC_HIGH_WATER)
		c->above_water = 1;
	event_add(c->wev, NULL);
	return 0;
}

int
ipc_send_buf(struct ipc_chan *c, uint32_t type, uint32_t id, int fd,
    const struct buf *b)
{
	return ipc_send(c, type, id, fd, b->p, b->len);
}

size_t
ipc_pending(const struct ipc_chan *c)
{
	return c->pending;
}

void
ipc_set_drain_cb(struct ipc_chan *c, void (*cb)(struct ipc_chan *, void *))
{
	c->on_drain = cb;
}

int
ipc_chan_fd(const struct ipc_chan *c)
{
	return c->fd;
}

int
ipc_sync_send(int sock, uint32_t type, uint32_t id, int fd,
    const void *data, size_t len)
{
	uint8_t	*f;
	int	 r;

	if (len > IPC_MAX_PAYLOAD || (f = malloc(IPC_HDR_LEN + len)) == NULL) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr_put(f, type, (uint32_t)len, id, fd != -1 ? IPC_F_FD : 0);
	if (len)
		memcpy(f + IPC_HDR_LEN, data, len);
	r = frame_send(sock, f, IPC_HDR_LEN + len, fd);
	free(f);
	return r;
}

int
ipc_sync_recv(int sock, struct ipc_msg *out, uint8_t *payload, int timeout_ms)
{
	struct pollfd	 pfd;
	uint8_t		*rb;
	int		 r;

	pfd.fd = sock;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		break;
	}
	if ((rb = malloc(IPC_HDR_LEN + IPC_MAX_PAYLOAD)) == NULL)
		return -1;
	r = frame_recv(sock, rb, IPC_HDR_LEN + IPC_MAX_PAYLOAD, out);
	if (r == -2) {
		errno = EAGAIN;
		r = -1;
	}
	if (r == 0) {
		memcpy(payload, out->data, out->len);
		out->data = payload;
	}
	free(rb);
	return r == 0 ? 0 : -1;
}
