"""posternctl queue/show offline (issue 7): the queue read from a private copy of the spool."""
import json
import os
import pwd
import re
import signal
import subprocess

import pytest

from conftest import BUILD, SLOW, wait_for

from test_delivery import send

NOTICE = "postern is not running; showing the queue as last written (read-only copy)"
BODY = b"From: Alice <alice@example.org>\r\nSubject: offline\r\n\r\nstill here\r\n"


def ctl(postern, *args, env=None, text=True):
    return subprocess.run([str(BUILD / "posternctl"), "-f", str(postern.conf), *args],
                          capture_output=True, text=text, timeout=60 * SLOW, env=env)


def untimed(table):
    """The table with its ages ("4m59s") blanked: a second may pass between two runs."""
    return re.sub(r"\b\d+[smhd](\d+[smhd])?\b", "T", table)


def copies(tmpdir):
    return sorted(p for p in os.listdir(tmpdir) if p.startswith("posternctl."))


def owners(path):
    """{file name: owner} of the environment folder."""
    return {n: pwd.getpwuid(os.lstat(os.path.join(path, n)).st_uid).pw_name
            for n in os.listdir(path)}


def deferred_suite(postern, sink, n=2):
    sink.stop()
    # the second one spans several content chunks and frames
    ids = [send(postern, "alice@example.org", ["bob@example.com", f"c{i}@example.com"],
                data=BODY + (b"y" * 998 + b"\r\n") * 300 * i) for i in range(n)]
    wait_for(lambda: all(e["last_error"] for e in postern.queue()) and len(postern.queue()) == n,
             20 * SLOW, "deferrals")
    return ids


