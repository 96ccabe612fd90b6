"""posternctl log-level, reload, pause|resume incoming, the policy-test hand-off
and the read-only group (issue 7)."""
import grp
import os
import pwd
import socket
import subprocess

import pytest

import postern_ipc as ipc
from conftest import BUILD, SLOW, free_port, wait_for
from queue_helpers import ctl_request, send

GROUP = "pstn-ro-test"


def greeting(postern):
    with socket.create_connection(("127.0.0.1", postern.port), timeout=10 * SLOW) as s:
        s.settimeout(10 * SLOW)
        return s.recv(512).decode()


def test_log_level_reaches_every_daemon_until_reload(postern, sink):
    r = postern.ctl("log-level", "debug")
    assert "log level debug" in r.stdout
    wait_for(lambda: "log level set to 3 by posternctl" in postern.log_text(), 10,
             "the master to apply it")
    send(postern, "alice@example.com", ["bob@example.com"], tag="debug")
    sink.wait_messages(1)
    # debug lines from queue-mgr (the job) now reach the log
    wait_for(lambda: "postern/queue" in postern.log_text() and " job " in
             postern.log_text(), 10, "a debug line from queue-mgr")
    assert "log level warning" in postern.ctl("log-level", "warning").stdout
    assert "log level info" in postern.ctl("log-level", "notice").stdout
    r = postern.ctl("log-level", "loud", check=False)
    assert r.returncode == 2 and "usage" in r.stderr
    t, data = ctl_request(postern, "IPC_CTL_LOG_LEVEL", ipc.Packer().u32(9))
    assert t == "IPC_CTL_ERROR" and b"malformed" in data
    assert "control: malformed CTL_" in postern.log_text()  # refused and logged


def test_reload_reports_the_outcome(postern):
    assert "reload done" in postern.ctl("reload").stdout
    good = postern.conf.read_text()
    postern.conf.write_text(good + "no_such_key = 1\n")
    r = postern.ctl("reload", check=False)
    assert r.returncode == 1 and "no_such_key" in r.stderr and "not reloaded" in r.stderr
    # valid, but the master refuses it (a new listener needs a restart):
    # no new config reaches queue-mgr, which says so after a few seconds
    postern.conf.write_text(good + "listener extra {\n\tlisten = 127.0.0.1:%d\n}\n"
                            % free_port())
    r = postern.ctl("reload", check=False)
    assert r.returncode == 1 and "master refused" in r.stderr
    postern.conf.write_text(good)
    assert "reload done" in postern.ctl("reload").stdout
    assert postern.ctl("reload", "now", check=False).returncode == 2


def test_pause_incoming_refuses_new_connections_until_resumed(postern, sink):
    assert greeting(postern).startswith("220")
    assert "incoming mail paused" in postern.ctl("pause", "incoming").stdout
    assert "already paused" in postern.ctl("pause", "incoming").stdout
    wait_for(lambda: greeting(postern).startswith("421"), 10, "a 421 greeting")
    # a restarted smtpd is told again
    old = postern.pid_of("postern-smtpd")
    os.kill(old, 9)
    wait_for(lambda: postern.pid_of("postern-smtpd") not in (None, old), 20, "a new smtpd")
    wait_for(lambda: greeting(postern).startswith("421"), 10, "a 421 from the new smtpd")
    assert "incoming mail resumed" in postern.ctl("resume", "incoming").stdout
    wait_for(lambda: greeting(postern).startswith("220"), 10, "a 220 greeting")
    send(postern, "alice@example.com", ["bob@example.com"], tag="after-resume")
    sink.wait_messages(1)


def test_pause_incoming_ends_with_queue_mgr(postern):
    """Like pause outgoing, the state lives in queue-mgr: its restart resumes."""
    postern.ctl("pause", "incoming")
    wait_for(lambda: greeting(postern).startswith("421"), 10, "a 421 greeting")
    old = postern.pid_of("postern-queue")
    os.kill(old, 9)
    wait_for(lambda: postern.pid_of("postern-queue") not in (None, old), 20,
             "a new queue-mgr")
    wait_for(lambda: greeting(postern).startswith("220"), 20, "a 220 greeting")
    assert "already resumed" in postern.ctl("resume", "incoming").stdout


