/* SMTP command line parsing: verbs, MAIL/RCPT arguments and parameters. */
#include <sys/types.h>

#include <limits.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>

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

const char *
cmd_parse_mail(const char *args, struct mail_params *mp)
{
	const char	*p, *kw, *val, *errstr;
	size_t		 used, kwlen, vallen;
	char		 num[21];
	int		 r;

	memset(mp, 0, sizeof(*mp));
	if ((p = skip_prefix(args, "FROM:")) == NULL || *p == '\0')
		return "501 5.5.4 Syntax: MAIL FROM:<address>";
	if (addr_parse_path(p, strlen(p), ADDR_F_NULL_OK, &mp->from,
	    &used) == -1)
		return "501 5.1.7 Bad sender address syntax";
	p += used;
	while ((r = next_param(&p, &kw, &kwlen, &val, &vallen)) == 1) {
		if (kwlen == 4 && strncasecmp(kw, "SIZE", 4) == 0) {
			if (mp->has_size || val == NULL || vallen >= sizeof(num) ||
			    strspn(val, "0123456789") < vallen)
				return "501 5.5.4 Bad SIZE parameter";
			memcpy(num, val, vallen);
			num[vallen] = '\0';
			mp->size = (uint64_t)strtonum(num, 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				return "501 5.5.4 Bad SIZE parameter";
			mp->has_size = 1;
		} else if (kwlen == 4 && strncasecmp(kw, "BODY", 4) == 0) {
			if (mp->body != BODY_TYPE_UNSPEC || val == NULL)
				return "501 5.5.4 Bad BODY parameter";
			if (vallen == 4 && strncasecmp(val, "7BIT", 4) == 0)
				mp->body = BODY_TYPE_7BIT;
			else if (vallen == 8 && strncasecmp(val, "8BITMIME", 8) == 0)
				mp->body = BODY_TYPE_8BITMIME;
			else
				return "501 5.5.4 Bad BODY parameter";
		} else
			return "555 5.5.4 Unsupported MAIL parameter";
	}
	if (r == -1)
		return "501 5.5.4 Bad MAIL parameter syntax";
	return NULL;
}

const char *
cmd_parse_rcpt(const char *args, struct addr *a)
{
	const char	*p, *kw, *val;
	size_t		 used, kwlen, vallen;
	int		 r;

	if ((p = skip_prefix(args, "TO:")) == NULL || *p == '\0')
		return "501 5.5.4 Syntax: RCPT TO:<address>";
	if (addr_parse_path(p, strlen(p), ADDR_F_POSTMASTER_OK, a, &used) == -1)
		return "501 5.1.3 Bad recipient address syntax";
	p += used;
	/* no RCPT parameter is supported yet (DSN's NOTIFY/ORCPT: issue 3) */
	if ((r = next_param(&p, &kw, &kwlen, &val, &vallen)) == 1)
		return "555 5.5.4 Unsupported RCPT parameter";
	if (r == -1)
		return "501 5.5.4 Bad RCPT parameter syntax";
	return NULL;
}
