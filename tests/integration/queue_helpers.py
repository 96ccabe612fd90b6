"""Helpers of the queue-mgr tests (issue 5): sending, a sink that records
when and how often it is tried, and control-socket requests in Python."""
import asyncio
import email
import email.policy
import re
import socket
import time

import postern_ipc as ipc
from conftest import SLOW, wait_for

BODY = (b"From: Alice <alice@example.com>\r\n"
        b"To: Bob <bob@example.com>\r\n"
        b"Subject: %s\r\n"
        b"Message-ID: <%s@example.com>\r\n"
        b"\r\n"
        b"Hello Bob.\r\n")


def message(tag):
    tag = tag.encode() if isinstance(tag, str) else tag
    return BODY % (tag, tag)


def send(postern, sender, rcpts, data=None, tag="queue-test", mail_options=(),
         rcpt_options=()):
    """Sends one message; returns the queue id from the 250 reply."""
    with postern.smtp() as s:
        assert s.ehlo("client.example.org")[0] == 250
        code, text = s.mail(sender, list(mail_options))
        assert code == 250, text
        for r in rcpts:
            code, text = s.rcpt(r, list(rcpt_options))
            assert code == 250, text
        code, text = s.data(data if data is not None else message(tag))
        assert code == 250, text
    m = re.search(rb"queued as ([0-9A-Z]+)", text)
    assert m, text
    return m.group(1).decode()


def ehlo_keywords(postern):
    with postern.smtp() as s:
        s.ehlo("client.example.org")
        return {k.upper() for k in s.esmtp_features}


def instrument(sink, data_delay=0.0):
    """Records every RCPT (time, address, reply) and the most DATA
    transactions in progress at once; DATA may be made slow."""
    h = sink.handler
    h.rcpt_log = []
    h.in_data = 0
    h.max_in_data = 0
    orig_rcpt = h.handle_RCPT

    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        reply = await orig_rcpt(server, session, envelope, address, rcpt_options)
        h.rcpt_log.append((time.monotonic(), address, reply))
        return reply

    orig_data = h.handle_DATA

    async def handle_DATA(server, session, envelope):
        h.in_data += 1
        h.max_in_data = max(h.max_in_data, h.in_data)
        try:
            if data_delay:
                await asyncio.sleep(data_delay)
            return await orig_data(server, session, envelope)
        finally:
            h.in_data -= 1

    h.handle_RCPT = handle_RCPT
    h.handle_DATA = handle_DATA
    return h


def tries(handler, address):
    return [t for t, a, _ in list(handler.rcpt_log) if a == address]


def ctl_request(postern, type_, payload=b"", timeout=10):
    """One request on the control socket; returns (reply type, payload)."""
    path = str(postern.spool / "run" / "control")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        ipc.send(s, type_, payload, req_id=7)
        t, rid, data, fd = ipc.recv(s, timeout * SLOW)
        return t, data


def ctl_str(postern, type_, text):
    t, data = ctl_request(postern, type_, ipc.Packer().str(text))
    return t, ipc.Unpacker(data).str()


def parse_dsn(raw):
    """The DSN as an email.message, plus (per-message fields, [per-recipient])."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    return msg, parts, blocks[0], blocks[1:]


def strip_received(data):
    """The message without the Received header(s) queue-mgr's peers added."""
    while data.startswith(b"Received: "):
        end = data.index(b"\r\n") + 2
        while data[end:end + 1] in (b" ", b"\t"):
            end = data.index(b"\r\n", end) + 2
        data = data[end:]
    return data


def wait_queue_empty(postern, timeout=20):
    wait_for(lambda: postern.queue() == [], timeout, "the queue to empty")
