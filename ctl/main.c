/* posternctl: arguments, the control socket, and the verbs queue and flush. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "config.h"
#include "ctl.h"
#include "format.h"
#include "ipc.h"
#include "offline.h"	/* issue 7b */
#include "pack.h"
#include "policy.h"
#include "privsep.h"
#include "select.h"
#include "show.h"
#include "stats.h"


static void
usage(int code)
{
	FILE	*fp = code ? stderr : stdout;
	size_t	 i;

	fprintf(fp,
	    "usage: posternctl [-f config] queue [--json] [--sender S] [--rcpt R]\n"
	    "                  [--domain D] [--older AGE] [--state STATE] [--offline]\n"
	    "       posternctl [-f config] flush [QUEUE_ID|--all|--domain D]\n"
	    "       posternctl [-f config] hold|release QUEUE_ID|--domain D\n"
	    "       posternctl [-f config] show [--headers|--body|--raw|--envelope] [--offline] QUEUE_ID\n"
	    "       posternctl [-f config] delete QUEUE_ID|--all-deferred|--domain D\n"
	    "       posternctl [-f config] bounce QUEUE_ID|--domain D\n"
	    "       posternctl [-f config] stats [--json]\n"
	    "       posternctl [-f config] pause|resume incoming|outgoing\n"
	    "       posternctl check-config [FILE]\n"
	    "       mailq [-C config]\n"
	    "\n"
	    "  queue          list the queued messages\n"
	    "    --json       as a JSON array: id, arrival, size, sender, state,\n"
	    "                 next_try, last_error, recipients [{address, state}]\n"
	    "    --sender S   sender contains S\n"
	    "    --rcpt R     a recipient contains R\n"
	    "    --domain D   a recipient is in domain D or a subdomain of it\n"
	    "    --older AGE  arrived at least AGE ago (30m, 2h, 1d)\n"
	    "    --state ST   active, deferred or held\n"
	    "    --offline    read a copy of the spool even if postern runs (queue,\n"
	    "                 show; without it only when postern is not running)\n"
	    "  flush [ID]     try every deferred message (or one) now\n"
	    "  hold ID        never try this message until released\n"
	    "  release ID     try a held message now\n"
	    "  show ID        envelope, recipients' state and content\n"
	    "    --headers    only the content's header section\n"
	    "    --body       only the content's body\n"
	    "    --raw        only the content, byte for byte\n"
	    "    --envelope   only the envelope and recipients (all that\n"
	    "                 ctl_read_group may see)\n"
	    "  delete ID      remove a message silently (--all-deferred: every\n"
	    "                 deferred one)\n"
	    "  bounce ID      return a message to its sender with a DSN\n"
	    "  --domain D     (flush, hold, release, delete, bounce) every message\n"
	    "                 with a recipient in domain D or a subdomain of it\n"
	    "  stats          messages by state, counts since start, deferrals\n"
	    "                 by reason and by domain (--json: as an object)\n"
	    "  pause outgoing hand no message to delivery until resumed\n"
	    "  resume outgoing\n"
	    "  pause incoming  smtpd answers 421 to new connections until resumed\n"
	    "  resume incoming\n"
	    "  check-config   check a configuration file (default: -f's)\n"
	    );
	for (i = 0; ctl_verbs[i].name != NULL; i++)
		fputs(ctl_verbs[i].help, fp);
	fprintf(fp, "  -f config      default %s\n", POSTERN_CONF_DEFAULT);
	exit(code);
}

enum listing { LIST_TABLE, LIST_JSON, LIST_MAILQ };

