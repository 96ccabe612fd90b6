/* posternctl's offline view: copy the spool aside, recover the copy, serve queue and show from it. */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "ctl.h"
#include "format.h"
#include "ipc.h"
#include "log.h"
#include "offline.h"
#include "pack.h"
#include "privsep.h"
#include "../queue-mgr/qmgr.h"

#define OFFLINE_NOTICE	"postern is not running; showing the queue as last " \
			"written (read-only copy)"
#define OFFLINE_MAX_FILES	100000

/* The helper serving the copy, reaped at exit so no copy outlives us. */
static pid_t	offline_pid = -1;
static int	offline_fd = -1;
/* The copy's folder: removed here too, should the helper die first. */
static char	offline_dir[PATH_MAX];

int
ctl_offline_copy_name(const char *name)
{
	if (name[0] == '.' || name[0] == '\0')
		return 0;
	/* region files describe a live process's memory; recovery makes new */
	if (strncmp(name, "__db", 4) == 0)
		return 0;
	/* written by whoever owns the spool and read by Berkeley DB as root
	 * when the copy opens: set_data_dir or set_lg_dir there would make
	 * recovery write to the live spool (or anywhere else) */
	if (strcmp(name, "DB_CONFIG") == 0)
		return 0;
	return 1;
}

int
ctl_offline_fits(uint64_t need, uint64_t avail)
{
	return need <= UINT64_MAX - CTL_OFFLINE_MARGIN &&
	    need + CTL_OFFLINE_MARGIN <= avail;
}

int
ctl_offline_waiting(const struct qenv *e)
{
	uint32_t	 i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].state == QRCPT_PENDING)
			return 1;
	return 0;
}

uint32_t
ctl_offline_state(const struct qenv *e)
{
	/* nothing is being delivered while the daemons are down */
	return (e->flags & QENV_F_HELD) ? QSTATE_HELD : QSTATE_DEFERRED;
}

/* As the scheduler files a message: its earliest waiting recipient. */
uint64_t
ctl_offline_next_try(const struct qenv *e)
{
	uint64_t	 due = UINT64_MAX;
	uint32_t	 i;

	if (e->flags & QENV_F_HELD)
		return 0;
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].state == QRCPT_PENDING &&
		    e->rcpts[i].next_try < due)
			due = e->rcpts[i].next_try;
	return due == UINT64_MAX ? 0 : due;
}

const char *
ctl_offline_last_error(const struct qenv *e)
{
	return record_last_error(e);
}

int
ctl_offline_entry(struct buf *b, const char *qid, const struct qenv *e)
{
	/* the very packer queue-mgr uses: the same bytes, live or not */
	return record_pack_entry(b, qid, e, ctl_offline_state(e),
	    ctl_offline_next_try(e));
}

int
ctl_offline_show_env(struct buf *b, const char *qid, const struct qenv *e)
{
	if (pack_str(b, qid) == -1 || pack_u64(b, e->arrival) == -1 ||
	    pack_u64(b, e->size) == -1 || pack_str(b, e->sender) == -1 ||
	    pack_str(b, e->client) == -1 || pack_str(b, e->helo) == -1 ||
	    pack_u32(b, e->ret) == -1 || pack_str(b, e->envid) == -1 ||
	    pack_u32(b, e->body) == -1 || pack_u32(b, e->smtputf8) == -1 ||
	    pack_u32(b, ctl_offline_state(e)) == -1 ||
	    pack_u32(b, e->nrcpt) == -1)
		return -1;
	return 0;
}

int
ctl_offline_show_rcpt(struct buf *b, const struct qenv *e, uint32_t i)
{
	const struct qrcpt	*r = &e->rcpts[i];

	if (pack_str(b, r->addr) == -1 || pack_u32(b, r->state) == -1 ||
	    pack_u32(b, r->attempts) == -1 || pack_u64(b, r->next_try) == -1 ||
	    pack_str(b, r->last_reply) == -1 ||
	    pack_str(b, r->last_relay) == -1 ||
	    pack_u32(b, r->notify) == -1 || pack_str(b, r->orcpt) == -1)
		return -1;
	return 0;
}

/* ---- the copy ---- */

static int
path_join(char *out, size_t outsz, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, outsz, "%s/%s", dir, name) >= outsz) {
		fprintf(stderr, "posternctl: path too long: %s/%s\n", dir, name);
		return -1;
	}
	return 0;
}

