"""queue-mgr's scheduler as an admin sees it: retries at the configured
times, hold and release, a failing destination backed off as a whole,
per-destination concurrency and rate limits, ETRN."""
import re
import socket

import pytest

import postern_ipc as ipc
from conftest import SLOW, wait_for
from queue_helpers import (ctl_str, ehlo_keywords, instrument, send, tries,
                           wait_queue_empty)


def test_retries_follow_the_configured_schedule(make_postern, sink):
    h = instrument(sink)
    sink.handler.rcpt_replies["busy@example.com"] = "451 4.3.2 Busy"
    p = make_postern("queue_retry_schedule = 1s 3s\n")
    send(p, "alice@example.com", ["busy@example.com"])
    t = wait_for(lambda: len(tries(h, "busy@example.com")) >= 4 and
                 tries(h, "busy@example.com"), 30, "four tries")
    gaps = [b - a for a, b in zip(t, t[1:])]
    # whole seconds: a wait of n seconds is between n-1 and n (+ slack)
    assert gaps[0] < 2.0 * SLOW, gaps
    assert 1.9 < gaps[1] < 4.0 * SLOW, gaps
    assert 1.9 < gaps[2] < 4.0 * SLOW, gaps     # the last entry repeats


def test_hold_keeps_a_message_until_release(make_postern, sink):
    h = instrument(sink)
    sink.handler.rcpt_replies["held@example.com"] = "451 4.3.2 Busy"
    p = make_postern()
    qid = send(p, "alice@example.com", ["held@example.com"])
    wait_for(lambda: len(tries(h, "held@example.com")) == 1, 20, "the first try")
    assert ctl_str(p, "IPC_CTL_HOLD", qid) == ("IPC_CTL_OK", f"{qid} held")
    assert ctl_str(p, "IPC_CTL_HOLD", qid) == ("IPC_CTL_OK", f"{qid} already held")
    assert ctl_str(p, "IPC_CTL_HOLD", "0" * 19) == ("IPC_CTL_ERROR", "no such message")
    entry = wait_for(lambda: [e for e in p.queue() if e["id"] == qid], 10, "the entry")[0]
    assert entry["state"] == "held"
    del sink.handler.rcpt_replies["held@example.com"]
    # flush does not touch a held message, nor does a restart of queue-mgr
    p.ctl("flush")
    old = p.pid_of("postern-queue")
    import os
    import signal
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: p.pid_of("postern-queue") not in (None, old), 20, "a new queue-mgr")
    wait_for(p.control_ready, 20, "the new queue-mgr")
    assert [e["state"] for e in p.queue()] == ["held"]
    p.ctl("flush")
    assert len(tries(h, "held@example.com")) == 1
    assert ctl_str(p, "IPC_CTL_RELEASE", qid) == ("IPC_CTL_OK", f"{qid} released")
    wait_for(lambda: [m for m in sink.messages if m["to"] == ["held@example.com"]],
             20, "the delivery after release")
    wait_queue_empty(p)
    assert re.search(rf"{qid}: held by the admin", p.log_text())


def test_failing_destination_is_backed_off_as_a_whole(make_postern, sink):
    h = instrument(sink)
    for a in ("a1", "a2", "a3"):
        sink.handler.rcpt_replies[f"{a}@example.com"] = "451 4.3.2 Busy"
    p = make_postern("destination_failure_limit = 2\n")
    send(p, "alice@example.org", ["a1@example.com"])
    send(p, "alice@example.org", ["a2@example.com"])
    wait_for(lambda: "destination example.com: 2 failures in a row" in p.log_text(),
             20, "the destination to be backed off")
    q3 = send(p, "alice@example.org", ["a3@example.com"])
    entry = wait_for(lambda: [e for e in p.queue() if e["id"] == q3 and e["next_try"]],
                     10, "the third message to wait")[0]
    assert tries(h, "a3@example.com") == []
    assert entry["last_error"] == ""
    # the admin overrides it
    del sink.handler.rcpt_replies["a3@example.com"]
    p.ctl("flush")
    wait_for(lambda: [m for m in sink.messages if m["to"] == ["a3@example.com"]],
             20, "the third message after flush")


def test_concurrency_per_destination_from_the_route(make_postern, sink):
    h = instrument(sink, data_delay=0.4)
    p = make_postern('route "example.com" {\n\tvia = mx\n\tconcurrency = 1\n}\n')
    with p.smtp() as s:
        s.ehlo("client.example.org")
        for i in range(4):
            assert s.sendmail("alice@example.org", [f"c{i}@example.com"],
                              b"Subject: c\r\n\r\nx\r\n") == {}
    wait_for(lambda: len(sink.messages) >= 4, 30, "four messages")
    assert h.max_in_data == 1


def test_rate_limit_spaces_messages_to_a_destination(make_postern, sink):
    import time
    arrived = []
    orig = sink.handler.handle_DATA

    async def handle_DATA(server, session, envelope):
        arrived.append(time.monotonic())
        return await orig(server, session, envelope)
    sink.handler.handle_DATA = handle_DATA
    p = make_postern('route "example.com" {\n\tvia = mx\n\trate_limit = 60\n}\n')
    with p.smtp() as s:
        s.ehlo("client.example.org")
        for i in range(3):
            assert s.sendmail("alice@example.org", [f"r{i}@example.com"],
                              b"Subject: r\r\n\r\nx\r\n") == {}
    wait_for(lambda: len(arrived) >= 3, 30, "three messages")
    # 60 a minute: one a second
    assert arrived[1] - arrived[0] > 0.9 and arrived[2] - arrived[1] > 0.9, arrived


def test_etrn_flushes_the_domain(make_postern, sink):
    h = instrument(sink)
    sink.handler.rcpt_replies["e@example.com"] = "451 4.3.2 Busy"
    p = make_postern(listener_extra="\tetrn_clients = 127.0.0.1/32\n")
    if "ETRN" not in ehlo_keywords(p):
        pytest.skip("smtpd does not offer ETRN yet")
    send(p, "alice@example.org", ["e@example.com"])
    wait_for(lambda: len(tries(h, "e@example.com")) == 1, 20, "the first try")
    del sink.handler.rcpt_replies["e@example.com"]
    with p.smtp() as s:
        s.ehlo("client.example.org")
        code, text = s.docmd("ETRN", "example.com")
    if code == 458 or code == 459 or code == 500 or code == 502:
        pytest.skip(f"ETRN refused: {code} {text}")
    assert code == 250, text
    wait_for(lambda: [m for m in sink.messages if m["to"] == ["e@example.com"]],
             20, "the delivery after ETRN")
    assert re.search(r"etrn: example.com: 1 message scheduled", p.log_text())


def test_etrn_over_ipc_counts_matching_messages(make_postern, sink):
    """queue-mgr's side of ETRN, spoken as smtpd would: a throwaway pair of
    queue-mgr sockets is not needed, the control socket refuses ETRN."""
    p = make_postern()
    t, data = None, None
    path = str(p.spool / "run" / "control")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        ipc.send(s, "IPC_ETRN", ipc.Packer().str("example.com"), req_id=3)
        t, _, data, _ = ipc.recv(s, 10 * SLOW)
    # only smtpd may ask for ETRN: the control socket calls it malformed
    assert t == "IPC_CTL_ERROR"
