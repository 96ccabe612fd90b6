/* smtpd: the session counts posternctl stats shows, sent to queue-mgr. */
#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "pack.h"
#include "smtpd.h"

/* How often the numbers may go out while they change. */
#define STATS_INTERVAL_SECS	1

static void
stats_send(struct smtpd *env)
{
	struct buf	 b;

	if (env->queue == NULL)
		return;
	buf_init(&b);
	if (pack_u32(&b, (uint32_t)env->nsessions) == -1 ||
	    pack_u64(&b, env->n_connections) == -1 ||
	    pack_u64(&b, env->n_refused) == -1 ||
	    ipc_send_buf(env->queue, IPC_SMTPD_STATS, 0, -1, &b) == -1)
		log_debug("cannot send SMTPD_STATS");
	else {
		env->stats_sent_sessions = env->nsessions;
		env->stats_sent_connections = env->n_connections;
		env->stats_sent_refused = env->n_refused;
	}
	buf_free(&b);
}

static void
stats_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct smtpd *env = arg;

	(void)fd;
	(void)ev;
	if (env->nsessions != env->stats_sent_sessions ||
	    env->n_connections != env->stats_sent_connections ||
	    env->n_refused != env->stats_sent_refused)
		stats_send(env);
}

/*
 * A timer rather than a frame per change: under load thousands of
 * sessions open and close each second, and queue-mgr needs none of that.
 */
void
stats_start(struct smtpd *env)
{
	struct timeval tv = { STATS_INTERVAL_SECS, 0 };

	if (env->stats_ev != NULL)
		return;
	if ((env->stats_ev = event_new(env->base, -1, EV_PERSIST,
	    stats_tick_cb, env)) == NULL || event_add(env->stats_ev, &tv) == -1)
		log_warn("no stats timer: posternctl stats shows no sessions");
}

void
stats_queue_up(struct smtpd *env)
{
	stats_send(env);
}

void
stats_stop(struct smtpd *env)
{
	if (env->stats_ev != NULL)
		event_free(env->stats_ev);
	env->stats_ev = NULL;
}
