/*
 * posternctl's output: queue entries as an aligned table or as JSON.
 *
 * Every string here came from the network (senders, recipients, remote
 * replies), so nothing reaches the terminal or a JSON consumer unescaped.
 *
 * JSON (posternctl queue --json), stable field names:
 *   [ { "id": str, "arrival": unix seconds, "size": bytes,
 *       "sender": str ("" for the null sender),
 *       "state": "active" | "deferred" | "held",
 *       "next_try": unix seconds or null, "last_error": str ("" for none),
 *       "recipients": [ { "address": str,
 *                         "state": "pending" | "delivered" | "bounced" } ] } ]
 */
#include <sys/param.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "format.h"
#include "ipc.h"
#include "pack.h"

/* Width caps: a longer value overflows its row rather than being cut. */
#define COL_SENDER_MAX	40
#define COL_ID_MAX	24

int
ctl_entry_unpack(const void *p, size_t len, struct ctl_entry *e)
{
	struct unpack	 u;
	uint32_t	 n, i;

	memset(e, 0, sizeof(*e));
	unpack_init(&u, p, len);
	if (unpack_str(&u, &e->id, CTL_MAX_ID) == -1 ||
	    unpack_u64(&u, &e->arrival) == -1 ||
	    unpack_u64(&u, &e->size) == -1 ||
	    unpack_str(&u, &e->sender, CTL_MAX_ADDR) == -1 ||
	    unpack_u32(&u, &e->state) == -1 ||
	    unpack_u64(&u, &e->next_try) == -1 ||
	    unpack_str(&u, &e->last_error, CTL_MAX_ERROR) == -1 ||
	    unpack_u32(&u, &n) == -1)
		goto bad;
	/* each recipient takes at least 8 bytes: no huge allocation on a lie */
	if (n > (len - u.off) / 8)
		goto bad;
	if (n > 0 && (e->rcpts = calloc(n, sizeof(*e->rcpts))) == NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		e->nrcpt++;
		if (unpack_str(&u, &e->rcpts[i].address, CTL_MAX_ADDR) == -1 ||
		    unpack_u32(&u, &e->rcpts[i].state) == -1)
			goto bad;
	}
	if (unpack_done(&u) == -1 || e->id[0] == '\0')
		goto bad;
	return 0;
bad:
	ctl_entry_free(e);
	return -1;
}

void
ctl_entry_free(struct ctl_entry *e)
{
	size_t i;

	free(e->id);
	free(e->sender);
	free(e->last_error);
	for (i = 0; i < e->nrcpt; i++)
		free(e->rcpts[i].address);
	free(e->rcpts);
	memset(e, 0, sizeof(*e));
}

size_t
ctl_entry_pending(const struct ctl_entry *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].state == 0)
			n++;
	return n;
}

const char *
ctl_state_name(uint32_t s)
{
	switch (s) {
	case QSTATE_ACTIVE:
		return "active";
	case QSTATE_DEFERRED:
		return "deferred";
	case QSTATE_HELD:
		return "held";
	default:
		return "unknown";
	}
}

const char *
ctl_rcpt_state_name(uint32_t s)
{
	switch (s) {
	case 0:
		return "pending";
	case 1:
		return "delivered";
	case 2:
		return "bounced";
	default:
		return "unknown";
	}
}

void
ctl_format_age(char *out, size_t sz, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, sz, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, sz, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, sz, "%" PRId64 "h%" PRId64 "m", s / 3600,
		    (s % 3600) / 60);
	else
		snprintf(out, sz, "%" PRId64 "d%" PRId64 "h", s / 86400,
		    (s % 86400) / 3600);
}

void
ctl_format_size(char *out, size_t sz, uint64_t b)
{
	static const char units[] = "KMGTPE";
	uint64_t	 whole = b, rem = 0;
	size_t		 u = 0;

	if (b < 1024) {
		snprintf(out, sz, "%" PRIu64, b);
		return;
	}
	/* scale until the number has at most three digits */
	do {
		rem = whole % 1024;
		whole /= 1024;
		u++;
	} while (whole >= 1000 && u < sizeof(units) - 1);
	if (whole < 10)
		snprintf(out, sz, "%" PRIu64 ".%" PRIu64 "%c", whole,
		    rem * 10 / 1024, units[u - 1]);
	else
		snprintf(out, sz, "%" PRIu64 "%c", whole, units[u - 1]);
}

