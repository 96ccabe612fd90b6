/* Local delivery in the master: jobs from deliver resolved here, written by forked children, answered when all are done. */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "aliases.h"
#include "local.h"
#include "localjob.h"
#include "log.h"
#include "mailbox.h"
#include "pack.h"
#include "pickup.h"
#include "resolve.h"

#define LJ_MAX_ADDR	1024
#define LJ_MAX_QID	64
#define LJ_MAP_MAX	(16 * 1024 * 1024)	/* bytes of one map file */
#define LJ_INC_MAX	(1024 * 1024)		/* bytes of one :include: file */
#define LJ_HDR_SCAN	(256 * 1024)		/* header bytes searched for loops */
#define LJ_OUT_MAX	(64 * 1024)		/* what a child may report */
#define LJ_REPLY_MAX	256
#define LJ_FWD_DEPTH	4			/* .forward -> .forward ... */


enum task_kind { T_MAILBOX, T_PIPE, T_PICKUP };

struct lj_job;

/* One forked child's work: a mailbox, a command, or the re-injection. */
struct lj_task {
	TAILQ_ENTRY(lj_task)	 entry;		/* waiting to start */
	struct lj_task		*next;		/* all tasks running */
	struct lj_job		*job;
	int			 kind;
	size_t			 rcpt;		/* original recipient (not T_PICKUP) */
	char			*what;		/* user name or "|command" */
	int			 no_forward;	/* "\user", or came from its own .forward */
	int			 fwd_depth;
	pid_t			 pid;
	int			 fd;		/* read end of the result pipe */
	struct event		*ev;
	struct event		*timer;
	struct buf		 out;
};

struct lj_rcpt {
	char	*addr;
	int	 ok, temp, perm;
	char	 ok_text[LJ_REPLY_MAX];
	char	 fail_text[LJ_REPLY_MAX];	/* the first temp, else perm */
	int	 fail_temp;
	int	 remote;			/* has targets in the pickup */
};

struct lj_job {
	TAILQ_ENTRY(lj_job)	 entry;
	struct master		*m;
	pid_t			 deliver_pid;	/* answer only the deliver that asked */
	uint32_t		 id;
	int			 fd;		/* content */
	char			*qid;
	char			*sender;
	struct lj_rcpt		*r;
	size_t			 nrcpt;
	size_t			 tasks;		/* not yet reported */
	uint64_t		 made;		/* tasks made in all (local_fanout_limit) */
	struct strlist		 remote;	/* for the pickup */
	int			 pickup_done;
	struct strlist		 loops;		/* Delivered-To values in it */
};

static struct {
	struct aliases		 aliases;
	struct addr_map		 vmap;
	struct addr_map		 relay;
	int			 have_relay;
	int			 relay_broken;	/* at start: answer 4xx, not 5xx */
	TAILQ_HEAD(, lj_job)	 jobs;
	TAILQ_HEAD(, lj_task)	 waiting;
	struct lj_task		*running;
	size_t			 nrunning;
	unsigned		 seq;
	int			 init;
} lj;

static void	task_start_some(struct master *);
static void	job_maybe_done(struct lj_job *);

static void
lj_init(void)
{
	if (!lj.init) {
		TAILQ_INIT(&lj.jobs);
		TAILQ_INIT(&lj.waiting);
		lj.init = 1;
	}
}

/* ---- files: maps, includes, the password file ---- */

/* A file only root may have written: maps and includes decide where mail goes. */
static int
read_root_file(const char *path, size_t max, struct buf *out, char *why,
    size_t whysz)
{
	struct stat	 st;
	char		 tmp[8192];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0 || (uint64_t)st.st_size > max) {
		snprintf(why, whysz, "%s: not a regular file owned by root, "
		    "writable by root only, of at most %zu bytes", path, max);
		close(fd);
		return -1;
	}
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, whysz, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (out->len + (size_t)n > max || buf_append(out, tmp, (size_t)n) == -1) {
			snprintf(why, whysz, "%s: too large", path);
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static void
log_lines(const char *what, struct buf *err)
{
	char *s, *nl;

	if (buf_cstr(err) == NULL)
		return;
	for (s = err->p; *s != '\0'; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL) {
			log_err("%s: %s", what, s);
			break;
		}
		*nl = '\0';
		log_err("%s: %s", what, s);
	}
}

