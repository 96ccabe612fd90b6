/* posternctl log-level and reload: asked of queue-mgr, which tells the master. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "pack.h"

/* syslog's names, and ours from log_level; notice is logged as info. */
static const struct {
	const char	*name;
	enum log_level	 level;
} ctl_levels[] = {
	{ "debug", LOG_LVL_DEBUG },
	{ "info", LOG_LVL_INFO },
	{ "notice", LOG_LVL_INFO },
	{ "warning", LOG_LVL_WARN },
	{ "warn", LOG_LVL_WARN },
	{ "err", LOG_LVL_ERR },
	{ "error", LOG_LVL_ERR },
};

static int
connect_conf(const char *conf)
{
	struct config	*c;
	struct buf	 err;
	int		 fd;

	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	fd = ctl_connect(c);
	config_free(c);
	return fd;
}

int
ctl_verb_log_level(const char *conf, int argc, char **argv)
{
	struct buf	 b;
	size_t		 i;
	int		 fd, r;

	for (i = 0; argc == 2 && i < sizeof(ctl_levels) / sizeof(ctl_levels[0]);
	    i++)
		if (strcmp(argv[1], ctl_levels[i].name) == 0)
			break;
	if (argc != 2 || i == sizeof(ctl_levels) / sizeof(ctl_levels[0])) {
		fprintf(stderr, "usage: posternctl log-level "
		    "debug|info|notice|warning|err\n");
		return 2;
	}
	if ((fd = connect_conf(conf)) == -1)
		return 1;
	buf_init(&b);
	if (pack_u32(&b, (uint32_t)ctl_levels[i].level) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	r = ctl_request_ok(fd, IPC_CTL_LOG_LEVEL, &b);
	buf_free(&b);
	close(fd);
	return r;
}

int
ctl_verb_reload(const char *conf, int argc, char **argv)
{
	struct config	*c;
	struct buf	 err;
	int		 fd, r;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: posternctl reload\n");
		return 2;
	}
	/* the file's errors, with file:line, here rather than in the log */
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		fprintf(stderr, "posternctl: not reloaded\n");
		buf_free(&err);
		return 1;
	}
	buf_free(&err);
	fd = ctl_connect(c);
	config_free(c);
	r = ctl_request_ok(fd, IPC_CTL_RELOAD, NULL);
	close(fd);
	return r;
}
