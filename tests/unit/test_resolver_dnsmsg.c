/* Unit tests: DNS answer parsing (MX rdata above all) and name checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ipc.h"
#include "pack.h"
#include "../../resolver/resolver.h"

/* A packet under construction. */
struct pkt {
	uint8_t	 b[1024];
	size_t	 n;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put16(struct pkt *p, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(p, b, 2);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

/* Header and the question "example.com" (at offset 12) of type qtype. */
static void
start(struct pkt *p, uint16_t qtype, uint16_t ancount, int rcode)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, (uint16_t)(0x8180 | rcode));
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	put(p, "\x07" "example" "\x03" "com" "\x00", 13);
	put16(p, qtype);
	put16(p, 1);
}

/* An answer record owned by the question name (pointer to 12). */
static void
rr(struct pkt *p, uint16_t type, uint32_t ttl, const void *rdata, size_t len)
{
	put(p, "\xc0\x0c", 2);
	put16(p, type);
	put16(p, 1);
	put32(p, ttl);
	put16(p, (uint16_t)len);
	put(p, rdata, len);
}

static void
test_mx_answer_gives_preference_and_exchange(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 15, 2, 0);
	/* 10 mx.example.com (compressed), 20 backup.example.com */
	rr(&p, 15, 300, "\x00\x0a\x02mx\xc0\x0c", 7);
	rr(&p, 15, 60, "\x00\x14\x06" "backup" "\xc0\x0c", 11);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 15, &a), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.rr[0].pref, 10);
	assert_string_equal(a.rr[0].text, "mx.example.com");
	assert_int_equal(a.rr[1].pref, 20);
	assert_string_equal(a.rr[1].text, "backup.example.com");
	assert_int_equal(a.min_ttl, 60);
	assert_int_equal(a.rcode, 0);
}

static void
test_null_mx_gives_empty_exchange(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 15, 1, 0);
	rr(&p, 15, 300, "\x00\x00\x00", 3);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 15, &a), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.rr[0].pref, 0);
	assert_string_equal(a.rr[0].text, "");
}

static void
test_mx_name_running_past_rdata_is_bad_record(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 15, 1, 0);
	/* rdlen says 5 but the name needs 6 octets */
	rr(&p, 15, 300, "\x00\x0a\x03" "ab", 5);
	put(&p, "c\x00", 2);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 15, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.nbad, 1);
}

static void
test_mx_rdata_with_trailing_octets_is_bad_record(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 15, 1, 0);
	rr(&p, 15, 300, "\x00\x0a\x02mx\xc0\x0cZZ", 9);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 15, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.nbad, 1);
}

static void
test_mx_exchange_with_odd_characters_is_bad_record(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 15, 1, 0);
	/* a label holding a dot and a space would forge another name */
	rr(&p, 15, 300, "\x00\x0a\x04m. x\x00", 8);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 15, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.nbad, 1);
}

static void
test_rdlength_past_end_is_malformed_packet(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 15, 1, 0);
	put(&p, "\xc0\x0c", 2);
	put16(&p, 15);
	put16(&p, 1);
	put32(&p, 300);
	put16(&p, 200);		/* far beyond the packet */
	put(&p, "\x00\x0a\x00", 3);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 15, &a), -1);
}

static void
test_compression_loop_is_rejected(void **state)
{
	uint8_t	 pkt[] = { 0, 0, 0xc0, 0x02 };	/* points at itself */
	uint8_t	 fwd[] = { 0xc0, 0x02, 0x01, 'a', 0x00 }; /* points forward */
	char	 out[256];
	size_t	 off = 2;

	assert_int_equal(dnsmsg_name_read(pkt, sizeof(pkt), &off, out,
	    sizeof(out), 0), -1);
	off = 0;
	assert_int_equal(dnsmsg_name_read(fwd, sizeof(fwd), &off, out,
	    sizeof(out), 0), -1);
}

