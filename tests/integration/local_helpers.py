"""Helpers for the local delivery tests (issue 8): real users, mailboxes."""
import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest

from conftest import wait_for, SLOW

USERS = ("ptest1", "ptest2", "ptest3")


def _del(user):
    subprocess.run(["userdel", "-r", "-f", user], capture_output=True)


@pytest.fixture(scope="module")
def users():
    """ptest1..3 with homes under /home, removed after the module."""
    for u in USERS:
        _del(u)
        subprocess.run(["useradd", "-m", "-s", "/usr/sbin/nologin", u], check=True,
                       capture_output=True)
    yield {u: pwd.getpwnam(u) for u in USERS}
    for u in USERS:
        _del(u)


@pytest.fixture
def clean_homes(users):
    """Each test starts with empty mailboxes."""
    for u, pw in users.items():
        home = Path(pw.pw_dir)
        for p in (home / "Maildir", home / ".forward"):
            subprocess.run(["rm", "-rf", str(p)])
    return users


def open_up(path):
    """Lets the test users reach a file under the test's 0700 folders."""
    p = Path(path)
    for d in [p, *p.parents]:
        if str(d) in ("/", "/tmp"):
            break
        os.chmod(d, os.stat(d).st_mode | 0o711)


def root_file(path, text, mode=0o644):
    path = Path(path)
    path.write_text(text)
    os.chown(path, 0, 0)
    os.chmod(path, mode)
    return path


def maildir_new(user):
    d = Path(pwd.getpwnam(user).pw_dir) / "Maildir" / "new"
    return sorted(d.iterdir()) if d.is_dir() else []


def wait_maildir(user, n=1, timeout=20):
    return wait_for(lambda: len(maildir_new(user)) >= n and maildir_new(user),
                    timeout * SLOW, f"{n} message(s) in {user}'s Maildir")


def send(postern, sender, rcpts, data):
    with postern.smtp() as s:
        s.ehlo("client.example.org")
        s.sendmail(sender, rcpts, data)


def rcpt_reply(postern, rcpt):
    with postern.smtp() as s:
        s.ehlo("client.example.org")
        s.mail("alice@example.com")
        return s.rcpt(rcpt)


def lf(data):
    return data.replace(b"\r\n", b"\n")


def settle():
    time.sleep(0.3 * SLOW)
