/* posternctl: verbs applied to every message a filter selects (--domain D). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>

#include "ctl.h"
#include "format.h"
#include "ipc.h"
#include "pack.h"
#include "select.h"

/*
 * The ids of the queued messages that match f, from one listing. A message
 * that arrives or leaves after the listing is not seen: the selection is a
 * snapshot, as postsuper's is.
 */
static int
select_ids(int fd, const struct ctl_filter *f, struct strlist *ids)
{
	struct ctl_entry	 e;
	struct ipc_msg		 m;
	uint8_t			*payload;
	time_t			 now = time(NULL);

	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL)
		return -1;
	ctl_send(fd, IPC_CTL_QUEUE, NULL);
	for (;;) {
		ctl_recv(fd, &m, payload);
		if (m.type == IPC_CTL_ERROR)
			ctl_fail(&m);
		if (m.type == IPC_CTL_END)
			break;
		if (m.type != IPC_CTL_QUEUE_ENTRY ||
		    ctl_entry_unpack(m.data, m.len, &e) == -1) {
			fprintf(stderr, "posternctl: malformed queue listing "
			    "from postern\n");
			exit(1);
		}
		if (ctl_entry_matches(&e, f, now) &&
		    strlist_add(ids, e.id, strlen(e.id)) == -1) {
			ctl_entry_free(&e);
			free(payload);
			return -1;
		}
		ctl_entry_free(&e);
	}
	free(payload);
	return 0;
}

/* One request on one id; its answer printed; 0 if it was done. */
static int
apply_one(int fd, uint32_t type, const char *id, uint8_t *payload)
{
	struct ipc_msg	 m;
	struct unpack	 u;
	struct buf	 req, safe;
	char		*text = NULL;
	int		 ok;

	buf_init(&req);
	buf_init(&safe);
	if (pack_str(&req, id) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		exit(1);
	}
	ctl_send(fd, type, &req);
	buf_free(&req);
	ctl_recv(fd, &m, payload);
	ok = m.type == IPC_CTL_OK;
	unpack_init(&u, m.data, m.len);
	if ((m.type != IPC_CTL_OK && m.type != IPC_CTL_ERROR) ||
	    unpack_str(&u, &text, CTL_MAX_ERROR) == -1 ||
	    unpack_done(&u) == -1 || ctl_term_safe(&safe, text) == -1 ||
	    buf_cstr(&safe) == NULL) {
		fprintf(stderr, "posternctl: malformed answer from postern\n");
		exit(1);
	}
	fprintf(ok ? stdout : stderr, "%s%s\n", ok ? "" : "posternctl: ",
	    safe.p);
	free(text);
	buf_free(&safe);
	return ok ? 0 : -1;
}

int
ctl_apply_selected(int fd, uint32_t type, const char *verb,
    const struct ctl_filter *f)
{
	struct strlist	 ids = { NULL, 0 };
	uint8_t		*payload;
	size_t		 i, failed = 0;

	if (select_ids(fd, f, &ids) == -1 ||
	    (payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	for (i = 0; i < ids.n; i++)
		if (apply_one(fd, type, ids.v[i], payload) == -1)
			failed++;
	printf("%s: %zu message%s selected, %zu done\n", verb, ids.n,
	    ids.n == 1 ? "" : "s", ids.n - failed);
	free(payload);
	strlist_free(&ids);
	if (fflush(stdout) != 0)
		return 1;
	return failed > 0 ? 1 : 0;
}
