/* AUTH for smtpd: PAM checks in a forked child each, failure limits per client and per user. */
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <security/pam_appl.h>

#include <bsd/string.h>

#include "auth.h"
#include "log.h"
#include "pack.h"

#define AUTH_USER_MAX		256
#define AUTH_PASS_MAX		1024
#define AUTH_CHECK_TIMEOUT	30	/* seconds a PAM check may take */
#define AUTH_FAIL_SLOTS		1024	/* failure records kept, oldest replaced */

/* Recent failures of one client address ("c:...") or one user ("u:..."). */
struct auth_fail {
	char	 key[AUTH_USER_MAX + 3];
	time_t	 first;
	unsigned count;
};

/* A PAM check under way in a child. */
struct auth_check {
	struct auth_check	*next;
	struct master		*m;
	pid_t			 pid;
	int			 fd;		/* read end of the result pipe */
	struct event		*ev;
	struct event		*timer;
	pid_t			 smtpd_pid;	/* reply only to the smtpd that asked */
	uint32_t		 id;
	struct buf		 in;
	char			 user[AUTH_USER_MAX + 1];
	char			 client[64];
	char			 mech[16];
};

static struct auth_fail		 fails[AUTH_FAIL_SLOTS];
static struct auth_check	*checks;
static unsigned			 nchecks;

struct pam_creds {
	const char	*user;
	const char	*pass;
};