int
localjob_load_maps(struct master *m, int reload)
{
	struct aliases	 al = { NULL, 0 };
	struct addr_map	 vm = { NULL, 0 }, rr = { NULL, 0 };
	struct buf	 text, err;
	char		 why[512];
	int		 bad = 0;

	lj_init();
	buf_init(&text);
	buf_init(&err);
	/* a missing aliases file is an empty one: many hosts have none */
	if (m->conf->aliases[0] != '\0') {
		if (read_root_file(m->conf->aliases, LJ_MAP_MAX, &text, why,
		    sizeof(why)) == -1) {
			if (errno != ENOENT || access(m->conf->aliases, F_OK) == 0) {
				log_err("aliases: %s", why);
				bad = 1;
			}
		} else if (aliases_parse(m->conf->aliases, text.p ? text.p : "",
		    text.len, &al, &err) == -1) {
			log_lines("aliases", &err);
			bad = 1;
		}
	}
	buf_reset(&text);
	buf_reset(&err);
	if (!bad && m->conf->virtual_maps[0] != '\0') {
		if (m->conf->virtual_maps[0] != '/' || read_root_file(
		    m->conf->virtual_maps, LJ_MAP_MAX, &text, why,
		    sizeof(why)) == -1) {
			log_err("virtual_maps: %s", m->conf->virtual_maps[0] != '/' ?
			    "must be an absolute path" : why);
			bad = 1;
		} else if (addr_map_parse(m->conf->virtual_maps, text.p ?
		    text.p : "", text.len, 1, &vm, &err) == -1) {
			log_lines("virtual_maps", &err);
			bad = 1;
		}
	}
	buf_reset(&text);
	buf_reset(&err);
	if (!bad && m->conf->relay_recipients[0] != '\0') {
		if (m->conf->relay_recipients[0] != '/' || read_root_file(
		    m->conf->relay_recipients, LJ_MAP_MAX, &text, why,
		    sizeof(why)) == -1) {
			log_err("relay_recipients: %s",
			    m->conf->relay_recipients[0] != '/' ?
			    "must be an absolute path" : why);
			bad = 1;
		} else if (addr_map_parse(m->conf->relay_recipients, text.p ?
		    text.p : "", text.len, 0, &rr, &err) == -1) {
			log_lines("relay_recipients", &err);
			bad = 1;
		}
	}
	buf_free(&text);
	buf_free(&err);
	if (bad && reload) {
		log_err("reload: keeping the aliases and maps read before");
		aliases_free(&al);
		addr_map_free(&vm);
		addr_map_free(&rr);
		return -1;
	}
	aliases_free(&lj.aliases);
	addr_map_free(&lj.vmap);
	addr_map_free(&lj.relay);
	lj.aliases = al;
	lj.vmap = vm;
	lj.relay = rr;
	/* with a broken file at start, relay recipients get 4xx rather
	 * than all being accepted */
	lj.have_relay = m->conf->relay_recipients[0] != '\0';
	lj.relay_broken = lj.have_relay && bad;
	log_debug("local: %zu aliases, %zu virtual, %zu relay recipients",
	    lj.aliases.n, lj.vmap.n, lj.relay.n);
	return bad ? -1 : 0;
}

/* ":include:/path": one or more targets per line, '#' comments. */
static int
include_cb(const char *path, struct strlist *out, void *arg)
{
	struct buf	 text;
	char		 why[512];
	const char	*p, *end, *q;
	size_t		 n;

	buf_init(&text);
	if (path[0] != '/' || read_root_file(path, LJ_INC_MAX, &text, why,
	    sizeof(why)) == -1) {
		log_err("aliases: include %s", path[0] != '/' ?
		    "must be an absolute path" : why);
		buf_free(&text);
		return -1;
	}
	p = text.p ? text.p : "";
	end = p + text.len;
	while (p < end) {
		while (p < end && strchr(" \t\r\n,", *p) != NULL)
			p++;
		if (p < end && *p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		for (q = p; q < end && strchr(" \t\r\n,", *q) == NULL; q++)
			;
		if ((n = (size_t)(q - p)) > 0 && (memchr(p, '\0', n) != NULL ||
		    strlist_add(out, p, n) == -1)) {
			buf_free(&text);
			return -1;
		}
		p = q;
	}
	buf_free(&text);
	return 0;
}

/* getpwnam: NSS may block (LDAP...); the files backend does not. */
static int
getpw_cb(const char *user, uid_t *uid, void *arg)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			return 0;
		return -1;
	}
	*uid = pw->pw_uid;
	return 1;
}

static void
lres_setup(struct master *m, struct lres *r)
{
	memset(r, 0, sizeof(*r));
	r->conf = m->conf;
	r->aliases = &lj.aliases;
	r->vmap = &lj.vmap;
	r->relay = lj.have_relay ? &lj.relay : NULL;
	r->relay_broken = lj.relay_broken;
	r->getpw = getpw_cb;
	r->inc = include_cb;
	r->arg = m;
}

/* ---- IPC_RCPT_CHECK ---- */

void
localjob_rcpt_check(struct master *m, struct master_child *c,
    struct ipc_msg *msg)
{
	struct unpack	 u;
	struct lres	 r;
	struct buf	 b;
	char		*addr = NULL, why[256];
	int		 st;

	lj_init();
	unpack_init(&u, msg->data, msg->len);
	unpack_str(&u, &addr, LJ_MAX_ADDR);
	if (unpack_done(&u) != 0) {
		log_warn("local: malformed RCPT_CHECK from %s, ignored", c->name);
		free(addr);
		return;
	}
	lres_setup(m, &r);
	st = lres_check(&r, addr, why, sizeof(why));
	log_debug("local: rcpt check <%s>: %d %s", addr, st, why);
	buf_init(&b);
	if (pack_u32(&b, (uint32_t)st) == -1 || pack_str(&b, why) == -1 ||
	    ipc_send_buf(c->chan, IPC_RCPT_CHECK_REPLY, msg->id, -1, &b) == -1)
		log_err("local: cannot answer RCPT_CHECK");
	buf_free(&b);
	free(addr);
}

/* ---- the children ---- */