/* Removes the files in the copy folder (it has no subfolders). */
static void
copy_clear(const char *dir)
{
	char		 p[PATH_MAX];
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (path_join(p, sizeof(p), dir, de->d_name) == 0 &&
			    unlink(p) == -1 && errno != ENOENT)
				fprintf(stderr, "posternctl: removing %s: %s\n",
				    p, strerror(errno));
		}
		closedir(d);
	}
}

/* Removes the copy folder and the files in it. */
static void
copy_remove(const char *dir)
{
	copy_clear(dir);
	if (rmdir(dir) == -1 && errno != ENOENT)
		fprintf(stderr, "posternctl: removing %s: %s\n", dir,
		    strerror(errno));
}

static int
copy_file(const char *from, const char *to)
{
	char		 blk[64 * 1024];
	struct stat	 st;
	ssize_t		 n, w, off;
	int		 in, out, rv = -1;

	/* the spool's owner could swap in a FIFO after our lstat: never wait */
	if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		fprintf(stderr, "posternctl: cannot read %s: %s\n", from,
		    strerror(errno));
		return -1;
	}
	if (fstat(in, &st) == -1 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "posternctl: %s: not a regular file\n", from);
		close(in);
		return -1;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "posternctl: cannot create %s: %s\n", to,
		    strerror(errno));
		close(in);
		return -1;
	}
	for (;;) {
		if ((n = read(in, blk, sizeof(blk))) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "posternctl: reading %s: %s\n", from,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		for (off = 0; off < n; off += w) {
			if ((w = write(out, blk + off, (size_t)(n - off))) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				fprintf(stderr, "posternctl: writing %s: %s\n",
				    to, strerror(errno));
				goto out;
			}
		}
	}
	rv = 0;
out:
	close(in);
	if (close(out) == -1 && rv == 0) {
		fprintf(stderr, "posternctl: writing %s: %s\n", to,
		    strerror(errno));
		rv = -1;
	}
	return rv;
}

static int
name_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int lx = strncmp(x, "log.", 4) == 0, ly = strncmp(y, "log.", 4) == 0;

	/* databases first, then the logs (as a hot backup copies them): the
	 * logs then hold at least everything the database pages show */
	if (lx != ly)
		return lx - ly;
	return strcmp(x, y);
}

/*
 * Copies the environment's files from src into the new folder dst: checks
 * that it may read them and that they fit first. -1 with the reason printed.
 */
static int
copy_env(const char *src, const char *dst)
{
	char		 from[PATH_MAX], to[PATH_MAX];
	char		**names = NULL, **nn;
	size_t		 n = 0, cap = 0, i;
	uint64_t	 need = 0, avail;
	struct statvfs	 vfs;
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int		 rv = -1;

	if ((d = opendir(src)) == NULL) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "posternctl: cannot read the spool "
			    "(%s: %s): the offline view needs root or read "
			    "access to it\n", src, strerror(errno));
		else
			fprintf(stderr, "posternctl: cannot read the spool "
			    "%s: %s\n", src, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!ctl_offline_copy_name(de->d_name))
			continue;
		if (path_join(from, sizeof(from), src, de->d_name) == -1)
			goto out;
		if (lstat(from, &st) == -1) {
			fprintf(stderr, "posternctl: %s: %s\n", from,
			    strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		if (access(from, R_OK) == -1) {
			fprintf(stderr, "posternctl: cannot read the spool "
			    "(%s: %s): the offline view needs root or read "
			    "access to it\n", from, strerror(errno));
			goto out;
		}
		if (n >= OFFLINE_MAX_FILES) {
			fprintf(stderr, "posternctl: %s: too many files\n", src);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nn = reallocarray(names, cap, sizeof(*names))) ==
			    NULL)
				goto oom;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
		if (__builtin_add_overflow(need, (uint64_t)st.st_size, &need))
			need = UINT64_MAX;
	}
	if (statvfs(dst, &vfs) == -1) {
		fprintf(stderr, "posternctl: %s: %s\n", dst, strerror(errno));
		goto out;
	}
	if (__builtin_mul_overflow((uint64_t)vfs.f_bavail,
	    (uint64_t)vfs.f_frsize, &avail))
		avail = UINT64_MAX;
	if (!ctl_offline_fits(need, avail)) {
		fprintf(stderr, "posternctl: the spool copy needs %llu MiB in "
		    "%s, only %llu MiB are free; set TMPDIR to a folder with "
		    "more room\n",
		    (unsigned long long)((need + CTL_OFFLINE_MARGIN) >> 20),
		    dst, (unsigned long long)(avail >> 20));
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (path_join(from, sizeof(from), src, names[i]) == -1 ||
		    path_join(to, sizeof(to), dst, names[i]) == -1 ||
		    copy_file(from, to) == -1)
			goto out;
	}
	rv = 0;
	goto out;
