/* Unit tests for smtpd's AUTH parsing (commands.c), relay after AUTH (policy.c) and TLS contexts (tls.c). */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../smtpd/smtpd.h"
#include "../../smtpd/tls.h"

static void
test_base64_decodes_padded_input_only(void **state)
{
	unsigned char	 out[64];

	(void)state;
	assert_int_equal(cmd_base64_decode("", out, sizeof(out)), 0);
	assert_int_equal(cmd_base64_decode("YQ==", out, sizeof(out)), 1);
	assert_memory_equal(out, "a", 1);
	assert_int_equal(cmd_base64_decode("YWI=", out, sizeof(out)), 2);
	assert_int_equal(cmd_base64_decode("YWJj", out, sizeof(out)), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(cmd_base64_decode("AGFsaWNlAHB3", out, sizeof(out)), 9);
	assert_memory_equal(out, "\0alice\0pw", 9);
	/* unpadded, bad characters, padding in the middle, too long */
	assert_int_equal(cmd_base64_decode("YQ", out, sizeof(out)), -1);
	assert_int_equal(cmd_base64_decode("Y!==", out, sizeof(out)), -1);
	assert_int_equal(cmd_base64_decode("YQ==YWJj", out, sizeof(out)), -1);
	assert_int_equal(cmd_base64_decode("Y===", out, sizeof(out)), -1);
	assert_int_equal(cmd_base64_decode("YW=j", out, sizeof(out)), -1);
	assert_int_equal(cmd_base64_decode("YWJjYWJj", out, 5), -1);
}

static void
test_plain_response_splits_user_and_password(void **state)
{
	char	 user[256], pass[256];

	(void)state;
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0alice\0pw", 9,
	    user, sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "pw");
	/* an authzid equal to the user is the same thing */
	assert_int_equal(cmd_auth_plain((const unsigned char *)"alice\0alice\0pw",
	    14, user, sizeof(user), pass, sizeof(pass)), 0);
}

static void
test_plain_response_refuses_other_authzid_and_bad_forms(void **state)
{
	char	 user[256], pass[256];

	(void)state;
	/* acting for someone else */
	assert_int_equal(cmd_auth_plain((const unsigned char *)"bob\0alice\0pw",
	    12, user, sizeof(user), pass, sizeof(pass)), -1);
	/* one NUL only, empty password, empty user, NUL in the password */
	assert_int_equal(cmd_auth_plain((const unsigned char *)"alice\0pw", 8,
	    user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0alice\0", 7,
	    user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0\0pw", 4,
	    user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0a\0p\0w", 6,
	    user, sizeof(user), pass, sizeof(pass)), -1);
	/* a user name that would forge a Received comment */
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0a)b\0pw", 7,
	    user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0a b\0pw", 7,
	    user, sizeof(user), pass, sizeof(pass)), -1);
	/* too long for the buffers */
	assert_int_equal(cmd_auth_plain((const unsigned char *)"\0alice\0pw", 9,
	    user, 5, pass, sizeof(pass)), -1);
}

static void
test_starttls_and_auth_are_verbs(void **state)
{
	const char *args;

	(void)state;
	assert_int_equal(cmd_verb("starttls", &args), V_STARTTLS);
	assert_int_equal(cmd_verb("AUTH PLAIN AGFsaWNlAHB3", &args), V_AUTH);
	assert_string_equal(args, "PLAIN AGFsaWNlAHB3");
	assert_string_equal(cmd_received_protocol(1, 0, 1, 1), "ESMTPSA");
	assert_string_equal(cmd_received_protocol(1, 0, 1, 0), "ESMTPS");
	assert_string_equal(cmd_received_protocol(1, 0, 0, 1), "ESMTPA");
}

static void
test_authenticated_client_may_relay(void **state)
{
	static const char text[] =
	    "spool = /nonexistent\n"
	    "local_domains = example.org\n"
	    "trusted_networks = 192.0.2.0/24\n"
	    "listener mx {\n\tlisten = 127.0.0.1:25\n}\n";
	struct sockaddr_in	 sin;
	struct buf		 err;
	struct config		*c;
	struct addr		 a;
	size_t			 used;

	(void)state;
	buf_init(&err);
	assert_non_null(c = config_parse_buf("t.conf", text, sizeof(text) - 1,
	    &err));
	buf_free(&err);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr);
	assert_int_equal(addr_parse_path("<bob@example.com>", 17,
	    ADDR_F_POSTMASTER_OK, &a, &used), 0);
	assert_int_equal(policy_rcpt_session(c, (struct sockaddr *)&sin, 0, &a),
	    POLICY_RELAY_DENIED);
	assert_int_equal(policy_rcpt_session(c, (struct sockaddr *)&sin, 1, &a),
	    POLICY_ACCEPT);
	config_free(c);
}

static void
test_cert_without_pem_is_refused(void **state)
{
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n";

	(void)state;
	assert_int_equal(tls_set_cert(0, junk, sizeof(junk) - 1), -1);
	assert_int_equal(tls_set_cert(0, "x", 1), -1);
	assert_int_equal(tls_set_cert(1000, junk, sizeof(junk) - 1), -1);
	assert_null(tls_ctx(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_decodes_padded_input_only),
		cmocka_unit_test(test_plain_response_splits_user_and_password),
		cmocka_unit_test(test_plain_response_refuses_other_authzid_and_bad_forms),
		cmocka_unit_test(test_starttls_and_auth_are_verbs),
		cmocka_unit_test(test_authenticated_client_may_relay),
		cmocka_unit_test(test_cert_without_pem_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