static void
child_report(int wfd, const char *s)
{
	size_t	 n = strlen(s);
	ssize_t	 w;

	while (n > 0) {
		if ((w = write(wfd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		s += w;
		n -= (size_t)w;
	}
}

static void __attribute__((noreturn))
child_exit(int wfd, int status, const char *text)
{
	char line[LJ_REPLY_MAX + 8];

	snprintf(line, sizeof(line), "S %d %s\n", status, text);
	child_report(wfd, line);
	_exit(0);
}

/* The content, whole, from the job's file. */
static char *
child_content(int fd, size_t *len)
{
	struct stat	 st;
	char		*p;
	size_t		 off = 0;
	ssize_t		 n;

	if (fstat(fd, &st) == -1 || st.st_size < 0 ||
	    (p = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	while (off < (size_t)st.st_size) {
		n = pread(fd, p + off, (size_t)st.st_size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return NULL;
		}
		off += (size_t)n;
	}
	*len = off;
	return p;
}

/* Bytes in a Maildir's new/ and cur/ (as the user). */
static uint64_t
maildir_size(const char *dir)
{
	static const char *const sub[] = { "new", "cur" };
	char		 path[PATH_MAX];
	struct dirent	*de;
	struct stat	 st;
	uint64_t	 total = 0;
	DIR		*d;
	int		 dfd;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub[i]) >=
		    sizeof(path))
			continue;
		if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
			if (dfd != -1)
				close(dfd);
			continue;
		}
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' && fstatat(dfd, de->d_name,
			    &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
				total += (uint64_t)st.st_size;
		closedir(d);
	}
	return total;
}

static int
in_list(const struct strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* ~/.forward, read as the user: its targets go back to the master. */
static int
child_forward(int wfd, const char *home, uid_t uid)
{
	struct stat	 st;
	char		 path[PATH_MAX], buf[8192], line[LJ_MAX_ADDR + 4];
	ssize_t		 n;
	size_t		 len = 0, i, k;
	int		 fd, any = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/.forward", home) >=
	    sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != uid ||
	    (st.st_mode & 022) != 0) {
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len,
	    sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	for (i = 0; i < len; ) {
		while (i < len && strchr(" \t\r\n,", buf[i]) != NULL)
			i++;
		if (i < len && buf[i] == '#') {
			while (i < len && buf[i] != '\n')
				i++;
			continue;
		}
		for (k = i; k < len && strchr(" \t\r\n,", buf[k]) == NULL; k++)
			;
		if (k > i && k - i < LJ_MAX_ADDR) {
			snprintf(line, sizeof(line), "F %.*s\n", (int)(k - i),
			    buf + i);
			child_report(wfd, line);
			any = 1;
		}
		i = k;
	}
	return any;
}

static void __attribute__((noreturn))
child_mailbox(struct master *m, struct lj_task *t, int wfd)
{
	struct lj_job	*j = t->job;
	struct passwd	*pw;
	struct mbox_msg	 msg;
	struct stat	 st;
	char		 path[PATH_MAX], why[512], text[LJ_REPLY_MAX], user[256];
	char		 home[PATH_MAX];
	const char	*mp;
	uid_t		 uid;
	gid_t		 gid;
	int		 mbox, r, f;

	if ((pw = getpwnam(t->what)) == NULL)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 user lookup failed");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	strlcpy(user, pw->pw_name, sizeof(user));
	strlcpy(home, pw->pw_dir, sizeof(home));
	mbox = m->conf->mailbox == MAILBOX_MBOX;
	if (in_list(&m->conf->mbox_users, user))
		mbox = 1;
	else if (in_list(&m->conf->maildir_users, user))
		mbox = 0;
	mp = m->conf->maildir_path;
	if (mbox)
		r = snprintf(path, sizeof(path), "%s/%s",
		    m->conf->mail_spool_directory, user);
	else if (mp[0] == '/')
		r = snprintf(path, sizeof(path), "%s", mp);
	else
		r = snprintf(path, sizeof(path), "%s/%s", home, mp);
	if (r < 0 || (size_t)r >= sizeof(path))
		child_exit(wfd, MBOX_PERMFAIL, "550 5.2.0 mailbox path too long");
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	/* /var/mail/USER is made as root, then only written as the user */
	if (mbox && mbox_prepare(path, uid, gid, why, sizeof(why)) != MBOX_OK) {
		log_err("%s: to=<%s>, user %s: %s", j->qid, j->r[t->rcpt].addr,
		    user, why);
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.2.0 mailbox unavailable");
	}
	if (local_become(user, uid, gid, mbox) == -1)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 cannot become the user");
	if (m->conf->forward_files && !t->no_forward) {
		if ((f = child_forward(wfd, home, uid)) == 1)
			child_exit(wfd, MBOX_OK, "250 2.0.0 forwarded");
		if (f == -1)
			log_warn("%s: %s/.forward ignored: not a file of %s, "
			    "writable by the user only", j->qid, home, user);
	}
	memset(&msg, 0, sizeof(msg));
	if ((msg.content = child_content(j->fd, &msg.len)) == NULL)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 message unreadable");
	if (m->conf->mailbox_size_limit > 0) {
		uint64_t have = mbox ? (stat(path, &st) == 0 ?
		    (uint64_t)st.st_size : 0) : maildir_size(path);

		if (have + msg.len > m->conf->mailbox_size_limit) {
			log_info("%s: to=<%s>, user %s: mailbox full (%llu "
			    "bytes, limit %llu)", j->qid, j->r[t->rcpt].addr,
			    user, (unsigned long long)have,
			    (unsigned long long)m->conf->mailbox_size_limit);
			child_exit(wfd, MBOX_TEMPFAIL, "452 4.2.2 Mailbox full");
		}
	}
	msg.return_path = j->sender;
	msg.delivered_to = j->r[t->rcpt].addr;
	msg.arrival = time(NULL);
	if (mbox)
		r = mbox_deliver_mbox(path, &msg, why, sizeof(why));
	else
		r = mbox_deliver_maildir(path, &msg, m->conf->hostname, why,
		    sizeof(why));
	if (r == MBOX_OK)
		snprintf(text, sizeof(text), "250 2.0.0 Delivered to %s",
		    mbox ? "mbox" : "maildir");
	else {
		log_info("%s: to=<%s>, user %s: %s", j->qid, j->r[t->rcpt].addr,
		    user, why);
		snprintf(text, sizeof(text), "%s", r == MBOX_TEMPFAIL ?
		    "451 4.2.0 Mailbox temporarily unavailable" :
		    "550 5.2.0 Mailbox unavailable");
	}
	child_exit(wfd, r, text);
}

static void __attribute__((noreturn))
child_pipe(struct master *m, struct lj_task *t, int wfd)
{
	struct lj_job	*j = t->job;
	struct passwd	*pw;
	struct mbox_msg	 msg;
	struct buf	 b;
	char		 text[LJ_REPLY_MAX];
	char		*envp[] = { "PATH=/usr/bin:/bin", "HOME=/", "SHELL=/bin/sh",
			    NULL, NULL };
	char		 envsender[LJ_MAX_ADDR + 8];
	pid_t		 pid;
	int		 mfd, st, nullfd;

	if ((pw = getpwnam(m->conf->alias_pipe_user)) == NULL || pw->pw_uid == 0)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.5 alias_pipe_user "
		    "unknown or root");
	memset(&msg, 0, sizeof(msg));
	if ((msg.content = child_content(j->fd, &msg.len)) == NULL)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 message unreadable");
	msg.return_path = j->sender;
	msg.delivered_to = j->r[t->rcpt].addr;
	buf_init(&b);
	if (mbox_render(&msg, 0, &b) == -1 ||
	    (mfd = memfd_create("postern-pipe", 0)) == -1 ||
	    write(mfd, b.p, b.len) != (ssize_t)b.len || lseek(mfd, 0, SEEK_SET) == -1)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 cannot stage the message");
	if (local_become(pw->pw_name, pw->pw_uid, pw->pw_gid, 0) == -1)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 cannot become "
		    "alias_pipe_user");
	snprintf(envsender, sizeof(envsender), "SENDER=%s", j->sender);
	envp[3] = envsender;
	if ((pid = fork()) == -1)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 fork failed");
	if (pid == 0) {
		nullfd = open("/dev/null", O_WRONLY);
		if (dup2(mfd, 0) == -1 || nullfd == -1 || dup2(nullfd, 1) == -1 ||
		    dup2(nullfd, 2) == -1)
			_exit(75);
		(void)close_range(3, ~0U, 0);
		if (chdir("/") == -1)
			_exit(75);
		execle("/bin/sh", "sh", "-c", t->what + 1, (char *)NULL, envp);
		_exit(75);
	}
	close(mfd);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 wait failed");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		child_exit(wfd, MBOX_OK, "250 2.0.0 Delivered to command");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 75)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 command failed "
		    "temporarily (exit 75)");
	snprintf(text, sizeof(text), "550 5.3.0 command failed (%s %d)",
	    WIFEXITED(st) ? "exit" : "signal",
	    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	child_exit(wfd, MBOX_PERMFAIL, text);
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* As root: one pickup file for every target elsewhere, synced with its folder. */
static void __attribute__((noreturn))
child_pickup(struct master *m, struct lj_task *t, int wfd)
{
	struct lj_job		*j = t->job;
	struct pickup_env	 env;
	struct buf		 b;
	char			 dir[PATH_MAX], tmp[128], name[128];
	char			*content;
	size_t			 len, i;
	int			 dfd, fd;

	memset(&env, 0, sizeof(env));
	env.time = (uint64_t)time(NULL);
	env.flags = PICKUP_F_SENDER_SET;
	env.sender = j->sender;
	env.rcpt = j->remote.v;
	env.nrcpt = (uint32_t)j->remote.n;
	buf_init(&b);
	if (pickup_encode(&env, &b) == -1)
		child_exit(wfd, MBOX_PERMFAIL, "550 5.3.4 too many recipients "
		    "to forward");
	/* the recipients that led here: a copy coming back is a loop */
	for (i = 0; i < j->nrcpt; i++)
		if (j->r[i].remote && buf_appendf(&b, "Delivered-To: %s\r\n",
		    j->r[i].addr) == -1)
			child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 out of memory");
	if ((content = child_content(j->fd, &len)) == NULL ||
	    buf_append(&b, content, len) == -1)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 message unreadable");
	snprintf(dir, sizeof(dir), "%s/%s", m->conf->spool, PICKUP_DIR);
	snprintf(tmp, sizeof(tmp), "tmp.local.%ld", (long)getpid());
	snprintf(name, sizeof(name), "local.%lld.%ld", (long long)time(NULL),
	    (long)getpid());
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 pickup folder missing");
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, b.p, b.len) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1 || renameat(dfd, tmp, dfd, name) == -1 ||
	    fsync(dfd) == -1) {
		log_err("%s: pickup %s/%s: %s", j->qid, dir, tmp, strerror(errno));
		(void)unlinkat(dfd, tmp, 0);
		child_exit(wfd, MBOX_TEMPFAIL, "451 4.3.0 cannot write the "
		    "forwarded copy");
	}
	child_exit(wfd, MBOX_OK, "250 2.0.0 Forwarded");
}

