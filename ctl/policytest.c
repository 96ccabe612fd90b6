/* posternctl policy-test: a test session through queue-mgr to smtpd, spoken and shown as a dialogue. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "config.h"
#include "ctl.h"
#include "format.h"
#include "ipc.h"
#include "offline.h"
#include "pack.h"
#include "policytest.h"

/* Commands in one dialogue at most: greeting, EHLO, MAIL, QUIT, recipients. */
#define POLICY_MAX_STEPS	(IPC_JOB_MAX_RCPT + 4)

int
ctl_policy_reply_line(const char *line, int *code, int *more)
{
	if (!isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    line[0] < '2' || line[0] > '5')
		return 0;
	if (line[3] != '\0' && line[3] != ' ' && line[3] != '-')
		return 0;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*more = line[3] == '-';
	return 1;
}

int
ctl_policy_ehlo_literal(const char *ip, char *out, size_t outsz)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	int		 n;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		n = snprintf(out, outsz, "[%s]", ip);
	else if (inet_pton(AF_INET6, ip, &a6) == 1)
		n = snprintf(out, outsz, "[IPv6:%s]", ip);
	else
		return -1;
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
ctl_policy_path(const char *arg, char *out, size_t outsz)
{
	size_t	 len = strlen(arg), i;

	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>') {
		arg++;
		len -= 2;
	}
	if (len > CTL_POLICY_MAX_ADDR || len + 3 > outsz)
		return -1;
	for (i = 0; i < len; i++)
		if ((unsigned char)arg[i] < ' ' || arg[i] == 0x7f ||
		    arg[i] == '<' || arg[i] == '>' || arg[i] == ' ')
			return -1;
	out[0] = '<';
	memcpy(out + 1, arg, len);
	out[len + 1] = '>';
	out[len + 2] = '\0';
	return 0;
}

int
ctl_policy_format(struct buf *b, const struct ctl_policy_step *s, size_t n)
{
	struct buf	 safe;
	size_t		 i, w = 0, len;
	const char	*p, *nl;
	int		 r = 0, first;

	for (i = 0; i < n; i++)
		if ((len = strlen(s[i].cmd)) > w)
			w = len;
	buf_init(&safe);
	for (i = 0; i < n && r == 0; i++) {
		buf_reset(&safe);
		if (ctl_term_safe(&safe, s[i].cmd) == -1 ||
		    buf_cstr(&safe) == NULL) {
			r = -1;
			break;
		}
		r |= buf_appendf(b, "%-*s  ", (int)w, safe.p);
		if (s[i].reply.len == 0) {
			r |= buf_appends(b, "(no reply)\n");
			continue;
		}
		/* the lines of a reply stand under each other */
		p = s[i].reply.p;
		for (first = 1; p < s[i].reply.p + s[i].reply.len; first = 0) {
			nl = memchr(p, '\n', (size_t)(s[i].reply.p +
			    s[i].reply.len - p));
			len = nl ? (size_t)(nl - p) : (size_t)(s[i].reply.p +
			    s[i].reply.len - p);
			buf_reset(&safe);
			if (ctl_term_safe_bytes(&safe, p, len) == -1 ||
			    buf_cstr(&safe) == NULL) {
				r = -1;
				break;
			}
			if (!first)
				r |= buf_appendf(b, "%-*s  ", (int)w, "");
			r |= buf_appendf(b, "%s\n", safe.p);
			p += len + (nl ? 1 : 0);
		}
	}
	buf_free(&safe);
	return r ? -1 : 0;
}

/* ---- the dialogue ---- */

struct policy_conn {
	int		 fd;
	struct buf	 in;
	int		 timeout_ms;
	int		 closed;	/* smtpd closed the session */
	int		 failed;	/* timeout or another error: exit 2 */
};

/* One line (CRLF or LF stripped) into out; -1 on timeout, EOF or a too
 * long line, with the reason printed. */
static int
policy_getline(struct policy_conn *pc, char *out, size_t outsz)
{
	struct pollfd	 pfd;
	char		 tmp[4096];
	char		*nl;
	ssize_t		 n;
	size_t		 len;
	int		 r;

	for (;;) {
		/* an empty buffer may have no memory yet (p is NULL) */
		if (pc->in.len > 0 &&
		    (nl = memchr(pc->in.p, '\n', pc->in.len)) != NULL) {
			len = (size_t)(nl - pc->in.p);
			if (len > 0 && pc->in.p[len - 1] == '\r')
				len--;
			if (len >= outsz)
				break;
			memcpy(out, pc->in.p, len);
			out[len] = '\0';
			buf_consume(&pc->in, (size_t)(nl - pc->in.p) + 1);
			return 0;
		}
		if (pc->in.len >= outsz)
			break;
		pfd.fd = pc->fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, pc->timeout_ms)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "posternctl: poll: %s\n", strerror(errno));
			return -1;
		}
		if (r == 0) {
			fprintf(stderr, "posternctl: no reply from smtpd within "
			    "%d s\n", pc->timeout_ms / 1000);
			pc->failed = 1;
			return -1;
		}
		if ((n = read(pc->fd, tmp, sizeof(tmp))) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "posternctl: reading from smtpd: %s\n",
			    strerror(errno));
			pc->failed = 1;
			return -1;
		}
		if (n == 0) {
			pc->closed = 1;
			return -1;
		}
		if (buf_append(&pc->in, tmp, (size_t)n) == -1) {
			fprintf(stderr, "posternctl: out of memory\n");
			return -1;
		}
	}
	fprintf(stderr, "posternctl: reply line from smtpd too long\n");
	pc->failed = 1;
	return -1;
}

