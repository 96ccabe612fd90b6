/* RFC 5321 path and mailbox parsing: strict grammar, every length limit. */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "addr.h"

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 atext; 8-bit bytes are not atext without SMTPUTF8. */
static int
is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Length of the well-formed UTF-8 sequence for one non-ASCII character at
 * s (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
 * or 0 when there is none.
 */
static size_t
utf8_char(const unsigned char *s, size_t len)
{
	unsigned char	 c = s[0];
	size_t		 n, k;
	unsigned char	 lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (len < n)
		return 0;
	for (k = 1; k < n; k++) {
		if (s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xbf))
			return 0;
	}
	return n;
}

int
addr_utf8_valid(const char *s, size_t len)
{
	size_t	 i = 0, n;

	while (i < len) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_char((const unsigned char *)s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Bytes of the UTF8-non-ascii character at s[i], 0 when none or not allowed. */
static size_t
u8(const char *s, size_t len, size_t i, int utf8)
{
	if (!utf8 || i >= len || (unsigned char)s[i] < 0x80)
		return 0;
	return utf8_char((const unsigned char *)s + i, len - i);
}

/* qtextSMTP: %d32-33 / %d35-91 / %d93-126 */
static int
is_qtext(unsigned char c)
{
	return c == 32 || c == 33 || (c >= 35 && c <= 91) ||
	    (c >= 93 && c <= 126);
}

/*
 * Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str].
 * Scans from *i and stops at the first byte that cannot continue it.
 * Returns -1 unless at least one well-formed label was read.
 */
static int
scan_domain(const char *s, size_t len, size_t *i, int utf8)
{
	size_t	 p = *i, start = *i, label, n;

	/* with SMTPUTF8 a label may be a U-label (RFC 6531 3.3): octets count */
	for (;;) {
		label = 0;
		if (p >= len || !(is_alpha(s[p]) || is_digit(s[p]) ||
		    u8(s, len, p, utf8)))
			return -1;
		for (;;) {
			if (p < len && (is_alpha(s[p]) || is_digit(s[p]) ||
			    s[p] == '-'))
				n = 1;
			else if ((n = u8(s, len, p, utf8)) == 0)
				break;
			p += n;
			label += n;
			if (label > ADDR_LABEL_MAX)
				return -1;
		}
		if (s[p - 1] == '-')
			return -1;
		if (p - start > ADDR_DOMAIN_MAX)
			return -1;
		if (p < len && s[p] == '.' && p + 1 < len &&
		    (is_alpha(s[p + 1]) || is_digit(s[p + 1]) ||
		    u8(s, len, p + 1, utf8))) {
			p++;
			continue;
		}
		break;
	}
	*i = p;
	return 0;
}

int
addr_domain_valid(const char *s, size_t len)
{
	size_t i = 0;

	return scan_domain(s, len, &i, 0) == 0 && i == len;
}

/* Snum = 1*3DIGIT, 0..255; leading zeros refused as they mean octal elsewhere. */
static int
scan_snum(const char *s, size_t len, size_t *i)
{
	size_t		 p = *i;
	unsigned	 v = 0, n = 0;

	while (p < len && is_digit(s[p]) && n < 3) {
		v = v * 10 + (unsigned)(s[p] - '0');
		p++;
		n++;
	}
	if (n == 0 || v > 255 || (n > 1 && s[*i] == '0'))
		return -1;
	if (p < len && is_digit(s[p]))
		return -1;
	*i = p;
	return 0;
}

/* address-literal at s[*i] == '['; IPv4 or "IPv6:" only. */
static int
scan_literal(const char *s, size_t len, size_t *i)
{
	size_t		 p = *i + 1, q;
	int		 k;
	char		 v6[64];
	unsigned char	 bin[16];

	if (p + 5 <= len && strncasecmp(s + p, "IPv6:", 5) == 0) {
		p += 5;
		q = p;
		while (q < len && (is_digit(s[q]) || s[q] == ':' ||
		    s[q] == '.' || (s[q] >= 'a' && s[q] <= 'f') ||
		    (s[q] >= 'A' && s[q] <= 'F')))
			q++;
		if (q == p || q - p >= sizeof(v6))
			return -1;
		memcpy(v6, s + p, q - p);
		v6[q - p] = '\0';
		if (inet_pton(AF_INET6, v6, bin) != 1)
			return -1;
		p = q;
	} else {
		for (k = 0; k < 4; k++) {
			if (k > 0) {
				if (p >= len || s[p] != '.')
					return -1;
				p++;
			}
			if (scan_snum(s, len, &p) == -1)
				return -1;
		}
	}
	/* General-address-literal (a standardized tag) is refused: none exist. */
	if (p >= len || s[p] != ']')
		return -1;
	*i = p + 1;
	return 0;
}

/* Dot-string = Atom *("." Atom) filling all of s[0..len). */
static int
is_dot_string(const char *s, size_t len, int utf8)
{
	size_t	 i, n;
	int	 atom = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (!atom)
				return 0;
			atom = 0;
		} else if (is_atext((unsigned char)s[i]))
			atom = 1;
		else if ((n = u8(s, len, i, utf8)) != 0) {
			atom = 1;
			i += n - 1;
		} else
			return 0;
	}
	return atom;
}

/*
 * Local-part = Dot-string / Quoted-string at s[*i]. Copies it into out
 * (normalised, see addr.h). An empty quoted string is refused: an empty
 * local part has no business in the queue.
 */