static void
test_name_longer_than_255_octets_is_rejected(void **state)
{
	uint8_t	 b[400];
	char	 out[256];
	size_t	 off = 0, i, o = 0;

	/* five 63-octet labels: 320 octets */
	for (i = 0; i < 5; i++) {
		b[o++] = 63;
		memset(b + o, 'a', 63);
		o += 63;
	}
	b[o++] = 0;
	assert_int_equal(dnsmsg_name_read(b, o, &off, out, sizeof(out), 1), -1);
}

static void
test_a_and_aaaa_answers_as_text(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 1, 2, 0);
	rr(&p, 1, 300, "\x7f\x00\x00\x01", 4);
	rr(&p, 1, 300, "\xc0\x00\x02\x05", 4);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 1, &a), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.rr[0].text, "127.0.0.1");
	assert_string_equal(a.rr[1].text, "192.0.2.5");

	start(&p, 28, 1, 0);
	rr(&p, 28, 300, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 28, &a), 0);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.rr[0].text, "2001:db8::1");

	/* an A record of the wrong length does not parse */
	start(&p, 1, 1, 0);
	rr(&p, 1, 300, "\x7f\x00\x00", 3);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 1, &a), 0);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.nbad, 1);
}

static void
test_cname_in_answer_is_passed_over(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	start(&p, 1, 2, 0);
	rr(&p, 5, 300, "\x03www\xc0\x0c", 6);
	/* owner www.example.com at offset 41 */
	put(&p, "\xc0\x29", 2);
	put16(&p, 1);
	put16(&p, 1);
	put32(&p, 300);
	put16(&p, 4);
	put(&p, "\x0a\x00\x00\x01", 4);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 1, &a), 0);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.rr[0].text, "10.0.0.1");
}

static void
test_short_packet_is_malformed(void **state)
{
	struct dnsmsg_answers a;

	assert_int_equal(dnsmsg_parse((const uint8_t *)"\x12\x34\x81", 3, 15,
	    &a), -1);
	assert_int_equal(dnsmsg_parse(NULL, 0, 15, &a), -1);
}

static void
test_nxdomain_in_header_is_nxdomain(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	 a;

	/* libunbound passes rcode 0 and leaves NXDOMAIN in the header */
	start(&p, 15, 0, 3);
	assert_int_equal(resolver_status(0, 0, p.b, (int)p.n, 15, &a),
	    DNS_NXDOMAIN);
	start(&p, 15, 0, 0);
	assert_int_equal(resolver_status(0, 0, p.b, (int)p.n, 15, &a),
	    DNS_NODATA);
	assert_int_equal(resolver_status(2, 0, NULL, 0, 15, &a), DNS_TEMPFAIL);
	assert_int_equal(resolver_status(0, 1, p.b, (int)p.n, 15, &a),
	    DNS_BOGUS);
	start(&p, 15, 1, 0);
	rr(&p, 15, 300, "\x00\x0a\x04m. x\x00", 8);
	/* records there, none readable: not "no data" */
	assert_int_equal(resolver_status(0, 0, p.b, (int)p.n, 15, &a),
	    DNS_TEMPFAIL);
}

static void
test_answer_payload_layout(void **state)
{
	struct dnsmsg_answers	 a;
	struct buf		 b;
	struct unpack		 u;
	uint32_t		 st, sec, n, pref;
	char			*name;

	memset(&a, 0, sizeof(a));
	a.n = 1;
	a.rr[0].pref = 10;
	strcpy(a.rr[0].text, "mx.example.com");
	buf_init(&b);
	assert_int_equal(resolver_answer_pack(&b, DNS_OK, 0, 15, &a), 0);
	unpack_init(&u, b.p, b.len);
	unpack_u32(&u, &st);
	unpack_u32(&u, &sec);
	unpack_u32(&u, &n);
	unpack_u32(&u, &pref);
	unpack_str(&u, &name, 255);
	assert_int_equal(unpack_done(&u), 0);
	assert_int_equal(st, DNS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pref, 10);
	assert_string_equal(name, "mx.example.com");
	free(name);
	buf_free(&b);
}

