/* Pickup files: the envelope postern-sendmail writes and queue-mgr reads. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "pack.h"
#include "pickup.h"

#define PICKUP_VERSION	1

int
pickup_encode(const struct pickup_env *e, struct buf *b)
{
	struct buf	 h;
	uint32_t	 i;
	int		 r = 0;

	buf_init(&h);
	r |= pack_u32(&h, PICKUP_VERSION);
	r |= pack_u64(&h, e->time);
	r |= pack_u32(&h, e->flags);
	r |= pack_str(&h, e->sender);
	r |= pack_u32(&h, e->nrcpt);
	for (i = 0; i < e->nrcpt; i++)
		r |= pack_str(&h, e->rcpt[i]);
	r |= buf_appends(b, PICKUP_MAGIC);
	r |= pack_bytes(b, h.p, h.len);
	buf_free(&h);
	return r ? -1 : 0;
}

void
pickup_env_free(struct pickup_env *e)
{
	uint32_t i;

	free(e->sender);
	for (i = 0; i < e->nrcpt && e->rcpt; i++)
		free(e->rcpt[i]);
	free(e->rcpt);
	memset(e, 0, sizeof(*e));
}

static int
valid_address(const char *s, int null_ok)
{
	struct addr a;

	if (*s == '\0')
		return null_ok;
	return addr_parse_mailbox_flags(s, strlen(s), ADDR_F_UTF8, &a) == 0;
}

int
pickup_decode(const void *data, size_t len, struct pickup_env *e,
    size_t *content_off)
{
	struct unpack	 outer, u;
	const void	*hdr;
	size_t		 hlen, ml = sizeof(PICKUP_MAGIC) - 1;
	uint32_t	 version, i;

	memset(e, 0, sizeof(*e));
	if (len < ml || memcmp(data, PICKUP_MAGIC, ml) != 0)
		return -1;
	unpack_init(&outer, (const char *)data + ml, len - ml);
	if (unpack_bytes(&outer, &hdr, &hlen, PICKUP_MAX_HEADER) == -1)
		return -1;
	unpack_init(&u, hdr, hlen);
	if (unpack_u32(&u, &version) == -1 || version != PICKUP_VERSION ||
	    unpack_u64(&u, &e->time) == -1 || unpack_u32(&u, &e->flags) == -1 ||
	    unpack_str(&u, &e->sender, ADDR_TEXT_MAX) == -1 ||
	    unpack_u32(&u, &e->nrcpt) == -1 || e->nrcpt == 0 ||
	    e->nrcpt > PICKUP_MAX_RCPT ||
	    (e->rcpt = calloc(e->nrcpt, sizeof(*e->rcpt))) == NULL)
		goto bad;
	for (i = 0; i < e->nrcpt; i++)
		if (unpack_str(&u, &e->rcpt[i], ADDR_TEXT_MAX) == -1 ||
		    !valid_address(e->rcpt[i], 0))
			goto bad;
	if (unpack_done(&u) == -1 || !valid_address(e->sender, 1) ||
	    (e->flags & ~PICKUP_F_SENDER_SET))
		goto bad;
	*content_off = ml + outer.off;
	return 0;
bad:
	pickup_env_free(e);
	return -1;
}