def test_queue_and_show_offline_match_live(postern, sink, tmp_path):
    ids = deferred_suite(postern, sink)
    live_json = json.loads(postern.ctl("queue", "--json").stdout)
    live_table = postern.ctl("queue").stdout
    live_show = postern.ctl("show", ids[0]).stdout
    live_raw = ctl(postern, "show", "--raw", ids[1], text=False).stdout
    assert postern.stop() == 0
    before = owners(postern.spool / "queue")

    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = ctl(postern, "queue", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert NOTICE in r.stderr
    assert json.loads(r.stdout) == live_json
    r = ctl(postern, "queue", env=env)
    assert r.returncode == 0 and untimed(r.stdout) == untimed(live_table), (r.stdout, live_table)
    r = ctl(postern, "show", ids[0], env=env)
    assert r.returncode == 0, r.stderr
    assert untimed(r.stdout) == untimed(live_show)
    r = ctl(postern, "show", "--raw", ids[1], env=env, text=False)
    assert r.returncode == 0 and r.stdout == live_raw
    # filters work the same way
    r = ctl(postern, "queue", "--json", "--rcpt", "c1@", env=env)
    assert [e["id"] for e in json.loads(r.stdout)] == [ids[1]]
    r = ctl(postern, "show", "NOSUCHMESSAGE0000000", env=env)
    assert r.returncode == 1 and "no such message" in r.stderr

    # nothing left behind, and the spool is still the queue user's
    assert copies(tmp_path) == []
    after = owners(postern.spool / "queue")
    assert set(after.values()) <= {"_postern-queue"}, after
    assert set(before) == set(after)

    # and postern starts again on the same spool with both messages
    sink.start()
    postern.start()
    postern.ctl("flush")
    sink.wait_messages(2, timeout=30)


def test_offline_flag_reads_a_copy_while_running(postern, sink, tmp_path):
    ids = deferred_suite(postern, sink, n=1)
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = ctl(postern, "queue", "--offline", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert "--offline: showing the queue as last written (read-only copy)" in r.stderr
    [e] = json.loads(r.stdout)
    assert e["id"] == ids[0] and e["state"] == "deferred"
    r = ctl(postern, "show", "--offline", "--headers", ids[0], env=env)
    assert r.returncode == 0 and "Subject: offline\n" in r.stdout, r.stderr
    assert copies(tmp_path) == []
    # the live suite did not notice
    assert postern.ctl("queue").returncode == 0
    assert all(o == "_postern-queue" for o in owners(postern.spool / "queue").values())


def test_offline_held_message_and_other_verbs(postern, sink, tmp_path):
    ids = deferred_suite(postern, sink, n=1)
    postern.ctl("hold", ids[0])
    assert postern.stop() == 0
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = ctl(postern, "queue", "--json", "--state", "held", env=env)
    assert [e["id"] for e in json.loads(r.stdout)] == ids
    # mailq too: "!" marks a held message
    mailq = tmp_path / "mailq"
    mailq.symlink_to(BUILD.resolve() / "posternctl")
    r = subprocess.run([str(mailq), "-C", str(postern.conf)], capture_output=True, text=True,
                       timeout=60 * SLOW, env=env)
    assert r.returncode == 0 and f"{ids[0]}!" in r.stdout, r.stdout + r.stderr
    # verbs that change the queue need the daemons
    r = ctl(postern, "flush", env=env)
    assert r.returncode == 1 and "not running" in r.stderr
    assert copies(tmp_path) == []


def test_offline_refuses_when_the_copy_does_not_fit(postern, sink, tmp_path):
    deferred_suite(postern, sink, n=1)
    assert postern.stop() == 0
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], check=True)
    try:
        r = ctl(postern, "queue", env=dict(os.environ, TMPDIR=str(small)))
        assert r.returncode == 1
        assert "MiB are free" in r.stderr and "TMPDIR" in r.stderr, r.stderr
        assert copies(small) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_offline_needs_read_access_to_the_spool(postern, sink, tmp_path):
    """An admin-group member who is not root cannot read queue/ (0700)."""
    assert postern.stop() == 0
    nobody = pwd.getpwnam("nobody")
    # let others reach the spool, as under /var/spool
    p = tmp_path
    while p != p.parent and not os.stat(p).st_mode & 0o001:
        os.chmod(p, os.stat(p).st_mode | 0o011)
        p = p.parent
    r = subprocess.run([str(BUILD / "posternctl"), "-f", str(postern.conf), "queue"],
                       capture_output=True, text=True, timeout=60 * SLOW,
                       env=dict(os.environ, TMPDIR=str(tmp_path)),
                       user=nobody.pw_uid, group=0, extra_groups=[])   # admin_group = root
    assert r.returncode == 1
    assert "the offline view needs root or read access" in r.stderr, r.stderr
    assert copies(tmp_path) == []


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def helpers_of(pid, timeout):
    """posternctl's offline helpers: its child, and that one's if any (the
    unprivileged server under a root janitor)."""
    wait_for(lambda: children(pid), timeout, "the offline helper")
    chain = children(pid)[:1]
    while children(chain[-1]):
        chain.append(children(chain[-1])[0])
    return chain


@pytest.mark.parametrize("victim", ["server", "janitor", "posternctl"])
def test_offline_copy_goes_when_either_process_is_killed(postern, sink, tmp_path, victim):
    """SIGKILL (and ^\\) of the helper or of posternctl mid-answer leaves no copy of the mail."""
    ids = deferred_suite(postern, sink)
    assert postern.stop() == 0
    env = dict(os.environ, TMPDIR=str(tmp_path))
    # a big answer that nobody reads yet: both processes block mid-show
    p = subprocess.Popen([str(BUILD / "posternctl"), "-f", str(postern.conf), "show", "--raw",
                          ids[1]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert p.stdout.read(1)
        chain = helpers_of(p.pid, 20 * SLOW)
        assert copies(tmp_path) != []
        # Berkeley DB reads the queue user's files as that user, not as root
        assert os.stat(f"/proc/{chain[-1]}").st_uid == pwd.getpwnam("_postern-queue").pw_uid
        # the terminal's ^\ reaches the whole process group: not the helpers' end
        for pid in chain:
            os.kill(pid, signal.SIGQUIT)
        os.kill({"server": chain[-1], "janitor": chain[0], "posternctl": p.pid}[victim],
                signal.SIGKILL)
        p.stdout.read()
        p.wait(timeout=20 * SLOW)
        for pid in chain:
            wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 20 * SLOW, "helper exit")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert copies(tmp_path) == []
