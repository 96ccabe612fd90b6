/* The Berkeley DB spool: environment, envelope and content databases, transactions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmgr.h"

#define SPOOL_ENVELOPES		"envelopes.db"
#define SPOOL_CONTENT		"content.db"
#define SPOOL_TRACE		"trace.db"
#define SPOOL_CACHE_BYTES	(16 * 1024 * 1024)
#define SPOOL_LOG_BUFFER	(4 * 1024 * 1024)
#define SPOOL_LOG_MAX		(16 * 1024 * 1024)
/* A message's whole content is written in one transaction. */
#define SPOOL_MAX_LOCKS		100000

struct spool {
	DB_ENV	*env;
	DB	*envelopes;
	DB	*content;
	DB	*trace;
	int	 err;
	int	 panicked;
};

static void
spool_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	log_err("%s: %s", pfx ? pfx : "spool", msg);
}

/* Records the error for the caller's reply and logs it once, here. */
static int
spool_fail(struct spool *sp, int ret, const char *what, const char *qid)
{
	sp->err = ret;
	if (ret == DB_RUNRECOVERY)
		sp->panicked = 1;
	log_err("spool: %s%s%s: %s", what, qid ? " " : "", qid ? qid : "",
	    db_strerror(ret));
	return -1;
}

int
spool_error(const struct spool *sp)
{
	return sp->err;
}

int
spool_nospace(const struct spool *sp)
{
	return sp->err == ENOSPC || sp->err == EDQUOT;
}

int
spool_panicked(const struct spool *sp)
{
	return sp->panicked;
}

