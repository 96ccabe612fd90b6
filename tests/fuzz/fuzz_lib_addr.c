/* libFuzzer target for lib/addr.c: no crash, and what parses re-parses the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr	 a, b;
	char		 text[ADDR_TEXT_MAX], again[ADDR_TEXT_MAX + 2];
	size_t		 used, used2, n;
	int		 flags;

	if (size == 0)
		return 0;
	flags = data[0] & (ADDR_F_NULL_OK | ADDR_F_POSTMASTER_OK | ADDR_F_UTF8);
	data++;
	size--;

	if (addr_parse_path((const char *)data, size, flags, &a, &used) == 0) {
		if (used > size || used > ADDR_PATH_MAX || used < 2)
			abort();
		if (addr_format(&a, text, sizeof(text)) == -1)
			abort();
		n = strlen(text);
		/* the canonical form is itself a valid path with the same value */
		again[0] = '<';
		memcpy(again + 1, text, n);
		again[n + 1] = '>';
		if (addr_parse_path(again, n + 2, flags, &b, &used2) == -1 ||
		    used2 != n + 2 || b.kind != a.kind ||
		    strcmp(b.local, a.local) != 0 ||
		    strcmp(b.domain, a.domain) != 0)
			abort();
		/* printable ASCII, or (with ADDR_F_UTF8) well-formed UTF-8 */
		for (n = 0; text[n] != '\0'; n++)
			if ((unsigned char)text[n] < 32 ||
			    (unsigned char)text[n] == 127 ||
			    ((unsigned char)text[n] > 127 && !(flags & ADDR_F_UTF8)))
				abort();
		if (!addr_utf8_valid(text, strlen(text)))
			abort();
		/* utf8 says exactly whether a non-ASCII byte is there */
		for (n = 0; text[n] != '\0' && (unsigned char)text[n] < 128; n++)
			;
		if (a.utf8 != (text[n] != '\0'))
			abort();
	}
	if (addr_parse_mailbox((const char *)data, size, &a) == 0) {
		if (a.kind != ADDR_MAILBOX || a.local[0] == '\0' ||
		    a.domain[0] == '\0')
			abort();
		if (addr_domain_valid(a.domain, strlen(a.domain)) != !a.literal)
			abort();
	}
	(void)addr_domain_valid((const char *)data, size);
	return 0;
}
