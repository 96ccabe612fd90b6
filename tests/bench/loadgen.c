/* make bench's load generator and sink: pipelined SMTP sessions over poll(2), no libraries. */
/*
 * loadgen send [-H host] -p port [-s sessions] [-n messages] [-z bytes]
 *              [-t seconds] [-f from] [-r rcpt]
 *	N concurrent sessions, each sending MAIL/RCPT/DATA pipelined in one
 *	write, the body and final dot in one write, until n messages have been
 *	accepted in all or t seconds have passed. Prints one JSON line:
 *	accepted, errors, elapsed, rate, and the latency from the end of DATA
 *	to the 250 (p50/p99, ms).
 * loadgen sink -p port [-t seconds]
 *	An SMTP sink (PIPELINING, 8BITMIME) that accepts everything, stores
 *	nothing, and prints "count N" on stdout as messages arrive.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS	4096
#define BUFSZ		(256 * 1024)

struct conn {
	int	 fd;
	int	 state;
	char	*in;
	size_t	 inlen;
	char	*out;
	size_t	 outlen, outoff;
	int	 want;		/* replies still expected in this step */
	double	 t_dot;		/* when the final dot was written */
	int	 dot_pending;	/* the dot is in out, not yet written */
	int	 data_mode;	/* sink: inside DATA */
	size_t	 linestart;
};

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL)
		die("malloc");
	return p;
}

