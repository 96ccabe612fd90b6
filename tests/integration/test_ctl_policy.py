"""posternctl policy-test (issue 7): what smtpd would answer a given client, without any mail."""
import re

from conftest import Postern


def policy(postern, *args):
    return postern.ctl("policy-test", *args, check=False)


def reply_of(out, cmd):
    """The reply code shown beside a command of the dialogue."""
    m = re.search(r"^" + re.escape(cmd) + r"\s+(\d{3})[ -]", out, re.M)
    assert m, out
    return int(m.group(1))


def test_trusted_client_may_relay(postern, sink):
    r = policy(postern, "--from", "127.0.0.1", "--helo", "inside.example.org",
               "alice@example.org", "bob@example.com", "carol@example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert reply_of(out, "(connect)") == 220
    assert reply_of(out, "EHLO inside.example.org") == 250
    assert reply_of(out, "MAIL FROM:<alice@example.org>") == 250
    assert reply_of(out, "RCPT TO:<bob@example.com>") == 250
    assert reply_of(out, "RCPT TO:<carol@example.net>") == 250
    assert reply_of(out, "QUIT") == 221
    # the columns line up: every reply starts in the same column
    starts = {len(m.group(1)) for m in re.finditer(r"^(.*?\s{2,})\d{3}[ -]", out, re.M)}
    assert len(starts) == 1, out
    # nothing was queued or sent
    assert postern.queue() == [] and sink.messages == []


def test_untrusted_client_is_refused_relay_but_reaches_our_domains(postern):
    r = policy(postern, "--from", "192.0.2.7", "someone@elsewhere.example",
               "bob@example.com", "carol@example.net")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert reply_of(out, "EHLO [192.0.2.7]") == 250
    assert reply_of(out, "RCPT TO:<bob@example.com>") // 100 == 5
    # a relay domain takes mail from anyone
    assert reply_of(out, "RCPT TO:<carol@example.net>") == 250


def test_local_recipients_from_anyone(postern):
    # nobody is a login here; the recipient check runs as for a real client
    r = policy(postern, "--from", "192.0.2.7", "someone@elsewhere.example",
               "nobody@example.org", "no-such-user-7b@example.org")
    assert r.returncode == 1, r.stdout + r.stderr
    assert reply_of(r.stdout, "RCPT TO:<nobody@example.org>") == 250
    assert reply_of(r.stdout, "RCPT TO:<no-such-user-7b@example.org>") == 550
    r = policy(postern, "--from", "192.0.2.7", "someone@elsewhere.example", "nobody@example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "policy test" in postern.log_text().lower()


def test_null_sender_and_ipv6_client(postern):
    r = policy(postern, "--from", "::1", "<>", "carol@example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    assert reply_of(r.stdout, "EHLO [IPv6:::1]") == 250
    assert reply_of(r.stdout, "MAIL FROM:<>") == 250


def test_policy_test_errors(postern):
    # usage
    for args in ([], ["a@b.example", "c@d.example"], ["--from", "127.0.0.1", "a@b.example"],
                 ["--from", "not-an-ip", "a@b.example", "c@d.example"],
                 ["--from", "127.0.0.1", "a@b.example", "c\r\n@d.example"]):
        r = policy(postern, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
    r = policy(postern, "--from", "127.0.0.1", "--listener", "nosuch", "a@b.example", "c@d.example")
    assert r.returncode == 2 and r.stderr, r.stdout
    assert r.stdout == ""


def test_policy_test_needs_postern_running(tmp_path, dns):
    p = Postern(tmp_path, dns, 2526)        # a config only, never started
    r = p.ctl("policy-test", "--from", "127.0.0.1", "a@b.example", "c@d.example", check=False)
    assert r.returncode == 2 and "not running" in r.stderr
