/* Unit tests: binary packing and the IPC framing, including hostile frames. */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ipc.h"
#include "pack.h"

static void
test_pack_roundtrip(void **state)
{
	struct buf	 b;
	struct unpack	 u;
	uint32_t	 x;
	uint64_t	 y;
	char		*s;

	(void)state;
	buf_init(&b);
	pack_u32(&b, 0xdeadbeef);
	pack_u64(&b, 1ULL << 40);
	pack_str(&b, "user@example.org");
	unpack_init(&u, b.p, b.len);
	assert_int_equal(unpack_u32(&u, &x), 0);
	assert_int_equal(x, 0xdeadbeef);
	assert_int_equal(unpack_u64(&u, &y), 0);
	assert_true(y == 1ULL << 40);
	assert_int_equal(unpack_str(&u, &s, 256), 0);
	assert_string_equal(s, "user@example.org");
	free(s);
	assert_int_equal(unpack_done(&u), 0);
	buf_free(&b);
}

static void
test_unpack_rejects_short_long_and_line_breaks(void **state)
{
	struct buf	 b;
	struct unpack	 u;
	char		*s;
	uint32_t	 x;

	(void)state;
	buf_init(&b);
	pack_u32(&b, 1000);		/* claims 1000 bytes, has 3 */
	buf_append(&b, "abc", 3);
	unpack_init(&u, b.p, b.len);
	assert_int_equal(unpack_str(&u, &s, 4096), -1);
	assert_null(s);
	/* failure is sticky */
	assert_int_equal(unpack_u32(&u, &x), -1);
	assert_int_equal(unpack_done(&u), -1);

	buf_reset(&b);
	pack_str(&b, "a\r\nRCPT TO:<evil>");
	unpack_init(&u, b.p, b.len);
	assert_int_equal(unpack_str(&u, &s, 4096), -1);

	buf_reset(&b);
	pack_bytes(&b, "a\0b", 3);
	unpack_init(&u, b.p, b.len);
	assert_int_equal(unpack_str(&u, &s, 4096), -1);

	buf_reset(&b);
	pack_str(&b, "toolong");
	unpack_init(&u, b.p, b.len);
	assert_int_equal(unpack_str(&u, &s, 3), -1);

	buf_reset(&b);
	pack_u32(&b, 7);
	pack_u32(&b, 8);		/* trailing garbage */
	unpack_init(&u, b.p, b.len);
	assert_int_equal(unpack_u32(&u, &x), 0);
	assert_int_equal(unpack_done(&u), -1);
	buf_free(&b);
}

struct rx {
	int	 got;
	uint32_t type, id;
	int	 fdseen;
	char	 data[64];
	int	 closed;
	struct event_base *base;
};

static void
on_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct rx *rx = arg;
	char x;

	(void)c;
	rx->got++;
	rx->type = m->type;
	rx->id = m->id;
	memcpy(rx->data, m->data, m->len < sizeof(rx->data) ? m->len : sizeof(rx->data));
	if (m->fd != -1) {
		/* the passed fd is the read end of a pipe holding 'Z' */
		rx->fdseen = read(m->fd, &x, 1) == 1 && x == 'Z';
	}
	event_base_loopbreak(rx->base);
}

static void
on_close(struct ipc_chan *c, void *arg)
{
	struct rx *rx = arg;

	(void)c;
	rx->closed = 1;
	event_base_loopbreak(rx->base);
}

static void
test_frame_with_fd_arrives_whole(void **state)
{
	struct event_base	*base = event_base_new();
	struct ipc_chan		*a, *b;
	struct rx		 rx = { 0 };
	int			 sv[2], p[2];

	(void)state;
	rx.base = base;
	assert_int_equal(ipc_socketpair(sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "Z", 1), 1);
	close(p[1]);
	a = ipc_chan_new(base, sv[0], "a", on_msg, on_close, &rx);
	b = ipc_chan_new(base, sv[1], "b", on_msg, on_close, &rx);
	assert_int_equal(ipc_send(a, IPC_MSG_DATA, 42, p[0], "hello", 5), 0);
	event_base_dispatch(base);
	assert_int_equal(rx.got, 1);
	assert_int_equal(rx.type, IPC_MSG_DATA);
	assert_int_equal(rx.id, 42);
	assert_memory_equal(rx.data, "hello", 5);
	assert_true(rx.fdseen);
	/* too big a payload is refused at the sender */
	assert_int_equal(ipc_send(a, IPC_MSG_DATA, 1, -1, NULL, IPC_MAX_PAYLOAD + 1), -1);
	ipc_chan_free(a);
	ipc_chan_free(b);
	event_base_free(base);
}

static void
raw_frame(int fd, uint32_t type, uint32_t len, uint32_t id, uint32_t flags,
    size_t actual)
{
	uint8_t f[64] = { 0 };

	memcpy(f, &type, 4);
	memcpy(f + 4, &len, 4);
	memcpy(f + 8, &id, 4);
	memcpy(f + 12, &flags, 4);
	assert_true(send(fd, f, actual, 0) == (ssize_t)actual);
}

static void
expect_malformed_closes(uint32_t type, uint32_t len, uint32_t flags, size_t actual)
{
	struct event_base	*base = event_base_new();
	struct ipc_chan		*b;
	struct rx		 rx = { 0 };
	int			 sv[2];

	rx.base = base;
	assert_int_equal(ipc_socketpair(sv), 0);
	b = ipc_chan_new(base, sv[1], "peer", on_msg, on_close, &rx);
	raw_frame(sv[0], type, len, 7, flags, actual);
	event_base_dispatch(base);
	assert_int_equal(rx.got, 0);
	assert_int_equal(rx.closed, 1);
	ipc_chan_free(b);
	close(sv[0]);
	event_base_free(base);
}

