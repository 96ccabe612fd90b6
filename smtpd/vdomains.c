/* smtpd: the domains of virtual_maps, read as root before chroot: mail for them is ours, not relaying. */
#include <string.h>

#include <bsd/string.h>

#include "aliases.h"
#include "log.h"
#include "smtpd.h"

static struct addr_map	vmap;
static char		vmap_path[1024];

void
vdomains_load(const struct config *conf)
{
	strlcpy(vmap_path, conf->virtual_maps, sizeof(vmap_path));
	addr_map_load_domains(conf->virtual_maps, &vmap, "smtpd");
}

void
vdomains_reload(const struct config *nc)
{
	if (strcmp(nc->virtual_maps, vmap_path) != 0)
		log_warn("smtpd: virtual_maps changed: restart postern for "
		    "smtpd to accept its domains");
}

int
vdomains_has(const char *domain)
{
	return addr_map_has_domain(&vmap, domain);
}
