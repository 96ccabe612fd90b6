/*
 * Binary, length-prefixed encoding shared by IPC payloads and spool records.
 * Integers are little-endian fixed width; a string is a u32 length and its
 * bytes (no terminator). Nothing from the network is ever stored in a form
 * that a separator or newline could corrupt.
 */
#ifndef POSTERN_PACK_H
#define POSTERN_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Writers append to a struct buf; they return -1 only when out of memory. */
int	pack_u8(struct buf *, uint8_t);
int	pack_u32(struct buf *, uint32_t);
int	pack_u64(struct buf *, uint64_t);
int	pack_bytes(struct buf *, const void *, size_t);
int	pack_str(struct buf *, const char *);	/* NULL packs as "" */

/*
 * A reader over untrusted bytes. Every get_* fails (returns -1) once the
 * input is short or a limit is broken, and the failure is sticky in err, so
 * a caller may run a whole sequence and check unpack_done() once.
 */
struct unpack {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

void	unpack_init(struct unpack *, const void *, size_t);
int	unpack_u8(struct unpack *, uint8_t *);
int	unpack_u32(struct unpack *, uint32_t *);
int	unpack_u64(struct unpack *, uint64_t *);
/* Points into the input; no copy. Fails when longer than max. */
int	unpack_bytes(struct unpack *, const void **, size_t *, size_t max);
/*
 * Copies into a new NUL-terminated string. Fails when longer than max or
 * when it contains a NUL, CR or LF byte: such a string never names a thing.
 */
int	unpack_str(struct unpack *, char **, size_t max);
/* 0 when every byte was consumed and nothing failed. */
int	unpack_done(const struct unpack *);

#endif