/* PAM asks; we answer the user name and the password, and nothing else. */
static int
pam_conv_cb(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct pam_creds	*cr = arg;
	struct pam_response	*r;
	int			 i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(cr->pass);
			break;
		case PAM_PROMPT_ECHO_ON:
			r[i].resp = strdup(cr->user);
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			continue;
		default:
			goto fail;
		}
		if (r[i].resp == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++) {
		if (r[i].resp) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

int
auth_pam_check(const char *service, const char *confdir, const char *user,
    const char *pass, char *canon, size_t canonsz, char *why, size_t whysz)
{
	struct pam_creds	 cr = { user, pass };
	struct pam_conv		 conv = { pam_conv_cb, &cr };
	pam_handle_t		*ph = NULL;
	const void		*pu = NULL;
	int			 r, result;

	canon[0] = '\0';
	r = pam_start_confdir(service, user, &conv,
	    confdir && confdir[0] ? confdir : NULL, &ph);
	if (r != PAM_SUCCESS) {
		snprintf(why, whysz, "pam_start: %s", pam_strerror(ph, r));
		return AUTH_TEMPFAIL;
	}
	if ((r = pam_authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK))
	    == PAM_SUCCESS)
		r = pam_acct_mgmt(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	switch (r) {
	case PAM_SUCCESS:
		result = AUTH_OK;
		if (pam_get_item(ph, PAM_USER, &pu) == PAM_SUCCESS && pu != NULL)
			strlcpy(canon, pu, canonsz);
		else
			strlcpy(canon, user, canonsz);
		strlcpy(why, "accepted", whysz);
		break;
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_PERM_DENIED:
		result = AUTH_FAILED;
		snprintf(why, whysz, "%s", pam_strerror(ph, r));
		break;
	default:
		result = AUTH_TEMPFAIL;
		snprintf(why, whysz, "%s", pam_strerror(ph, r));
		break;
	}
	pam_end(ph, r);
	return result;
}

/*
 * The key a client or user is counted under: an IPv6 client by its /64
 * (one host can use a whole /64), everything else as it is, lower case.
 */
static void
fail_key(char *key, size_t sz, const char *kind, const char *name)
{
	struct in6_addr	 a6;
	char		 net[INET6_ADDRSTRLEN];
	size_t		 i;

	if (kind[0] == 'c' && inet_pton(AF_INET6, name, &a6) == 1) {
		memset(a6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a6, net, sizeof(net)) != NULL) {
			snprintf(key, sz, "c:%s/64", net);
			return;
		}
	}
	snprintf(key, sz, "%s:%s", kind, name);
	for (i = 0; key[i]; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
}

static struct auth_fail *
fail_slot(const char *kind, const char *name, time_t now,
    const struct config *c, int create)
{
	char		 key[sizeof(fails[0].key)];
	size_t		 i, pick = AUTH_FAIL_SLOTS;

	fail_key(key, sizeof(key), kind, name);
	for (i = 0; i < AUTH_FAIL_SLOTS; i++) {
		if (fails[i].count &&
		    (unsigned long)(now - fails[i].first) > c->auth_failure_window)
			fails[i].count = 0;	/* expired */
		if (fails[i].count && strcmp(fails[i].key, key) == 0)
			return &fails[i];
	}
	if (!create)
		return NULL;
	/* a free slot, else the oldest one that is not locked out */
	for (i = 0; i < AUTH_FAIL_SLOTS; i++) {
		if (fails[i].count == 0) {
			pick = i;
			break;
		}
		if (fails[i].count < c->auth_max_failures &&
		    (pick == AUTH_FAIL_SLOTS || fails[i].first < fails[pick].first))
			pick = i;
	}
	if (pick == AUTH_FAIL_SLOTS)
		return NULL;	/* all locked out: the caller refuses */
	strlcpy(fails[pick].key, key, sizeof(fails[pick].key));
	fails[pick].first = now;
	fails[pick].count = 0;
	return &fails[pick];
}

/* Checks still running for this client or user count as failures to come. */
static unsigned
inflight(const char *client, const char *user)
{
	struct auth_check	*a;
	char			 k1[sizeof(fails[0].key)], k2[sizeof(fails[0].key)];
	unsigned		 n = 0;

	fail_key(k1, sizeof(k1), "c", client);
	for (a = checks; a != NULL; a = a->next) {
		fail_key(k2, sizeof(k2), "c", a->client);
		if (strcmp(k1, k2) == 0 || strcasecmp(a->user, user) == 0)
			n++;
	}
	return n;
}

int
auth_is_limited(const struct config *c, const char *client, const char *user,
    time_t now)
{
	struct auth_fail	*f;
	unsigned		 running = inflight(client, user);

	if ((f = fail_slot("c", client, now, c, 0)) != NULL &&
	    f->count + running >= c->auth_max_failures)
		return 1;
	if ((f = fail_slot("u", user, now, c, 0)) != NULL &&
	    f->count + running >= c->auth_max_failures)
		return 1;
	/* the table is full of locked-out entries: an attack, refuse */
	if (fail_slot("c", client, now, c, 1) == NULL)
		return 1;
	return 0;
}

void
auth_note_result(const struct config *c, const char *client, const char *user,
    int result, time_t now)
{
	struct auth_fail *f;

	if (result == AUTH_FAILED) {
		if ((f = fail_slot("c", client, now, c, 1)) != NULL)
			f->count++;
		if ((f = fail_slot("u", user, now, c, 1)) != NULL)
			f->count++;
	} else if (result == AUTH_OK) {
		if ((f = fail_slot("u", user, now, c, 0)) != NULL)
			f->count = 0;
	}
}

static void
reply(struct master *m, pid_t smtpd_pid, uint32_t id, int result, const char *canon)
{
	struct master_child	*c = &m->child[PROC_SMTPD];
	struct buf		 b;

	/* the smtpd that asked may have been replaced meanwhile */
	if (c->pid != smtpd_pid || c->chan == NULL)
		return;
	buf_init(&b);
	if (pack_u32(&b, (uint32_t)result) == 0 && pack_str(&b, canon) == 0)
		ipc_send_buf(c->chan, IPC_AUTH_REPLY, id, -1, &b);
	buf_free(&b);
}

static void
check_free(struct auth_check *a)
{
	struct auth_check **pp;

	for (pp = &checks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	if (a->pid > 0)
		kill(a->pid, SIGKILL);	/* reaped by the master's SIGCHLD */
	if (a->ev)
		event_free(a->ev);
	if (a->timer)
		event_free(a->timer);
	close(a->fd);
	buf_free(&a->in);
	free(a);
	nchecks--;
}

static void
check_done(struct auth_check *a, int result, const char *canon, const char *why)
{
	const char *word;

	word = result == AUTH_OK ? "accepted" : result == AUTH_FAILED ?
	    "rejected" : "temporary failure";
	if (result == AUTH_OK)
		log_info("auth: client=[%s] mechanism=%s user=<%s>: %s (as %s)",
		    a->client, a->mech, a->user, word, canon);
	else
		log_warn("auth: client=[%s] mechanism=%s user=<%s>: %s (%s)",
		    a->client, a->mech, a->user, word, why);
	auth_note_result(a->m->conf, a->client, a->user, result, time(NULL));
	reply(a->m, a->smtpd_pid, a->id, result, result == AUTH_OK ? canon : "");
	check_free(a);
}

static void
check_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct auth_check	*a = arg;
	struct unpack		 u;
	char			 tmp[1024], *canon = NULL, *why = NULL;
	uint32_t		 result;
	ssize_t			 n;

	n = read(fd, tmp, sizeof(tmp));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		if (a->in.len + (size_t)n > 4096 ||
		    buf_append(&a->in, tmp, (size_t)n) == -1)
			n = -1;
		else
			return;		/* until EOF: the child writes once and exits */
	}
	a->pid = 0;		/* it has exited or is about to: no kill */
	unpack_init(&u, a->in.p, a->in.len);
	if (n == -1 || unpack_u32(&u, &result) == -1 ||
	    unpack_str(&u, &canon, AUTH_USER_MAX) == -1 ||
	    unpack_str(&u, &why, 512) == -1 || unpack_done(&u) == -1 ||
	    result > AUTH_TEMPFAIL)
		check_done(a, AUTH_TEMPFAIL, "", "the PAM check died");
	else
		check_done(a, (int)result, canon, why);
	free(canon);
	free(why);
}

