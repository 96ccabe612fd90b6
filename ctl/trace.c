/* posternctl trace: a message's events from queue-mgr, as aligned lines or JSON. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "format.h"
#include "pack.h"
#include "trace.h"

#define CTL_TRACE_MAX_FIELDS	64
#define CTL_TRACE_MAX_VALUE	4096

void
ctl_trace_event_free(struct ctl_trace_event *ev)
{
	size_t	 i;

	free(ev->event);
	for (i = 0; i < ev->nfields; i++) {
		free(ev->names[i]);
		free(ev->values[i]);
	}
	free(ev->names);
	free(ev->values);
	memset(ev, 0, sizeof(*ev));
}

int
ctl_trace_event_unpack(const void *data, size_t len, struct ctl_trace_event *ev)
{
	struct unpack	 u;
	uint32_t	 n, i;

	memset(ev, 0, sizeof(*ev));
	unpack_init(&u, data, len);
	if (unpack_u64(&u, &ev->time_us) == -1 ||
	    unpack_str(&u, &ev->event, 64) == -1 || ev->event[0] == '\0' ||
	    unpack_u32(&u, &n) == -1 || n > CTL_TRACE_MAX_FIELDS)
		goto bad;
	if (n > 0 && ((ev->names = calloc(n, sizeof(*ev->names))) == NULL ||
	    (ev->values = calloc(n, sizeof(*ev->values))) == NULL))
		goto bad;
	for (i = 0; i < n; i++) {
		ev->nfields++;
		if (unpack_str(&u, &ev->names[i], 64) == -1 ||
		    unpack_str(&u, &ev->values[i], CTL_TRACE_MAX_VALUE) == -1)
			goto bad;
	}
	if (unpack_done(&u) == -1)
		goto bad;
	return 0;
bad:
	ctl_trace_event_free(ev);
	return -1;
}

static void
format_time(char *out, size_t len, uint64_t us, int iso)
{
	struct tm	 tm;
	time_t		 t = (time_t)(us / 1000000);
	char		 day[32];

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), iso ? "%Y-%m-%dT%H:%M:%S" :
	    "%Y-%m-%d %H:%M:%S", &tm);
	if (iso)
		snprintf(out, len, "%s.%06uZ", day, (unsigned)(us % 1000000));
	else
		snprintf(out, len, "%s.%03u", day, (unsigned)(us % 1000000 / 1000));
}

/* One line: UTC time, the event, then name=value (the reply last, in
 * parentheses, as in the mail log). */
int
ctl_trace_line(struct buf *b, const struct ctl_trace_event *ev)
{
	char		 when[64];
	const char	*reply = NULL;
	size_t		 i;
	int		 r = 0;

	format_time(when, sizeof(when), ev->time_us, 0);
	r |= buf_appendf(b, "%s  ", when);
	r |= ctl_term_safe(b, ev->event);
	/* fields line up after the longest event name; none, no padding */
	for (i = strlen(ev->event); ev->nfields > 0 && i < 9; i++)
		r |= buf_appendc(b, ' ');
	for (i = 0; i < ev->nfields && r == 0; i++) {
		const char *v = ev->values[i];

		if (strcmp(ev->names[i], "reply") == 0) {
			reply = v;
			continue;
		}
		r |= buf_appendc(b, ' ');
		r |= ctl_term_safe(b, ev->names[i]);
		r |= buf_appendc(b, '=');
		if (strcmp(ev->names[i], "from") == 0 ||
		    strcmp(ev->names[i], "to") == 0) {
			r |= buf_appendc(b, '<');
			r |= ctl_term_safe(b, v);
			r |= buf_appendc(b, '>');
		} else if (v[0] == '\0' || strpbrk(v, " \t\"") != NULL) {
			r |= buf_appendc(b, '"');
			r |= ctl_term_safe(b, v);
			r |= buf_appendc(b, '"');
		} else
			r |= ctl_term_safe(b, v);
	}
	if (reply != NULL) {
		r |= buf_appends(b, " (");
		r |= ctl_term_safe(b, reply);
		r |= buf_appendc(b, ')');
	}
	r |= buf_appendc(b, '\n');
	return r ? -1 : 0;
}