static void
set_nonblock(int fd)
{
	int	 fl = fcntl(fd, F_GETFL), one = 1;

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		die("fcntl");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
out_add(struct conn *c, const char *p, size_t n)
{
	if (c->outlen + n > BUFSZ) {
		/* compact first */
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
		if (c->outlen + n > BUFSZ) {
			fprintf(stderr, "output buffer full\n");
			exit(1);
		}
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/* Writes what it can; -1 when the peer is gone. */
static int
out_flush(struct conn *c)
{
	ssize_t	 n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	if (c->dot_pending) {
		c->t_dot = now();
		c->dot_pending = 0;
	}
	return 0;
}

static int
in_fill(struct conn *c)
{
	ssize_t	 n;

	if (c->inlen >= BUFSZ)
		return -1;
	n = read(c->fd, c->in + c->inlen, BUFSZ - c->inlen);
	if (n == 0)
		return -1;
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->inlen += (size_t)n;
	return 0;
}

/* One whole reply (multi-line joined): its code, or 0 when incomplete. */
static int
next_reply(struct conn *c)
{
	size_t	 off = 0, end;
	char	*nl;
	int	 code;

	for (;;) {
		nl = memchr(c->in + off, '\n', c->inlen - off);
		if (nl == NULL)
			return 0;
		end = (size_t)(nl - c->in) + 1;
		if (end - off < 4) {
			off = end;
			continue;
		}
		if (c->in[off + 3] != '-') {
			code = (c->in[off] - '0') * 100 + (c->in[off + 1] - '0') * 10 +
			    (c->in[off + 2] - '0');
			memmove(c->in, c->in + end, c->inlen - end);
			c->inlen -= end;
			return code;
		}
		off = end;
	}
}

/* ---------------------------------------------------------------- send */

enum { S_GREET, S_EHLO, S_ENV, S_DATA, S_DONE };

static char	*body;
static size_t	 bodylen;
static char	 envelope[1024];
static size_t	 envlen;
static double	*lat;
static long	 nlat, maxlat, accepted, errors, target;

/* A whole number argument, or exit. */
static long
num(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "loadgen: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
connect_to(const char *host, int port)
{
	struct sockaddr_in	 sin;
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		die("inet_pton");
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect");
	set_nonblock(fd);
	return fd;
}

static void
start_message(struct conn *c)
{
	if (accepted >= target) {
		out_add(c, "QUIT\r\n", 6);
		c->state = S_DONE;
		return;
	}
	out_add(c, envelope, envlen);
	c->state = S_ENV;
	c->want = 3;
}

/* Handles every complete reply; -1 to drop the session. */
static int
send_step(struct conn *c)
{
	int	 code;

	while ((code = next_reply(c)) != 0) {
		switch (c->state) {
		case S_GREET:
			if (code != 220)
				return -1;
			out_add(c, "EHLO loadgen.example\r\n", 22);
			c->state = S_EHLO;
			break;
		case S_EHLO:
			if (code != 250)
				return -1;
			start_message(c);
			break;
		case S_ENV:
			c->want--;
			if (c->want == 0) {
				if (code != 354) {
					errors++;
					out_add(c, "RSET\r\n", 6);
					c->state = S_EHLO;	/* RSET's 250 restarts */
					break;
				}
				out_add(c, body, bodylen);
				c->dot_pending = 1;
				c->state = S_DATA;
			} else if (code != 250)
				errors++;	/* DATA's reply still comes */
			break;
		case S_DATA:
			if (code == 250) {
				accepted++;
				if (nlat < maxlat)
					lat[nlat++] = now() - c->t_dot;
			} else
				errors++;
			start_message(c);
			break;
		case S_DONE:
			return -1;
		}
	}
	return 0;
}

static int
run_send(int argc, char **argv)
{
	const char	*host = "127.0.0.1", *from = "bench@example.org",
			*rcpt = "sink@example.com";
	struct pollfd	*pfd;
	struct conn	*c;
	double		 t0, t1, limit = 60;
	long		 sessions = 20, size = 1024, i, live;
	int		 port = 0, opt;
	size_t		 off;

	target = 1000;
	while ((opt = getopt(argc, argv, "H:p:s:n:z:t:f:r:")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = (int)num(optarg); break;
		case 's': sessions = num(optarg); break;
		case 'n': target = num(optarg); break;
		case 'z': size = num(optarg); break;
		case 't': limit = (double)num(optarg); break;
		case 'f': from = optarg; break;
		case 'r': rcpt = optarg; break;
		default: return 2;
		}
	}
	if (port <= 0 || sessions < 1 || sessions > MAX_SESSIONS || target < 1 ||
	    size < 64 || size > 64 * 1024 * 1024 / 2)
		return 2;
	envlen = (size_t)snprintf(envelope, sizeof(envelope),
	    "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", from, rcpt);
	/* headers, then 78-byte lines up to size, then the dot */
	body = xmalloc((size_t)size + 512);
	off = (size_t)snprintf(body, 512, "From: <%s>\r\nTo: <%s>\r\n"
	    "Subject: bench\r\n\r\n", from, rcpt);
	while (off + 80 < (size_t)size) {
		memset(body + off, 'x', 76);
		memcpy(body + off + 76, "\r\n", 2);
		off += 78;
	}
	memcpy(body + off, ".\r\n", 3);
	bodylen = off + 3;
	maxlat = target;
	lat = xmalloc(sizeof(*lat) * (size_t)maxlat);
	c = calloc((size_t)sessions, sizeof(*c));
	pfd = calloc((size_t)sessions, sizeof(*pfd));
	if (c == NULL || pfd == NULL)
		die("calloc");
	t0 = now();
	for (i = 0; i < sessions; i++) {
		c[i].fd = connect_to(host, port);
		c[i].in = xmalloc(BUFSZ);
		c[i].out = xmalloc(BUFSZ);
		c[i].state = S_GREET;
	}
	for (;;) {
		live = 0;
		for (i = 0; i < sessions; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN | (c[i].outlen > c[i].outoff ? POLLOUT : 0);
			if (c[i].fd != -1)
				live++;
		}
		if (live == 0 || now() - t0 > limit)
			break;
		if (poll(pfd, (nfds_t)sessions, 100) == -1 && errno != EINTR)
			die("poll");
		for (i = 0; i < sessions; i++) {
			if (c[i].fd == -1)
				continue;
			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    (in_fill(&c[i]) == -1 || send_step(&c[i]) == -1)) {
				if (c[i].state != S_DONE)
					errors++;
				close(c[i].fd);
				c[i].fd = -1;
				continue;
			}
			if (out_flush(&c[i]) == -1) {
				errors++;
				close(c[i].fd);
				c[i].fd = -1;
			}
		}
	}
	t1 = now();
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
	printf("{\"accepted\": %ld, \"errors\": %ld, \"elapsed\": %.3f, "
	    "\"rate\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n",
	    accepted, errors, t1 - t0, accepted / (t1 - t0),
	    nlat ? lat[nlat / 2] * 1000 : 0,
	    nlat ? lat[nlat * 99 / 100] * 1000 : 0);
	return 0;
}

/* ---------------------------------------------------------------- sink */

static volatile sig_atomic_t	 sink_stop;
static long			 sink_count;

static void
on_term(int sig)
{
	(void)sig;
	sink_stop = 1;
}

/* Handles every complete line; -1 to close. */
static int
sink_step(struct conn *c)
{
	static const char ehlo[] = "250-sink.example\r\n250-PIPELINING\r\n"
	    "250-8BITMIME\r\n250 SIZE 0\r\n";
	size_t	 off = 0, end, n;
	char	*nl, *l;

	while ((nl = memchr(c->in + off, '\n', c->inlen - off)) != NULL) {
		end = (size_t)(nl - c->in) + 1;
		l = c->in + off;
		n = end - off;
		off = end;
		if (c->data_mode) {
			if (n == 3 && l[0] == '.') {
				c->data_mode = 0;
				sink_count++;
				out_add(c, "250 2.0.0 Ok: sunk\r\n", 20);
			}
			continue;
		}
		if (n >= 4 && (strncasecmp(l, "EHLO", 4) == 0))
			out_add(c, ehlo, sizeof(ehlo) - 1);
		else if (n >= 4 && strncasecmp(l, "DATA", 4) == 0) {
			out_add(c, "354 go ahead\r\n", 14);
			c->data_mode = 1;
		} else if (n >= 4 && strncasecmp(l, "QUIT", 4) == 0) {
			out_add(c, "221 2.0.0 Bye\r\n", 15);
			out_flush(c);
			return -1;
		} else
			out_add(c, "250 2.0.0 Ok\r\n", 14);
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return 0;
}

static int
run_sink(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	struct pollfd		*pfd;
	struct conn		*c;
	double			 t0, limit = 3600, last = 0;
	long			 printed = -1;
	int			 port = 0, opt, lfd, fd, one = 1;
	size_t			 i, n = 0;

	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		switch (opt) {
		case 'p': port = (int)num(optarg); break;
		case 't': limit = (double)num(optarg); break;
		default: return 2;
		}
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, SOMAXCONN) == -1)
		die("bind/listen");
	set_nonblock(lfd);
	c = calloc(MAX_SESSIONS + 1, sizeof(*c));
	pfd = calloc(MAX_SESSIONS + 1, sizeof(*pfd));
	if (c == NULL || pfd == NULL)
		die("calloc");
	printf("ready\n");
	fflush(stdout);
	t0 = now();
	while (!sink_stop && now() - t0 < limit) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pfd[i + 1].fd = c[i].fd;
			pfd[i + 1].events = POLLIN |
			    (c[i].outlen > c[i].outoff ? POLLOUT : 0);
		}
		if (poll(pfd, n + 1, 100) == -1 && errno != EINTR)
			die("poll");
		if (pfd[0].revents & POLLIN) {
			while (n < MAX_SESSIONS && (fd = accept(lfd, NULL, NULL)) != -1) {
				set_nonblock(fd);
				memset(&c[n], 0, sizeof(c[n]));
				c[n].fd = fd;
				c[n].in = xmalloc(BUFSZ);
				c[n].out = xmalloc(BUFSZ);
				out_add(&c[n], "220 sink.example ESMTP\r\n", 24);
				n++;
			}
		}
		for (i = 0; i < n; i++) {
			if ((pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    (in_fill(&c[i]) == -1 || sink_step(&c[i]) == -1)) {
				close(c[i].fd);
				c[i].fd = -1;
			} else if (c[i].fd != -1 && out_flush(&c[i]) == -1) {
				close(c[i].fd);
				c[i].fd = -1;
			}
		}
		/* drop closed sessions (only those that polled this round) */
		for (i = 0; i < n; ) {
			if (c[i].fd == -1) {
				free(c[i].in);
				free(c[i].out);
				c[i] = c[n - 1];
				pfd[i + 1] = pfd[n];
				n--;
			} else
				i++;
		}
		if (sink_count != printed && now() - last > 0.1) {
			printf("count %ld\n", sink_count);
			fflush(stdout);
			printed = sink_count;
			last = now();
		}
	}
	printf("count %ld\n", sink_count);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return run_send(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "sink") == 0)
		return run_sink(argc - 1, argv + 1);
	fprintf(stderr, "usage: loadgen send|sink ...\n");
	return 2;
}
