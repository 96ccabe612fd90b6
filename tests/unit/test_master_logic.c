/* Unit tests: the master's restart backoff, child argv, listen addresses and their config errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "config.h"
#include "../../master/master.h"

static void
test_backoff_doubles_from_one_second_to_a_minute(void **state)
{
	unsigned	 d = 0;
	unsigned	 want[] = { 1, 2, 4, 8, 16, 32, 60, 60, 60 };
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d = supervise_backoff(d, 0);
		assert_int_equal(d, want[i]);
	}
}

static void
test_backoff_resets_after_a_minute_of_running(void **state)
{
	(void)state;
	assert_int_equal(supervise_backoff(60, 59), 60);
	assert_int_equal(supervise_backoff(60, 60), 1);
	assert_int_equal(supervise_backoff(8, 3600), 1);
	assert_int_equal(supervise_backoff(0, 3600), 1);
}

static void
test_argv_has_absolute_config_and_debug_flag(void **state)
{
	char	*argv[5];

	(void)state;
	assert_int_equal(supervise_argv(argv, 5, "postern-smtpd",
	    "/etc/postern/postern.conf", 1), 0);
	assert_string_equal(argv[0], "postern-smtpd");
	assert_string_equal(argv[1], "-f");
	assert_string_equal(argv[2], "/etc/postern/postern.conf");
	assert_string_equal(argv[3], "-d");
	assert_null(argv[4]);
	assert_int_equal(supervise_argv(argv, 5, "postern-queue", "/x.conf",
	    0), 0);
	assert_null(argv[3]);
}

static void
test_argv_refuses_relative_config_and_small_array(void **state)
{
	char	*argv[5];

	(void)state;
	/* a child chroots: a relative path would name another file */
	assert_int_equal(supervise_argv(argv, 5, "postern-smtpd",
	    "etc/postern.conf", 0), -1);
	assert_int_equal(supervise_argv(argv, 4, "postern-smtpd", "/x", 0), -1);
}

static void
test_prog_path_joins_and_refuses_slashes(void **state)
{
	char	 p[32];

	(void)state;
	assert_int_equal(supervise_prog_path(p, sizeof(p), "/usr/libexec",
	    "postern-smtpd"), 0);
	assert_string_equal(p, "/usr/libexec/postern-smtpd");
	assert_int_equal(supervise_prog_path(p, sizeof(p), "/a", "../sh"), -1);
	assert_int_equal(supervise_prog_path(p, 10, "/usr/libexec",
	    "postern-smtpd"), -1);
}

static void
test_listen_addr_accepts_v4_and_bracketed_v6(void **state)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sl;

	(void)state;
	assert_int_equal(setup_listen_addr("127.0.0.1:2525", &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 2525);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(sl, sizeof(struct sockaddr_in));

	assert_int_equal(setup_listen_addr("0.0.0.0:25", &ss, &sl), 0);
	assert_int_equal(sin->sin_addr.s_addr, 0);

	assert_int_equal(setup_listen_addr("[::1]:587", &ss, &sl), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 587);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	assert_int_equal(setup_listen_addr("[::]:25", &ss, &sl), 0);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
}

static void
test_listen_addr_refuses_names_missing_ports_and_bare_v6(void **state)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	(void)state;
	assert_int_equal(setup_listen_addr("mail.example.org:25", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("localhost:25", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("127.0.0.1", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("127.0.0.1:0", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("127.0.0.1:65536", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("::1:25", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("[::1]", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("[::1]:x", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("", &ss, &sl), -1);
	/* inet_aton shorthands name a different address than they seem */
	assert_int_equal(setup_listen_addr("1.2.3:25", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("127.1:25", &ss, &sl), -1);
	assert_int_equal(setup_listen_addr("[127.0.0.1]:25", &ss, &sl), 0);
}

static void
test_named_listen_address_is_an_error_with_file_and_line(void **state)
{
	const char	*text = "spool = /var/spool/postern\n"
	    "listener mx {\n"
	    "\tlisten = 127.0.0.1:25 mail.example.org:25\n"
	    "}\n";
	struct config	*c;
	struct buf	 err;

	(void)state;
	buf_init(&err);
	/* the config parser refuses it, so the master never tries to bind it */
	c = config_parse_buf("p.conf", text, strlen(text), &err);
	assert_null(c);
	assert_non_null(strstr(buf_cstr(&err), "p.conf:2: listener mx: listen: "
	    "'mail.example.org:25' is not address:port"));
	buf_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_from_one_second_to_a_minute),
		cmocka_unit_test(test_backoff_resets_after_a_minute_of_running),
		cmocka_unit_test(test_argv_has_absolute_config_and_debug_flag),
		cmocka_unit_test(test_argv_refuses_relative_config_and_small_array),
		cmocka_unit_test(test_prog_path_joins_and_refuses_slashes),
		cmocka_unit_test(test_listen_addr_accepts_v4_and_bracketed_v6),
		cmocka_unit_test(test_listen_addr_refuses_names_missing_ports_and_bare_v6),
		cmocka_unit_test(test_named_listen_address_is_an_error_with_file_and_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
