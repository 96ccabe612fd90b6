"""posternctl delete and bounce (issue 7): silent removal, and return to the sender with a DSN."""
import re

from conftest import wait_for
from queue_helpers import ctl_str, parse_dsn, send, wait_queue_empty

LATE = "451 4.7.1 Try again later"


def deferred(p, sink, rcpt="late@example.com", sender="alice@example.com", tag="remove-test"):
    sink.handler.rcpt_replies[rcpt] = LATE
    qid = send(p, sender, [rcpt], tag=tag)
    wait_for(lambda: [e for e in p.queue() if e["id"] == qid and e["last_error"]], 20,
             "a deferral")
    return qid


def dsns_to(sink, rcpt):
    return [m for m in sink.messages if m["from"] == "<>" and m["to"] == [rcpt]]


def test_delete_removes_a_message_silently(postern, sink):
    qid = deferred(postern, sink)
    r = postern.ctl("delete", qid)
    assert f"{qid} deleted" in r.stdout
    assert postern.queue() == []
    assert re.search(rf"{qid}: removed by the admin", postern.log_text())
    # no notice: nothing was queued for the sender, nothing arrived
    assert dsns_to(sink, "alice@example.com") == []
    r = postern.ctl("delete", qid, check=False)
    assert r.returncode == 1 and "no such message" in r.stderr


def test_delete_all_deferred_keeps_held_messages(postern, sink):
    a = deferred(postern, sink, rcpt="late1@example.com")
    b = deferred(postern, sink, rcpt="late2@example.com")
    c = deferred(postern, sink, rcpt="late3@example.com")
    postern.ctl("hold", c)
    r = postern.ctl("delete", "--all-deferred")
    assert "2 messages deleted" in r.stdout
    assert [e["id"] for e in postern.queue()] == [c]
    log = postern.log_text()
    assert f"{a}: removed by the admin" in log and f"{b}: removed by the admin" in log


def test_bounce_returns_the_message_with_a_dsn(postern, sink):
    qid = deferred(postern, sink, tag="bounce-me")
    r = postern.ctl("bounce", qid)
    assert f"{qid} bounced" in r.stdout
    dsn = wait_for(lambda: dsns_to(sink, "alice@example.com"), 20, "the DSN")[0]
    msg, parts, per_msg, per_rcpt = parse_dsn(dsn["data"])
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert per_msg["X-Postern-Queue-ID"] == qid
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; late@example.com"
    assert per_rcpt[0]["Action"] == "failed"
    assert per_rcpt[0]["Status"] == "5.0.0"
    assert "deleted by the administrator" in per_rcpt[0]["Diagnostic-Code"]
    assert "Subject: bounce-me" in parts[2].get_payload()
    wait_queue_empty(postern)
    assert re.search(rf"{qid}: to=<late@example.com>.*dsn=5\.0\.0, status=bounced",
                     postern.log_text())


def test_remove_errors(postern, sink):
    for verb in ("delete", "bounce"):
        r = postern.ctl(verb, "NOSUCHMESSAGE000000", check=False)
        assert r.returncode == 1 and "no such message" in r.stderr
        assert postern.ctl(verb, check=False).returncode == 2
    assert postern.ctl("bounce", "--all-deferred", check=False).returncode == 2
    # the daemon checks too: bounce names one message
    t, text = ctl_str(postern, "IPC_CTL_BOUNCE", "")
    assert t == "IPC_CTL_ERROR" and "malformed" in text
    t, text = ctl_str(postern, "IPC_CTL_DELETE", "x" * 200)
    assert t == "IPC_CTL_ERROR" and "malformed" in text
