/* smtpd's private-key operations: forwarded to the master, which holds the keys. */
/*
 * OpenSSL 3 offers no non-deprecated way to make a key whose signing is
 * done elsewhere short of writing a provider; the legacy method tables
 * do it in a page, so this one file uses them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "log.h"
#include "pack.h"
#include "smtpd.h"
#include "tls.h"

/* How long a handshake waits for the master's signature. */
#define SIGN_WAIT_MS	2000
/*
 * The listener index travels with the key as ex_data (index + 1, so that
 * 0 means "not ours"): a session in the middle of a handshake keeps its
 * old key across a reload, and still signs with the right listener's.
 */
static int			 ec_ex_idx = -1;
static int			 signer_fd = -1;
static uint32_t			 sign_seq;
static EC_KEY_METHOD		*ec_meth;
static RSA_METHOD		*rsa_meth;
static EVP_PKEY_METHOD		*rsa_pmeth;
static int			 (*rsa_sign_orig)(EVP_PKEY_CTX *, unsigned char *,
				    size_t *, const unsigned char *, size_t);

void
tls_sign_set_fd(int fd)
{
	if (signer_fd != -1)
		close(signer_fd);
	signer_fd = fd;
}

static int
key_index(uintptr_t v, uint32_t *idx)
{
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*idx = (uint32_t)(v - 1);
	return 0;
}

/* Asks the master; blocks at most SIGN_WAIT_MS (the handshake waits). */
static int
remote_sign(uint32_t idx, uint32_t pad, int nid, int salt,
    const unsigned char *dgst, size_t dlen, unsigned char *sig, size_t *siglen)
{
	struct buf	 b;
	struct ipc_msg	 m;
	struct unpack	 u;
	struct timespec	 start, now;
	uint8_t		*payload;
	const void	*s;
	size_t		 slen;
	uint32_t	 id, status;
	long		 left;
	int		 r = -1;

	if (signer_fd == -1) {
		log_warn("tls: no signer channel from the master");
		return -1;
	}
	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL)
		return -1;
	buf_init(&b);
	id = ++sign_seq;
	if (pack_u32(&b, idx) == -1 || pack_u32(&b, pad) == -1 ||
	    pack_u32(&b, (uint32_t)nid) == -1 ||
	    pack_u32(&b, (uint32_t)(int32_t)salt) == -1 ||
	    pack_bytes(&b, dgst, dlen) == -1 ||
	    ipc_sync_send(signer_fd, IPC_TLS_SIGN, id, -1, b.p, b.len) == -1) {
		log_warn("tls: sending a signing request failed");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = SIGN_WAIT_MS - ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			log_warn("tls: the master did not sign in time");
			goto out;
		}
		if (ipc_sync_recv(signer_fd, &m, payload, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("tls: signer channel: %s", strerror(errno));
			goto out;
		}
		if (m.fd != -1)
			close(m.fd);
		/* an answer to an earlier request that timed out: skip it */
		if (m.type != IPC_TLS_SIGNATURE || m.id != id)
			continue;
		unpack_init(&u, m.data, m.len);
		if (unpack_u32(&u, &status) == -1 ||
		    unpack_bytes(&u, &s, &slen, IPC_MAX_PAYLOAD) == -1 ||
		    unpack_done(&u) == -1 || status != 0 || slen > *siglen) {
			log_warn("tls: the master refused to sign");
			goto out;
		}
		memcpy(sig, s, slen);
		*siglen = slen;
		r = 0;
		goto out;
	}
out:
	buf_free(&b);
	free(payload);
	return r;
}

static int
digest_nid(size_t dlen)
{
	switch (dlen) {
	case 20:
		return NID_sha1;
	case 28:
		return NID_sha224;
	case 32:
		return NID_sha256;
	case 48:
		return NID_sha384;
	case 64:
		return NID_sha512;
	}
	return NID_undef;
}

/* ECDSA needs no digest name: the master only wants one of the right size. */
static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	uint32_t	 idx;
	size_t		 len;

	(void)type;
	(void)kinv;
	(void)r;
	if (key_index((uintptr_t)EC_KEY_get_ex_data(eckey, ec_ex_idx), &idx) == -1 ||
	    dlen <= 0)
		return 0;
	len = (size_t)ECDSA_size(eckey);
	if (remote_sign(idx, TLS_SIGN_ECDSA, digest_nid((size_t)dlen), 0, dgst,
	    (size_t)dlen, sig, &len) == -1)
		return 0;
	*siglen = (unsigned int)len;
	return 1;
}

