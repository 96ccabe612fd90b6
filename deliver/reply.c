/* SMTP reply parsing for the client: every line bounded, every code checked. */
#include <string.h>
#include <strings.h>

#include "deliver.h"

void
reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->nlines = 0;
	buf_init(&r->text);
}

void
reply_free(struct smtp_reply *r)
{
	buf_free(&r->text);
	r->code = 0;
	r->nlines = 0;
}

static int
code_valid(const char *p)
{
	return p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '5' &&
	    p[2] >= '0' && p[2] <= '9';
}

int
reply_take(struct buf *in, struct smtp_reply *r)
{
	const char	*line, *nl;
	size_t		 pos = 0, len, i;
	int		 code, last;

	r->code = 0;
	r->nlines = 0;
	buf_reset(&r->text);
	if (in->len == 0)
		return 0;
	for (;;) {
		line = in->p + pos;
		nl = in->len > pos ? memchr(line, '\n', in->len - pos) : NULL;
		if (nl == NULL) {
			/* a line that cannot end within the limit is broken
			 * now: never buffer without bound */
			if (in->len - pos > REPLY_MAX_LINE + 1)
				return -1;
			return 0;
		}
		len = (size_t)(nl - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > REPLY_MAX_LINE || len < 3 || !code_valid(line))
			return -1;
		if (len == 3)
			last = 1;
		else if (line[3] == ' ')
			last = 1;
		else if (line[3] == '-')
			last = 0;
		else
			return -1;
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (r->nlines > 0 && code != r->code)
			return -1;
		if (++r->nlines > REPLY_MAX_LINES)
			return -1;
		r->code = code;
		if (r->nlines > 1 && buf_appendc(&r->text, '\n') == -1)
			return -1;
		for (i = 4; i < len; i++) {
			unsigned char c = (unsigned char)line[i];

			if (buf_appendc(&r->text, c >= 0x20 && c < 0x7f ?
			    (char)c : '?') == -1)
				return -1;
		}
		pos += (size_t)(nl - line) + 1;
		if (last)
			break;
	}
	buf_consume(in, pos);
	return 1;
}

void
reply_summary(const struct smtp_reply *r, char *out, size_t max)
{
	size_t	 o, i;

	if (max == 0)
		return;
	if (max < 5) {
		out[0] = '\0';
		return;
	}
	out[0] = (char)('0' + r->code / 100 % 10);
	out[1] = (char)('0' + r->code / 10 % 10);
	out[2] = (char)('0' + r->code % 10);
	o = 3;
	if (r->text.len > 0)
		out[o++] = ' ';
	for (i = 0; i < r->text.len && o + 1 < max; i++)
		out[o++] = r->text.p[i] == '\n' ? ' ' : r->text.p[i];
	/* a reply without text leaves no trailing space */
	while (o > 3 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

int
reply_ehlo_has(const struct smtp_reply *r, const char *keyword,
    const char **param, size_t *plen)
{
	const char	*p, *end, *eol, *sp;
	size_t		 kl = strlen(keyword), wl;

	if (r->text.len == 0)
		return 0;
	p = r->text.p;
	end = p + r->text.len;
	/* the first line is the server's name, not an extension */
	if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return 0;
	for (p++; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		sp = memchr(p, ' ', (size_t)(eol - p));
		wl = (size_t)((sp ? sp : eol) - p);
		if (wl == kl && strncasecmp(p, keyword, kl) == 0) {
			if (param != NULL) {
				*param = sp ? sp + 1 : eol;
				*plen = (size_t)(eol - *param);
			}
			return 1;
		}
		if (eol == end)
			break;
	}
	return 0;
}
