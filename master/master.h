/* The master's shared state: children, listening sockets, set-up and supervision. */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <sys/types.h>
#include <sys/socket.h>

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "ipc.h"
#include "tls.h"

struct event;
struct event_base;

/* Where make install puts the daemons (the Makefile sets it from PREFIX). */
#ifndef POSTERN_LIBEXECDIR
#define POSTERN_LIBEXECDIR	"/usr/local/libexec/postern"
#endif

/* Restart backoff: the first restart waits BACKOFF_MIN, each quick crash
 * doubles it up to BACKOFF_MAX; a child that ran BACKOFF_RESET seconds is
 * healthy again. */
#define MASTER_BACKOFF_MIN	1
#define MASTER_BACKOFF_MAX	60
#define MASTER_BACKOFF_RESET	60
/* How long children get to exit after SIGTERM before SIGKILL. */
#define MASTER_STOP_GRACE	10

/* One listening TCP socket: a listener may listen on several addresses. */
struct master_sock {
	size_t	 index;		/* listener index in the config, order of the file */
	char	*name;		/* listener name, for log lines */
	char	*addr;		/* "addr:port" as written in the config */
	int	 fd;		/* kept for the master's life; children get dups */
};

struct master_child {
	enum proc_kind	 kind;
	const char	*name;		/* "queue-mgr", for log lines */
	const char	*prog;		/* "postern-queue", the file in libexec */
	pid_t		 pid;		/* 0 when not running */
	pid_t		 deaf_pid;	/* closed its channel; killed if it lingers */
	struct ipc_chan	*chan;
	time_t		 started;
	unsigned	 delay;		/* seconds waited before the last restart */
	struct event	*restart_ev;
};

struct master {
	struct config		*conf;
	struct buf		 conf_text;	/* exactly what conf was parsed from */
	struct tls_keys		 keys;		/* listeners' private keys, here only */
	struct ipc_chan		*signer;	/* smtpd asks for signatures here */
	char			 conf_path[PATH_MAX];	/* absolute */
	char			 libexec[PATH_MAX];
	char			 control_path[PATH_MAX];
	int			 foreground;
	struct event_base	*base;
	struct master_sock	*socks;
	size_t			 nsocks;
	int			 control_fd;
	struct master_child	 child[PROC_MAX];	/* by kind; PROC_MASTER unused */
	int			 stopping;
	struct event		*stop_ev;
	struct event		*sig_ev[4];
};

/* setup.c: what runs as root before any child starts. */
int	setup_listen_addr(const char *, struct sockaddr_storage *, socklen_t *);
int	setup_users(void);
int	setup_spool(const struct config *);
int	setup_listeners(struct master *);
int	setup_control(struct master *);
int	setup_libexec(struct master *);

/* supervise.c: spawning, channels between children, restart, stop. */
unsigned	 supervise_backoff(unsigned prev_delay, time_t ran);
int		 supervise_argv(char **argv, size_t n, const char *prog,
		    const char *conf_path, int foreground);
int		 supervise_prog_path(char *out, size_t sz, const char *dir,
		    const char *prog);
void		 supervise_init(struct master *);
int		 supervise_start(struct master *);
void		 supervise_send_config(struct master *, const struct buf *text);
const char	*supervise_kind_name(enum proc_kind);

/* reload.c: SIGHUP. */
void	reload_config(struct master *);
/* Each way the config makes an open relay: to fp, or the log if NULL. */
void	master_warn_open_relay(const struct config *, FILE *);

#endif