/* Reads one whole reply into step; -1 when none came (closed, timeout). */
static int
policy_reply(struct policy_conn *pc, struct ctl_policy_step *st)
{
	char	 line[CTL_POLICY_MAX_LINE];
	int	 code, more, nlines = 0;

	do {
		if (policy_getline(pc, line, sizeof(line)) == -1)
			return -1;
		if (!ctl_policy_reply_line(line, &code, &more)) {
			fprintf(stderr, "posternctl: not an SMTP reply from "
			    "smtpd\n");
			pc->failed = 1;
			return -1;
		}
		if (buf_appendf(&st->reply, "%s\n", line) == -1)
			return -1;
		if (++nlines > CTL_POLICY_MAX_LINES) {
			fprintf(stderr, "posternctl: reply from smtpd too "
			    "long\n");
			pc->failed = 1;
			return -1;
		}
	} while (more);
	st->code = code;
	return 0;
}

static int
policy_write(int fd, const char *s)
{
	size_t	 len = strlen(s), off = 0;
	ssize_t	 n;

	while (off < len) {
		if ((n = send(fd, s + off, len - off, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Sends "cmd\r\n" and reads its reply into a new step. -1 when the
 * session is gone (the step stays, with what came). */
static int
policy_cmd(struct policy_conn *pc, struct ctl_policy_step *steps, size_t *n,
    const char *cmd)
{
	struct ctl_policy_step	*st = &steps[*n];
	char			 line[CTL_POLICY_MAX_ADDR * 2];

	memset(st, 0, sizeof(*st));
	buf_init(&st->reply);
	if ((st->cmd = strdup(cmd)) == NULL)
		return -1;
	(*n)++;
	if (strcmp(cmd, "(connect)") != 0) {
		snprintf(line, sizeof(line), "%s\r\n", cmd);
		if (policy_write(pc->fd, line) == -1) {
			pc->closed = 1;
			return -1;
		}
	}
	return policy_reply(pc, st);
}

static void
policy_usage(void)
{
	fprintf(stderr, "usage: posternctl [-f config] policy-test --from IP "
	    "[--helo NAME] [--listener NAME]\n"
	    "                  MAIL_FROM RCPT_TO [RCPT_TO ...]\n");
	exit(2);
}

/* IPC_CTL_ERROR's text on stderr, then exit 2 (ctl_fail exits 1). */
static void __attribute__((noreturn))
policy_fail(const struct ipc_msg *m)
{
	struct unpack	 u;
	struct buf	 safe;
	char		*s = NULL;

	unpack_init(&u, m->data, m->len);
	buf_init(&safe);
	if (unpack_str(&u, &s, CTL_MAX_ERROR) == -1 || unpack_done(&u) == -1 ||
	    ctl_term_safe(&safe, s) == -1 || buf_cstr(&safe) == NULL)
		fprintf(stderr, "posternctl: postern refused the policy test\n");
	else
		fprintf(stderr, "posternctl: %s\n", safe.p);
	exit(2);
}

/* Asks queue-mgr to hand smtpd a test session; returns our end. */
static int
policy_open(const struct config *c, const char *ip, const char *helo,
    const char *listener)
{
	struct ipc_msg	 m;
	struct buf	 b;
	uint8_t		*payload;
	int		 fd, sv[2];

	/* exit 2, not 1: 1 means a recipient was refused */
	switch (ctl_try_connect(c, &fd)) {
	case 0:
		fprintf(stderr, "posternctl: postern is not running (the "
		    "policy test needs smtpd)\n");
		exit(2);
	case -1:
		fprintf(stderr, "posternctl: cannot connect to the control "
		    "socket in %s: %s\n", c->spool, strerror(errno));
		exit(2);
	}
	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		exit(2);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		fprintf(stderr, "posternctl: socketpair: %s\n", strerror(errno));
		exit(2);
	}
	buf_init(&b);
	if (pack_str(&b, ip) == -1 || pack_str(&b, helo) == -1 ||
	    pack_str(&b, listener) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		exit(2);
	}
	if (ipc_sync_send(fd, IPC_CTL_POLICY_TEST, CTL_REQ_ID, sv[1], b.p,
	    b.len) == -1) {
		fprintf(stderr, "posternctl: sending the request: %s\n",
		    strerror(errno));
		exit(2);
	}
	close(sv[1]);
	ctl_recv(fd, &m, payload);
	if (m.type == IPC_CTL_ERROR)
		policy_fail(&m);
	if (m.type != IPC_CTL_OK) {
		fprintf(stderr, "posternctl: unexpected %s from postern\n",
		    ipc_type_name(m.type));
		exit(2);
	}
	close(fd);
	buf_free(&b);
	free(payload);
	return sv[0];
}

int
ctl_verb_policy_test(const char *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'F' },
		{ "helo", required_argument, NULL, 'H' },
		{ "listener", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_policy_step	*steps;
	struct policy_conn	 pc;
	struct config		*c;
	struct buf		 b, err;
	const char		*ip = NULL, *helo = "", *listener = "";
	char			 ehlo[128], path[CTL_POLICY_MAX_ADDR + 3];
	char			 cmd[CTL_POLICY_MAX_ADDR + 32];
	size_t			 n = 0, i;
	int			 ch, rv = 0, alive, nrcpt, refused = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			ip = optarg;
			break;
		case 'H':
			helo = optarg;
			break;
		case 'L':
			listener = optarg;
			break;
		default:
			policy_usage();
		}
	}
	nrcpt = argc - optind - 1;
	if (ip == NULL || nrcpt < 1 || nrcpt > IPC_JOB_MAX_RCPT)
		policy_usage();
	if (ctl_policy_ehlo_literal(ip, ehlo, sizeof(ehlo)) == -1) {
		fprintf(stderr, "posternctl: --from: '%s' is not an IP "
		    "address\n", ip);
		return 2;
	}
	if (strpbrk(helo, " \t\r\n") != NULL || strlen(helo) > 255 ||
	    strpbrk(listener, " \t\r\n") != NULL || strlen(listener) > 255) {
		fprintf(stderr, "posternctl: --helo and --listener take one "
		    "word\n");
		return 2;
	}
	for (i = (size_t)optind; i < (size_t)argc; i++)
		if (ctl_policy_path(argv[i], path, sizeof(path)) == -1) {
			fprintf(stderr, "posternctl: '%s' is not an address\n",
			    argv[i]);
			return 2;
		}
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		buf_free(&err);
		return 2;
	}
	buf_free(&err);
	if ((steps = calloc(POLICY_MAX_STEPS, sizeof(*steps))) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 2;
	}
	memset(&pc, 0, sizeof(pc));
	buf_init(&pc.in);
	pc.timeout_ms = CTL_TIMEOUT_MS;
	pc.fd = policy_open(c, ip, helo, listener);

	/* every step goes on only while smtpd accepts what came before */
	alive = policy_cmd(&pc, steps, &n, "(connect)") == 0;
	if (alive && steps[n - 1].code / 100 == 2) {
		snprintf(cmd, sizeof(cmd), "EHLO %s", helo[0] ? helo : ehlo);
		alive = policy_cmd(&pc, steps, &n, cmd) == 0;
	}
	if (alive && steps[n - 1].code / 100 == 2) {
		ctl_policy_path(argv[optind], path, sizeof(path));
		snprintf(cmd, sizeof(cmd), "MAIL FROM:%s", path);
		alive = policy_cmd(&pc, steps, &n, cmd) == 0;
		if (alive && steps[n - 1].code / 100 == 2) {
			for (i = (size_t)optind + 1; alive &&
			    i < (size_t)argc; i++) {
				ctl_policy_path(argv[i], path, sizeof(path));
				snprintf(cmd, sizeof(cmd), "RCPT TO:%s", path);
				alive = policy_cmd(&pc, steps, &n, cmd) == 0;
				if (!alive || steps[n - 1].code / 100 != 2)
					refused = 1;
			}
			if (i < (size_t)argc)
				refused = 1;
		} else
			refused = 1;
	} else
		refused = 1;
	if (alive)
		(void)policy_cmd(&pc, steps, &n, "QUIT");
	close(pc.fd);

	buf_init(&b);
	if (ctl_policy_format(&b, steps, n) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		rv = 2;
	} else
		ctl_out(&b);
	/* a session cut without a reply is an error, not an answer */
	if (rv == 0 && pc.closed && steps[n - 1].code == 0) {
		fprintf(stderr, "posternctl: smtpd closed the session\n");
		pc.failed = 1;
	}
	if (rv == 0)
		rv = fflush(stdout) != 0 || pc.failed ? 2 : refused ? 1 : 0;
	for (i = 0; i < n; i++) {
		free(steps[i].cmd);
		buf_free(&steps[i].reply);
	}
	free(steps);
	buf_free(&b);
	buf_free(&pc.in);
	config_free(c);
	return rv;
}
