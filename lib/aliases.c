/* aliases(5): parsing an aliases file and expanding a local part through it. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "aliases.h"
#include "config.h"
#include "log.h"

#define ALIAS_NAME_MAX	64

static int
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ALIAS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._+-", s[i]))
			return 0;
	return 1;
}

/* Splits a right-hand side at commas outside double quotes. */
static int
split_targets(const char *s, size_t n, struct strlist *out, const char **bad)
{
	size_t	 i = 0, st, en;
	int	 q;

	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		if (i >= n)
			break;
		st = i;
		for (q = 0; i < n && (q || s[i] != ','); i++)
			if (s[i] == '"')
				q = !q;
		if (q) {
			*bad = "unbalanced double quote";
			return -1;
		}
		en = i;
		while (en > st && (s[en - 1] == ' ' || s[en - 1] == '\t'))
			en--;
		if (en - st >= 2 && s[st] == '"' && s[en - 1] == '"')
			st++, en--;
		if (en == st)
			continue;
		if (memchr(s + st, '\0', en - st) != NULL) {
			*bad = "NUL byte";
			return -1;
		}
		if (strlist_add(out, s + st, en - st) == -1) {
			*bad = "out of memory";
			return -1;
		}
	}
	return 0;
}

static int
alias_cmp(const void *a, const void *b)
{
	return strcmp(((const struct alias *)a)->name,
	    ((const struct alias *)b)->name);
}

int
aliases_parse(const char *path, const char *text, size_t len, struct aliases *al,
    struct buf *err)
{
	const char	*p = text, *end = text + len, *nl, *colon, *bad;
	struct alias	*cur = NULL, *nv;
	size_t		 n, i, k;
	int		 line = 0, nerr = 0, skip = 0;

	al->v = NULL;
	al->n = 0;
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0 || p[0] == '#') {
			p = nl ? nl + 1 : end;
			if (n == 0) {
				cur = NULL;	/* a blank line ends continuations */
				skip = 0;
			}
			continue;
		}
		bad = NULL;
		if ((p[0] == ' ' || p[0] == '\t') && skip) {
			/* continues a line already reported: dropped with it */
			p = nl ? nl + 1 : end;
			continue;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			if (cur == NULL)
				bad = "continuation line without an alias";
			else
				(void)split_targets(p, n, &cur->targets, &bad);
		} else if ((colon = memchr(p, ':', n)) == NULL)
			bad = "expected 'name: target, ...'";
		else {
			k = (size_t)(colon - p);
			while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
				k--;
			if (!valid_name(p, k))
				bad = "bad alias name";
			else if ((nv = reallocarray(al->v, al->n + 1,
			    sizeof(*nv))) == NULL)
				bad = "out of memory";
			else {
				al->v = nv;
				cur = &al->v[al->n++];
				memset(cur, 0, sizeof(*cur));
				cur->line = line;
				if ((cur->name = strndup(p, k)) == NULL)
					bad = "out of memory";
				else {
					for (i = 0; cur->name[i]; i++)
						cur->name[i] = (char)tolower(
						    (unsigned char)cur->name[i]);
					(void)split_targets(colon + 1,
					    n - (size_t)(colon + 1 - p),
					    &cur->targets, &bad);
				}
			}
		}
		if (bad) {
			buf_appendf(err, "%s:%d: %s\n", path, line, bad);
			nerr++;
			/*
			 * An alias with a bad line is dropped whole, with the
			 * lines that continue it: a caller that keeps a file
			 * with errors must never deliver half an alias, nor
			 * hand a continuation to the alias before it.
			 */
			if (cur != NULL && al->n > 0 && cur == &al->v[al->n - 1] &&
			    (p[0] == ' ' || p[0] == '\t' || cur->line == line)) {
				free(cur->name);
				strlist_free(&cur->targets);
				al->n--;
			}
			cur = NULL;
			skip = 1;
		} else if (p[0] != ' ' && p[0] != '\t')
			skip = 0;
		p = nl ? nl + 1 : end;
	}
	if (al->n > 1)
		qsort(al->v, al->n, sizeof(*al->v), alias_cmp);
	for (i = 1; i < al->n; i++) {
		if (strcmp(al->v[i].name, al->v[i - 1].name) == 0) {
			buf_appendf(err, "%s:%d: alias '%s' already defined at "
			    "line %d\n", path, al->v[i].line, al->v[i].name,
			    al->v[i - 1].line);
			nerr++;
		}
	}
	return nerr ? -1 : 0;
}

void
aliases_free(struct aliases *al)
{
	size_t i;

	for (i = 0; i < al->n; i++) {
		free(al->v[i].name);
		strlist_free(&al->v[i].targets);
	}
	free(al->v);
	al->v = NULL;
	al->n = 0;
}

