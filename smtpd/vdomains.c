/* smtpd: the domains of virtual_maps, read as root before chroot: mail for them is ours, not relaying. */
#include <errno.h>
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
	struct buf	 text, err;

	strlcpy(vmap_path, conf->virtual_maps, sizeof(vmap_path));
	if (conf->virtual_maps[0] == '\0')
		return;
	buf_init(&text);
	buf_init(&err);
	/* only the domains matter here; the master answers for each address */
	if (config_read_file(conf->virtual_maps, &text) == -1)
		log_warn("smtpd: virtual_maps %s: %s; its domains are not "
		    "accepted", conf->virtual_maps, strerror(errno));
	else if (addr_map_parse(conf->virtual_maps, text.p ? text.p : "",
	    text.len, 1, &vmap, &err) == -1)
		log_warn("smtpd: virtual_maps %s has errors; its domains may "
		    "be incomplete", conf->virtual_maps);
	buf_free(&text);
	buf_free(&err);
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