/* ---- tasks in the master ---- */

static void
task_free(struct lj_task *t)
{
	struct lj_task **pp;

	for (pp = &lj.running; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			lj.nrunning--;
			break;
		}
	if (t->ev != NULL)
		event_free(t->ev);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->fd != -1)
		close(t->fd);
	buf_free(&t->out);
	free(t->what);
	free(t);
}

static int
add_once_user(struct lres_out *o, const char *user)
{
	size_t i;

	for (i = 0; i < o->users.n; i++)
		if (strcmp(o->users.v[i], user) == 0)
			return 0;
	return strlist_add(&o->users, user, strlen(user));
}

static void
rcpt_note(struct lj_rcpt *r, int status, const char *text)
{
	if (status == MBOX_OK) {
		r->ok++;
		strlcpy(r->ok_text, text, sizeof(r->ok_text));
	} else if (status == MBOX_TEMPFAIL) {
		if (!r->fail_temp)
			strlcpy(r->fail_text, text, sizeof(r->fail_text));
		r->temp++;
		r->fail_temp = 1;
	} else {
		if (!r->fail_temp && r->perm == 0)
			strlcpy(r->fail_text, text, sizeof(r->fail_text));
		r->perm++;
	}
}

static void	job_add_targets(struct lj_job *, size_t, struct lres_out *,
		    int fwd_depth, const char *self);

