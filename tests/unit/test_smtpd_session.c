/* Unit tests for smtpd/session.c: the command state machine and the queue dialog. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "../../smtpd/smtpd.h"
#include "log.h"
#include "pack.h"

struct fixture {
	struct event_base	*base;
	struct smtpd		 env;
	struct listener		 l;
	struct session		*s;
	int			 client;	/* our end of the SMTP connection */
	int			 queue;		/* our end of the queue channel */
	char			 got[65536];
};

static const char conf_text[] =
    "hostname = mx.test\n"
    "spool = /nonexistent\n"
    "local_domains = example.org\n"
    "trusted_networks = 192.0.2.0/24\n"
    "listener mx {\n\tlisten = 127.0.0.1:25\n"
    "\tetrn_clients = 198.51.100.0/24\n"
    "\tmax_received_headers = 3\n"
    "\tmax_messages_per_connection = 3\n"
    "\trecipient_check = no\n}\n";

static void
chan_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
}

static void
chan_closed(struct ipc_chan *c, void *arg)
{
}

static int
setup(void **state)
{
	struct fixture		*f = calloc(1, sizeof(*f));
	struct sockaddr_in	 sin;
	struct config		*conf;
	struct buf		 err;
	int			 sv[2], q[2];

	assert_non_null(f);
	log_set_level(LOG_LVL_WARN);
	buf_init(&err);
	conf = config_parse_buf("t.conf", conf_text, sizeof(conf_text) - 1, &err);
	assert_non_null(conf);
	buf_free(&err);
	f->base = event_base_new();
	server_init(&f->env, f->base, conf);
	f->l.env = &f->env;
	f->l.index = 0;
	server_listener_config(&f->l, conf);
	f->l.max_message_size = 1000;
	f->l.max_recipients = 2;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(ipc_socketpair(q), 0);
	f->env.queue = ipc_chan_new(f->base, q[0], "queue", chan_msg,
	    chan_closed, NULL);
	f->queue = q[1];
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.1", &sin.sin_addr);
	f->s = session_new(&f->env, &f->l, sv[0], (struct sockaddr *)&sin,
	    sizeof(sin), 0);
	assert_non_null(f->s);
	f->client = sv[1];
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	while (!TAILQ_EMPTY(&f->env.sessions))
		session_free(TAILQ_FIRST(&f->env.sessions));
	if (f->env.queue)
		ipc_chan_free(f->env.queue);
	if (f->env.master)
		ipc_chan_free(f->env.master);
	server_listener_clear(&f->l);
	close(f->queue);
	close(f->client);
	config_free(f->env.conf);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Everything the server has written so far, as a string. */
static const char *
replies(struct fixture *f)
{
	ssize_t	 n;
	size_t	 len = 0;

	event_base_loop(f->base, EVLOOP_NONBLOCK);
	while ((n = read(f->client, f->got + len, sizeof(f->got) - 1 - len)) > 0)
		len += (size_t)n;
	f->got[len] = '\0';
	return f->got;
}

/* Sends text as the client would; returns the replies it caused. */
static const char *
say(struct fixture *f, const char *text)
{
	replies(f);
	if (session_input(f->s, text, strlen(text)) == -1)
		f->s = NULL;
	return replies(f);
}

/* One frame from smtpd to queue-mgr. */
static uint32_t
queue_recv(struct fixture *f, uint32_t *id, uint8_t *payload, size_t *len)
{
	struct ipc_msg m;

	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(ipc_sync_recv(f->queue, &m, payload, 1000), 0);
	*id = m.id;
	*len = m.len;
	return m.type;
}

/* The IPC_MSG_BEGIN extension when nothing was asked for. */
static int
unpack_ext_defaults(struct unpack *u, uint32_t nrcpt)
{
	uint32_t	 ret, body, utf8, n, notify, i;
	char		*envid = NULL, *orcpt = NULL;
	int		 bad = 0;

	unpack_u32(u, &ret);
	unpack_str(u, &envid, 200);
	unpack_u32(u, &body);
	unpack_u32(u, &utf8);
	unpack_u32(u, &n);
	if (u->err || ret != 0 || envid[0] || body != 0 || utf8 != 0 ||
	    n != nrcpt)
		bad = 1;
	free(envid);
	for (i = 0; i < n && !bad; i++) {
		unpack_u32(u, &notify);
		unpack_str(u, &orcpt, 600);
		if (u->err || notify != 0 || orcpt[0])
			bad = 1;
		free(orcpt);
		orcpt = NULL;
	}
	return bad ? -1 : 0;
}

static void
to_rcpt(struct fixture *f)
{
	assert_string_equal(say(f, "HELO client.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<u@example.org>\r\n"),
	    "250 mx.test\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
}

static void
test_greeting_is_220(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(replies(f), "220 mx.test ESMTP postern\r\n");
}

static void
test_mail_before_helo_is_503(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_string_equal(say(f, "MAIL FROM:<a@b.test>\r\n"),
	    "503 5.5.1 Error: send HELO/EHLO first\r\n");
}

static void
test_rcpt_before_mail_is_503(void **state)
{
	struct fixture *f = *state;

	say(f, "EHLO c.test\r\n");
	assert_string_equal(say(f, "RCPT TO:<u@example.org>\r\n"),
	    "503 5.5.1 Error: need MAIL command\r\n");
}

static void
test_data_before_rcpt_is_503(void **state)
{
	struct fixture *f = *state;

	say(f, "EHLO c.test\r\nMAIL FROM:<>\r\n");
	assert_string_equal(say(f, "DATA\r\n"),
	    "503 5.5.1 Error: need RCPT command\r\n");
}

static void
test_ehlo_lists_extensions(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_string_equal(say(f, "EHLO c.test\r\n"),
	    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-ETRN\r\n"
	    "250-8BITMIME\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n"
	    "250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n");
}

static void
test_unknown_command_is_500(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_string_equal(say(f, "XYZZY\r\n"),
	    "500 5.5.2 Error: command not recognized\r\n");
}

static void
test_relay_to_foreign_domain_is_554(void **state)
{
	struct fixture *f = *state;

	say(f, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(say(f, "RCPT TO:<v@foreign.test>\r\n"),
	    "554 5.7.1 <v@foreign.test>: Relay access denied\r\n");
	assert_string_equal(say(f, "RCPT TO:<postmaster>\r\n"), "250 2.1.5 Ok\r\n");
}

static void
test_too_many_recipients_is_452(void **state)
{
	struct fixture *f = *state;

	say(f, "EHLO c.test\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(say(f, "RCPT TO:<u@example.org>\r\n"
	    "RCPT TO:<w@example.org>\r\nRCPT TO:<x@example.org>\r\n"),
	    "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
	    "452 4.5.3 Error: too many recipients\r\n");
}

static void
test_mail_size_over_limit_is_552(void **state)
{
	struct fixture *f = *state;

	say(f, "EHLO c.test\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.test> SIZE=1001\r\n"),
	    "552 5.3.4 Message size exceeds fixed limit\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.test> SIZE=1000\r\n"),
	    "250 2.1.0 Ok\r\n");
}

