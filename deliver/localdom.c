/* Which domains go to the master for local delivery: local_domains, and the domains of virtual_maps read before chroot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "aliases.h"
#include "deliver.h"
#include "log.h"

static struct addr_map	vmap;
static char		vmap_path[DELIVER_PATH_MAX];

void
localdom_load(const struct config *conf)
{
	strlcpy(vmap_path, conf->virtual_maps, sizeof(vmap_path));
	addr_map_load_domains(conf->virtual_maps, &vmap, "deliver");
}

void
localdom_reload(const struct config *nc)
{
	if (strcmp(nc->virtual_maps, vmap_path) != 0)
		log_warn("deliver: virtual_maps changed: restart deliver (or "
		    "postern) for its domains to be delivered locally");
}

int
localdom_match(const struct config *conf, const char *domain)
{
	const struct route_conf *rc;

	if (!domain_list_match(&conf->local_domains, domain) &&
	    !addr_map_has_domain(&vmap, domain))
		return 0;
	/* a route of its own (LMTP to a mail store, say) wins; "*" does not */
	rc = config_route_for_domain(conf, domain);
	return rc == NULL || strcmp(rc->pattern, "*") == 0;
}
