/* postern-sendmail: the message read from a program, with its headers put right. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "message.h"

int
sm_read_message(FILE *in, int ignore_dots, size_t max, struct buf *out)
{
	char	*line = NULL;
	size_t	 cap = 0, n;
	ssize_t	 r;

	while ((r = getline(&line, &cap, in)) != -1) {
		n = (size_t)r;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (!ignore_dots && n == 1 && line[0] == '.')
			break;
		if (out->len + n + 2 > max) {
			free(line);
			errno = EFBIG;
			return -1;
		}
		if (buf_append(out, line, n) == -1 || buf_append(out, "\r\n", 2) == -1) {
			free(line);
			return -1;
		}
	}
	free(line);
	return ferror(in) ? -1 : 0;
}

/* Trims white space; keeps non-empty results. */
static int
push_trimmed(struct strlist *out, const char *s, const char *e)
{
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return e > s ? strlist_add(out, s, (size_t)(e - s)) : 0;
}

int
sm_address_list(const char *v, size_t len, struct strlist *out)
{
	const char	*p = v, *end = v + len, *start = v, *angle = NULL;
	struct buf	 bare;
	int		 depth = 0, r = 0;

	/* one mailbox at a time: up to a ',' or ';' outside quotes and comments */
	buf_init(&bare);
	for (; p <= end && r == 0; p++) {
		if (p < end && *p == '"') {
			const char *q = p;

			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			/* a quoted local part is part of the address */
			if (angle == NULL && start != NULL)
				r = buf_append(&bare, q, (size_t)(p - q) +
				    (p < end ? 1 : 0));
			continue;
		}
		if (p < end && *p == '(') {
			for (depth = 1, p++; p < end && depth; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
			}
			p--;
			continue;
		}
		if (p < end && *p == '<') {
			angle = p + 1;
			continue;
		}
		if (p < end && *p == '>' && angle != NULL) {
			r = push_trimmed(out, angle, p);
			angle = NULL;
			buf_reset(&bare);
			start = NULL;
			continue;
		}
		if (p < end && *p == ':' && angle == NULL && start != NULL) {
			/* "group:" opens a group; its name is no address */
			buf_reset(&bare);
			start = p + 1;
			continue;
		}
		if (p == end || ((*p == ',' || *p == ';') && angle == NULL)) {
			if (start != NULL && bare.len > 0)
				r = push_trimmed(out, bare.p, bare.p + bare.len);
			buf_reset(&bare);
			start = p + 1;
			continue;
		}
		if (angle == NULL && start != NULL)
			r = buf_append(&bare, p, 1);
	}
	buf_free(&bare);
	return r;
}

struct header {
	const char	*name;
	size_t		 nlen;
	const char	*line;		/* the whole field, folded lines included */
	size_t		 len;		/* with its final CRLF */
};

static int
is_field(const struct header *h, const char *name)
{
	return h->nlen == strlen(name) && strncasecmp(h->name, name, h->nlen) == 0;
}

int
sm_prepare(const struct buf *msg, const struct sm_opts *o, struct strlist *rcpts,
    struct buf *out)
{
	const char	*p = msg->p, *end = msg->p + msg->len, *nl, *colon;
	struct header	 h;
	struct buf	 head;
	char		 date[64], mid[128];
	struct tm	 tm;
	int		 has_from = 0, has_date = 0, has_mid = 0, r = 0;

	buf_init(&head);
	/* the header section: fields until an empty line */
	while (p < end && r == 0) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		h.line = p;
		colon = NULL;
		/* a field and its continuation lines */
		do {
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		h.len = (size_t)(p - h.line);
		colon = memchr(h.line, ':', h.len);
		if (colon == NULL || colon == h.line) {
			/* not a header: the body starts here (no empty line) */
			p = h.line;
			break;
		}
		h.name = h.line;
		h.nlen = (size_t)(colon - h.line);
		has_from |= is_field(&h, "From");
		has_date |= is_field(&h, "Date");
		has_mid |= is_field(&h, "Message-ID");
		if (o->extract && (is_field(&h, "To") || is_field(&h, "Cc") ||
		    is_field(&h, "Bcc")))
			r |= sm_address_list(colon + 1,
			    h.len - (size_t)(colon + 1 - h.line), rcpts);
		if (is_field(&h, "Bcc"))
			continue;	/* never shown to the recipients */
		r |= buf_append(&head, h.line, h.len);
	}
	if (o->warning)
		r |= buf_appendf(out, "X-Authentication-Warning: %s: %s\r\n",
		    o->hostname, o->warning);
	if (!has_from) {
		if (o->fullname && o->fullname[0])
			r |= buf_appendf(out, "From: %s <%s>\r\n", o->fullname, o->from);
		else
			r |= buf_appendf(out, "From: %s\r\n", o->from);
	}
	if (!has_date) {
		localtime_r(&o->now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		r |= buf_appendf(out, "Date: %s\r\n", date);
	}
	if (!has_mid) {
		snprintf(mid, sizeof(mid), "%lld.%08x@%s", (long long)o->now,
		    arc4random(), o->hostname);
		r |= buf_appendf(out, "Message-ID: <%s>\r\n", mid);
	}
	r |= buf_append(out, head.p, head.len);
	/* the body as it was, after one empty line */
	if (p < end && end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		p += 2;
	r |= buf_append(out, "\r\n", 2);
	r |= buf_append(out, p, (size_t)(end - p));
	buf_free(&head);
	return r ? -1 : 0;
}
