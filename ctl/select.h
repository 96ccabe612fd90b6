/* posternctl: a verb on every message a filter selects. */
#ifndef POSTERN_CTL_SELECT_H
#define POSTERN_CTL_SELECT_H

#include <stdint.h>

#include "format.h"

/*
 * Lists the queue, then sends request type (payload: str queue id) for
 * each message that matches f, printing each answer; ends with a count.
 * Returns the exit code: 1 if any message could not be done (e.g. it is
 * being delivered now) — the others are done anyway.
 */
int	ctl_apply_selected(int fd, uint32_t type, const char *verb,
	    const struct ctl_filter *f);

#endif
