/* TLS key material: the master checks and keeps each listener's key, and signs for smtpd, which never holds one. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "log.h"
#include "master.h"
#include "pack.h"
#include "tls.h"

#define TLS_MAX_DIGEST	64

int	tls_check_absent_ok;	/* issue 4 */

static void
ssl_reason(char *out, size_t outsz)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(out, outsz, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, out, outsz);
	ERR_clear_error();
}

int
tls_check_config(const struct config *c, struct buf *err)
{
	const struct listener_conf	*l;
	SSL_CTX				*ctx;
	struct stat			 st;
	char				 why[256];
	size_t				 i;
	int				 nerr = 0;

	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		if (l->tls == TLS_NONE)
			continue;
		if (l->cert[0] == '\0' || l->key[0] == '\0') {
			buf_appendf(err, "%s:%d: listener %s: tls = %s needs both "
			    "cert and key\n", c->path, l->line, l->name,
			    l->tls == TLS_MAY ? "may" : l->tls == TLS_REQUIRED ?
			    "required" : "implicit");
			nerr++;
			continue;
		}
		if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
			ssl_reason(why, sizeof(why));
			buf_appendf(err, "%s: %s\n", c->path, why);
			return nerr + 1;
		}
		/* issue 4: smtpd builds its context late; refuse a bad list now */
		if (l->tls_ciphers[0] != '\0' &&
		    SSL_CTX_set_cipher_list(ctx, l->tls_ciphers) != 1) {
			ssl_reason(why, sizeof(why));
			buf_appendf(err, "%s:%d: listener %s: tls_ciphers %s: %s\n",
			    c->path, l->line, l->name, l->tls_ciphers, why);
			nerr++;
		}
		/* issue 4: -n on a machine not yet given its certificate */
		if (tls_check_absent_ok && stat(l->cert, &st) == -1 &&
		    errno == ENOENT && stat(l->key, &st) == -1 && errno == ENOENT) {
			printf("postern: listener %s: cert %s and key %s do not "
			    "exist yet; postern will not start without them\n",
			    l->name, l->cert, l->key);
			SSL_CTX_free(ctx);
			continue;
		}
		if (SSL_CTX_use_certificate_chain_file(ctx, l->cert) != 1) {
			ssl_reason(why, sizeof(why));
			buf_appendf(err, "%s:%d: listener %s: cert %s: %s\n",
			    c->path, l->line, l->name, l->cert, why);
			nerr++;
		} else if (SSL_CTX_use_PrivateKey_file(ctx, l->key,
		    SSL_FILETYPE_PEM) != 1) {
			ssl_reason(why, sizeof(why));
			buf_appendf(err, "%s:%d: listener %s: key %s: %s\n",
			    c->path, l->line, l->name, l->key, why);
			nerr++;
		} else if (SSL_CTX_check_private_key(ctx) != 1) {
			buf_appendf(err, "%s:%d: listener %s: key %s does not "
			    "match cert %s\n", c->path, l->line, l->name, l->key,
			    l->cert);
			nerr++;
		} else if (stat(l->key, &st) == 0 && (st.st_mode & 077))
			log_warn("listener %s: key %s is readable by others than "
			    "its owner (mode %03o); make it 0600", l->name, l->key,
			    (unsigned)(st.st_mode & 0777));
		SSL_CTX_free(ctx);
	}
	return nerr;
}

int
tls_load_keys(const struct config *c, struct tls_keys *out)
{
	const struct listener_conf	*l;
	FILE				*f;
	char				 why[256];
	size_t				 i;

	out->n = c->nlisteners;
	if ((out->key = calloc(out->n ? out->n : 1, sizeof(*out->key))) == NULL)
		return -1;
	for (i = 0; i < c->nlisteners; i++) {
		l = &c->listeners[i];
		if (l->tls == TLS_NONE)
			continue;
		if ((f = fopen(l->key, "re")) == NULL) {
			log_errno("listener %s: key %s", l->name, l->key);
			tls_keys_free(out);
			return -1;
		}
		out->key[i] = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (out->key[i] == NULL) {
			ssl_reason(why, sizeof(why));
			log_err("listener %s: key %s: %s", l->name, l->key, why);
			tls_keys_free(out);
			return -1;
		}
	}
	return 0;
}

void
tls_keys_free(struct tls_keys *k)
{
	size_t i;

	for (i = 0; i < k->n && k->key != NULL; i++)
		EVP_PKEY_free(k->key[i]);
	free(k->key);
	k->key = NULL;
	k->n = 0;
}

