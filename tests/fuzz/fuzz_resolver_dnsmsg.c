/* Fuzz target: DNS answer packets (MX, PTR, TXT, TLSA rdata, names, compression) as a server may send them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../resolver/dnsmsg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t	 types[] = { 1, 15, 28, 12, 16, 52 };
	static struct dnsmsg_answers a;	/* large: not on the stack */
	size_t			 i, j, off = 0;
	char			 name[DNSMSG_MAX_TEXT + 1];

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (dnsmsg_parse(data, size, types[i], &a) == -1)
			continue;
		if (a.n > DNSMSG_MAX_ANSWERS)
			__builtin_trap();
		for (j = 0; j < a.n; j++)
			if (strlen(a.rr[j].text) > DNSMSG_MAX_TEXT ||
			    a.rr[j].dlen > DNSMSG_MAX_DATA)
				__builtin_trap();
	}
	if (dnsmsg_name_read(data, size, &off, name, sizeof(name), 1) == 0 &&
	    (off > size || strlen(name) > DNSMSG_MAX_TEXT))
		__builtin_trap();
	if (size > 0) {
		char q[300];
		size_t n = size < sizeof(q) - 1 ? size : sizeof(q) - 1;

		memcpy(q, data, n);
		q[n] = '\0';
		(void)dnsmsg_qname_valid(q);
	}
	return 0;
}