oom:
	fprintf(stderr, "posternctl: out of memory\n");
out:
	closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rv;
}

/* ---- the helper that answers like queue-mgr ---- */

struct serve_list {
	int		 fd;
	uint32_t	 count;
	int		 failed;
};

static int
serve_send(int fd, uint32_t type, const void *p, size_t len)
{
	return ipc_sync_send(fd, type, CTL_REQ_ID, -1, p, len);
}

static void
serve_error(int fd, const char *text)
{
	struct buf	 b;

	buf_init(&b);
	if (pack_str(&b, text) == 0)
		(void)serve_send(fd, IPC_CTL_ERROR, b.p, b.len);
	buf_free(&b);
}

static int
serve_list_cb(const char *qid, struct qenv *e, void *arg)
{
	struct serve_list	*sl = arg;
	struct buf		 b;
	int			 r = 0;

	/* a finished message whose removal never reached the disk */
	if (!ctl_offline_waiting(e)) {
		record_env_free(e);
		return 0;
	}
	buf_init(&b);
	if (ctl_offline_entry(&b, qid, e) == -1 ||
	    serve_send(sl->fd, IPC_CTL_QUEUE_ENTRY, b.p, b.len) == -1) {
		sl->failed = 1;
		r = -1;
	} else
		sl->count++;
	buf_free(&b);
	record_env_free(e);
	return r;
}

static void
serve_queue(struct spool *sp, int fd)
{
	struct serve_list	 sl = { fd, 0, 0 };
	struct buf		 b;

	if (spool_scan(sp, serve_list_cb, &sl) == -1) {
		if (!sl.failed)
			serve_error(fd, "cannot read the copy of the spool");
		return;
	}
	buf_init(&b);
	if (pack_u32(&b, sl.count) == 0)
		(void)serve_send(fd, IPC_CTL_END, b.p, b.len);
	buf_free(&b);
}

struct serve_show {
	int		 fd;
	uint64_t	 sent;
};

static int
serve_chunk_cb(const void *data, size_t len, void *arg)
{
	struct serve_show	*ss = arg;
	const uint8_t		*p = data;
	size_t			 n;

	while (len > 0) {
		n = len > IPC_MAX_PAYLOAD ? IPC_MAX_PAYLOAD : len;
		if (serve_send(ss->fd, IPC_CTL_CONTENT, p, n) == -1)
			return -1;
		p += n;
		len -= n;
		ss->sent += n;
	}
	return 0;
}

static void
serve_show(struct spool *sp, int fd, const struct ipc_msg *m)
{
	struct serve_show	 ss = { fd, 0 };
	struct unpack		 u;
	struct qenv		 e;
	struct buf		 b;
	char			*qid = NULL;
	uint32_t		 content, i;
	int			 r;

	unpack_init(&u, m->data, m->len);
	if (unpack_str(&u, &qid, CTL_MAX_ID) == -1 ||
	    unpack_u32(&u, &content) == -1 || unpack_done(&u) == -1 ||
	    content > 1) {
		free(qid);
		serve_error(fd, "malformed request");
		return;
	}
	r = qid_valid(qid, strlen(qid)) ? spool_get_envelope(sp, qid, &e) : 1;
	if (r == 0 && !ctl_offline_waiting(&e)) {
		/* finished: queue-mgr removes it at start */
		record_env_free(&e);
		r = 1;
	}
	if (r != 0) {
		free(qid);
		serve_error(fd, r == 1 ? "no such message" :
		    "cannot read the message from the copy");
		return;
	}
	buf_init(&b);
	if (ctl_offline_show_env(&b, qid, &e) == -1 ||
	    serve_send(fd, IPC_CTL_SHOW_ENV, b.p, b.len) == -1)
		goto out;
	for (i = 0; i < e.nrcpt; i++) {
		buf_reset(&b);
		if (ctl_offline_show_rcpt(&b, &e, i) == -1 ||
		    serve_send(fd, IPC_CTL_SHOW_RCPT, b.p, b.len) == -1)
			goto out;
	}
	if (content && spool_read_content(sp, qid, e.size, serve_chunk_cb,
	    &ss) == -1) {
		serve_error(fd, "cannot read the content from the copy");
		goto out;
	}
	buf_reset(&b);
	if (pack_u32(&b, (uint32_t)ss.sent) == 0)
		(void)serve_send(fd, IPC_CTL_END, b.p, b.len);
out:
	buf_free(&b);
	record_env_free(&e);
	free(qid);
}

