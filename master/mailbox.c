/* Local mailboxes: Maildir and mbox writers; they run as the recipient, never as root. */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "mailbox.h"

#define MBOX_LOCK_TRIES		30	/* one a second */
#define MBOX_STALE_LOCK		300	/* a dot-lock this old is taken over */

static int
errno_result(int e)
{
	switch (e) {
	case ENOTDIR:
	case ELOOP:
	case EPERM:
		/* a symlink or a file where a folder should be, or a folder
		 * that is not the user's (ensure_dir's EPERM): never better */
		return MBOX_PERMFAIL;
	default:
		/*
		 * ENOENT and EACCES too, as Postfix's local(8) does: a home
		 * folder on a mount that is not there yet must not bounce the
		 * mail of every user; the queue lifetime ends a lasting case.
		 * ENOSPC, EDQUOT, EIO, EAGAIN...: maybe better later.
		 */
		return MBOX_TEMPFAIL;
	}
}

static int
fail(int result, char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int result, char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return result;
}

/* Is this a line that mboxrd quotes: '>'* "From "? */
static int
needs_quote(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

int
mbox_render(const struct mbox_msg *m, int mboxrd, struct buf *out)
{
	const char	*p = m->content, *end = m->content + m->len, *nl;
	size_t		 n;
	int		 r = 0;

	r |= buf_appendf(out, "Return-Path: <%s>\n", m->return_path);
	r |= buf_appendf(out, "Delivered-To: %s\n", m->delivered_to);
	while (p < end && r == 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* the spool holds CRLF; a mailbox holds LF */
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (mboxrd && needs_quote(p, n))
			r |= buf_appendc(out, '>');
		r |= buf_append(out, p, n);
		r |= buf_appendc(out, '\n');
		p = nl ? nl + 1 : end;
	}
	return r ? -1 : 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The folder a new entry was made in must be synced for it to last. */
static int
sync_parent(const char *path)
{
	char	 parent[PATH_MAX];
	char	*slash;
	int	 fd, r;

	if (strlcpy(parent, path, sizeof(parent)) >= sizeof(parent) ||
	    (slash = strrchr(parent, '/')) == NULL)
		return 0;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

static int
ensure_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0) {
		if (sync_parent(path) == -1)
			return -1;
	} else if (errno != EEXIST)
		return -1;
	if (lstat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
mbox_deliver_maildir(const char *dir, const struct mbox_msg *m,
    const char *hostname, char *why, size_t whysz)
{
	static unsigned	 seq;
	char		 sub[3][PATH_MAX], tmp[PATH_MAX], new[PATH_MAX];
	char		 host[256], unique[512];
	struct timeval	 tv;
	struct buf	 b;
	const char	*names[3] = { "tmp", "new", "cur" };
	size_t		 i, k;
	int		 fd, dfd, r;

	if (ensure_dir(dir) == -1)
		return fail(errno_result(errno), why, whysz, "maildir %s: %s",
		    dir, strerror(errno));
	for (i = 0; i < 3; i++) {
		if ((size_t)snprintf(sub[i], sizeof(sub[i]), "%s/%s", dir,
		    names[i]) >= sizeof(sub[i]))
			return fail(MBOX_PERMFAIL, why, whysz, "maildir path too long");
		if (ensure_dir(sub[i]) == -1)
			return fail(errno_result(errno), why, whysz,
			    "maildir %s: %s", sub[i], strerror(errno));
	}
	/* the spec: '/' and ':' in the host name are written as \057 and \072 */
	for (i = 0, k = 0; hostname[i] && k + 5 < sizeof(host); i++) {
		if (hostname[i] == '/' || hostname[i] == ':') {
			snprintf(host + k, 5, "\\%03o", (unsigned char)hostname[i]);
			k += 4;
		} else
			host[k++] = hostname[i];
	}
	host[k] = '\0';
	gettimeofday(&tv, NULL);
	snprintf(unique, sizeof(unique), "%lld.M%ldP%ldQ%u.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), ++seq, host);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", sub[0], unique) >= sizeof(tmp) ||
	    (size_t)snprintf(new, sizeof(new), "%s/%s", sub[1], unique) >= sizeof(new))
		return fail(MBOX_PERMFAIL, why, whysz, "maildir path too long");

	buf_init(&b);
	if (mbox_render(m, 0, &b) == -1) {
		buf_free(&b);
		return fail(MBOX_TEMPFAIL, why, whysz, "out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		r = fail(errno_result(errno), why, whysz, "maildir %s: %s", tmp,
		    strerror(errno));
		buf_free(&b);
		return r;
	}
	if (write_all(fd, b.p, b.len) == -1 || fsync(fd) == -1) {
		r = fail(MBOX_TEMPFAIL, why, whysz, "maildir %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		buf_free(&b);
		return r;
	}
	buf_free(&b);
	close(fd);
	/* link, not rename: an existing name in new/ is never overwritten */
	if (link(tmp, new) == -1) {
		r = fail(errno_result(errno), why, whysz, "maildir %s: %s", new,
		    strerror(errno));
		unlink(tmp);
		return r;
	}
	unlink(tmp);
	/* the new name must survive a crash too; if it cannot be made
	 * durable, try again later (a duplicate beats a loss) */
	if ((dfd = open(sub[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return fail(MBOX_TEMPFAIL, why, whysz, "maildir %s: %s", sub[1],
		    strerror(errno));
	r = fsync(dfd);
	close(dfd);
	if (r == -1)
		return fail(MBOX_TEMPFAIL, why, whysz, "maildir %s: fsync: %s",
		    sub[1], strerror(errno));
	snprintf(why, whysz, "delivered to maildir %s", new);
	return MBOX_OK;
}

int
mbox_prepare(const char *path, uid_t uid, gid_t gid, char *why, size_t whysz)
{
	struct stat	 st;
	int		 fd;

	if (lstat(path, &st) == 0)
		return MBOX_OK;		/* mbox_deliver_mbox checks what it is */
	if (errno != ENOENT)
		return fail(errno_result(errno), why, whysz, "mbox %s: %s", path,
		    strerror(errno));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return fail(errno_result(errno), why, whysz, "mbox %s: %s", path,
		    strerror(errno));
	if (fchown(fd, uid, gid) == -1) {
		close(fd);
		unlink(path);
		return fail(MBOX_TEMPFAIL, why, whysz, "mbox %s: chown: %s", path,
		    strerror(errno));
	}
	close(fd);
	return MBOX_OK;
}

/* A dot-lock beside the mailbox, as mail readers expect; -1 if not had. */
static int
dotlock(const char *path, char *lock, size_t locksz)
{
	struct stat	 st;
	int		 fd, i;

	if ((size_t)snprintf(lock, locksz, "%s.lock", path) >= locksz)
		return -1;
	for (i = 0; i < MBOX_LOCK_TRIES; i++) {
		fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd != -1) {
			close(fd);
			return 0;
		}
		if (errno != EEXIST)
			return -1;	/* no right to make one: fcntl lock only */
		if (lstat(lock, &st) == 0 && time(NULL) - st.st_mtime > MBOX_STALE_LOCK)
			unlink(lock);
		else
			sleep(1);
	}
	errno = EAGAIN;
	return -2;
}

int
mbox_deliver_mbox(const char *path, const struct mbox_msg *m, char *why,
    size_t whysz)
{
	struct stat	 st;
	struct flock	 fl;
	struct buf	 b;
	char		 lock[PATH_MAX + 8], date[64];
	struct tm	 tm;
	off_t		 start;
	int		 fd, dl, r = MBOX_OK;

	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return fail(errno_result(errno), why, whysz, "mbox %s: %s", path,
		    strerror(errno));
	/* what we opened is what we checked: no symlink, no hard link trick */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		close(fd);
		return fail(MBOX_PERMFAIL, why, whysz, "mbox %s: not a regular "
		    "file of its own owner with one link", path);
	}
	if ((dl = dotlock(path, lock, sizeof(lock))) == -2) {
		close(fd);
		return fail(MBOX_TEMPFAIL, why, whysz, "mbox %s: locked by "
		    "someone else", path);
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLKW, &fl) == -1) {
		r = fail(MBOX_TEMPFAIL, why, whysz, "mbox %s: lock: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((start = lseek(fd, 0, SEEK_END)) == -1) {
		r = fail(MBOX_TEMPFAIL, why, whysz, "mbox %s: %s", path,
		    strerror(errno));
		goto out;
	}
	gmtime_r(&m->arrival, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	buf_init(&b);
	/* each message ends with a blank line, so the next "From " is a separator */
	/* a sender with a space or quote would make the separator ambiguous */
	if (buf_appendf(&b, "From %s %s\n",
	    m->return_path[0] && strpbrk(m->return_path, " \t\"") == NULL ?
	    m->return_path : "MAILER-DAEMON", date) == -1 ||
	    mbox_render(m, 1, &b) == -1 || buf_appendc(&b, '\n') == -1) {
		buf_free(&b);
		r = fail(MBOX_TEMPFAIL, why, whysz, "out of memory");
		goto out;
	}
	if (write_all(fd, b.p, b.len) == -1 || fsync(fd) == -1) {
		r = fail(MBOX_TEMPFAIL, why, whysz, "mbox %s: %s", path,
		    strerror(errno));
		/* never leave half a message behind */
		if (ftruncate(fd, start) == -1 || fsync(fd) == -1)
			snprintf(why + strlen(why), whysz - strlen(why),
			    "; could not cut it back to %lld bytes",
			    (long long)start);
	} else
		snprintf(why, whysz, "delivered to mailbox %s", path);
	buf_free(&b);
out:
	if (dl == 0)
		unlink(lock);
	close(fd);
	return r;
}
