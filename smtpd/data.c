/* The DATA content state machine: end of data, dot-unstuffing, bare CR/LF. */
#include <sys/types.h>

#include "smtpd.h"

/*
 * One byte at a time, never by line or by read: the end of data is found
 * only as CR LF "." CR LF, whatever the fragmentation of the input. The
 * CRLF that ended the DATA command counts as the first CRLF, so "." CRLF
 * at once is an empty message.
 *
 * A bare LF or a bare CR is never a line end here. It marks the message as
 * bad (550 5.6.0 at the end of data, SMTP smuggling defence) and is kept
 * as a plain byte for the rest of the scan, so "<LF>.<LF>" or "<CR>.<CR>"
 * can never end the data.
 *
 * Lines longer than 998 octets (RFC 5321 4.5.3.1.6) are accepted as they
 * are, unsplit: refusing them loses real mail, and folding them would
 * change signed content. NUL bytes pass through too. Issue 3 may make both
 * a policy.
 */

void
data_init(struct data_sm *d, uint64_t max)
{
	d->state = DS_BOL;
	d->bare = 0;
	d->too_big = 0;
	d->size = 0;
	d->max = max;
}

int
data_done(const struct data_sm *d)
{
	return d->state == DS_DONE;
}

/* Appends content unless over the limit; the size counts either way. */
static int
emit(struct data_sm *d, struct buf *out, const char *p, size_t n)
{
	if (d->size > UINT64_MAX - n)
		d->size = UINT64_MAX;
	else
		d->size += n;
	if (d->size > d->max)
		d->too_big = 1;
	if (d->too_big || d->bare)
		return 0;
	return buf_append(out, p, n);
}

ssize_t
data_feed(struct data_sm *d, const char *in, size_t len, struct buf *out)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < len && d->state != DS_DONE; i++) {
		c = in[i];
		switch (d->state) {
		case DS_BOL:
			if (c == '.') {
				d->state = DS_DOT;
				continue;
			}
			/* FALLTHROUGH */
		case DS_TEXT:
			if (c == '\r') {
				d->state = DS_CR;
				continue;
			}
			if (c == '\n')
				d->bare = 1;
			if (emit(d, out, &c, 1) == -1)
				return -1;
			d->state = DS_TEXT;
			break;
		case DS_CR:
			if (c == '\n') {
				if (emit(d, out, "\r\n", 2) == -1)
					return -1;
				d->state = DS_BOL;
				continue;
			}
			/* the CR held back was bare */
			d->bare = 1;
			if (emit(d, out, "\r", 1) == -1)
				return -1;
			if (c == '\r')
				continue;	/* this CR may still start a CRLF */
			if (emit(d, out, &c, 1) == -1)
				return -1;
			d->state = DS_TEXT;
			break;
		case DS_DOT:
			/* the leading dot is dropped: dot-unstuffing */
			if (c == '\r') {
				d->state = DS_DOT_CR;
				continue;
			}
			if (c == '\n')
				d->bare = 1;
			if (emit(d, out, &c, 1) == -1)
				return -1;
			d->state = DS_TEXT;
			break;
		case DS_DOT_CR:
			if (c == '\n') {
				d->state = DS_DONE;
				continue;
			}
			/* "." CR x: the CR was bare; the dot is gone already */
			d->bare = 1;
			if (emit(d, out, "\r", 1) == -1)
				return -1;
			if (c == '\r') {
				d->state = DS_CR;
				continue;
			}
			if (emit(d, out, &c, 1) == -1)
				return -1;
			d->state = DS_TEXT;
			break;
		case DS_DONE:
			break;
		}
	}
	return (ssize_t)i;
}
