/* The DATA and BDAT content state machines: end of data, dot-unstuffing, content checks. */
#include <sys/types.h>

#include <string.h>

#include "smtpd.h"

/*
 * DATA is read one byte at a time, never by line or by read: the end of
 * data is found only as CR LF "." CR LF, whatever the fragmentation of the
 * input. The CRLF that ended the DATA command counts as the first CRLF, so
 * "." CRLF at once is an empty message.
 *
 * A bare LF or a bare CR is never a line end here. It marks the message as
 * bad (550 5.6.0 at the end of data, SMTP smuggling defence) and is kept
 * as a plain byte for the rest of the scan, so "<LF>.<LF>" or "<CR>.<CR>"
 * can never end the data.
 *
 * BDAT chunks are taken as they are: no dot-unstuffing, no search for an
 * end of data (the chunk size says where it ends). Unless the body is
 * BINARYMIME, the same content rules as DATA apply to them, so BDAT is no
 * way around them.
 *
 * Content rules (README "The SMTP server"), checked on the content after
 * unstuffing, and reported at the end of data:
 * - a bare CR or LF: 550 5.6.0;
 * - a NUL byte: 550 5.6.0 (it cuts C strings short in the next hop and
 *   in mail readers; RFC 5321 and 5322 text never holds one);
 * - a line over SMTPD_TEXT_LINE_MAX (998) octets without its CRLF:
 *   550 5.6.0 (RFC 5321 4.5.3.1.6; folding it would break signatures and
 *   passing it on only moves the refusal to the next hop);
 * - more Received header fields in the header section than the limit
 *   (the caller's max_received_headers): 554 5.4.6, a mail loop.
 */

static const char received[] = "received:";

void
data_init(struct data_sm *d, uint64_t max)
{
	memset(d, 0, sizeof(*d));
	d->state = DS_BOL;
	d->max = max;
}

void
data_init_bdat(struct data_sm *d, uint64_t max, int binary)
{
	data_init(d, max);
	d->bdat = 1;
	d->binary = binary;
	d->state = DS_TEXT;
}

int
data_done(const struct data_sm *d)
{
	return d->state == DS_DONE;
}

int
data_rejected(const struct data_sm *d)
{
	return d->bare || d->too_big || d->nul || d->long_line;
}

/* Header field count and line checks over content bytes. */
static void
scan(struct data_sm *d, const char *p, size_t n)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '\n') {
			/* an empty line ends the header section */
			if (d->linelen == 0)
				d->in_body = 1;
			d->linelen = 0;
			d->match = 0;
			continue;
		}
		if (c == '\r')
			continue;
		if (c == '\0' && !d->binary)
			d->nul = 1;
		if (!d->in_body && d->match == d->linelen &&
		    d->linelen < sizeof(received) - 1) {
			if ((c | 0x20) == received[d->linelen] ||
			    (c == ':' && received[d->linelen] == ':')) {
				if (++d->match == sizeof(received) - 1)
					d->nreceived++;
			}
		}
		if (d->linelen < UINT32_MAX)
			d->linelen++;
		if (d->linelen > SMTPD_TEXT_LINE_MAX && !d->binary)
			d->long_line = 1;
	}
}

/* Appends content unless over the limit or refused; the size counts either way. */
static int
emit(struct data_sm *d, struct buf *out, const char *p, size_t n)
{
	if (d->size > UINT64_MAX - n)
		d->size = UINT64_MAX;
	else
		d->size += n;
	if (d->size > d->max)
		d->too_big = 1;
	if (data_rejected(d))
		return 0;
	scan(d, p, n);
	if (data_rejected(d))
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

int
data_feed_bdat(struct data_sm *d, const char *in, size_t len, struct buf *out)
{
	size_t	 i;

	if (!d->binary) {
		/* CR LF pairs may straddle chunks: DS_CR remembers a last CR */
		for (i = 0; i < len && !d->bare; i++) {
			if (d->state == DS_CR) {
				if (in[i] != '\n')
					d->bare = 1;
				d->state = DS_TEXT;
				if (in[i] != '\r')
					continue;
			}
			if (in[i] == '\r')
				d->state = DS_CR;
			else if (in[i] == '\n')
				d->bare = 1;
		}
	}
	return emit(d, out, in, len);
}

int
data_end_bdat(struct data_sm *d, struct buf *out)
{
	if (!d->binary && d->state == DS_CR)
		d->bare = 1;
	d->state = DS_DONE;
	if (data_rejected(d) || d->binary)
		return 0;
	/* a text body ends with CRLF, as DATA's always does */
	if (d->linelen > 0)
		return emit(d, out, "\r\n", 2);
	return 0;
}
