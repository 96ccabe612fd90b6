/* SIGHUP: re-read the config, keep the old one if the new one is wrong, pass it on. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "localjob.h"
#include "log.h"
#include "policy.h"
#include "master.h"
#include "tls.h"

/* The sockets are bound once, as root: new addresses need a restart. */
static int
listeners_changed(const struct master *m, const struct config *nc)
{
	size_t i, j, n = 0;

	for (i = 0; i < nc->nlisteners; i++) {
		for (j = 0; j < nc->listeners[i].listen.n; j++, n++) {
			if (n >= m->nsocks || m->socks[n].index != i ||
			    strcmp(m->socks[n].addr,
			    nc->listeners[i].listen.v[j]) != 0)
				return 1;
		}
	}
	return n != m->nsocks;
}

static void
log_errors(struct buf *err)
{
	char	*s, *nl;

	if (buf_cstr(err) == NULL)
		return;
	for (s = err->p; *s != '\0'; s = nl + 1) {
		if ((nl = strchr(s, '\n')) == NULL) {
			log_err("%s", s);
			break;
		}
		*nl = '\0';
		log_err("%s", s);
	}
}

static void
warn_restart(const char *what, const char *old, const char *new)
{
	if (strcmp(old, new) != 0)
		log_warn("reload: %s changed ('%s' -> '%s'); it takes effect "
		    "when postern is restarted", what, old, new);
}

void
master_warn_open_relay(const struct config *c, FILE *fp)
{
	struct buf	 w;
	char		*line, *next;

	buf_init(&w);
	if (policy_open_relay_warnings(c, &w) > 0 && buf_cstr(&w) != NULL)
		for (line = w.p; *line != '\0'; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			else
				next = line + strlen(line);
			if (fp != NULL)
				fprintf(fp, "postern: warning: %s\n", line);
			else
				log_warn("%s", line);
		}
	buf_free(&w);
}

void
reload_config(struct master *m)
{
	struct config	*nc;
	struct buf	 text, err;
	struct tls_keys	 nkeys = { NULL, 0 };

	log_info("reloading %s", m->conf_path);
	buf_init(&text);
	buf_init(&err);
	/* parse exactly the bytes the children will get */
	if (config_read_file(m->conf_path, &text) == -1) {
		log_errno("reload: cannot read %s; keeping the running "
		    "configuration", m->conf_path);
		goto done;
	}
	nc = config_parse_buf(m->conf_path, text.p ? text.p : "", text.len, &err);
	if (nc != NULL && (tls_check_config(nc, &err) > 0 ||
	    tls_load_keys(nc, &nkeys) == -1)) {
		config_free(nc);
		nc = NULL;
	}
	if (nc == NULL) {
		log_errors(&err);
		log_err("reload: %s has errors; keeping the running "
		    "configuration", m->conf_path);
		goto done;
	}
	/*
	 * smtpd applies a listener's settings by its index in the file: with
	 * listeners added, removed or moved, the settings would land on the
	 * wrong sockets. Such a change needs a restart; keep what runs.
	 */
	if (listeners_changed(m, nc)) {
		log_err("reload: listeners were added, removed or moved; keeping "
		    "the running configuration (restart postern for that change)");
		config_free(nc);
		tls_keys_free(&nkeys);
		goto done;
	}
	warn_restart("spool", m->conf->spool, nc->spool);
	warn_restart("admin_group", m->conf->admin_group, nc->admin_group);
	warn_restart("libexec_dir", m->conf->libexec_dir, nc->libexec_dir);
	if (getenv("POSTERN_DEBUG") == NULL || strcmp(getenv("POSTERN_DEBUG"),
	    "1") != 0)
		log_set_level((enum log_level)nc->log_level);
	config_free(m->conf);
	m->conf = nc;
	/* a child (re)started from now on gets this text */
	buf_free(&m->conf_text);
	m->conf_text = text;
	buf_init(&text);
	(void)localjob_load_maps(m, 1);
	master_warn_open_relay(m->conf, NULL);
	supervise_send_config(m, &m->conf_text);
	/* renewed certificates and keys take effect on reload */
	tls_keys_free(&m->keys);
	m->keys = nkeys;
	if (m->child[PROC_SMTPD].chan != NULL)
		(void)tls_send_certs(m->conf, m->child[PROC_SMTPD].chan);
	log_info("reloaded %s", m->conf_path);
done:
	buf_free(&text);
	buf_free(&err);
}