const struct alias *
aliases_find(const struct aliases *al, const char *name)
{
	struct alias	 key;
	char		 low[ALIAS_NAME_MAX + 1];
	size_t		 i;

	for (i = 0; name[i] && i < ALIAS_NAME_MAX; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	if (name[i] != '\0' || i == 0)
		return NULL;
	low[i] = '\0';
	key.name = low;
	return al->n ? bsearch(&key, al->v, al->n, sizeof(*al->v), alias_cmp) : NULL;
}

struct expand {
	const struct aliases	*al;
	int			 allow_pipe;
	aliases_include_fn	 inc;
	void			*arg;
	struct strlist		*out;
	struct buf		*err;
	const char		*seen[ALIASES_MAX_DEPTH + 1];
	int			 depth;
};

static int
add_result(struct expand *x, const char *s)
{
	size_t i;

	for (i = 0; i < x->out->n; i++)
		if (strcasecmp(x->out->v[i], s) == 0)
			return 0;	/* each recipient once */
	if (x->out->n >= ALIASES_MAX_RESULTS) {
		buf_appendf(x->err, "more than %d recipients", ALIASES_MAX_RESULTS);
		return -1;
	}
	return strlist_add(x->out, s, strlen(s));
}

static int expand_target(struct expand *, const char *);

static int
expand_list(struct expand *x, const struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (expand_target(x, l->v[i]) == -1)
			return -1;
	return 0;
}

static int
expand_target(struct expand *x, const char *t)
{
	const struct alias	*a;
	struct strlist		 inc = { NULL, 0 };
	int			 i, r;

	if (t[0] == '|') {
		if (!x->allow_pipe) {
			buf_appendf(x->err, "delivery to a command is not "
			    "allowed (%s)", t);
			return -1;
		}
		return add_result(x, t);
	}
	if (strncasecmp(t, ":include:", 9) == 0) {
		if (x->inc == NULL || x->depth >= ALIASES_MAX_DEPTH) {
			buf_appendf(x->err, "include %s not allowed here", t + 9);
			return -1;
		}
		if (x->inc(t + 9, &inc, x->arg) == -1) {
			buf_appendf(x->err, "cannot read include %s", t + 9);
			strlist_free(&inc);
			return -1;
		}
		/* ":include:..." never equals a name, so it never stops one */
		x->seen[x->depth++] = t;
		r = expand_list(x, &inc);
		x->depth--;
		strlist_free(&inc);
		return r;
	}
	if (t[0] == '/') {
		buf_appendf(x->err, "delivery to a file is not supported (%s)", t);
		return -1;
	}
	if (strchr(t, '@') != NULL)
		return add_result(x, t);
	/* a local name: an alias, unless we are already inside it */
	for (i = 0; i < x->depth; i++)
		if (strcasecmp(x->seen[i], t) == 0)
			return add_result(x, t);	/* "root: root, admin" */
	if ((a = aliases_find(x->al, t)) == NULL)
		return add_result(x, t);
	if (x->depth >= ALIASES_MAX_DEPTH) {
		buf_appendf(x->err, "aliases nested deeper than %d at %s",
		    ALIASES_MAX_DEPTH, t);
		return -1;
	}
	x->seen[x->depth++] = a->name;
	r = expand_list(x, &a->targets);
	x->depth--;
	return r;
}

int
aliases_expand(const struct aliases *al, const char *local, int allow_pipe,
    aliases_include_fn inc, void *arg, struct strlist *out, struct buf *err)
{
	struct expand x;

	memset(&x, 0, sizeof(x));
	x.al = al;
	x.allow_pipe = allow_pipe;
	x.inc = inc;
	x.arg = arg;
	x.out = out;
	x.err = err;
	return expand_target(&x, local);
}

int
aliases_strip_extension(const char *local, char delim, char *out, size_t outsz)
{
	const char *d = delim ? strchr(local, delim) : NULL;

	/* "+tag" alone, or a leading delimiter, is a name, not an extension */
	if (d == NULL || d == local) {
		strlcpy(out, local, outsz);
		return 0;
	}
	if ((size_t)(d - local) >= outsz)
		return -1;
	memcpy(out, local, (size_t)(d - local));
	out[d - local] = '\0';
	return 1;
}

/* ---- address maps: virtual_maps, relay_recipients ---- */

#define MAP_KEY_MAX	320	/* 64 octets of local part, @, 255 of domain */

/* "user@domain" or "@domain": one '@', a domain, no white space. */
static int
valid_map_key(const char *s, size_t n)
{
	const char	*at;
	size_t		 i;

	if (n == 0 || n > MAP_KEY_MAX || (at = memchr(s, '@', n)) == NULL ||
	    at == s + n - 1 || memchr(at + 1, '@', n - (size_t)(at + 1 - s)))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == ',' ||
		    s[i] == '"' || s[i] == '<' || s[i] == '>')
			return 0;
	return 1;
}

