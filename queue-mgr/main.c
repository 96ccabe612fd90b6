/* postern-queue: start-up of the queue manager (root-only set-up, then drop). */
#include <signal.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "privsep.h"
#include "qmgr.h"

int
main(int argc, char **argv)
{
	struct daemon_args	 args;
	struct config		*conf;
	char			 root[4096];

	conf = daemon_init(argc, argv, "postern/queue", &args);
	signal(SIGPIPE, SIG_IGN);
	/* /etc/group and /etc/passwd are out of reach after chroot */
	if (control_resolve_admin(conf->admin_group) == -1)
		log_fatal("resolving admin_group %s", conf->admin_group);
	if (control_resolve_read(conf->ctl_read_group) == -1)
		log_fatal("resolving ctl_read_group %s", conf->ctl_read_group);
	daemon_spool_path(conf, SPOOL_QUEUE_DIR, root, sizeof(root));
	priv_drop(USER_QUEUE, root);
	return qmgr_main(conf);
}
