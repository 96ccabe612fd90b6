/* smtpd's TLS contexts (one per listener) and remote signing keys. */
#ifndef POSTERN_SMTPD_TLS_H
#define POSTERN_SMTPD_TLS_H

#include <stdint.h>

#include <openssl/ssl.h>

/* tls.c: IPC_TLS_CERT: builds (or rebuilds) the listener's context. */
int	 tls_set_cert(uint32_t idx, const void *pem, size_t len);
int	 tls_set_cert_ciphers(uint32_t, const void *, size_t, const char *);
/* The listener's context, NULL when it has no certificate (yet). */
SSL_CTX	*tls_ctx(uint32_t idx);
void	 tls_free_all(void);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" */
void	 tls_describe(SSL *, char *, size_t);

/* tls_sign.c: the master's signer channel (IPC_TLS_SIGNER). */
void	 tls_sign_set_fd(int fd);
/* A key holding only cert's public key whose signing goes to the master. */
EVP_PKEY *tls_sign_pkey(X509 *cert, uint32_t idx);

#endif
