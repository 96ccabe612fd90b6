/* SMTP command line parsing: verbs, MAIL/RCPT arguments and parameters. */
#include <sys/types.h>

#include <limits.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "smtpd.h"

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
} verbs[] = {
	{ "HELO", V_HELO },
	{ "EHLO", V_EHLO },
	{ "MAIL", V_MAIL },
	{ "RCPT", V_RCPT },
	{ "DATA", V_DATA },
	{ "RSET", V_RSET },
	{ "NOOP", V_NOOP },
	{ "QUIT", V_QUIT },
	{ "VRFY", V_VRFY },
	{ "EXPN", V_EXPN },
	{ "HELP", V_HELP },
	{ "BDAT", V_BDAT },
	{ "ETRN", V_ETRN },
	{ "STARTTLS", V_STARTTLS },
	{ "AUTH", V_AUTH },
	/* a web client or proxy probe; it gets 502 and the door */
	{ "GET", V_HTTP },
	{ "POST", V_HTTP },
	{ "HEAD", V_HTTP },
	{ "CONNECT", V_HTTP },
};

enum smtp_verb
cmd_verb(const char *line, const char **args)
{
	size_t	 i, n;

	n = strcspn(line, " ");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].name) == n &&
		    strncasecmp(line, verbs[i].name, n) == 0) {
			*args = line[n] == ' ' ? line + n + 1 : line + n;
			return verbs[i].verb;
		}
	}
	*args = line + n;
	return V_UNKNOWN;
}

int
cmd_helo_valid(const char *arg)
{
	size_t	 i, n = strlen(arg);

	if (n == 0 || n > SMTPD_HELO_MAX)
		return 0;
	/* printable ASCII, no space: it is copied into the Received header */
	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] <= ' ' || (unsigned char)arg[i] > '~')
			return 0;
	return 1;
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static int
keyword_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || (c == '-' && i > 0)))
			return 0;
	}
	return 1;
}

/* esmtp-value = 1*(%d33-60 / %d62-126) */
static int
value_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == '=')
			return 0;
	}
	return 1;
}

/*
 * Splits the next " keyword[=value]" off *p. Returns 1 with the pieces,
 * 0 at the end of the line, -1 on bad syntax.
 */
static int
next_param(const char **p, const char **kw, size_t *kwlen, const char **val,
    size_t *vallen)
{
	const char	*s = *p, *e, *eq;

	if (*s == '\0')
		return 0;
	if (*s != ' ')
		return -1;
	while (*s == ' ')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	e = s + strcspn(s, " ");
	eq = memchr(s, '=', (size_t)(e - s));
	*kw = s;
	if (eq != NULL) {
		*kwlen = (size_t)(eq - s);
		*val = eq + 1;
		*vallen = (size_t)(e - eq - 1);
		if (!value_valid(*val, *vallen))
			return -1;
	} else {
		*kwlen = (size_t)(e - s);
		*val = NULL;
		*vallen = 0;
	}
	if (!keyword_valid(*kw, *kwlen))
		return -1;
	*p = e;
	return 1;
}

/*
 * "FROM:" or "TO:", then the path. RFC 5321 has no space after the colon,
 * but many clients send one; it is harmless, so it is skipped.
 */
static const char *
skip_prefix(const char *args, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncasecmp(args, prefix, n) != 0)
		return NULL;
	args += n;
	while (*args == ' ')
		args++;
	return args;
}

static int
is_kw(const char *kw, size_t kwlen, const char *name)
{
	return strlen(name) == kwlen && strncasecmp(kw, name, kwlen) == 0;
}

