"""postern-sendmail -bs (SMTP on standard input/output) and the sendmail flags real programs pass."""
import pwd
import smtplib
import socket
import subprocess

import pytest

from conftest import BUILD, SLOW, wait_for
from test_sendmail import decode, open_up, pickup_files, sendmail

USER = "pstn-bs-test"


@pytest.fixture(scope="module")
def bs_user():
    """A real, unprivileged local user, removed afterwards."""
    subprocess.run(["userdel", USER], capture_output=True)
    subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", USER], check=True)
    yield pwd.getpwnam(USER)
    subprocess.run(["userdel", USER], capture_output=True)


def bs_command(postern, user=None):
    cmd = [str(BUILD / "postern-sendmail"), "-C", str(postern.conf), "-bs"]
    if user:
        cmd = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
               "--clear-groups", *cmd]
    return cmd


class PipeSMTP(smtplib.SMTP):
    """smtplib talking to `postern-sendmail -bs` over a socket pair on its stdin/stdout."""

    def __init__(self, cmd):
        super().__init__(timeout=30 * SLOW)
        mine, theirs = socket.socketpair()
        self.proc = subprocess.Popen(cmd, stdin=theirs, stdout=theirs,
                                     stderr=subprocess.PIPE)
        theirs.close()
        mine.settimeout(30 * SLOW)
        self.sock = mine
        code, msg = self.getreply()
        assert code == 220, msg
        self._host = "localhost"

    def finish(self):
        self.quit()
        _, err = self.proc.communicate(timeout=30 * SLOW)
        return self.proc.returncode, err


def dialogue(cmd, text):
    """Sends text in one write (pipelined) and returns exit code, replies, stderr."""
    r = subprocess.run(cmd, input=text, capture_output=True, timeout=30 * SLOW)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_user_session_delivers_each_message_with_the_login_as_sender(make_postern, sink,
                                                                     bs_user):
    postern = make_postern()
    open_up(postern.dir)
    s = PipeSMTP(bs_command(postern, bs_user))
    s.ehlo("cron.local")
    assert s.has_extn("pipelining") and s.has_extn("8bitmime")
    assert int(s.esmtp_features["size"]) == 35 * 1024 * 1024
    # MAIL FROM is taken but the user's own address is what goes out
    code, msg = s.mail("ceo@example.org", ["BODY=8BITMIME"])
    assert code == 250 and b"the sender will be <pstn-bs-test@mx.test.invalid>" in msg
    assert s.rcpt("bob@example.com")[0] == 250
    code, msg = s.data(b"Subject: first\r\n\r\n.leading dot\r\nbody\r\n")
    assert code == 250 and b"submitted as pickup file" in msg
    # a second message in the same session is a second submission
    s.sendmail(f"{USER}@mx.test.invalid", ["carol@example.com"],
               b"Subject: second\r\n\r\nagain\r\n")
    rc, err = s.finish()
    assert rc == 0, err
    msgs = sorted(sink.wait_messages(2), key=lambda m: m["to"])
    first, second = msgs
    assert first["to"] == ["bob@example.com"] and second["to"] == ["carol@example.com"]
    assert first["from"] == second["from"] == f"{USER}@mx.test.invalid"
    d = first["data"]
    assert d.startswith(f"Received: by mx.test.invalid (postern, from userid {bs_user.pw_uid})"
                        .encode())
    assert (f"X-Authentication-Warning: mx.test.invalid: {USER} set sender to "
            "ceo@example.org using MAIL FROM; not allowed").encode() in d
    assert f"\r\nFrom: {USER}@mx.test.invalid\r\n".encode() in d
    assert b"\r\nMessage-ID: <" in d and b"\r\nDate: " in d
    assert d.endswith(b"Subject: first\r\n\r\n.leading dot\r\nbody\r\n")
    # the user sent their own address: nothing to warn about
    assert b"X-Authentication-Warning" not in second["data"]
    assert second["data"].endswith(b"Subject: second\r\n\r\nagain\r\n")
    wait_for(lambda: pickup_files(postern) == [], 10, "the pickup files to go")


