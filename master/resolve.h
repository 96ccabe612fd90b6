/* Local recipients: virtual_maps, aliases and the password file turned into mailboxes, commands and addresses elsewhere. */
#ifndef POSTERN_MASTER_RESOLVE_H
#define POSTERN_MASTER_RESOLVE_H

#include <sys/types.h>

#include "aliases.h"
#include "config.h"

#define LRES_MAX_DEPTH	8	/* address -> alias -> address ... */

enum lres_status {
	LRES_OK = 0,		/* something to deliver to */
	LRES_UNKNOWN = 1,	/* 550 5.1.1 */
	LRES_TEMP = 2,		/* a lookup failed for system reasons */
	LRES_PERM = 3,		/* refused for good (root, pipes off, loop) */
};

/* 1 found (uid set), 0 no such user, -1 the lookup itself failed. */
typedef int (*lres_getpw_fn)(const char *user, uid_t *uid, void *arg);

struct lres {
	const struct config	*conf;
	const struct aliases	*aliases;
	const struct addr_map	*vmap;		/* virtual_maps */
	const struct addr_map	*relay;		/* relay_recipients; NULL = any */
	int			 relay_broken;	/* the file could not be read */
	lres_getpw_fn		 getpw;
	aliases_include_fn	 inc;
	void			*arg;		/* for getpw and inc */
};

struct lres_out {
	struct strlist	 users;		/* local login names */
	struct strlist	 remote;	/* addresses elsewhere */
	struct strlist	 pipes;		/* "|command" */
	int		 worst;		/* worst status of a part that failed */
	char		 why[256];	/* reply text for that part */
};

void	lres_out_init(struct lres_out *);
void	lres_out_free(struct lres_out *);
/* 1 for a domain of local_domains or of virtual_maps. */
int	lres_local_domain(const struct lres *, const char *domain);
/*
 * Resolves one address (or a bare local name) into out. Returns LRES_OK
 * when out holds at least one target (parts that failed are in worst/why
 * for the log), else the status with a reply text in out->why.
 */
int	lres_resolve(const struct lres *, const char *addr, struct lres_out *);
/* IPC_RCPT_CHECK's answer (enum rcpt_check); why gets a reason. */
int	lres_check(const struct lres *, const char *addr, char *why, size_t);

#endif
