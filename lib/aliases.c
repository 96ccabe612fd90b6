/* aliases(5): parsing an aliases file and expanding a local part through it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "aliases.h"

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
	int		 line = 0, nerr = 0;

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
			if (n == 0)
				cur = NULL;	/* a blank line ends continuations */
			continue;
		}
		bad = NULL;
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
		}
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