static void
test_line_too_long_is_500_and_session_goes_on(void **state)
{
	struct fixture	*f = *state;
	char		 line[2000];

	replies(f);
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	line[sizeof(line) - 1] = '\0';
	/* the long line arrives in two pieces, its end with the next command */
	assert_string_equal(say(f, line), "500 5.5.2 Error: line too long\r\n");
	assert_string_equal(say(f, "xxxx\r\nNOOP\r\n"), "250 2.0.0 Ok\r\n");
	/* 512 octets with CRLF is still a command line */
	memset(line, ' ', 510);
	memcpy(line, "NOOP", 4);
	memcpy(line + 510, "\r\n", 3);
	assert_string_equal(say(f, line), "250 2.0.0 Ok\r\n");
	memset(line, ' ', 511);
	memcpy(line, "NOOP", 4);
	memcpy(line + 511, "\r\n", 3);
	assert_string_equal(say(f, line), "500 5.5.2 Error: line too long\r\n");
}

static void
test_nul_in_command_is_500(void **state)
{
	struct fixture *f = *state;

	replies(f);
	session_input(f->s, "NO\0OP\r\nNOOP\r\n", 13);
	assert_string_equal(replies(f),
	    "500 5.5.2 Error: NUL character in command\r\n250 2.0.0 Ok\r\n");
}

static void
test_tenth_error_ends_session_with_421(void **state)
{
	struct fixture	*f = *state;
	const char	*r;
	int		 i;

	replies(f);
	for (i = 0; i < 9; i++)
		say(f, "BAD\r\n");
	assert_non_null(f->s);
	r = say(f, "BAD\r\nNOOP\r\n");
	assert_string_equal(r, "500 5.5.2 Error: command not recognized\r\n"
	    "421 4.7.0 mx.test Error: too many errors\r\n");
	assert_null(f->s);
	assert_true(TAILQ_EMPTY(&f->env.sessions));
}

static void
test_http_request_is_502_and_closed(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_string_equal(say(f, "GET / HTTP/1.0\r\n\r\n"),
	    "502 5.5.1 Error: this is an SMTP server, not HTTP\r\n");
	assert_null(f->s);
}

