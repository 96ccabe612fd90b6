/* postern-sendmail: the sendmail(1) command line; the message goes to the pickup folder. */
#include <sys/types.h>

#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "bs.h"
#include "config.h"
#include "mailq.h"
#include "message.h"
#include "pickup.h"
#include "submit.h"

enum mode { MODE_DELIVER, MODE_LIST, MODE_SMTP, MODE_ALIASES };

static void __attribute__((noreturn))
die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("postern-sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: postern-sendmail [-C config] [-t] [-i] [-oi] "
	    "[-f sender] [-F name] [recipient ...]\n"
	    "       postern-sendmail -bs     (SMTP on standard input/output)\n"
	    "       postern-sendmail -bp     (the queue, as mailq)\n");
	exit(EX_USAGE);
}

static char *
qualify_or_die(const char *a, const char *hostname)
{
	char	*s;

	if ((s = sm_qualify(a, hostname)) == NULL) {
		if (errno == EINVAL)
			die(EX_DATAERR, "'%s' is not a mail address", a);
		die(EX_OSERR, "out of memory");
	}
	return s;
}

/* -N: DSN notify words; checked so a typo is no silent surprise. */
static void
check_notify(const char *v)
{
	char	*copy, *w, *p;

	if (strcasecmp(v, "never") == 0)
		return;
	if ((copy = strdup(v)) == NULL)
		die(EX_OSERR, "out of memory");
	for (p = copy; (w = strsep(&p, ",")) != NULL; )
		if (strcasecmp(w, "success") != 0 && strcasecmp(w, "failure") != 0 &&
		    strcasecmp(w, "delay") != 0)
			die(EX_USAGE, "-N %s: expected never, or a list of "
			    "success, failure, delay", v);
	free(copy);
}

static enum mode
mode_for(const char *b)
{
	if (strcmp(b, "m") == 0)
		return MODE_DELIVER;
	if (strcmp(b, "p") == 0)
		return MODE_LIST;
	if (strcmp(b, "s") == 0)
		return MODE_SMTP;
	if (strcmp(b, "i") == 0)
		return MODE_ALIASES;
	if (strcmp(b, "v") == 0 || strcmp(b, "t") == 0)
		die(EX_USAGE, "-b%s (address %s) is not supported; "
		    "try posternctl instead", b, b[0] == 'v' ? "verification" :
		    "test mode");
	die(EX_USAGE, "-b%s is not supported (only -bm, -bs, -bp, -bi)", b);
}

/* -bs: an SMTP dialogue; each accepted message is one pickup file. */
static void __attribute__((noreturn))
run_smtp(const struct config *c, const struct passwd *pw, const char *fullname)
{
	struct sm_submit	 sub;
	struct sm_bs_conf	 bc;
	struct sm_bs		 s;
	char			*login_addr;
	int			 code;

	login_addr = qualify_or_die(pw->pw_name, c->hostname);
	sub.c = c;
	sub.login = pw->pw_name;
	sub.login_addr = login_addr;
	sub.fullname = fullname;
	memset(&bc, 0, sizeof(bc));
	bc.hostname = c->hostname;
	bc.login = login_addr;
	bc.trusted = sm_may_set_sender(c, getuid(), pw->pw_name);
	bc.max_size = (size_t)c->submit_max_size;
	bc.submit = sm_submit_bs;
	bc.arg = &sub;
	/* a client that goes away is an error to report, not a signal to die of */
	signal(SIGPIPE, SIG_IGN);
	sm_bs_init(&s, &bc);
	code = sm_bs_run(&s, STDIN_FILENO, STDOUT_FILENO);
	if (code == EX_DATAERR)
		fprintf(stderr, "postern-sendmail: input ended inside DATA; "
		    "that message was not submitted\n");
	sm_bs_free(&s);
	free(login_addr);
	exit(code);
}

