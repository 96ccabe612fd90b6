/* Fuzz target: virtual_maps and relay_recipients parsing, and lookups of every key. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aliases.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_map	 map;
	struct buf	 err;
	char		 local[400];
	const char	*at;
	size_t		 i, n;
	int		 kind;

	for (kind = 0; kind < 2; kind++) {
		buf_init(&err);
		(void)addr_map_parse("fuzz", (const char *)data, size, kind, &map,
		    &err);
		for (i = 0; i < map.n && i < 50; i++) {
			if ((at = strchr(map.v[i].name, '@')) == NULL)
				__builtin_trap();	/* every key has a domain */
			n = (size_t)(at - map.v[i].name);
			if (n >= sizeof(local))
				continue;
			memcpy(local, map.v[i].name, n);
			local[n] = '\0';
			if (addr_map_find(&map, local, at + 1) == NULL ||
			    !addr_map_has_domain(&map, at + 1))
				__builtin_trap();	/* a key finds itself */
		}
		addr_map_free(&map);
		buf_free(&err);
	}
	return 0;
}
