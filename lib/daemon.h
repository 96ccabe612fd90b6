/* What every child daemon does the same way at start. */
#ifndef POSTERN_DAEMON_H
#define POSTERN_DAEMON_H

#include "config.h"

/* The master hands every child its channel to the master on this fd, */
#define DAEMON_MASTER_FD	3
/* and on this one the config text it validated (a sealed memfd): a child
 * never runs a file the master has not checked. */
#define DAEMON_CONFIG_FD	4

struct daemon_args {
	const char	*conf_path;	/* -f FILE */
	int		 foreground;	/* -d: log to stderr */
};

/*
 * Parses "-f FILE [-d]", starts logging as ident (e.g. "postern/smtpd"),
 * checks that fd 3 is a socket, and loads the config. Exits on error.
 * The caller then does its own root-only set-up, priv_drop(), creates its
 * event base and wraps DAEMON_MASTER_FD with ipc_chan_new().
 */
struct config	*daemon_init(int argc, char **argv, const char *ident,
		    struct daemon_args *);
struct event_base;

/* SIGTERM and SIGINT end base's loop, logged as ident: for a daemon with
 * no work to finish first. Exits when the events cannot be set up. */
void		 daemon_stop_on_signals(struct event_base *, const char *ident);
/* path joined under the spool: "<spool>/<sub>"; exits when too long. */
void		 daemon_spool_path(const struct config *, const char *sub,
		    char *out, size_t outsz);

#endif