def test_root_may_choose_the_sender_and_dots_are_unstuffed(make_postern, sink):
    postern = make_postern()
    rc, out, err = dialogue(bs_command(postern),
                            b"EHLO x\r\nMAIL FROM:<ceo@example.org>\r\nRCPT TO:<bob@example.com>\r\n"
                            b"DATA\r\nSubject: from root\r\n\r\n..two dots\r\n.\r\nQUIT\r\n")
    assert rc == 0, err
    assert "250 2.1.0 Ok\r\n" in out and "221 2.0.0" in out
    msg = sink.wait_messages(1)[0]
    assert msg["from"] == "ceo@example.org"
    # a missing From: names the chosen sender
    assert b"\r\nFrom: ceo@example.org\r\n" in msg["data"]
    assert msg["data"].endswith(b"Subject: from root\r\n\r\n.two dots\r\n")


def test_bad_input_gets_smtp_errors_and_leaves_no_file(make_postern, bs_user):
    postern = make_postern(extra="submit_max_size = 2K")
    postern.stop()      # nothing imports: whatever is dropped stays to be seen
    open_up(postern.dir)
    big = b"x" * 900 + b"\r\n"
    rc, out, err = dialogue(bs_command(postern, bs_user),
                            b"RCPT TO:<b@example.com>\r\nDATA\r\nMAIL FROM:<not an address>\r\n"
                            b"WHAT\r\nMAIL FROM:<a@example.com> SIZE=999999\r\n"
                            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
                            + big * 3 + b".\r\nQUIT\r\n")
    assert rc == 0, err
    lines = out.split("\r\n")
    assert lines[0].startswith("220 mx.test.invalid ESMTP")
    assert [l[:3] for l in lines[1:] if l] == ["503", "503", "501", "500", "552", "250", "250",
                                               "354", "552", "221"]
    assert "submit_max_size" in lines[-3]
    # input that ends inside DATA loses only that message, and says so
    rc, out, err = dialogue(bs_command(postern, bs_user),
                            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhalf")
    assert rc == 65 and "inside DATA" in err
    assert pickup_files(postern) == []


def test_sendmail_flags_that_programs_pass(make_postern):
    postern = make_postern()
    postern.stop()
    # accepted and ignored (documented in postern-sendmail(8))
    r = sendmail(postern, ["-oem", "-odi", "-odb", "-v", "-N", "failure,delay", "-B", "8BITMIME",
                           "-bm", "-oi", "x@example.com"], b"hi\n.\nstill the message\n")
    assert r.returncode == 0, r.stderr
    m = decode(pickup_files(postern)[0])
    assert m["rcpts"] == ["x@example.com"]
    assert m["content"].endswith(b"\r\n\r\nhi\r\n.\r\nstill the message\r\n")
    # newaliases: the aliases file is read as text, there is nothing to build
    assert sendmail(postern, ["-bi"], b"").returncode == 0
    for args, code, words in [
            (["-bv", "x@example.com"], 64, b"not supported"),
            (["-bt"], 64, b"not supported"),
            (["-bz"], 64, b"-bz is not supported"),
            (["-q"], 64, b"posternctl flush"),
            (["-q30m"], 64, b"posternctl flush"),
            (["-Z", "x@example.com"], 64, b"unknown option -Z"),
            (["-N", "sometimes", "x@example.com"], 64, b"-N sometimes"),
            (["x@example.com", "-f"], 64, b"option -f needs a value"),
            (["-bs", "x@example.com"], 64, b"not from the command line"),
            (["-C", "/nonexistent/postern.conf", "x@example.com"], 78, b"")]:
        r = sendmail(postern, args, b"hi\n")
        assert r.returncode == code and words in r.stderr, (args, r.returncode, r.stderr)
    assert len(pickup_files(postern)) == 1
