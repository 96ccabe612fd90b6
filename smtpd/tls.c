/* smtpd's TLS contexts: built from the certificates the master sends. */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <bsd/string.h>

#include "log.h"
#include "smtpd.h"
#include "tls.h"

#define TLS_MAX_LISTENERS	64

/* ECDHE only: no key exchange ever needs our private key to decrypt. */
#define TLS12_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20"

struct tls_slot {
	SSL_CTX		*ctx;
	EVP_PKEY	*pkey;
};

static struct tls_slot	 slots[TLS_MAX_LISTENERS];

static void
slot_clear(struct tls_slot *t)
{
	/* sessions hold their own reference on the context */
	SSL_CTX_free(t->ctx);
	EVP_PKEY_free(t->pkey);
	t->ctx = NULL;
	t->pkey = NULL;
}

static void
log_ssl_errors(const char *what, uint32_t idx)
{
	unsigned long	 e;
	char		 text[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		log_warn("tls: listener %u: %s: %s", idx, what, text);
	}
}

int
tls_set_cert(uint32_t idx, const void *pem, size_t len)
{
	return tls_set_cert_ciphers(idx, pem, len, NULL);
}

/* ciphers: the listener's tls_ciphers (TLS 1.2); NULL or "" = ours */
int
tls_set_cert_ciphers(uint32_t idx, const void *pem, size_t len,
    const char *ciphers)
{
	struct tls_slot	 t = { NULL, NULL };
	BIO		*bio = NULL;
	X509		*x = NULL, *extra;
	int		 r = -1;

	if (idx >= TLS_MAX_LISTENERS || len == 0 || len > INT32_MAX)
		return -1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    (t.ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(t.ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(t.ctx, ciphers != NULL &&
	    ciphers[0] != '\0' ? ciphers : TLS12_CIPHERS) != 1 ||
	    SSL_CTX_use_certificate(t.ctx, x) != 1)
		goto out;
	while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add_extra_chain_cert(t.ctx, extra) != 1) {
			X509_free(extra);
			goto out;
		}
	}
	ERR_clear_error();	/* the end of the chain reads as an error */
	if ((t.pkey = tls_sign_pkey(x, idx)) == NULL ||
	    SSL_CTX_use_PrivateKey(t.ctx, t.pkey) != 1)
		goto out;
	SSL_CTX_set_options(t.ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(t.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(t.ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(t.ctx, 0);
	slot_clear(&slots[idx]);
	slots[idx] = t;
	t.ctx = NULL;
	t.pkey = NULL;
	r = 0;
out:
	if (r == -1)
		log_ssl_errors("certificate", idx);
	slot_clear(&t);
	X509_free(x);
	BIO_free(bio);
	return r;
}

SSL_CTX *
tls_ctx(uint32_t idx)
{
	return idx < TLS_MAX_LISTENERS ? slots[idx].ctx : NULL;
}

void
tls_free_all(void)
{
	size_t i;

	for (i = 0; i < TLS_MAX_LISTENERS; i++)
		slot_clear(&slots[i]);
	tls_sign_set_fd(-1);
}

void
tls_describe(SSL *ssl, char *out, size_t outsz)
{
	const SSL_CIPHER	*c = SSL_get_current_cipher(ssl);
	int			 alg = 0, bits;
	char			 tmp[160];

	bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;
	snprintf(tmp, sizeof(tmp), "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), c ? SSL_CIPHER_get_name(c) : "unknown",
	    bits, alg);
	strlcpy(out, tmp, outsz);
}
