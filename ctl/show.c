/* posternctl show: one message's envelope, recipients and content, decoded and formatted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "format.h"
#include "ipc.h"
#include "pack.h"
#include "show.h"

#define CTL_MAX_STR	1024
#define CTL_MAX_LINE	(1024 * 1024)	/* a longer line is cut into pieces */

int
ctl_show_env_unpack(const void *p, size_t len, struct ctl_show_env *e)
{
	struct unpack	 u;

	memset(e, 0, sizeof(*e));
	unpack_init(&u, p, len);
	if (unpack_str(&u, &e->id, CTL_MAX_ID) == -1 ||
	    unpack_u64(&u, &e->arrival) == -1 ||
	    unpack_u64(&u, &e->size) == -1 ||
	    unpack_str(&u, &e->sender, CTL_MAX_ADDR) == -1 ||
	    unpack_str(&u, &e->client, CTL_MAX_STR) == -1 ||
	    unpack_str(&u, &e->helo, CTL_MAX_STR) == -1 ||
	    unpack_u32(&u, &e->ret) == -1 ||
	    unpack_str(&u, &e->envid, CTL_MAX_STR) == -1 ||
	    unpack_u32(&u, &e->body) == -1 ||
	    unpack_u32(&u, &e->smtputf8) == -1 ||
	    unpack_u32(&u, &e->state) == -1 ||
	    unpack_u32(&u, &e->nrcpt) == -1 ||
	    unpack_done(&u) == -1 || e->id[0] == '\0') {
		ctl_show_env_free(e);
		return -1;
	}
	return 0;
}

void
ctl_show_env_free(struct ctl_show_env *e)
{
	free(e->id);
	free(e->sender);
	free(e->client);
	free(e->helo);
	free(e->envid);
	memset(e, 0, sizeof(*e));
}

int
ctl_show_rcpt_unpack(const void *p, size_t len, struct ctl_show_rcpt *r)
{
	struct unpack	 u;

	memset(r, 0, sizeof(*r));
	unpack_init(&u, p, len);
	if (unpack_str(&u, &r->address, CTL_MAX_ADDR) == -1 ||
	    unpack_u32(&u, &r->state) == -1 ||
	    unpack_u32(&u, &r->attempts) == -1 ||
	    unpack_u64(&u, &r->next_try) == -1 ||
	    unpack_str(&u, &r->last_reply, CTL_MAX_ERROR) == -1 ||
	    unpack_str(&u, &r->last_relay, CTL_MAX_STR) == -1 ||
	    unpack_u32(&u, &r->notify) == -1 ||
	    unpack_str(&u, &r->orcpt, CTL_MAX_STR) == -1 ||
	    unpack_done(&u) == -1) {
		ctl_show_rcpt_free(r);
		return -1;
	}
	return 0;
}

void
ctl_show_rcpt_free(struct ctl_show_rcpt *r)
{
	free(r->address);
	free(r->last_reply);
	free(r->last_relay);
	free(r->orcpt);
	memset(r, 0, sizeof(*r));
}

void
ctl_show_notify(char *out, size_t sz, uint32_t n)
{
	out[0] = '\0';
	if (n == 0) {
		strlcpy(out, "-", sz);
		return;
	}
	if (n & DSN_NOTIFY_NEVER)
		strlcat(out, ",NEVER", sz);
	if (n & DSN_NOTIFY_SUCCESS)
		strlcat(out, ",SUCCESS", sz);
	if (n & DSN_NOTIFY_FAILURE)
		strlcat(out, ",FAILURE", sz);
	if (n & DSN_NOTIFY_DELAY)
		strlcat(out, ",DELAY", sz);
	if (out[0] == ',')
		memmove(out, out + 1, strlen(out));
}

/* "Key: value\n" with the value terminal-safe; "-" when empty. */
static int
kv(struct buf *b, const char *key, const char *val)
{
	if (buf_appends(b, key) == -1 || buf_appends(b, ": ") == -1)
		return -1;
	if (val[0] == '\0')
		return buf_appends(b, "-\n");
	if (ctl_term_safe(b, val) == -1)
		return -1;
	return buf_appendc(b, '\n');
}

static const char *
ret_name(uint32_t r)
{
	return r == DSN_RET_FULL ? "FULL" : r == DSN_RET_HDRS ? "HDRS" : "-";
}

static const char *
body_name(uint32_t t)
{
	switch (t) {
	case BODY_TYPE_7BIT:
		return "7BIT";
	case BODY_TYPE_8BITMIME:
		return "8BITMIME";
	case BODY_TYPE_BINARYMIME:
		return "BINARYMIME";
	default:
		return "-";
	}
}

