/*
 * The SMTP client's TLS context: OpenSSL 3. The CA files are read into
 * memory before chroot (tls_preload) and parsed afterwards, so that root's
 * part of the start stays short and nothing is read from disk once
 * chrooted (the hashed certificate folder would be read lazily, and fail).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "deliver.h"
#include "log.h"

#define TLS_CA_MAX	(16 * 1024 * 1024)	/* octets of one CA file */

static struct buf	 ca_system, ca_extra;
static const char	*ca_extra_path;
static int		 ca_extra_failed;

static void
tls_log_errors(const char *what)
{
	unsigned long	 e;
	char		 text[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		log_err("deliver: %s: %s", what, text);
	}
}

static int
read_file(const char *path, struct buf *out)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size > TLS_CA_MAX ||
	    buf_reserve(out, (size_t)st.st_size + 1) == -1) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	for (;;) {
		if (buf_reserve(out, 65536) == -1 || out->len > TLS_CA_MAX) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		n = read(fd, out->p + out->len, 65536);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out->len += (size_t)n;
	}
	close(fd);
	return n == -1 ? -1 : 0;
}

void
tls_preload(const char *ca_file)
{
	const char *sys;

	/* openssl.cnf is read here, once */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		tls_log_errors("TLS set-up");
	sys = X509_get_default_cert_file();
	buf_init(&ca_system);
	if (read_file(sys, &ca_system) == -1) {
		log_warn("deliver: no system CA bundle at %s (%s): tls = verify "
		    "will trust only smtp_tls_ca_file", sys, strerror(errno));
		buf_free(&ca_system);
	}
	buf_init(&ca_extra);
	if (ca_file != NULL && ca_file[0] != '\0') {
		ca_extra_path = ca_file;
		if (read_file(ca_file, &ca_extra) == -1) {
			log_err("deliver: cannot read smtp_tls_ca_file %s: %s",
			    ca_file, strerror(errno));
			ca_extra_failed = 1;
		}
	}
}

/* Adds every certificate of a PEM bundle in memory to store. */
static int
store_add_pem(X509_STORE *store, const struct buf *pem, const char *what)
{
	STACK_OF(X509_INFO)	*infos;
	X509_INFO		*xi;
	BIO			*bio;
	int			 i, n = 0;

	if (pem->len == 0 || pem->len > INT_MAX)
		return 0;
	if ((bio = BIO_new_mem_buf(pem->p, (int)pem->len)) == NULL)
		return -1;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (infos == NULL) {
		tls_log_errors(what);
		return -1;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 != NULL && X509_STORE_add_cert(store, xi->x509) == 1)
			n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	ERR_clear_error();	/* duplicates in a bundle are no error */
	return n;
}

struct ssl_ctx_st *
tls_client_ctx(void)
{
	SSL_CTX		*ctx;
	X509_STORE	*store;

	if (ca_extra_failed ||
	    (ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_log_errors("TLS set-up");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* the verdict is ours (per policy) after the handshake, so that an
	 * opportunistic session with a bad certificate still encrypts */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	store = SSL_CTX_get_cert_store(ctx);
	if (store_add_pem(store, &ca_system, "system CA bundle") == -1)
		log_warn("deliver: the system CA bundle did not parse");
	if (ca_extra_path != NULL &&
	    store_add_pem(store, &ca_extra, ca_extra_path) <= 0) {
		log_err("deliver: no certificate in smtp_tls_ca_file %s",
		    ca_extra_path);
		SSL_CTX_free(ctx);
		return NULL;
	}
	buf_free(&ca_system);
	buf_free(&ca_extra);
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		tls_log_errors("DANE set-up");
		log_warn("deliver: DANE unavailable");
	}
	return ctx;
}
