/* aliases(5): parsing and expansion of local aliases, shared by whoever resolves local recipients. */
#ifndef POSTERN_ALIASES_H
#define POSTERN_ALIASES_H

#include <stddef.h>

#include "buf.h"
#include "config.h"

#define ALIASES_MAX_DEPTH	20	/* nested aliases and includes */
#define ALIASES_MAX_RESULTS	1000	/* final recipients of one expansion */

struct alias {
	char		*name;		/* lower case */
	int		 line;
	struct strlist	 targets;	/* as written, unquoted */
};

struct aliases {
	struct alias	*v;		/* sorted by name */
	size_t		 n;
};

/* Parses the text of an aliases file ("name: a, b, :include:/f, |cmd",
 * continuation lines begin with white space, '#' comments). Errors
 * ("file:line: ...") are appended to err; -1 if there was any. */
int	aliases_parse(const char *path, const char *text, size_t len,
	    struct aliases *, struct buf *err);
void	aliases_free(struct aliases *);
const struct alias *aliases_find(const struct aliases *, const char *name);

/* Reads an :include: file's targets (one or more per line, as in an
 * alias's right-hand side); -1 when it cannot be read. */
typedef int (*aliases_include_fn)(const char *path, struct strlist *out,
    void *arg);

/*
 * Expands a local part: the final recipients are appended to out, each
 * either a local user name (no '@'), an address ("u@d"), or a "|command"
 * when allow_pipe is set. An alias that names itself means the user of that
 * name. Loops are broken, depth and result count bounded. -1 with a reason
 * in err on a loop-free error (pipe not allowed, include unreadable, too
 * many results); the caller decides between bounce and retry.
 */
int	aliases_expand(const struct aliases *, const char *local, int allow_pipe,
	    aliases_include_fn, void *arg, struct strlist *out, struct buf *err);

/* "user+tag" -> "user" with delimiter '+'; returns 1 if a tag was cut. */
int	aliases_strip_extension(const char *local, char delim, char *out,
	    size_t outsz);

/*
 * Address maps (issue 8): virtual_maps ("user@domain  target, target" and
 * "@domain  target" catch-alls) and relay_recipients (one "user@domain"
 * or "@domain" per line, no targets). Keys are kept lower case; '#'
 * starts a comment line.
 */
struct addr_map {
	struct alias	*v;		/* name = the key; sorted */
	size_t		 n;
};

/* need_targets: 1 for virtual_maps (a key without targets is an error),
 * 0 for relay_recipients (targets are an error). -1 if any line was bad. */
int	addr_map_parse(const char *path, const char *text, size_t len,
	    int need_targets, struct addr_map *, struct buf *err);
void	addr_map_free(struct addr_map *);
/* The entry for "local@domain", else the "@domain" catch-all, else NULL.
 * local NULL: only the catch-all. */
const struct alias *addr_map_find(const struct addr_map *, const char *local,
	    const char *domain);
/* 1 when some key of the map is in domain. */
int	addr_map_has_domain(const struct addr_map *, const char *domain);
/*
 * Reads a virtual_maps file for its domains (smtpd and deliver do, as root
 * before chroot; the master checks its entries and owner). Problems are
 * logged under who; what could be read is kept.
 */
void	addr_map_load_domains(const char *path, struct addr_map *,
	    const char *who);

#endif
