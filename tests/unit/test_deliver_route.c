/* Unit tests: route choice (routes, relayhost, MX) and MX ordering. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include "../../deliver/deliver.h"

static struct config *
conf(const char *text)
{
	struct config	*c;
	struct buf	 err;

	buf_init(&err);
	c = config_parse_buf("test.conf", text, strlen(text), &err);
	if (c == NULL)
		fprintf(stderr, "%s\n", buf_cstr(&err));
	assert_non_null(c);
	buf_free(&err);
	return c;
}

static const char routes[] =
    "hostname = mx.test\n"
    "remote_port = 2526\n"
    "route \"inside.example\" {\n\tvia = [192.0.2.5]:2525\n}\n"
    "route \"*.partner.example\" {\n\tvia = smtp.partner.example:587\n}\n"
    "route \"named.example\" {\n\tvia = [relay.example]\n}\n"
    "route \"direct.example\" {\n\tvia = mx\n}\n";

static void
test_bracketed_ip_route_skips_dns(void **state)
{
	struct config		*c = conf(routes);
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "inside.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_ADDR);
	assert_string_equal(h.host, "192.0.2.5");
	assert_int_equal(h.port, 2525);
	assert_false(h.recipient_domain);
	config_free(c);
}

static void
test_host_port_route_looks_up_mx_of_host(void **state)
{
	struct config		*c = conf(routes);
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "a.partner.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_MX);
	assert_string_equal(h.host, "smtp.partner.example");
	assert_int_equal(h.port, 587);
	/* NXDOMAIN for a configured host is the admin's error, no bounce */
	assert_false(h.recipient_domain);
	config_free(c);
}

static void
test_bracketed_name_route_looks_up_addresses_only(void **state)
{
	struct config		*c = conf(routes);
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "named.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_HOST);
	assert_string_equal(h.host, "relay.example");
	assert_int_equal(h.port, 25);
	config_free(c);
}

static void
test_no_route_is_mx_of_domain_on_remote_port(void **state)
{
	struct config		*c = conf(routes);
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "elsewhere.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_MX);
	assert_string_equal(h.host, "elsewhere.example");
	assert_int_equal(h.port, 2526);
	assert_true(h.recipient_domain);
	config_free(c);
}