def test_policy_test_is_handed_to_smtpd(postern):
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(postern.spool / "run" / "control")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        ipc.send(s, "IPC_CTL_POLICY_TEST",
                 ipc.Packer().str("192.0.2.7").str("probe.example").str(""), req_id=3,
                 fd=theirs.fileno())
        theirs.close()
        t, _, data, _ = ipc.recv(s, 10 * SLOW)
        assert t == "IPC_CTL_OK", data
    mine.settimeout(10 * SLOW)
    assert mine.recv(512).startswith(b"220")
    mine.close()
    for payload, why in ((ipc.Packer().str("not-an-ip").str("").str(""), b"not an IP"),
                         (ipc.Packer().str("192.0.2.7").str("").str("nope"),
                          b"no such listener")):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.connect(path)
            ipc.send(s, "IPC_CTL_POLICY_TEST", payload, fd=b.fileno())
            t, _, data, _ = ipc.recv(s, 10 * SLOW)
            assert t == "IPC_CTL_ERROR" and why in data, data
        a.close()
        b.close()
    # without the fd it is malformed
    t, data = ctl_request(postern, "IPC_CTL_POLICY_TEST",
                          ipc.Packer().str("192.0.2.7").str("").str(""))
    assert t == "IPC_CTL_ERROR" and b"malformed" in data


@pytest.fixture
def ro_group():
    subprocess.run(["groupdel", GROUP], capture_output=True)
    subprocess.run(["groupadd", "--system", GROUP], check=True)
    yield grp.getgrnam(GROUP).gr_gid
    subprocess.run(["groupdel", GROUP], capture_output=True)


def started_for_others(make_postern, tmp_path, extra):
    """A suite whose folders and config another user (nobody) may reach."""
    postern = make_postern(extra=extra, start=False)
    p = tmp_path
    while p != p.parent and not os.stat(p).st_mode & 0o001:
        os.chmod(p, os.stat(p).st_mode | 0o011)
        p = p.parent
    os.chmod(postern.conf, 0o644)
    postern.start()
    return postern


def as_nobody(postern, groups, *args):
    nobody = pwd.getpwnam("nobody")
    return subprocess.run([str(BUILD / "posternctl"), "-f", str(postern.conf), *args],
                          capture_output=True, text=True, timeout=60 * SLOW,
                          user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=groups)


def test_read_only_group_reads_but_may_not_change(make_postern, sink, ro_group, tmp_path):
    postern = started_for_others(make_postern, tmp_path, f"ctl_read_group = {GROUP}\n")
    postern.ctl("pause", "outgoing")
    qid = send(postern, "alice@example.com", ["bob@example.com"], tag="read-only")
    for verb in (["queue", "--json"], ["stats"], ["show", "--envelope", qid],
                 ["trace", qid]):
        r = as_nobody(postern, [ro_group], *verb)
        assert r.returncode == 0, (verb, r.stderr)
    assert qid in as_nobody(postern, [ro_group], "queue").stdout
    env = as_nobody(postern, [ro_group], "show", "--envelope", qid).stdout
    assert "bob@example.com" in env and "Subject" not in env
    # what the mail says is for root and admin_group only
    for verb in (["show", qid], ["show", "--body", qid], ["show", "--raw", qid]):
        r = as_nobody(postern, [ro_group], *verb)
        assert r.returncode == 1 and "permission denied" in r.stderr, (verb, r.stderr)
    assert "Subject" in postern.ctl("show", qid).stdout
    for verb in (["flush"], ["hold", qid], ["delete", qid], ["requeue", qid],
                 ["log-level", "debug"], ["resume", "outgoing"], ["reload"]):
        r = as_nobody(postern, [ro_group], *verb)
        assert r.returncode == 1 and "permission denied" in r.stderr, (verb, r.stderr)
    # outside the group: nothing at all
    r = as_nobody(postern, [], "queue")
    assert r.returncode == 1 and "permission denied" in r.stderr
    log = postern.log_text()
    assert "CTL_HOLD refused: read-only access" in log
    assert [e["id"] for e in postern.queue()] == [qid]


HOG = r"""
import socket, sys, time
sys.path.insert(0, sys.argv[2])
import postern_ipc as ipc
held = []
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    try:
        ipc.send(s, "IPC_CTL_STATS", b"", req_id=1)
        t, _, _, _ = ipc.recv(s, 10)
    except Exception:
        t = None
    if t != "IPC_CTL_STATS_REPLY":
        s.close()
        continue
    held.append(s)
print(len(held), flush=True)
sys.stdin.read()
"""


