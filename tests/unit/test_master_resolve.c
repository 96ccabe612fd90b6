/* Unit tests: local recipients through virtual_maps, aliases, +extensions and the password file. */
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc.h"
#include "../../master/resolve.h"

static const char conf_text[] =
    "spool = /var/spool/postern\n"
    "local_domains = example.org\n"
    "relay_domains = example.net\n";

static const char alias_text[] =
    "postmaster: root\n"
    "root: alice\n"
    "team: alice, bob@example.org, friend@example.com, :include:/inc\n"
    "ghost: nobody-here\n"
    "half: alice, nobody-here\n"
    "prog: \"|/usr/bin/true\"\n"
    "broken: :include:/missing\n"
    "loop1: loop1@example.org, x@virt.test\n";

static const char vmap_text[] =
    "info@virt.test  alice\n"
    "sales@virt.test info@virt.test, far@example.com\n"
    "@catch.test     bob\n"
    "x@virt.test     loop1@example.org\n";

static const char relay_text[] = "bob@example.net\n@sub.example.net\n";

struct fx {
	struct config	*conf;
	struct aliases	 al;
	struct addr_map	 vm, rr;
	struct lres	 r;
	int		 pw_fail;
};

/* alice 1000, bob 1001, root 0; pw_fail makes every lookup fail */
static int
getpw(const char *user, uid_t *uid, void *arg)
{
	struct fx *f = arg;

	if (f->pw_fail)
		return -1;
	if (strcmp(user, "alice") == 0)
		*uid = 1000;
	else if (strcmp(user, "bob") == 0)
		*uid = 1001;
	else if (strcmp(user, "root") == 0)
		*uid = 0;
	else
		return 0;
	return 1;
}

static int	inc_calls;

static int
inc(const char *path, struct strlist *out, void *arg)
{
	(void)arg;
	inc_calls++;
	if (strcmp(path, "/inc") != 0)
		return -1;
	return strlist_add(out, "carol@example.net", 17);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	struct buf	 err;

	buf_init(&err);
	f->conf = config_parse_buf("t.conf", conf_text, strlen(conf_text), &err);
	assert_non_null(f->conf);
	if (aliases_parse("aliases", alias_text, strlen(alias_text), &f->al,
	    &err) == -1)
		fail_msg("%s", buf_cstr(&err));
	if (addr_map_parse("virtual", vmap_text, strlen(vmap_text), 1, &f->vm,
	    &err) == -1)
		fail_msg("%s", buf_cstr(&err));
	assert_int_equal(addr_map_parse("relay", relay_text, strlen(relay_text),
	    0, &f->rr, &err), 0);
	buf_free(&err);
	f->r.conf = f->conf;
	f->r.aliases = &f->al;
	f->r.vmap = &f->vm;
	f->r.relay = &f->rr;
	f->r.getpw = getpw;
	f->r.inc = inc;
	f->r.arg = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	config_free(f->conf);
	aliases_free(&f->al);
	addr_map_free(&f->vm);
	addr_map_free(&f->rr);
	free(f);
	return 0;
}

static int
resolve(struct fx *f, const char *addr, struct lres_out *o)
{
	lres_out_init(o);
	return lres_resolve(&f->r, addr, o);
}

static void
test_user_with_extension_is_the_user(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "alice+news@example.org", &o), LRES_OK);
	assert_int_equal(o.users.n, 1);
	assert_string_equal(o.users.v[0], "alice");
	lres_out_free(&o);
}

static void
test_alias_list_splits_into_users_and_addresses(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "Team@example.org", &o), LRES_OK);
	assert_int_equal(o.users.n, 2);
	assert_string_equal(o.users.v[0], "alice");
	assert_string_equal(o.users.v[1], "bob");
	assert_int_equal(o.remote.n, 2);
	assert_string_equal(o.remote.v[0], "friend@example.com");
	assert_string_equal(o.remote.v[1], "carol@example.net");
	lres_out_free(&o);
}

static void
test_unknown_user_is_550_5_1_1(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "nosuch@example.org", &o), LRES_UNKNOWN);
	assert_non_null(strstr(o.why, "550 5.1.1"));
	lres_out_free(&o);
	assert_int_equal(resolve(*state, "ghost@example.org", &o), LRES_UNKNOWN);
	lres_out_free(&o);
}

