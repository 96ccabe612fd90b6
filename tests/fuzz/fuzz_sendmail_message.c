/* Fuzz target: postern-sendmail's address lists and header handling. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../sendmail/message.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist	 l = { NULL, 0 };
	struct sm_opts	 o = { 0, 1, "u@h", "", "h", NULL, 0 };
	struct buf	 in, out;
	size_t		 i;

	(void)sm_address_list((const char *)data, size, &l);
	buf_init(&in);
	buf_init(&out);
	buf_append(&in, data, size);
	(void)sm_prepare(&in, &o, &l, &out);
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	buf_free(&in);
	buf_free(&out);
	return 0;
}
