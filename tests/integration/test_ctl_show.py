"""posternctl show (issue 7): a queued message's envelope, recipients and content."""
import socket
import subprocess

import pytest

import postern_ipc
from conftest import BUILD, free_port, wait_for

from test_delivery import send

BODY = (b"From: Alice <alice@example.org>\r\nSubject: hello \x1b[31mred\r\n"
        b"\r\nline one\r\n\ttabbed \x07bell\r\n")


def queued(postern, sink, data=BODY, rcpts=("bob@example.com", "carol@example.com")):
    sink.stop()
    qid = send(postern, "alice@example.org", list(rcpts), data=data)
    wait_for(lambda: all(e["last_error"] for e in postern.queue()), 20, "a deferral")
    return qid


def test_show_prints_envelope_recipients_and_safe_content(postern, sink):
    qid = queued(postern, sink)
    out = postern.ctl("show", qid).stdout
    assert f"Queue-ID: {qid}\n" in out
    assert "Sender: <alice@example.org>\n" in out
    assert "Client: 127.0.0.1" in out
    assert "Helo: client.example.org\n" in out
    assert "Recipients: 2\n" in out
    assert "Recipient: <bob@example.com>\n" in out and "Recipient: <carol@example.com>\n" in out
    assert "  State: pending\n" in out
    assert "  Attempts: 1\n" in out
    assert "  Last-Reply: " in out and "  Last-Reply: -" not in out
    # the content, with terminal controls made harmless, CRLF as LF
    assert "Subject: hello ?[31mred\n" in out
    assert "\n\nline one\n\ttabbed ?bell\n" in out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out


def test_show_parts_and_raw(postern, sink):
    qid = queued(postern, sink, rcpts=("bob@example.com",))
    head = postern.ctl("show", "--headers", qid).stdout
    assert "Subject: hello ?[31mred\n" in head
    assert "line one" not in head and "Queue-ID" not in head
    body = postern.ctl("show", "--body", qid).stdout
    assert body == "line one\n\ttabbed ?bell\n"
    raw = subprocess.run([str(BUILD / "posternctl"), "-f", str(postern.conf), "show", "--raw", qid],
                         capture_output=True, timeout=60).stdout
    # what smtpd stored: our bytes, after the Received line it added
    assert raw.endswith(BODY)
    assert raw.startswith(b"Received: ")


def test_show_streams_a_big_message(make_postern, sink):
    big = free_port()
    postern = make_postern(extra=f"listener big {{\n\tlisten = 127.0.0.1:{big}\n"
                                 "\tmax_message_size = 10M\n}\n")
    postern.port = big          # send() talks to the listener that takes 3 MB
    line = b"x" * 998 + b"\r\n"
    data = b"Subject: big\r\n\r\n" + line * 3000        # ~3 MB: many frames
    qid = queued(postern, sink, data=data, rcpts=("bob@example.com",))
    raw = subprocess.run([str(BUILD / "posternctl"), "-f", str(postern.conf), "show", "--raw", qid],
                         capture_output=True, timeout=60).stdout
    assert raw.endswith(data)


def test_show_errors(postern, sink):
    r = postern.ctl("show", "NOSUCHMESSAGE0000000", check=False)
    assert r.returncode == 1 and "no such message" in r.stderr
    r = postern.ctl("show", "not-an-id", check=False)
    assert r.returncode == 1 and "no such message" in r.stderr
    assert postern.ctl("show", check=False).returncode == 2
    assert postern.ctl("show", "--bogus", "X", check=False).returncode == 2


def test_malformed_show_request_is_refused(postern):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(str(postern.spool / "run" / "control"))
    # a show without its content flag: an error, then the daemon closes
    postern_ipc.send(s, "IPC_CTL_SHOW", postern_ipc.Packer().str("abc"), req_id=1)
    name, _rid, payload, _fd = postern_ipc.recv(s)
    assert name == "IPC_CTL_ERROR" and b"malformed" in payload
    with pytest.raises(EOFError):
        postern_ipc.recv(s)
    s.close()
    postern.ctl("queue")        # queue-mgr is still fine