int
tls_send_certs(const struct config *c, struct ipc_chan *smtpd)
{
	const struct listener_conf	*l;
	struct buf			 cert, b;
	size_t				 i;
	int				 r = 0;

	buf_init(&cert);
	buf_init(&b);
	for (i = 0; i < c->nlisteners && r == 0; i++) {
		l = &c->listeners[i];
		if (l->tls == TLS_NONE)
			continue;
		buf_reset(&cert);
		buf_reset(&b);
		if (config_read_file(l->cert, &cert) == -1) {
			log_errno("listener %s: reading %s", l->name, l->cert);
			r = -1;
		} else if (pack_u32(&b, (uint32_t)i) == -1 ||
		    pack_bytes(&b, cert.p, cert.len) == -1 ||
		    ipc_send_buf(smtpd, IPC_TLS_CERT, 0, -1, &b) == -1) {
			log_err("listener %s: certificate chain %s too large "
			    "(at most %d bytes)", l->name, l->cert, IPC_MAX_PAYLOAD);
			r = -1;
		}
	}
	buf_free(&cert);
	buf_free(&b);
	return r;
}

int
tls_sign(EVP_PKEY *key, uint32_t padding, int md_nid, int saltlen,
    const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen)
{
	EVP_PKEY_CTX	*ctx;
	const EVP_MD	*md;
	int		 ok = 0, is_rsa = EVP_PKEY_base_id(key) == EVP_PKEY_RSA;

	if (dlen == 0 || dlen > TLS_MAX_DIGEST ||
	    (md = EVP_get_digestbynid(md_nid)) == NULL ||
	    (size_t)EVP_MD_get_size(md) != dlen)
		return -1;
	/* the padding must fit the key: no RSA tricks with an EC key */
	if (is_rsa != (padding == TLS_SIGN_RSA_PKCS1 || padding == TLS_SIGN_RSA_PSS))
		return -1;
	if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
	    (padding != TLS_SIGN_RSA_PKCS1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
	    (padding != TLS_SIGN_RSA_PSS ||
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) == 1)) &&
	    EVP_PKEY_sign(ctx, sig, siglen, dgst, dlen) == 1)
		ok = 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

static void
signer_msg(struct ipc_chan *ch, struct ipc_msg *msg, void *arg)
{
	struct master	*m = arg;
	struct unpack	 u;
	struct buf	 b;
	uint32_t	 idx, pad, nid, salt;
	const void	*dgst;
	size_t		 dlen, siglen = 0;
	uint8_t		 sig[1024];
	int		 ok = -1;

	if (msg->type != IPC_TLS_SIGN || msg->fd != -1) {
		log_err("signer: unexpected %s from smtpd; closing",
		    ipc_type_name(msg->type));
		ipc_chan_free(ch);
		m->signer = NULL;
		return;
	}
	unpack_init(&u, msg->data, msg->len);
	if (unpack_u32(&u, &idx) == 0 && unpack_u32(&u, &pad) == 0 &&
	    unpack_u32(&u, &nid) == 0 && unpack_u32(&u, &salt) == 0 &&
	    unpack_bytes(&u, &dgst, &dlen, TLS_MAX_DIGEST) == 0 &&
	    unpack_done(&u) == 0 && idx < m->keys.n && m->keys.key[idx] != NULL &&
	    (size_t)EVP_PKEY_get_size(m->keys.key[idx]) <= sizeof(sig)) {
		siglen = sizeof(sig);
		ok = tls_sign(m->keys.key[idx], pad, (int)nid, (int32_t)salt, dgst,
		    dlen, sig, &siglen);
	}
	if (ok == -1) {
		log_warn("signer: refused a signing request from smtpd "
		    "(listener %u)", idx);
		siglen = 0;
	}
	buf_init(&b);
	if (pack_u32(&b, ok == 0 ? 0 : 1) == 0 && pack_bytes(&b, sig, siglen) == 0)
		ipc_send_buf(ch, IPC_TLS_SIGNATURE, msg->id, -1, &b);
	buf_free(&b);
}

static void
signer_close(struct ipc_chan *ch, void *arg)
{
	struct master *m = arg;

	ipc_chan_free(ch);
	if (m->signer == ch)
		m->signer = NULL;
}

int
tls_start_signer(struct master *m, struct ipc_chan *smtpd)
{
	size_t	 i;
	int	 sv[2];

	for (i = 0; i < m->conf->nlisteners; i++)
		if (m->conf->listeners[i].tls != TLS_NONE)
			break;
	if (i == m->conf->nlisteners)
		return 0;		/* no TLS anywhere: no signer */
	if (m->signer != NULL) {
		ipc_chan_free(m->signer);	/* the old smtpd's */
		m->signer = NULL;
	}
	if (ipc_socketpair(sv) == -1) {
		log_errno("signer socketpair");
		return -1;
	}
	if ((m->signer = ipc_chan_new(m->base, sv[0], "smtpd-signer", signer_msg,
	    signer_close, m)) == NULL) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return ipc_send(smtpd, IPC_TLS_SIGNER, 0, sv[1], NULL, 0);
}
