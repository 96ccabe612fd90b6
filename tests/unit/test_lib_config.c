/* Unit tests: postern.conf parsing, defaults, errors with file:line, CIDR and host:port. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "config.h"

static struct config *
parse(const char *text, struct buf *err)
{
	buf_init(err);
	return config_parse_buf("test.conf", text, strlen(text), err);
}

static void
test_empty_file_gives_safe_defaults(void **state)
{
	struct buf	 err;
	struct config	*c = parse("", &err);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->spool, "/var/spool/postern");
	assert_int_equal(c->remote_port, 25);
	assert_int_equal(c->trusted_networks.n, 2);
	assert_int_equal(c->queue_min_backoff, 300);
	assert_int_equal(c->queue_max_backoff, 3600);
	assert_int_equal(c->max_queue_lifetime, 5 * 86400);
	assert_int_equal(c->commit_wait, 2);
	/* issue 8: local_hostname = yes makes hostname and localhost local */
	assert_int_equal(c->local_hostname, 1);
	assert_true(domain_list_match(&c->local_domains, c->hostname));
	assert_true(domain_list_match(&c->local_domains, "LocalHost"));
	assert_true(c->local_domains.n <= 2);
	assert_string_equal(c->relayhost, "");
	assert_true(c->hostname[0] != '\0');
	assert_string_equal(c->helo_name, c->hostname);
	config_free(c);
	buf_free(&err);
}

/* issue 8: hostname counts once, and local_hostname = no keeps the list as written */
static void
test_local_hostname_adds_hostname_and_localhost_once(void **state)
{
	struct buf	 err;
	struct config	*c = parse("hostname = MX.Example.org\n"
	    "local_domains = mx.example.org other.example\n", &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->local_domains.n, 3);
	assert_string_equal(c->local_domains.v[2], "localhost");
	config_free(c);
	buf_free(&err);
	c = parse("hostname = mx.example.org\nlocal_hostname = no\n", &err);
	assert_non_null(c);
	assert_int_equal(c->local_domains.n, 0);
	assert_false(domain_list_match(&c->local_domains, "mx.example.org"));
	config_free(c);
	buf_free(&err);
}

static void
test_listener_and_route_blocks(void **state)
{
	struct buf	 err;
	struct config	*c = parse(
	    "local_domains = Example.org example.com\n"
	    "listener mx {\n"
	    "\tlisten = 127.0.0.1:2525 [::1]:2525  # comment\n"
	    "\tmax_message_size = 10M\n"
	    "\ttls = may\n"
	    "}\n"
	    "route \"*.partner.example\" {\n"
	    "\tvia = [192.0.2.5]:25\n"
	    "}\n"
	    "route \"*\" {\n via = mx\n}\n", &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->nlisteners, 1);
	assert_string_equal(c->listeners[0].name, "mx");
	assert_int_equal(c->listeners[0].listen.n, 2);
	assert_string_equal(c->listeners[0].listen.v[1], "[::1]:2525");
	assert_int_equal(c->listeners[0].max_message_size, 10 * 1024 * 1024);
	assert_int_equal(c->listeners[0].max_recipients, 100);
	assert_int_equal(c->listeners[0].tls, TLS_MAY);
	assert_int_equal(c->nroutes, 2);
	assert_string_equal(config_route_for_domain(c, "a.partner.example")->via,
	    "[192.0.2.5]:25");
	assert_string_equal(config_route_for_domain(c, "partner.example")->pattern, "*");
	assert_true(domain_list_match(&c->local_domains, "EXAMPLE.ORG"));
	assert_false(domain_list_match(&c->local_domains, "sub.example.org"));
	config_free(c);
	buf_free(&err);
}

static void
test_unknown_key_names_file_and_line(void **state)
{
	struct buf	 err;
	struct config	*c = parse("hostname = a\n\nbogus_key = 1\n", &err);

	(void)state;
	assert_null(c);
	assert_non_null(strstr(buf_cstr(&err), "test.conf:3: unknown key 'bogus_key'"));
	buf_free(&err);
}

