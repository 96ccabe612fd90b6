/* Binary, length-prefixed encoding for IPC payloads and spool records. */
#include <stdlib.h>
#include <string.h>

#include "pack.h"

int
pack_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int
pack_u32(struct buf *b, uint32_t v)
{
	uint8_t	 x[4];
	int	 i;

	for (i = 0; i < 4; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	return buf_append(b, x, sizeof(x));
}

int
pack_u64(struct buf *b, uint64_t v)
{
	uint8_t	 x[8];
	int	 i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	return buf_append(b, x, sizeof(x));
}

int
pack_bytes(struct buf *b, const void *p, size_t len)
{
	if (len > UINT32_MAX)
		return -1;
	if (pack_u32(b, (uint32_t)len) == -1)
		return -1;
	return buf_append(b, p, len);
}

int
pack_str(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	return pack_bytes(b, s, strlen(s));
}

void
unpack_init(struct unpack *u, const void *p, size_t len)
{
	u->p = p;
	u->len = len;
	u->off = 0;
	u->err = 0;
}

static const uint8_t *
unpack_take(struct unpack *u, size_t n)
{
	const uint8_t *r;

	if (u->err || n > u->len - u->off) {
		u->err = 1;
		return NULL;
	}
	r = u->p + u->off;
	u->off += n;
	return r;
}

int
unpack_u8(struct unpack *u, uint8_t *v)
{
	const uint8_t *x;

	if ((x = unpack_take(u, 1)) == NULL)
		return -1;
	*v = x[0];
	return 0;
}

int
unpack_u32(struct unpack *u, uint32_t *v)
{
	const uint8_t	*x;
	uint32_t	 r = 0;
	int		 i;

	if ((x = unpack_take(u, 4)) == NULL)
		return -1;
	for (i = 0; i < 4; i++)
		r |= (uint32_t)x[i] << (8 * i);
	*v = r;
	return 0;
}

int
unpack_u64(struct unpack *u, uint64_t *v)
{
	const uint8_t	*x;
	uint64_t	 r = 0;
	int		 i;

	if ((x = unpack_take(u, 8)) == NULL)
		return -1;
	for (i = 0; i < 8; i++)
		r |= (uint64_t)x[i] << (8 * i);
	*v = r;
	return 0;
}

int
unpack_bytes(struct unpack *u, const void **p, size_t *len, size_t max)
{
	uint32_t	 n;
	const uint8_t	*x;

	if (unpack_u32(u, &n) == -1)
		return -1;
	if (n > max) {
		u->err = 1;
		return -1;
	}
	if ((x = unpack_take(u, n)) == NULL)
		return -1;
	*p = x;
	*len = n;
	return 0;
}

int
unpack_str(struct unpack *u, char **out, size_t max)
{
	const void	*p;
	size_t		 len, i;
	const uint8_t	*c;
	char		*s;

	*out = NULL;
	if (unpack_bytes(u, &p, &len, max) == -1)
		return -1;
	c = p;
	for (i = 0; i < len; i++) {
		if (c[i] == '\0' || c[i] == '\r' || c[i] == '\n') {
			u->err = 1;
			return -1;
		}
	}
	if ((s = malloc(len + 1)) == NULL) {
		u->err = 1;
		return -1;
	}
	memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return 0;
}

int
unpack_done(const struct unpack *u)
{
	return (u->err || u->off != u->len) ? -1 : 0;
}
