/* Fuzz target: the pickup file decoder (files come from any local user). */
#include <stddef.h>
#include <stdint.h>

#include "pickup.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pickup_env	 e;
	size_t			 off;

	if (pickup_decode(data, size, &e, &off) == 0) {
		if (off > size)
			__builtin_trap();
		pickup_env_free(&e);
	}
	return 0;
}