static int
cmd_queue(int fd, enum listing how, const struct ctl_filter *f)
{
	int			 json = how == LIST_JSON;
	time_t			 now = time(NULL);
	size_t			 seen = 0;
	struct ctl_entry	*ents = NULL, *ne;
	struct ipc_msg		 m;
	struct unpack		 u;
	struct buf		 b;
	uint8_t			*payload;
	size_t			 n = 0, cap = 0;
	uint32_t		 count;

	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	buf_init(&b);
	ctl_send(fd, IPC_CTL_QUEUE, NULL);
	/* JSON streams entry by entry; the table needs all rows to align */
	if (json)
		fputs("[", stdout);
	for (;;) {
		ctl_recv(fd, &m, payload);
		if (m.type == IPC_CTL_ERROR)
			ctl_fail(&m);
		if (m.type == IPC_CTL_END)
			break;
		if (m.type != IPC_CTL_QUEUE_ENTRY) {
			fprintf(stderr, "posternctl: unexpected %s from "
			    "postern\n", ipc_type_name(m.type));
			return 1;
		}
		if (n == cap) {
			cap = json ? 1 : (cap ? cap * 2 : 64);
			if ((ne = reallocarray(ents, cap, sizeof(*ents))) == NULL) {
				fprintf(stderr, "posternctl: out of memory\n");
				return 1;
			}
			ents = ne;
		}
		if (ctl_entry_unpack(m.data, m.len, &ents[json ? 0 : n]) == -1) {
			fprintf(stderr, "posternctl: malformed queue entry "
			    "from postern\n");
			return 1;
		}
		seen++;
		if (!ctl_entry_matches(&ents[json ? 0 : n], f, now)) {
			ctl_entry_free(&ents[json ? 0 : n]);
			continue;
		}
		if (json) {
			buf_reset(&b);
			if ((n > 0 && buf_appends(&b, ",\n") == -1) ||
			    ctl_json_entry(&b, &ents[0]) == -1) {
				fprintf(stderr, "posternctl: out of memory\n");
				return 1;
			}
			ctl_out(&b);
			ctl_entry_free(&ents[0]);
		}
		n++;
	}
	unpack_init(&u, m.data, m.len);
	if (unpack_u32(&u, &count) == -1 || unpack_done(&u) == -1) {
		fprintf(stderr, "posternctl: malformed end of list from "
		    "postern\n");
		return 1;
	}
	if (count != seen)
		fprintf(stderr, "posternctl: warning: postern announced %u "
		    "entries, %zu arrived\n", count, seen);
	if (json)
		fputs("]\n", stdout);
	else {
		if ((how == LIST_MAILQ ? ctl_format_mailq(&b, ents, n) :
		    ctl_format_table(&b, ents, n, now)) == -1) {
			fprintf(stderr, "posternctl: out of memory\n");
			return 1;
		}
		ctl_out(&b);
		for (size_t i = 0; i < n; i++)
			ctl_entry_free(&ents[i]);
	}
	free(ents);
	buf_free(&b);
	free(payload);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* A verb naming one message (or, for flush, "" for all): OK text or error. */
static int
cmd_id_verb(int fd, uint32_t type, const char *id)
{
	struct buf	 b;
	int		 r;

	if (strlen(id) > CTL_MAX_ID || strpbrk(id, "\r\n") != NULL) {
		fprintf(stderr, "posternctl: '%s' is not a queue id\n", id);
		return 1;
	}
	buf_init(&b);
	if (pack_str(&b, id) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	r = ctl_request_ok(fd, type, &b);
	buf_free(&b);
	return r;
}

enum show_mode { SHOW_ALL, SHOW_HEADERS, SHOW_BODY, SHOW_RAW, SHOW_ENVELOPE };

static int
cmd_show(int fd, const char *id, enum show_mode mode)
{
	struct ctl_show_env	 env;
	struct ctl_show_rcpt	 rc;
	struct ctl_content	 cc;
	struct ipc_msg		 m;
	struct unpack		 u;
	struct buf		 b;
	uint8_t			*payload;
	uint32_t		 nrcpt = 0, got = 0, count;
	time_t			 now = time(NULL);

	if (strlen(id) > CTL_MAX_ID || strpbrk(id, "\r\n") != NULL) {
		fprintf(stderr, "posternctl: '%s' is not a queue id\n", id);
		return 1;
	}
	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	buf_init(&b);
	ctl_content_init(&cc, mode == SHOW_HEADERS ? CTL_PART_HEADERS :
	    mode == SHOW_BODY ? CTL_PART_BODY : CTL_PART_ALL);
	/* the envelope alone is what ctl_read_group may see */
	if (pack_str(&b, id) == -1 ||
	    pack_u32(&b, mode == SHOW_ENVELOPE ? 0 : 1) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	ctl_send(fd, IPC_CTL_SHOW, &b);
	ctl_recv(fd, &m, payload);
	if (m.type == IPC_CTL_ERROR)
		ctl_fail(&m);
	if (m.type != IPC_CTL_SHOW_ENV ||
	    ctl_show_env_unpack(m.data, m.len, &env) == -1) {
		fprintf(stderr, "posternctl: malformed answer from postern\n");
		return 1;
	}
	nrcpt = env.nrcpt;
	buf_reset(&b);
	if ((mode == SHOW_ALL || mode == SHOW_ENVELOPE) &&
	    ctl_show_env_format(&b, &env, now) == -1)
		goto oom;
	ctl_show_env_free(&env);
	ctl_out(&b);
	for (;;) {
		ctl_recv(fd, &m, payload);
		if (m.type == IPC_CTL_ERROR)
			ctl_fail(&m);
		buf_reset(&b);
		if (m.type == IPC_CTL_SHOW_RCPT) {
			if (got >= nrcpt ||
			    ctl_show_rcpt_unpack(m.data, m.len, &rc) == -1)
				goto bad;
			if ((mode == SHOW_ALL || mode == SHOW_ENVELOPE) &&
			    ctl_show_rcpt_format(&b, &rc, now) == -1)
				goto oom;
			ctl_show_rcpt_free(&rc);
			if (++got == nrcpt && mode == SHOW_ALL &&
			    buf_appends(&b, "\n") == -1)
				goto oom;
		} else if (m.type == IPC_CTL_CONTENT) {
			if (got != nrcpt)
				goto bad;
			if (mode == SHOW_RAW) {
				if (buf_append(&b, m.data, m.len) == -1)
					goto oom;
			} else if (ctl_content_feed(&cc, &b, m.data,
			    m.len) == -1)
				goto oom;
		} else if (m.type == IPC_CTL_END)
			break;
		else
			goto bad;
		ctl_out(&b);
	}
	unpack_init(&u, m.data, m.len);
	if (got != nrcpt || unpack_u32(&u, &count) == -1 ||
	    unpack_done(&u) == -1)
		goto bad;
	buf_reset(&b);
	if (mode != SHOW_RAW && mode != SHOW_ENVELOPE &&
	    ctl_content_finish(&cc, &b) == -1)
		goto oom;
	ctl_out(&b);
	ctl_content_free(&cc);
	buf_free(&b);
	free(payload);
	return fflush(stdout) == 0 ? 0 : 1;
bad:
	fflush(stdout);
	fprintf(stderr, "posternctl: malformed answer from postern\n");
	return 1;
oom:
	fprintf(stderr, "posternctl: out of memory\n");
	return 1;
}

static int
cmd_stats(int fd, int json)
{
	struct ctl_stats	 st;
	struct ipc_msg		 m;
	struct buf		 b;
	uint8_t			*payload;

	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	buf_init(&b);
	ctl_send(fd, IPC_CTL_STATS, NULL);
	ctl_recv(fd, &m, payload);
	if (m.type == IPC_CTL_ERROR)
		ctl_fail(&m);
	if (m.type != IPC_CTL_STATS_REPLY ||
	    ctl_stats_unpack(m.data, m.len, &st) == -1) {
		fprintf(stderr, "posternctl: malformed answer from postern\n");
		return 1;
	}
	if ((json ? ctl_stats_json(&b, &st) : ctl_stats_format(&b, &st)) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	ctl_out(&b);
	ctl_stats_free(&st);
	buf_free(&b);
	free(payload);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* pause|resume incoming|outgoing: the daemon's OK text, or its error. */
static int
cmd_pause(int fd, int on, const char *what)
{
	struct buf	 b;
	int		 r;

	buf_init(&b);
	if (pack_u32(&b, on ? 1 : 0) == -1 || pack_str(&b, what) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	r = ctl_request_ok(fd, IPC_CTL_PAUSE, &b);
	buf_free(&b);
	return r;
}

static int
cmd_check_config(const char *path)
{
	struct config	*c;
	struct buf	 err;
	const char	*line, *next;

	buf_init(&err);
	if ((c = config_load(path, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		buf_free(&err);
		return 1;
	}
	/* as the master warns at start and reload */
	buf_free(&err);
	buf_init(&err);
	if (policy_open_relay_warnings(c, &err) > 0 && buf_cstr(&err) != NULL)
		for (line = err.p; *line != '\0'; line = next) {
			next = line + strcspn(line, "\n");
			fprintf(stderr, "posternctl: warning: %.*s\n",
			    (int)(next - line), line);
			if (*next == '\n')
				next++;
		}
	printf("%s: configuration OK\n", path);
	config_free(c);
	buf_free(&err);
	return 0;
}

static int
parse_state(const char *s)
{
	if (strcmp(s, "active") == 0)
		return QSTATE_ACTIVE;
	if (strcmp(s, "deferred") == 0)
		return QSTATE_DEFERRED;
	if (strcmp(s, "held") == 0)
		return QSTATE_HELD;
	fprintf(stderr, "posternctl: --state: '%s' is not active, deferred "
	    "or held\n", s);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option queue_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sender", required_argument, NULL, 's' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "domain", required_argument, NULL, 'D' },
		{ "older", required_argument, NULL, 'o' },
		{ "state", required_argument, NULL, 'S' },
		{ "offline", no_argument, NULL, 'O' },	/* issue 7b */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const struct option show_opts[] = {
		{ "headers", no_argument, NULL, 'H' },
		{ "body", no_argument, NULL, 'B' },
		{ "raw", no_argument, NULL, 'R' },
		{ "envelope", no_argument, NULL, 'E' },
		{ "offline", no_argument, NULL, 'O' },	/* issue 7b */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_filter filter = { NULL, NULL, NULL, 0, -1 };
	enum show_mode	 smode = SHOW_ALL;
	const char	*showid = NULL, *idarg = NULL;
	struct config	*c;
	struct buf	 err;
	const char	*conf = POSTERN_CONF_DEFAULT, *verb, *prog;
	enum listing	 how = LIST_TABLE;
	int		 ch, fd, r, selecting = 0;
	int		 offline = 0;	/* issue 7b: --offline */

	/* invoked as mailq: the sendmail-compatible listing, -C as sendmail */
	prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(prog, "mailq") == 0) {
		while ((ch = getopt(argc, argv, "C:")) != -1) {
			if (ch != 'C')
				usage(2);
			conf = optarg;
		}
		if (optind != argc)
			usage(2);
		buf_init(&err);
		if ((c = config_load(conf, &err)) == NULL) {
			fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
			return 1;
		}
		buf_free(&err);
		fd = ctl_offline_connect(c, 0);	/* issue 7b */
		r = cmd_queue(fd, LIST_MAILQ, &filter);
		close(fd);
		config_free(c);
		return r;
	}
	while ((ch = getopt(argc, argv, "+f:h")) != -1) {
		switch (ch) {
		case 'f':
			conf = optarg;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(2);
	verb = argv[0];
	if (strcmp(verb, "help") == 0)
		usage(0);
	for (r = 0; ctl_verbs[r].name != NULL; r++)
		if (strcmp(verb, ctl_verbs[r].name) == 0)
			return ctl_verbs[r].run(conf, argc, argv);
	if (strcmp(verb, "check-config") == 0) {
		if (argc > 2)
			usage(2);
		return cmd_check_config(argc == 2 ? argv[1] : conf);
	}
	if (strcmp(verb, "queue") != 0 && strcmp(verb, "flush") != 0 &&
	    strcmp(verb, "hold") != 0 && strcmp(verb, "release") != 0 &&
	    strcmp(verb, "show") != 0 && strcmp(verb, "delete") != 0 &&
	    strcmp(verb, "bounce") != 0 && strcmp(verb, "stats") != 0 &&
	    strcmp(verb, "pause") != 0 && strcmp(verb, "resume") != 0) {
		fprintf(stderr, "posternctl: unknown command '%s'\n", verb);
		usage(2);
	}
	optind = 1;
	if (strcmp(verb, "queue") == 0) {
		while ((ch = getopt_long(argc, argv, "+h", queue_opts,
		    NULL)) != -1) {
			uint64_t secs;

			switch (ch) {
			case 'j':
				how = LIST_JSON;
				break;
			case 's':
				filter.sender = optarg;
				break;
			case 'r':
				filter.rcpt = optarg;
				break;
			case 'D':
				filter.domain = optarg;
				break;
			case 'o':
				if (config_parse_duration(optarg, &secs, 0) == -1) {
					fprintf(stderr, "posternctl: --older: '%s' "
					    "is not an age like 30m, 2h or 1d\n",
					    optarg);
					exit(2);
				}
				filter.older = secs;
				break;
			case 'S':
				filter.state = parse_state(optarg);
				break;
			case 'O':	/* issue 7b */
				offline = 1;
				break;
			default:
				usage(ch == 'h' ? 0 : 2);
			}
		}
		if (optind != argc)
			usage(2);
	} else if (strcmp(verb, "show") == 0) {
		while ((ch = getopt_long(argc, argv, "+h", show_opts,
		    NULL)) != -1) {
			switch (ch) {
			case 'H':
				smode = SHOW_HEADERS;
				break;
			case 'B':
				smode = SHOW_BODY;
				break;
			case 'R':
				smode = SHOW_RAW;
				break;
			case 'E':
				smode = SHOW_ENVELOPE;
				break;
			case 'O':	/* issue 7b */
				offline = 1;
				break;
			default:
				usage(ch == 'h' ? 0 : 2);
			}
		}
		if (optind != argc - 1)
			usage(2);
		showid = argv[optind];
	} else if (strcmp(verb, "pause") == 0 || strcmp(verb, "resume") == 0) {
		/* issue 7a: incoming too */
		if (argc != 2 || (strcmp(argv[1], "outgoing") != 0 &&
		    strcmp(argv[1], "incoming") != 0))
			usage(2);
	} else if (strcmp(verb, "stats") == 0) {
		if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
			usage(2);
		how = argc == 2 ? LIST_JSON : LIST_TABLE;
	} else if (strcmp(verb, "delete") == 0 && argc == 2 &&
	    strcmp(argv[1], "--all-deferred") == 0) {
		/* "" asks for every deferred message */
		idarg = "";
	} else if (strcmp(verb, "flush") == 0 && argc == 2 &&
	    strcmp(argv[1], "--all") == 0) {
		idarg = "";
	} else if (argc == 3 && strcmp(argv[1], "--domain") == 0 &&
	    argv[2][0] != '\0') {
		/* every message with a recipient in that domain */
		filter.domain = argv[2];
		selecting = 1;
	} else if (argc > 2 || (strcmp(verb, "flush") != 0 && argc != 2) ||
	    (argc == 2 && argv[1][0] == '-') ||
	    (strcmp(verb, "flush") != 0 && argv[1][0] == '\0'))
		usage(2);

	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		return 1;
	}
	buf_free(&err);
	/* issue 7b: queue and show read a copy of the spool when postern is down */
	if (strcmp(verb, "queue") == 0 || strcmp(verb, "show") == 0)
		fd = ctl_offline_connect(c, offline);
	else
		fd = ctl_connect(c);
	if (strcmp(verb, "queue") == 0)
		r = cmd_queue(fd, how, &filter);
	else if (strcmp(verb, "show") == 0)
		r = cmd_show(fd, showid, smode);
	else if (strcmp(verb, "stats") == 0)
		r = cmd_stats(fd, how == LIST_JSON);
	else if (strcmp(verb, "pause") == 0 || strcmp(verb, "resume") == 0)
		r = cmd_pause(fd, strcmp(verb, "pause") == 0, argv[1]);
	else {
		uint32_t type = strcmp(verb, "hold") == 0 ? IPC_CTL_HOLD :
		    strcmp(verb, "release") == 0 ? IPC_CTL_RELEASE :
		    strcmp(verb, "delete") == 0 ? IPC_CTL_DELETE :
		    strcmp(verb, "bounce") == 0 ? IPC_CTL_BOUNCE : IPC_CTL_FLUSH;

		if (selecting)
			r = ctl_apply_selected(fd, type, verb, &filter);
		else
			r = cmd_id_verb(fd, type, idarg != NULL ? idarg :
			    argc == 2 ? argv[1] : "");
	}
	close(fd);
	config_free(c);
	return r;
}
