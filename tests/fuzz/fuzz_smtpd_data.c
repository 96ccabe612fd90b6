/*
 * libFuzzer target for smtpd/data.c: the end of data and the content must
 * not depend on how the input is cut into reads (SMTP smuggling class).
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct result {
	struct buf	 out;
	size_t		 used;
	int		 done, bare, too_big;
};

static void
run(const char *in, size_t len, size_t step, uint64_t max, struct result *r)
{
	struct data_sm	 d;
	size_t		 at = 0, n;
	ssize_t		 k;

	buf_init(&r->out);
	data_init(&d, max);
	while (at < len && !data_done(&d)) {
		n = len - at < step ? len - at : step;
		if ((k = data_feed(&d, in + at, n, &r->out)) < 0)
			abort();
		if ((size_t)k > n || ((size_t)k < n && !data_done(&d)))
			abort();
		at += (size_t)k;
	}
	r->used = at;
	r->done = data_done(&d);
	r->bare = d.bare;
	r->too_big = d.too_big;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result	 whole, cut;
	size_t		 step, i;
	uint64_t	 max;

	if (size < 2)
		return 0;
	step = (size_t)data[0] + 1;
	max = (uint64_t)data[1] * 8;
	data += 2;
	size -= 2;

	run((const char *)data, size, size ? size : 1, max, &whole);
	run((const char *)data, size, step, max, &cut);
	if (whole.used != cut.used || whole.done != cut.done ||
	    whole.bare != cut.bare || whole.too_big != cut.too_big ||
	    whole.out.len != cut.out.len ||
	    (whole.out.len && memcmp(whole.out.p, cut.out.p, whole.out.len)))
		abort();
	/* end of data only right after CR LF "." CR LF (or at the start) */
	if (whole.done) {
		i = whole.used;
		if (i < 3 || memcmp(data + i - 3, ".\r\n", 3) != 0)
			abort();
		if (i > 3 && (i < 5 || memcmp(data + i - 5, "\r\n", 2) != 0))
			abort();
	}
	/* clean content is CRLF-only, never holds bare CR or LF */
	if (!whole.bare && !whole.too_big) {
		for (i = 0; i < whole.out.len; i++) {
			if (whole.out.p[i] == '\n' &&
			    (i == 0 || whole.out.p[i - 1] != '\r'))
				abort();
			if (whole.out.p[i] == '\r' &&
			    (i + 1 >= whole.out.len || whole.out.p[i + 1] != '\n'))
				abort();
		}
	}
	if (whole.out.len > max)
		abort();
	buf_free(&whole.out);
	buf_free(&cut.out);
	return 0;
}