/*
 * The copy's files are as the spool's owner wrote them, and Berkeley DB
 * parses them (recovery too): as root, a crafted page or log record would
 * be a way from _postern-queue to root. The helper reads them as that
 * user instead, who could read the originals anyway, from inside the
 * folder. 1 when not root (nothing done), 0 when dropped, -1 when it
 * cannot (the reason printed).
 */
static int
serve_drop(const char *dir, int janitor)
{
	struct passwd	*pw;
	struct dirent	*de;
	DIR		*d;
	int		 rv = 0;

	if (geteuid() != 0)
		return 1;
	if ((pw = getpwnam(USER_QUEUE)) == NULL || pw->pw_uid == 0) {
		fprintf(stderr, "posternctl: user %s does not exist: not "
		    "reading the copy as root\n", USER_QUEUE);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "posternctl: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rv == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fchownat(dirfd(d), de->d_name, pw->pw_uid, pw->pw_gid,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			fprintf(stderr, "posternctl: %s/%s: %s\n", dir,
			    de->d_name, strerror(errno));
			rv = -1;
		}
	}
	closedir(d);
	if (rv == 0 && chown(dir, pw->pw_uid, pw->pw_gid) == -1) {
		fprintf(stderr, "posternctl: %s: %s\n", dir, strerror(errno));
		rv = -1;
	}
	/* TMPDIR's parents may be closed to that user: work from inside */
	if (rv == 0 && chdir(dir) == -1) {
		fprintf(stderr, "posternctl: %s: %s\n", dir, strerror(errno));
		rv = -1;
	}
	if (rv == 0) {
		priv_drop(USER_QUEUE, NULL);
		/* a change of uid clears it: set again (see serve()) */
		if (janitor)
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	return rv;
}

/* The helper process: opens the copy, answers until posternctl closes. */
static void __attribute__((noreturn))
serve(const char *dir, int fd, sigset_t oldmask)
{
	struct spool	*sp = NULL;
	struct rlimit	 rl = { 0, 0 };
	struct ipc_msg	 m;
	uint8_t		*payload;
	pid_t		 janitor, pid;
	int		 opened = 0, dropped = 0, st;

	/* only posternctl's end closing stops us: then the copy goes (the
	 * terminal's ^C and ^\ reach the whole process group) */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* a core file would be one more copy of the mail, somewhere else */
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	/*
	 * Root stays behind, holding nothing but the folder's name: once the
	 * unprivileged server is gone (done, or killed), the folder goes,
	 * wherever TMPDIR is.
	 */
	janitor = getpid();
	pid = -1;
	if (geteuid() == 0 && (pid = fork()) > 0) {
		close(fd);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		copy_remove(dir);
		_exit(0);
	}
	/* the janitor killed: no server is left without one (without a
	 * janitor, fork failed, the server cleans up as before) */
	if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != janitor))
		_exit(1);
	log_init("posternctl", 1);
	/* recovery of a copy is routine: keep its chatter out of the output */
	log_set_level(LOG_LVL_WARN);
	payload = malloc(IPC_MAX_PAYLOAD);
	while (payload != NULL && ipc_sync_recv(fd, &m, payload, -1) == 0) {
		if (m.fd != -1)
			close(m.fd);
		/* posternctl asks only once the copy is complete */
		if (!opened) {
			switch (serve_drop(dir, pid == 0)) {
			case 0:
				dropped = 1;
				sp = spool_open(".");
				break;
			case 1:
				sp = spool_open(dir);
				break;
			}
			opened = 1;
		}
		if (sp == NULL)
			serve_error(fd, "cannot open the copy of the spool "
			    "(see above)");
		else if (m.type == IPC_CTL_QUEUE && m.len == 0)
			serve_queue(sp, fd);
		else if (m.type == IPC_CTL_SHOW)
			serve_show(sp, fd, &m);
		else
			serve_error(fd, "not available while postern is not "
			    "running");
	}
	free(payload);
	spool_close(sp);
	close(fd);
	if (dropped) {
		/* the folder itself, if TMPDIR lets us; else posternctl */
		copy_clear(".");
		(void)rmdir(dir);
	} else
		copy_remove(dir);
	_exit(0);
}

