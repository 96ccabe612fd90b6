/* posternctl policy-test: an SMTP dialogue with smtpd as a given client, without mail. */
#ifndef POSTERN_CTL_POLICYTEST_H
#define POSTERN_CTL_POLICYTEST_H

#include <stddef.h>

#include "buf.h"

#define CTL_POLICY_MAX_LINE	2048	/* octets of one reply line */
#define CTL_POLICY_MAX_LINES	100	/* lines of one reply */
#define CTL_POLICY_MAX_ADDR	512	/* an address on MAIL or RCPT */

/* One command and the reply it got. */
struct ctl_policy_step {
	char		*cmd;		/* "(connect)" for the greeting */
	struct buf	 reply;		/* its lines, each ending in "\n" */
	int		 code;		/* 0 when none came */
};

/*
 * One reply line: 1 and *code, *more ('-' continuation) for "250-..." or
 * "250 ..." or "250"; 0 when it is not a reply line.
 */
int	ctl_policy_reply_line(const char *line, int *code, int *more);
/* The EHLO argument for a client address: "[192.0.2.1]" or
 * "[IPv6:2001:db8::1]". -1 when ip is not an address. */
int	ctl_policy_ehlo_literal(const char *ip, char *out, size_t outsz);
/* An envelope address as given ("a@b", "<a@b>", "" or "<>" for the null
 * sender) in brackets, or -1 when it could break the command line. */
int	ctl_policy_path(const char *arg, char *out, size_t outsz);
/* The dialogue, commands and replies in two aligned columns, safe for a
 * terminal. */
int	ctl_policy_format(struct buf *, const struct ctl_policy_step *, size_t n);

int	ctl_verb_policy_test(const char *conf, int argc, char **argv);

#endif
