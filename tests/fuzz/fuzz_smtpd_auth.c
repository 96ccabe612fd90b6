/* Fuzz target: smtpd's AUTH parsing (base64 and the PLAIN response). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	 dec[1024];
	char		 line[SMTPD_LINE_MAX + 1], user[SMTPD_AUTH_USER_MAX + 1];
	char		 pass[SMTPD_AUTH_PASS_MAX + 1];
	size_t		 n = size < SMTPD_LINE_MAX ? size : SMTPD_LINE_MAX;
	int		 r;

	memcpy(line, data, n);
	line[n] = '\0';
	if ((r = cmd_base64_decode(line, dec, sizeof(dec))) >= 0) {
		if (cmd_auth_plain(dec, (size_t)r, user, sizeof(user), pass,
		    sizeof(pass)) == 0 && !cmd_auth_user_valid(user,
		    strlen(user)))
			abort();
	}
	/* the raw bytes as a PLAIN response too */
	if (cmd_auth_plain(data, size, user, sizeof(user), pass,
	    sizeof(pass)) == 0 && (strlen(user) == 0 || strlen(pass) == 0))
		abort();
	return 0;
}
