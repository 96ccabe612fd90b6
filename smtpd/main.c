/* postern-smtpd: start-up, privilege drop and the event loop. */
#include <sys/resource.h>

#include <limits.h>
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "privsep.h"
#include "smtpd.h"

/* Descriptors smtpd wants: 10,000 idle sessions and then some. */
#define SMTPD_NOFILE	65536

/*
 * Raised while still root (CAP_SYS_RESOURCE may lift the hard limit too);
 * after priv_drop only the soft limit could move, up to the hard one.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur >= SMTPD_NOFILE)
		return;
	rl.rlim_cur = SMTPD_NOFILE;
	if (rl.rlim_max < SMTPD_NOFILE)
		rl.rlim_max = SMTPD_NOFILE;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		/* not root after all: as far as the hard limit goes */
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise RLIMIT_NOFILE");
	}
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct smtpd *env = arg;

	log_info("signal %d, stopping", (int)sig);
	event_base_loopbreak(env->base);
}

int
main(int argc, char **argv)
{
	struct daemon_args	 args;
	struct config		*conf;
	struct event_base	*base;
	struct smtpd		 env;
	char			 root[PATH_MAX];

	conf = daemon_init(argc, argv, "postern/smtpd", &args);
	daemon_spool_path(conf, SPOOL_EMPTY_DIR, root, sizeof(root));
	raise_nofile();
	vdomains_load(conf);
	priv_drop(USER_SMTPD, root);
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL)
		log_fatal("event_base_new failed");
	server_init(&env, base, conf);
	env.sigterm_ev = evsignal_new(base, SIGTERM, on_signal, &env);
	env.sigint_ev = evsignal_new(base, SIGINT, on_signal, &env);
	if (env.sigterm_ev == NULL || env.sigint_ev == NULL ||
	    evsignal_add(env.sigterm_ev, NULL) == -1 ||
	    evsignal_add(env.sigint_ev, NULL) == -1)
		log_fatal("cannot set signal handlers");
	if ((env.master = ipc_chan_new(base, DAEMON_MASTER_FD, "master",
	    server_master_msg, server_master_closed, &env)) == NULL)
		log_fatal("cannot wrap the master channel");
	if (ipc_send(env.master, IPC_READY, 0, -1, NULL, 0) == -1)
		log_fatal("cannot send READY to the master");

	event_base_dispatch(base);

	server_shutdown(&env);
	event_free(env.sigterm_ev);
	event_free(env.sigint_ev);
	config_free(env.conf);
	event_base_free(base);
	return 0;
}
