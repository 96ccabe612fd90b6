/* Fuzz target: the SMTP client's reply parser, fed what a server may send. */
#include <stddef.h>
#include <stdint.h>

#include "../../deliver/deliver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf		 in;
	struct smtp_reply	 r;
	const char		*p;
	size_t			 pl;
	char			 sum[DELIVER_MAX_REPLY];
	int			 n;

	buf_init(&in);
	reply_init(&r);
	if (buf_append(&in, data, size) == -1)
		return 0;
	while ((n = reply_take(&in, &r)) == 1) {
		if (r.code < 200 || r.code > 559)
			__builtin_trap();
		reply_summary(&r, sum, sizeof(sum));
		(void)reply_ehlo_has(&r, "SIZE", &p, &pl);
		(void)reply_ehlo_has(&r, "PIPELINING", NULL, NULL);
	}
	reply_free(&r);
	buf_free(&in);
	return 0;
}