/* {"time": ISO-8601 UTC, "time_us": n, "event": name, field: value ...} */
int
ctl_trace_json(struct buf *b, const struct ctl_trace_event *ev)
{
	char	 when[64];
	size_t	 i;
	int	 r = 0;

	format_time(when, sizeof(when), ev->time_us, 1);
	r |= buf_appendf(b, "{\"time\": \"%s\", \"time_us\": %" PRIu64
	    ", \"event\": ", when, ev->time_us);
	r |= ctl_json_string(b, ev->event);
	for (i = 0; i < ev->nfields && r == 0; i++) {
		/* the fixed keys above are never overridden */
		if (strcmp(ev->names[i], "time") == 0 ||
		    strcmp(ev->names[i], "time_us") == 0 ||
		    strcmp(ev->names[i], "event") == 0)
			continue;
		r |= buf_appends(b, ", ");
		r |= ctl_json_string(b, ev->names[i]);
		r |= buf_appends(b, ": ");
		r |= ctl_json_string(b, ev->values[i]);
	}
	r |= buf_appendc(b, '}');
	return r ? -1 : 0;
}

int
ctl_verb_trace(const char *conf, int argc, char **argv)
{
	struct ctl_trace_event	 ev;
	struct ipc_msg		 m;
	struct config		*c;
	struct buf		 b, err;
	uint8_t			*payload;
	const char		*id = NULL;
	size_t			 n = 0;
	int			 i, json = 0, fd;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else {
			fprintf(stderr, "usage: posternctl trace [--json] ID\n");
			return 2;
		}
	}
	if (id == NULL || id[0] == '\0' || strlen(id) > CTL_MAX_ID) {
		fprintf(stderr, "usage: posternctl trace [--json] ID\n");
		return 2;
	}
	buf_init(&err);
	if ((c = config_load(conf, &err)) == NULL) {
		fputs(buf_cstr(&err) ? err.p : "configuration error\n", stderr);
		return 1;
	}
	buf_free(&err);
	fd = ctl_connect(c);
	config_free(c);
	if ((payload = malloc(IPC_MAX_PAYLOAD)) == NULL) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	buf_init(&b);
	if (pack_str(&b, id) == -1) {
		fprintf(stderr, "posternctl: out of memory\n");
		return 1;
	}
	ctl_send(fd, IPC_CTL_TRACE, &b);
	buf_reset(&b);
	if (json) {
		buf_appends(&b, "{\"queue_id\": ");
		ctl_json_string(&b, id);
		buf_appends(&b, ", \"events\": [");
	}
	for (;;) {
		ctl_recv(fd, &m, payload);
		if (m.type == IPC_CTL_ERROR)
			ctl_fail(&m);
		if (m.type == IPC_CTL_END)
			break;
		if (m.type != IPC_CTL_TRACE_EVENT ||
		    ctl_trace_event_unpack(m.data, m.len, &ev) == -1) {
			fprintf(stderr, "posternctl: malformed answer from "
			    "postern\n");
			return 1;
		}
		if (json && n > 0)
			buf_appends(&b, ",\n  ");
		else if (json)
			buf_appends(&b, "\n  ");
		if ((json ? ctl_trace_json(&b, &ev) :
		    ctl_trace_line(&b, &ev)) == -1) {
			fprintf(stderr, "posternctl: out of memory\n");
			return 1;
		}
		ctl_trace_event_free(&ev);
		n++;
		/* streamed: a long history is not held in memory */
		ctl_out(&b);
		buf_reset(&b);
	}
	if (json)
		buf_appends(&b, "\n]}\n");
	ctl_out(&b);
	buf_free(&b);
	free(payload);
	close(fd);
	return fflush(stdout) == 0 ? 0 : 1;
}
