/* Pickup: files from postern-sendmail, checked by the master, queued by queue-mgr. */
#ifndef POSTERN_MASTER_IMPORT_H
#define POSTERN_MASTER_IMPORT_H

#include "master.h"

/* Where files that can never be queued are put, under the spool (0700). */
#define PICKUP_CORRUPT_DIR	"corrupt"

/* Starts the scan of <spool>/pickup (each second, while queue-mgr runs). */
int	pickup_start(struct master *);
/* queue-mgr's IPC_PICKUP_DONE. */
void	pickup_done(struct master *, struct ipc_msg *);

#endif