int
main(int argc, char **argv)
{
	const char		*conf = POSTERN_CONF_DEFAULT, *sender = NULL;
	const char		*fullname = "", *me;
	struct sm_opts		 o;
	struct config		*c;
	struct buf		 err, raw, msg, head;
	struct strlist		 rcpts = { NULL, 0 };
	struct pickup_env	 env;
	struct passwd		*pw;
	enum mode		 mode = MODE_DELIVER;
	char			 warning[512], name[64], *from;
	size_t			 i;
	int			 ch, ignore_dots = 0, extract = 0, code;

	/* called as mailq or newaliases, as a sendmail is */
	me = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(me, "mailq") == 0)
		mode = MODE_LIST;
	else if (strcmp(me, "newaliases") == 0)
		mode = MODE_ALIASES;
	opterr = 0;
	while ((ch = getopt(argc, argv,
	    ":A:B:b:C:d:F:f:Gh:iL:N:nO:o:p:q::R:r:tUV:vX:")) != -1) {
		switch (ch) {
		case 'b':
			mode = mode_for(optarg);
			break;
		case 'C':
			conf = optarg;
			break;
		case 'F':
			fullname = optarg;
			break;
		case 'f':
		case 'r':
			sender = optarg;
			break;
		case 'i':
			ignore_dots = 1;
			break;
		case 'N':
			check_notify(optarg);
			break;
		case 'o':
			/* -oi counts; -oem, -odi, -odb and the rest do not apply */
			if (strcmp(optarg, "i") == 0)
				ignore_dots = 1;
			break;
		case 'q':
			die(EX_USAGE, "-q%s: postern runs its queue itself; "
			    "use 'posternctl flush' to retry deferred mail now",
			    optarg ? optarg : "");
		case 't':
			extract = 1;
			break;
		case 'A': case 'B': case 'd': case 'G': case 'h': case 'L':
		case 'n': case 'O': case 'p': case 'R': case 'U': case 'V':
		case 'v': case 'X':
			break;
		case ':':
			fprintf(stderr, "postern-sendmail: option -%c needs a "
			    "value\n", optopt);
			usage();
		default:
			fprintf(stderr, "postern-sendmail: unknown option -%c\n",
			    optopt);
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (mode == MODE_LIST) {
		/* mailq's listing comes from posternctl, installed beside us */
		sm_exec_mailq(conf);
		die(EX_UNAVAILABLE, "posternctl: %s", strerror(errno));
	}
	if (mode == MODE_ALIASES)
		return EX_OK;	/* the aliases file is read as text: nothing to build */
	if (mode == MODE_SMTP && (argc > 0 || extract))
		die(EX_USAGE, "-bs takes its recipients from RCPT TO, "
		    "not from %s", extract ? "-t" : "the command line");
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL)
		die(EX_CONFIG, "%s", buf_cstr(&err) ? err.p : "configuration error");
	if ((pw = getpwuid(getuid())) == NULL)
		die(EX_NOUSER, "who are you? (uid %lu has no name)",
		    (unsigned long)getuid());
	if (mode == MODE_SMTP)
		run_smtp(c, pw, fullname);

	memset(&o, 0, sizeof(o));
	o.ignore_dots = ignore_dots;
	o.extract = extract;
	o.fullname = fullname;
	o.hostname = c->hostname;
	o.now = time(NULL);
	from = qualify_or_die(pw->pw_name, c->hostname);
	o.from = from;
	if (sender != NULL && !sm_may_set_sender(c, getuid(), pw->pw_name)) {
		snprintf(warning, sizeof(warning), "%s set sender to %s using -f; "
		    "not allowed, sender kept as %s", pw->pw_name, sender, from);
		fprintf(stderr, "postern-sendmail: warning: %s\n", warning);
		o.warning = warning;
		sender = NULL;
	}
	for (i = 0; i < (size_t)argc; i++) {
		char **nv = reallocarray(rcpts.v, rcpts.n + 1, sizeof(*nv));
		if (nv == NULL)
			die(EX_OSERR, "out of memory");
		rcpts.v = nv;
		rcpts.v[rcpts.n++] = qualify_or_die(argv[i], c->hostname);
	}

	buf_init(&raw);
	buf_init(&msg);
	if (sm_read_message(stdin, ignore_dots, c->submit_max_size, &raw) == -1) {
		if (errno == EFBIG)
			die(EX_DATAERR, "message larger than submit_max_size "
			    "(%llu bytes)", (unsigned long long)c->submit_max_size);
		die(EX_IOERR, "reading the message: %s", strerror(errno));
	}
	/* a missing From: names the sender chosen with -f, as Postfix's does */
	if (sender != NULL && sender[0] != '\0' && strcmp(sender, "<>") != 0)
		o.from = qualify_or_die(sender, c->hostname);
	if (sm_prepare(&raw, &o, &rcpts, &msg) == -1)
		die(EX_OSERR, "out of memory");
	/* -t addresses arrive as written: qualify and check them too */
	for (i = (size_t)argc; i < rcpts.n; i++) {
		char *q = qualify_or_die(rcpts.v[i], c->hostname);
		free(rcpts.v[i]);
		rcpts.v[i] = q;
	}
	if (rcpts.n == 0)
		die(EX_USAGE, "no recipients (name them, or use -t)");
	if (rcpts.n > PICKUP_MAX_RCPT)
		die(EX_DATAERR, "more than %d recipients", PICKUP_MAX_RCPT);

	memset(&env, 0, sizeof(env));
	env.time = (uint64_t)o.now;
	env.flags = sender != NULL ? PICKUP_F_SENDER_SET : 0;
	env.sender = sender != NULL ? (char *)sender : from;
	if (sender != NULL && sender[0] != '\0' && strcmp(sender, "<>") != 0)
		env.sender = qualify_or_die(sender, c->hostname);
	else if (sender != NULL)
		env.sender = "";	/* -f "" or -f "<>": the null sender */
	env.rcpt = rcpts.v;
	env.nrcpt = (uint32_t)rcpts.n;
	buf_init(&head);
	if (pickup_encode(&env, &head) == -1)
		die(EX_OSERR, "out of memory");
	buf_reset(&err);
	if ((code = sm_drop(c->spool, &head, &msg, name, sizeof(name), &err)) != EX_OK)
		die(code, "%s", buf_cstr(&err) ? err.p : "cannot write the pickup file");
	return EX_OK;
}
