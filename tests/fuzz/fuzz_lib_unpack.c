/* Fuzz target: the binary decoder every IPC payload and spool record goes through. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "pack.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack	 u;
	uint32_t	 n, i;
	uint64_t	 v;
	char		*s;
	const void	*p;
	size_t		 len;

	/* the shape of IPC_MSG_BEGIN: u64, str, str, str, u32 n, n x str */
	unpack_init(&u, data, size);
	unpack_u64(&u, &v);
	for (i = 0; i < 3; i++) {
		if (unpack_str(&u, &s, 1024) == 0)
			free(s);
	}
	if (unpack_u32(&u, &n) == 0) {
		for (i = 0; i < n && i < 1000; i++) {
			if (unpack_str(&u, &s, 512) == -1)
				break;
			free(s);
		}
	}
	(void)unpack_done(&u);
	unpack_init(&u, data, size);
	while (unpack_bytes(&u, &p, &len, 65536) == 0)
		;
	return 0;
}
