"""Each daemon runs as its own unprivileged user in its own chroot."""
import os
import pwd

EXPECTED = {
    "postern-smtpd": ("_postern-smtpd", "empty"),
    "postern-queue": ("_postern-queue", "queue"),
    "postern-deliver": ("_postern-deliver", "empty"),
    "postern-resolver": ("_postern-dns", "resolver"),
}


def status(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        fields[k] = v.split()
    return fields


def test_every_daemon_is_unprivileged_and_chrooted(postern):
    uids = set()
    for name, (user, root) in EXPECTED.items():
        pid = postern.pid_of(name)
        assert pid, f"{name} is not running"
        st = status(pid)
        uid = int(st["Uid"][0])
        assert uid != 0, f"{name} runs as root"
        assert st["Uid"] == [str(uid)] * 4, f"{name} real/effective/saved uids differ"
        assert int(st["Gid"][0]) != 0 and st["Gid"] == [st["Gid"][0]] * 4
        assert st["Groups"] == [st["Gid"][0]], f"{name} kept supplementary groups"
        assert int(st["CapEff"][0], 16) == 0, f"{name} has capabilities"
        assert int(st["CapPrm"][0], 16) == 0
        assert st["NoNewPrivs"] == ["1"]
        assert pwd.getpwuid(uid).pw_name == user
        assert os.readlink(f"/proc/{pid}/root") == str(postern.spool / root)
        uids.add(uid)
    assert len(uids) == 4, "daemons share a uid"
    # the master is the only root process, and it is not chrooted
    assert status(postern.proc.pid)["Uid"][0] == "0"
    assert os.readlink(f"/proc/{postern.proc.pid}/root") == "/"


def test_spool_layout_and_modes(postern):
    q = os.stat(postern.spool / "queue")
    assert pwd.getpwuid(q.st_uid).pw_name == "_postern-queue"
    assert q.st_mode & 0o777 == 0o700
    e = postern.spool / "empty"
    assert os.stat(e).st_uid == 0 and os.listdir(e) == []
    ctl = os.stat(postern.spool / "run" / "control")
    assert ctl.st_uid == 0 and ctl.st_mode & 0o777 == 0o660


def test_sigterm_stops_everything_cleanly(postern):
    children = list(postern.children())
    assert len(children) == 4
    assert postern.stop() == 0
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
    assert not (postern.spool / "run" / "control").exists()


def test_daemons_have_no_terminal_and_a_minimal_environment(postern):
    allowed = {"PATH", "TZ", "LANG", "POSTERN_DEBUG", "ASAN_OPTIONS", "UBSAN_OPTIONS",
               "LSAN_OPTIONS"}
    master_sid = int(open(f"/proc/{postern.proc.pid}/stat").read().split(")")[1].split()[3])
    for name in EXPECTED:
        pid = postern.pid_of(name)
        fields = open(f"/proc/{pid}/stat").read().split(")")[1].split()
        session, tty_nr = int(fields[3]), int(fields[4])
        # its own session, no controlling terminal (no TIOCSTI into a root shell)
        assert session == pid and session != master_sid
        assert tty_nr == 0
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        names = {e.split(b"=", 1)[0].decode() for e in env if e}
        assert names <= allowed, f"{name} got {names - allowed}"
        # stdin is /dev/null; fds beyond the channel are only its own
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
