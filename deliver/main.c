/* postern-deliver: start-up of the SMTP client process; the work is in deliver.c. */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "daemon.h"
#include "deliver.h"
#include "log.h"
#include "privsep.h"

int
main(int argc, char **argv)
{
	struct daemon_args	 args;
	struct config		*conf;
	struct event_base	*base;
	struct ssl_ctx_st	*ssl_ctx;
	char			 root[1024];

	conf = daemon_init(argc, argv, "postern/deliver", &args);
	signal(SIGPIPE, SIG_IGN);
	/* what cannot be read once chrooted: passwords, CA store, sockets */
	secrets_load(conf);
	tls_preload(conf->smtp_tls_ca_file);
	unixconn_start(conf);
	localdom_load(conf);
	daemon_spool_path(conf, SPOOL_EMPTY_DIR, root, sizeof(root));
	priv_drop(USER_DELIVER, root);
	if ((ssl_ctx = tls_client_ctx()) == NULL)
		log_warn("deliver: TLS unavailable; sending in plain text");
	if ((base = event_base_new()) == NULL)
		log_fatal("deliver: cannot create the event base");
	deliver_start(base, conf, ssl_ctx, DAEMON_MASTER_FD);
	event_base_dispatch(base);
	return 0;
}
