/* posternctl's offline view: the queue read from a private copy of the spool. */
#ifndef POSTERN_CTL_OFFLINE_H
#define POSTERN_CTL_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

/* What the copy needs beyond the files' own size (recovery writes a little). */
#define CTL_OFFLINE_MARGIN	(4ULL * 1024 * 1024)

/*
 * A channel that answers IPC_CTL_QUEUE and IPC_CTL_SHOW: the control
 * socket when postern runs (and force is 0); else, when postern is not
 * running (or force is set), a helper process reading a read-only copy of
 * the spool made in a private temporary folder, which is removed when the
 * channel closes (at the latest at exit). Exits with a clear message when
 * neither works.
 */
int	ctl_offline_connect(const struct config *, int force);

/* The control socket without exiting: 1 connected (*fd set), 0 postern
 * is not running (ENOENT, ECONNREFUSED), -1 another error (errno). */
int	ctl_try_connect(const struct config *, int *fd);

/* 1 when a file of the environment folder belongs in the copy: database
 * files and logs, not Berkeley DB's __db.* region files. */
int	ctl_offline_copy_name(const char *name);
/* 1 when need bytes (plus CTL_OFFLINE_MARGIN) fit in avail. */
int	ctl_offline_fits(uint64_t need, uint64_t avail);

struct qenv;
/* What the live queue would say of a message that nothing delivers now:
 * enum queue_state (never active), next try, the last error. */
uint32_t	 ctl_offline_state(const struct qenv *);
uint64_t	 ctl_offline_next_try(const struct qenv *);
const char	*ctl_offline_last_error(const struct qenv *);
/* 1 when a recipient still waits (a message without one is removed). */
int		 ctl_offline_waiting(const struct qenv *);
/* The IPC_CTL_QUEUE_ENTRY, IPC_CTL_SHOW_ENV and IPC_CTL_SHOW_RCPT payloads,
 * exactly as queue-mgr packs them. -1 when out of memory. */
int	ctl_offline_entry(struct buf *, const char *qid, const struct qenv *);
int	ctl_offline_show_env(struct buf *, const char *qid, const struct qenv *);
int	ctl_offline_show_rcpt(struct buf *, const struct qenv *, uint32_t i);

#endif