static void
test_quit_is_221(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_string_equal(say(f, "QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
	assert_null(f->s);
}

static void
test_data_without_queue_is_451(void **state)
{
	struct fixture *f = *state;

	ipc_chan_free(f->env.queue);
	f->env.queue = NULL;
	to_rcpt(f);
	assert_string_equal(say(f, "DATA\r\n"),
	    "451 4.3.0 Error: queue service unavailable\r\n");
}

static void
test_full_transaction_waits_for_commit(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	struct unpack	 u;
	uint64_t	 arrival;
	uint32_t	 id, id2, n;
	char		*addr, *helo, *from, *rcpt;
	const void	*data;
	size_t		 len, dlen;

	to_rcpt(f);
	/* nothing is said until queue-mgr answers */
	assert_string_equal(say(f, "DATA\r\n"), "");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	unpack_init(&u, p, len);
	unpack_u64(&u, &arrival);
	unpack_str(&u, &addr, 100);
	unpack_str(&u, &helo, 100);
	unpack_str(&u, &from, 100);
	unpack_u32(&u, &n);
	unpack_str(&u, &rcpt, 100);
	/* the extension, all defaults */
	assert_int_equal(unpack_ext_defaults(&u, 1), 0);
	assert_int_equal(unpack_done(&u), 0);
	assert_string_equal(addr, "198.51.100.1");
	assert_string_equal(helo, "client.test");
	assert_string_equal(from, "a@b.test");
	assert_int_equal(n, 1);
	assert_string_equal(rcpt, "u@example.org");
	free(addr);
	free(helo);
	free(from);
	free(rcpt);

	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QID123");
	assert_string_equal(replies(f), "354 End data with <CR><LF>.<CR><LF>\r\n");
	assert_string_equal(say(f, "Subject: t\r\n\r\n..dot\r\n.\r\n"), "");
	assert_int_equal(queue_recv(f, &id2, p, &len), IPC_MSG_DATA);
	assert_int_equal(id2, id);
	/* the payload is the content itself */
	data = p;
	dlen = len;
	assert_true(dlen > 17);
	assert_memory_equal(data, "Received: from client.test ([198.51.100.1])\r\n"
	    "\tby mx.test (postern) with SMTP id QID123\r\n\tfor <u@example.org>; ",
	    108);
	assert_memory_equal((const char *)data + dlen - 20,
	    "Subject: t\r\n\r\n.dot\r\n", 20);
	assert_int_equal(queue_recv(f, &id2, p, &len), IPC_MSG_END);
	assert_int_equal(len, 0);
	assert_string_equal(replies(f), "");
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "QID123");
	assert_string_equal(replies(f), "250 2.0.0 Ok: queued as QID123\r\n");
	/* the envelope is gone */
	assert_string_equal(say(f, "RCPT TO:<u@example.org>\r\n"),
	    "503 5.5.1 Error: need MAIL command\r\n");
}

static void
test_commands_after_end_of_data_wait_their_turn(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id, id2;
	size_t		 len;

	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "Q1");
	replies(f);
	assert_string_equal(say(f, "x\r\n.\r\nNOOP\r\nQUIT\r\n"), "");
	assert_int_equal(queue_recv(f, &id2, p, &len), IPC_MSG_DATA);
	assert_int_equal(queue_recv(f, &id2, p, &len), IPC_MSG_END);
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "Q1");
	assert_string_equal(replies(f), "250 2.0.0 Ok: queued as Q1\r\n"
	    "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

static void
test_bare_lf_in_data_is_550_and_aborted(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id, id2, t;
	size_t		 len;

	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "Q2");
	replies(f);
	assert_string_equal(say(f, "a\n.\nMAIL FROM:<e@vil>\r\n"), "");
	assert_string_equal(say(f, "RCPT TO:<v@example.org>\r\n.\r\n"),
	    "550 5.6.0 Message contains bare CR or LF\r\n");
	/* the content may or may not have gone out; an ABORT must follow */
	do {
		t = queue_recv(f, &id2, p, &len);
	} while (t == IPC_MSG_DATA);
	assert_int_equal(t, IPC_MSG_ABORT);
	assert_int_equal(id2, id);
}

static void
test_oversized_content_is_552_after_end_of_data(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	char		 big[1500];

	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "Q3");
	replies(f);
	memset(big, 'b', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	assert_string_equal(say(f, big), "");
	assert_string_equal(say(f, "\r\n.\r\n"),
	    "552 5.3.4 Message size exceeds fixed limit\r\n");
}

static void
test_content_before_354_is_pipelining_violation(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id, id2;
	size_t		 len;

	to_rcpt(f);
	assert_string_equal(say(f, "DATA\r\nSubject: early\r\n"), "");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "Q4");
	assert_string_equal(replies(f), "554 5.5.0 Error: pipelining violation\r\n");
	assert_int_equal(queue_recv(f, &id2, p, &len), IPC_MSG_ABORT);
	assert_true(TAILQ_EMPTY(&f->env.sessions));
	f->s = NULL;
}

static void
test_tempfail_at_begin_keeps_envelope(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;

	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_TEMPFAIL, id, "452 4.3.1 Spool full");
	assert_string_equal(replies(f), "452 4.3.1 Spool full\r\n");
	/* text that is not a 4xx reply is never passed on */
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_TEMPFAIL, id, "250 fake\r\nok");
	assert_string_equal(replies(f), "451 4.3.0 Error: queue file write error\r\n");
}