static void
test_every_error_is_reported(void **state)
{
	struct buf	 err;
	struct config	*c = parse(
	    "remote_port = 0\n"
	    "trusted_networks = 10.0.0.0/33 nonsense\n"
	    "mailbox = mbx\n"
	    "listener x {\n"
	    "  max_message_size = lots\n"
	    "}\n"
	    "spool = relative/path\n"
	    "listener y {\n", &err);
	const char *e;

	(void)state;
	assert_null(c);
	e = buf_cstr(&err);
	assert_non_null(strstr(e, "test.conf:1: remote_port"));
	assert_non_null(strstr(e, "test.conf:2: trusted_networks: '10.0.0.0/33'"));
	assert_non_null(strstr(e, "'nonsense'"));
	assert_non_null(strstr(e, "test.conf:3: mailbox: 'mbx' is not one of: maildir mbox"));
	assert_non_null(strstr(e, "test.conf:5: max_message_size"));
	assert_non_null(strstr(e, "block not closed"));
	assert_non_null(strstr(e, "test.conf:7: spool: 'relative/path' must be an absolute path"));
	assert_non_null(strstr(e, "listener x: no 'listen' address"));
	buf_free(&err);
}

static void
test_maps_delimiter_and_dnsbl_zones_are_checked(void **state)
{
	struct buf	 err;
	struct config	*c = parse(
	    "virtual_maps = virtual\n"
	    "recipient_delimiter = +-\n"
	    "listener a {\n listen = 127.0.0.1:25\n dnsbl = ok.example. bad_zone\n}\n",
	    &err);
	const char *e;

	(void)state;
	assert_null(c);
	e = buf_cstr(&err);
	assert_non_null(strstr(e, "test.conf:1: virtual_maps: 'virtual' must be an absolute path"));
	assert_non_null(strstr(e, "test.conf:2: recipient_delimiter: '+-' must be one character"));
	assert_non_null(strstr(e, "dnsbl: 'bad_zone' is not a DNS zone name"));
	assert_null(strstr(e, "'ok.example.'"));
	buf_free(&err);
	c = parse("recipient_delimiter = -\nlistener a {\n listen = 127.0.0.1:25\n"
	    " dnsbl = zen.example.org\n}\n", &err);
	assert_non_null(c);
	config_free(c);
	buf_free(&err);
}

static void
test_listen_address_must_be_numeric(void **state)
{
	struct buf	 err;
	struct config	*c = parse("listener a {\n listen = mail.example.org:25\n}\n"
	    "listener b {\n listen = 127.0.0.1\n}\n", &err);

	(void)state;
	assert_null(c);
	assert_non_null(strstr(buf_cstr(&err), "test.conf:1: listener a: listen: 'mail.example.org:25'"));
	assert_non_null(strstr(err.p, "test.conf:4: listener b: listen: '127.0.0.1'"));
	buf_free(&err);
}

