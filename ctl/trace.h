/* posternctl trace: one event of a message's history, decoded and formatted. */
#ifndef POSTERN_CTL_TRACE_H
#define POSTERN_CTL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* One IPC_CTL_TRACE_EVENT. */
struct ctl_trace_event {
	uint64_t	 time_us;	/* unix microseconds */
	char		*event;		/* "received", "delivery", ... */
	char		**names;
	char		**values;
	size_t		 nfields;
};

int	 ctl_trace_event_unpack(const void *, size_t, struct ctl_trace_event *);
void	 ctl_trace_event_free(struct ctl_trace_event *);
/* "2026-11-25 21:40:01.123  delivery  to=<a@b> relay=... (reply)\n" (UTC) */
int	 ctl_trace_line(struct buf *, const struct ctl_trace_event *);
/* One event as a JSON object. */
int	 ctl_trace_json(struct buf *, const struct ctl_trace_event *);

#endif