/* "451 4.3.0 text" -> "4.3.0", for the log's dsn= field. */
static const char *
dsn_of(const char *text, int status, char *out, size_t outsz)
{
	size_t n;

	if (strlen(text) > 4 && text[3] == ' ' && isdigit((unsigned char)text[4]) &&
	    text[5] == '.' && (n = strspn(text + 4, "0123456789.")) < outsz) {
		memcpy(out, text + 4, n);
		out[n] = '\0';
		return out;
	}
	return status == MBOX_OK ? "2.0.0" : status == MBOX_TEMPFAIL ?
	    "4.0.0" : "5.0.0";
}

/* A result line "S n text", after any "F target" lines. */
static void
task_result(struct lj_task *t, int status, const char *text)
{
	struct lj_job	*j = t->job;
	char		 dsn[16];
	size_t		 i;

	if (t->kind == T_PICKUP) {
		j->pickup_done = 1;
		for (i = 0; i < j->nrcpt; i++)
			if (j->r[i].remote) {
				rcpt_note(&j->r[i], status, text);
				log_info("%s: to=<%s>, relay=local, status=%s "
				    "(%s; %zu forwarded copies via pickup)",
				    j->qid, j->r[i].addr, status == MBOX_OK ?
				    "sent" : status == MBOX_TEMPFAIL ?
				    "deferred" : "bounced", text, j->remote.n);
			}
		return;
	}
	rcpt_note(&j->r[t->rcpt], status, text);
	log_info("%s: to=<%s>, relay=local, dsn=%s, status=%s (%s %s: %s)",
	    j->qid, j->r[t->rcpt].addr, dsn_of(text, status, dsn, sizeof(dsn)),
	    status == MBOX_OK ? "sent" : status == MBOX_TEMPFAIL ? "deferred" :
	    "bounced", t->kind == T_PIPE ? "command" : "user", t->what, text);
}

/*
 * "\name" in a .forward: that login's mailbox, no alias, no .forward. An
 * unknown name or root is refused here, not left to the child, which
 * could only answer "try later" for ever.
 */
static int
fwd_direct(const struct lres *r, struct lres_out *o, const char *self,
    const char *name)
{
	uid_t	 uid = 0;
	int	 f, st;

	f = strcmp(name, self) == 0 ? 1 : r->getpw(name, &uid, r->arg);
	if (f == 1 && (strcmp(name, self) == 0 || uid != 0)) {
		if (add_once_user(o, name) == 0)
			return 0;
		f = -1;
	}
	st = f == -1 ? LRES_TEMP : f == 0 ? LRES_UNKNOWN : LRES_PERM;
	if (o->worst == LRES_OK || (st == LRES_TEMP && o->worst != LRES_TEMP)) {
		o->worst = st;
		snprintf(o->why, sizeof(o->why), "%s <%s>: %s", st == LRES_TEMP ?
		    "451 4.3.0" : st == LRES_UNKNOWN ? "550 5.1.1" : "550 5.7.1",
		    name, st == LRES_TEMP ? "user lookup failed" :
		    st == LRES_UNKNOWN ? "user unknown" :
		    "mail is never delivered as root");
	}
	return -1;
}