static void
test_queue_loss_during_data_is_451_at_end(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	struct ipc_chan	*old = f->env.queue;

	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "Q5");
	replies(f);
	say(f, "some content\r\n");
	f->env.queue = NULL;
	session_queue_lost(&f->env);
	ipc_chan_free(old);
	assert_string_equal(say(f, "more\r\n.\r\n"),
	    "451 4.3.0 Error: queue service unavailable\r\n");
	/* a late reply for the dead transaction is ignored */
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "Q5");
	assert_string_equal(replies(f), "");
}

/* Drains frames to queue-mgr until one of type want; returns its id. */
static uint32_t
queue_until(struct fixture *f, uint32_t want, uint8_t *p, size_t *len,
    struct buf *content)
{
	uint32_t id, t;

	for (;;) {
		t = queue_recv(f, &id, p, len);
		if (t == IPC_MSG_DATA && content != NULL)
			buf_append(content, p, *len);
		if (t == want)
			return id;
		if (t != IPC_MSG_DATA)
			fail_msg("got %s waiting for %s", ipc_type_name(t),
			    ipc_type_name(want));
	}
}

static void
to_rcpt_ehlo(struct fixture *f, const char *mailargs)
{
	char cmd[300];

	replies(f);
	say(f, "EHLO client.test\r\n");
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<a@b.test>%s\r\n", mailargs);
	assert_string_equal(say(f, cmd), "250 2.1.0 Ok\r\n");
	assert_string_equal(say(f, "RCPT TO:<u@example.org>\r\n"),
	    "250 2.1.5 Ok\r\n");
}

static void
test_bdat_chunks_are_taken_as_they_are(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	struct buf	 c;
	const char	*body = "Subject: b\r\n\r\n.dot stays\r\n";

	buf_init(&c);
	to_rcpt_ehlo(f, "");
	/* both chunks pipelined in one write, before any reply */
	assert_string_equal(say(f, "BDAT 12\r\nSubject: b\r\nBDAT 14 LAST\r\n"
	    "\r\n.dot stays\r\nNOOP\r\n"), "");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QB1");
	queue_until(f, IPC_MSG_END, p, &len, &c);
	assert_string_equal(replies(f), "250 2.0.0 Ok: 12 octets received\r\n");
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "QB1");
	assert_string_equal(replies(f), "250 2.0.0 Ok: queued as QB1\r\n"
	    "250 2.0.0 Ok\r\n");
	assert_true(c.len > strlen(body));
	assert_memory_equal(c.p + c.len - strlen(body), body, strlen(body));
	assert_non_null(memmem(c.p, c.len, "with ESMTP id QB1", 17));
	buf_free(&c);
}

static void
test_bdat_zero_last_ends_the_message(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	struct buf	 c;

	buf_init(&c);
	to_rcpt_ehlo(f, "");
	say(f, "BDAT 3\r\nx\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QB2");
	assert_string_equal(replies(f), "250 2.0.0 Ok: 3 octets received\r\n");
	assert_string_equal(say(f, "BDAT 0 LAST\r\n"), "");
	queue_until(f, IPC_MSG_END, p, &len, &c);
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "QB2");
	assert_string_equal(replies(f), "250 2.0.0 Ok: queued as QB2\r\n");
	assert_memory_equal(c.p + c.len - 3, "x\r\n", 3);
	buf_free(&c);
}

static void
test_data_after_bdat_is_503(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;

	to_rcpt_ehlo(f, "");
	say(f, "BDAT 3\r\nx\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QB3");
	replies(f);
	assert_string_equal(say(f, "DATA\r\n"),
	    "503 5.5.1 Error: DATA in a BDAT transaction\r\n");
	/* RSET forgets the whole BDAT transaction */
	assert_string_equal(say(f, "RSET\r\n"), "250 2.0.0 Ok\r\n");
	queue_until(f, IPC_MSG_ABORT, p, &len, NULL);
}

static void
test_bdat_without_rcpt_reads_the_chunk_then_503(void **state)
{
	struct fixture *f = *state;

	replies(f);
	say(f, "EHLO c.test\r\n");
	/* the chunk holds what looks like commands: they are only data */
	assert_string_equal(say(f, "BDAT 6\r\nQUIT\r\nNOOP\r\n"),
	    "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
}

static void
test_binarymime_needs_bdat(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	struct buf	 c;

	buf_init(&c);
	to_rcpt_ehlo(f, " BODY=BINARYMIME");
	assert_string_equal(say(f, "DATA\r\n"),
	    "503 5.5.1 Error: BODY=BINARYMIME needs BDAT\r\n");
	/* binary content: bare LF, NUL and no final CRLF are all fine */
	assert_int_equal(session_input(f->s, "BDAT 5 LAST\r\na\nb\0c", 18), 0);
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QB4");
	queue_until(f, IPC_MSG_END, p, &len, &c);
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "QB4");
	assert_string_equal(replies(f), "250 2.0.0 Ok: queued as QB4\r\n");
	assert_memory_equal(c.p + c.len - 5, "a\nb\0c", 5);
	buf_free(&c);
}

