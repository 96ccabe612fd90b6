/* Fuzz target: the postern.conf parser, CIDR and host:port parsing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 err;
	struct config	*c;
	struct cidr	 cidr;
	char		*s, host[256];
	uint16_t	 port;
	int		 br;

	buf_init(&err);
	c = config_parse_buf("fuzz.conf", (const char *)data, size, &err);
	if (c != NULL) {
		(void)config_route_for_domain(c, "a.example.com");
		(void)domain_list_match(&c->local_domains, "example.org");
	}
	config_free(c);
	buf_free(&err);

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)cidr_parse(s, &cidr);
	(void)hostport_parse(s, host, sizeof(host), &port, &br, 25);
	free(s);
	return 0;
}