/* The child's report, parsed when it closed its end. */
static void
task_finish(struct master *m, struct lj_task *t)
{
	struct lj_job	*j = t->job;
	struct lres	 r;
	struct lres_out	 o;
	char		*s, *nl, *text = NULL;
	int		 status = MBOX_TEMPFAIL, got = 0, fwd = 0;

	lres_setup(m, &r);
	lres_out_init(&o);
	if (buf_appendc(&t->out, '\0') == 0) {
		for (s = t->out.p; s != NULL && *s != '\0'; s = nl) {
			if ((nl = strchr(s, '\n')) != NULL)
				*nl++ = '\0';
			if (s[0] == 'F' && s[1] == ' ' && t->kind == T_MAILBOX) {
				const char *tg = s + 2;

				fwd = 1;
				/* "\user" and the user itself: the own mailbox */
				if (tg[0] == '\\' || strcmp(tg, t->what) == 0) {
					if (fwd_direct(&r, &o, t->what, tg[0] ==
					    '\\' ? tg + 1 : tg) == -1)
						log_info("%s: %s's .forward: %s",
						    j->qid, t->what, o.why);
				} else if (lres_resolve(&r, tg, &o) != LRES_OK)
					log_info("%s: %s's .forward: %s", j->qid,
					    t->what, o.why);
			} else if (s[0] == 'S' && s[1] == ' ' &&
			    (s[2] >= '0' && s[2] <= '2') && s[3] == ' ') {
				status = s[2] - '0';
				text = s + 4;
				got = 1;
			}
		}
	}
	if (!got)
		task_result(t, MBOX_TEMPFAIL, "451 4.3.0 local delivery failed");
	else if (fwd && status == MBOX_OK) {
		if (t->fwd_depth >= LJ_FWD_DEPTH)
			task_result(t, MBOX_PERMFAIL, "550 5.4.6 .forward loop");
		else if (o.users.n + o.remote.n + o.pipes.n == 0)
			task_result(t, o.worst == LRES_TEMP ? MBOX_TEMPFAIL :
			    MBOX_PERMFAIL, o.why[0] ? o.why :
			    "550 5.1.1 .forward leads nowhere");
		else {
			log_info("%s: to=<%s>, user %s: forwarded by .forward",
			    j->qid, j->r[t->rcpt].addr, t->what);
			job_add_targets(j, t->rcpt, &o, t->fwd_depth + 1, t->what);
		}
	} else
		task_result(t, status, text);
	lres_out_free(&o);
	j->tasks--;
	task_free(t);
	task_start_some(m);
	job_maybe_done(j);
}

static void
task_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct lj_task	*t = arg;
	char		 tmp[4096];
	ssize_t		 n;

	n = read(fd, tmp, sizeof(tmp));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && t->out.len + (size_t)n <= LJ_OUT_MAX &&
	    buf_append(&t->out, tmp, (size_t)n) == 0)
		return;
	if (n > 0)
		kill(-t->pid, SIGKILL);		/* it says too much: stop it */
	task_finish(t->job->m, t);
}

static void
task_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct lj_task	*t = arg;
	struct lj_job	*j = t->job;

	log_err("%s: to=<%s>: local delivery took longer than %llus; killed",
	    j->qid, t->kind == T_PICKUP ? "(forward)" : j->r[t->rcpt].addr,
	    (unsigned long long)j->m->conf->local_delivery_timeout);
	kill(-t->pid, SIGKILL);
	buf_reset(&t->out);
	(void)buf_appends(&t->out, "S 1 451 4.3.0 local delivery timed out\n");
	task_finish(j->m, t);
}

static void
task_failed_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct lj_task *t = arg;

	task_finish(t->job->m, t);
}

/*
 * The child keeps only what it needs: it runs as the user (or writes as
 * root), and the master's other descriptors (channels to the daemons,
 * listeners, other jobs' messages) are none of its business.
 */
static void
child_close_fds(int a, int b)
{
	int lo, hi;

	if (b < 3)		/* nothing else to keep */
		b = a;
	lo = a < b ? a : b;
	hi = a < b ? b : a;
	if (lo > 3)
		(void)close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	(void)close_range((unsigned)hi + 1, ~0U, 0);
}

static void
task_run(struct master *m, struct lj_task *t)
{
	struct timeval	 tv;
	sigset_t	 none;
	int		 p[2];
	pid_t		 pid;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_errno("local: pipe/fork");
		/* finished from the loop: the caller may still use the job */
		t->next = lj.running;
		lj.running = t;
		lj.nrunning++;
		buf_reset(&t->out);
		(void)buf_appends(&t->out, "S 1 451 4.3.0 cannot start "
		    "delivery\n");
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		if ((t->timer = evtimer_new(m->base, task_failed_cb, t)) == NULL ||
		    evtimer_add(t->timer, &tv) == -1)
			log_err("local: cannot schedule; a job is stranded");
		return;
	}
	if (pid == 0) {
		close(p[0]);
		/* it holds a copy of the master's memory (TLS keys): once it
		 * is the user, the user must not be able to read it */
		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		/*
		 * Its own session (and so group): a timeout kills a command's
		 * children too, and with "postern -d" nothing it runs shares
		 * the admin's terminal (/dev/tty, TIOCSTI), as the daemons.
		 */
		(void)setsid();
		child_close_fds(p[1], t->job->fd);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (t->kind == T_MAILBOX)
			child_mailbox(m, t, p[1]);
		else if (t->kind == T_PIPE)
			child_pipe(m, t, p[1]);
		child_pickup(m, t, p[1]);
	}
	close(p[1]);
	/* no setpgid(pid, pid) here: a group leader cannot call setsid() */
	t->pid = pid;
	t->fd = p[0];
	t->next = lj.running;
	lj.running = t;
	lj.nrunning++;
	(void)fcntl(t->fd, F_SETFL, O_NONBLOCK);
	tv.tv_sec = (time_t)m->conf->local_delivery_timeout;
	tv.tv_usec = 0;
	if ((t->ev = event_new(m->base, t->fd, EV_READ | EV_PERSIST,
	    task_read_cb, t)) == NULL || event_add(t->ev, NULL) == -1 ||
	    (t->timer = evtimer_new(m->base, task_timeout_cb, t)) == NULL ||
	    evtimer_add(t->timer, &tv) == -1) {
		log_err("local: cannot watch delivery child %ld", (long)pid);
		kill(pid, SIGKILL);
		kill(-pid, SIGKILL);
	}
}

/* Children running now for the same user (or alias command). */
static size_t
running_for(const struct lj_task *t)
{
	const struct lj_task	*r;
	size_t			 n = 0;

	for (r = lj.running; r != NULL; r = r->next)
		if (r->kind == t->kind && r->what != NULL &&
		    strcmp(r->what, t->what) == 0)
			n++;
	return n;
}

