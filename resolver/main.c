/* postern-resolver: start-up of the DNS process; the work is in resolver.c. */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "privsep.h"
#include "resolver.h"

int
main(int argc, char **argv)
{
	struct daemon_args	 args;
	struct config		*conf;
	struct event_base	*base;
	struct ub_ctx		*ub;
	char			 root[1024];

	conf = daemon_init(argc, argv, "postern/resolver", &args);
	signal(SIGPIPE, SIG_IGN);
	/* libunbound lives on our loop, so the base exists before chroot */
	if ((base = event_base_new()) == NULL)
		log_fatal("resolver: cannot create the event base");
	if ((ub = resolver_ub_new(base, conf)) == NULL)
		log_fatal("resolver: cannot set up libunbound");
	daemon_spool_path(conf, SPOOL_RESOLVER_DIR, root, sizeof(root));
	priv_drop(USER_DNS, root);
	resolver_start(base, conf, ub, DAEMON_MASTER_FD);
	event_base_dispatch(base);
	return 0;
}
