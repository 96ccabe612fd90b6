"""Local delivery (issue 8): mailboxes written as the user, aliases, maps."""
import os
import re
import signal
import subprocess
from pathlib import Path

from conftest import wait_for, SLOW
from local_helpers import (users, clean_homes, open_up, root_file, maildir_new,  # noqa: F401
                           wait_maildir, send, rcpt_reply, lf, settle)

MESSAGE = (b"From: Alice <alice@example.com>\r\n"
           b"To: someone\r\n"
           b"Subject: local\r\n"
           b"\r\n"
           b"From the start of a line\r\n"
           b">From quoted already\r\n"
           b"last line\r\n")


def split_top(data):
    """(our two headers, the Received header, the rest)"""
    lines = data.split(b"\n")
    assert lines[0].startswith(b"Return-Path: ")
    assert lines[1].startswith(b"Delivered-To: ")
    i = 3
    assert lines[2].startswith(b"Received: ")
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    return lines[:2], b"\n".join(lines[i:])


def test_maildir_delivery_is_byte_exact_and_owned_by_the_user(make_postern, clean_homes):
    postern = make_postern()
    send(postern, "alice@example.com", ["ptest1+tag@example.org"], MESSAGE)
    f = wait_maildir("ptest1")[0]
    data = f.read_bytes()
    top, rest = split_top(data)
    assert top == [b"Return-Path: <alice@example.com>", b"Delivered-To: ptest1+tag@example.org"]
    assert rest == lf(MESSAGE)
    st = f.stat()
    assert st.st_uid == clean_homes["ptest1"].pw_uid and st.st_mode & 0o777 == 0o600
    wait_for(lambda: postern.queue() == [], 10 * SLOW, "the queue to empty")
    assert re.search(r"to=<ptest1\+tag@example.org>, relay=local, .*status=sent", postern.log_text())


def test_mbox_delivery_quotes_from_lines(make_postern, clean_homes, tmp_path):
    spool = tmp_path / "mail"
    spool.mkdir()
    os.chmod(spool, 0o1777)
    open_up(spool)
    postern = make_postern(f"mbox_users = ptest2\nmail_spool_directory = {spool}\n")
    send(postern, "alice@example.com", ["ptest2@example.org"], MESSAGE)
    box = spool / "ptest2"
    wait_for(lambda: box.exists() and box.stat().st_size > 0, 20 * SLOW, "the mbox")
    wait_for(lambda: postern.queue() == [], 10 * SLOW, "the queue to empty")
    data = box.read_bytes()
    first, rest = data.split(b"\n", 1)
    assert re.match(rb"From alice@example.com \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", first)
    top, body = split_top(rest)
    assert top == [b"Return-Path: <alice@example.com>", b"Delivered-To: ptest2@example.org"]
    expect = lf(MESSAGE).replace(b"\nFrom the", b"\n>From the").replace(b"\n>From quoted",
                                                                       b"\n>>From quoted")
    assert body == expect + b"\n"
    assert box.stat().st_uid == clean_homes["ptest2"].pw_uid
    assert not (Path(clean_homes["ptest2"].pw_dir) / "Maildir").exists()


def test_alias_list_include_and_extension(make_postern, clean_homes, sink, tmp_path):
    inc = root_file(tmp_path / "team.inc", "# the outside\nfriend@example.com\n")
    al = root_file(tmp_path / "aliases",
                   f"team: ptest1, ptest2,\n  :include:{inc}\nroot: ptest3\n")
    postern = make_postern(f"aliases = {al}\n")
    send(postern, "alice@example.com", ["team+x@example.org"], MESSAGE)
    wait_maildir("ptest1")
    wait_maildir("ptest2")
    msg = sink.wait_messages(1)[0]
    assert msg["to"] == ["friend@example.com"]
    assert msg["from"] == "alice@example.com"
    assert b"Delivered-To: team+x@example.org\r\n" in msg["data"]
    assert msg["data"].endswith(MESSAGE)
    # root's mail goes to its alias, never to root
    send(postern, "alice@example.com", ["root@example.org"], MESSAGE)
    wait_maildir("ptest3")


def test_include_writable_by_others_is_not_read(make_postern, clean_homes, tmp_path):
    inc = root_file(tmp_path / "bad.inc", "ptest1\n", mode=0o666)
    al = root_file(tmp_path / "aliases", f"list: :include:{inc}\n")
    postern = make_postern(f"aliases = {al}\n")
    # a lookup that fails for system reasons: 4xx, not "unknown"
    code, _ = rcpt_reply(postern, "list@example.org")
    assert 400 <= code < 500
    assert "not a regular file owned by root" in postern.log_text()


