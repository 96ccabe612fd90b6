/* Local delivery in the master: IPC_LOCAL_JOB, IPC_RCPT_CHECK, and the maps they read. */
#ifndef POSTERN_MASTER_LOCALJOB_H
#define POSTERN_MASTER_LOCALJOB_H

#include <sys/types.h>

#include "master.h"

/* Reads aliases, virtual_maps and relay_recipients of m->conf. At start
 * (reload 0) a broken file is logged and left empty; on reload the old
 * maps are kept. -1 when any file had errors. */
int	localjob_load_maps(struct master *, int reload);
/* deliver's IPC_LOCAL_JOB; the answer comes later as IPC_LOCAL_RESULT. */
void	localjob_request(struct master *, struct master_child *,
	    struct ipc_msg *);
/* smtpd's IPC_RCPT_CHECK, answered at once. */
void	localjob_rcpt_check(struct master *, struct master_child *,
	    struct ipc_msg *);
/* The master reaped pid: 1 if it was a local delivery child. */
int	localjob_child_reaped(pid_t);

#endif
