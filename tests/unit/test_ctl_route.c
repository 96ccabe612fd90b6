/* Unit tests: posternctl route's plan (domain, class, next hop), MX ordering and output. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bsd/string.h>

#include "config.h"
#include "ipc.h"
#include "../../ctl/route.h"

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

static const char text[] =
    "hostname = mx.test\n"
    "remote_port = 2526\n"
    "local_domains = example.org\n"
    "relay_domains = example.net .sub.example.net\n"
    "destination_concurrency = 7\n"
    "relayhost = [smart.example]:587\n"
    "route \"partner.example\" {\n"
    "\tvia = [192.0.2.5]:25\n"
    "\ttls = verify\n"
    "\tconcurrency = 3\n"
    "\trate_limit = 60\n"
    "}\n"
    "route \"*.mx.example\" {\n"
    "\tvia = mx\n"
    "\ttls = dane\n"
    "}\n";

static void
test_address_gives_its_domain_in_lower_case(void **state)
{
	struct config		*c = conf(text);
	struct ctl_route	 r;
	char			 err[256];

	(void)state;
	assert_int_equal(ctl_route_plan(c, "Bob@Example.ORG.", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.domain, "example.org");
	assert_string_equal(r.query, "Bob@Example.ORG.");
	assert_int_equal(r.dclass, CTL_DOMAIN_LOCAL);
	/* the last @ counts, as in queue-mgr */
	assert_int_equal(ctl_route_plan(c, "\"a@b\"@example.net", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.domain, "example.net");
	assert_int_equal(r.dclass, CTL_DOMAIN_RELAY);
	assert_int_equal(ctl_route_plan(c, "x.sub.example.net", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.dclass, CTL_DOMAIN_RELAY);
	config_free(c);
}

static void
test_bad_arguments_are_refused(void **state)
{
	struct config		*c = conf(text);
	struct ctl_route	 r;
	char			 err[256];

	(void)state;
	assert_int_equal(ctl_route_plan(c, "bob@", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no domain"));
	assert_int_equal(ctl_route_plan(c, "exa mple.com", &r, err,
	    sizeof(err)), -1);
	assert_int_equal(ctl_route_plan(c, "a\x1b[2J.example", &r, err,
	    sizeof(err)), -1);
	assert_int_equal(ctl_route_plan(c, "a..example", &r, err,
	    sizeof(err)), -1);
	config_free(c);
	/* without a relayhost an address literal goes straight there */
	c = conf("hostname = mx.test\n");
	assert_int_equal(ctl_route_plan(c, "a@[192.0.2.1]", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.hop.kind, HOP_ADDR);
	assert_string_equal(r.hop.host, "192.0.2.1");
	assert_int_equal(ctl_route_plan(c, "a@[999.1.1.1]", &r, err,
	    sizeof(err)), -1);
	config_free(c);
}

static void
test_route_block_wins_over_relayhost(void **state)
{
	struct config		*c = conf(text);
	struct ctl_route	 r;
	char			 err[256];

	(void)state;
	assert_int_equal(ctl_route_plan(c, "a@partner.example", &r, err,
	    sizeof(err)), 0);
	assert_non_null(r.rc);
	assert_string_equal(r.rc->pattern, "partner.example");
	assert_int_equal(r.hop.kind, HOP_ADDR);
	assert_int_equal(r.hop.port, 25);
	assert_int_equal(r.hop.tls, RTLS_VERIFY);
	assert_int_equal(r.concurrency, 3);
	assert_int_equal(r.rate_limit, 60);
	/* "via = mx" overrides the relayhost */
	assert_int_equal(ctl_route_plan(c, "a@in.mx.example", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.hop.kind, HOP_MX);
	assert_string_equal(r.hop.host, "in.mx.example");
	assert_int_equal(r.hop.port, 2526);
	assert_int_equal(r.hop.tls, RTLS_DANE);
	assert_int_equal(r.concurrency, 7);
	/* everything else: the smart host, no MX lookup */
	assert_int_equal(ctl_route_plan(c, "a@other.example", &r, err,
	    sizeof(err)), 0);
	assert_null(r.rc);
	assert_int_equal(r.hop.kind, HOP_HOST);
	assert_string_equal(r.hop.host, "smart.example");
	assert_int_equal(r.hop.port, 587);
	assert_string_equal(r.hop.why, "relayhost");
	config_free(c);
}

static void
test_mx_hosts_in_order_without_null_mx_and_self(void **state)
{
	struct ctl_route	 r;
	struct mx_host		 v[4] = {
		{ 20, "b.example" }, { 10, "z.example" }, { 20, "a.example" },
		{ 30, "mx.test" },
	};
	struct mx_host		 nul[1] = { { 0, "" } };
	struct mx_host		 self[2] = { { 5, "mx.test" }, { 10, "b.example" } };

	(void)state;
	memset(&r, 0, sizeof(r));
	ctl_route_mx_hosts(&r, "mx.test", v, 4);
	/* we are MX 30: hosts at 30 and worse would loop */
	assert_int_equal(r.nhosts, 3);
	assert_string_equal(r.hosts[0].name, "z.example");
	assert_string_equal(r.hosts[1].name, "a.example");
	assert_string_equal(r.hosts[2].name, "b.example");
	assert_int_equal(r.hosts[2].pref, 20);
	assert_int_equal(r.loop, 0);
	assert_int_equal(r.null_mx, 0);
	ctl_route_mx_hosts(&r, "mx.test", nul, 1);
	assert_int_equal(r.nhosts, 0);
	assert_int_equal(r.null_mx, 1);
	ctl_route_mx_hosts(&r, "mx.test", self, 2);
	assert_int_equal(r.nhosts, 0);
	assert_int_equal(r.loop, 1);
}

static void
test_output_names_route_hosts_and_addresses(void **state)
{
	struct config		*c = conf(text);
	struct ctl_route	 r;
	struct buf		 b;
	char			 err[256];

	(void)state;
	assert_int_equal(ctl_route_plan(c, "a@in.mx.example", &r, err,
	    sizeof(err)), 0);
	r.mx.asked = 1;
	r.mx.status = DNS_OK;
	r.mx.secure = 1;
	r.nhosts = 1;
	strlcpy(r.hosts[0].name, "mx1.mx.example", sizeof(r.hosts[0].name));
	r.hosts[0].pref = 10;
	r.hosts[0].has_pref = 1;
	r.hosts[0].a.asked = 1;
	r.hosts[0].a.status = DNS_OK;
	r.hosts[0].a.n = 1;
	strlcpy(r.hosts[0].a.addr[0], "192.0.2.9", sizeof(r.hosts[0].a.addr[0]));
	r.hosts[0].aaaa.asked = 1;
	r.hosts[0].aaaa.status = DNS_NXDOMAIN;
	r.hosts[0].tlsa.asked = 1;
	r.hosts[0].tlsa.status = DNS_OK;
	r.hosts[0].tlsa.secure = 1;
	r.hosts[0].tlsa.n = 2;
	assert_int_equal(ctl_route_usable(&r), 1);
	buf_init(&b);
	assert_int_equal(ctl_route_format(&b, &r), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "Route:        route \"*.mx.example\" (line 13), via mx\n"));
	assert_non_null(strstr(b.p, "TLS:          dane\n"));
	assert_non_null(strstr(b.p, "MX:           1 host (DNSSEC secure)\n"));
	assert_non_null(strstr(b.p, "  10   mx1.mx.example\n"
	    "       A      192.0.2.9\n"
	    "       AAAA   (no such name)\n"
	    "       TLSA   2 records (DNSSEC secure)\n"));
	buf_reset(&b);
	assert_int_equal(ctl_route_json(&b, &r), 0);
	buf_cstr(&b);
	assert_non_null(strstr(b.p, "\"source\":\"route\",\"pattern\":\"*.mx.example\""));
	assert_non_null(strstr(b.p, "\"tlsa\":{\"status\":\"ok\",\"dnssec\":\"secure\",\"records\":2}"));
	assert_non_null(strstr(b.p, "\"a\":{\"status\":\"ok\",\"dnssec\":\"insecure\",\"addresses\":[\"192.0.2.9\"]}"));
	assert_non_null(strstr(b.p, "\"usable\":true}"));
	/* no address anywhere: mail would wait */
	r.hosts[0].a.n = 0;
	assert_int_equal(ctl_route_usable(&r), 0);
	buf_free(&b);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_gives_its_domain_in_lower_case),
		cmocka_unit_test(test_bad_arguments_are_refused),
		cmocka_unit_test(test_route_block_wins_over_relayhost),
		cmocka_unit_test(test_mx_hosts_in_order_without_null_mx_and_self),
		cmocka_unit_test(test_output_names_route_hosts_and_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
