/* postern-sendmail: the sendmail(1) interface for local programs; drops the message into the pickup folder. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "addr.h"
#include "config.h"
#include "message.h"
#include "pickup.h"

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
	    "       postern-sendmail -bp     (the queue, as mailq)\n");
	exit(EX_USAGE);
}

/* May this user choose the envelope sender? root, or the trusted group. */
static int
may_set_sender(const struct config *c, uid_t uid, const char *login)
{
	struct group	*gr;
	gid_t		 groups[256];
	int		 n = 256, i;

	if (uid == 0)
		return 1;
	if (c->submit_trusted_group[0] == '\0' ||
	    (gr = getgrnam(c->submit_trusted_group)) == NULL)
		return 0;
	if (getgrouplist(login, getgid(), groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

/* "user" becomes user@hostname; anything else must be a mailbox. */
static char *
qualify(const char *a, const char *hostname)
{
	struct addr	 parsed;
	char		*s;

	if (strchr(a, '@') == NULL) {
		if (asprintf(&s, "%s@%s", a, hostname) == -1)
			die(EX_OSERR, "out of memory");
	} else if ((s = strdup(a)) == NULL)
		die(EX_OSERR, "out of memory");
	if (addr_parse_mailbox_flags(s, strlen(s), ADDR_F_UTF8, &parsed) == -1)
		die(EX_DATAERR, "'%s' is not a mail address", a);
	return s;
}

/* The file appears in pickup/ whole or not at all: tmp name, fsync, rename. */
static void
drop(const struct config *c, const struct buf *head, const struct buf *body)
{
	char		 dir[PATH_MAX], tmp[64], name[64];
	struct stat	 st;
	int		 dfd, fd;
	uint32_t	 rnd = arc4random();

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", c->spool, PICKUP_DIR) >=
	    sizeof(dir))
		die(EX_CONFIG, "spool path too long");
	/* O_PATH: the folder may be searched, never read (mode 1733) */
	if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		die(EX_TEMPFAIL, "%s: %s (has postern been started once?)", dir,
		    strerror(errno));
	if (fstat(dfd, &st) == -1 || st.st_uid != 0 || (st.st_mode & 07777) != 01733)
		die(EX_CONFIG, "%s is not root's with mode 1733; refusing", dir);
	snprintf(tmp, sizeof(tmp), "tmp.%lld.%08x", (long long)time(NULL), rnd);
	snprintf(name, sizeof(name), "%lld.%08x", (long long)time(NULL), rnd);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		die(EX_CANTCREAT, "%s/%s: %s", dir, tmp, strerror(errno));
	if (write(fd, head->p, head->len) != (ssize_t)head->len ||
	    write(fd, body->p, body->len) != (ssize_t)body->len || fsync(fd) == -1) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		die(EX_TEMPFAIL, "writing %s/%s: %s", dir, tmp, strerror(e));
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, name) == -1) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		die(EX_TEMPFAIL, "%s/%s: %s", dir, name, strerror(e));
	}
	/*
	 * The file's bytes are synced; the folder cannot be from here (an
	 * O_PATH descriptor), so the rename reaches the disk with the file
	 * system's next journal commit (ext4 and xfs order it after the data).
	 */
	close(dfd);
}

int
main(int argc, char **argv)
{
	const char		*conf = POSTERN_CONF_DEFAULT, *sender = NULL;
	const char		*fullname = "";
	struct sm_opts		 o;
	struct config		*c;
	struct buf		 err, raw, msg, head;
	struct strlist		 rcpts = { NULL, 0 };
	struct pickup_env	 env;
	struct passwd		*pw;
	char			 warning[512], *from;
	size_t			 i;
	int			 ch, ignore_dots = 0, extract = 0, listq = 0;

	/* sendmail's flags; those that do not apply here are taken and ignored */
	while ((ch = getopt(argc, argv, "B:b:C:d:F:f:h:iN:no:p:q:R:r:tV:vX:")) != -1) {
		switch (ch) {
		case 'b':
			if (strcmp(optarg, "p") == 0)
				listq = 1;
			else if (strcmp(optarg, "m") != 0)
				die(EX_USAGE, "-b%s is not supported (only -bm, -bp)",
				    optarg);
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
		case 'o':
			if (strcmp(optarg, "i") == 0)
				ignore_dots = 1;
			break;
		case 't':
			extract = 1;
			break;
		case 'B': case 'd': case 'h': case 'N': case 'n': case 'p':
		case 'q': case 'R': case 'V': case 'v': case 'X':
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (listq) {
		/* mailq's listing comes from posternctl, installed beside us */
		execlp("posternctl", "mailq", "-C", conf, (char *)NULL);
		die(EX_UNAVAILABLE, "posternctl: %s", strerror(errno));
	}
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL)
		die(EX_CONFIG, "%s", buf_cstr(&err) ? err.p : "configuration error");
	if ((pw = getpwuid(getuid())) == NULL)
		die(EX_NOUSER, "who are you? (uid %lu has no name)",
		    (unsigned long)getuid());

	memset(&o, 0, sizeof(o));
	o.ignore_dots = ignore_dots;
	o.extract = extract;
	o.fullname = fullname;
	o.hostname = c->hostname;
	o.now = time(NULL);
	from = qualify(pw->pw_name, c->hostname);
	o.from = from;
	if (sender != NULL && !may_set_sender(c, getuid(), pw->pw_name)) {
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
		rcpts.v[rcpts.n++] = qualify(argv[i], c->hostname);
	}

	buf_init(&raw);
	buf_init(&msg);
	if (sm_read_message(stdin, ignore_dots, c->submit_max_size, &raw) == -1) {
		if (errno == EFBIG)
			die(EX_DATAERR, "message larger than submit_max_size "
			    "(%llu bytes)", (unsigned long long)c->submit_max_size);
		die(EX_IOERR, "reading the message: %s", strerror(errno));
	}
	if (sm_prepare(&raw, &o, &rcpts, &msg) == -1)
		die(EX_OSERR, "out of memory");
	/* -t addresses arrive as written: qualify and check them too */
	for (i = (size_t)argc; i < rcpts.n; i++) {
		char *q = qualify(rcpts.v[i], c->hostname);
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
		env.sender = qualify(sender, c->hostname);
	else if (sender != NULL)
		env.sender = "";	/* -f "" or -f "<>": the null sender */
	env.rcpt = rcpts.v;
	env.nrcpt = (uint32_t)rcpts.n;
	buf_init(&head);
	if (pickup_encode(&env, &head) == -1)
		die(EX_OSERR, "out of memory");
	drop(c, &head, &msg);
	return EX_OK;
}