static int
spool_open_db(struct spool *sp, DB **dbp, const char *file, u_int32_t pagesize)
{
	DB	*db;
	int	 ret;

	if ((ret = db_create(&db, sp->env, 0)) != 0)
		return spool_fail(sp, ret, "db_create", file);
	if (pagesize && (ret = db->set_pagesize(db, pagesize)) != 0) {
		db->close(db, 0);
		return spool_fail(sp, ret, "set_pagesize", file);
	}
	if ((ret = db->open(db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0) {
		db->close(db, 0);
		return spool_fail(sp, ret, "open", file);
	}
	*dbp = db;
	return 0;
}

struct spool *
spool_open(const char *home)
{
	struct spool	*sp;
	DB_ENV		*env;
	int		 ret;

	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		log_errno("spool: calloc");
		return NULL;
	}
	if ((ret = db_env_create(&env, 0)) != 0) {
		spool_fail(sp, ret, "db_env_create", NULL);
		free(sp);
		return NULL;
	}
	sp->env = env;
	env->set_errcall(env, spool_errcall);
	env->set_errpfx(env, "spool");
	if ((ret = env->set_cachesize(env, 0, SPOOL_CACHE_BYTES, 1)) != 0 ||
	    (ret = env->set_lg_bsize(env, SPOOL_LOG_BUFFER)) != 0 ||
	    (ret = env->set_lg_max(env, SPOOL_LOG_MAX)) != 0 ||
	    (ret = env->set_lk_max_locks(env, SPOOL_MAX_LOCKS)) != 0 ||
	    (ret = env->set_lk_max_objects(env, SPOOL_MAX_LOCKS)) != 0 ||
	    /* the chroot has no /tmp: Berkeley DB's scratch files stay home */
	    (ret = env->set_tmp_dir(env, home)) != 0 ||
	    /* the log is only kept until a checkpoint makes it unneeded */
	    (ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
		spool_fail(sp, ret, "configuring the environment", home);
		goto fail;
	}
	/*
	 * DB_PRIVATE: queue-mgr is the environment's only user, so its
	 * regions live in our heap and a kill -9 leaves no stale shared
	 * region behind; DB_RECOVER replays the log into the databases.
	 */
	if ((ret = env->open(env, home, DB_CREATE | DB_INIT_TXN | DB_INIT_LOG |
	    DB_INIT_LOCK | DB_INIT_MPOOL | DB_RECOVER | DB_PRIVATE, 0600)) != 0) {
		spool_fail(sp, ret, "opening the environment in", home);
		goto fail;
	}
	if (spool_open_db(sp, &sp->envelopes, SPOOL_ENVELOPES, 0) == -1 ||
	    spool_open_db(sp, &sp->content, SPOOL_CONTENT, CONTENT_PAGESIZE) == -1 ||
	    spool_open_db(sp, &sp->trace, SPOOL_TRACE, 0) == -1)
		goto fail;
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	int	 ret;

	if (sp == NULL)
		return;
	if (sp->envelopes != NULL && (ret = sp->envelopes->close(sp->envelopes, 0)) != 0)
		spool_fail(sp, ret, "closing", SPOOL_ENVELOPES);
	if (sp->content != NULL && (ret = sp->content->close(sp->content, 0)) != 0)
		spool_fail(sp, ret, "closing", SPOOL_CONTENT);
	if (sp->trace != NULL && (ret = sp->trace->close(sp->trace, 0)) != 0)
		spool_fail(sp, ret, "closing", SPOOL_TRACE);
	if (sp->env != NULL && (ret = sp->env->close(sp->env, 0)) != 0)
		spool_fail(sp, ret, "closing the environment", NULL);
	free(sp);
}

int
spool_txn_begin(struct spool *sp, DB_TXN **txn)
{
	int	 ret;

	if ((ret = sp->env->txn_begin(sp->env, NULL, txn, 0)) != 0)
		return spool_fail(sp, ret, "txn_begin", NULL);
	return 0;
}

int
spool_txn_commit(struct spool *sp, DB_TXN *txn)
{
	int	 ret;

	/* the commit record waits in the log buffer for the group flush */
	if ((ret = txn->commit(txn, DB_TXN_NOSYNC)) != 0)
		return spool_fail(sp, ret, "commit", NULL);
	return 0;
}

void
spool_txn_abort(struct spool *sp, DB_TXN *txn)
{
	int	 ret;

	if ((ret = txn->abort(txn)) != 0)
		spool_fail(sp, ret, "abort", NULL);
}

int
spool_flush(struct spool *sp)
{
	int	 ret;

	if ((ret = sp->env->log_flush(sp->env, NULL)) != 0)
		return spool_fail(sp, ret, "log flush", NULL);
	return 0;
}

int
spool_checkpoint(struct spool *sp)
{
	int	 ret;

	if ((ret = sp->env->txn_checkpoint(sp->env, 0, 0, 0)) != 0)
		return spool_fail(sp, ret, "checkpoint", NULL);
	return 0;
}

int
spool_put_envelope(struct spool *sp, DB_TXN *txn, const char *qid,
    const struct qenv *e, int create)
{
	DBT		 key, val;
	struct buf	 b;
	int		 ret;

	buf_init(&b);
	if (record_env_encode(e, &b) == -1) {
		buf_free(&b);
		return spool_fail(sp, ENOMEM, "encoding envelope", qid);
	}
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)qid;
	key.size = QID_LEN;
	val.data = b.p;
	val.size = (u_int32_t)b.len;
	ret = sp->envelopes->put(sp->envelopes, txn, &key, &val,
	    create ? DB_NOOVERWRITE : 0);
	buf_free(&b);
	if (ret != 0)
		return spool_fail(sp, ret, "writing envelope", qid);
	return 0;
}

int
spool_put_content(struct spool *sp, DB_TXN *txn, const char *qid,
    const void *data, size_t len)
{
	uint8_t		 k[CONTENT_KEY_LEN];
	DBT		 key, val;
	size_t		 off, n;
	uint32_t	 chunk;
	int		 ret;

	if (len > RECORD_MAX_SIZE)
		return spool_fail(sp, EFBIG, "writing content", qid);
	for (off = 0, chunk = 0; off < len; off += n, chunk++) {
		n = len - off < CONTENT_CHUNK ? len - off : CONTENT_CHUNK;
		record_content_key(qid, chunk, k);
		memset(&key, 0, sizeof(key));
		memset(&val, 0, sizeof(val));
		key.data = k;
		key.size = sizeof(k);
		val.data = (void *)((const uint8_t *)data + off);
		val.size = (u_int32_t)n;
		if ((ret = sp->content->put(sp->content, txn, &key, &val,
		    DB_NOOVERWRITE)) != 0)
			return spool_fail(sp, ret, "writing content", qid);
	}
	return 0;
}

int
spool_delete(struct spool *sp, DB_TXN *txn, const char *qid)
{
	uint8_t		 k[CONTENT_KEY_LEN];
	DBC		*c;
	DBT		 key, val;
	int		 ret, cret;

	memset(&key, 0, sizeof(key));
	key.data = (void *)qid;
	key.size = QID_LEN;
	ret = sp->envelopes->del(sp->envelopes, txn, &key, 0);
	if (ret != 0 && ret != DB_NOTFOUND)
		return spool_fail(sp, ret, "deleting envelope", qid);

	/* every chunk with the id as prefix, even beyond what size says */
	if ((ret = sp->content->cursor(sp->content, txn, &c, 0)) != 0)
		return spool_fail(sp, ret, "cursor", qid);
	record_content_key(qid, 0, k);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = k;
	key.size = sizeof(k);
	key.ulen = sizeof(k);
	key.flags = DB_DBT_USERMEM;
	val.flags = DB_DBT_PARTIAL;	/* no need to read the bytes */
	ret = c->get(c, &key, &val, DB_SET_RANGE | DB_RMW);
	while (ret == 0) {
		if (key.size != CONTENT_KEY_LEN || memcmp(k, qid, QID_LEN) != 0)
			break;
		if ((ret = c->del(c, 0)) != 0)
			break;
		ret = c->get(c, &key, &val, DB_NEXT | DB_RMW);
	}
	if ((cret = c->close(c)) != 0 && (ret == 0 || ret == DB_NOTFOUND))
		ret = cret;
	if (ret != 0 && ret != DB_NOTFOUND && ret != DB_BUFFER_SMALL)
		return spool_fail(sp, ret, "deleting content", qid);
	return 0;
}

int
spool_get_envelope(struct spool *sp, const char *qid, struct qenv *e)
{
	DBT	 key, val;
	int	 ret;

	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)qid;
	key.size = QID_LEN;
	val.flags = DB_DBT_MALLOC;
	ret = sp->envelopes->get(sp->envelopes, NULL, &key, &val, 0);
	if (ret == DB_NOTFOUND)
		return 1;
	if (ret != 0)
		return spool_fail(sp, ret, "reading envelope", qid);
	ret = record_env_decode(val.data, val.size, e);
	free(val.data);
	if (ret == -1) {
		log_err("spool: %s: corrupt envelope record, not trusted", qid);
		return -1;
	}
	return 0;
}

