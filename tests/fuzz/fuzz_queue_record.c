/* Fuzz target: the spool's envelope record decoder (records are never trusted). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../queue-mgr/qmgr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct qenv	 e, again;
	struct buf	 b;
	uint32_t	 i;

	if (record_env_decode(data, len, &e) == -1)
		return 0;
	/* what decodes must be sane and encode back to the same bytes */
	if (e.nrcpt == 0 || e.sender == NULL || e.client == NULL || e.helo == NULL)
		abort();
	for (i = 0; i < e.nrcpt; i++)
		if (e.rcpts[i].addr == NULL || e.rcpts[i].addr[0] == '\0' ||
		    e.rcpts[i].last_reply == NULL ||
		    e.rcpts[i].state > QRCPT_BOUNCED ||
		    strchr(e.rcpts[i].addr, '\n') != NULL)
			abort();
	for (i = 0; i < e.nrcpt; i++)
		if (e.rcpts[i].orcpt == NULL || e.rcpts[i].last_relay == NULL ||
		    !record_notify_valid(e.rcpts[i].notify))
			abort();
	if (e.envid == NULL || !record_dsn_valid(e.ret, e.body, e.smtputf8))
		abort();
	buf_init(&b);
	if (record_env_encode(&e, &b) == 0) {
		/* the current version encodes back to the same bytes; an
		 * older one is rewritten as the current one */
		if (len >= 8 && data[4] == RECORD_VERSION &&
		    (b.len != len || memcmp(b.p, data, len) != 0))
			abort();
		if (record_env_decode(b.p, b.len, &again) == 0)
			record_env_free(&again);
	}
	buf_free(&b);
	record_env_free(&e);
	return 0;
}
