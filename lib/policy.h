/*
 * Config checks that belong to no one daemon: the ways a postern.conf makes
 * an open relay. The master calls this at start and reload, and
 * "posternctl check-config" shows the lines.
 */
#ifndef POSTERN_POLICY_H
#define POSTERN_POLICY_H

#include "buf.h"
#include "config.h"

/*
 * Appends one human line (ending in "\n") to out for each setting that
 * lets strangers relay through us, and returns how many; -1 when out
 * cannot grow.
 */
int	policy_open_relay_warnings(const struct config *, struct buf *out);

#endif
