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
#include "master.h"

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
	int			 ch, check = 0;

	m.control_fd = -1;
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

	buf_init(&err);
	if ((m.conf = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		exit(1);
	}
	buf_free(&err);
	if (check) {
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
	if (supervise_start(&m) == -1)
		abort_start(&m);
	log_info("started (config %s, daemons from %s)", m.conf_path, m.libexec);
	event_base_dispatch(m.base);
	return 0;
}
