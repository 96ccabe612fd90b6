/* Fuzz target: posternctl's decoding and formatting of trace events. */
#include <stddef.h>
#include <stdint.h>

#include "../../ctl/trace.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_trace_event	 ev;
	struct buf		 b;

	buf_init(&b);
	if (ctl_trace_event_unpack(data, size, &ev) == 0) {
		(void)ctl_trace_line(&b, &ev);
		(void)ctl_trace_json(&b, &ev);
		ctl_trace_event_free(&ev);
	}
	buf_free(&b);
	return 0;
}