static void
test_malformed_frames_close_the_channel(void **state)
{
	(void)state;
	expect_malformed_closes(IPC_MSG_DATA, 0, 0, 8);		/* short header */
	expect_malformed_closes(9999, 0, 0, 16);		/* unknown type */
	expect_malformed_closes(IPC_NONE, 0, 0, 16);		/* type 0 */
	expect_malformed_closes(IPC_MSG_DATA, 10, 0, 16);	/* length lies */
	expect_malformed_closes(IPC_MSG_DATA, 0, 0x80, 16);	/* unknown flag */
	expect_malformed_closes(IPC_MSG_DATA, 0, IPC_F_FD, 16);	/* fd flag, no fd */
}

static void
test_sync_roundtrip_and_timeout(void **state)
{
	struct ipc_msg	 m;
	uint8_t		*payload = malloc(IPC_MAX_PAYLOAD);
	int		 sv[2];

	(void)state;
	assert_int_equal(ipc_socketpair(sv), 0);
	assert_int_equal(ipc_sync_send(sv[0], IPC_CTL_FLUSH, 3, -1, "xy", 2), 0);
	assert_int_equal(ipc_sync_recv(sv[1], &m, payload, 1000), 0);
	assert_int_equal(m.type, IPC_CTL_FLUSH);
	assert_int_equal(m.len, 2);
	assert_int_equal(m.fd, -1);
	assert_int_equal(ipc_sync_recv(sv[1], &m, payload, 50), -1);
	assert_int_equal(errno, ETIMEDOUT);
	close(sv[0]);
	assert_int_equal(ipc_sync_recv(sv[1], &m, payload, 1000), -1);
	assert_int_equal(errno, ECONNRESET);
	close(sv[1]);
	free(payload);
}

/* Answers every request with 4 KiB, like a daemon answering a flood. */
struct echo {
	struct event_base	*base;
	size_t			 got;
	int			 closed;
};

static void
echo_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	static char	 reply[4096];
	struct echo	*e = arg;

	(void)m;
	e->got++;
	ipc_send(c, IPC_CTL_OK, 0, -1, reply, sizeof(reply));
}

static void
echo_close(struct ipc_chan *c, void *arg)
{
	struct echo *e = arg;

	(void)c;
	e->closed = 1;
	event_base_loopbreak(e->base);
}

static void
stop_loop(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	event_base_loopbreak(arg);
}

static void
test_peer_that_never_reads_cannot_grow_our_memory(void **state)
{
	struct event_base	*base = event_base_new();
	struct ipc_chan		*c;
	struct echo		 e = { base, 0, 0 };
	struct timeval		 tv = { 1, 0 };
	uint8_t			 req[16] = { 0 };
	uint32_t		 type = IPC_CTL_QUEUE, zero = 0;
	int			 sv[2], i, fl;

	(void)state;
	assert_int_equal(ipc_socketpair(sv), 0);
	c = ipc_chan_new(base, sv[1], "flooder", echo_msg, echo_close, &e);
	memcpy(req, &type, 4);
	memcpy(req + 4, &zero, 4);
	fl = fcntl(sv[0], F_GETFL);
	fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
	/* the flooder sends as much as the socket takes, never reads */
	for (i = 0; i < 100000; i++) {
		if (send(sv[0], req, sizeof(req), 0) == -1)
			break;
		if (i % 256 == 0) {
			event_base_loopexit(base, &(struct timeval){ 0, 1000 });
			event_base_dispatch(base);
		}
	}
	event_base_once(base, -1, EV_TIMEOUT, stop_loop, base, &tv);
	event_base_dispatch(base);
	/* we stopped reading once our answers piled up past the high water */
	assert_true(ipc_pending(c) <= IPC_HIGH_WATER + 4096 + IPC_HDR_LEN);
	assert_true(e.got < (size_t)i);
	assert_false(e.closed);
	ipc_chan_free(c);
	close(sv[0]);
	event_base_free(base);
}

static void
test_sender_past_the_cap_drops_the_peer(void **state)
{
	struct event_base	*base = event_base_new();
	struct ipc_chan		*c;
	struct echo		 e = { base, 0, 0 };
	static char		 chunk[IPC_MAX_PAYLOAD];
	int			 sv[2], i, refused = 0;

	(void)state;
	assert_int_equal(ipc_socketpair(sv), 0);
	c = ipc_chan_new(base, sv[1], "sleeper", echo_msg, echo_close, &e);
	for (i = 0; i < IPC_MAX_QUEUED / IPC_MAX_PAYLOAD + 8; i++)
		if (ipc_send(c, IPC_MSG_DATA, 1, -1, chunk, sizeof(chunk)) == -1)
			refused++;
	assert_true(refused > 0);
	assert_true(ipc_pending(c) <= IPC_MAX_QUEUED);
	/* the drop happens in the loop, not inside ipc_send */
	assert_false(e.closed);
	event_base_dispatch(base);
	assert_true(e.closed);
	ipc_chan_free(c);
	close(sv[0]);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_roundtrip),
		cmocka_unit_test(test_unpack_rejects_short_long_and_line_breaks),
		cmocka_unit_test(test_frame_with_fd_arrives_whole),
		cmocka_unit_test(test_malformed_frames_close_the_channel),
		cmocka_unit_test(test_sync_roundtrip_and_timeout),
		cmocka_unit_test(test_peer_that_never_reads_cannot_grow_our_memory),
		cmocka_unit_test(test_sender_past_the_cap_drops_the_peer),
	};
	return cmocka_run_group_tests_name("lib_ipc", tests, NULL, NULL);
}
