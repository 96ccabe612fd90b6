/* Unit tests: aliases(5) parsing, expansion, loops, includes, and +extensions. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aliases.h"

static const char text[] =
    "# the usual\n"
    "postmaster: root\n"
    "root: root, Admin\n"
    "admin: alice,\n"
    "\tbob@example.net\n"
    "staff: :include:/etc/postern/staff, carol\n"
    "Loop1: loop2\n"
    "loop2: loop1\n"
    "tickets: \"|/usr/bin/ticket --new\"\n"
    "quoted: \"a, b\"@example.com, dave\n";

static int
include_cb(const char *path, struct strlist *out, void *arg)
{
	(void)arg;
	if (strcmp(path, "/etc/postern/staff") != 0)
		return -1;
	out->v = calloc(2, sizeof(char *));
	out->v[0] = strdup("erin");
	out->v[1] = strdup("admin");
	out->n = 2;
	return 0;
}

static struct aliases al;

static int
setup(void **state)
{
	struct buf err;

	(void)state;
	buf_init(&err);
	if (aliases_parse("aliases", text, sizeof(text) - 1, &al, &err) == -1)
		return -1;
	buf_free(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	aliases_free(&al);
	return 0;
}

static char *
expand(const char *local, int pipe_ok, int *rc)
{
	static struct buf	 res;
	struct strlist		 out = { NULL, 0 };
	struct buf		 err;
	size_t			 i;

	buf_free(&res);
	buf_init(&err);
	*rc = aliases_expand(&al, local, pipe_ok, include_cb, NULL, &out, &err);
	for (i = 0; i < out.n; i++) {
		buf_appendf(&res, "%s%s", i ? " " : "", out.v[i]);
		free(out.v[i]);
	}
	free(out.v);
	if (*rc == -1)
		buf_appendf(&res, "!%s", buf_cstr(&err));
	buf_free(&err);
	return buf_cstr(&res) ? res.p : "";
}

static void
test_nested_aliases_and_self_reference(void **state)
{
	int rc;

	(void)state;
	assert_string_equal(expand("postmaster", 0, &rc), "root alice bob@example.net");
	assert_int_equal(rc, 0);
	assert_string_equal(expand("ROOT", 0, &rc), "root alice bob@example.net");
	assert_string_equal(expand("nobody-here", 0, &rc), "nobody-here");
}

static void
test_include_and_duplicates(void **state)
{
	int rc;

	(void)state;
	assert_string_equal(expand("staff", 0, &rc),
	    "erin alice bob@example.net carol");
	assert_int_equal(rc, 0);
}

static void
test_loops_end(void **state)
{
	int rc;

	(void)state;
	assert_string_equal(expand("loop1", 0, &rc), "loop1");
	assert_int_equal(rc, 0);
}

static void
test_pipes_only_when_allowed(void **state)
{
	int rc;

	(void)state;
	assert_string_equal(expand("tickets", 1, &rc), "|/usr/bin/ticket --new");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(expand("tickets", 0, &rc), "!delivery to a command is not allowed"));
	assert_int_equal(rc, -1);
}

static void
test_quoted_commas_stay_inside(void **state)
{
	int rc;

	(void)state;
	assert_string_equal(expand("quoted", 0, &rc), "\"a, b\"@example.com dave");
}

static void
test_errors_name_lines(void **state)
{
	struct aliases	 a2;
	struct buf	 err;
	const char	 bad[] = "ok: x\n\tcontinued\n\n\tdangling\nno colon here\n"
	    "b@d: x\nok: again\nq: \"open\n";

	(void)state;
	buf_init(&err);
	assert_int_equal(aliases_parse("al", bad, sizeof(bad) - 1, &a2, &err), -1);
	buf_cstr(&err);
	assert_non_null(strstr(err.p, "al:4: continuation line without an alias"));
	assert_non_null(strstr(err.p, "al:5: expected 'name: target, ...'"));
	assert_non_null(strstr(err.p, "al:6: bad alias name"));
	assert_non_null(strstr(err.p, "al:7: alias 'ok' already defined at line 1"));
	assert_non_null(strstr(err.p, "al:8: unbalanced double quote"));
	aliases_free(&a2);
	buf_free(&err);
}

static void
test_an_alias_with_a_bad_line_is_dropped_whole(void **state)
{
	struct aliases	 a2;
	struct buf	 err;
	const char	 bad[] = "first: x\n"
	    "b@d: evil\n\t|/bin/evil\n"
	    "half: y,\n\t\"open\n\tz\n"
	    "last: w\n";

	(void)state;
	buf_init(&err);
	assert_int_equal(aliases_parse("al", bad, sizeof(bad) - 1, &a2, &err), -1);
	/* the bad name's continuation neither errs nor lands in "first" */
	assert_int_equal(aliases_find(&a2, "first")->targets.n, 1);
	/* a bad continuation drops its alias, not only the line */
	assert_null(aliases_find(&a2, "half"));
	assert_non_null(aliases_find(&a2, "last"));
	assert_int_equal(a2.n, 2);
	aliases_free(&a2);
	buf_free(&err);
}

static void
test_extension_is_cut_at_the_delimiter(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(aliases_strip_extension("bob+lists", '+', out, sizeof(out)), 1);
	assert_string_equal(out, "bob");
	assert_int_equal(aliases_strip_extension("bob", '+', out, sizeof(out)), 0);
	assert_string_equal(out, "bob");
	assert_int_equal(aliases_strip_extension("+bob", '+', out, sizeof(out)), 0);
	assert_string_equal(out, "+bob");
	assert_int_equal(aliases_strip_extension("bob-x", '-', out, sizeof(out)), 1);
	assert_string_equal(out, "bob");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_aliases_and_self_reference),
		cmocka_unit_test(test_include_and_duplicates),
		cmocka_unit_test(test_loops_end),
		cmocka_unit_test(test_pipes_only_when_allowed),
		cmocka_unit_test(test_quoted_commas_stay_inside),
		cmocka_unit_test(test_errors_name_lines),
		cmocka_unit_test(test_an_alias_with_a_bad_line_is_dropped_whole),
		cmocka_unit_test(test_extension_is_cut_at_the_delimiter),
	};
	return cmocka_run_group_tests_name("lib_aliases", tests, setup, teardown);
}