static void
check_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	check_done(arg, AUTH_TEMPFAIL, "", "the PAM check timed out");
}

/* The child: PAM as root, one result on the pipe, exit. No event loop here. */
static void __attribute__((noreturn))
check_child(struct master *m, int wfd, const char *user, char *pass)
{
	char		 canon[AUTH_USER_MAX + 1], why[256];
	struct buf	 b;
	int		 r, sig[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE };
	size_t		 i;

	for (i = 0; i < sizeof(sig) / sizeof(sig[0]); i++)
		signal(sig[i], SIG_DFL);
	r = auth_pam_check(m->conf->pam_service, m->conf->pam_confdir, user,
	    pass, canon, sizeof(canon), why, sizeof(why));
	explicit_bzero(pass, strlen(pass));
	buf_init(&b);
	/* one small write (< PIPE_BUF) is atomic; a short one reads as a death */
	if (pack_u32(&b, (uint32_t)r) == 0 && pack_str(&b, canon) == 0 &&
	    pack_str(&b, why) == 0 && write(wfd, b.p, b.len) != (ssize_t)b.len)
		_exit(1);
	_exit(0);
}

void
auth_child_reaped(pid_t pid)
{
	struct auth_check *a;

	/* never signal a pid the system may have given to someone else */
	for (a = checks; a != NULL; a = a->next)
		if (a->pid == pid)
			a->pid = 0;
}

void
auth_request(struct master *m, struct ipc_msg *msg)
{
	struct master_child	*c = &m->child[PROC_SMTPD];
	struct auth_check	*a = NULL;
	struct unpack		 u;
	struct timeval		 tv = { AUTH_CHECK_TIMEOUT, 0 };
	char			*client = NULL, *mech = NULL, *user = NULL;
	char			 pass[AUTH_PASS_MAX + 1];
	const void		*pp;
	size_t			 plen;
	int			 p[2] = { -1, -1 };
	pid_t			 pid;

	unpack_init(&u, msg->data, msg->len);
	if (unpack_str(&u, &client, 63) == -1 || unpack_str(&u, &mech, 15) == -1 ||
	    unpack_str(&u, &user, AUTH_USER_MAX) == -1 ||
	    unpack_bytes(&u, &pp, &plen, AUTH_PASS_MAX) == -1 ||
	    unpack_done(&u) == -1 || memchr(pp, '\0', plen) != NULL ||
	    user[0] == '\0') {
		log_err("auth: malformed request from smtpd; refused");
		reply(m, c->pid, msg->id, AUTH_FAILED, "");
		goto out;
	}
	if (auth_is_limited(m->conf, client, user, time(NULL))) {
		log_warn("auth: client=[%s] mechanism=%s user=<%s>: too many "
		    "failures, not checked", client, mech, user);
		reply(m, c->pid, msg->id, AUTH_LIMITED, "");
		goto out;
	}
	if (nchecks >= m->conf->auth_max_checks) {
		log_warn("auth: %u PAM checks already running; "
		    "client=[%s] user=<%s> told to try later", nchecks, client, user);
		reply(m, c->pid, msg->id, AUTH_TEMPFAIL, "");
		goto out;
	}
	memcpy(pass, pp, plen);
	pass[plen] = '\0';
	if ((a = calloc(1, sizeof(*a))) == NULL || pipe2(p, O_CLOEXEC) == -1) {
		log_errno("auth: cannot start a PAM check");
		reply(m, c->pid, msg->id, AUTH_TEMPFAIL, "");
		goto out;
	}
	if ((pid = fork()) == -1) {
		log_errno("auth: fork");
		reply(m, c->pid, msg->id, AUTH_TEMPFAIL, "");
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		check_child(m, p[1], user, pass);
	}
	close(p[1]);
	p[1] = -1;
	a->m = m;
	a->pid = pid;
	a->fd = p[0];
	p[0] = -1;
	a->id = msg->id;
	a->smtpd_pid = c->pid;
	buf_init(&a->in);
	strlcpy(a->user, user, sizeof(a->user));
	strlcpy(a->client, client, sizeof(a->client));
	strlcpy(a->mech, mech, sizeof(a->mech));
	a->ev = event_new(m->base, a->fd, EV_READ | EV_PERSIST, check_read_cb, a);
	a->timer = evtimer_new(m->base, check_timeout_cb, a);
	a->next = checks;
	checks = a;
	nchecks++;
	if (a->ev == NULL || a->timer == NULL || event_add(a->ev, NULL) == -1 ||
	    evtimer_add(a->timer, &tv) == -1)
		check_done(a, AUTH_TEMPFAIL, "", "out of memory");
	a = NULL;
out:
	explicit_bzero(pass, sizeof(pass));
	/* the frame itself held the password too; we are its last reader */
	explicit_bzero((void *)(uintptr_t)msg->data, msg->len);
	if (a != NULL)
		free(a);
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	free(client);
	free(mech);
	free(user);
}