static void
test_alias_with_one_bad_member_still_delivers(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "half@example.org", &o), LRES_OK);
	assert_int_equal(o.users.n, 1);
	assert_int_equal(o.worst, LRES_UNKNOWN);
	lres_out_free(&o);
}

static void
test_root_goes_to_its_alias_never_to_root(void **state)
{
	struct fx	*f = *state;
	static struct aliases none = { NULL, 0 };
	struct lres_out	 o;

	assert_int_equal(resolve(f, "postmaster@example.org", &o), LRES_OK);
	assert_string_equal(o.users.v[0], "alice");
	lres_out_free(&o);
	f->r.aliases = &none;
	assert_int_equal(resolve(f, "root@example.org", &o), LRES_PERM);
	assert_non_null(strstr(o.why, "550 5.7.1"));
	lres_out_free(&o);
	f->r.aliases = &f->al;
}

static void
test_pipes_refused_unless_allowed(void **state)
{
	struct fx	*f = *state;
	struct lres_out	 o;

	assert_int_equal(resolve(f, "prog@example.org", &o), LRES_PERM);
	lres_out_free(&o);
	f->conf->allow_alias_pipes = 1;
	assert_int_equal(resolve(f, "prog@example.org", &o), LRES_OK);
	assert_string_equal(o.pipes.v[0], "|/usr/bin/true");
	lres_out_free(&o);
	f->conf->allow_alias_pipes = 0;
}

/*
 * A recipient's local part (from SMTP, or a word of a user's ~/.forward)
 * is a name, never an alias target: "|cmd@local" must not run a command,
 * ":include:/etc/shadow" in a .forward must not make root read the file
 * (its lines came back in the bounce), '"x@far"@local' must not relay.
 */
static void
test_address_is_never_a_pipe_include_or_file(void **state)
{
	static const char *const bad[] = {
		"|/usr/bin/true@example.org", "|touch${IFS}/tmp/x+y@example.org",
		"|/usr/bin/true", ":include:/inc", ":include:/inc@example.org",
		"/etc/passwd", "/tmp/x@example.org",
		"\"friend@example.com\"@example.org",
	};
	struct fx	*f = *state;
	struct lres_out	 o;
	char		 why[256];
	size_t		 i;
	int		 st;

	f->conf->allow_alias_pipes = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		inc_calls = 0;
		st = resolve(f, bad[i], &o);
		if (st == LRES_OK || o.pipes.n != 0 || o.remote.n != 0 ||
		    inc_calls != 0)
			fail_msg("%s: status %d, %zu pipes, %zu remote, %d "
			    "includes", bad[i], st, o.pipes.n, o.remote.n,
			    inc_calls);
		lres_out_free(&o);
		if (strchr(bad[i], '@') != NULL)
			assert_int_equal(lres_check(&f->r, bad[i], why,
			    sizeof(why)), RCPT_CHECK_UNKNOWN);
	}
	/* the administrator's own aliases still reach commands */
	assert_int_equal(resolve(f, "prog@example.org", &o), LRES_OK);
	assert_int_equal(o.pipes.n, 1);
	lres_out_free(&o);
	f->conf->allow_alias_pipes = 0;
}

static void
test_unreadable_include_is_temporary(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "broken@example.org", &o), LRES_TEMP);
	assert_non_null(strstr(o.why, "451 4.3.0"));
	lres_out_free(&o);
}

static void
test_failed_password_lookup_is_temporary(void **state)
{
	struct fx	*f = *state;
	struct lres_out	 o;

	f->pw_fail = 1;
	assert_int_equal(resolve(f, "alice@example.org", &o), LRES_TEMP);
	lres_out_free(&o);
	f->pw_fail = 0;
}

