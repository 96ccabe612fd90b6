/* posternctl stats: the queue's counts and deferral groups, decoded and formatted. */
#ifndef POSTERN_CTL_STATS_H
#define POSTERN_CTL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CTL_MAX_GROUPS	1000

struct ctl_group_count {
	char		*key;
	uint32_t	 n;
};

/* One IPC_CTL_STATS_REPLY, decoded. */
struct ctl_stats {
	uint64_t		 now, started;
	uint32_t		 active, deferred, held;
	uint64_t		 waiting;	/* recipients */
	uint64_t		 oldest;	/* arrival; 0 = empty */
	uint64_t		 n_accepted, n_delivered, n_deferred, n_bounced;
	struct ctl_group_count	*reasons, *domains;
	size_t			 nreasons, ndomains;
	/* smtpd's numbers; smtpd_reported 0 when unknown */
	uint32_t		 smtpd_reported, sessions;
	uint64_t		 connections, refused;
};

int	 ctl_stats_unpack(const void *, size_t, struct ctl_stats *);
void	 ctl_stats_free(struct ctl_stats *);
int	 ctl_stats_format(struct buf *, const struct ctl_stats *);
/* A JSON object; field names are documented in posternctl(8). */
int	 ctl_stats_json(struct buf *, const struct ctl_stats *);

#endif