/* At exit: close our end, so the helper stops and removes the copy. */
static void
offline_reap(void)
{
	int	 st;

	if (offline_pid == -1)
		return;
	if (offline_fd != -1)
		(void)shutdown(offline_fd, SHUT_RDWR);
	while (waitpid(offline_pid, &st, 0) == -1 && errno == EINTR)
		;
	offline_pid = -1;
	/* the helper removed it, unless it was killed or crashed first */
	copy_remove(offline_dir);
}

int
ctl_try_connect(const struct config *c, int *fd)
{
	struct sockaddr_un	 sun;
	int			 s, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    c->spool, SPOOL_CONTROL_SOCK) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*fd = s;
		return 1;
	}
	e = errno;
	close(s);
	errno = e;
	return e == ENOENT || e == ECONNREFUSED ? 0 : -1;
}

int
ctl_offline_connect(const struct config *c, int force)
{
	char		 src[PATH_MAX], dir[PATH_MAX];
	const char	*tmp;
	sigset_t	 block, oldmask;
	int		 sv[2], fd;

	if (!force) {
		switch (ctl_try_connect(c, &fd)) {
		case 1:
			return fd;
		case -1:
			/* not allowed, or another error: say it as ever */
			return ctl_connect(c);
		}
	}
	if (force)
		fprintf(stderr, "posternctl: --offline: showing the queue as "
		    "last written (read-only copy)\n");
	else
		fprintf(stderr, "posternctl: %s\n", OFFLINE_NOTICE);
	if (path_join(src, sizeof(src), c->spool, SPOOL_QUEUE_DIR) == -1)
		exit(1);
	/* before anything is made: the usual reason is a non-root admin */
	if (access(src, R_OK | X_OK) == -1) {
		fprintf(stderr, "posternctl: cannot read the spool (%s: %s)%s\n",
		    src, strerror(errno), errno == EACCES || errno == EPERM ?
		    ": the offline view needs root or read access to it" : "");
		exit(1);
	}
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] != '/')
		tmp = "/tmp";
	/* a ^C must not leave a copy of the mail behind: signals wait until
	 * the helper that removes it is running */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	if (path_join(dir, sizeof(dir), tmp, "posternctl.XXXXXXXXXX") == -1)
		exit(1);
	/* mkdtemp makes it 0700: the copy holds mail */
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "posternctl: cannot make a folder in %s: %s\n",
		    tmp, strerror(errno));
		exit(1);
	}
	strlcpy(offline_dir, dir, sizeof(offline_dir));
	if (ipc_socketpair(sv) == -1) {
		fprintf(stderr, "posternctl: socketpair: %s\n", strerror(errno));
		copy_remove(dir);
		exit(1);
	}
	fflush(stdout);
	fflush(stderr);
	/*
	 * The helper starts before the copy: should we be killed (even by
	 * SIGKILL) while copying, it sees our end close and removes the
	 * folder; should it die, offline_reap() removes it.
	 */
	switch (offline_pid = fork()) {
	case -1:
		fprintf(stderr, "posternctl: fork: %s\n", strerror(errno));
		copy_remove(dir);
		exit(1);
	case 0:
		close(sv[0]);
		serve(dir, sv[1], oldmask);
	}
	close(sv[1]);
	offline_fd = sv[0];
	if (atexit(offline_reap) != 0) {
		offline_reap();
		exit(1);
	}
	/* a signal now ends us, even during a long copy; the helper sees
	 * our end close and cleans up */
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (copy_env(src, dir) == -1)
		exit(1);
	return sv[0];
}