/*
 * One UTF-8 sequence at s (n bytes left): its length, or 0 when it is not
 * well-formed (overlong, surrogate, beyond U+10FFFF, truncated).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c, min;
	size_t		 len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Code points that change how the rest of a line is shown without being
 * seen: bidirectional overrides and isolates (a sender that reads
 * backwards, "Trojan Source"), zero-width marks and joiners, the byte
 * order mark, and the line and paragraph separators.
 */
static int
invisible_format_char(uint32_t cp)
{
	return (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

int
ctl_term_safe(struct buf *b, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n = strlen(str), l;
	uint32_t		 cp;

	while (n > 0) {
		l = utf8_seq(s, n, &cp);
		/* C0, DEL and C1 controls could drive the admin's terminal */
		if (l == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ||
		    invisible_format_char(cp)) {
			if (buf_appendc(b, '?') == -1)
				return -1;
			l = l ? l : 1;
		} else if (buf_append(b, s, l) == -1)
			return -1;
		s += l;
		n -= l;
	}
	return 0;
}

int
ctl_term_safe_bytes(struct buf *b, const void *data, size_t n)
{
	const unsigned char	*s = data;
	size_t			 l;
	uint32_t		 cp;

	while (n > 0) {
		l = utf8_seq(s, n, &cp);
		/* a tab is harmless; content lines are full of them */
		if (l == 0 || (cp < 0x20 && cp != '\t') ||
		    (cp >= 0x7f && cp < 0xa0) || invisible_format_char(cp)) {
			if (buf_appendc(b, '?') == -1)
				return -1;
			l = l ? l : 1;
		} else if (buf_append(b, s, l) == -1)
			return -1;
		s += l;
		n -= l;
	}
	return 0;
}

int
ctl_json_string(struct buf *b, const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 n = strlen(str), l;
	uint32_t		 cp;
	int			 r = 0;

	if (buf_appendc(b, '"') == -1)
		return -1;
	while (n > 0 && r == 0) {
		l = utf8_seq(s, n, &cp);
		if (l == 0) {
			r = buf_appends(b, "\\ufffd");
			l = 1;
		} else if (cp == '"')
			r = buf_appends(b, "\\\"");
		else if (cp == '\\')
			r = buf_appends(b, "\\\\");
		else if (cp == '\n')
			r = buf_appends(b, "\\n");
		else if (cp == '\r')
			r = buf_appends(b, "\\r");
		else if (cp == '\t')
			r = buf_appends(b, "\\t");
		else if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029)
			/* U+2028/9 end lines in JavaScript: escape for embedding */
			r = buf_appendf(b, "\\u%04x", (unsigned)cp);
		else
			r = buf_append(b, s, l);
		s += l;
		n -= l;
	}
	if (r == 0)
		r = buf_appendc(b, '"');
	return r;
}

int
ctl_json_entry(struct buf *b, const struct ctl_entry *e)
{
	size_t	 i;
	int	 r = 0;

	r |= buf_appends(b, "{\"id\":");
	r |= ctl_json_string(b, e->id);
	r |= buf_appendf(b, ",\"arrival\":%" PRIu64 ",\"size\":%" PRIu64
	    ",\"sender\":", e->arrival, e->size);
	r |= ctl_json_string(b, e->sender);
	r |= buf_appendf(b, ",\"state\":\"%s\",\"next_try\":",
	    ctl_state_name(e->state));
	if (e->next_try == 0)
		r |= buf_appends(b, "null");
	else
		r |= buf_appendf(b, "%" PRIu64, e->next_try);
	r |= buf_appends(b, ",\"last_error\":");
	r |= ctl_json_string(b, e->last_error);
	r |= buf_appends(b, ",\"recipients\":[");
	for (i = 0; i < e->nrcpt; i++) {
		r |= buf_appends(b, i ? ",{\"address\":" : "{\"address\":");
		r |= ctl_json_string(b, e->rcpts[i].address);
		r |= buf_appendf(b, ",\"state\":\"%s\"}",
		    ctl_rcpt_state_name(e->rcpts[i].state));
	}
	r |= buf_appends(b, "]}");
	return r ? -1 : 0;
}

/* Display width of a terminal-safe UTF-8 string: one column per code point. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static int
pad(struct buf *b, const char *s, size_t width, int right)
{
	size_t w = text_width(s);
	int r = 0;

	if (right)
		for (; w < width; w++)
			r |= buf_appendc(b, ' ');
	r |= buf_appends(b, s);
	if (!right)
		for (; w < width; w++)
			r |= buf_appendc(b, ' ');
	return r;
}

struct row {
	struct buf	 id, sender, error;
	char		 age[32], size[32], rcpts[48], next[48];
};

int
ctl_format_table(struct buf *b, const struct ctl_entry *e, size_t n,
    time_t now)
{
	static const char *hdr[] = { "QUEUE ID", "ARRIVED", "SIZE", "SENDER",
	    "RCPTS", "STATE", "NEXT TRY" };
	struct row	*rows;
	size_t		 w[7], i, k, nrcpt = 0;
	uint64_t	 bytes = 0;
	int		 r = 0;

	if (n == 0)
		return buf_appends(b, "Mail queue is empty\n");
	if ((rows = calloc(n, sizeof(*rows))) == NULL)
		return -1;
	for (k = 0; k < 7; k++)
		w[k] = strlen(hdr[k]);
	for (i = 0; i < n; i++) {
		struct row *rw = &rows[i];

		r |= ctl_term_safe(&rw->id, e[i].id);
		r |= buf_appendc(&rw->sender, '<');
		r |= ctl_term_safe(&rw->sender, e[i].sender);
		r |= buf_appendc(&rw->sender, '>');
		r |= ctl_term_safe(&rw->error, e[i].last_error);
		if (r != 0 || buf_cstr(&rw->id) == NULL ||
		    buf_cstr(&rw->sender) == NULL || buf_cstr(&rw->error) == NULL) {
			r = -1;
			goto done;
		}
		ctl_format_age(rw->age, sizeof(rw->age),
		    (int64_t)now - (int64_t)e[i].arrival);
		ctl_format_size(rw->size, sizeof(rw->size), e[i].size);
		snprintf(rw->rcpts, sizeof(rw->rcpts), "%zu/%zu",
		    ctl_entry_pending(&e[i]), e[i].nrcpt);
		if (e[i].next_try == 0)
			strlcpy(rw->next, "-", sizeof(rw->next));
		else if ((int64_t)e[i].next_try <= (int64_t)now)
			strlcpy(rw->next, "now", sizeof(rw->next));
		else {
			strlcpy(rw->next, "in ", sizeof(rw->next));
			ctl_format_age(rw->next + 3, sizeof(rw->next) - 3,
			    (int64_t)e[i].next_try - (int64_t)now);
		}
		w[0] = MAX(w[0], MIN(text_width(rw->id.p), COL_ID_MAX));
		w[1] = MAX(w[1], strlen(rw->age));
		w[2] = MAX(w[2], strlen(rw->size));
		w[3] = MAX(w[3], MIN(text_width(rw->sender.p), COL_SENDER_MAX));
		w[4] = MAX(w[4], strlen(rw->rcpts));
		w[5] = MAX(w[5], strlen(ctl_state_name(e[i].state)));
		nrcpt += ctl_entry_pending(&e[i]);
		bytes = bytes + e[i].size < bytes ? UINT64_MAX : bytes + e[i].size;
	}
	for (k = 0; k < 7; k++) {
		r |= pad(b, hdr[k], k == 6 ? 0 : w[k], k == 1 || k == 2);
		r |= buf_appends(b, k == 6 ? "\n" : "  ");
	}
	for (i = 0; i < n; i++) {
		struct row *rw = &rows[i];

		r |= pad(b, rw->id.p, w[0], 0);
		r |= buf_appends(b, "  ");
		r |= pad(b, rw->age, w[1], 1);
		r |= buf_appends(b, "  ");
		r |= pad(b, rw->size, w[2], 1);
		r |= buf_appends(b, "  ");
		r |= pad(b, rw->sender.p, w[3], 0);
		r |= buf_appends(b, "  ");
		r |= pad(b, rw->rcpts, w[4], 0);
		r |= buf_appends(b, "  ");
		r |= pad(b, ctl_state_name(e[i].state), w[5], 0);
		r |= buf_appends(b, "  ");
		r |= buf_appends(b, rw->next);
		r |= buf_appendc(b, '\n');
		if (rw->error.len > 0)
			r |= buf_appendf(b, "    last error: %s\n", rw->error.p);
	}
	r |= buf_appendf(b, "%zu message%s, %zu recipient%s, %" PRIu64 " byte%s\n",
	    n, n == 1 ? "" : "s", nrcpt, nrcpt == 1 ? "" : "s", bytes,
	    bytes == 1 ? "" : "s");
done:
	for (i = 0; i < n; i++) {
		buf_free(&rows[i].id);
		buf_free(&rows[i].sender);
		buf_free(&rows[i].error);
	}
	free(rows);
	return r ? -1 : 0;
}

static int
contains_ci(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

static int
in_domain(const char *addr, const char *domain)
{
	const char	*at = strrchr(addr, '@');
	size_t		 dl, al;

	if (at == NULL)
		return 0;
	at++;
	if (*domain == '@')
		domain++;
	dl = strlen(domain);
	al = strlen(at);
	/* the domain itself, or one of its subdomains */
	return strcasecmp(at, domain) == 0 ||
	    (al > dl && at[al - dl - 1] == '.' && strcasecmp(at + al - dl, domain) == 0);
}

