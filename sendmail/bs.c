/* postern-sendmail -bs: the SMTP dialogue (RFC 5321 subset) on standard input and output. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "addr.h"
#include "bs.h"
#include "pickup.h"

/* why the DATA in progress will be refused at its end */
enum {
	DATA_OK = 0,
	DATA_TOO_BIG,
	DATA_LONG_LINE,
	DATA_NUL,
	DATA_BARE_CR,
};

void
sm_bs_init(struct sm_bs *s, const struct sm_bs_conf *conf)
{
	memset(s, 0, sizeof(*s));
	s->conf = *conf;
	buf_init(&s->line);
	buf_init(&s->data);
}

static void
reset_transaction(struct sm_bs *s)
{
	free(s->sender);
	s->sender = NULL;
	s->have_mail = 0;
	strlist_free(&s->rcpts);
	buf_free(&s->data);
	buf_init(&s->data);
	s->data_error = DATA_OK;
}

void
sm_bs_free(struct sm_bs *s)
{
	reset_transaction(s);
	buf_free(&s->line);
}

int
sm_bs_greeting(struct sm_bs *s, struct buf *out)
{
	return buf_appendf(out, "220 %s ESMTP postern (sendmail -bs)\r\n",
	    s->conf.hostname);
}

int
sm_bs_eof(struct sm_bs *s)
{
	return s->state == SM_BS_DATA;
}

/* A bad command: counted, so a runaway program cannot loop forever. */
static int
error_reply(struct sm_bs *s, struct buf *out, const char *reply)
{
	if (buf_appendf(out, "%s\r\n", reply) == -1)
		return -1;
	if (++s->errors >= SM_BS_MAX_ERRORS) {
		s->state = SM_BS_DONE;
		if (buf_appendf(out, "421 4.7.0 %s Error: too many errors\r\n",
		    s->conf.hostname) == -1)
			return -1;
		return 1;
	}
	return 0;
}

