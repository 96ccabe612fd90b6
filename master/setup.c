/* The master's root-only set-up: users, spool folders, listening and control sockets. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "log.h"
#include "master.h"
#include "pickup.h"
#include "privsep.h"

#define USERADD		"/usr/sbin/useradd"

/*
 * "addr:port" or "[v6addr]:port" with a numeric address (never a name: the
 * master binds before any resolver exists, and a name could change meaning).
 */
int
setup_listen_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[256], port[8];
	uint16_t	 p;
	int		 br;

	if (hostport_parse(s, host, sizeof(host), &p, &br, 0) == -1 || p == 0)
		return -1;
	/* getaddrinfo would take inet_aton's "127.1" or "0x7f.1": be strict */
	if (strchr(host, ':') == NULL) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		memset(ss, 0, sizeof(*ss));
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*len = sizeof(*sin);
		return 0;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
		return -1;
	if ((res->ai_family != AF_INET && res->ai_family != AF_INET6) ||
	    res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return -1;
	}
	/* a bare v6 literal must stand in brackets, or its port is ambiguous */
	if (res->ai_family == AF_INET6 && !br) {
		freeaddrinfo(res);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* fork + execve, no shell: the argument list is fixed and ours. */
static int
run_useradd(const char *user)
{
	char	*envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char	*argv[12];
	char	 ubuf[64], gbuf[64];
	size_t	 n = 0;
	pid_t	 pid;
	int	 st;

	strlcpy(ubuf, user, sizeof(ubuf));
	strlcpy(gbuf, user, sizeof(gbuf));
	argv[n++] = "useradd";
	argv[n++] = "--system";
	argv[n++] = "--no-create-home";
	argv[n++] = "--home-dir";
	argv[n++] = "/nonexistent";
	argv[n++] = "--shell";
	argv[n++] = "/usr/sbin/nologin";
	/* a group left over from an earlier install makes --user-group fail */
	if (getgrnam(user) != NULL) {
		argv[n++] = "-g";
		argv[n++] = gbuf;
	} else
		argv[n++] = "--user-group";
	argv[n++] = ubuf;
	argv[n] = NULL;

	if ((pid = fork()) == -1) {
		log_errno("fork");
		return -1;
	}
	if (pid == 0) {
		execve(USERADD, argv, envp);
		log_errno("execve %s", USERADD);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR) {
			log_errno("waitpid");
			return -1;
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_err("%s %s failed (status %d)", USERADD, user,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -1;
	}
	return 0;
}

int
setup_users(void)
{
	static const char *users[] = { USER_SMTPD, USER_QUEUE, USER_DELIVER,
	    USER_DNS };
	struct passwd	*pw;
	size_t		 i;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (getpwnam(users[i]) != NULL)
			continue;
		if (run_useradd(users[i]) == -1)
			return -1;
		if ((pw = getpwnam(users[i])) == NULL) {
			log_err("user %s still missing after useradd", users[i]);
			return -1;
		}
		if (pw->pw_uid == 0) {
			log_err("user %s has uid 0", users[i]);
			return -1;
		}
		log_info("created user %s (uid %lu)", users[i],
		    (unsigned long)pw->pw_uid);
	}
	return 0;
}

/*
 * A folder under dfd with the owner and mode it must have, fixed if wrong.
 * Never follows a symlink: whoever could plant one could aim our chown at
 * any file. Returns an open fd on the folder.
 */
static int
ensure_dir(int dfd, const char *where, const char *name, mode_t mode,
    uid_t uid, gid_t gid)
{
	struct stat	 st;
	int		 fd;

	if (mkdirat(dfd, name, mode) == -1 && errno != EEXIST) {
		log_errno("mkdir %s/%s", where, name);
		return -1;
	}
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			log_err("%s/%s is not a folder (or is a symlink); "
			    "refusing to use it", where, name);
		else
			log_errno("open %s/%s", where, name);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_errno("fstat %s/%s", where, name);
		close(fd);
		return -1;
	}
	if (st.st_uid != uid || st.st_gid != gid) {
		if (fchown(fd, uid, gid) == -1) {
			log_errno("chown %s/%s", where, name);
			close(fd);
			return -1;
		}
		log_info("%s/%s: ownership set to %lu:%lu", where, name,
		    (unsigned long)uid, (unsigned long)gid);
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) == -1) {
		log_errno("chmod %s/%s", where, name);
		close(fd);
		return -1;
	}
	return fd;
}