/*
 * Starts waiting tasks up to the global limit, but at most
 * local_delivery_per_user at once for one user or command: a user whose
 * mailbox hangs (a held lock, a stalled file system) ties up that many
 * children, not all of them. Later tasks for others go first meanwhile.
 */
static void
task_start_some(struct master *m)
{
	struct lj_task *t, *next;

	for (t = TAILQ_FIRST(&lj.waiting); t != NULL &&
	    lj.nrunning < m->conf->local_delivery_concurrency; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->what != NULL && t->kind != T_PICKUP &&
		    running_for(t) >= m->conf->local_delivery_per_user)
			continue;
		TAILQ_REMOVE(&lj.waiting, t, entry);
		task_run(m, t);
	}
}

static void
task_add(struct lj_job *j, int kind, size_t rcpt, const char *what,
    int no_forward, int fwd_depth)
{
	struct lj_task *t;

	/*
	 * local_fanout_limit: accounts whose .forward files name each other
	 * would otherwise multiply one message at each level.
	 */
	if (kind != T_PICKUP && j->made >= j->m->conf->local_fanout_limit) {
		if (j->made++ == j->m->conf->local_fanout_limit)
			log_warn("%s: more than %llu local deliveries for one "
			    "message (aliases, .forward); the rest refused",
			    j->qid,
			    (unsigned long long)j->m->conf->local_fanout_limit);
		rcpt_note(&j->r[rcpt], MBOX_PERMFAIL, "554 5.4.6 too many "
		    "local deliveries for one message (alias or .forward loop?)");
		return;
	}
	if (kind != T_PICKUP)
		j->made++;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (what != NULL && (t->what = strdup(what)) == NULL)) {
		free(t);
		if (kind == T_PICKUP)
			j->pickup_done = 1;
		rcpt_note(&j->r[rcpt], MBOX_TEMPFAIL, "451 4.3.0 out of memory");
		return;
	}
	t->job = j;
	t->kind = kind;
	t->rcpt = rcpt;
	t->no_forward = no_forward;
	t->fwd_depth = fwd_depth;
	t->fd = -1;
	buf_init(&t->out);
	j->tasks++;
	TAILQ_INSERT_TAIL(&lj.waiting, t, entry);
}

int
localjob_child_reaped(pid_t pid)
{
	struct lj_task *t;

	for (t = lj.running; t != NULL; t = t->next)
		if (t->pid == pid)
			return 1;	/* its pipe's EOF carries the result */
	return 0;
}

/* ---- jobs ---- */

static void
job_free(struct lj_job *j)
{
	size_t i;

	TAILQ_REMOVE(&lj.jobs, j, entry);
	for (i = 0; i < j->nrcpt; i++)
		free(j->r[i].addr);
	free(j->r);
	strlist_free(&j->remote);
	strlist_free(&j->loops);
	if (j->fd != -1)
		close(j->fd);
	free(j->qid);
	free(j->sender);
	free(j);
}

static void
job_answer(struct lj_job *j)
{
	struct master_child	*d = &j->m->child[PROC_DELIVER];
	struct buf		 b;
	struct lj_rcpt		*r;
	const char		*text;
	size_t			 i, per;
	int			 e = 0, st;

	/* the texts are short and bounded, but a frame has room for 100 */
	per = (IPC_MAX_PAYLOAD - 16) / (j->nrcpt ? j->nrcpt : 1) - 24;
	if (per > LJ_REPLY_MAX)
		per = LJ_REPLY_MAX;
	buf_init(&b);
	e |= pack_u32(&b, (uint32_t)j->nrcpt);
	for (i = 0; i < j->nrcpt; i++) {
		r = &j->r[i];
		if (r->temp > 0 || (r->ok == 0 && r->perm == 0)) {
			st = RCPT_TEMPFAIL;
			text = r->fail_text[0] ? r->fail_text :
			    "451 4.3.0 local delivery not attempted";
		} else if (r->ok > 0) {
			st = RCPT_OK;
			text = r->ok_text;
		} else {
			st = RCPT_PERMFAIL;
			text = r->fail_text;
		}
		e |= pack_u32(&b, (uint32_t)st);
		e |= pack_u32(&b, (uint32_t)strnlen(text, per));
		e |= buf_append(&b, text, strnlen(text, per));
		e |= pack_str(&b, "local");
	}
	if (e != 0)
		log_err("%s: out of memory for the local result", j->qid);
	else if (d->chan == NULL || d->pid != j->deliver_pid)
		log_warn("%s: deliver was restarted; the local result is "
		    "dropped (queue-mgr retries)", j->qid);
	else if (ipc_send_buf(d->chan, IPC_LOCAL_RESULT, j->id, -1, &b) == -1)
		log_err("%s: cannot send the local result", j->qid);
	buf_free(&b);
}

static void
job_maybe_done(struct lj_job *j)
{
	if (j->tasks > 0)
		return;
	if (j->remote.n > 0 && !j->pickup_done) {
		/* every .forward has been read: now the one copy elsewhere */
		task_add(j, T_PICKUP, 0, NULL, 1, 0);
		if (j->tasks > 0) {
			task_start_some(j->m);
			return;
		}
	}
	job_answer(j);
	job_free(j);
}

