/* posternctl requeue: route a message (or every one) again with the current config. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "pack.h"

int
ctl_verb_requeue(const char *conf, int argc, char **argv)
{
	struct config	*c;
	struct buf	 b, err;
	const char	*id;
	int		 fd, r;

	if (argc != 2 || argv[1][0] == '\0' ||
	    (argv[1][0] == '-' && strcmp(argv[1], "--all") != 0)) {
		fprintf(stderr, "usage: posternctl requeue ID|--all\n");
		return 2;
	}
	/* "" asks for every message that is not held */
	id = strcmp(argv[1], "--all") == 0 ? "" : argv[1];
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		return 1;
	}
	buf_free(&err);
	fd = ctl_connect(c);
	config_free(c);
	buf_init(&b);
	if (pack_str(&b, id) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	r = ctl_request_ok(fd, IPC_CTL_REQUEUE, &b);
	buf_free(&b);
	close(fd);
	return r;
}
