/* posternctl: what the verbs share (the control socket, requests, verbs). */
#ifndef POSTERN_CTL_H
#define POSTERN_CTL_H

#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "ipc.h"

/* How long we wait for each answer from queue-mgr. */
#define CTL_TIMEOUT_MS	30000
#define CTL_REQ_ID	1

/* Connects to the control socket; exits with a clear message if postern is
 * not running or the caller is not allowed. */
int	ctl_connect(const struct config *);
/* One reply frame (a passed fd is closed); exits on timeout or a dead peer. */
void	ctl_recv(int fd, struct ipc_msg *, uint8_t *payload);
/* IPC_CTL_ERROR's text on stderr, then exit 1. */
void	ctl_fail(const struct ipc_msg *);
/* Sends one request (b may be NULL); exits on failure. */
void	ctl_send(int fd, uint32_t type, const struct buf *b);
/* Writes b to stdout; exits on failure. */
void	ctl_out(const struct buf *b);
/* Sends a request whose answer is IPC_CTL_OK (text printed) or
 * IPC_CTL_ERROR (exit 1 with its text). Returns the exit code. */
int	ctl_request_ok(int fd, uint32_t type, const struct buf *req);

/*
 * Verbs that parse their own arguments. argv[0] is the verb; conf is the
 * -f path (not yet loaded: a verb may work without the daemons).
 * Returns the exit code.
 */
struct ctl_verb {
	const char	*name;
	int		(*run)(const char *conf, int argc, char **argv);
	const char	*help;		/* usage line(s), "  verb ARGS  what\n" */
};
/* NULL-terminated; ctl/verbs.c. */
extern const struct ctl_verb ctl_verbs[];

#endif
