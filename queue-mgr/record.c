/* Spool record encoding: the binary envelope record and content chunk keys. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "pack.h"
#include "qmgr.h"

/*
 * Envelope record (all little-endian, str = u32 length + bytes):
 *	u32 magic, u32 version, u64 arrival, u64 queued_us, u64 size,
 *	str sender, str client, str helo,
 *	[v2: u32 ret, str envid, u32 body, u32 smtputf8, u32 flags,]
 *	u32 nrcpt, nrcpt x (str addr, u32 state, u32 attempts, u64 next_try,
 *	str last_reply [v2: , u32 notify, str orcpt, str last_relay, u32 flags])
 * and nothing after. Version 2 is written; version 1 is still read (the
 * v2 fields take their defaults). See queue-mgr/README.md.
 */

/* The smallest encoded recipient of each version: an empty address is refused. */
#define RCPT_MIN_LEN_V1	(4 + 1 + 4 + 4 + 8 + 4)
#define RCPT_MIN_LEN_V2	(RCPT_MIN_LEN_V1 + 4 + 4 + 4 + 4)
#define DSN_NOTIFY_ALL	(DSN_NOTIFY_NEVER | DSN_NOTIFY_SUCCESS | \
			 DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY)

int
record_env_encode(const struct qenv *e, struct buf *b)
{
	uint32_t	 i;
	int		 r = 0;

	r |= pack_u32(b, RECORD_MAGIC);
	r |= pack_u32(b, RECORD_VERSION);
	r |= pack_u64(b, e->arrival);
	r |= pack_u64(b, e->queued_us);
	r |= pack_u64(b, e->size);
	r |= pack_str(b, e->sender);
	r |= pack_str(b, e->client);
	r |= pack_str(b, e->helo);
	r |= pack_u32(b, e->ret);
	r |= pack_str(b, e->envid);
	r |= pack_u32(b, e->body);
	r |= pack_u32(b, e->smtputf8);
	r |= pack_u32(b, e->flags);
	r |= pack_u32(b, e->nrcpt);
	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *q = &e->rcpts[i];

		r |= pack_str(b, q->addr);
		r |= pack_u32(b, q->state);
		r |= pack_u32(b, q->attempts);
		r |= pack_u64(b, q->next_try);
		r |= pack_str(b, q->last_reply);
		r |= pack_u32(b, q->notify);
		r |= pack_str(b, q->orcpt);
		r |= pack_str(b, q->last_relay);
		r |= pack_u32(b, q->flags);
	}
	return r ? -1 : 0;
}

/* A v1 record's strings that v2 added: present and empty, never NULL. */
static int
empty_if_null(char **s)
{
	if (*s == NULL && (*s = strdup("")) == NULL)
		return -1;
	return 0;
}

int
record_dsn_valid(uint32_t ret, uint32_t body, uint32_t smtputf8)
{
	return ret <= DSN_RET_HDRS && body <= BODY_TYPE_BINARYMIME &&
	    smtputf8 <= 1;
}

int
record_notify_valid(uint32_t notify)
{
	/* NEVER stands alone (RFC 3461 4.1) */
	return (notify & ~DSN_NOTIFY_ALL) == 0 &&
	    !((notify & DSN_NOTIFY_NEVER) && notify != DSN_NOTIFY_NEVER);
}