int
addr_map_parse(const char *path, const char *text, size_t len, int need_targets,
    struct addr_map *map, struct buf *err)
{
	const char	*p = text, *end = text + len, *nl, *bad;
	struct alias	*cur, *nv;
	size_t		 n, k, i;
	int		 line = 0, nerr = 0, added;

	map->v = NULL;
	map->n = 0;
	for (; p < end; p = nl ? nl + 1 : end) {
		added = 0;
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		while (n > 0 && (p[0] == ' ' || p[0] == '\t'))
			p++, n--;
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
		    p[n - 1] == '\t'))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		bad = NULL;
		for (k = 0; k < n && p[k] != ' ' && p[k] != '\t'; k++)
			;
		if (!valid_map_key(p, k))
			bad = "expected 'user@domain' or '@domain'";
		else if (!need_targets && k != n)
			bad = "one address or @domain per line";
		else if (need_targets && k == n)
			bad = "no target for this address";
		else if ((nv = reallocarray(map->v, map->n + 1,
		    sizeof(*nv))) == NULL)
			bad = "out of memory";
		else {
			map->v = nv;
			cur = &map->v[map->n++];
			memset(cur, 0, sizeof(*cur));
			cur->line = line;
			added = 1;
			if ((cur->name = strndup(p, k)) == NULL)
				bad = "out of memory";
			else {
				for (i = 0; cur->name[i]; i++)
					cur->name[i] = (char)tolower(
					    (unsigned char)cur->name[i]);
				if (k < n)
					(void)split_targets(p + k, n - k,
					    &cur->targets, &bad);
				if (bad == NULL && need_targets &&
				    cur->targets.n == 0)
					bad = "no target for this address";
				for (i = 0; bad == NULL &&
				    i < cur->targets.n; i++)
					if (cur->targets.v[i][0] == '|' ||
					    cur->targets.v[i][0] == '/' ||
					    cur->targets.v[i][0] == ':')
						bad = "targets are addresses "
						    "or local users only";
			}
		}
		if (bad) {
			buf_appendf(err, "%s:%d: %s\n", path, line, bad);
			nerr++;
			/* a caller may keep a map with errors: never this line */
			if (added) {
				cur = &map->v[--map->n];
				free(cur->name);
				strlist_free(&cur->targets);
			}
		}
	}
	if (map->n > 1)
		qsort(map->v, map->n, sizeof(*map->v), alias_cmp);
	for (i = 1; i < map->n; i++) {
		if (strcmp(map->v[i].name, map->v[i - 1].name) == 0) {
			buf_appendf(err, "%s:%d: '%s' already given at line %d\n",
			    path, map->v[i].line, map->v[i].name,
			    map->v[i - 1].line);
			nerr++;
		}
	}
	return nerr ? -1 : 0;
}

void
addr_map_free(struct addr_map *map)
{
	struct aliases al = { map->v, map->n };

	aliases_free(&al);
	map->v = NULL;
	map->n = 0;
}

static const struct alias *
map_lookup(const struct addr_map *map, const char *local, const char *domain)
{
	struct alias	 key;
	char		 k[MAP_KEY_MAX + 2];
	size_t		 i;
	int		 n;

	n = snprintf(k, sizeof(k), "%s@%s", local, domain);
	if (n < 0 || (size_t)n >= sizeof(k) || map->n == 0)
		return NULL;
	for (i = 0; k[i]; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	key.name = k;
	return bsearch(&key, map->v, map->n, sizeof(*map->v), alias_cmp);
}

const struct alias *
addr_map_find(const struct addr_map *map, const char *local, const char *domain)
{
	const struct alias *a;

	if (local != NULL && local[0] != '\0' &&
	    (a = map_lookup(map, local, domain)) != NULL)
		return a;
	return map_lookup(map, "", domain);
}

int
addr_map_has_domain(const struct addr_map *map, const char *domain)
{
	const char	*at;
	size_t		 i;

	for (i = 0; i < map->n; i++)
		if ((at = strchr(map->v[i].name, '@')) != NULL &&
		    strcasecmp(at + 1, domain) == 0)
			return 1;
	return 0;
}

void
addr_map_load_domains(const char *path, struct addr_map *map, const char *who)
{
	struct buf	 text, err;

	if (path[0] == '\0')
		return;
	buf_init(&text);
	buf_init(&err);
	if (config_read_file(path, &text) == -1)
		log_warn("%s: virtual_maps %s: %s; its domains are not ours", who,
		    path, strerror(errno));
	else if (addr_map_parse(path, text.p ? text.p : "", text.len, 1, map,
	    &err) == -1)
		log_warn("%s: virtual_maps %s has errors; its domains may be "
		    "incomplete", who, path);
	buf_free(&text);
	buf_free(&err);
}