/* The spool itself: created if missing, never a symlink, owned by root. */
/*
 * Every folder above the spool must be root's and writable by nobody else
 * (or sticky, as /tmp): otherwise a local user could swap the spool, or a
 * part of its path, between our checks and our use.
 */
static int
check_parents(const char *path, int self)
{
	char		 real[PATH_MAX], *p;
	struct stat	 st;

	if (realpath(path, real) == NULL) {
		log_errno("spool %s", path);
		return -1;
	}
	p = real + strlen(real);
	if (self) {
		/* the folder itself will hold the spool: the same rule */
		if (strlcat(real, "/x", sizeof(real)) >= sizeof(real))
			return -1;
		p = real + strlen(real);
	}
	while (p > real) {
		while (p > real && *--p != '/')
			;
		*p = '\0';
		if (lstat(p == real ? "/" : real, &st) == -1) {
			log_errno("spool parent %s", p == real ? "/" : real);
			return -1;
		}
		if (st.st_uid != 0 || ((st.st_mode & 022) &&
		    !(st.st_mode & S_ISVTX))) {
			log_err("spool %s: %s is not root's, or others may write "
			    "to it; refusing to use this spool", path,
			    p == real ? "/" : real);
			return -1;
		}
	}
	return 0;
}

static int
open_spool(const char *path)
{
	struct stat	 st;
	char		 tmp[PATH_MAX];
	char		*p;
	int		 fd;

	if (lstat(path, &st) == -1) {
		if (errno != ENOENT) {
			log_errno("spool %s", path);
			return -1;
		}
		/* mkdir -p, root-owned 0755, below folders nobody else controls */
		if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
			log_err("spool path too long: %s", path);
			return -1;
		}
		while ((p = strrchr(tmp, '/')) != NULL && p > tmp) {
			*p = '\0';
			if (lstat(tmp, &st) == 0)
				break;
		}
		if (check_parents(p == tmp ? "/" : tmp, p != tmp) == -1)
			return -1;
		strlcpy(tmp, path, sizeof(tmp));
		for (p = tmp + 1; ; p++) {
			if (*p != '/' && *p != '\0')
				continue;
			char c = *p;
			*p = '\0';
			if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
				log_errno("mkdir %s", tmp);
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
		log_info("created spool %s", path);
	}
	if (check_parents(path, 0) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			log_err("spool %s is a symlink or not a folder; "
			    "refusing to use it", path);
		else
			log_errno("spool %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_errno("fstat %s", path);
		close(fd);
		return -1;
	}
	if (st.st_uid != 0) {
		log_err("spool %s is owned by uid %lu, not root; refusing to "
		    "use it", path, (unsigned long)st.st_uid);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 07777) != 0755 && fchmod(fd, 0755) == -1) {
		log_errno("chmod %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* smtpd and deliver chroot here: anything inside would be theirs to read. */
static int
check_empty(int fd, const char *path)
{
	struct dirent	*de;
	DIR		*d;
	int		 dfd, r = 0;

	if ((dfd = dup(fd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		log_errno("opendir %s", path);
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		log_err("%s must be empty (smtpd and deliver chroot there) but "
		    "holds '%s'; refusing to start", path, de->d_name);
		r = -1;
		break;
	}
	closedir(d);
	return r;
}

/* Refreshes the resolver's copy of a file from /etc, replacing it whole. */
static int
copy_etc(const char *src, int dfd, const char *where, const char *name)
{
	char	 tmp[64], b[8192];
	ssize_t	 n;
	int	 in, out, r = -1;

	snprintf(tmp, sizeof(tmp), ".%s.new", name);
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1 && errno != ENOENT) {
		log_errno("open %s", src);
		return -1;
	}
	if (in == -1)
		log_warn("%s missing: the resolver gets an empty %s", src, name);
	(void)unlinkat(dfd, tmp, 0);
	if ((out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		log_errno("create %s/%s", where, tmp);
		goto done;
	}
	while (in != -1) {
		n = read(in, b, sizeof(b));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_errno("read %s", src);
			goto done;
		}
		if (n == 0)
			break;
		if (write(out, b, (size_t)n) != n) {
			log_errno("write %s/%s", where, tmp);
			goto done;
		}
	}
	if (fchown(out, 0, 0) == -1 || fchmod(out, 0644) == -1) {
		log_errno("chmod %s/%s", where, tmp);
		goto done;
	}
	if (renameat(dfd, tmp, dfd, name) == -1) {
		log_errno("rename %s/%s", where, name);
		goto done;
	}
	r = 0;
done:
	if (out != -1)
		close(out);
	if (in != -1)
		close(in);
	if (r == -1)
		(void)unlinkat(dfd, tmp, 0);
	return r;
}

int
setup_spool(const struct config *c)
{
	struct passwd	*pw;
	struct group	*gr;
	char		 where[PATH_MAX];
	uid_t		 quid;
	gid_t		 qgid, agid;
	int		 sfd, fd = -1, rfd = -1, efd = -1, r = -1;

	if ((pw = getpwnam(USER_QUEUE)) == NULL) {
		log_err("user %s does not exist", USER_QUEUE);
		return -1;
	}
	quid = pw->pw_uid;
	qgid = pw->pw_gid;
	if ((gr = getgrnam(c->admin_group)) == NULL) {
		log_err("admin_group %s: no such group", c->admin_group);
		return -1;
	}
	agid = gr->gr_gid;
	if ((sfd = open_spool(c->spool)) == -1)
		return -1;

	if ((fd = ensure_dir(sfd, c->spool, SPOOL_QUEUE_DIR, 0700, quid,
	    qgid)) == -1)
		goto done;
	close(fd);
	if ((fd = ensure_dir(sfd, c->spool, SPOOL_EMPTY_DIR, 0755, 0, 0)) == -1)
		goto done;
	snprintf(where, sizeof(where), "%s/%s", c->spool, SPOOL_EMPTY_DIR);
	if (check_empty(fd, where) == -1)
		goto done;
	close(fd);
	/* issue 7: others may pass through to the socket when ctl_read_group
	 * is set (queue-mgr checks each caller) */
	if ((fd = ensure_dir(sfd, c->spool, SPOOL_RUN_DIR,
	    c->ctl_read_group[0] != '\0' ? 0751 : 0750, 0, agid)) == -1)
		goto done;
	close(fd);
	/* anyone may drop a message here, nobody may list or take another's */
	if ((fd = ensure_dir(sfd, c->spool, PICKUP_DIR, 01733, 0, 0)) == -1)
		goto done;
	close(fd);
	fd = -1;
	if ((rfd = ensure_dir(sfd, c->spool, SPOOL_RESOLVER_DIR, 0755, 0,
	    0)) == -1)
		goto done;
	snprintf(where, sizeof(where), "%s/%s", c->spool, SPOOL_RESOLVER_DIR);
	if ((efd = ensure_dir(rfd, where, "etc", 0755, 0, 0)) == -1)
		goto done;
	snprintf(where, sizeof(where), "%s/%s/etc", c->spool, SPOOL_RESOLVER_DIR);
	if (copy_etc("/etc/resolv.conf", efd, where, "resolv.conf") == -1 ||
	    copy_etc("/etc/hosts", efd, where, "hosts") == -1)
		goto done;
	r = 0;
done:
	if (fd != -1)
		close(fd);
	if (efd != -1)
		close(efd);
	if (rfd != -1)
		close(rfd);
	close(sfd);
	return r;
}

static int
bind_one(const char *addr)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 fd, on = 1;

	if (setup_listen_addr(addr, &ss, &sl) == -1) {
		log_err("listen: '%s' is not a numeric address:port", addr);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_errno("socket for %s", addr);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)) {
		log_errno("setsockopt for %s", addr);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		log_errno("bind %s", addr);
		close(fd);
		return -1;
	}
	/* a short backlog drops SYNs under a burst of new clients */
	if (listen(fd, SOMAXCONN) == -1) {
		log_errno("listen %s", addr);
		close(fd);
		return -1;
	}
	return fd;
}

int
setup_listeners(struct master *m)
{
	const struct listener_conf	*l;
	struct master_sock		*s;
	size_t				 i, j;
	int				 fd;

	for (i = 0; i < m->conf->nlisteners; i++) {
		l = &m->conf->listeners[i];
		for (j = 0; j < l->listen.n; j++) {
			if ((fd = bind_one(l->listen.v[j])) == -1)
				return -1;
			if ((s = reallocarray(m->socks, m->nsocks + 1,
			    sizeof(*s))) == NULL) {
				close(fd);
				log_errno("listeners");
				return -1;
			}
			m->socks = s;
			s = &m->socks[m->nsocks];
			s->index = i;
			s->fd = fd;
			s->name = strdup(l->name);
			s->addr = strdup(l->listen.v[j]);
			m->nsocks++;
			if (s->name == NULL || s->addr == NULL) {
				log_errno("listeners");
				return -1;
			}
		}
	}
	return 0;
}

int
setup_control(struct master *m)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	struct group		*gr;
	mode_t			 old;
	int			 fd, probe, r;

	if ((gr = getgrnam(m->conf->admin_group)) == NULL) {
		log_err("admin_group %s: no such group", m->conf->admin_group);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(m->control_path, sizeof(m->control_path), "%s/%s",
	    m->conf->spool, SPOOL_CONTROL_SOCK) >= sizeof(m->control_path) ||
	    strlcpy(sun.sun_path, m->control_path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_err("control socket path too long: %s/%s", m->conf->spool,
		    SPOOL_CONTROL_SOCK);
		return -1;
	}
	if (lstat(m->control_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket; refusing to "
			    "replace it", m->control_path);
			return -1;
		}
		/* a socket that answers belongs to a running instance */
		if ((probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
		    0)) != -1) {
			if (connect(probe, (struct sockaddr *)&sun,
			    sizeof(sun)) == 0) {
				close(probe);
				log_err("another postern is running (%s "
				    "answers)", m->control_path);
				return -1;
			}
			close(probe);
		}
		if (unlink(m->control_path) == -1) {
			log_errno("unlink %s", m->control_path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_errno("control socket");
		return -1;
	}
	/* made 0660 at once; lchown never follows a swapped-in symlink */
	/* issue 7: 0666 when ctl_read_group is set; queue-mgr checks each
	 * caller's credentials per verb */
	old = umask(m->conf->ctl_read_group[0] != '\0' ? 0111 : 0117);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1) {
		log_errno("bind %s", m->control_path);
		close(fd);
		return -1;
	}
	if (lchown(m->control_path, 0, gr->gr_gid) == -1) {
		log_errno("chown %s", m->control_path);
		close(fd);
		unlink(m->control_path);
		return -1;
	}
	if (listen(fd, SOMAXCONN) == -1) {
		log_errno("listen %s", m->control_path);
		close(fd);
		unlink(m->control_path);
		return -1;
	}
	m->control_fd = fd;
	return 0;
}

/* Where the daemons are: libexec_dir, or beside our own executable. */
int
setup_libexec(struct master *m)
{
	char	 self[PATH_MAX], path[PATH_MAX];
	ssize_t	 n;
	int	 k;

	if (m->conf->libexec_dir[0] != '\0') {
		if (strlcpy(m->libexec, m->conf->libexec_dir,
		    sizeof(m->libexec)) >= sizeof(m->libexec)) {
			log_err("libexec_dir too long");
			return -1;
		}
	} else {
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
			log_errno("readlink /proc/self/exe");
			return -1;
		}
		self[n] = '\0';
		strlcpy(m->libexec, dirname(self), sizeof(m->libexec));
		/* the build tree has them beside us; an installed master finds
		 * them where make install put them */
		if (supervise_prog_path(path, sizeof(path), m->libexec,
		    m->child[PROC_SMTPD].prog) == 0 && access(path, X_OK) == -1)
			strlcpy(m->libexec, POSTERN_LIBEXECDIR, sizeof(m->libexec));
	}
	for (k = PROC_SMTPD; k < PROC_MAX; k++) {
		if (supervise_prog_path(path, sizeof(path), m->libexec,
		    m->child[k].prog) == -1) {
			log_err("path too long: %s/%s", m->libexec,
			    m->child[k].prog);
			return -1;
		}
		if (access(path, X_OK) == -1) {
			log_errno("cannot run %s", path);
			return -1;
		}
	}
	return 0;
}