static int
scan_local(const char *s, size_t len, size_t *i, char *out, int utf8)
{
	size_t	 p = *i, n, o, k;
	char	 plain[ADDR_LOCAL_MAX + 1];

	if (p < len && s[p] == '"') {
		p++;
		o = 0;
		for (;;) {
			if (p >= len)
				return -1;
			if (s[p] == '"')
				break;
			if ((k = u8(s, len, p, utf8)) > 1) {
				/* all but the last byte here; the loop copies it */
				if (o + k - 1 >= ADDR_LOCAL_MAX)
					return -1;
				memcpy(plain + o, s + p, k - 1);
				o += k - 1;
				p += k - 1;
			} else if (s[p] == '\\') {
				if (p + 1 >= len || s[p + 1] < 32 || s[p + 1] > 126)
					return -1;
				p++;
			} else if (!is_qtext((unsigned char)s[p]))
				return -1;
			if (o >= ADDR_LOCAL_MAX)
				return -1;
			plain[o++] = s[p];
			p++;
		}
		p++;
		n = p - *i;
		if (n > ADDR_LOCAL_MAX || o == 0)
			return -1;
		if (is_dot_string(plain, o, utf8)) {
			memcpy(out, plain, o);
			out[o] = '\0';
		} else {
			memcpy(out, s + *i, n);
			out[n] = '\0';
		}
		*i = p;
		return 0;
	}
	while (p < len && (is_atext((unsigned char)s[p]) || s[p] == '.' ||
	    u8(s, len, p, utf8))) {
		k = u8(s, len, p, utf8);
		p += k ? k : 1;
		if (p - *i > ADDR_LOCAL_MAX)
			return -1;
	}
	n = p - *i;
	if (n == 0 || !is_dot_string(s + *i, n, utf8))
		return -1;
	memcpy(out, s + *i, n);
	out[n] = '\0';
	*i = p;
	return 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static int
scan_mailbox(const char *s, size_t len, size_t *i, struct addr *a, int utf8)
{
	size_t p = *i, d, k;

	if (scan_local(s, len, &p, a->local, utf8) == -1)
		return -1;
	if (p >= len || s[p] != '@')
		return -1;
	d = ++p;
	if (p < len && s[p] == '[') {
		if (scan_literal(s, len, &p) == -1)
			return -1;
		a->literal = 1;
	} else if (scan_domain(s, len, &p, utf8) == -1)
		return -1;
	if (p - d > ADDR_DOMAIN_MAX)
		return -1;
	memcpy(a->domain, s + d, p - d);
	a->domain[p - d] = '\0';
	a->kind = ADDR_MAILBOX;
	for (k = *i; k < p; k++)
		if ((unsigned char)s[k] >= 0x80)
			a->utf8 = 1;
	*i = p;
	return 0;
}

int
addr_parse_mailbox(const char *s, size_t len, struct addr *a)
{
	return addr_parse_mailbox_flags(s, len, 0, a);
}

int
addr_parse_mailbox_flags(const char *s, size_t len, int flags, struct addr *a)
{
	size_t i = 0;

	memset(a, 0, sizeof(*a));
	if (scan_mailbox(s, len, &i, a, flags & ADDR_F_UTF8) == -1 ||
	    i != len) {
		memset(a, 0, sizeof(*a));
		return -1;
	}
	return 0;
}

int
addr_parse_path(const char *s, size_t len, int flags, struct addr *a,
    size_t *used)
{
	size_t	 i = 1;

	memset(a, 0, sizeof(*a));
	/* nothing past the longest legal path can be part of it */
	if (len > ADDR_PATH_MAX)
		len = ADDR_PATH_MAX;
	if (len < 2 || s[0] != '<')
		goto bad;
	if (s[1] == '>') {
		if (!(flags & ADDR_F_NULL_OK))
			goto bad;
		a->kind = ADDR_NULL;
		*used = 2;
		return 0;
	}
	/* A-d-l = At-domain *( "," At-domain ) ":" -- syntax checked, dropped */
	if (s[i] == '@') {
		for (;;) {
			i++;
			if (scan_domain(s, len, &i, flags & ADDR_F_UTF8) == -1)
				goto bad;
			if (i < len && s[i] == ',') {
				i++;
				if (i >= len || s[i] != '@')
					goto bad;
				continue;
			}
			if (i < len && s[i] == ':') {
				i++;
				break;
			}
			goto bad;
		}
	}
	if ((flags & ADDR_F_POSTMASTER_OK) && i == 1 && len >= 12 &&
	    strncasecmp(s + 1, "postmaster>", 11) == 0) {
		a->kind = ADDR_POSTMASTER;
		memcpy(a->local, "postmaster", sizeof("postmaster"));
		*used = 12;
		return 0;
	}
	if (scan_mailbox(s, len, &i, a, flags & ADDR_F_UTF8) == -1)
		goto bad;
	if (i >= len || s[i] != '>')
		goto bad;
	*used = i + 1;
	return 0;
bad:
	memset(a, 0, sizeof(*a));
	return -1;
}

int
addr_format(const struct addr *a, char *out, size_t outsz)
{
	size_t ll, dl;

	switch (a->kind) {
	case ADDR_NULL:
		if (outsz < 1)
			return -1;
		out[0] = '\0';
		return 0;
	case ADDR_POSTMASTER:
		if (outsz < sizeof("postmaster"))
			return -1;
		memcpy(out, "postmaster", sizeof("postmaster"));
		return 0;
	case ADDR_MAILBOX:
		break;
	default:
		return -1;
	}
	ll = strnlen(a->local, sizeof(a->local));
	dl = strnlen(a->domain, sizeof(a->domain));
	if (ll + 1 + dl + 1 > outsz || ll == sizeof(a->local) ||
	    dl == sizeof(a->domain))
		return -1;
	memcpy(out, a->local, ll);
	out[ll] = '@';
	memcpy(out + ll + 1, a->domain, dl);
	out[ll + 1 + dl] = '\0';
	return 0;
}
