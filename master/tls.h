/* TLS key material: checked and kept by the master as root; smtpd gets certificates and signatures only. */
#ifndef POSTERN_MASTER_TLS_H
#define POSTERN_MASTER_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config.h"
#include "ipc.h"

struct master;

/* Private keys by listener index (NULL where the listener has no TLS). */
struct tls_keys {
	EVP_PKEY	**key;
	size_t		  n;
};

/* Every listener with tls != none has a cert chain and a key that load and
 * match; errors as "file:line: ..." appended to err. Returns their count. */
int	tls_check_config(const struct config *, struct buf *err);
/* issue 4: postern -n only; cert and key both absent is a note, not an
 * error, so the shipped example (paths under /etc/postern) checks clean. */
extern int tls_check_absent_ok;
int	tls_load_keys(const struct config *, struct tls_keys *);
void	tls_keys_free(struct tls_keys *);
/* IPC_TLS_CERT to smtpd for every listener with TLS. */
int	tls_send_certs(const struct config *, struct ipc_chan *smtpd);
/* A new signer channel for a (re)started smtpd: IPC_TLS_SIGNER. */
int	tls_start_signer(struct master *, struct ipc_chan *smtpd);
/* One signature over a digest (what IPC_TLS_SIGN asks); -1 if refused. */
int	tls_sign(EVP_PKEY *, uint32_t padding, int md_nid, int saltlen,
	    const uint8_t *dgst, size_t dlen, uint8_t *sig, size_t *siglen);

#endif
