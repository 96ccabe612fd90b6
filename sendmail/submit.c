/* postern-sendmail: who may choose the sender, address checks, and writing the pickup file. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "addr.h"
#include "message.h"
#include "pickup.h"
#include "submit.h"

int
sm_may_set_sender(const struct config *c, uid_t uid, const char *login)
{
	struct group	*gr;
	gid_t		 groups[256];
	int		 n = 256, i;

	if (uid == 0)
		return 1;
	if (c->submit_trusted_group[0] == '\0' ||
	    (gr = getgrnam(c->submit_trusted_group)) == NULL)
		return 0;
	if (getgrouplist(login, getgid(), groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

char *
sm_qualify(const char *a, const char *hostname)
{
	struct addr	 parsed;
	char		*s;

	if (strchr(a, '@') == NULL) {
		if (asprintf(&s, "%s@%s", a, hostname) == -1) {
			errno = ENOMEM;
			return NULL;
		}
	} else if ((s = strdup(a)) == NULL)
		return NULL;
	if (addr_parse_mailbox_flags(s, strlen(s), ADDR_F_UTF8, &parsed) == -1) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

/* The file appears in pickup/ whole or not at all: tmp name, fsync, rename. */
int
sm_drop(const char *spool, const struct buf *head, const struct buf *body,
    char *name, size_t namesz, struct buf *err)
{
	char		 dir[PATH_MAX], tmp[64];
	struct stat	 st;
	int		 dfd, fd, e;
	uint32_t	 rnd = arc4random();
	long long	 now = (long long)time(NULL);

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", spool, PICKUP_DIR) >=
	    sizeof(dir)) {
		buf_appends(err, "spool path too long");
		return EX_CONFIG;
	}
	/* O_PATH: the folder may be searched, never read (mode 1733) */
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		buf_appendf(err, "%s: %s (has postern been started once?)", dir,
		    strerror(errno));
		return EX_TEMPFAIL;
	}
	if (fstat(dfd, &st) == -1 || st.st_uid != 0 ||
	    (st.st_mode & 07777) != 01733) {
		close(dfd);
		buf_appendf(err, "%s is not root's with mode 1733; refusing", dir);
		return EX_CONFIG;
	}
	snprintf(tmp, sizeof(tmp), "tmp.%lld.%08x", now, rnd);
	snprintf(name, namesz, "%lld.%08x", now, rnd);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		buf_appendf(err, "%s/%s: %s", dir, tmp, strerror(errno));
		close(dfd);
		return EX_CANTCREAT;
	}
	if (write(fd, head->p, head->len) != (ssize_t)head->len ||
	    write(fd, body->p, body->len) != (ssize_t)body->len || fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlinkat(dfd, tmp, 0);
		close(dfd);
		buf_appendf(err, "writing %s/%s: %s", dir, tmp, strerror(e));
		return EX_TEMPFAIL;
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, name) == -1) {
		e = errno;
		unlinkat(dfd, tmp, 0);
		close(dfd);
		buf_appendf(err, "%s/%s: %s", dir, name, strerror(e));
		return EX_TEMPFAIL;
	}
	/*
	 * The file's bytes are synced; the folder cannot be from here (an
	 * O_PATH descriptor), so the rename reaches the disk with the file
	 * system's next journal commit (ext4 and xfs order it after the data).
	 */
	close(dfd);
	return EX_OK;
}

int
sm_submit_bs(void *arg, const struct sm_bs_msg *m, struct buf *note)
{
	struct sm_submit	*sub = arg;
	struct sm_opts		 o;
	struct pickup_env	 env;
	struct strlist		 none = { NULL, 0 };
	struct buf		 msg, head, err;
	char			 warning[512], name[64];
	int			 r;

	memset(&o, 0, sizeof(o));
	o.fullname = sub->fullname;
	o.hostname = sub->c->hostname;
	o.from = sub->login_addr;
	o.now = time(NULL);
	memset(&env, 0, sizeof(env));
	env.time = (uint64_t)o.now;
	if (m->sender_ok) {
		env.flags = PICKUP_F_SENDER_SET;
		env.sender = (char *)m->sender;
		/* a missing From: names the sender chosen, as Postfix's does */
		if (m->sender[0] != '\0')
			o.from = m->sender;
	} else {
		/* as with -f: the login's address, and a header saying so */
		env.sender = (char *)sub->login_addr;
		if (strcasecmp(m->sender, sub->login_addr) != 0) {
			snprintf(warning, sizeof(warning), "%s set sender to %s "
			    "using MAIL FROM; not allowed, sender kept as %s",
			    sub->login, m->sender[0] ? m->sender : "<>",
			    sub->login_addr);
			o.warning = warning;
		}
	}
	env.rcpt = m->rcpts->v;
	env.nrcpt = (uint32_t)m->rcpts->n;
	buf_init(&msg);
	buf_init(&head);
	buf_init(&err);
	if (sm_prepare(m->content, &o, &none, &msg) == -1 ||
	    pickup_encode(&env, &head) == -1) {
		r = -1;
		buf_appends(note, "451 4.3.0 Error: out of memory");
	} else if (sm_drop(sub->c->spool, &head, &msg, name, sizeof(name),
	    &err) != EX_OK) {
		r = -1;
		buf_appendf(note, "451 4.3.0 Error: %.*s", (int)err.len,
		    err.p ? err.p : "");
	} else {
		r = 0;
		buf_appendf(note, "submitted as pickup file %s", name);
	}
	strlist_free(&none);
	buf_free(&msg);
	buf_free(&head);
	buf_free(&err);
	return r;
}
