/* Fuzz target: posternctl's decoding of show and stats replies, and its content filter. */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../ctl/show.h"
#include "../../ctl/stats.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_show_env	 e;
	struct ctl_show_rcpt	 r;
	struct ctl_stats	 s;
	struct ctl_content	 c;
	struct buf		 b;
	size_t			 half = size / 2;
	time_t			 now = (time_t)1764095400;

	buf_init(&b);
	if (ctl_show_env_unpack(data, size, &e) == 0) {
		(void)ctl_show_env_format(&b, &e, now);
		ctl_show_env_free(&e);
	}
	if (ctl_show_rcpt_unpack(data, size, &r) == 0) {
		(void)ctl_show_rcpt_format(&b, &r, now);
		ctl_show_rcpt_free(&r);
	}
	if (ctl_stats_unpack(data, size, &s) == 0) {
		(void)ctl_stats_format(&b, &s);
		(void)ctl_stats_json(&b, &s);
		ctl_stats_free(&s);
	}
	/* content in two frames, split anywhere */
	ctl_content_init(&c, (enum ctl_part)(size % 3));
	(void)ctl_content_feed(&c, &b, data, half);
	(void)ctl_content_feed(&c, &b, data + half, size - half);
	(void)ctl_content_finish(&c, &b);
	ctl_content_free(&c);
	buf_free(&b);
	return 0;
}
