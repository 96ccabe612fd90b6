/* postern, the master: arguments, config check, set-up order, daemonizing. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "import.h"
#include "localjob.h"
#include "master.h"
#include "tls.h"

static void
usage(void)
{
	fprintf(stderr, "usage: postern [-d] [-n] [-f config]\n"
	    "  -d  stay in the foreground and log to stderr\n"
	    "  -n  check the configuration and exit\n"
	    "  -f  configuration file (default %s)\n", POSTERN_CONF_DEFAULT);
	exit(2);
}

static void
daemonize(void)
{
	pid_t	 pid;
	int	 fd;

	if ((pid = fork()) == -1)
		log_fatal("fork: %s", strerror(errno));
	if (pid != 0)
		_exit(0);
	if (setsid() == -1)
		log_fatal("setsid: %s", strerror(errno));
	/* the session leader exits so that we can never regain a terminal */
	if ((pid = fork()) == -1)
		log_fatal("fork: %s", strerror(errno));
	if (pid != 0)
		_exit(0);
	if (chdir("/") == -1)
		log_fatal("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		log_fatal("/dev/null: %s", strerror(errno));
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void
abort_start(struct master *m)
{
	int k;

	for (k = PROC_SMTPD; k < PROC_MAX; k++)
		if (m->child[k].pid > 0)
			kill(m->child[k].pid, SIGKILL);
	if (m->control_path[0] != '\0')
		(void)unlink(m->control_path);
	exit(1);
}

int
main(int argc, char **argv)
{
	static struct master	 m;
	struct buf		 err;
	const char		*conf = POSTERN_CONF_DEFAULT;
	size_t			 i;
	int			 ch, check = 0, nullfd;
	sigset_t		 block;

	m.control_fd = -1;
	/* fds 0-2 must be taken, or a socket opened below would be one of
	 * them and be replaced by /dev/null when daemonizing */
	while ((nullfd = open("/dev/null", O_RDWR)) != -1 && nullfd <= 2)
		;
	if (nullfd > 2)
		close(nullfd);
	/* a SIGTERM during set-up waits for the loop, which cleans up */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, NULL);
	buf_init(&m.conf_text);
	while ((ch = getopt(argc, argv, "df:nh")) != -1) {
		switch (ch) {
		case 'd':
			m.foreground = 1;
			break;
		case 'f':
			conf = optarg;
			break;
		case 'n':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("postern", 1);
	tls_check_absent_ok = check;	/* issue 4 */

	buf_init(&err);
	/* the text validated here is the text every child will run with */
	if (config_read_file(conf, &m.conf_text) == -1)
		buf_appendf(&err, "%s: %s\n", conf, strerror(errno));
	else if ((m.conf = config_parse_buf(conf, m.conf_text.p ? m.conf_text.p : "",
	    m.conf_text.len, &err)) != NULL && tls_check_config(m.conf, &err) > 0) {
		config_free(m.conf);
		m.conf = NULL;
	}
	if (m.conf == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		exit(1);
	}
	buf_free(&err);
	if (check) {
		master_warn_open_relay(m.conf, stdout);
		printf("postern: %s: configuration OK\n", conf);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "postern: must be started as root (it creates "
		    "users and the spool, binds the listeners and starts each "
		    "daemon under its own user)\n");
		exit(1);
	}
	/* children get an absolute path: they chroot, and we chdir("/") */
	if (realpath(conf, m.conf_path) == NULL)
		log_fatal("%s: %s", conf, strerror(errno));
	if (getenv("POSTERN_DEBUG") == NULL || strcmp(getenv("POSTERN_DEBUG"),
	    "1") != 0)
		log_set_level((enum log_level)m.conf->log_level);
	umask(022);

	supervise_init(&m);
	if (setup_libexec(&m) == -1 || setup_users() == -1 ||
	    setup_spool(m.conf) == -1 || setup_listeners(&m) == -1 ||
	    setup_control(&m) == -1)
		abort_start(&m);
	if (m.foreground) {
		for (i = 0; i < m.nsocks; i++)
			printf("postern: listening on %s (listener %s)\n",
			    m.socks[i].addr, m.socks[i].name);
		printf("postern: control socket %s\n", m.control_path);
		fflush(stdout);
	} else {
		daemonize();
		log_init("postern", 0);
	}

	if ((m.base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		abort_start(&m);
	}
	/* broken maps are logged; mail for them waits for a fixed reload */
	(void)localjob_load_maps(&m, 0);
	master_warn_open_relay(m.conf, NULL);
	if (tls_load_keys(m.conf, &m.keys) == -1 || supervise_start(&m) == -1 ||
	    pickup_start(&m) == -1)
		abort_start(&m);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	log_info("started (config %s, daemons from %s)", m.conf_path, m.libexec);
	event_base_dispatch(m.base);
	return 0;
}
