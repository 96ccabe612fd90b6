"""A message's way through every process: smtpd, queue-mgr, deliver (with
MX lookup through the resolver and a real unbound), to an SMTP sink."""
import os
import re
import signal
import time

from conftest import SLOW, wait_for

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <bob@example.com>\r\n"
           b"Subject: walking skeleton\r\n"
           b"Message-ID: <skeleton-1@example.org>\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b".a line that starts with a dot\r\n"
           b"..and one with two\r\n"
           b"\r\n"
           b"-- \r\nAlice\r\n")


def send(postern, sender, rcpts, data=MESSAGE, source="127.0.0.1"):
    """Sends one message; returns the queue id from the 250 reply."""
    with postern.smtp(source) as s:
        assert s.ehlo("client.example.org")[0] == 250
        assert s.mail(sender)[0] == 250
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, text
        code, text = s.data(data)
        assert code == 250, text
    m = re.match(rb"2\.0\.0 Ok: queued as ([0-9A-Za-z]+)$", text)
    assert m, text
    return m.group(1).decode()


def split_received(data):
    """(first Received header, rest of the message)."""
    assert data.startswith(b"Received: "), data[:200]
    end = 0
    while True:
        nl = data.index(b"\r\n", end) + 2
        end = nl
        if data[nl:nl + 1] not in (b" ", b"\t"):
            return data[:end], data[end:]


def test_message_arrives_byte_exact_via_mx_lookup(postern, sink):
    qid = send(postern, "alice@example.org", ["bob@example.com"])
    msg = sink.wait_messages(1)[0]
    assert msg["from"] == "alice@example.org"
    assert msg["to"] == ["bob@example.com"]
    received, rest = split_received(msg["data"])
    assert rest == MESSAGE
    assert b"from client.example.org" in received
    assert b"[127.0.0.1]" in received
    assert b"by mx.test.invalid" in received
    assert f"id {qid}".encode() in received
    assert b"for <bob@example.com>" in received
    # only one Received header was added
    assert not rest.startswith(b"Received:")
    # and the queue is empty again
    wait_for(lambda: postern.queue() == [], 10, "the queue to empty")
    log = postern.log_text()
    assert f"{qid}: from=<alice@example.org>" in log
    assert re.search(rf"{qid}: to=<bob@example.com>, relay=mx\.example\.com\[127\.0\.0\.1\]:{sink.port}, "
                     r"delay=[0-9.]+, dsn=2\.0\.0, status=sent", log), log


def test_several_recipients_and_domains_each_arrive_once(postern, sink):
    send(postern, "alice@example.org", ["a@example.com", "b@example.com", "c@example.net"])
    wait_for(lambda: sum(len(m["to"]) for m in sink.messages) >= 3, 20, "three recipients")
    time.sleep(0.5 * SLOW)
    got = sorted(r for m in sink.messages for r in m["to"])
    assert got == ["a@example.com", "b@example.com", "c@example.net"]


def test_acknowledged_message_survives_kill_9_of_queue_mgr(postern, sink):
    sink.stop()
    qid = send(postern, "alice@example.org", ["bob@example.com"])
    # deliver tried and failed: the message waits in the queue
    wait_for(lambda: [e for e in postern.queue() if e["id"] == qid and e["last_error"]],
             20, "a failed delivery attempt")
    old = postern.pid_of("postern-queue")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: postern.pid_of("postern-queue") not in (None, old), 20,
             "the master to restart queue-mgr")
    wait_for(postern.control_ready, 20, "the new queue-mgr to answer")
    assert [e["id"] for e in postern.queue()] == [qid]
    assert "restart" in postern.log_text()
    sink.start()
    assert postern.ctl("flush").returncode == 0
    sink.wait_messages(1)
    wait_for(lambda: postern.queue() == [], 20, "the queue to empty")
    time.sleep(1 * SLOW)
    assert len(sink.messages) == 1
    _, rest = split_received(sink.messages[0]["data"])
    assert rest == MESSAGE


def test_smtpd_crash_is_restarted_and_serves_again(postern, sink):
    old = postern.pid_of("postern-smtpd")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: postern.pid_of("postern-smtpd") not in (None, old), 20, "a new smtpd")
    wait_for(postern._accepts, 20, "the new smtpd to accept")
    send(postern, "alice@example.org", ["bob@example.com"])
    sink.wait_messages(1)


def test_permanent_failure_bounces_to_sender(postern, sink):
    sink.handler.rcpt_replies["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: no such user"
    qid = send(postern, "alice@example.net", ["nobody@example.com"])
    # the bounce goes back to alice@example.net, whose MX is the sink too
    msgs = sink.wait_messages(1)
    bounce = msgs[0]
    assert bounce["from"] == "<>"     # aiosmtpd's spelling of the null sender
    assert bounce["to"] == ["alice@example.net"]
    assert b"nobody@example.com" in bounce["data"]
    assert b"550 5.1.1" in bounce["data"]
    log = postern.log_text()
    assert re.search(rf"{qid}: to=<nobody@example.com>, .*dsn=5\.1\.1, status=bounced", log), log
    wait_for(lambda: postern.queue() == [], 20, "the queue to empty")


def test_temporary_failure_is_deferred_with_the_reply(postern, sink):
    sink.handler.rcpt_replies["busy@example.com"] = "451 4.3.2 try later"
    qid = send(postern, "alice@example.org", ["busy@example.com"])
    entry = wait_for(lambda: [e for e in postern.queue() if e["id"] == qid and e["last_error"]],
                     20, "a deferral")[0]
    assert "451 4.3.2 try later" in entry["last_error"]
    assert entry["state"] == "deferred"
    assert entry["next_try"] > time.time() + 60
    out = postern.ctl("queue").stdout
    assert qid in out and "451 4.3.2 try later" in out
    assert re.search(rf"{qid}: to=<busy@example.com>, .*status=deferred", postern.log_text())