static void
test_query_names(void **state)
{
	char long_label[80];

	assert_true(dnsmsg_qname_valid("example.com"));
	assert_true(dnsmsg_qname_valid("example.com."));
	assert_true(dnsmsg_qname_valid("_x.a-b.example"));
	assert_false(dnsmsg_qname_valid(""));
	assert_false(dnsmsg_qname_valid("."));
	assert_false(dnsmsg_qname_valid("a..b"));
	assert_false(dnsmsg_qname_valid(".a"));
	assert_false(dnsmsg_qname_valid("a b.com"));
	assert_false(dnsmsg_qname_valid("a\\046b.com"));
	assert_false(dnsmsg_qname_valid("a\x01.com"));
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".com");
	assert_false(dnsmsg_qname_valid(long_label));
	strcpy(long_label + 63, ".com");	/* 63 octets: the most */
	assert_true(dnsmsg_qname_valid(long_label));
}

static void
test_tlsa_answer_gives_usage_selector_type_and_data(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));
	uint8_t			 rd[3 + 32];

	memset(rd, 0xab, sizeof(rd));
	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	start(&p, 52, 1, 0);
	rr(&p, 52, 300, rd, sizeof(rd));
	assert_int_equal(dnsmsg_parse(p.b, p.n, 52, a), 0);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->rr[0].usage, 3);
	assert_int_equal(a->rr[0].selector, 1);
	assert_int_equal(a->rr[0].mtype, 1);
	assert_int_equal(a->rr[0].dlen, 32);
	assert_int_equal(a->rr[0].data[31], 0xab);
	free(a);
}

static void
test_tlsa_shorter_than_three_octets_is_bad_record(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));

	start(&p, 52, 1, 0);
	rr(&p, 52, 300, "\x03\x01", 2);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 52, a), 0);
	assert_int_equal(a->n, 0);
	assert_int_equal(a->nbad, 1);
	assert_int_equal(resolver_status(0, 0, p.b, (int)p.n, 52, a),
	    DNS_TEMPFAIL);
	free(a);
}

static void
test_txt_strings_are_joined(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));

	start(&p, 16, 1, 0);
	rr(&p, 16, 60, "\x05v=spf\x04" "1 -a", 11);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 16, a), 0);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->rr[0].dlen, 9);
	assert_memory_equal(a->rr[0].data, "v=spf1 -a", 9);
	assert_int_equal(a->min_ttl, 60);
	free(a);
}

static void
test_txt_string_running_past_rdata_is_bad_record(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));

	start(&p, 16, 1, 0);
	rr(&p, 16, 60, "\x09v=spf", 6);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 16, a), 0);
	assert_int_equal(a->n, 0);
	assert_int_equal(a->nbad, 1);
	free(a);
}

static void
test_ptr_answer_gives_the_host_name(void **state)
{
	struct pkt		 p;
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));

	start(&p, 12, 1, 0);
	rr(&p, 12, 60, "\x04mail\xc0\x0c", 7);
	assert_int_equal(dnsmsg_parse(p.b, p.n, 12, a), 0);
	assert_int_equal(a->n, 1);
	assert_string_equal(a->rr[0].text, "mail.example.com");
	free(a);
}

