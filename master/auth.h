/* AUTH for smtpd: PAM checks and failure limits, owned by the master. */
#ifndef POSTERN_MASTER_AUTH_H
#define POSTERN_MASTER_AUTH_H

#include <stddef.h>
#include <time.h>

#include "master.h"

/* An IPC_AUTH_REQ from smtpd: checked in a forked child, answered later. */
void	auth_request(struct master *, struct ipc_msg *);
/* The master reaped pid: if it was a PAM check, forget the pid. */
void	auth_child_reaped(pid_t);

/* One PAM conversation (blocking; runs in the forked child, and in tests).
 * confdir NULL or "" = the system's. Returns enum auth_result; canon gets
 * the user name PAM settled on, why a reason for the log. */
int	auth_pam_check(const char *service, const char *confdir, const char *user,
	    const char *pass, char *canon, size_t canonsz, char *why, size_t whysz);

/* Failure limits: auth_max_failures within auth_failure_window, per client
 * address and per user name (case-insensitive). */
int	auth_is_limited(const struct config *, const char *client,
	    const char *user, time_t now);
void	auth_note_result(const struct config *, const char *client,
	    const char *user, int result, time_t now);

#endif
