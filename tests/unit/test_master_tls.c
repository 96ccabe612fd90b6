/* Unit tests: the master's signing for smtpd — real RSA and EC keys, verified with the public key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "../../master/tls.h"

static int
verify(EVP_PKEY *k, int pad, int saltlen, const uint8_t *d, size_t dl,
    const uint8_t *sig, size_t sl)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new(k, NULL);
	int		 r;

	r = EVP_PKEY_verify_init(c) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
	    (pad == 0 || EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1) &&
	    (pad != RSA_PKCS1_PSS_PADDING ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(c, saltlen) == 1) &&
	    EVP_PKEY_verify(c, sig, sl, d, dl) == 1;
	EVP_PKEY_CTX_free(c);
	return r;
}

static void
test_rsa_pkcs1_and_pss_signatures_verify(void **state)
{
	EVP_PKEY	*k = EVP_RSA_gen(2048);
	uint8_t		 d[32], sig[512];
	size_t		 sl = sizeof(sig);

	(void)state;
	assert_non_null(k);
	memset(d, 0x5a, sizeof(d));
	assert_int_equal(tls_sign(k, TLS_SIGN_RSA_PKCS1, NID_sha256, 0, d, sizeof(d),
	    sig, &sl), 0);
	assert_true(verify(k, RSA_PKCS1_PADDING, 0, d, sizeof(d), sig, sl));
	sl = sizeof(sig);
	assert_int_equal(tls_sign(k, TLS_SIGN_RSA_PSS, NID_sha256, -1, d, sizeof(d),
	    sig, &sl), 0);
	assert_true(verify(k, RSA_PKCS1_PSS_PADDING, -1, d, sizeof(d), sig, sl));
	/* a flipped bit of the digest does not verify */
	d[0] ^= 1;
	assert_false(verify(k, RSA_PKCS1_PSS_PADDING, -1, d, sizeof(d), sig, sl));
	EVP_PKEY_free(k);
}

static void
test_ecdsa_signature_verifies(void **state)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");
	uint8_t		 d[32], sig[256];
	size_t		 sl = sizeof(sig);

	(void)state;
	assert_non_null(k);
	memset(d, 0x33, sizeof(d));
	assert_int_equal(tls_sign(k, TLS_SIGN_ECDSA, NID_sha256, 0, d, sizeof(d),
	    sig, &sl), 0);
	assert_true(verify(k, 0, 0, d, sizeof(d), sig, sl));
	EVP_PKEY_free(k);
}

static void
test_requests_that_do_not_fit_are_refused(void **state)
{
	EVP_PKEY	*rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
	uint8_t		 d[64] = { 0 }, sig[512];
	size_t		 sl = sizeof(sig);

	(void)state;
	/* RSA padding with an EC key, and no padding with an RSA key */
	assert_int_equal(tls_sign(ec, TLS_SIGN_RSA_PKCS1, NID_sha256, 0, d, 32,
	    sig, &sl), -1);
	assert_int_equal(tls_sign(rsa, TLS_SIGN_ECDSA, NID_sha256, 0, d, 32,
	    sig, &sl), -1);
	/* a digest length that is not the digest's */
	assert_int_equal(tls_sign(rsa, TLS_SIGN_RSA_PKCS1, NID_sha256, 0, d, 20,
	    sig, &sl), -1);
	/* an unknown digest */
	assert_int_equal(tls_sign(rsa, TLS_SIGN_RSA_PKCS1, 999999, 0, d, 32,
	    sig, &sl), -1);
	/* a signature buffer too small */
	sl = 16;
	assert_int_equal(tls_sign(rsa, TLS_SIGN_RSA_PKCS1, NID_sha256, 0, d, 32,
	    sig, &sl), -1);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_pkcs1_and_pss_signatures_verify),
		cmocka_unit_test(test_ecdsa_signature_verifies),
		cmocka_unit_test(test_requests_that_do_not_fit_are_refused),
	};
	return cmocka_run_group_tests_name("master_tls", tests, NULL, NULL);
}