/* "2026-11-25 20:11:17 UTC (3m12s ago)" */
static void
when(char *out, size_t sz, uint64_t t, time_t now)
{
	char		 stamp[32], age[32];
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		strlcpy(stamp, "?", sizeof(stamp));
	if ((int64_t)t <= (int64_t)now) {
		ctl_format_age(age, sizeof(age), (int64_t)now - (int64_t)t);
		snprintf(out, sz, "%s (%s ago)", stamp, age);
	} else {
		ctl_format_age(age, sizeof(age), (int64_t)t - (int64_t)now);
		snprintf(out, sz, "%s (in %s)", stamp, age);
	}
}

int
ctl_show_env_format(struct buf *b, const struct ctl_show_env *e, time_t now)
{
	char	 s[96];
	int	 r = 0;

	r |= kv(b, "Queue-ID", e->id);
	r |= buf_appends(b, "Sender: <");
	r |= ctl_term_safe(b, e->sender);
	r |= buf_appends(b, ">\n");
	when(s, sizeof(s), e->arrival, now);
	r |= kv(b, "Arrival", s);
	snprintf(s, sizeof(s), "%llu bytes", (unsigned long long)e->size);
	r |= kv(b, "Size", s);
	r |= kv(b, "State", ctl_state_name(e->state));
	r |= kv(b, "Client", e->client);
	r |= kv(b, "Helo", e->helo);
	r |= kv(b, "Envid", e->envid);
	r |= kv(b, "Ret", ret_name(e->ret));
	r |= kv(b, "Body", body_name(e->body));
	r |= kv(b, "Smtputf8", e->smtputf8 ? "yes" : "no");
	snprintf(s, sizeof(s), "%u", e->nrcpt);
	r |= kv(b, "Recipients", s);
	return r ? -1 : 0;
}

int
ctl_show_rcpt_format(struct buf *b, const struct ctl_show_rcpt *rc, time_t now)
{
	char	 s[96];
	int	 r = 0;

	r |= buf_appends(b, "\nRecipient: <");
	r |= ctl_term_safe(b, rc->address);
	r |= buf_appends(b, ">\n");
	r |= kv(b, "  State", ctl_rcpt_state_name(rc->state));
	snprintf(s, sizeof(s), "%u", rc->attempts);
	r |= kv(b, "  Attempts", s);
	if (rc->state != 0)
		s[0] = '\0';
	else if (rc->next_try == 0)
		strlcpy(s, "now", sizeof(s));
	else
		when(s, sizeof(s), rc->next_try, now);
	r |= kv(b, "  Next-Try", s);
	r |= kv(b, "  Last-Reply", rc->last_reply);
	r |= kv(b, "  Relay", rc->last_relay);
	ctl_show_notify(s, sizeof(s), rc->notify);
	r |= kv(b, "  Notify", s);
	r |= kv(b, "  Orcpt", rc->orcpt);
	return r ? -1 : 0;
}

void
ctl_content_init(struct ctl_content *c, enum ctl_part part)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->line);
	c->part = part;
}

void
ctl_content_free(struct ctl_content *c)
{
	buf_free(&c->line);
}

/* One complete line (its LF, and a CR before it, removed). */
static int
content_line(struct ctl_content *c, struct buf *out, const char *p, size_t n)
{
	int	 show;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (!c->in_body) {
		show = c->part != CTL_PART_BODY;
		if (n == 0) {
			/* the separator belongs to neither part alone */
			c->in_body = 1;
			return c->part == CTL_PART_ALL ? buf_appendc(out, '\n') : 0;
		}
	} else
		show = c->part != CTL_PART_HEADERS;
	if (!show)
		return 0;
	if (ctl_term_safe_bytes(out, p, n) == -1)
		return -1;
	return buf_appendc(out, '\n');
}

int
ctl_content_feed(struct ctl_content *c, struct buf *out, const void *data,
    size_t len)
{
	const char	*p = data, *nl;
	size_t		 n;

	while (len > 0) {
		if ((nl = memchr(p, '\n', len)) == NULL) {
			/* keep it: a UTF-8 sequence or CRLF may go on next time */
			if (buf_append(&c->line, p, len) == -1)
				return -1;
			if (c->line.len >= CTL_MAX_LINE) {
				if (content_line(c, out, c->line.p,
				    c->line.len) == -1)
					return -1;
				buf_reset(&c->line);
			}
			return 0;
		}
		n = (size_t)(nl - p);
		if (c->line.len > 0) {
			if (buf_append(&c->line, p, n) == -1 ||
			    content_line(c, out, c->line.p, c->line.len) == -1)
				return -1;
			buf_reset(&c->line);
		} else if (content_line(c, out, p, n) == -1)
			return -1;
		p += n + 1;
		len -= n + 1;
	}
	return 0;
}

int
ctl_content_finish(struct ctl_content *c, struct buf *out)
{
	int	 r = 0;

	if (c->line.len > 0)
		r = content_line(c, out, c->line.p, c->line.len);
	buf_reset(&c->line);
	return r;
}