static void
test_virtual_map_entries_and_catch_all(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "info+x@virt.test", &o), LRES_OK);
	assert_string_equal(o.users.v[0], "alice");
	lres_out_free(&o);
	assert_int_equal(resolve(*state, "sales@virt.test", &o), LRES_OK);
	assert_string_equal(o.users.v[0], "alice");
	assert_string_equal(o.remote.v[0], "far@example.com");
	lres_out_free(&o);
	assert_int_equal(resolve(*state, "anyone@catch.test", &o), LRES_OK);
	assert_string_equal(o.users.v[0], "bob");
	lres_out_free(&o);
	/* a virtual domain without a catch-all knows only its entries */
	assert_int_equal(resolve(*state, "other@virt.test", &o), LRES_UNKNOWN);
	lres_out_free(&o);
}

static void
test_map_loop_ends_in_5_4_6(void **state)
{
	struct lres_out o;

	assert_int_equal(resolve(*state, "x@virt.test", &o), LRES_PERM);
	assert_non_null(strstr(o.why, "5.4.6"));
	lres_out_free(&o);
}

static void
test_rcpt_check_answers(void **state)
{
	struct fx	*f = *state;
	char		 why[256];

	assert_int_equal(lres_check(&f->r, "alice+x@example.org", why,
	    sizeof(why)), RCPT_CHECK_OK);
	assert_int_equal(lres_check(&f->r, "nosuch@example.org", why,
	    sizeof(why)), RCPT_CHECK_UNKNOWN);
	assert_int_equal(lres_check(&f->r, "info@virt.test", why,
	    sizeof(why)), RCPT_CHECK_OK);
	assert_int_equal(lres_check(&f->r, "bob@example.net", why,
	    sizeof(why)), RCPT_CHECK_OK);
	assert_int_equal(lres_check(&f->r, "eve@example.net", why,
	    sizeof(why)), RCPT_CHECK_UNKNOWN);
	assert_int_equal(lres_check(&f->r, "broken@example.org", why,
	    sizeof(why)), RCPT_CHECK_TEMPFAIL);
	/* without relay_recipients every relay recipient is fine */
	f->r.relay = NULL;
	assert_int_equal(lres_check(&f->r, "eve@example.net", why,
	    sizeof(why)), RCPT_CHECK_OK);
	f->r.relay = &f->rr;
}

static void
test_map_parser_rejects_bad_lines(void **state)
{
	struct addr_map	 m;
	struct buf	 err;
	const char	*t = "nodomain target\n@x.test\nok@x.test |cmd\n"
			    "a@x.test b\nA@X.test c\n";

	(void)state;
	buf_init(&err);
	assert_int_equal(addr_map_parse("v", t, strlen(t), 1, &m, &err), -1);
	assert_non_null(strstr(buf_cstr(&err), "v:1:"));
	assert_non_null(strstr(buf_cstr(&err), "v:2:"));
	assert_non_null(strstr(buf_cstr(&err), "v:3:"));
	assert_non_null(strstr(buf_cstr(&err), "already given"));
	/* the master keeps a broken map read at start: a refused line must
	 * not be in it ("|cmd" would run with allow_alias_pipes = no) */
	assert_null(addr_map_find(&m, "ok", "x.test"));
	assert_non_null(addr_map_find(&m, "a", "x.test"));
	addr_map_free(&m);
	buf_reset(&err);
	assert_int_equal(addr_map_parse("r", "a@b.test extra\n", 15, 0, &m,
	    &err), -1);
	addr_map_free(&m);
	buf_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_with_extension_is_the_user),
		cmocka_unit_test(test_alias_list_splits_into_users_and_addresses),
		cmocka_unit_test(test_unknown_user_is_550_5_1_1),
		cmocka_unit_test(test_alias_with_one_bad_member_still_delivers),
		cmocka_unit_test(test_root_goes_to_its_alias_never_to_root),
		cmocka_unit_test(test_pipes_refused_unless_allowed),
		cmocka_unit_test(test_address_is_never_a_pipe_include_or_file),
		cmocka_unit_test(test_unreadable_include_is_temporary),
		cmocka_unit_test(test_failed_password_lookup_is_temporary),
		cmocka_unit_test(test_virtual_map_entries_and_catch_all),
		cmocka_unit_test(test_map_loop_ends_in_5_4_6),
		cmocka_unit_test(test_rcpt_check_answers),
		cmocka_unit_test(test_map_parser_rejects_bad_lines),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
