/*
 * libFuzzer target for smtpd/data.c: the end of data and the content must
 * not depend on how the input is cut into reads (SMTP smuggling class),
 * for DATA and for BDAT chunks alike.
 */
#include <sys/types.h>

#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtpd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct result {
	struct buf	 out;
	size_t		 used;
	int		 done, bare, too_big, nul, long_line;
	uint32_t	 nreceived;
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
	r->nul = d.nul;
	r->long_line = d.long_line;
	r->nreceived = d.nreceived;
}

/* The same bytes as BDAT chunks of size step; binary or text body. */
static void
run_bdat(const char *in, size_t len, size_t step, uint64_t max, int binary,
    struct result *r)
{
	struct data_sm	 d;
	size_t		 at = 0, n;

	buf_init(&r->out);
	data_init_bdat(&d, max, binary);
	while (at < len) {
		n = len - at < step ? len - at : step;
		if (data_feed_bdat(&d, in + at, n, &r->out) == -1)
			abort();
		at += n;
	}
	if (data_end_bdat(&d, &r->out) == -1)
		abort();
	r->used = at;
	r->done = data_done(&d);
	r->bare = d.bare;
	r->too_big = d.too_big;
	r->nul = d.nul;
	r->long_line = d.long_line;
	r->nreceived = d.nreceived;
}

static int
same(const struct result *a, const struct result *b)
{
	return a->used == b->used && a->done == b->done && a->bare == b->bare &&
	    a->too_big == b->too_big && a->nul == b->nul &&
	    a->long_line == b->long_line && a->nreceived == b->nreceived &&
	    a->out.len == b->out.len &&
	    (a->out.len == 0 || memcmp(a->out.p, b->out.p, a->out.len) == 0);
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
	if (!same(&whole, &cut))
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

	/* BDAT: every byte is content, whatever the chunking */
	for (i = 0; i < 2; i++) {
		run_bdat((const char *)data, size, size ? size : 1, max, (int)i,
		    &whole);
		run_bdat((const char *)data, size, step, max, (int)i, &cut);
		/*
		 * Refused content is dropped a chunk at a time and the scan
		 * stops at the first broken rule: then only "refused" counts.
		 */
		if (whole.too_big || whole.bare || whole.nul || whole.long_line) {
			if (!(cut.too_big || cut.bare || cut.nul || cut.long_line))
				abort();
		} else if (!same(&whole, &cut) || whole.used != size)
			abort();
		if (!whole.too_big && !whole.bare && !whole.nul &&
		    !whole.long_line && (whole.out.len < size ||
		    memcmp(whole.out.p, data, size) != 0))
			abort();
		if (i == 1 && (whole.bare || whole.nul || whole.long_line))
			abort();
		buf_free(&whole.out);
		buf_free(&cut.out);
	}
	return 0;
}