int
spool_read_content(struct spool *sp, const char *qid, uint64_t size,
    int (*cb)(const void *, size_t, void *), void *arg)
{
	uint8_t		 k[CONTENT_KEY_LEN], want[CONTENT_KEY_LEN];
	DBC		*c;
	DBT		 key, val;
	uint64_t	 got = 0;
	uint32_t	 chunk = 0;
	int		 ret, rv = -1;

	if ((ret = sp->content->cursor(sp->content, NULL, &c, 0)) != 0)
		return spool_fail(sp, ret, "cursor", qid);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	record_content_key(qid, 0, k);
	key.data = k;
	key.size = sizeof(k);
	key.ulen = sizeof(k);
	key.flags = DB_DBT_USERMEM;
	val.flags = DB_DBT_REALLOC;
	ret = c->get(c, &key, &val, DB_SET_RANGE);
	/* chunks are numbered from 0 without a gap and add up to size */
	for (; got < size; chunk++) {
		if (ret != 0)
			break;
		record_content_key(qid, chunk, want);
		if (key.size != CONTENT_KEY_LEN || memcmp(k, want, sizeof(want)) != 0 ||
		    val.size == 0 || val.size > CONTENT_PAGESIZE ||
		    val.size > size - got) {
			log_err("spool: %s: content chunk %u missing or malformed",
			    qid, chunk);
			goto out;
		}
		got += val.size;
		if (cb(val.data, val.size, arg) == -1)
			goto out;
		ret = c->get(c, &key, &val, DB_NEXT);
	}
	if (ret != 0 && ret != DB_NOTFOUND) {
		spool_fail(sp, ret, "reading content", qid);
		goto out;
	}
	if (got != size) {
		log_err("spool: %s: content is %llu bytes, envelope says %llu",
		    qid, (unsigned long long)got, (unsigned long long)size);
		goto out;
	}
	rv = 0;
out:
	free(val.data);
	if ((ret = c->close(c)) != 0) {
		spool_fail(sp, ret, "cursor close", qid);
		rv = -1;
	}
	return rv;
}

