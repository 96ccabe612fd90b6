/* Common start of every child daemon: arguments, logging, config. */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"

struct config *
daemon_init(int argc, char **argv, const char *ident, struct daemon_args *a)
{
	struct config	*c;
	struct buf	 err, text;
	struct stat	 st;
	int		 ch;

	a->conf_path = POSTERN_CONF_DEFAULT;
	a->foreground = 0;
	while ((ch = getopt(argc, argv, "df:")) != -1) {
		switch (ch) {
		case 'd':
			a->foreground = 1;
			break;
		case 'f':
			a->conf_path = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-d] [-f config]\n", ident);
			exit(2);
		}
	}
	log_init(ident, a->foreground);
	if (fstat(DAEMON_MASTER_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		log_fatal("not started by the postern master (no channel on fd %d)",
		    DAEMON_MASTER_FD);
	buf_init(&err);
	buf_init(&text);
	if (fstat(DAEMON_CONFIG_FD, &st) == 0) {
		if (buf_read_fd(&text, DAEMON_CONFIG_FD, 1024 * 1024) == -1)
			log_fatal("cannot read the config text on fd %d",
			    DAEMON_CONFIG_FD);
		close(DAEMON_CONFIG_FD);
	} else if (config_read_file(a->conf_path, &text) == -1)
		/* started by hand (a test harness): the file itself */
		log_fatal("%s: %s", a->conf_path, strerror(errno));
	if ((c = config_parse_buf(a->conf_path, text.p ? text.p : "", text.len,
	    &err)) == NULL) {
		log_err("%s", buf_cstr(&err) ? err.p : "config error");
		exit(1);
	}
	buf_free(&text);
	buf_free(&err);
	log_set_level((enum log_level)c->log_level);
	if (getenv("POSTERN_DEBUG") && strcmp(getenv("POSTERN_DEBUG"), "1") == 0)
		log_set_level(LOG_LVL_DEBUG);
	return c;
}

void
daemon_spool_path(const struct config *c, const char *sub, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", c->spool, sub);

	if (n < 0 || (size_t)n >= outsz)
		log_fatal("spool path too long: %s/%s", c->spool, sub);
}

static void
stop_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct event_base *base = event_get_base(arg);

	(void)ev;
	log_info("signal %d, exiting", (int)sig);
	event_base_loopexit(base, NULL);
}

void
daemon_stop_on_signals(struct event_base *base, const char *ident)
{
	struct event	*ev;
	int		 sigs[] = { SIGTERM, SIGINT };
	size_t		 i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* the event is its own argument, so the callback finds its base;
		 * it lives as long as the process */
		if ((ev = evsignal_new(base, sigs[i], stop_cb,
		    event_self_cbarg())) == NULL || evsignal_add(ev, NULL) == -1)
			log_fatal("%s: cannot catch signals", ident);
	}
}
