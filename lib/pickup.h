/*
 * Pickup files: how postern-sendmail hands a message over, whether or not
 * the daemons run. One file in <spool>/pickup (mode 1733: anyone may drop,
 * nobody may list or take another's): a magic line, a length-prefixed
 * binary envelope (lib/pack.h), then the content in wire form (CRLF).
 * The file's owner is the submitter; nothing in the file can claim
 * otherwise. Files named "tmp.*" are still being written.
 */
#ifndef POSTERN_PICKUP_H
#define POSTERN_PICKUP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PICKUP_DIR		"pickup"
#define PICKUP_MAGIC		"POSTERN-PICKUP-1\n"
#define PICKUP_MAX_RCPT		1000
#define PICKUP_MAX_HEADER	(PICKUP_MAX_RCPT * 260 + 4096)

/* flags */
#define PICKUP_F_SENDER_SET	0x1	/* -f by a user allowed to set it */

struct pickup_env {
	uint64_t	 time;		/* unix seconds of submission */
	uint32_t	 flags;
	char		*sender;	/* "" = null sender */
	char		**rcpt;
	uint32_t	 nrcpt;
};

/* Appends magic and envelope; the content follows them in the file. */
int	pickup_encode(const struct pickup_env *, struct buf *);
/* Parses the start of a file; *content_off is where the content begins.
 * Every field validated; -1 on anything malformed. */
int	pickup_decode(const void *, size_t, struct pickup_env *, size_t *content_off);
void	pickup_env_free(struct pickup_env *);

#endif
