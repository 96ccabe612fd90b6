/* Children: spawn, the channels between them, restart with backoff, stop. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "daemon.h"
#include "log.h"
#include "auth.h"
#include "import.h"
#include "localjob.h"
#include "master.h"
#include "tls.h"
#include "pack.h"

extern char **environ;

/* Who talks to whom; the master makes a socketpair for each edge. */
static const enum proc_kind edges[][2] = {
	{ PROC_SMTPD, PROC_QUEUE },
	{ PROC_QUEUE, PROC_DELIVER },
	{ PROC_DELIVER, PROC_RESOLVER },
	{ PROC_SMTPD, PROC_RESOLVER },		/* issue 4: reverse DNS, DNSBL */
};
#define NEDGES	(sizeof(edges) / sizeof(edges[0]))

static void	child_msg(struct ipc_chan *, struct ipc_msg *, void *);
static void	kill_child(struct master_child *, const char *);
static void	child_close(struct ipc_chan *, void *);
static void	restart_cb(evutil_socket_t, short, void *);
static void	finish_stop(struct master *);

const char *
supervise_kind_name(enum proc_kind k)
{
	switch (k) {
	case PROC_MASTER:
		return "master";
	case PROC_SMTPD:
		return "smtpd";
	case PROC_QUEUE:
		return "queue-mgr";
	case PROC_DELIVER:
		return "deliver";
	case PROC_RESOLVER:
		return "resolver";
	default:
		return "unknown";
	}
}

/*
 * The wait before restarting a child that ran `ran' seconds and was last
 * restarted after prev_delay seconds (0: never): 1 s, doubling on each quick
 * crash up to a minute; a child that stayed up a minute starts over at 1 s.
 */
unsigned
supervise_backoff(unsigned prev_delay, time_t ran)
{
	if (prev_delay == 0 || ran >= MASTER_BACKOFF_RESET)
		return MASTER_BACKOFF_MIN;
	if (prev_delay >= MASTER_BACKOFF_MAX / 2)
		return MASTER_BACKOFF_MAX;
	return prev_delay * 2;
}

/* argv = { prog, "-f", conf, ["-d"], NULL }; n is the room in argv. */
int
supervise_argv(char **argv, size_t n, const char *prog, const char *conf_path,
    int foreground)
{
	size_t i = 0;

	if (n < 5 || prog == NULL || conf_path == NULL || conf_path[0] != '/')
		return -1;
	argv[i++] = (char *)prog;
	argv[i++] = "-f";
	argv[i++] = (char *)conf_path;
	if (foreground)
		argv[i++] = "-d";
	argv[i] = NULL;
	return 0;
}

int
supervise_prog_path(char *out, size_t sz, const char *dir, const char *prog)
{
	int n;

	if (strchr(prog, '/') != NULL)
		return -1;
	n = snprintf(out, sz, "%s/%s", dir, prog);
	if (n < 0 || (size_t)n >= sz)
		return -1;
	return 0;
}

void
supervise_init(struct master *m)
{
	static const char *progs[PROC_MAX] = {
		[PROC_SMTPD] = "postern-smtpd",
		[PROC_QUEUE] = "postern-queue",
		[PROC_DELIVER] = "postern-deliver",
		[PROC_RESOLVER] = "postern-resolver",
	};
	int k;

	for (k = PROC_SMTPD; k < PROC_MAX; k++) {
		m->child[k].kind = (enum proc_kind)k;
		m->child[k].name = supervise_kind_name((enum proc_kind)k);
		m->child[k].prog = progs[k];
		m->child[k].pid = 0;
		m->child[k].chan = NULL;
	}
}

/* What of the master's environment a daemon may see. */
static const char *const env_keep[] = {
	"PATH", "TZ", "LANG", "POSTERN_DEBUG", "ASAN_OPTIONS", "UBSAN_OPTIONS",
	"LSAN_OPTIONS", NULL
};

/* fd onto want, close-on-exec off; fd may already be want. */
static int
place_fd(int fd, int want)
{
	if (fd == want)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, want) == -1 ? -1 : 0;
}

/*
 * In the child, between fork and execve: fd 3 is the channel, fd 4 the
 * validated config text, 0 is /dev/null, nothing else is open.
 */
