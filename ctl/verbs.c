/* posternctl: the table of verbs that parse their own arguments. */
#include <stddef.h>

#include "ctl.h"

/* Each verb lives in its own file of ctl/ and is listed here. */
/* == issue 7a (requeue, pause incoming, trace, log-level) verb prototypes == */
int	ctl_verb_requeue(const char *, int, char **);
int	ctl_verb_trace(const char *, int, char **);
int	ctl_verb_log_level(const char *, int, char **);
int	ctl_verb_reload(const char *, int, char **);
/* == issue 7b (offline view, route, policy-test) verb prototypes == */
int	ctl_verb_route(const char *, int, char **);
int	ctl_verb_policy_test(const char *, int, char **);

const struct ctl_verb ctl_verbs[] = {
	/* == issue 7a (requeue, pause incoming, trace, log-level) verbs == */
	{ "requeue", ctl_verb_requeue,
	    "  requeue ID     route a message again with the current config\n"
	    "                 (--all: every message not held)\n" },
	{ "trace", ctl_verb_trace,
	    "  trace ID       every event of a message, queued or gone\n"
	    "                 (--json: as an object)\n" },
	{ "log-level", ctl_verb_log_level,
	    "  log-level LEVEL  debug|info|notice|warning|err for every daemon\n"
	    "                 until the next reload or restart\n" },
	{ "reload", ctl_verb_reload,
	    "  reload         check the config file, then have postern reload it\n" },
	/* == issue 7b (offline view, route, policy-test) verbs == */
	{ "route", ctl_verb_route,
	    "  route [--json] DOMAIN|ADDRESS\n"
	    "                 the route mail for it takes: local, route block,\n"
	    "                 relayhost or MX, and the next hops' DNS answers\n" },
	{ "policy-test", ctl_verb_policy_test,
	    "  policy-test --from IP [--helo NAME] [--listener NAME] FROM RCPT...\n"
	    "                 what smtpd answers such a client, without mail\n" },
	{ NULL, NULL, NULL }
};
