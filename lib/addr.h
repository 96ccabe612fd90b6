/*
 * The one strict parser of RFC 5321 paths and mailboxes (section 4.1.2),
 * used by every process that reads an address. No special cases: an
 * address is accepted only when it matches the grammar and every length
 * limit of section 4.5.3.1. 8-bit bytes are refused unless ADDR_F_UTF8
 * allows strictly valid UTF-8 (RFC 6531: UTF8-non-ascii in atext, qtext
 * and U-labels); lengths are always counted in octets.
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX		64	/* octets of a local part, as written */
#define ADDR_DOMAIN_MAX		255	/* octets of a domain or address literal */
#define ADDR_LABEL_MAX		63	/* octets of one domain label */
#define ADDR_PATH_MAX		256	/* a whole path, "<" and ">" included */
/* "local@domain" and its NUL: enough for addr_format() of any parsed addr */
#define ADDR_TEXT_MAX		(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX + 1)

/* addr_parse_path() flags */
#define ADDR_F_NULL_OK		0x1	/* "<>" is allowed: a reverse-path */
#define ADDR_F_POSTMASTER_OK	0x2	/* "<postmaster>" is allowed: RCPT */
#define ADDR_F_UTF8		0x4	/* UTF-8 allowed (SMTPUTF8, RFC 6531) */

enum addr_kind {
	ADDR_MAILBOX = 0,	/* local@domain */
	ADDR_NULL,		/* the null reverse-path "<>" */
	ADDR_POSTMASTER,	/* "<postmaster>" with no domain (RCPT only) */
};

struct addr {
	enum addr_kind	 kind;
	int		 literal;	/* domain is an address literal "[...]" */
	int		 utf8;		/* holds non-ASCII (UTF-8) bytes */
	/*
	 * The local part as written, except that a quoted string whose
	 * content is a plain dot-string loses its quotes ("a.b" -> a.b), so
	 * one mailbox has one spelling. Otherwise quotes and backslashes
	 * stay as the client wrote them.
	 */
	char		 local[ADDR_LOCAL_MAX + 1];
	/* as written, brackets kept for a literal: "[192.0.2.1]" */
	char		 domain[ADDR_DOMAIN_MAX + 1];
};

/*
 * Parses a path starting at s[0] == '<' (source route "<@a,@b:u@d>"
 * accepted and dropped). *used is set to the bytes up to and including
 * the closing '>'; what follows (parameters) is the caller's. Returns 0,
 * or -1 when the path is malformed or too long.
 */
int	addr_parse_path(const char *s, size_t len, int flags, struct addr *,
	    size_t *used);
/* A bare mailbox "local@domain" that must fill all len bytes. 0 or -1. */
int	addr_parse_mailbox(const char *s, size_t len, struct addr *);
/* The same with flags (only ADDR_F_UTF8 means anything here). */
int	addr_parse_mailbox_flags(const char *s, size_t len, int flags,
	    struct addr *);
/* 1 when s[0..len) is well-formed UTF-8 (RFC 3629), ASCII included. */
int	addr_utf8_valid(const char *s, size_t len);
/* A domain name (no literal) filling all len bytes: 1 if valid. */
int	addr_domain_valid(const char *s, size_t len);
/* "local@domain", "" for the null path, "postmaster". -1 if out is short. */
int	addr_format(const struct addr *, char *out, size_t outsz);

#endif