static void
exec_child(struct master *m, struct master_child *c, int fd, int conffd)
{
	char		*argv[8], *envp[16];
	char		 path[PATH_MAX];
	char		**e;
	sigset_t	 none;
	size_t		 k, len, n = 0;
	int		 nullfd;

	/*
	 * Own session: no controlling terminal, so even with -d a daemon
	 * cannot push keystrokes into the admin's root shell (TIOCSTI), and
	 * a terminal's ^C goes to the master alone, which stops the rest.
	 */
	(void)setsid();
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((nullfd = open("/dev/null", O_RDONLY)) == -1 || dup2(nullfd, 0) == -1)
		_exit(127);
	/* move both out of the way first: one may sit on the other's number */
	if (fd < DAEMON_CONFIG_FD + 1 &&
	    (fd = fcntl(fd, F_DUPFD_CLOEXEC, DAEMON_CONFIG_FD + 1)) == -1)
		_exit(127);
	if (conffd < DAEMON_CONFIG_FD + 1 &&
	    (conffd = fcntl(conffd, F_DUPFD_CLOEXEC, DAEMON_CONFIG_FD + 1)) == -1)
		_exit(127);
	if (place_fd(fd, DAEMON_MASTER_FD) == -1 ||
	    place_fd(conffd, DAEMON_CONFIG_FD) == -1)
		_exit(127);
	if (close_range(DAEMON_CONFIG_FD + 1, ~0U, 0) == -1) {
		for (int i = DAEMON_CONFIG_FD + 1; i < 1024; i++)
			(void)close(i);
	}
	for (e = environ; *e != NULL && n + 1 < sizeof(envp) / sizeof(envp[0]); e++) {
		for (k = 0; env_keep[k] != NULL; k++) {
			len = strlen(env_keep[k]);
			if (strncmp(*e, env_keep[k], len) == 0 && (*e)[len] == '=') {
				envp[n++] = *e;
				break;
			}
		}
	}
	envp[n] = NULL;
	if (supervise_prog_path(path, sizeof(path), m->libexec, c->prog) == -1 ||
	    supervise_argv(argv, sizeof(argv) / sizeof(argv[0]), c->prog,
	    m->conf_path, m->foreground) == -1)
		_exit(127);
	execve(path, argv, envp);
	log_errno("execve %s", path);
	_exit(127);
}

