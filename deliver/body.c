/*
 * Message content to SMTP wire form: every line end becomes CRLF and a
 * leading dot is doubled, whatever the spool holds, so that no bare CR or
 * LF (a smuggling payload) is ever passed on to the next hop.
 */
#include "deliver.h"

void
body_enc_init(struct body_enc *e)
{
	e->bol = 1;
	e->cr = 0;
}

int
body_enc_feed(struct body_enc *e, const void *in, size_t len,
    struct buf *out)
{
	const unsigned char	*p = in, *run;
	size_t			 i = 0;

	/* at worst every input octet becomes two */
	if (len > (SIZE_MAX - 2) / 2 || buf_reserve(out, len * 2 + 2) == -1)
		return -1;
	while (i < len) {
		if (e->cr) {
			/* CR then LF is one line end; a CR alone is one too */
			if (buf_append(out, "\r\n", 2) == -1)
				return -1;
			e->cr = 0;
			e->bol = 1;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		if (p[i] == '\r') {
			e->cr = 1;
			i++;
			continue;
		}
		if (p[i] == '\n') {
			if (buf_append(out, "\r\n", 2) == -1)
				return -1;
			e->bol = 1;
			i++;
			continue;
		}
		if (e->bol && p[i] == '.' && buf_appendc(out, '.') == -1)
			return -1;
		e->bol = 0;
		/* copy the rest of the line in one go */
		run = p + i;
		while (i < len && p[i] != '\r' && p[i] != '\n')
			i++;
		if (buf_append(out, run, (size_t)(p + i - run)) == -1)
			return -1;
	}
	return 0;
}

int
body_enc_finish(struct body_enc *e, struct buf *out)
{
	if (e->cr || !e->bol) {
		if (buf_append(out, "\r\n", 2) == -1)
			return -1;
	}
	e->cr = 0;
	e->bol = 1;
	return buf_append(out, ".\r\n", 3);
}