def test_read_only_group_cannot_take_every_control_slot(make_postern, ro_group, tmp_path):
    """A ctl_read_group member holding connections open never locks root out."""
    postern = started_for_others(make_postern, tmp_path, f"ctl_read_group = {GROUP}\n")
    nobody = pwd.getpwnam("nobody")
    hog = subprocess.Popen(["/usr/bin/python3", "-c", HOG, str(postern.spool / "run" / "control"),
                            str(ipc.__file__).rsplit("/", 1)[0], "80"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                           user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[ro_group])
    try:
        held = int(hog.stdout.readline())
        assert 0 < held < 64
        r = postern.ctl("stats", check=False)
        assert r.returncode == 0, r.stderr
        assert "too many clients" in postern.log_text()
    finally:
        hog.kill()
        hog.wait()


PROBE = r"""
import socket, sys
sys.path.insert(0, sys.argv[2])
import postern_ipc as ipc
P = ipc.Packer
reqs = [("IPC_CTL_POLICY_TEST", P().str("127.0.0.1").str("").str("")),
        ("IPC_CTL_PAUSE", P().u32(1).str("incoming")),
        ("IPC_CTL_PAUSE", P().u32(1).str("outgoing")),
        ("IPC_CTL_FLUSH", P().str("")), ("IPC_CTL_HOLD", P().str(sys.argv[3])),
        ("IPC_CTL_RELEASE", P().str(sys.argv[3])), ("IPC_CTL_DELETE", P().str("")),
        ("IPC_CTL_BOUNCE", P().str(sys.argv[3])), ("IPC_CTL_REQUEUE", P().str("")),
        ("IPC_CTL_LOG_LEVEL", P().u32(3)), ("IPC_CTL_RELOAD", P()),
        # not requests at all
        ("IPC_CTL_OK", P().str("x")), ("IPC_CTL_QUEUE_ENTRY", P())]
for t, payload in reqs:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(sys.argv[1])
        ipc.send(s, t, payload, req_id=5, fd=b.fileno() if t == "IPC_CTL_POLICY_TEST" else None)
        b.close()
        rt, _, data, _ = ipc.recv(s, 10)
        print(t, rt, ipc.Unpacker(data).str().replace("\n", " "), flush=True)
    a.settimeout(2)
    try:
        print(t, "session", a.recv(64), flush=True)
    except OSError:
        print(t, "session none", flush=True)
    a.close()
"""


def test_read_only_group_is_refused_every_other_request(make_postern, sink, ro_group, tmp_path):
    """Every request type but the four read-only ones, raw on the socket (the
    policy test with its passed fd too), is refused to ctl_read_group and changes nothing."""
    postern = started_for_others(make_postern, tmp_path, f"ctl_read_group = {GROUP}\n")
    postern.ctl("pause", "outgoing")
    qid = send(postern, "alice@example.com", ["bob@example.com"], tag="ro-raw")
    nobody = pwd.getpwnam("nobody")
    r = subprocess.run(["/usr/bin/python3", "-c", PROBE, str(postern.spool / "run" / "control"),
                        str(ipc.__file__).rsplit("/", 1)[0], qid],
                       capture_output=True, text=True, timeout=120 * SLOW,
                       user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[ro_group])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    replies = [l for l in lines if " session " not in l]
    assert len(replies) == 13, r.stdout
    for line in replies:
        assert " IPC_CTL_ERROR permission denied" in line, line
    for line in lines:
        if " session " in line:
            assert line.endswith("session none") or line.endswith("session b''"), line
    # nothing changed: still queued, not held, delivery still paused, smtpd not paused
    [e] = postern.queue()
    assert e["id"] == qid and e["state"] != "held"
    assert greeting(postern).startswith("220")
    assert "log level set" not in postern.log_text()


ADMIN = "pstn-admin-test"


@pytest.fixture
def admin_group():
    subprocess.run(["groupdel", ADMIN], capture_output=True)
    subprocess.run(["groupadd", "--system", ADMIN], check=True)
    yield grp.getgrnam(ADMIN).gr_gid
    subprocess.run(["groupdel", ADMIN], capture_output=True)


def test_admin_group_member_may_do_everything(make_postern, sink, admin_group, tmp_path):
    postern = started_for_others(make_postern, tmp_path, f"admin_group = {ADMIN}\n")
    postern.ctl("pause", "outgoing")
    qid = send(postern, "alice@example.com", ["bob@example.com"], tag="admin-group")
    # not root, but in admin_group: the write verbs and the content too
    for verb in (["hold", qid], ["release", qid], ["show", qid], ["stats"],
                 ["resume", "outgoing"]):
        r = as_nobody(postern, [admin_group], *verb)
        assert r.returncode == 0, (verb, r.stderr)
        if verb[0] == "show":
            assert "Subject: admin-group" in r.stdout
    sink.wait_messages(1)
    # the same user outside the group: refused at the socket
    r = as_nobody(postern, [], "stats")
    assert r.returncode == 1 and "permission denied" in r.stderr