/* A sealed memfd holding the validated config text, at offset 0. */
static int
config_memfd(const struct buf *text)
{
	size_t	 off = 0;
	ssize_t	 w;
	int	 fd;

	if ((fd = memfd_create("postern.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	while (off < text->len) {
		if ((w = write(fd, text->p + off, text->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
spawn(struct master *m, struct master_child *c)
{
	int	 sv[2], conffd;
	pid_t	 pid;

	if ((conffd = config_memfd(&m->conf_text)) == -1) {
		log_errno("config for %s", c->name);
		return -1;
	}
	if (ipc_socketpair(sv) == -1) {
		log_errno("socketpair for %s", c->name);
		close(conffd);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_errno("fork for %s", c->name);
		close(sv[0]);
		close(sv[1]);
		close(conffd);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		exec_child(m, c, sv[1], conffd);
	}
	close(conffd);
	close(sv[1]);
	c->pid = pid;
	c->started = time(NULL);
	if ((c->chan = ipc_chan_new(m->base, sv[0], c->name, child_msg,
	    child_close, c)) == NULL) {
		log_errno("channel to %s", c->name);
		close(sv[0]);
		kill(pid, SIGKILL);
		return -1;
	}
	log_debug("%s spawned (pid %ld)", c->name, (long)pid);
	return 0;
}

static struct master *the_master;

static int
send_u32(struct master_child *c, uint32_t type, int fd, uint32_t v)
{
	struct buf	 b;
	int		 r;

	buf_init(&b);
	if (pack_u32(&b, v) == -1) {
		buf_free(&b);
		if (fd != -1)
			close(fd);
		return -1;
	}
	r = ipc_send_buf(c->chan, type, 0, fd, &b);
	buf_free(&b);
	return r;
}

/* A fresh channel between a and b, each told the other's kind. */
static int
connect_pair(struct master_child *a, struct master_child *b)
{
	int sv[2];

	if (ipc_socketpair(sv) == -1) {
		log_errno("socketpair %s<->%s", a->name, b->name);
		return -1;
	}
	if (send_u32(a, IPC_PEER, sv[0], b->kind) == -1) {
		close(sv[1]);
		log_err("cannot send %s's channel to %s", b->name, a->name);
		return -1;
	}
	if (send_u32(b, IPC_PEER, sv[1], a->kind) == -1) {
		log_err("cannot send %s's channel to %s", a->name, b->name);
		return -1;
	}
	log_debug("connected %s (pid %ld) <-> %s (pid %ld)", a->name,
	    (long)a->pid, b->name, (long)b->pid);
	return 0;
}

static int
alive(const struct master_child *c)
{
	return c->pid > 0 && c->chan != NULL;
}

/*
 * Everything a (re)started child needs besides its neighbours: its
 * listening sockets, then IPC_START. The master keeps the originals for
 * the next restart and hands out dups.
 */
static int
send_own_fds(struct master *m, struct master_child *c)
{
	struct buf	 b;
	size_t		 i;
	int		 fd, r = 0;

	if (c->kind == PROC_SMTPD) {
		buf_init(&b);
		for (i = 0; i < m->nsocks && r == 0; i++) {
			buf_reset(&b);
			if ((fd = fcntl(m->socks[i].fd, F_DUPFD_CLOEXEC, 0)) == -1) {
				log_errno("dup listener %s", m->socks[i].addr);
				r = -1;
				break;
			}
			if (pack_u32(&b, (uint32_t)m->socks[i].index) == -1 ||
			    pack_str(&b, m->socks[i].addr) == -1) {
				close(fd);
				r = -1;
				break;
			}
			r = ipc_send_buf(c->chan, IPC_LISTENER, 0, fd, &b);
		}
		buf_free(&b);
		if (r == 0)
			r = tls_send_certs(m->conf, c->chan);
		if (r == 0)
			r = tls_start_signer(m, c->chan);
	} else if (c->kind == PROC_QUEUE) {
		if ((fd = fcntl(m->control_fd, F_DUPFD_CLOEXEC, 0)) == -1) {
			log_errno("dup control socket");
			r = -1;
		} else
			r = ipc_send(c->chan, IPC_CONTROL_LISTENER, 0, fd, NULL, 0);
	}
	if (r == 0)
		r = ipc_send(c->chan, IPC_START, 0, -1, NULL, 0);
	return r;
}

static void
schedule_restart(struct master *m, struct master_child *c, const char *why)
{
	struct timeval	 tv;
	time_t		 ran = time(NULL) - c->started;

	c->delay = supervise_backoff(c->delay, ran);
	log_err("%s; restarting in %us", why, c->delay);
	tv.tv_sec = c->delay;
	tv.tv_usec = 0;
	if (c->restart_ev == NULL)
		c->restart_ev = evtimer_new(m->base, restart_cb, c);
	if (c->restart_ev == NULL || evtimer_add(c->restart_ev, &tv) == -1)
		log_err("cannot schedule the restart of %s", c->name);
}

static int
start_child(struct master *m, struct master_child *c)
{
	size_t i;

	if (spawn(m, c) == -1)
		return -1;
	for (i = 0; i < NEDGES; i++) {
		struct master_child *o;

		if (edges[i][0] == c->kind)
			o = &m->child[edges[i][1]];
		else if (edges[i][1] == c->kind)
			o = &m->child[edges[i][0]];
		else
			continue;
		/* a dead neighbour gets this edge when it comes back */
		if (alive(o))
			connect_pair(c, o);
	}
	return send_own_fds(m, c);
}

static void
restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct master_child	*c = arg;
	struct master		*m = the_master;
	char			 why[128];

	if (m->stopping || c->pid != 0)
		return;
	if (start_child(m, c) == -1) {
		snprintf(why, sizeof(why), "could not start %s", c->name);
		/* half set up (no START sent): kill it; the reaper retries */
		if (c->pid > 0)
			kill_child(c, "set-up failed");
		else
			schedule_restart(m, c, why);
	}
}

static void
kill_child(struct master_child *c, const char *why)
{
	if (c->pid > 0) {
		log_err("%s (pid %ld): %s; killing it", c->name, (long)c->pid,
		    why);
		kill(c->pid, SIGKILL);
	}
}

/* A child that broke the protocol: stop listening to it and replace it. */
static void
drop_child(struct master_child *c, const char *why)
{
	if (c->chan != NULL) {
		ipc_chan_free(c->chan);
		c->chan = NULL;
	}
	kill_child(c, why);
}

/* IPC_LOG_LEVEL from queue-mgr: ours, then every child's. */
static void
supervise_log_level(struct master *m, struct ipc_msg *msg)
{
	struct unpack	 u;
	uint32_t	 lvl;
	int		 k;

	unpack_init(&u, msg->data, msg->len);
	unpack_u32(&u, &lvl);
	if (unpack_done(&u) != 0 || lvl > LOG_LVL_DEBUG) {
		log_warn("malformed LOG_LEVEL from queue-mgr, ignored");
		return;
	}
	log_set_level((enum log_level)lvl);
	log_info("log level set to %u by posternctl", lvl);
	for (k = PROC_SMTPD; k < PROC_MAX; k++)
		if (alive(&m->child[k]) &&
		    send_u32(&m->child[k], IPC_LOG_LEVEL, -1, lvl) == -1)
			log_err("cannot send the log level to %s",
			    m->child[k].name);
}

static void
child_msg(struct ipc_chan *ch, struct ipc_msg *msg, void *arg)
{
	struct master_child *c = arg;

	switch (msg->type) {
	case IPC_READY:
		if (msg->len != 0 || msg->fd != -1) {
			drop_child(c, "malformed READY");
			return;
		}
		log_info("%s started (pid %ld)", c->name, (long)c->pid);
		break;
	case IPC_AUTH_REQ:
		if (c->kind != PROC_SMTPD || msg->fd != -1) {
			drop_child(c, "AUTH_REQ from a process that may not ask");
			return;
		}
		auth_request(the_master, msg);
		break;
	case IPC_PICKUP_DONE:
		if (c->kind != PROC_QUEUE || msg->fd != -1) {
			drop_child(c, "PICKUP_DONE from a process that may not send it");
			return;
		}
		pickup_done(the_master, msg);
		break;
	case IPC_LOCAL_JOB:
		if (c->kind != PROC_DELIVER || msg->fd == -1) {
			drop_child(c, "LOCAL_JOB from a process that may not send it");
			return;
		}
		localjob_request(the_master, c, msg);
		break;
	case IPC_RCPT_CHECK:
		if (c->kind != PROC_SMTPD || msg->fd != -1) {
			drop_child(c, "RCPT_CHECK from a process that may not ask");
			return;
		}
		localjob_rcpt_check(the_master, c, msg);
		break;
	case IPC_LOG_LEVEL:
		if (c->kind != PROC_QUEUE || msg->fd != -1) {
			drop_child(c, "LOG_LEVEL from a process that may not send it");
			return;
		}
		supervise_log_level(the_master, msg);
		break;
	case IPC_RELOAD_REQ:
		if (c->kind != PROC_QUEUE || msg->fd != -1 || msg->len != 0) {
			drop_child(c, "malformed RELOAD_REQ");
			return;
		}
		log_info("reload requested by posternctl");
		if (!the_master->stopping)
			reload_config(the_master);
		break;
	default:
		log_err("%s (pid %ld) sent unexpected %s", c->name,
		    (long)c->pid, ipc_type_name(msg->type));
		drop_child(c, "protocol violation");
		break;
	}
}

static void
deaf_check_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct master_child	*c = arg;

	if (!the_master->stopping && c->pid > 0 && c->pid == c->deaf_pid &&
	    c->chan == NULL)
		kill_child(c, "channel to the master closed");
}

static void
child_close(struct ipc_chan *ch, void *arg)
{
	struct master_child	*c = arg;
	struct master		*m = the_master;
	struct timeval		 tv = { 1, 0 };

	ipc_chan_free(ch);
	c->chan = NULL;
	/*
	 * Without its channel the child is deaf: replace it. Usually it is
	 * dying and SIGCHLD follows at once, so give it a moment first.
	 */
	if (!m->stopping && c->pid > 0) {
		c->deaf_pid = c->pid;
		if (event_base_once(m->base, -1, EV_TIMEOUT, deaf_check_cb, c,
		    &tv) == -1)
			kill_child(c, "channel to the master closed");
	}
}

static void
reap(struct master *m)
{
	struct master_child	*c;
	char			 why[128];
	pid_t			 pid;
	int			 st, k;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		c = NULL;
		for (k = PROC_SMTPD; k < PROC_MAX; k++)
			if (m->child[k].pid == pid)
				c = &m->child[k];
		if (c == NULL) {
			if (!localjob_child_reaped(pid))
				auth_child_reaped(pid);
			continue;
		}
		c->pid = 0;
		if (c->chan != NULL) {
			ipc_chan_free(c->chan);
			c->chan = NULL;
		}
		if (WIFSIGNALED(st))
			snprintf(why, sizeof(why), "%s (pid %ld) killed by "
			    "signal %d", c->name, (long)pid, WTERMSIG(st));
		else
			snprintf(why, sizeof(why), "%s (pid %ld) exited with "
			    "status %d", c->name, (long)pid, WEXITSTATUS(st));
		if (m->stopping)
			log_info("%s", why);
		else
			schedule_restart(m, c, why);
	}
	if (m->stopping) {
		for (k = PROC_SMTPD; k < PROC_MAX; k++)
			if (m->child[k].pid != 0)
				return;
		finish_stop(m);
	}
}

static void
finish_stop(struct master *m)
{
	if (m->control_path[0] != '\0')
		(void)unlink(m->control_path);
	log_info("stopped");
	if (m->foreground) {
		printf("postern: stopped\n");
		fflush(stdout);
	}
	event_base_loopbreak(m->base);
}

static void
stop_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct master	*m = arg;
	int		 k;

	for (k = PROC_SMTPD; k < PROC_MAX; k++) {
		if (m->child[k].pid > 0) {
			log_warn("%s (pid %ld) still running after %ds; "
			    "killing it", m->child[k].name,
			    (long)m->child[k].pid, MASTER_STOP_GRACE);
			kill(m->child[k].pid, SIGKILL);
		}
	}
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct master	*m = arg;
	struct timeval	 tv = { MASTER_STOP_GRACE, 0 };
	int		 k;

	switch (sig) {
	case SIGCHLD:
		reap(m);
		break;
	case SIGHUP:
		if (!m->stopping)
			reload_config(m);
		break;
	case SIGTERM:
	case SIGINT:
		if (m->stopping)
			break;
		m->stopping = 1;
		log_info("stopping on signal %d", (int)sig);
		for (k = PROC_SMTPD; k < PROC_MAX; k++) {
			if (m->child[k].restart_ev)
				evtimer_del(m->child[k].restart_ev);
			if (m->child[k].pid > 0)
				kill(m->child[k].pid, SIGTERM);
		}
		m->stop_ev = evtimer_new(m->base, stop_timeout_cb, m);
		if (m->stop_ev != NULL)
			evtimer_add(m->stop_ev, &tv);
		reap(m);
		break;
	}
}

/* Starts every child, wires them up, and sets up the signal events. */
int
supervise_start(struct master *m)
{
	static const int sigs[4] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	size_t	 i;
	int	 k;

	the_master = m;
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 4; i++) {
		if ((m->sig_ev[i] = evsignal_new(m->base, sigs[i], signal_cb,
		    m)) == NULL || evsignal_add(m->sig_ev[i], NULL) == -1) {
			log_err("cannot watch signal %d", sigs[i]);
			return -1;
		}
	}
	for (k = PROC_SMTPD; k < PROC_MAX; k++) {
		if (spawn(m, &m->child[k]) == -1)
			return -1;
	}
	for (i = 0; i < NEDGES; i++)
		if (connect_pair(&m->child[edges[i][0]],
		    &m->child[edges[i][1]]) == -1)
			return -1;
	for (k = PROC_SMTPD; k < PROC_MAX; k++)
		if (send_own_fds(m, &m->child[k]) == -1)
			return -1;
	return 0;
}

/* IPC_CONFIG to every running child: str path, bytes text. */
void
supervise_send_config(struct master *m, const struct buf *text)
{
	struct buf	 b;
	int		 k;

	buf_init(&b);
	if (pack_str(&b, m->conf_path) == -1 ||
	    pack_bytes(&b, text->p ? text->p : "", text->len) == -1) {
		log_err("reload: out of memory");
		buf_free(&b);
		return;
	}
	if (b.len > IPC_MAX_PAYLOAD) {
		log_err("reload: %s is too large to pass to the daemons "
		    "(%zu bytes, at most %d)", m->conf_path, text->len,
		    IPC_MAX_PAYLOAD - 64);
		buf_free(&b);
		return;
	}
	for (k = PROC_SMTPD; k < PROC_MAX; k++) {
		if (!alive(&m->child[k]))
			continue;
		if (ipc_send_buf(m->child[k].chan, IPC_CONFIG, 0, -1, &b) == -1)
			log_err("reload: cannot send the config to %s",
			    m->child[k].name);
	}
	buf_free(&b);
}