static void
test_quotes_comments_duplicates_and_names(void **state)
{
	struct buf	 err;
	struct config	*c;
	const char	*e;

	(void)state;
	/* '#' inside quotes is part of the value */
	c = parse("pam_service = \"post#ern\"  # a comment\n", &err);
	assert_non_null(c);
	assert_string_equal(c->pam_service, "post#ern");
	config_free(c);
	buf_free(&err);

	c = parse("hostname = a b\n"
	    "hostname = mx.example.org\n"
	    "helo_name = \"unclosed\n"
	    "libexec_dir = relative/dir\n"
	    "route \"a..b\" {\n via = mx\n}\n"
	    "route \"example.com\" {\n via = mx\n via = [192.0.2.1]:25\n}\n"
	    "route \"EXAMPLE.com\" {\n via = mx\n}\n"
	    "listener l {\n listen = 127.0.0.1:25\n cert = rel.pem\n}\n", &err);
	assert_null(c);
	e = buf_cstr(&err);
	assert_non_null(strstr(e, "test.conf:2: hostname: already set at line 1"));
	assert_non_null(strstr(e, "test.conf:3: unbalanced double quote"));
	assert_non_null(strstr(e, "test.conf:4: libexec_dir: 'relative/dir' must be an absolute path"));
	assert_non_null(strstr(e, "test.conf:5: route \"a..b\": pattern must be"));
	assert_non_null(strstr(e, "test.conf:10: via: already set at line 9"));
	assert_non_null(strstr(e, "test.conf:12: route \"example.com\": already defined at line 8"));
	assert_non_null(strstr(e, "listener l: cert: 'rel.pem' must be an absolute path"));
	buf_free(&err);

	c = parse("listener m {\n listen = 127.0.0.1:25\n hostname = no way\n"
	    " disable_extensions = CHUNKING TURN\n}\n", &err);
	assert_null(c);
	e = buf_cstr(&err);
	assert_non_null(strstr(e, "listener m: hostname: 'no way' is not a host name"));
	assert_non_null(strstr(e, "disable_extensions: 'TURN' is not one of"));
	assert_null(strstr(e, "'CHUNKING'"));
	buf_free(&err);

	c = parse("route \"a.org\" {\n via = lmtp:unix:/run/dovecot/lmtp\n}\n"
	    "route \"b.org\" {\n via = lmtp:127.0.0.1:24\n}\n"
	    "route \"c.org\" {\n via = lmtp:inside.example\n}\n", &err);
	assert_non_null(c);
	config_free(c);
	buf_free(&err);
	c = parse("route \"a.org\" {\n via = lmtp:unix:relative\n}\n"
	    "route \"b.org\" {\n via = [192.0.2.1]:25\n auth_user = u\n}\n"
	    "smtp_bind_address = ::1\n", &err);
	assert_null(c);
	e = buf_cstr(&err);
	assert_non_null(strstr(e, "via: 'lmtp:unix:relative' is not mx"));
	assert_non_null(strstr(e, "auth_user needs auth_password_file"));
	assert_non_null(strstr(e, "test.conf:8: smtp_bind_address: '::1' is not an IPv4 address"));
	buf_free(&err);

	c = parse("queue_retry_schedule = 10m 10m 0s 15x\nqueue_backoff_factor = 1.2345\n", &err);
	assert_null(c);
	e = buf_cstr(&err);
	assert_non_null(strstr(e, "test.conf:1: queue_retry_schedule: '0s'"));
	assert_non_null(strstr(e, "'15x'"));
	assert_null(strstr(e, "'10m'"));
	assert_non_null(strstr(e, "test.conf:2: queue_backoff_factor: '1.2345'"));
	buf_free(&err);
	c = parse("queue_retry_schedule = 10m 10m 10m 15m\nqueue_backoff_factor = 1.5\n", &err);
	assert_non_null(c);
	config_free(c);
	buf_free(&err);

	c = parse("hostname = bad_name\n", &err);
	assert_null(c);
	assert_non_null(strstr(buf_cstr(&err), "test.conf:1: hostname: 'bad_name' is not a host name"));
	buf_free(&err);
}

