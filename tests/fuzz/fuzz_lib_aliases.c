/* Fuzz target: aliases(5) parsing and expansion of every name it defines. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "aliases.h"

static int
include_cb(const char *path, struct strlist *out, void *arg)
{
	(void)path;
	(void)out;
	(void)arg;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aliases	 al;
	struct strlist	 out;
	struct buf	 err;
	size_t		 i, k;

	buf_init(&err);
	(void)aliases_parse("fuzz", (const char *)data, size, &al, &err);
	for (i = 0; i < al.n && i < 50; i++) {
		out.v = NULL;
		out.n = 0;
		buf_reset(&err);
		(void)aliases_expand(&al, al.v[i].name, (int)(i & 1), include_cb,
		    NULL, &out, &err);
		for (k = 0; k < out.n; k++)
			free(out.v[k]);
		free(out.v);
	}
	aliases_free(&al);
	buf_free(&err);
	return 0;
}