static void
test_tlsa_payload_layout(void **state)
{
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));
	struct buf		 b;
	struct unpack		 u;
	uint32_t		 st, sec, n, us, se, mt;
	const void		*d;
	size_t			 dl;

	a->n = 1;
	a->rr[0].usage = 2;
	a->rr[0].selector = 0;
	a->rr[0].mtype = 2;
	a->rr[0].dlen = 3;
	memcpy(a->rr[0].data, "\x00\x01\x02", 3);
	buf_init(&b);
	assert_int_equal(resolver_answer_pack(&b, DNS_OK, 1, DNS_Q_TLSA, a), 0);
	unpack_init(&u, b.p, b.len);
	unpack_u32(&u, &st);
	unpack_u32(&u, &sec);
	unpack_u32(&u, &n);
	unpack_u32(&u, &us);
	unpack_u32(&u, &se);
	unpack_u32(&u, &mt);
	unpack_bytes(&u, &d, &dl, 4096);
	assert_int_equal(unpack_done(&u), 0);
	assert_int_equal(sec, 1);
	assert_int_equal(n, 1);
	assert_int_equal(us, 2);
	assert_int_equal(mt, 2);
	assert_int_equal(dl, 3);
	assert_memory_equal(d, "\x00\x01\x02", 3);
	buf_free(&b);
	free(a);
}

static void
test_huge_answer_is_cut_to_one_frame(void **state)
{
	struct dnsmsg_answers	*a = calloc(1, sizeof(*a));
	struct buf		 b;
	struct unpack		 u;
	uint32_t		 st, sec, n;
	size_t			 i;

	a->n = DNSMSG_MAX_ANSWERS;
	for (i = 0; i < a->n; i++)
		a->rr[i].dlen = DNSMSG_MAX_DATA;
	buf_init(&b);
	assert_int_equal(resolver_answer_pack(&b, DNS_OK, 0, DNS_Q_TXT, a), 0);
	assert_true(b.len <= IPC_MAX_PAYLOAD);
	unpack_init(&u, b.p, b.len);
	unpack_u32(&u, &st);
	unpack_u32(&u, &sec);
	unpack_u32(&u, &n);
	assert_true(n > 0 && n < DNSMSG_MAX_ANSWERS);
	buf_free(&b);
	free(a);
}

static void
test_new_query_types_are_accepted(void **state)
{
	assert_true(resolver_qtype_ok(DNS_Q_PTR));
	assert_true(resolver_qtype_ok(DNS_Q_TXT));
	assert_true(resolver_qtype_ok(DNS_Q_TLSA));
	assert_false(resolver_qtype_ok(255));	/* ANY */
	assert_false(resolver_qtype_ok(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_answer_gives_preference_and_exchange),
		cmocka_unit_test(test_null_mx_gives_empty_exchange),
		cmocka_unit_test(test_mx_name_running_past_rdata_is_bad_record),
		cmocka_unit_test(test_mx_rdata_with_trailing_octets_is_bad_record),
		cmocka_unit_test(test_mx_exchange_with_odd_characters_is_bad_record),
		cmocka_unit_test(test_rdlength_past_end_is_malformed_packet),
		cmocka_unit_test(test_compression_loop_is_rejected),
		cmocka_unit_test(test_name_longer_than_255_octets_is_rejected),
		cmocka_unit_test(test_a_and_aaaa_answers_as_text),
		cmocka_unit_test(test_cname_in_answer_is_passed_over),
		cmocka_unit_test(test_short_packet_is_malformed),
		cmocka_unit_test(test_nxdomain_in_header_is_nxdomain),
		cmocka_unit_test(test_answer_payload_layout),
		cmocka_unit_test(test_query_names),
		cmocka_unit_test(test_tlsa_answer_gives_usage_selector_type_and_data),
		cmocka_unit_test(test_tlsa_shorter_than_three_octets_is_bad_record),
		cmocka_unit_test(test_txt_strings_are_joined),
		cmocka_unit_test(test_txt_string_running_past_rdata_is_bad_record),
		cmocka_unit_test(test_ptr_answer_gives_the_host_name),
		cmocka_unit_test(test_tlsa_payload_layout),
		cmocka_unit_test(test_huge_answer_is_cut_to_one_frame),
		cmocka_unit_test(test_new_query_types_are_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
