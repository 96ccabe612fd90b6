"""postern-sendmail (issue 8): bare user names stay here, mailq without PATH, trusted senders."""
import os
import subprocess

import pytest

from conftest import BUILD, wait_for, SLOW
from local_helpers import users, clean_homes, open_up, root_file, wait_maildir  # noqa: F401
from test_local_submit import sendmail

GROUP = "ptestsubmit"


@pytest.fixture(scope="module")
def trusted_group(users):
    """ptest1 is in GROUP, ptest2 is not; removed after the module."""
    subprocess.run(["groupdel", GROUP], capture_output=True)
    subprocess.run(["groupadd", GROUP], check=True, capture_output=True)
    subprocess.run(["usermod", "-aG", GROUP, "ptest1"], check=True, capture_output=True)
    yield GROUP
    subprocess.run(["gpasswd", "-d", "ptest1", GROUP], capture_output=True)
    subprocess.run(["groupdel", GROUP], capture_output=True)


def test_bare_user_name_and_hostname_are_delivered_here(make_postern, clean_homes, tmp_path):
    # hostname (mx.test.invalid) is not in local_domains: local_hostname adds it
    al = root_file(tmp_path / "aliases", "root: ptest2\n")
    postern = make_postern(f"aliases = {al}\n")
    open_up(postern.dir)
    r = sendmail(postern, ["ptest3"], b"Subject: bare\n\nto a bare name\n", user="ptest1")
    assert r.returncode == 0, r.stderr
    data = wait_maildir("ptest3")[0].read_bytes()
    assert b"Delivered-To: ptest3@mx.test.invalid\n" in data
    assert data.endswith(b"Subject: bare\n\nto a bare name\n")
    r = sendmail(postern, ["-t"], b"To: root@mx.test.invalid\nSubject: cron\n\nfor root\n",
                 user="ptest1")
    assert r.returncode == 0, r.stderr
    assert wait_maildir("ptest2")[0].read_bytes().endswith(b"Subject: cron\n\nfor root\n")
    r = postern.ctl("route", "someone@localhost", check=False)
    assert r.returncode == 0 and "local" in r.stdout, r.stdout + r.stderr


def test_local_hostname_no_leaves_hostname_remote(make_postern):
    postern = make_postern("local_hostname = no\n")
    r = postern.ctl("route", "ptest3@mx.test.invalid", check=False)
    assert "local domain" not in r.stdout, r.stdout


def test_bp_and_mailq_find_posternctl_without_path(postern, sink, tmp_path):
    sink.stop()
    from test_delivery import send
    qid = send(postern, "alice@example.org", ["bob@example.com"])
    wait_for(lambda: any(e["last_error"] for e in postern.queue()), 20 * SLOW, "a deferral")
    env = dict(os.environ, PATH="/nonexistent")
    r = subprocess.run([str(BUILD / "postern-sendmail"), "-bp", "-C", str(postern.conf)],
                       capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-Queue ID-")
    assert qid in r.stdout and "bob@example.com" in r.stdout
    # linked as mailq somewhere else, as /usr/bin/mailq is
    mailq = tmp_path / "mailq"
    mailq.symlink_to(BUILD.resolve() / "postern-sendmail")
    r = subprocess.run([str(mailq), "-C", str(postern.conf)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert qid in r.stdout


def test_trusted_group_member_chooses_the_sender(make_postern, sink, trusted_group):
    postern = make_postern(f"submit_trusted_group = {trusted_group}\n")
    open_up(postern.dir)
    r = sendmail(postern, ["-f", "boss@example.org", "bob@example.com"],
                 b"Subject: member\n\nx\n", user="ptest1")
    assert r.returncode == 0, r.stderr
    assert b"not allowed" not in r.stderr
    r = sendmail(postern, ["-f", "boss@example.org", "carol@example.com"],
                 b"Subject: outsider\n\ny\n", user="ptest2")
    assert r.returncode == 0, r.stderr
    assert b"not allowed" in r.stderr
    by_rcpt = {m["to"][0]: m for m in sink.wait_messages(2)}
    assert by_rcpt["bob@example.com"]["from"] == "boss@example.org"
    assert by_rcpt["carol@example.com"]["from"] == "ptest2@mx.test.invalid"
    assert b"X-Authentication-Warning" not in by_rcpt["bob@example.com"]["data"]