static int
hexval(char c)
{
	/* RFC 3461 hexchar: upper case only */
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cmd_xtext_decode(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+') {
			if (i + 2 >= len)
				return -1;
			if ((hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c < '!' || c > '~' || c == '=')
			return -1;
		/* decoded, it must still be printable ASCII (RFC 3461 4.2, 4.4) */
		if (c < ' ' || c > '~')
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	if (outsz == 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

static int
parse_size(const char *val, size_t vallen, uint64_t *out)
{
	char		 num[21];
	const char	*errstr;

	if (val == NULL || vallen == 0 || vallen >= sizeof(num) ||
	    strspn(val, "0123456789") < vallen)
		return -1;
	memcpy(num, val, vallen);
	num[vallen] = '\0';
	*out = (uint64_t)strtonum(num, 0, LLONG_MAX, &errstr);
	return errstr == NULL ? 0 : -1;
}

const char *
cmd_parse_mail(const char *args, unsigned ext, struct mail_params *mp)
{
	const char	*p, *kw, *val;
	size_t		 used, kwlen, vallen;
	int		 r, has_ret = 0, has_envid = 0;

	memset(mp, 0, sizeof(*mp));
	if ((p = skip_prefix(args, "FROM:")) == NULL || *p == '\0')
		return "501 5.5.4 Syntax: MAIL FROM:<address>";
	/* SMTPUTF8 comes after the path: decide on UTF-8 once it is known */
	if (addr_parse_path(p, strlen(p), ADDR_F_NULL_OK |
	    ((ext & EXT_SMTPUTF8) ? ADDR_F_UTF8 : 0), &mp->from, &used) == -1)
		return "501 5.1.7 Bad sender address syntax";
	p += used;
	while ((r = next_param(&p, &kw, &kwlen, &val, &vallen)) == 1) {
		if (is_kw(kw, kwlen, "SIZE") && (ext & EXT_SIZE)) {
			if (mp->has_size || parse_size(val, vallen, &mp->size) == -1)
				return "501 5.5.4 Bad SIZE parameter";
			mp->has_size = 1;
		} else if (is_kw(kw, kwlen, "BODY")) {
			if (mp->body != BODY_TYPE_UNSPEC || val == NULL)
				return "501 5.5.4 Bad BODY parameter";
			if (is_kw(val, vallen, "7BIT"))
				mp->body = BODY_TYPE_7BIT;
			else if (is_kw(val, vallen, "8BITMIME") &&
			    (ext & EXT_8BITMIME))
				mp->body = BODY_TYPE_8BITMIME;
			else if (is_kw(val, vallen, "BINARYMIME") &&
			    (ext & EXT_BINARYMIME))
				mp->body = BODY_TYPE_BINARYMIME;
			else
				return "501 5.5.4 Bad BODY parameter";
		} else if (is_kw(kw, kwlen, "SMTPUTF8") && (ext & EXT_SMTPUTF8)) {
			if (mp->smtputf8 || val != NULL)
				return "501 5.5.4 Bad SMTPUTF8 parameter";
			mp->smtputf8 = 1;
		} else if (is_kw(kw, kwlen, "RET") && (ext & EXT_DSN)) {
			if (has_ret++ || val == NULL)
				return "501 5.5.4 Bad RET parameter";
			if (is_kw(val, vallen, "FULL"))
				mp->ret = DSN_RET_FULL;
			else if (is_kw(val, vallen, "HDRS"))
				mp->ret = DSN_RET_HDRS;
			else
				return "501 5.5.4 Bad RET parameter";
		} else if (is_kw(kw, kwlen, "ENVID") && (ext & EXT_DSN)) {
			if (has_envid++ || val == NULL ||
			    cmd_xtext_decode(val, vallen, mp->envid,
			    sizeof(mp->envid)) <= 0)
				return "501 5.5.4 Bad ENVID parameter";
		} else
			return "555 5.5.4 Unsupported MAIL parameter";
	}
	if (r == -1)
		return "501 5.5.4 Bad MAIL parameter syntax";
	if (mp->from.utf8 && !mp->smtputf8)
		return "553 5.6.7 Non-ASCII sender address needs SMTPUTF8";
	return NULL;
}

static int
parse_notify(const char *val, size_t vallen, unsigned *notify)
{
	const char	*e, *end = val + vallen;
	size_t		 n;
	unsigned	 bit;

	if (val == NULL || vallen == 0)
		return -1;
	*notify = 0;
	while (val < end) {
		e = memchr(val, ',', (size_t)(end - val));
		n = (size_t)((e ? e : end) - val);
		if (is_kw(val, n, "NEVER"))
			bit = DSN_NOTIFY_NEVER;
		else if (is_kw(val, n, "SUCCESS"))
			bit = DSN_NOTIFY_SUCCESS;
		else if (is_kw(val, n, "FAILURE"))
			bit = DSN_NOTIFY_FAILURE;
		else if (is_kw(val, n, "DELAY"))
			bit = DSN_NOTIFY_DELAY;
		else
			return -1;
		if (*notify & bit)
			return -1;
		*notify |= bit;
		if (e == NULL)
			break;
		val = e + 1;
		if (val == end)
			return -1;	/* a trailing comma */
	}
	/* NEVER stands alone (RFC 3461 4.1) */
	if ((*notify & DSN_NOTIFY_NEVER) && *notify != DSN_NOTIFY_NEVER)
		return -1;
	return 0;
}

/* ORCPT=addr-type;xtext, kept as "addr-type;decoded". */
static int
parse_orcpt(const char *val, size_t vallen, char *out, size_t outsz)
{
	const char	*semi;
	size_t		 tl, i;

	if (val == NULL || (semi = memchr(val, ';', vallen)) == NULL)
		return -1;
	tl = (size_t)(semi - val);
	if (tl == 0 || tl + 2 > outsz)
		return -1;
	/* addr-type = atom; only RFC 822 addresses are carried (RFC 3461 4.2) */
	for (i = 0; i < tl; i++)
		if (!((val[i] >= 'a' && val[i] <= 'z') || (val[i] >= 'A' &&
		    val[i] <= 'Z') || (val[i] >= '0' && val[i] <= '9') ||
		    val[i] == '-'))
			return -1;
	if (!is_kw(val, tl, "rfc822"))
		return -1;
	memcpy(out, val, tl + 1);
	if (cmd_xtext_decode(semi + 1, vallen - tl - 1, out + tl + 1,
	    outsz - tl - 1) <= 0)
		return -1;
	return 0;
}

const char *
cmd_parse_rcpt(const char *args, unsigned ext, int utf8, struct rcpt_params *rp)
{
	const char	*p, *kw, *val;
	size_t		 used, kwlen, vallen;
	int		 r;

	memset(rp, 0, sizeof(*rp));
	if ((p = skip_prefix(args, "TO:")) == NULL || *p == '\0')
		return "501 5.5.4 Syntax: RCPT TO:<address>";
	if (addr_parse_path(p, strlen(p), ADDR_F_POSTMASTER_OK |
	    ((ext & EXT_SMTPUTF8) ? ADDR_F_UTF8 : 0), &rp->to, &used) == -1)
		return "501 5.1.3 Bad recipient address syntax";
	if (rp->to.utf8 && !utf8)
		return "553 5.6.7 Non-ASCII recipient address needs SMTPUTF8";
	p += used;
	while ((r = next_param(&p, &kw, &kwlen, &val, &vallen)) == 1) {
		if (is_kw(kw, kwlen, "NOTIFY") && (ext & EXT_DSN)) {
			if (rp->notify != 0 ||
			    parse_notify(val, vallen, &rp->notify) == -1)
				return "501 5.5.4 Bad NOTIFY parameter";
		} else if (is_kw(kw, kwlen, "ORCPT") && (ext & EXT_DSN)) {
			if (rp->orcpt[0] != '\0' || parse_orcpt(val, vallen,
			    rp->orcpt, sizeof(rp->orcpt)) == -1)
				return "501 5.5.4 Bad ORCPT parameter";
		} else
			return "555 5.5.4 Unsupported RCPT parameter";
	}
	if (r == -1)
		return "501 5.5.4 Bad RCPT parameter syntax";
	return NULL;
}

int
cmd_parse_bdat(const char *args, uint64_t *size, int *last)
{
	size_t	 n;

	n = strspn(args, "0123456789");
	if (parse_size(args, n, size) == -1)
		return -1;
	args += n;
	*last = 0;
	if (*args == '\0')
		return 0;
	if (*args != ' ')
		return -1;
	while (*args == ' ')
		args++;
	if (strcasecmp(args, "LAST") == 0) {
		*last = 1;
		return 0;
	}
	return *args == '\0' ? 0 : -1;
}

int
cmd_parse_etrn(const char *args, char *domain, size_t domainsz)
{
	const char	*d = args;

	if (*d == '#')
		return -2;
	if (*d == '@')
		d++;
	if (!addr_domain_valid(d, strlen(d)) || strlcpy(domain, args,
	    domainsz) >= domainsz)
		return -1;
	return 0;
}

static const struct {
	const char	*name;
	unsigned	 bit;
} extensions[] = {
	{ "PIPELINING", EXT_PIPELINING },
	{ "SIZE", EXT_SIZE },
	{ "8BITMIME", EXT_8BITMIME },
	{ "CHUNKING", EXT_CHUNKING },
	{ "BINARYMIME", EXT_BINARYMIME },
	{ "DSN", EXT_DSN },
	{ "SMTPUTF8", EXT_SMTPUTF8 },
	{ "ETRN", EXT_ETRN },
};

int
cmd_ext_mask(const struct strlist *disabled, unsigned *mask, const char **bad)
{
	size_t	 i, k;
	int	 r = 0;

	*mask = EXT_ALL;
	for (i = 0; i < disabled->n; i++) {
		for (k = 0; k < sizeof(extensions) / sizeof(extensions[0]); k++)
			if (strcasecmp(disabled->v[i], extensions[k].name) == 0)
				break;
		if (k == sizeof(extensions) / sizeof(extensions[0])) {
			if (r == 0)
				*bad = disabled->v[i];
			r = -1;
			continue;
		}
		*mask &= ~extensions[k].bit;
	}
	/* BINARYMIME needs BDAT (RFC 3030 3) */
	if (!(*mask & EXT_CHUNKING))
		*mask &= ~EXT_BINARYMIME;
	return r;
}

const char *
cmd_received_protocol(int esmtp, int utf8, int tls, int auth)
{
	static const char *const esmtps[] = {
		"ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA",
	};
	static const char *const utf8s[] = {
		"UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA",
	};
	int i = (tls ? 2 : 0) + (auth ? 1 : 0);

	if (!esmtp)
		return "SMTP";
	return utf8 ? utf8s[i] : esmtps[i];
}

/* ---- AUTH (RFC 4954) ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
cmd_base64_decode(const char *s, unsigned char *out, size_t outsz)
{
	size_t		 len = strlen(s), i, n = 0, pad = 0;
	uint32_t	 acc;
	int		 v, j;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			if (s[i + j] == '=') {
				/* padding only at the very end, at most two */
				if (i + 4 != len || j < 2 ||
				    (j == 2 && s[i + 3] != '='))
					return -1;
				pad++;
				v = 0;
			} else if ((v = b64_value((unsigned char)s[i + j])) == -1 ||
			    pad > 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		if (n + 3 - pad > outsz)
			return -1;
		out[n++] = (unsigned char)(acc >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(acc >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)acc;
	}
	if (n > INT32_MAX)
		return -1;
	return (int)n;
}

/* A user name we are willing to log and put in a Received header. */
int
cmd_auth_user_valid(const char *user, size_t len)
{
	size_t i;

	if (len == 0 || len > SMTPD_AUTH_USER_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)user[i] <= ' ' || user[i] == 0x7f ||
		    user[i] == '(' || user[i] == ')' || user[i] == '\\')
			return 0;
	}
	return 1;
}

int
cmd_auth_plain(const unsigned char *p, size_t len, char *user, size_t usersz,
    char *pass, size_t passsz)
{
	const unsigned char	*n1, *n2;
	size_t			 zlen, ulen, plen;

	if ((n1 = memchr(p, '\0', len)) == NULL ||
	    (n2 = memchr(n1 + 1, '\0', len - (size_t)(n1 + 1 - p))) == NULL)
		return -1;
	zlen = (size_t)(n1 - p);
	ulen = (size_t)(n2 - (n1 + 1));
	plen = len - (size_t)(n2 + 1 - p);
	if (ulen >= usersz || plen >= passsz || plen == 0 ||
	    memchr(n2 + 1, '\0', plen) != NULL ||
	    !cmd_auth_user_valid((const char *)n1 + 1, ulen))
		return -1;
	/* acting for someone else (authzid) is not offered */
	if (zlen != 0 && (zlen != ulen || memcmp(p, n1 + 1, ulen) != 0))
		return -1;
	memcpy(user, n1 + 1, ulen);
	user[ulen] = '\0';
	memcpy(pass, n2 + 1, plen);
	pass[plen] = '\0';
	return 0;
}