/*
 * RSA signs through the key-type method, where the padding (PKCS#1 or
 * PSS), the digest and the salt length are all known, unlike in
 * RSA_METHOD, which only sees the padded block for PSS.
 */
static int
rsa_pmeth_sign(EVP_PKEY_CTX *ctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	EVP_PKEY	*pk = EVP_PKEY_CTX_get0_pkey(ctx);
	const RSA	*rsa;
	const EVP_MD	*md = NULL;
	uint32_t	 idx;
	int		 pad = 0, salt = -1;

	if (pk == NULL || (rsa = EVP_PKEY_get0_RSA(pk)) == NULL ||
	    key_index((uintptr_t)RSA_get_app_data(rsa), &idx) == -1)
		return rsa_sign_orig(ctx, sig, siglen, tbs, tbslen);
	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(pk);
		return 1;
	}
	if (EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 || md == NULL ||
	    EVP_PKEY_CTX_get_rsa_padding(ctx, &pad) <= 0)
		return 0;
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    EVP_PKEY_CTX_get_rsa_pss_saltlen(ctx, &salt) <= 0)
		return 0;
	if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING)
		return 0;
	if (remote_sign(idx, pad == RSA_PKCS1_PADDING ? TLS_SIGN_RSA_PKCS1 :
	    TLS_SIGN_RSA_PSS, EVP_MD_get_type(md), salt, tbs, tbslen, sig,
	    siglen) == -1)
		return 0;
	return 1;
}

static int
methods_init(void)
{
	const EVP_PKEY_METHOD	*def;
	int			 (*init)(EVP_PKEY_CTX *);

	if (ec_meth != NULL)
		return 0;
	if ((ec_ex_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL,
	    NULL)) == -1)
		return -1;
	if ((ec_meth = EC_KEY_METHOD_new(EC_KEY_get_default_method())) == NULL)
		return -1;
	EC_KEY_METHOD_set_sign(ec_meth, ec_sign, NULL, NULL);
	if ((rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL)
		return -1;
	RSA_meth_set1_name(rsa_meth, "postern master");
	if ((def = EVP_PKEY_meth_find(EVP_PKEY_RSA)) == NULL ||
	    (rsa_pmeth = EVP_PKEY_meth_new(EVP_PKEY_RSA, 0)) == NULL)
		return -1;
	EVP_PKEY_meth_copy(rsa_pmeth, def);
	EVP_PKEY_meth_get_sign(def, &init, &rsa_sign_orig);
	EVP_PKEY_meth_set_sign(rsa_pmeth, init, rsa_pmeth_sign);
	if (EVP_PKEY_meth_add0(rsa_pmeth) != 1)
		return -1;
	return 0;
}

EVP_PKEY *
tls_sign_pkey(X509 *cert, uint32_t idx)
{
	EVP_PKEY	*pub, *pk = NULL;
	EC_KEY		*ec = NULL;
	RSA		*rsa = NULL;
	void		*tag = (void *)((uintptr_t)idx + 1);

	if (methods_init() == -1 ||
	    (pub = X509_get_pubkey(cert)) == NULL)
		return NULL;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		if ((ec = EVP_PKEY_get1_EC_KEY(pub)) == NULL ||
		    EC_KEY_set_method(ec, ec_meth) != 1 ||
		    EC_KEY_set_ex_data(ec, ec_ex_idx, tag) != 1 ||
		    (pk = EVP_PKEY_new()) == NULL ||
		    EVP_PKEY_assign_EC_KEY(pk, ec) != 1)
			goto fail;
		ec = NULL;
		break;
	case EVP_PKEY_RSA:
		if ((rsa = EVP_PKEY_get1_RSA(pub)) == NULL ||
		    RSA_set_method(rsa, rsa_meth) != 1 ||
		    RSA_set_app_data(rsa, tag) != 1 ||
		    (pk = EVP_PKEY_new()) == NULL ||
		    EVP_PKEY_assign_RSA(pk, rsa) != 1)
			goto fail;
		rsa = NULL;
		break;
	default:
		log_warn("tls: listener %u: unsupported key type", idx);
		goto fail;
	}
	EVP_PKEY_free(pub);
	return pk;
fail:
	EC_KEY_free(ec);
	RSA_free(rsa);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(pub);
	return NULL;
}