static int
job_is_loop(struct lj_job *j, const char *addr)
{
	size_t i;

	for (i = 0; i < j->loops.n; i++)
		if (strcasecmp(j->loops.v[i], addr) == 0)
			return 1;
	return 0;
}

/*
 * The targets of recipient i become tasks; self is the user whose
 * .forward named them (delivered without reading .forward again).
 */
static void
job_add_targets(struct lj_job *j, size_t i, struct lres_out *o, int fwd_depth,
    const char *self)
{
	size_t k;

	for (k = 0; k < o->users.n; k++)
		task_add(j, T_MAILBOX, i, o->users.v[k], self != NULL &&
		    strcmp(self, o->users.v[k]) == 0, fwd_depth);
	for (k = 0; k < o->pipes.n; k++)
		task_add(j, T_PIPE, i, o->pipes.v[k], 1, fwd_depth);
	for (k = 0; k < o->remote.n; k++) {
		if (j->remote.n >= PICKUP_MAX_RCPT) {
			rcpt_note(&j->r[i], MBOX_PERMFAIL, "550 5.3.4 too many "
			    "forwarding targets");
			break;
		}
		if (!in_list(&j->remote, o->remote.v[k]) &&
		    strlist_add(&j->remote, o->remote.v[k],
		    strlen(o->remote.v[k])) == -1) {
			rcpt_note(&j->r[i], MBOX_TEMPFAIL, "451 4.3.0 out of memory");
			break;
		}
		j->r[i].remote = 1;
	}
	if (o->worst != LRES_OK)
		log_info("%s: to=<%s>: part of the expansion failed: %s",
		    j->qid, j->r[i].addr, o->why);
}

/* The Delivered-To headers already in the message. */
static void
job_scan_loops(struct lj_job *j)
{
	char		*h;
	ssize_t		 n;
	const char	*p, *end, *nl, *v;
	size_t		 len, vl;

	if ((h = malloc(LJ_HDR_SCAN)) == NULL)
		return;
	n = pread(j->fd, h, LJ_HDR_SCAN, 0);
	p = h;
	end = h + (n > 0 ? n : 0);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len == 0 || (len == 1 && p[0] == '\r'))
			break;
		if (len > 13 && strncasecmp(p, "Delivered-To:", 13) == 0) {
			v = p + 13;
			vl = len - 13;
			while (vl > 0 && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			if (vl > 0 && vl < LJ_MAX_ADDR && j->loops.n < 100)
				(void)strlist_add(&j->loops, v, vl);
		}
		p = nl ? nl + 1 : end;
	}
	free(h);
}

void
localjob_request(struct master *m, struct master_child *c, struct ipc_msg *msg)
{
	struct lj_job	*j;
	struct unpack	 u;
	struct lres	 r;
	struct lres_out	 o;
	struct stat	 st;
	char		*domain = NULL, dsn[16];
	uint32_t	 n, i;
	int		 s;

	lj_init();
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_err("local: out of memory for job %u", msg->id);
		return;
	}
	j->m = m;
	j->fd = -1;
	j->id = msg->id;
	j->deliver_pid = c->pid;
	TAILQ_INSERT_TAIL(&lj.jobs, j, entry);
	unpack_init(&u, msg->data, msg->len);
	unpack_str(&u, &j->qid, LJ_MAX_QID);
	unpack_str(&u, &j->sender, LJ_MAX_ADDR);
	unpack_str(&u, &domain, 256);
	if (unpack_u32(&u, &n) == -1 || n == 0 || n > IPC_JOB_MAX_RCPT ||
	    (j->r = calloc(n, sizeof(*j->r))) == NULL)
		goto bad;
	j->nrcpt = n;
	for (i = 0; i < n; i++)
		if (unpack_str(&u, &j->r[i].addr, LJ_MAX_ADDR) == -1)
			goto bad;
	/* the DSN extension may follow: it does not change local delivery */
	if (u.err || msg->fd == -1 || fstat(msg->fd, &st) == -1 ||
	    !S_ISREG(st.st_mode))
		goto bad;
	j->fd = msg->fd;
	msg->fd = -1;
	free(domain);
	job_scan_loops(j);
	lres_setup(m, &r);
	for (i = 0; i < n; i++) {
		if (job_is_loop(j, j->r[i].addr)) {
			rcpt_note(&j->r[i], MBOX_PERMFAIL, "550 5.4.6 mail "
			    "forwarding loop (Delivered-To)");
			log_info("%s: to=<%s>, relay=local, dsn=5.4.6, "
			    "status=bounced (mail forwarding loop)", j->qid,
			    j->r[i].addr);
			continue;
		}
		lres_out_init(&o);
		if ((s = lres_resolve(&r, j->r[i].addr, &o)) != LRES_OK) {
			rcpt_note(&j->r[i], s == LRES_TEMP ? MBOX_TEMPFAIL :
			    MBOX_PERMFAIL, o.why);
			log_info("%s: to=<%s>, relay=local, dsn=%s, "
			    "status=%s (%s)", j->qid, j->r[i].addr,
			    dsn_of(o.why, s == LRES_TEMP ? MBOX_TEMPFAIL :
			    MBOX_PERMFAIL, dsn, sizeof(dsn)), s == LRES_TEMP ?
			    "deferred" : "bounced", o.why);
		} else
			job_add_targets(j, i, &o, 0, NULL);
		lres_out_free(&o);
	}
	task_start_some(m);
	job_maybe_done(j);
	return;
bad:
	log_warn("local: malformed LOCAL_JOB %u from %s, ignored", msg->id,
	    c->name);
	free(domain);
	job_free(j);
}
