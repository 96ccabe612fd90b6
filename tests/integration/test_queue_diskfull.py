"""A full disk: new mail gets a temporary failure (452/451 4.3.x), mail
already acknowledged is unharmed, and queue-mgr recovers by itself when
space returns. The spool lives on a small tmpfs made by the test."""
import os
import re
import smtplib
import subprocess

import pytest

from conftest import wait_for
from queue_helpers import send

BIG = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 1024   # about 1 MB


def fill(path):
    """Writes a file until the file system is full."""
    chunk = b"\0" * (256 * 1024)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError:
                break
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    # the last few KB as well
    with open(str(path) + ".2", "wb", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 4096)
            except OSError:
                break


def try_send(p, data):
    """(code, text) of the final reply, or (0, error) when no session."""
    try:
        with p.smtp() as s:
            s.ehlo("client.example.org")
            s.mail("alice@example.org")
            s.rcpt("bob@example.com")
            return s.data(data)
    except smtplib.SMTPException as e:
        return getattr(e, "smtp_code", 0), str(e).encode()
    except OSError as e:
        return 0, str(e).encode()


def test_disk_full_gives_4xx_and_recovers(make_postern, sink, tmp_path):
    p = make_postern(start=False)
    p.spool.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m,mode=0755", "tmpfs",
                        str(p.spool)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    try:
        p.start()
        sink.stop()     # acknowledged mail stays queued while the disk is full
        q1 = send(p, "alice@example.org", ["bob@example.com"], tag="before-full")
        filler = p.spool / "filler"
        fill(filler)
        code, text = try_send(p, BIG)
        assert 400 <= code < 500, (code, text)
        assert re.match(rb"4\.3\.[0-9]", text), text
        assert "SPOOL WRITE FAILED" in p.log_text()
        # space returns: new mail is taken again, without a restart by hand
        os.unlink(filler)
        os.unlink(str(filler) + ".2")
        wait_for(lambda: try_send(p, BIG)[0] == 250, 30, "a 250 after space returned")
        sink.start()
        p.ctl("flush")
        wait_for(lambda: len([m for m in sink.messages if b"before-full" in m["data"]]) == 1,
                 30, "the message acknowledged before the disk filled")
        wait_for(lambda: p.queue() == [], 30, "the queue to empty")
        assert q1 in p.log_text()
    finally:
        p.stop()
        subprocess.run(["umount", "-l", str(p.spool)], capture_output=True)