int
spool_scan(struct spool *sp, int (*cb)(const char *, struct qenv *, void *),
    void *arg)
{
	DBC		*c;
	DBT		 key, val;
	struct qenv	 e;
	char		 qid[QID_SIZE];
	int		 ret, skipped = 0, rv = -1;

	if ((ret = sp->envelopes->cursor(sp->envelopes, NULL, &c, 0)) != 0)
		return spool_fail(sp, ret, "cursor", NULL);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.flags = DB_DBT_REALLOC;
	val.flags = DB_DBT_REALLOC;
	while ((ret = c->get(c, &key, &val, DB_NEXT)) == 0) {
		if (!qid_valid(key.data, key.size)) {
			log_err("spool: envelope with a malformed key, skipped");
			skipped++;
			continue;
		}
		memcpy(qid, key.data, QID_LEN);
		qid[QID_LEN] = '\0';
		if (record_env_decode(val.data, val.size, &e) == -1) {
			log_err("spool: %s: corrupt envelope record, skipped", qid);
			skipped++;
			continue;
		}
		if (cb(qid, &e, arg) == -1)
			goto out;
	}
	if (ret != DB_NOTFOUND) {
		spool_fail(sp, ret, "scanning envelopes", NULL);
		goto out;
	}
	rv = skipped;
out:
	free(key.data);
	free(val.data);
	if ((ret = c->close(c)) != 0) {
		spool_fail(sp, ret, "cursor close", NULL);
		rv = -1;
	}
	return rv;
}

int
spool_put_trace(struct spool *sp, DB_TXN *txn, const uint8_t *k, size_t klen,
    const void *v, size_t vlen)
{
	DBT	 key, val;
	int	 ret;

	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = (void *)k;
	key.size = (u_int32_t)klen;
	val.data = (void *)v;
	val.size = (u_int32_t)vlen;
	if ((ret = sp->trace->put(sp->trace, txn, &key, &val, 0)) != 0)
		return spool_fail(sp, ret, "writing trace", NULL);
	return 0;
}

int
spool_trace_walk(struct spool *sp, DB_TXN *txn, const uint8_t *from,
    size_t fromlen, int (*cb)(DBC *, const uint8_t *, size_t, const void *,
    size_t, void *), void *arg)
{
	uint8_t		 k[TRACE_KEY_LEN];
	DBC		*c;
	DBT		 key, val;
	int		 ret, r = 0, rv = -1;

	if (fromlen > sizeof(k))
		return -1;
	if ((ret = sp->trace->cursor(sp->trace, txn, &c, 0)) != 0)
		return spool_fail(sp, ret, "cursor", SPOOL_TRACE);
	memcpy(k, from, fromlen);
	memset(&key, 0, sizeof(key));
	memset(&val, 0, sizeof(val));
	key.data = k;
	key.size = (u_int32_t)fromlen;
	key.ulen = sizeof(k);
	key.flags = DB_DBT_USERMEM;
	val.flags = DB_DBT_REALLOC;
	ret = fromlen > 0 ? c->get(c, &key, &val, DB_SET_RANGE |
	    (txn ? DB_RMW : 0)) : c->get(c, &key, &val, DB_FIRST |
	    (txn ? DB_RMW : 0));
	while (ret == 0) {
		if ((r = cb(c, k, key.size, val.data, val.size, arg)) != 0)
			break;
		ret = c->get(c, &key, &val, DB_NEXT | (txn ? DB_RMW : 0));
	}
	if (r < 0)
		goto out;
	if (r == 0 && ret != DB_NOTFOUND) {
		/* a key longer than ours is not one of our records */
		spool_fail(sp, ret, "reading trace", NULL);
		goto out;
	}
	rv = r;
out:
	free(val.data);
	if ((ret = c->close(c)) != 0) {
		spool_fail(sp, ret, "cursor close", SPOOL_TRACE);
		rv = -1;
	}
	return rv;
}