def test_virtual_domain(make_postern, clean_homes, tmp_path):
    vm = root_file(tmp_path / "virtual", "info@virt.test  ptest1\n@virt.test ptest2\n"
                   "sales@virt.test info@virt.test, ptest3\n")
    postern = make_postern(f"virtual_maps = {vm}\n")
    send(postern, "alice@example.com", ["info@virt.test"], MESSAGE)
    wait_maildir("ptest1")
    send(postern, "alice@example.com", ["whoever@virt.test"], MESSAGE)
    wait_maildir("ptest2")
    send(postern, "alice@example.com", ["sales@virt.test"], MESSAGE)
    wait_maildir("ptest1", 2)
    f = wait_maildir("ptest3")[0]
    assert b"Delivered-To: sales@virt.test\n" in f.read_bytes()


def test_rcpt_check_through_smtp(make_postern, clean_homes, tmp_path):
    al = root_file(tmp_path / "aliases", "sales: ptest1\n")
    rr = root_file(tmp_path / "relay", "bob@example.net\n")
    postern = make_postern(f"aliases = {al}\nrelay_recipients = {rr}\n")
    assert rcpt_reply(postern, "ptest1@example.org")[0] == 250
    assert rcpt_reply(postern, "ptest1+x@example.org")[0] == 250
    assert rcpt_reply(postern, "sales@example.org")[0] == 250
    assert rcpt_reply(postern, "nosuchuser@example.org")[0] == 550
    # root without an alias: never delivered as root
    assert rcpt_reply(postern, "root@example.org")[0] == 550
    assert rcpt_reply(postern, "bob@example.net")[0] == 250
    assert rcpt_reply(postern, "eve@example.net")[0] == 550


def test_symlinked_maildir_cannot_write_into_another_home(make_postern, clean_homes):
    p1 = Path(clean_homes["ptest1"].pw_dir)
    p2 = Path(clean_homes["ptest2"].pw_dir)
    victim = p2 / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (victim / sub).mkdir(parents=True)
    subprocess.run(["chown", "-R", "ptest2:", str(victim)], check=True)
    os.symlink(victim, p1 / "Maildir")
    os.lchown(p1 / "Maildir", clean_homes["ptest1"].pw_uid, clean_homes["ptest1"].pw_gid)
    postern = make_postern()
    send(postern, "alice@example.com", ["ptest1@example.org"], MESSAGE)
    wait_for(lambda: re.search(r"to=<ptest1@example.org>, relay=local, .*status=(bounced|deferred)",
                               postern.log_text()), 20 * SLOW, "the refused delivery")
    assert list((victim / "new").iterdir()) == [] and list((victim / "tmp").iterdir()) == []


def test_full_mailbox_is_retried_after_the_limit_is_raised(make_postern, clean_homes):
    postern = make_postern("mailbox_size_limit = 100\n")
    send(postern, "alice@example.com", ["ptest1@example.org"], MESSAGE)
    wait_for(lambda: "452 4.2.2 Mailbox full" in postern.log_text(), 20 * SLOW, "mailbox full")
    q = postern.queue()
    assert len(q) == 1 and maildir_new("ptest1") == []
    text = postern.conf.read_text().replace("mailbox_size_limit = 100", "mailbox_size_limit = 10M")
    postern.conf.write_text(text)
    postern.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in postern.log_text(), 10 * SLOW, "the reload")
    postern.ctl("flush")
    wait_maildir("ptest1")
    wait_for(lambda: postern.queue() == [], 10 * SLOW, "the queue to empty")


def test_forward_include_cannot_make_root_read_a_file(make_postern, clean_homes, tmp_path):
    # a root-only file: root reads :include: files, so a .forward must not name one
    secret = root_file(tmp_path / "secret", "s3cr3t-token-line\n", 0o600)
    open_up(tmp_path)
    home = Path(clean_homes["ptest1"].pw_dir)
    fwd = home / ".forward"
    fwd.write_text(f":include:{secret}\n")
    os.chown(fwd, clean_homes["ptest1"].pw_uid, clean_homes["ptest1"].pw_gid)
    os.chmod(fwd, 0o644)
    postern = make_postern("forward_files = yes\n")
    send(postern, "alice@example.com", ["ptest1@example.org"], MESSAGE)
    wait_for(lambda: re.search(r"to=<ptest1@example.org>, relay=local, .*status=(bounced|deferred)",
                               postern.log_text()), 20 * SLOW, "the refused .forward")
    assert "s3cr3t-token-line" not in postern.log_text()