static void
test_relayhost_applies_without_route_but_mx_route_wins(void **state)
{
	struct config		*c;
	struct route_hop	 h;
	char			 err[128], text[1024];

	snprintf(text, sizeof(text), "%srelayhost = [10.1.2.3]:587\n", routes);
	c = conf(text);
	assert_int_equal(route_choose(c, "elsewhere.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_ADDR);
	assert_string_equal(h.host, "10.1.2.3");
	assert_int_equal(h.port, 587);
	assert_int_equal(route_choose(c, "direct.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_MX);
	assert_string_equal(h.host, "direct.example");
	assert_int_equal(h.port, 2526);
	assert_true(h.recipient_domain);
	config_free(c);
}

static void
test_relayhost_name_without_brackets_is_mx_lookup(void **state)
{
	struct config		*c;
	struct route_hop	 h;
	char			 err[128];

	c = conf("hostname = mx.test\nrelayhost = smart.example\n");
	assert_int_equal(route_choose(c, "x.example", &h, err, sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_MX);
	assert_string_equal(h.host, "smart.example");
	assert_int_equal(h.port, 25);
	assert_false(h.recipient_domain);
	config_free(c);
}

static void
test_address_literal_domains(void **state)
{
	struct config		*c = conf("hostname = mx.test\n");
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "[192.0.2.1]", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_ADDR);
	assert_string_equal(h.host, "192.0.2.1");
	assert_int_equal(route_choose(c, "[IPv6:2001:db8::1]", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_ADDR);
	assert_string_equal(h.host, "2001:db8::1");
	assert_int_equal(route_choose(c, "[2001:db8::1]", &h, err,
	    sizeof(err)), -2);
	assert_int_equal(route_choose(c, "[not.an.ip]", &h, err,
	    sizeof(err)), -2);
	config_free(c);
}

static void
test_mx_order_sorts_and_drops_null_mx(void **state)
{
	struct mx_host	 v[5];
	size_t		 n, i;
	int		 all_null, seen_a = 0, seen_b = 0;

	for (i = 0; i < 200; i++) {
		memset(v, 0, sizeof(v));
		v[0].pref = 20; strcpy(v[0].name, "c");
		v[1].pref = 10; strcpy(v[1].name, "a");
		v[2].pref = 0; strcpy(v[2].name, "");
		v[3].pref = 10; strcpy(v[3].name, "b");
		v[4].pref = 30; strcpy(v[4].name, "d");
		n = route_mx_order(v, 5, 10, &all_null);
		assert_int_equal(n, 4);
		assert_false(all_null);
		assert_int_equal(v[0].pref, 10);
		assert_int_equal(v[1].pref, 10);
		assert_string_equal(v[2].name, "c");
		assert_string_equal(v[3].name, "d");
		if (strcmp(v[0].name, "a") == 0)
			seen_a = 1;
		else
			seen_b = 1;
	}
	/* equal preferences are shuffled */
	assert_true(seen_a && seen_b);
}

static void
test_mx_order_only_null_mx_and_cap(void **state)
{
	struct mx_host	 v[3];
	int		 all_null;
	size_t		 i;

	memset(v, 0, sizeof(v));
	assert_int_equal(route_mx_order(v, 1, 10, &all_null), 0);
	assert_true(all_null);
	assert_int_equal(route_mx_order(v, 0, 10, &all_null), 0);
	assert_false(all_null);
	for (i = 0; i < 3; i++) {
		v[i].pref = (uint32_t)i;
		snprintf(v[i].name, sizeof(v[i].name), "h%zu", i);
	}
	assert_int_equal(route_mx_order(v, 3, 2, &all_null), 2);
	assert_string_equal(v[0].name, "h0");
	assert_string_equal(v[1].name, "h1");
}

static const char lmtp_routes[] =
    "hostname = mx.test\n"
    "route \"tcp.example\" {\n\tvia = lmtp:127.0.0.1:2424\n}\n"
    "route \"named.example\" {\n\tvia = lmtp:inside.example:24\n}\n"
    "route \"sock.example\" {\n\tvia = lmtp:unix:/run/dovecot/lmtp\n}\n"
    "route \"auth.example\" {\n\tvia = [smart.example]:587\n\ttls = verify\n"
    "\tauth_user = relay\n\tauth_password_file = /etc/postern/relay.pw\n}\n";

static void
test_lmtp_routes_name_tcp_and_unix_next_hops(void **state)
{
	struct config		*c = conf(lmtp_routes);
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "tcp.example", &h, err, sizeof(err)), 0);
	assert_true(h.lmtp);
	assert_int_equal(h.kind, HOP_ADDR);
	assert_string_equal(h.host, "127.0.0.1");
	assert_int_equal(h.port, 2424);
	assert_int_equal(route_choose(c, "named.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_HOST);	/* LMTP never looks up MX */
	assert_int_equal(h.port, DELIVER_LMTP_PORT);
	assert_int_equal(route_choose(c, "sock.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.kind, HOP_UNIX);
	assert_string_equal(h.host, "/run/dovecot/lmtp");
	config_free(c);
}

static void
test_relative_lmtp_socket_is_a_config_error(void **state)
{
	static const char text[] =
	    "route \"rel.example\" {\n\tvia = lmtp:unix:run/lmtp\n}\n";
	struct buf	 err;

	(void)state;
	/* a relative socket path means nothing in a chroot: refused at once */
	buf_init(&err);
	assert_null(config_parse_buf("t.conf", text, strlen(text), &err));
	assert_non_null(strstr(buf_cstr(&err), "lmtp:unix:/path"));
	buf_free(&err);
}

static void
test_route_carries_tls_policy_and_credentials(void **state)
{
	struct config		*c = conf(lmtp_routes);
	struct route_hop	 h;
	char			 err[128];

	assert_int_equal(route_choose(c, "auth.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.tls, RTLS_VERIFY);
	assert_string_equal(h.auth_user, "relay");
	assert_string_equal(h.auth_file, "/etc/postern/relay.pw");
	assert_int_equal(route_choose(c, "other.example", &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.tls, RTLS_MAY);	/* opportunistic by default */
	assert_string_equal(h.auth_user, "");
	config_free(c);
}

static void
test_mx_pointing_to_ourselves_as_best_is_a_loop(void **state)
{
	struct mx_host	 v[3] = { { 10, "MX.test." }, { 20, "b.example" },
			    { 5, "c.example" } };
	int		 loop;

	/* we are at 10: only the better one (5) is left */
	assert_int_equal(route_mx_drop_self(v, 3, "mx.test", &loop), 1);
	assert_false(loop);
	assert_string_equal(v[0].name, "c.example");
	v[0] = (struct mx_host){ 0, "mx.test" };
	assert_int_equal(route_mx_drop_self(v, 1, "mx.test", &loop), 0);
	assert_true(loop);
}

static void
test_mx_list_without_us_is_kept(void **state)
{
	struct mx_host	 v[2] = { { 10, "a.example" }, { 20, "b.example" } };
	int		 loop;

	assert_int_equal(route_mx_drop_self(v, 2, "mx.test", &loop), 2);
	assert_false(loop);
}

static void
test_our_own_listen_address_is_self(void **state)
{
	struct config		*c = conf("hostname = mx.test\n"
				    "listener mx {\n\tlisten = 127.0.0.1:2525\n}\n");
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	assert_true(route_ip_literal("127.0.0.1", &ss, &sl));
	((struct sockaddr_in *)&ss)->sin_port = htons(2525);
	assert_true(route_addr_is_self(c, (struct sockaddr *)&ss));
	((struct sockaddr_in *)&ss)->sin_port = htons(25);
	assert_false(route_addr_is_self(c, (struct sockaddr *)&ss));
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lmtp_routes_name_tcp_and_unix_next_hops),
		cmocka_unit_test(test_relative_lmtp_socket_is_a_config_error),
		cmocka_unit_test(test_route_carries_tls_policy_and_credentials),
		cmocka_unit_test(test_mx_pointing_to_ourselves_as_best_is_a_loop),
		cmocka_unit_test(test_mx_list_without_us_is_kept),
		cmocka_unit_test(test_our_own_listen_address_is_self),
		cmocka_unit_test(test_bracketed_ip_route_skips_dns),
		cmocka_unit_test(test_host_port_route_looks_up_mx_of_host),
		cmocka_unit_test(test_bracketed_name_route_looks_up_addresses_only),
		cmocka_unit_test(test_no_route_is_mx_of_domain_on_remote_port),
		cmocka_unit_test(test_relayhost_applies_without_route_but_mx_route_wins),
		cmocka_unit_test(test_relayhost_name_without_brackets_is_mx_lookup),
		cmocka_unit_test(test_address_literal_domains),
		cmocka_unit_test(test_mx_order_sorts_and_drops_null_mx),
		cmocka_unit_test(test_mx_order_only_null_mx_and_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
