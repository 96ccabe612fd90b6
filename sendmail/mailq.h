/* postern-sendmail -bp / mailq: finding and running posternctl's listing. */
#ifndef POSTERN_SENDMAIL_MAILQ_H
#define POSTERN_SENDMAIL_MAILQ_H

#include <stddef.h>

/*
 * The n-th place posternctl may be, for a binary at self: 0 beside it, 1 the
 * install's sbin folder (from POSTERN_LIBEXECDIR). 0 with the path in out,
 * -1 when there is no such place (or it does not fit).
 */
int	sm_ctl_candidate(int n, const char *self, char *out, size_t outsz);
/*
 * Replaces this process with "mailq -C conf" from posternctl: beside our
 * own binary first, then the install's sbin, then $PATH. Returns only on
 * failure, with errno set.
 */
void	sm_exec_mailq(const char *conf);

#endif
