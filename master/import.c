/* Pickup: the master takes the files postern-sendmail dropped, checks whose they are, and hands them to queue-mgr. */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <bsd/string.h>

#include "import.h"
#include "log.h"
#include "master.h"
#include "pack.h"
#include "pickup.h"
#include "privsep.h"

#define PICKUP_SCAN_SECS	1	/* how often the folder is looked at */
#define PICKUP_INFLIGHT_MAX	16	/* files handed over, not yet answered */
#define PICKUP_ANSWER_SECS	120	/* an answer that long overdue is lost */
#define PICKUP_RETRY_SECS	30	/* after PICKUP_LATER */
#define PICKUP_NAME_MAX		64

struct pickup_item {
	char		 name[PICKUP_NAME_MAX];
	uint32_t	 id;		/* 0 = waiting to retry, not in flight */
	time_t		 until;		/* answer deadline, or retry time */
};

static struct pickup_item	 items[PICKUP_INFLIGHT_MAX];
static uint32_t			 next_id = 1;
static struct event		*scan_ev;

static struct pickup_item *
item_find(const char *name)
{
	size_t i;

	for (i = 0; i < PICKUP_INFLIGHT_MAX; i++)
		if (items[i].name[0] && strcmp(items[i].name, name) == 0)
			return &items[i];
	return NULL;
}

static struct pickup_item *
item_free_slot(time_t now)
{
	size_t i;

	for (i = 0; i < PICKUP_INFLIGHT_MAX; i++) {
		/* forget what timed out: queue-mgr was restarted meanwhile */
		if (items[i].name[0] && items[i].until < now)
			items[i].name[0] = '\0';
		if (items[i].name[0] == '\0')
			return &items[i];
	}
	return NULL;
}

/* root, or a member of submit_trusted_group */
static int
may_set_sender(const struct config *c, uid_t uid, const struct passwd *pw)
{
	struct group	*gr;
	gid_t		 groups[256];
	int		 n = 256, i;

	if (uid == 0)
		return 1;
	if (pw == NULL || c->submit_trusted_group[0] == '\0' ||
	    (gr = getgrnam(c->submit_trusted_group)) == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			return 1;
	return 0;
}

/* A file that can never be queued goes where the admin can look at it. */
static void
set_aside(struct master *m, int dfd, const char *name, const char *why)
{
	char	 to[PATH_MAX];
	int	 cfd;

	snprintf(to, sizeof(to), "%s/%s", m->conf->spool, PICKUP_CORRUPT_DIR);
	if (mkdir(to, 0700) == -1 && errno != EEXIST) {
		log_errno("pickup: mkdir %s", to);
		return;
	}
	if ((cfd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    renameat(dfd, name, cfd, name) == -1)
		log_errno("pickup: moving %s aside", name);
	else
		log_err("pickup: %s set aside in %s: %s", name, to, why);
	if (cfd != -1)
		close(cfd);
}

static void
offer(struct master *m, int dfd, const char *name, time_t now)
{
	struct pickup_item	*it;
	struct passwd		*pw;
	struct stat		 st;
	struct buf		 b;
	char			 user[64];
	int			 fd;

	if ((it = item_find(name)) != NULL && it->until >= now)
		return;		/* in flight, or waiting to retry */
	if (it == NULL && (it = item_free_slot(now)) == NULL)
		return;		/* enough in flight; the next scan takes it */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			log_errno("pickup: open %s", name);
		it->name[0] = '\0';
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (uint64_t)st.st_size > m->conf->submit_max_size + PICKUP_MAX_HEADER + 64) {
		close(fd);
		set_aside(m, dfd, name, "not a regular file with one link, or "
		    "larger than submit_max_size");
		it->name[0] = '\0';
		return;
	}
	if ((pw = getpwuid(st.st_uid)) != NULL)
		strlcpy(user, pw->pw_name, sizeof(user));
	else
		snprintf(user, sizeof(user), "uid%lu", (unsigned long)st.st_uid);
	buf_init(&b);
	strlcpy(it->name, name, sizeof(it->name));
	if (next_id == 0)
		next_id = 1;	/* 0 is never an id */
	it->id = next_id++;
	it->until = now + PICKUP_ANSWER_SECS;
	if (pack_u32(&b, (uint32_t)st.st_uid) == -1 || pack_str(&b, user) == -1 ||
	    pack_u32(&b, (uint32_t)may_set_sender(m->conf, st.st_uid, pw)) == -1 ||
	    ipc_send_buf(m->child[PROC_QUEUE].chan, IPC_PICKUP, it->id, fd, &b) == -1)
		it->name[0] = '\0';	/* fd is closed by ipc_send either way */
	buf_free(&b);
}

static int
open_pickup(struct master *m)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", m->conf->spool, PICKUP_DIR);
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static void
scan_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct master	*m = arg;
	struct timeval	 tv = { PICKUP_SCAN_SECS, 0 };
	struct dirent	*de;
	DIR		*d;
	time_t		 now = time(NULL);
	int		 dfd;

	evtimer_add(scan_ev, &tv);
	if (m->stopping || m->child[PROC_QUEUE].chan == NULL)
		return;
	if ((dfd = open_pickup(m)) == -1 || (d = fdopendir(dup(dfd))) == NULL) {
		if (dfd != -1)
			close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, "tmp.", 4) == 0 ||
		    strlen(de->d_name) >= PICKUP_NAME_MAX)
			continue;
		offer(m, dfd, de->d_name, now);
	}
	closedir(d);
	close(dfd);
}

void
pickup_done(struct master *m, struct ipc_msg *msg)
{
	struct pickup_item	*it = NULL;
	struct unpack		 u;
	uint32_t		 status;
	char			*text = NULL;
	size_t			 i;
	int			 dfd;

	for (i = 0; i < PICKUP_INFLIGHT_MAX; i++)
		if (items[i].name[0] && items[i].id == msg->id)
			it = &items[i];
	unpack_init(&u, msg->data, msg->len);
	if (it == NULL || unpack_u32(&u, &status) == -1 ||
	    unpack_str(&u, &text, 1024) == -1 || unpack_done(&u) == -1 ||
	    status > PICKUP_BAD) {
		log_err("pickup: malformed or unexpected PICKUP_DONE from "
		    "queue-mgr, ignored");
		free(text);
		return;
	}
	if ((dfd = open_pickup(m)) == -1) {
		log_errno("pickup: %s/%s", m->conf->spool, PICKUP_DIR);
		free(text);
		return;
	}
	switch (status) {
	case PICKUP_OK:
		/* queued and durable: only now may the file go */
		if (unlinkat(dfd, it->name, 0) == -1)
			log_errno("pickup: unlink %s", it->name);
		else
			(void)fsync(dfd);
		log_info("pickup: %s queued as %s", it->name, text);
		it->name[0] = '\0';
		break;
	case PICKUP_LATER:
		log_warn("pickup: %s not queued yet (%s); trying again in %ds",
		    it->name, text, PICKUP_RETRY_SECS);
		it->until = time(NULL) + PICKUP_RETRY_SECS;
		break;
	default:
		set_aside(m, dfd, it->name, text);
		it->name[0] = '\0';
		break;
	}
	close(dfd);
	free(text);
}

int
pickup_start(struct master *m)
{
	struct timeval tv = { 0, 0 };

	if ((scan_ev = evtimer_new(m->base, scan_cb, m)) == NULL)
		return -1;
	return evtimer_add(scan_ev, &tv);
}
