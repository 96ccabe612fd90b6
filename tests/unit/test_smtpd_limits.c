/* Unit tests for smtpd/limits.c: connection control at accept. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd.h"
#include "log.h"

static const char conf_text[] =
    "hostname = mx.test\n"
    "spool = /nonexistent\n"
    "trusted_networks = 192.0.2.0/24\n"
    "listener mx {\n\tlisten = 127.0.0.1:25\n"
    "\tmax_sessions = 5\n\tmax_sessions_per_ip = 2\n"
    "\tmax_connection_rate = 3\n"
    "\tclient_deny = 203.0.113.0/24\n}\n"
    "listener open {\n\tlisten = 127.0.0.1:26\n"
    "\tclient_allow = 198.51.100.0/24 2001:db8::/32\n}\n";

struct fixture {
	struct smtpd		 env;
	struct listener		 l[2];
};

static struct sockaddr_storage ss;

static const struct sockaddr *
ip(const char *text)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return (struct sockaddr *)&ss;
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	struct config	*conf;
	struct buf	 err;
	int		 i;

	assert_non_null(f);
	log_set_level(LOG_LVL_ERR);
	buf_init(&err);
	conf = config_parse_buf("t.conf", conf_text, sizeof(conf_text) - 1, &err);
	if (conf == NULL)
		fail_msg("config: %s", buf_cstr(&err));
	buf_free(&err);
	server_init(&f->env, NULL, conf);
	for (i = 0; i < 2; i++) {
		f->l[i].env = &f->env;
		f->l[i].index = (uint32_t)i;
		server_listener_config(&f->l[i], conf);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	server_listener_clear(&f->l[0]);
	server_listener_clear(&f->l[1]);
	limits_free(&f->env);
	config_free(f->env.conf);
	free(f);
	return 0;
}

static void
test_deny_and_allow_lists_are_554(void **state)
{
	struct fixture	*f = *state;
	int		 c;

	assert_int_equal(limits_check(&f->env, &f->l[0], ip("203.0.113.9"),
	    1000, &c), LIMIT_DENIED);
	assert_int_equal(limits_check(&f->env, &f->l[1], ip("203.0.113.9"),
	    1000, &c), LIMIT_DENIED);
	assert_int_equal(limits_check(&f->env, &f->l[1], ip("198.51.100.9"),
	    1000, &c), LIMIT_OK);
	assert_int_equal(limits_check(&f->env, &f->l[1], ip("2001:db8::1"),
	    1000, &c), LIMIT_OK);
	assert_int_equal(strncmp(limits_reply(LIMIT_DENIED), "554 5.7.1 ", 10), 0);
	assert_int_equal(strncmp(limits_reply(LIMIT_RATE), "421 4.7.0 ", 10), 0);
}

static void
test_sessions_per_ip_count_until_released(void **state)
{
	struct fixture	*f = *state;
	int		 c1, c2, c3;

	assert_int_equal(limits_check(&f->env, &f->l[0], ip("198.51.100.1"),
	    1000, &c1), LIMIT_OK);
	assert_true(c1);
	assert_int_equal(limits_check(&f->env, &f->l[0], ip("198.51.100.1"),
	    1000, &c2), LIMIT_OK);
	assert_int_equal(limits_check(&f->env, &f->l[0], ip("198.51.100.1"),
	    1000, &c3), LIMIT_PER_IP);
	/* an IPv4-mapped IPv6 client is the same client */
	assert_int_equal(limits_check(&f->env, &f->l[0],
	    ip("::ffff:198.51.100.1"), 1000, &c3), LIMIT_PER_IP);
	/* the other listener counts on its own */
	assert_int_equal(limits_check(&f->env, &f->l[1], ip("198.51.100.1"),
	    1000, &c3), LIMIT_OK);
	limits_release(&f->env, &f->l[0], ip("198.51.100.1"), c1);
	assert_int_equal(limits_check(&f->env, &f->l[0], ip("198.51.100.1"),
	    1000, &c1), LIMIT_OK);
}

static void
test_connection_rate_is_per_minute(void **state)
{
	struct fixture	*f = *state;
	int		 c, i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(limits_check(&f->env, &f->l[0],
		    ip("198.51.100.2"), 1000, &c), LIMIT_OK);
		limits_release(&f->env, &f->l[0], ip("198.51.100.2"), c);
	}
	assert_int_equal(limits_check(&f->env, &f->l[0], ip("198.51.100.2"),
	    1030, &c), LIMIT_RATE);
	/* a new window */
	assert_int_equal(limits_check(&f->env, &f->l[0], ip("198.51.100.2"),
	    1060, &c), LIMIT_OK);
}

static void
test_trusted_clients_are_not_counted_per_ip(void **state)
{
	struct fixture	*f = *state;
	int		 c, i;

	for (i = 0; i < 5; i++) {
		assert_int_equal(limits_check(&f->env, &f->l[0],
		    ip("192.0.2.1"), 1000, &c), LIMIT_OK);
		assert_false(c);
	}
	/* but max_sessions (5) holds for everyone */
	assert_int_equal(limits_check(&f->env, &f->l[0], ip("192.0.2.1"),
	    1000, &c), LIMIT_SESSIONS);
	limits_release(&f->env, &f->l[0], ip("192.0.2.1"), 0);
	assert_int_equal(f->l[0].nsessions, 4);
}

#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_deny_and_allow_lists_are_554),
		T(test_sessions_per_ip_count_until_released),
		T(test_connection_rate_is_per_minute),
		T(test_trusted_clients_are_not_counted_per_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
