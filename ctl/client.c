/* posternctl: the control socket, and one request/reply exchange. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "format.h"
#include "ipc.h"
#include "pack.h"
#include "privsep.h"

int
ctl_connect(const struct config *c)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    c->spool, SPOOL_CONTROL_SOCK) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "posternctl: control socket path too long: "
		    "%s/%s\n", c->spool, SPOOL_CONTROL_SOCK);
		exit(1);
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "posternctl: socket: %s\n", strerror(errno));
		exit(1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ECONNREFUSED:
		fprintf(stderr, "posternctl: postern is not running (cannot "
		    "connect to %s: %s)\n", sun.sun_path, strerror(errno));
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr, "posternctl: permission denied on %s: run "
		    "posternctl as root or as a member of the admin group "
		    "(admin_group = %s)\n", sun.sun_path, c->admin_group);
		break;
	default:
		fprintf(stderr, "posternctl: cannot connect to %s: %s\n",
		    sun.sun_path, strerror(errno));
	}
	exit(1);
}

/* One reply frame; exits with a clear message on timeout or a dead peer. */
void
ctl_recv(int fd, struct ipc_msg *m, uint8_t *payload)
{
	if (ipc_sync_recv(fd, m, payload, CTL_TIMEOUT_MS) == 0) {
		if (m->fd != -1) {
			close(m->fd);
			m->fd = -1;
		}
		return;
	}
	if (errno == ETIMEDOUT)
		fprintf(stderr, "posternctl: no answer from postern within "
		    "%d s\n", CTL_TIMEOUT_MS / 1000);
	else if (errno == ECONNRESET)
		fprintf(stderr, "posternctl: postern closed the connection "
		    "(not allowed? see the mail log)\n");
	else if (errno == EPROTO)
		fprintf(stderr, "posternctl: malformed answer from postern\n");
	else
		fprintf(stderr, "posternctl: reading the answer: %s\n",
		    strerror(errno));
	exit(1);
}

/* IPC_CTL_ERROR's text on stderr, exit 1. */
void
ctl_fail(const struct ipc_msg *m)
{
	struct unpack	 u;
	struct buf	 safe;
	char		*s = NULL;

	unpack_init(&u, m->data, m->len);
	buf_init(&safe);
	if (unpack_str(&u, &s, CTL_MAX_ERROR) == -1 || unpack_done(&u) == -1 ||
	    ctl_term_safe(&safe, s) == -1 || buf_cstr(&safe) == NULL)
		fprintf(stderr, "posternctl: postern reported an error\n");
	else
		fprintf(stderr, "posternctl: %s\n", safe.p);
	exit(1);
}

void
ctl_send(int fd, uint32_t type, const struct buf *b)
{
	if (ipc_sync_send(fd, type, CTL_REQ_ID, -1, b ? b->p : NULL,
	    b ? b->len : 0) == -1) {
		fprintf(stderr, "posternctl: sending the request: %s\n",
		    strerror(errno));
		exit(1);
	}
}

void
ctl_out(const struct buf *b)
{
	if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len) {
		fprintf(stderr, "posternctl: writing output: %s\n",
		    strerror(errno));
		exit(1);
	}
}

/*
 * Sends one request and prints the daemon's IPC_CTL_OK text, made safe for
 * a terminal; an IPC_CTL_ERROR ends the program with its text.
 */
int
ctl_request_ok(int fd, uint32_t type, const struct buf *req)
{
	struct ipc_msg	 m;
	struct unpack	 u;
	struct buf	 safe;
	uint8_t		*payload;
	char		*s = NULL;
	int		 r = 1;

	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	buf_init(&safe);
	ctl_send(fd, type, req);
	ctl_recv(fd, &m, payload);
	if (m.type == IPC_CTL_ERROR)
		ctl_fail(&m);
	unpack_init(&u, m.data, m.len);
	if (m.type != IPC_CTL_OK)
		fprintf(stderr, "posternctl: unexpected %s from postern\n",
		    ipc_type_name(m.type));
	else if (unpack_str(&u, &s, CTL_MAX_ERROR) == -1 ||
	    unpack_done(&u) == -1 || ctl_term_safe(&safe, s) == -1 ||
	    buf_cstr(&safe) == NULL)
		fprintf(stderr, "posternctl: malformed answer from postern\n");
	else {
		printf("%s\n", safe.p);
		r = fflush(stdout) == 0 ? 0 : 1;
	}
	free(s);
	buf_free(&safe);
	free(payload);
	return r;
}

