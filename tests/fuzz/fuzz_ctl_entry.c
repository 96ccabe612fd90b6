/* Fuzz target: posternctl's decoding and rendering of queue entries from the daemon. */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../ctl/format.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_entry	 e;
	struct ctl_filter	 f = { "a", "b", "example.com", 60, -1 };
	struct buf		 b;

	if (ctl_entry_unpack(data, size, &e) == -1)
		return 0;
	buf_init(&b);
	(void)ctl_json_entry(&b, &e);
	(void)ctl_format_table(&b, &e, 1, (time_t)1764095400);
	(void)ctl_format_mailq(&b, &e, 1);
	(void)ctl_entry_matches(&e, &f, (time_t)1764095400);
	buf_free(&b);
	ctl_entry_free(&e);
	return 0;
}
