/*
 * libFuzzer target for postern-sendmail -bs (sendmail/bs.c): arbitrary
 * input bytes, cut into reads of a size the input chooses, against a
 * submit stand-in that accepts every other message. Every reply must be a
 * well-formed SMTP reply line, and nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../sendmail/bs.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 submits;

static int
submit_stub(void *arg, const struct sm_bs_msg *m, struct buf *note)
{
	(void)arg;
	if (m->rcpts->n == 0 || m->sender == NULL)
		abort();	/* DATA needs MAIL and RCPT */
	if (++submits % 2)
		return buf_appends(note, "451 4.3.0 Error: try again"), -1;
	return buf_appends(note, "submitted");
}

/* Each line: three digits, ' ' or '-', text, CRLF. */
static void
check_replies(const struct buf *out)
{
	const char	*p = out->p, *end = out->p + out->len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    nl - p < 5 || nl[-1] != '\r' ||
		    p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-') ||
		    memchr(p, '\r', (size_t)(nl - p - 1)) != NULL)
			abort();
		p = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_bs_conf	 c = { "mx.test", "joe@mx.test", 0, 4096,
	    submit_stub, NULL };
	struct sm_bs		 s;
	struct buf		 out;
	size_t			 cut, n;
	int			 r = 0;

	if (size == 0)
		return 0;
	/* the first byte picks the read size: 1..256 */
	cut = (size_t)data[0] + 1;
	data++;
	size--;
	c.trusted = cut & 1;
	sm_bs_init(&s, &c);
	buf_init(&out);
	sm_bs_greeting(&s, &out);
	while (size > 0 && r == 0) {
		n = size < cut ? size : cut;
		r = sm_bs_feed(&s, (const char *)data, n, &out);
		if (r == -1)
			abort();
		data += n;
		size -= n;
	}
	(void)sm_bs_eof(&s);
	check_replies(&out);
	sm_bs_free(&s);
	buf_free(&out);
	return 0;
}
