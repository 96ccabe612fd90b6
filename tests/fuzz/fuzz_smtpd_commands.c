/* libFuzzer target for smtpd/commands.c: verbs, MAIL/RCPT arguments, HELO. */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_params	 mp;
	struct addr		 a;
	const char		*args, *err;
	char			*line;

	/* session.c hands over NUL-free lines of at most SMTPD_LINE_MAX */
	if (size > SMTPD_LINE_MAX || memchr(data, '\0', size) != NULL)
		return 0;
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	(void)cmd_verb(line, &args);
	if (args < line || args > line + size)
		abort();
	if ((err = cmd_parse_mail(line, &mp)) != NULL) {
		if (strncmp(err, "501 ", 4) != 0 && strncmp(err, "555 ", 4) != 0)
			abort();
	} else if (mp.from.kind == ADDR_POSTMASTER)
		abort();
	if ((err = cmd_parse_rcpt(line, &a)) != NULL) {
		if (strncmp(err, "501 ", 4) != 0 && strncmp(err, "555 ", 4) != 0)
			abort();
	} else if (a.kind == ADDR_NULL)
		abort();
	(void)cmd_helo_valid(line);
	free(line);
	return 0;
}