static void
test_sizes_and_durations(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(config_parse_size("35M", &v), 0);
	assert_int_equal(v, 35 * 1024 * 1024);
	assert_int_equal(config_parse_size("512k", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(config_parse_size("-1", &v), -1);
	assert_int_equal(config_parse_size("99999999999999999999G", &v), -1);
	assert_int_equal(config_parse_size("12Q", &v), -1);
	assert_int_equal(config_parse_duration("5d", &v, 0), 0);
	assert_int_equal(v, 5 * 86400);
	assert_int_equal(config_parse_duration("90", &v, 0), 0);
	assert_int_equal(v, 90);
	assert_int_equal(config_parse_duration("2ms", &v, 1), 0);
	assert_int_equal(v, 2);
	assert_int_equal(config_parse_duration("2ms", &v, 0), -1);
	assert_int_equal(config_parse_duration("1w", &v, 0), -1);
}

static void
test_cidr_matching(void **state)
{
	struct cidr		 c;
	struct sockaddr_in	 s4 = { .sin_family = AF_INET };
	struct sockaddr_in6	 s6 = { .sin6_family = AF_INET6 };

	(void)state;
	assert_int_equal(cidr_parse("127.0.0.1/32", &c), 0);
	inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
	assert_true(cidr_match_addr(&c, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "127.0.0.2", &s4.sin_addr);
	assert_false(cidr_match_addr(&c, (struct sockaddr *)&s4));
	assert_int_equal(cidr_parse("10.1.0.0/15", &c), 0);
	inet_pton(AF_INET, "10.0.255.1", &s4.sin_addr);
	assert_true(cidr_match_addr(&c, (struct sockaddr *)&s4));
	inet_pton(AF_INET, "10.2.0.1", &s4.sin_addr);
	assert_false(cidr_match_addr(&c, (struct sockaddr *)&s4));
	/* an IPv4 client through a dual-stack socket */
	inet_pton(AF_INET6, "::ffff:10.0.0.9", &s6.sin6_addr);
	assert_true(cidr_match_addr(&c, (struct sockaddr *)&s6));
	assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
	inet_pton(AF_INET6, "2001:db8:1::5", &s6.sin6_addr);
	assert_true(cidr_match_addr(&c, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "2001:db9::5", &s6.sin6_addr);
	assert_false(cidr_match_addr(&c, (struct sockaddr *)&s6));
	assert_int_equal(cidr_parse("1.2.3.4/", &c), -1);
	assert_int_equal(cidr_parse("/8", &c), -1);
	assert_int_equal(cidr_parse("::1/129", &c), -1);
}

static void
test_hostport_forms(void **state)
{
	char		 h[256];
	uint16_t	 p;
	int		 br;

	(void)state;
	assert_int_equal(hostport_parse("[smtp.example.net]:587", h, sizeof(h), &p, &br, 25), 0);
	assert_string_equal(h, "smtp.example.net");
	assert_int_equal(p, 587);
	assert_true(br);
	assert_int_equal(hostport_parse("mx.example.net", h, sizeof(h), &p, &br, 25), 0);
	assert_int_equal(p, 25);
	assert_false(br);
	assert_int_equal(hostport_parse("[::1]:2525", h, sizeof(h), &p, &br, 0), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(p, 2525);
	assert_int_equal(hostport_parse("127.0.0.1:25", h, sizeof(h), &p, &br, 0), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(hostport_parse("host:99999", h, sizeof(h), &p, &br, 0), -1);
	assert_int_equal(hostport_parse("[host", h, sizeof(h), &p, &br, 0), -1);
	assert_int_equal(hostport_parse(":25", h, sizeof(h), &p, &br, 0), -1);
	assert_int_equal(hostport_parse("[h]x", h, sizeof(h), &p, &br, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_gives_safe_defaults),
		cmocka_unit_test(test_listener_and_route_blocks),
		cmocka_unit_test(test_local_hostname_adds_hostname_and_localhost_once),
		cmocka_unit_test(test_unknown_key_names_file_and_line),
		cmocka_unit_test(test_every_error_is_reported),
		cmocka_unit_test(test_listen_address_must_be_numeric),
		cmocka_unit_test(test_maps_delimiter_and_dnsbl_zones_are_checked),
		cmocka_unit_test(test_quotes_comments_duplicates_and_names),
		cmocka_unit_test(test_sizes_and_durations),
		cmocka_unit_test(test_cidr_matching),
		cmocka_unit_test(test_hostport_forms),
	};
	return cmocka_run_group_tests_name("lib_config", tests, NULL, NULL);
}