/* "FROM:" or "TO:" after the verb, spaces allowed around the colon's path */
static const char *
after_keyword(const char *p, const char *end, const char *kw)
{
	size_t	 n = strlen(kw);

	if ((size_t)(end - p) < n || strncasecmp(p, kw, n) != 0)
		return NULL;
	p += n;
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* The next space-separated word: [*w, *wend). 0 when there is none. */
static int
next_word(const char **p, const char *end, const char **w, const char **wend)
{
	while (*p < end && **p == ' ')
		(*p)++;
	if (*p == end)
		return 0;
	*w = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*wend = *p;
	return 1;
}

static int
word_is(const char *w, const char *wend, const char *s)
{
	return (size_t)(wend - w) == strlen(s) && strncasecmp(w, s, (size_t)(wend - w)) == 0;
}

static int
cmd_mail(struct sm_bs *s, const char *p, const char *end, struct buf *out)
{
	struct addr	 a;
	char		 text[ADDR_TEXT_MAX], num[32];
	const char	*w, *wend, *eq, *errstr;
	size_t		 used;
	long long	 size;

	if (s->have_mail)
		return error_reply(s, out, "503 5.5.1 Error: nested MAIL command");
	if ((p = after_keyword(p, end, "FROM:")) == NULL)
		return error_reply(s, out, "501 5.5.4 Syntax: MAIL FROM:<address>");
	if (p == end || *p != '<' ||
	    addr_parse_path(p, (size_t)(end - p), ADDR_F_NULL_OK, &a, &used) == -1 ||
	    addr_format(&a, text, sizeof(text)) == -1)
		return error_reply(s, out, "501 5.1.7 Bad sender address syntax");
	p += used;
	if (p < end && *p != ' ')
		return error_reply(s, out, "501 5.5.4 Syntax: MAIL FROM:<address>");
	while (next_word(&p, end, &w, &wend)) {
		eq = memchr(w, '=', (size_t)(wend - w));
		if (eq != NULL && word_is(w, eq, "SIZE")) {
			if ((size_t)(wend - eq - 1) >= sizeof(num))
				return error_reply(s, out, "501 5.5.4 Bad SIZE parameter");
			memcpy(num, eq + 1, (size_t)(wend - eq - 1));
			num[wend - eq - 1] = '\0';
			size = strtonum(num, 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				return error_reply(s, out, "501 5.5.4 Bad SIZE parameter");
			if ((unsigned long long)size > s->conf.max_size)
				return error_reply(s, out, "552 5.3.4 Message size "
				    "exceeds the limit (submit_max_size)");
		} else if (eq != NULL && word_is(w, eq, "BODY")) {
			if (!word_is(eq + 1, wend, "7BIT") &&
			    !word_is(eq + 1, wend, "8BITMIME"))
				return error_reply(s, out, "501 5.5.4 Bad BODY parameter");
		} else
			return error_reply(s, out, "555 5.5.4 Unsupported MAIL parameter");
	}
	if ((s->sender = strdup(text)) == NULL)
		return -1;
	s->have_mail = 1;
	if (!s->conf.trusted && strcasecmp(text, s->conf.login) != 0)
		return buf_appendf(out, "250 2.1.0 Ok, but the sender will be <%s>: "
		    "only root and submit_trusted_group may choose it\r\n",
		    s->conf.login);
	return buf_appends(out, "250 2.1.0 Ok\r\n");
}

static int
cmd_rcpt(struct sm_bs *s, const char *p, const char *end, struct buf *out)
{
	struct addr	 a;
	char		 text[ADDR_TEXT_MAX + 1];
	size_t		 used;
	int		 n;

	if (!s->have_mail)
		return error_reply(s, out, "503 5.5.1 Error: need MAIL command");
	if ((p = after_keyword(p, end, "TO:")) == NULL)
		return error_reply(s, out, "501 5.5.4 Syntax: RCPT TO:<address>");
	if (p == end || *p != '<' ||
	    addr_parse_path(p, (size_t)(end - p), ADDR_F_POSTMASTER_OK, &a,
	    &used) == -1)
		return error_reply(s, out, "501 5.1.3 Bad recipient address syntax");
	p += used;
	while (p < end && *p == ' ')
		p++;
	if (p != end)
		return error_reply(s, out, "555 5.5.4 Unsupported RCPT parameter");
	if (s->rcpts.n >= PICKUP_MAX_RCPT)
		return buf_appends(out, "452 4.5.3 Error: too many recipients\r\n");
	if (a.kind == ADDR_POSTMASTER)
		n = snprintf(text, sizeof(text), "postmaster@%s", s->conf.hostname);
	else
		n = addr_format(&a, text, sizeof(text));
	if (n < 0 || (size_t)n >= sizeof(text))
		return error_reply(s, out, "501 5.1.3 Bad recipient address syntax");
	if (strlist_add(&s->rcpts, text, strlen(text)) == -1)
		return -1;
	return buf_appends(out, "250 2.1.5 Ok\r\n");
}

static int
cmd_ehlo(struct sm_bs *s, int extended, const char *p, const char *end,
    struct buf *out)
{
	while (p < end && *p == ' ')
		p++;
	if (p == end)
		return error_reply(s, out, extended ?
		    "501 5.5.4 Syntax: EHLO hostname" :
		    "501 5.5.4 Syntax: HELO hostname");
	reset_transaction(s);
	if (!extended)
		return buf_appendf(out, "250 %s\r\n", s->conf.hostname);
	return buf_appendf(out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %zu\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n",
	    s->conf.hostname, s->conf.max_size);
}

/* One command line, its line end removed. */
static int
command(struct sm_bs *s, const char *line, size_t len, int toolong,
    struct buf *out)
{
	const char	*end = line + len, *verb = line, *vend, *p;

	if (toolong)
		return error_reply(s, out, "500 5.5.2 Error: line too long");
	for (p = line; p < end && *p != ' '; p++)
		;
	vend = p;
	if (p < end)
		p++;
	if (word_is(verb, vend, "EHLO"))
		return cmd_ehlo(s, 1, p, end, out);
	if (word_is(verb, vend, "HELO"))
		return cmd_ehlo(s, 0, p, end, out);
	if (word_is(verb, vend, "MAIL"))
		return cmd_mail(s, p, end, out);
	if (word_is(verb, vend, "RCPT"))
		return cmd_rcpt(s, p, end, out);
	if (word_is(verb, vend, "DATA")) {
		if (p != end)
			return error_reply(s, out, "501 5.5.4 Syntax: DATA");
		if (!s->have_mail)
			return error_reply(s, out, "503 5.5.1 Error: need MAIL command");
		if (s->rcpts.n == 0)
			return error_reply(s, out, "503 5.5.1 Error: need RCPT command");
		s->state = SM_BS_DATA;
		return buf_appends(out, "354 End data with <CR><LF>.<CR><LF>\r\n");
	}
	if (word_is(verb, vend, "RSET")) {
		reset_transaction(s);
		return buf_appends(out, "250 2.0.0 Ok\r\n");
	}
	if (word_is(verb, vend, "NOOP"))
		return buf_appends(out, "250 2.0.0 Ok\r\n");
	if (word_is(verb, vend, "HELP"))
		return buf_appends(out, "214 2.0.0 Commands: HELO EHLO MAIL RCPT "
		    "DATA RSET NOOP QUIT HELP\r\n");
	if (word_is(verb, vend, "QUIT")) {
		s->state = SM_BS_DONE;
		if (buf_appendf(out, "221 2.0.0 %s Bye\r\n", s->conf.hostname) == -1)
			return -1;
		return 1;
	}
	if (word_is(verb, vend, "VRFY") || word_is(verb, vend, "EXPN"))
		return error_reply(s, out, "502 5.5.1 Error: command not implemented");
	return error_reply(s, out, "500 5.5.2 Error: command not recognized");
}

static int
end_of_data(struct sm_bs *s, struct buf *out)
{
	struct sm_bs_msg	 m;
	struct buf		 note;
	int			 r;

	s->state = SM_BS_CMD;
	switch (s->data_error) {
	case DATA_TOO_BIG:
		r = buf_appendf(out, "552 5.3.4 Error: message larger than "
		    "submit_max_size (%zu bytes)\r\n", s->conf.max_size);
		break;
	case DATA_LONG_LINE:
		r = buf_appendf(out, "550 5.6.0 Error: a line is longer than "
		    "%d octets\r\n", SM_BS_TEXT_MAX - 2);
		break;
	case DATA_NUL:
		r = buf_appends(out, "550 5.6.0 Error: NUL in message\r\n");
		break;
	case DATA_BARE_CR:
		r = buf_appends(out, "550 5.6.0 Error: bare CR in message\r\n");
		break;
	default:
		m.sender = s->sender;
		m.sender_ok = s->conf.trusted;
		m.rcpts = &s->rcpts;
		m.content = &s->data;
		buf_init(&note);
		if (s->conf.submit(s->conf.arg, &m, &note) == 0)
			r = buf_appendf(out, "250 2.0.0 Ok: %.*s\r\n",
			    (int)note.len, note.p ? note.p : "");
		else
			r = buf_appendf(out, "%.*s\r\n", (int)note.len,
			    note.p ? note.p : "451 4.3.0 Error: not submitted");
		buf_free(&note);
		break;
	}
	reset_transaction(s);
	return r;
}

/* One line of message text, its line end removed. */
static int
data_line(struct sm_bs *s, const char *p, size_t n, int toolong, struct buf *out)
{
	if (!toolong && n == 1 && p[0] == '.')
		return end_of_data(s, out);
	if (s->data_error != DATA_OK)
		return 0;	/* refused at the end anyway: keep nothing */
	if (toolong)
		s->data_error = DATA_LONG_LINE;
	else if (memchr(p, '\0', n) != NULL)
		s->data_error = DATA_NUL;
	else if (memchr(p, '\r', n) != NULL)
		s->data_error = DATA_BARE_CR;
	else {
		if (n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		if (s->data.len > s->conf.max_size ||
		    n + 2 > s->conf.max_size - s->data.len)
			s->data_error = DATA_TOO_BIG;
		else if (buf_append(&s->data, p, n) == -1 ||
		    buf_append(&s->data, "\r\n", 2) == -1)
			return -1;
	}
	if (s->data_error != DATA_OK) {
		buf_free(&s->data);
		buf_init(&s->data);
	}
	return 0;
}

int
sm_bs_feed(struct sm_bs *s, const char *p, size_t n, struct buf *out)
{
	const char	*nl, *lp;
	size_t		 take, max;
	int		 r = 0;

	while (n > 0 && s->state != SM_BS_DONE && r == 0) {
		max = (s->state == SM_BS_DATA ? SM_BS_TEXT_MAX : SM_BS_CMD_MAX) - 1;
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) : n;
		/* keep at most max octets before the LF (CR included) */
		if (!s->line_long) {
			if (take > max - s->line.len) {
				s->line_long = 1;
				buf_reset(&s->line);
			} else if (buf_append(&s->line, p, take) == -1)
				return -1;
		}
		if (nl == NULL)
			return 0;
		p += take + 1;
		n -= take + 1;
		if (s->line.len > 0 && s->line.p[s->line.len - 1] == '\r')
			s->line.len--;
		/* an empty line may have no storage yet */
		lp = s->line.p != NULL ? s->line.p : "";
		if (s->state == SM_BS_DATA)
			r = data_line(s, lp, s->line.len, s->line_long, out);
		else
			r = command(s, lp, s->line.len, s->line_long, out);
		buf_reset(&s->line);
		s->line_long = 0;
	}
	return r == -1 ? -1 : s->state == SM_BS_DONE;
}

/* Writes out all that is in out; -1 when the reader is gone. */
static int
flush(int fd, struct buf *out)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < out->len) {
		if ((n = write(fd, out->p + off, out->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	buf_reset(out);
	return 0;
}

int
sm_bs_run(struct sm_bs *s, int in, int outfd)
{
	char		 chunk[8192];
	struct buf	 out;
	ssize_t		 n;
	int		 r = 0, code;

	buf_init(&out);
	if (sm_bs_greeting(s, &out) == -1 || flush(outfd, &out) == -1) {
		buf_free(&out);
		return EX_IOERR;
	}
	for (;;) {
		if ((n = read(in, chunk, sizeof(chunk))) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			code = sm_bs_eof(s) ? EX_DATAERR : n == 0 ? EX_OK : EX_IOERR;
			break;
		}
		/* replies go out once the chunk is used up: PIPELINING's grouping */
		r = sm_bs_feed(s, chunk, (size_t)n, &out);
		if (flush(outfd, &out) == -1) {
			code = EX_IOERR;
			break;
		}
		if (r != 0) {
			code = r == -1 ? EX_OSERR :
			    s->errors >= SM_BS_MAX_ERRORS ? EX_PROTOCOL : EX_OK;
			break;
		}
	}
	buf_free(&out);
	return code;
}
