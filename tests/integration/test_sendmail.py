"""postern-sendmail: how local programs hand mail over (the pickup drop)."""
import os
import pwd
import struct
import subprocess
from pathlib import Path

from conftest import BUILD, wait_for
from postern_ipc import Packer, Unpacker

MAGIC = b"POSTERN-PICKUP-1\n"


def open_up(path):
    """Lets an unprivileged user reach the config (the test's folders are 0700)."""
    p = Path(path)
    for d in [p, *p.parents]:
        if str(d) in ("/", "/tmp"):
            break
        os.chmod(d, os.stat(d).st_mode | 0o711)


def sendmail(postern, args, text, user=None):
    cmd = [str(BUILD / "postern-sendmail"), "-C", str(postern.conf), *args]
    if user:
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd]
    return subprocess.run(cmd, input=text, capture_output=True, timeout=30)


def pickup_files(postern):
    d = postern.spool / "pickup"
    return [f for f in d.iterdir() if not f.name.startswith("tmp.")]


def decode(path):
    data = path.read_bytes()
    assert data.startswith(MAGIC)
    n, = struct.unpack_from("<I", data, len(MAGIC))
    u = Unpacker(data[len(MAGIC) + 4:len(MAGIC) + 4 + n])
    version, when, flags = u.u32(), u.u64(), u.u32()
    sender = u.str()
    rcpts = [u.str() for _ in range(u.u32())]
    assert u.done() and version == 1
    return {"time": when, "flags": flags, "sender": sender, "rcpts": rcpts,
            "content": data[len(MAGIC) + 4 + n:]}


def test_local_user_submission_is_dropped_as_that_user(postern):
    postern.stop()      # nothing imports: the file stays to be looked at
    open_up(postern.dir)
    nobody = pwd.getpwnam("nobody")
    r = sendmail(postern, ["-F", "Cron Daemon", "bob", "carol@example.net"],
                 b"Subject: nightly\n\nall good\n.\nnot part of it\n", user="nobody")
    assert r.returncode == 0, r.stderr
    files = pickup_files(postern)
    assert len(files) == 1
    st = files[0].stat()
    # the file's owner is the submitter: it cannot be claimed otherwise
    assert st.st_uid == nobody.pw_uid and st.st_mode & 0o777 == 0o600
    m = decode(files[0])
    assert m["sender"] == "nobody@mx.test.invalid"
    assert m["rcpts"] == ["bob@mx.test.invalid", "carol@example.net"]
    assert m["flags"] == 0
    c = m["content"]
    assert b"From: Cron Daemon <nobody@mx.test.invalid>\r\n" in c
    assert b"\r\nDate: " in c and b"\r\nMessage-ID: <" in c
    assert c.endswith(b"Subject: nightly\r\n\r\nall good\r\n")
    # nobody may list the drop folder (1733)
    r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
                        "ls", str(postern.spool / "pickup")], capture_output=True)
    assert r.returncode != 0


def test_only_root_may_choose_the_sender(postern):
    postern.stop()
    open_up(postern.dir)
    r = sendmail(postern, ["-f", "ceo@example.org", "-t"],
                 b"To: a@example.com\nBcc: b@example.com\n\nhi\n", user="nobody")
    assert r.returncode == 0, r.stderr
    assert b"not allowed" in r.stderr
    m = decode(pickup_files(postern)[0])
    assert m["sender"] == "nobody@mx.test.invalid"
    assert m["rcpts"] == ["a@example.com", "b@example.com"]
    assert b"X-Authentication-Warning: mx.test.invalid: nobody set sender to ceo@example.org" \
        in m["content"]
    assert b"Bcc" not in m["content"]
    for f in pickup_files(postern):
        f.unlink()
    r = sendmail(postern, ["-f", "ceo@example.org", "x@example.com"], b"hi\n")
    assert r.returncode == 0, r.stderr
    m = decode(pickup_files(postern)[0])
    assert m["sender"] == "ceo@example.org" and m["flags"] == 1


def test_bad_input_gets_clear_errors(postern):
    postern.stop()
    r = sendmail(postern, ["not an address"], b"hi\n")
    assert r.returncode == 65 and b"is not a mail address" in r.stderr
    r = sendmail(postern, [], b"no recipients\n")
    assert r.returncode == 64 and b"no recipients" in r.stderr
    assert pickup_files(postern) == []


def test_submission_is_queued_and_delivered(make_postern, sink):
    # the pickup folder is watched: nothing is left there once queued
    postern = make_postern()
    open_up(postern.dir)
    r = sendmail(postern, ["bob@example.com"], b"Subject: from cron\n\nhello\n", user="nobody")
    assert r.returncode == 0, r.stderr
    msg = sink.wait_messages(1)[0]
    assert msg["from"] == "nobody@mx.test.invalid"
    assert msg["to"] == ["bob@example.com"]
    data = msg["data"]
    assert data.startswith(b"Received: by mx.test.invalid (postern, from userid 65534)")
    assert data.endswith(b"Subject: from cron\r\n\r\nhello\r\n")
    wait_for(lambda: pickup_files(postern) == [], 10, "the pickup file to go")
    assert "pickup from uid 65534 (nobody)" in postern.log_text()


def test_a_forged_file_cannot_choose_its_sender(make_postern, sink):
    postern = make_postern()
    open_up(postern.dir)
    # a user writes a pickup file by hand, claiming another sender
    nobody = pwd.getpwnam("nobody")
    body = b"Subject: forged\r\n\r\nx\r\n"
    pk = Packer().u32(1).u64(0).u32(1).str("ceo@example.org").u32(1).str("bob@example.com")
    data = MAGIC + struct.pack("<I", len(pk.b)) + bytes(pk.b) + body
    tmp = postern.spool / "pickup" / "tmp.forged"
    tmp.write_bytes(data)
    os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
    os.rename(tmp, postern.spool / "pickup" / "1.forged")
    msg = sink.wait_messages(1)[0]
    assert msg["from"] == "nobody@mx.test.invalid"


def test_submission_while_postern_is_down_is_delivered_at_start(make_postern, sink):
    postern = make_postern()
    open_up(postern.dir)
    postern.stop()
    r = sendmail(postern, ["-t"], b"To: carol@example.com\nSubject: while down\n\nqueued later\n",
                 user="nobody")
    assert r.returncode == 0, r.stderr
    assert len(pickup_files(postern)) == 1
    assert sink.messages == []
    postern.start()
    msg = sink.wait_messages(1)[0]
    assert msg["to"] == ["carol@example.com"]
    assert msg["data"].endswith(b"Subject: while down\r\n\r\nqueued later\r\n")
    wait_for(lambda: pickup_files(postern) == [], 10, "the pickup file to go")


def test_malformed_file_is_set_aside(make_postern, sink):
    postern = make_postern()
    bad = postern.spool / "pickup" / "2.garbage"
    bad.write_bytes(b"this is not a pickup file\n")
    wait_for(lambda: (postern.spool / "corrupt" / "2.garbage").exists(), 10,
             "the file to be set aside")
    assert "set aside" in postern.log_text()
    assert sink.messages == []
