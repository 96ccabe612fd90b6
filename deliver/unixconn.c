/*
 * The connect helper for lmtp:unix: next hops. deliver is chrooted to an
 * empty folder, where no LMTP server's socket can be; so before chroot it
 * forks this child, which drops to _postern-deliver without chroot and
 * does one thing: connect to a unix socket path that the config named at
 * start, and pass the connected socket back. It reads nothing else and
 * trusts only the paths it was started with.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "daemon.h"
#include "deliver.h"
#include "log.h"
#include "privsep.h"

#define UNIXCONN_MAX_PATHS	64
#define UNIXCONN_TIMEOUT	5	/* s for the helper to answer */

static int	 helper_fd = -1;

static int
send_reply(int sock, int err, int fd)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr	*c;
	int32_t		 e = err;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &e;
	iov.iov_len = sizeof(e);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == -1 ? -1 : 0;
}

static void
helper_loop(int sock, struct strlist *paths)
{
	struct sockaddr_un	 sun;
	char			 req[sizeof(sun.sun_path)];
	ssize_t			 n;
	size_t			 i;
	int			 fd, err;

	for (;;) {
		n = recv(sock, req, sizeof(req) - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);	/* deliver is gone */
		req[n] = '\0';
		for (i = 0; i < paths->n; i++)
			if (strcmp(paths->v[i], req) == 0)
				break;
		fd = -1;
		err = 0;
		if (i == paths->n || memchr(req, '\0', (size_t)n) != NULL) {
			log_warn("deliver: connect helper: %s was not an "
			    "lmtp:unix: route at start; refused", req);
			err = EACCES;
		} else {
			memset(&sun, 0, sizeof(sun));
			sun.sun_family = AF_UNIX;
			strlcpy(sun.sun_path, req, sizeof(sun.sun_path));
			/* never wait: a full backlog is a failure now */
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
			if (fd == -1 || connect(fd, (struct sockaddr *)&sun,
			    sizeof(sun)) == -1) {
				err = errno;
				if (fd != -1)
					close(fd);
				fd = -1;
			}
		}
		if (send_reply(sock, err, fd) == -1)
			_exit(0);
		if (fd != -1)
			close(fd);
	}
}

void
unixconn_start(const struct config *c)
{
	struct strlist	 paths = { NULL, 0 };
	struct timeval	 tv = { UNIXCONN_TIMEOUT, 0 };
	const char	*v;
	char		**nv;
	size_t		 i;
	int		 sv[2];
	pid_t		 pid;

	for (i = 0; i < c->nroutes; i++) {
		v = c->routes[i].via;
		if (strncmp(v, "lmtp:unix:/", 11) != 0 ||
		    paths.n >= UNIXCONN_MAX_PATHS)
			continue;
		if ((nv = reallocarray(paths.v, paths.n + 1,
		    sizeof(*nv))) == NULL)
			log_fatal("deliver: out of memory");
		paths.v = nv;
		if ((paths.v[paths.n++] = strdup(v + 10)) == NULL)
			log_fatal("deliver: out of memory");
	}
	if (paths.n == 0)
		return;		/* no helper without a unix socket route */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		log_fatal("deliver: socketpair: %s", strerror(errno));
	if ((pid = fork()) == -1)
		log_fatal("deliver: fork: %s", strerror(errno));
	if (pid == 0) {
		close(sv[0]);
		/* the master's channel is deliver's, not ours */
		close(DAEMON_MASTER_FD);
		signal(SIGPIPE, SIG_IGN);
		priv_drop(USER_DELIVER, NULL);
		helper_loop(sv[1], &paths);
		_exit(0);
	}
	close(sv[1]);
	for (i = 0; i < paths.n; i++)
		free(paths.v[i]);
	free(paths.v);
	/* the helper answers at once or is broken: never hang deliver */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	helper_fd = sv[0];
	log_info("deliver: connect helper for LMTP unix sockets started "
	    "(pid %ld)", (long)pid);
}

int
unixconn_connect(const char *path)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr	*c;
	int32_t		 err = 0;
	ssize_t		 n;
	int		 fd = -1;

	if (helper_fd == -1) {
		/* a route added by a reload: the helper knows it not */
		log_warn("deliver: %s was not an lmtp:unix: route at start; "
		    "restart deliver to use it", path);
		errno = EACCES;
		return -1;
	}
	if (send(helper_fd, path, strlen(path), MSG_NOSIGNAL) == -1)
		return -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &err;
	iov.iov_len = sizeof(err);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(helper_fd, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(err)) {
		if (n >= 0)
			errno = EPROTO;
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (err != 0) {
		if (fd != -1)
			close(fd);
		errno = err;
		return -1;
	}
	if (fd == -1)
		errno = EPROTO;
	return fd;
}
