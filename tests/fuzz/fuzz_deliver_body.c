/* Fuzz target: content to wire form never lets a bare CR/LF or an early end of data through. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../deliver/deliver.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct body_enc	 e;
	struct buf	 out;
	size_t		 i, split = size ? data[0] % (size + 1) : 0;

	buf_init(&out);
	body_enc_init(&e);
	/* two pieces: state must carry across a feed boundary */
	if (body_enc_feed(&e, data, split, &out) == -1 ||
	    body_enc_feed(&e, data + split, size - split, &out) == -1 ||
	    body_enc_finish(&e, &out) == -1) {
		buf_free(&out);
		return 0;
	}
	if (out.len < 3 || memcmp(out.p + out.len - 3, ".\r\n", 3) != 0)
		__builtin_trap();
	for (i = 0; i < out.len; i++) {
		if (out.p[i] == '\r' && (i + 1 >= out.len || out.p[i + 1] != '\n'))
			__builtin_trap();
		if (out.p[i] == '\n' && (i == 0 || out.p[i - 1] != '\r'))
			__builtin_trap();
		/* a lone "." line may only be the last one */
		if (out.p[i] == '.' && (i == 0 || out.p[i - 1] == '\n') &&
		    i + 2 < out.len && out.p[i + 1] == '\r' && i + 3 != out.len)
			__builtin_trap();
	}
	buf_free(&out);
	return 0;
}
