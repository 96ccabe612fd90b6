/* libFuzzer target for smtpd/commands.c: verbs, MAIL/RCPT/BDAT/ETRN arguments, xtext, HELO. */
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
reply_ok(const char *err)
{
	return strncmp(err, "501 ", 4) == 0 || strncmp(err, "555 ", 4) == 0 ||
	    strncmp(err, "553 ", 4) == 0;
}

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_params	 mp;
	struct rcpt_params	 rp;
	const char		*args, *err;
	char			*line, x[600], d[300];
	unsigned		 ext;
	int			 utf8;
	uint64_t		 n;
	int			 last, k;

	/* session.c hands over NUL-free lines of at most SMTPD_LINE_MAX */
	if (size < 1 || size > SMTPD_LINE_MAX + 1 ||
	    memchr(data + 1, '\0', size - 1) != NULL)
		return 0;
	ext = data[0] & EXT_ALL;
	utf8 = (data[0] & 0x80) != 0;
	data++;
	size--;
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	(void)cmd_verb(line, &args);
	if (args < line || args > line + size)
		abort();
	if ((err = cmd_parse_mail(line, ext, &mp)) != NULL) {
		if (!reply_ok(err))
			abort();
	} else {
		if (mp.from.kind == ADDR_POSTMASTER)
			abort();
		if (mp.from.utf8 && (!mp.smtputf8 || !(ext & EXT_SMTPUTF8)))
			abort();
		if ((mp.ret != DSN_RET_UNSPEC || mp.envid[0]) && !(ext & EXT_DSN))
			abort();
		if (mp.body == BODY_TYPE_BINARYMIME && !(ext & EXT_BINARYMIME))
			abort();
		printable(mp.envid);
	}
	if ((err = cmd_parse_rcpt(line, ext, utf8, &rp)) != NULL) {
		if (!reply_ok(err))
			abort();
	} else {
		if (rp.to.kind == ADDR_NULL)
			abort();
		if (rp.to.utf8 && !utf8)
			abort();
		if ((rp.notify & DSN_NOTIFY_NEVER) &&
		    rp.notify != DSN_NOTIFY_NEVER)
			abort();
		printable(rp.orcpt);
	}
	if (cmd_parse_bdat(line, &n, &last) == 0 && n > (uint64_t)LLONG_MAX)
		abort();
	if ((k = cmd_parse_etrn(line, d, sizeof(d))) == 0)
		printable(d);
	if ((k = cmd_xtext_decode(line, size, x, sizeof(x))) >= 0) {
		if ((size_t)k != strlen(x) || (size_t)k > size)
			abort();
		printable(x);
	}
	(void)cmd_helo_valid(line);
	free(line);
	return 0;
}