static void
test_bdat_text_body_with_bare_lf_is_550(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;

	to_rcpt_ehlo(f, " BODY=8BITMIME");
	say(f, "BDAT 4 LAST\r\na\nb\r");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QB5");
	assert_string_equal(replies(f),
	    "550 5.6.0 Message contains bare CR or LF\r\n");
	queue_until(f, IPC_MSG_ABORT, p, &len, NULL);
}

static void
test_nul_and_long_lines_in_data_are_550(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	char		 line[1002];

	f->l.max_message_size = 100000;
	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QN1");
	replies(f);
	assert_int_equal(session_input(f->s, "a\0b\r\n.\r\n", 8), 0);
	assert_string_equal(replies(f), "550 5.6.0 Message contains a NUL byte\r\n");
	queue_until(f, IPC_MSG_ABORT, p, &len, NULL);

	say(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QN2");
	replies(f);
	/* 998 octets pass, 999 do not */
	memset(line, 'x', sizeof(line));
	memcpy(line + 998, "\r\n", 3);
	say(f, line);
	memcpy(line + 997, "xx\r\n", 5);
	say(f, line);
	assert_string_equal(say(f, ".\r\n"),
	    "550 5.6.0 Message has a line longer than 998 octets\r\n");
	queue_until(f, IPC_MSG_ABORT, p, &len, NULL);
}

static void
test_too_many_received_headers_is_554(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;

	to_rcpt(f);
	say(f, "DATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QL1");
	replies(f);
	/* max_received_headers = 3; a body line or a folded one is no field */
	assert_string_equal(say(f, "Received: 1\r\nRECEIVED: 2\r\n"
	    "X: y\r\n Received: folded\r\nreceived:3\r\n\r\nReceived: body\r\n"
	    ".\r\n"), "");
	queue_until(f, IPC_MSG_END, p, &len, NULL);
	session_queue_reply(&f->env, IPC_MSG_COMMITTED, id, "QL1");
	assert_string_equal(replies(f), "250 2.0.0 Ok: queued as QL1\r\n");

	say(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QL2");
	replies(f);
	assert_string_equal(say(f, "Received: 1\r\nReceived: 2\r\n"
	    "Received: 3\r\nReceived: 4\r\n\r\nbody\r\n.\r\n"),
	    "554 5.4.6 Too many Received headers: mail loop?\r\n");
	queue_until(f, IPC_MSG_ABORT, p, &len, NULL);
}

static void
test_dsn_and_smtputf8_reach_queue_mgr(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	struct unpack	 u;
	uint64_t	 arrival;
	uint32_t	 id, n, ret, body, utf8, notify;
	char		*s1, *envid, *orcpt;
	size_t		 len, i;

	replies(f);
	say(f, "EHLO client.test\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.test> RET=HDRS ENVID=e+2B1 "
	    "BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<\xc3\xa9@example.org> "
	    "NOTIFY=FAILURE,DELAY ORCPT=rfc822;x+2By@example.org\r\n"
	    "RCPT TO:<v@example.org>\r\nDATA\r\n"),
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_MSG_BEGIN);
	unpack_init(&u, p, len);
	unpack_u64(&u, &arrival);
	for (i = 0; i < 3; i++) {
		unpack_str(&u, &s1, 100);
		free(s1);
	}
	unpack_u32(&u, &n);
	assert_int_equal(n, 2);
	unpack_str(&u, &s1, 100);
	assert_string_equal(s1, "\xc3\xa9@example.org");
	free(s1);
	unpack_str(&u, &s1, 100);
	free(s1);
	unpack_u32(&u, &ret);
	unpack_str(&u, &envid, 100);
	unpack_u32(&u, &body);
	unpack_u32(&u, &utf8);
	unpack_u32(&u, &n);
	assert_int_equal(ret, DSN_RET_HDRS);
	assert_string_equal(envid, "e+1");
	assert_int_equal(body, BODY_TYPE_8BITMIME);
	assert_int_equal(utf8, 1);
	assert_int_equal(n, 2);
	unpack_u32(&u, &notify);
	unpack_str(&u, &orcpt, 600);
	assert_int_equal(notify, DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
	assert_string_equal(orcpt, "rfc822;x+y@example.org");
	free(orcpt);
	unpack_u32(&u, &notify);
	unpack_str(&u, &orcpt, 600);
	assert_int_equal(notify, 0);
	assert_string_equal(orcpt, "");
	free(orcpt);
	free(envid);
	assert_int_equal(unpack_done(&u), 0);
	session_queue_reply(&f->env, IPC_MSG_BEGIN_OK, id, "QU1");
	replies(f);
	say(f, "x\r\n.\r\n");
	{
		struct buf c;

		buf_init(&c);
		queue_until(f, IPC_MSG_END, p, &len, &c);
		assert_non_null(memmem(c.p, c.len, "with UTF8SMTP id QU1", 20));
		buf_free(&c);
	}
}

static void
test_etrn_waits_for_queue_mgr(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	struct buf	 b;

	replies(f);
	say(f, "EHLO c.test\r\n");
	assert_string_equal(say(f, "ETRN example.net\r\nNOOP\r\n"), "");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_ETRN);
	buf_init(&b);
	pack_u32(&b, 2);
	session_etrn_reply(&f->env, id, 2);
	buf_free(&b);
	assert_string_equal(replies(f),
	    "250 2.0.0 Queuing for node example.net started\r\n250 2.0.0 Ok\r\n");
	assert_string_equal(say(f, "ETRN #q\r\n"), "458 4.3.0 Unable to queue "
	    "messages for node #q: queues by name are not supported\r\n");
	assert_string_equal(say(f, "ETRN bad..name\r\n"),
	    "501 5.5.4 Syntax: ETRN domain\r\n");
}

static void
test_etrn_without_an_answer_is_458_after_a_few_seconds(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	uint32_t	 id;
	size_t		 len;
	time_t		 t0 = time(NULL);

	replies(f);
	say(f, "EHLO c.test\r\n");
	assert_string_equal(say(f, "ETRN @example.net\r\n"), "");
	assert_int_equal(queue_recv(f, &id, p, &len), IPC_ETRN);
	/* queue-mgr stays silent */
	while (strstr(replies(f), "458") == NULL && time(NULL) - t0 < 10)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_string_equal(f->got,
	    "458 4.4.0 Unable to queue messages for node @example.net\r\n");
	assert_true(time(NULL) - t0 >= SMTPD_ETRN_WAIT - 1);
	/* a late answer changes nothing; the session goes on */
	session_etrn_reply(&f->env, id, 1);
	assert_string_equal(say(f, "NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

static void
test_etrn_from_a_client_not_listed_is_459(void **state)
{
	struct fixture *f = *state;

	server_listener_clear(&f->l);
	cidr_parse("192.0.2.0/24", (f->l.etrn.v = calloc(1, sizeof(struct cidr))));
	f->l.etrn.n = 1;
	replies(f);
	/* not offered to this client, and refused */
	assert_null(strstr(say(f, "EHLO c.test\r\n"), "ETRN"));
	assert_string_equal(say(f, "ETRN example.net\r\n"),
	    "459 4.7.1 Node example.net not allowed: client not authorized\r\n");
	f->l.ext &= ~EXT_ETRN;
	assert_string_equal(say(f, "ETRN example.net\r\n"),
	    "502 5.5.1 Error: command not implemented\r\n");
}

static void
test_messages_per_connection_limit_is_421(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	replies(f);
	say(f, "EHLO c.test\r\n");
	for (i = 0; i < 3; i++)
		assert_string_equal(say(f, "MAIL FROM:<a@b.test>\r\nRSET\r\n"),
		    "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
	assert_string_equal(say(f, "MAIL FROM:<a@b.test>\r\n"),
	    "421 4.7.0 mx.test Error: too many messages in one connection\r\n");
	f->s = NULL;
}

static void
test_help_lists_commands(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_non_null(strstr(say(f, "HELP\r\n"), "214 2.0.0 End of HELP"));
	assert_non_null(strstr(f->got, "BDAT"));
}

static void
test_command_timeout_uses_the_listener_value(void **state)
{
	struct fixture *f = *state;

	replies(f);
	assert_int_equal(f->l.command_timeout, 300);
	assert_int_equal(f->l.data_timeout, 180);
	assert_int_equal(f->l.max_errors, 10);
}

#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)

/* issue 4: a master channel for the recipient check; returns our end. */
static int
master_attach(struct fixture *f)
{
	int q[2];

	assert_int_equal(ipc_socketpair(q), 0);
	f->env.master = ipc_chan_new(f->base, q[0], "master", chan_msg,
	    chan_closed, NULL);
	assert_non_null(f->env.master);
	f->l.recipient_check = 1;
	return q[1];
}

/* The next IPC_RCPT_CHECK from smtpd: its id, the address in it. */
static uint32_t
rcpt_check_recv(struct fixture *f, int m, char *addr, size_t addrsz)
{
	static uint8_t	 p[IPC_MAX_PAYLOAD];
	struct ipc_msg	 msg;
	struct unpack	 u;
	char		*a = NULL;

	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(ipc_sync_recv(m, &msg, p, 1000), 0);
	assert_int_equal(msg.type, IPC_RCPT_CHECK);
	unpack_init(&u, msg.data, msg.len);
	unpack_str(&u, &a, 512);
	assert_int_equal(unpack_done(&u), 0);
	snprintf(addr, addrsz, "%s", a);
	free(a);
	return msg.id;
}

static void
test_rcpt_waits_for_the_recipient_check(void **state)
{
	struct fixture	*f = *state;
	char		 a[600];
	uint32_t	 id;
	int		 m = master_attach(f);

	replies(f);
	/* the second RCPT is pipelined: it waits behind the first */
	assert_string_equal(say(f, "HELO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<bob@example.org>\r\nRCPT TO:<Carol@EXAMPLE.org>\r\n"),
	    "250 mx.test\r\n250 2.1.0 Ok\r\n");
	id = rcpt_check_recv(f, m, a, sizeof(a));
	assert_string_equal(a, "bob@example.org");
	session_rcpt_check_reply(&f->env, id + 1000, RCPT_CHECK_OK, "");
	assert_string_equal(replies(f), "");
	session_rcpt_check_reply(&f->env, id, RCPT_CHECK_OK, "");
	assert_string_equal(replies(f), "250 2.1.5 Ok\r\n");
	/* local part as given, domain in lower case */
	id = rcpt_check_recv(f, m, a, sizeof(a));
	assert_string_equal(a, "Carol@example.org");
	session_rcpt_check_reply(&f->env, id, RCPT_CHECK_UNKNOWN, "no such user");
	assert_string_equal(replies(f), "550 5.1.1 <Carol@EXAMPLE.org>: "
	    "Recipient address rejected: user unknown\r\n");
	assert_string_equal(say(f, "RCPT TO:<dan@example.org>\r\n"), "");
	id = rcpt_check_recv(f, m, a, sizeof(a));
	session_rcpt_check_reply(&f->env, id, RCPT_CHECK_TEMPFAIL, "");
	assert_string_equal(replies(f), "451 4.3.0 <dan@example.org>: "
	    "Recipient address rejected: temporary lookup failure\r\n");
	/* postmaster is never asked about; foreign addresses never reach it */
	assert_string_equal(say(f, "RCPT TO:<postmaster@example.org>\r\n"),
	    "250 2.1.5 Ok\r\n");
	close(m);
}

static void
test_unanswered_rcpt_check_is_451_after_the_wait(void **state)
{
	struct fixture	*f = *state;
	char		 a[600];
	uint32_t	 id;
	time_t		 t0;
	int		 m = master_attach(f), i;

	replies(f);
	say(f, "HELO c.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.org>\r\n"
	    "NOOP\r\n");
	id = rcpt_check_recv(f, m, a, sizeof(a));
	t0 = time(NULL);
	/* the timer is the only event left: each loop waits for it */
	for (i = 0; i < 3 && strstr(replies(f), "451") == NULL; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(time(NULL) - t0 >= SMTPD_RCPT_CHECK_WAIT - 1);
	assert_string_equal(f->got, "451 4.3.0 <bob@example.org>: Recipient "
	    "address rejected: temporary lookup failure\r\n250 2.0.0 Ok\r\n");
	/* a late answer finds no one waiting */
	session_rcpt_check_reply(&f->env, id, RCPT_CHECK_OK, "");
	assert_string_equal(replies(f), "");
	close(m);
}

static void
test_rcpt_check_without_master_is_451(void **state)
{
	struct fixture *f = *state;

	f->l.recipient_check = 1;
	replies(f);
	assert_string_equal(say(f, "HELO c.test\r\nMAIL FROM:<a@b.test>\r\n"
	    "RCPT TO:<bob@example.org>\r\n"), "250 mx.test\r\n250 2.1.0 Ok\r\n"
	    "451 4.3.0 <bob@example.org>: Recipient address rejected: "
	    "temporary lookup failure\r\n");
}

static void
test_relay_vectors_from_untrusted_client(void **state)
{
	struct fixture *f = *state;

	replies(f);
	say(f, "HELO c.test\r\nMAIL FROM:<a@b.test>\r\n");
	assert_string_equal(say(f, "RCPT TO:<u%x.test@example.org>\r\n"),
	    "553 5.1.3 <u%x.test@example.org>: Recipient address rejected: "
	    "no routing through this host\r\n");
	assert_string_equal(say(f, "RCPT TO:<x.test!u@example.org>\r\n"),
	    "553 5.1.3 <x.test!u@example.org>: Recipient address rejected: "
	    "no routing through this host\r\n");
	assert_string_equal(say(f, "RCPT TO:<@example.org:u@x.test>\r\n"),
	    "554 5.7.1 <u@x.test>: Relay access denied\r\n");
	assert_string_equal(say(f, "RCPT TO:<u@x.test@example.org>\r\n"),
	    "501 5.1.3 Bad recipient address syntax\r\n");
}

static void
test_own_domain_sender_and_sender_lists(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(strlist_add(&f->env.conf->sender_reject,
	    "@bad.test", 9), 0);
	replies(f);
	assert_string_equal(say(f, "HELO c.test\r\nMAIL FROM:<me@example.org>\r\n"),
	    "250 mx.test\r\n550 5.7.1 <me@example.org>: Sender address "
	    "rejected: not logged in\r\n");
	assert_string_equal(say(f, "MAIL FROM:<x@bad.test>\r\n"),
	    "550 5.7.1 <x@bad.test>: Sender address rejected: Access "
	    "denied\r\n");
	f->env.conf->reject_null_sender_multi_rcpt = 1;
	assert_string_equal(say(f, "MAIL FROM:<>\r\nRCPT TO:<u@example.org>\r\n"
	    "RCPT TO:<v@example.org>\r\n"), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
	    "550 5.5.3 <v@example.org>: Recipient address rejected: a null "
	    "sender may have only one recipient\r\n");
}

static void
test_discarded_sender_gets_250_and_is_never_queued(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 p[IPC_MAX_PAYLOAD];
	struct ipc_msg	 m;

	assert_int_equal(strlist_add(&f->env.conf->sender_discard,
	    "quiet.test", 10), 0);
	replies(f);
	assert_string_equal(say(f, "HELO c.test\r\nMAIL FROM:<a@x.quiet.test>\r\n"
	    "RCPT TO:<u@example.org>\r\nDATA\r\n"), "250 mx.test\r\n"
	    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
	    "<CR><LF>.<CR><LF>\r\n");
	assert_string_equal(say(f, "Subject: x\r\n\r\nhi\r\n.\r\n"),
	    "250 2.0.0 Ok\r\n");
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(ipc_sync_recv(f->queue, &m, p, 0), -1);
	/* the next transaction is an ordinary one again */
	say(f, "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n");
	assert_int_equal(ipc_sync_recv(f->queue, &m, p, 1000), 0);
	assert_int_equal(m.type, IPC_MSG_BEGIN);
}

static void
test_policy_test_session_refuses_data_tls_and_auth(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	struct session		*t;
	int			 sv[2];
	char			 got[4096];
	ssize_t			 n;
	size_t			 len = 0;
	const char		*cmds = "EHLO c.test\r\nSTARTTLS\r\nAUTH PLAIN\r\n"
	    "MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n";

	f->l.auth = AUTH_MAY;
	f->l.auth_plaintext = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	t = session_new_test(&f->env, &f->l, sv[0], (struct sockaddr *)&sin,
	    sizeof(sin), 0, "probe.test");
	assert_non_null(t);
	assert_int_equal(session_input(t, cmds, strlen(cmds)), 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	while ((n = read(sv[1], got + len, sizeof(got) - 1 - len)) > 0)
		len += (size_t)n;
	got[len] = '\0';
	assert_null(strstr(got, "AUTH PLAIN"));
	assert_null(strstr(got, "STARTTLS"));
	assert_non_null(strstr(got, "502 5.5.1 Error: command not implemented\r\n"
	    "503 5.5.1 Error: authentication not enabled\r\n250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n554 5.7.0 Policy test: no mail is accepted\r\n"));
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_greeting_is_220),
		T(test_rcpt_waits_for_the_recipient_check),
		T(test_rcpt_check_without_master_is_451),
		T(test_unanswered_rcpt_check_is_451_after_the_wait),
		T(test_relay_vectors_from_untrusted_client),
		T(test_own_domain_sender_and_sender_lists),
		T(test_discarded_sender_gets_250_and_is_never_queued),
		T(test_policy_test_session_refuses_data_tls_and_auth),
		T(test_mail_before_helo_is_503),
		T(test_rcpt_before_mail_is_503),
		T(test_data_before_rcpt_is_503),
		T(test_ehlo_lists_extensions),
		T(test_unknown_command_is_500),
		T(test_relay_to_foreign_domain_is_554),
		T(test_too_many_recipients_is_452),
		T(test_mail_size_over_limit_is_552),
		T(test_line_too_long_is_500_and_session_goes_on),
		T(test_nul_in_command_is_500),
		T(test_tenth_error_ends_session_with_421),
		T(test_http_request_is_502_and_closed),
		T(test_quit_is_221),
		T(test_data_without_queue_is_451),
		T(test_full_transaction_waits_for_commit),
		T(test_commands_after_end_of_data_wait_their_turn),
		T(test_bare_lf_in_data_is_550_and_aborted),
		T(test_oversized_content_is_552_after_end_of_data),
		T(test_content_before_354_is_pipelining_violation),
		T(test_tempfail_at_begin_keeps_envelope),
		T(test_queue_loss_during_data_is_451_at_end),
		T(test_bdat_chunks_are_taken_as_they_are),
		T(test_bdat_zero_last_ends_the_message),
		T(test_data_after_bdat_is_503),
		T(test_bdat_without_rcpt_reads_the_chunk_then_503),
		T(test_binarymime_needs_bdat),
		T(test_bdat_text_body_with_bare_lf_is_550),
		T(test_nul_and_long_lines_in_data_are_550),
		T(test_too_many_received_headers_is_554),
		T(test_dsn_and_smtputf8_reach_queue_mgr),
		T(test_etrn_waits_for_queue_mgr),
		T(test_etrn_without_an_answer_is_458_after_a_few_seconds),
		T(test_etrn_from_a_client_not_listed_is_459),
		T(test_messages_per_connection_limit_is_421),
		T(test_help_lists_commands),
		T(test_command_timeout_uses_the_listener_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