int
record_env_decode(const void *p, size_t len, struct qenv *e)
{
	struct unpack	 u;
	uint32_t	 magic, version, i;
	size_t		 minlen;

	memset(e, 0, sizeof(*e));
	unpack_init(&u, p, len);
	unpack_u32(&u, &magic);
	unpack_u32(&u, &version);
	if (u.err || magic != RECORD_MAGIC || version < 1 ||
	    version > RECORD_VERSION)
		return -1;
	unpack_u64(&u, &e->arrival);
	unpack_u64(&u, &e->queued_us);
	unpack_u64(&u, &e->size);
	unpack_str(&u, &e->sender, RECORD_MAX_ADDR);
	unpack_str(&u, &e->client, RECORD_MAX_STR);
	unpack_str(&u, &e->helo, RECORD_MAX_STR);
	if (version >= 2) {
		unpack_u32(&u, &e->ret);
		unpack_str(&u, &e->envid, RECORD_MAX_ENVID);
		unpack_u32(&u, &e->body);
		unpack_u32(&u, &e->smtputf8);
		unpack_u32(&u, &e->flags);
		if (u.err || !record_dsn_valid(e->ret, e->body, e->smtputf8) ||
		    (e->flags & ~QENV_F_ALL) != 0)
			goto bad;
	} else if (empty_if_null(&e->envid) == -1)
		goto bad;
	unpack_u32(&u, &e->nrcpt);
	minlen = version >= 2 ? RCPT_MIN_LEN_V2 : RCPT_MIN_LEN_V1;
	if (u.err || e->size > RECORD_MAX_SIZE || e->nrcpt == 0 ||
	    e->nrcpt > RECORD_MAX_RCPT ||
	    e->nrcpt > (len - u.off) / minlen)
		goto bad;
	if ((e->rcpts = calloc(e->nrcpt, sizeof(*e->rcpts))) == NULL)
		goto bad;
	for (i = 0; i < e->nrcpt; i++) {
		struct qrcpt *q = &e->rcpts[i];

		unpack_str(&u, &q->addr, RECORD_MAX_ADDR);
		unpack_u32(&u, &q->state);
		unpack_u32(&u, &q->attempts);
		unpack_u64(&u, &q->next_try);
		unpack_str(&u, &q->last_reply, RECORD_MAX_REPLY);
		if (version >= 2) {
			unpack_u32(&u, &q->notify);
			unpack_str(&u, &q->orcpt, RECORD_MAX_ADDR);
			unpack_str(&u, &q->last_relay, RECORD_MAX_ADDR);
			unpack_u32(&u, &q->flags);
		} else if (empty_if_null(&q->orcpt) == -1 ||
		    empty_if_null(&q->last_relay) == -1)
			goto bad;
		if (u.err || q->addr[0] == '\0' || q->state > QRCPT_BOUNCED ||
		    !record_notify_valid(q->notify) ||
		    (q->flags & ~QRCPT_F_ALL) != 0)
			goto bad;
	}
	if (unpack_done(&u) == -1)
		goto bad;
	return 0;
bad:
	record_env_free(e);
	return -1;
}

void
record_env_free(struct qenv *e)
{
	uint32_t	 i;

	if (e->rcpts != NULL) {
		for (i = 0; i < e->nrcpt; i++) {
			free(e->rcpts[i].addr);
			free(e->rcpts[i].last_reply);
			free(e->rcpts[i].orcpt);
			free(e->rcpts[i].last_relay);
		}
	}
	free(e->rcpts);
	free(e->sender);
	free(e->client);
	free(e->helo);
	free(e->envid);
	memset(e, 0, sizeof(*e));
}

void
record_content_key(const char *qid, uint32_t chunk, uint8_t out[CONTENT_KEY_LEN])
{
	memcpy(out, qid, QID_LEN);
	/* big-endian, so a message's chunks sort in order after its id */
	out[QID_LEN] = (uint8_t)(chunk >> 24);
	out[QID_LEN + 1] = (uint8_t)(chunk >> 16);
	out[QID_LEN + 2] = (uint8_t)(chunk >> 8);
	out[QID_LEN + 3] = (uint8_t)chunk;
}

uint32_t
record_content_nchunks(uint64_t size)
{
	return (uint32_t)((size + CONTENT_CHUNK - 1) / CONTENT_CHUNK);
}

char *
record_rcpt_domain(const char *addr)
{
	const char	*at;
	char		*d, *p;

	if ((at = strrchr(addr, '@')) == NULL || at[1] == '\0')
		return NULL;
	if ((d = strdup(at + 1)) == NULL)
		return NULL;
	for (p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

const char *
record_last_error(const struct qenv *e)
{
	uint32_t	 i;

	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpts[i].state == QRCPT_PENDING &&
		    e->rcpts[i].last_reply[0] != '\0')
			return e->rcpts[i].last_reply;
	return "";
}

int
record_pack_entry(struct buf *b, const char *qid, const struct qenv *e,
    uint32_t state, uint64_t next_try)
{
	size_t		 countoff;
	uint32_t	 i, n = 0;
	uint8_t		*p;

	if (pack_str(b, qid) == -1 || pack_u64(b, e->arrival) == -1 ||
	    pack_u64(b, e->size) == -1 || pack_str(b, e->sender) == -1 ||
	    pack_u32(b, state) == -1 || pack_u64(b, next_try) == -1 ||
	    pack_str(b, record_last_error(e)) == -1)
		return -1;
	countoff = b->len;
	if (pack_u32(b, 0) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct qrcpt *r = &e->rcpts[i];

		/* a frame has a size limit; a huge list is cut short */
		if (b->len + 4 + strlen(r->addr) + 4 > IPC_MAX_PAYLOAD)
			break;
		if (pack_str(b, r->addr) == -1 || pack_u32(b, r->state) == -1)
			return -1;
		n++;
	}
	/* the count, now known, little-endian as pack_u32 writes it */
	p = (uint8_t *)b->p + countoff;
	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)(n >> 16);
	p[3] = (uint8_t)(n >> 24);
	return 0;
}