int
ctl_entry_matches(const struct ctl_entry *e, const struct ctl_filter *f,
    time_t now)
{
	size_t	 i;
	int	 hit;

	if (f->sender && !contains_ci(e->sender, f->sender))
		return 0;
	if (f->state >= 0 && e->state != (uint32_t)f->state)
		return 0;
	if (f->older && (int64_t)now - (int64_t)e->arrival < (int64_t)f->older)
		return 0;
	if (f->rcpt) {
		for (hit = 0, i = 0; i < e->nrcpt && !hit; i++)
			hit = contains_ci(e->rcpts[i].address, f->rcpt);
		if (!hit)
			return 0;
	}
	if (f->domain) {
		for (hit = 0, i = 0; i < e->nrcpt && !hit; i++)
			hit = in_domain(e->rcpts[i].address, f->domain);
		if (!hit)
			return 0;
	}
	return 1;
}

int
ctl_format_mailq(struct buf *b, const struct ctl_entry *e, size_t n)
{
	struct buf	 s;
	char		 when[32];
	struct tm	 tm;
	time_t		 t;
	uint64_t	 bytes = 0;
	size_t		 i, k;
	int		 r = 0;

	if (n == 0)
		return buf_appends(b, "Mail queue is empty\n");
	buf_init(&s);
	r |= buf_appends(b, "-Queue ID-  --Size-- ----Arrival Time---- "
	    "-Sender/Recipient-------\n");
	for (i = 0; i < n && r == 0; i++) {
		t = (time_t)e[i].arrival;
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
			strlcpy(when, "?", sizeof(when));
		buf_reset(&s);
		r |= ctl_term_safe(&s, e[i].id);
		/* as Postfix: '*' active, '!' held */
		r |= buf_appends(&s, e[i].state == QSTATE_ACTIVE ? "*" :
		    e[i].state == QSTATE_HELD ? "!" : "");
		r |= buf_cstr(&s) == NULL;
		if (r)
			break;
		r |= buf_appendf(b, "%-11s %8" PRIu64 " %-20s  ", s.p, e[i].size, when);
		buf_reset(&s);
		r |= ctl_term_safe(&s, e[i].sender[0] ? e[i].sender : "MAILER-DAEMON");
		r |= buf_cstr(&s) == NULL;
		if (r)
			break;
		r |= buf_appendf(b, "%s\n", s.p);
		if (e[i].last_error[0]) {
			buf_reset(&s);
			r |= ctl_term_safe(&s, e[i].last_error);
			r |= buf_cstr(&s) == NULL;
			if (r)
				break;
			r |= buf_appendf(b, "%45s(%s)\n", "", s.p);
		}
		for (k = 0; k < e[i].nrcpt; k++) {
			if (e[i].rcpts[k].state != 0)
				continue;	/* only what is still to be done */
			buf_reset(&s);
			r |= ctl_term_safe(&s, e[i].rcpts[k].address);
			r |= buf_cstr(&s) == NULL;
			if (r)
				break;
			r |= buf_appendf(b, "%45s%s\n", "", s.p);
		}
		r |= buf_appendc(b, '\n');
		bytes = bytes + e[i].size < bytes ? UINT64_MAX : bytes + e[i].size;
	}
	r |= buf_appendf(b, "-- %" PRIu64 " Kbytes in %zu Request%s.\n",
	    (bytes + 1023) / 1024, n, n == 1 ? "" : "s");
	buf_free(&s);
	return r ? -1 : 0;
}