def test_pipe_local_part_from_smtp_never_runs(make_postern, clean_homes, tmp_path):
    # '|', '$', '{', '}' are atext: this is a valid RFC 5321 local part
    # (of at most 64 octets, hence the short name in /tmp)
    mark = Path(f"/tmp/pp{os.getpid()}")
    if mark.exists():
        mark.unlink()
    postern = make_postern("allow_alias_pipes = yes\n")
    rcpt = f"|touch${{IFS}}{mark}@example.org"
    code = rcpt_reply(postern, rcpt)[0]
    if code == 250:
        send(postern, "alice@example.com", [rcpt], MESSAGE)
        wait_for(lambda: re.search(r"relay=local, .*status=", postern.log_text()),
                 20 * SLOW, "the delivery attempt")
    settle()
    ran = mark.exists()
    if ran:
        mark.unlink()
    assert not ran and code == 550


def test_forward_backslash_unknown_or_root_bounces_not_retried(make_postern, clean_homes):
    home = Path(clean_homes["ptest1"].pw_dir)
    fwd = home / ".forward"
    fwd.write_text("\\nosuch-user-zz, \\root\n")
    os.chown(fwd, clean_homes["ptest1"].pw_uid, clean_homes["ptest1"].pw_gid)
    os.chmod(fwd, 0o644)
    postern = make_postern("forward_files = yes\n")
    send(postern, "alice@example.com", ["ptest1@example.org"], MESSAGE)
    wait_for(lambda: re.search(r"to=<ptest1@example.org>, relay=local, .*status=(bounced|deferred)",
                               postern.log_text()), 20 * SLOW, "the .forward result")
    log = postern.log_text()
    assert re.search(r"to=<ptest1@example.org>, relay=local, .*status=bounced", log)
    assert not re.search(r"to=<ptest1@example.org>, relay=local, .*status=deferred", log)


def test_alias_command_runs_outside_the_masters_session(make_postern, clean_homes, tmp_path):
    # in the master's session it would share the admin's terminal (postern -d):
    # /dev/tty and TIOCSTI would reach a root shell
    out = tmp_path / "stat"
    open_up(tmp_path)
    os.chmod(tmp_path, 0o1777)
    al = root_file(tmp_path / "aliases", f'prog: "|cat /proc/self/stat > {out}"\n')
    postern = make_postern(f"aliases = {al}\nallow_alias_pipes = yes\n")
    send(postern, "alice@example.com", ["prog@example.org"], MESSAGE)
    wait_for(lambda: out.exists() and out.stat().st_size > 0, 20 * SLOW, "the command")
    fields = out.read_text().rsplit(")", 1)[1].split()
    assert int(fields[3]) != os.getsid(postern.proc.pid)


def test_a_hanging_mailbox_ties_up_only_its_users_share(make_postern, clean_homes, tmp_path):
    spool = tmp_path / "mail"
    spool.mkdir()
    os.chmod(spool, 0o1777)
    open_up(spool)
    postern = make_postern(f"mbox_users = ptest1\nmail_spool_directory = {spool}\n"
                           "local_delivery_concurrency = 2\nlocal_delivery_per_user = 1\n")
    # ptest1's mbox is locked (a fresh dot-lock): its delivery waits for it
    lock = spool / "ptest1.lock"
    lock.write_text("")
    for i in range(3):
        send(postern, "alice@example.com", ["ptest1@example.org"], MESSAGE)
    wait_for(lambda: "ptest1" in subprocess.run(["ps", "-eo", "user:20"], capture_output=True,
                                                  text=True).stdout,
             10 * SLOW, "a delivery child waiting as ptest1")
    # both slots would be ptest1's without the per-user limit; ptest2 goes on
    send(postern, "alice@example.com", ["ptest2@example.org"], MESSAGE)
    wait_maildir("ptest2", 1, timeout=10)
    lock.unlink()
    box = spool / "ptest1"
    wait_for(lambda: box.exists() and box.read_bytes().count(b"\nFrom ") + 1 == 3
             and box.read_bytes().startswith(b"From "), 30 * SLOW, "ptest1's three messages")


def test_fanout_beyond_the_limit_is_refused(make_postern, clean_homes, tmp_path):
    al = root_file(tmp_path / "aliases", "team: ptest1, ptest2, ptest3\n")
    postern = make_postern(f"aliases = {al}\nlocal_fanout_limit = 2\n")
    send(postern, "alice@example.com", ["team@example.org"], MESSAGE)
    wait_for(lambda: "more than 2 local deliveries for one message" in postern.log_text(),
             20 * SLOW, "the fan-out refusal in the log")
    wait_for(lambda: postern.queue() == [], 20 * SLOW, "the queue to empty")
    got = [u for u in ("ptest1", "ptest2", "ptest3") if maildir_new(u)]
    assert len(got) == 2, got
