"""Delivery status notifications (RFC 3461/3464) from queue-mgr: failure,
expiry, delay and success notices as multipart/report, NOTIFY and RET
honoured, and never a notice about a notice."""
import re
import time

import pytest

from conftest import SLOW, wait_for
from queue_helpers import ehlo_keywords, parse_dsn, send, wait_queue_empty

FAST = "queue_retry_schedule = 1s\n"


def dsns_to(sink, rcpt):
    return [m for m in sink.messages if m["from"] == "<>" and m["to"] == [rcpt]]


def test_expired_message_gets_a_failure_report(make_postern, sink):
    sink.handler.rcpt_replies["late@example.com"] = "451 4.7.1 Try again later"
    p = make_postern(FAST + "max_queue_lifetime = 3s\ndelay_warning_time = 0\n")
    qid = send(p, "alice@example.com", ["late@example.com"], tag="expire-test")
    dsn = wait_for(lambda: dsns_to(sink, "alice@example.com"), 30, "the DSN")[0]
    msg, parts, per_msg, per_rcpt = parse_dsn(dsn["data"])
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert per_msg["Reporting-MTA"] == "dns; mx.test.invalid"
    assert per_msg["X-Postern-Queue-ID"] == qid
    assert per_msg["Arrival-Date"]
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["Final-Recipient"] == "rfc822; late@example.com"
    assert r["Action"] == "failed"
    assert r["Status"] == "4.4.7"
    assert r["Remote-MTA"] == "dns; mx.example.com"
    assert r["Diagnostic-Code"].startswith("smtp; 554 4.4.7 Message expired")
    assert "451 4.7.1 Try again later" in r["Diagnostic-Code"]
    # no RET: the header block only
    assert parts[2].get_content_type() == "text/rfc822-headers"
    text = parts[2].get_payload()
    assert "Subject: expire-test" in text and "Hello Bob" not in text
    assert "late@example.com" in parts[0].get_payload()
    log = p.log_text()
    assert re.search(rf"{qid}: sender non-delivery notification: [0-9A-Z]+", log), log
    wait_queue_empty(p)
    assert len(dsns_to(sink, "alice@example.com")) == 1


def test_delay_warning_is_sent_once_then_delivery(make_postern, sink):
    sink.handler.rcpt_replies["slow@example.com"] = "451 4.3.2 Busy"
    p = make_postern(FAST + "delay_warning_time = 2s\n")
    qid = send(p, "alice@example.com", ["slow@example.com"], tag="delay-test")
    dsn = wait_for(lambda: dsns_to(sink, "alice@example.com"), 30, "the delay notice")[0]
    msg, parts, per_msg, per_rcpt = parse_dsn(dsn["data"])
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    assert per_rcpt[0]["Action"] == "delayed"
    assert per_rcpt[0]["Status"] == "4.3.2"
    assert per_rcpt[0]["Will-Retry-Until"]
    assert re.search(rf"{qid}: sender delay notification", p.log_text())
    # more retries, no second warning; then it goes through
    wait_for(lambda: len(re.findall(rf"{qid}: to=<slow@example.com>.*status=deferred",
                                    p.log_text())) >= 5, 20, "more tries")
    assert len(dsns_to(sink, "alice@example.com")) == 1
    del sink.handler.rcpt_replies["slow@example.com"]
    p.ctl("flush")
    wait_for(lambda: [m for m in sink.messages if m["to"] == ["slow@example.com"]],
             20, "the delivery")
    wait_queue_empty(p)
    assert len(dsns_to(sink, "alice@example.com")) == 1


def test_failure_of_a_null_sender_message_goes_to_the_postmaster_once(make_postern, sink):
    sink.handler.rcpt_replies["gone@example.com"] = "550 5.1.1 No such user"
    p = make_postern("double_bounce_recipient = postmaster@example.com\n")
    qid = send(p, "", ["gone@example.com"], tag="bounce-of-bounce")
    dsn = wait_for(lambda: dsns_to(sink, "postmaster@example.com"), 20,
                   "the postmaster notice")[0]
    _, _, _, per_rcpt = parse_dsn(dsn["data"])
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; gone@example.com"
    assert per_rcpt[0]["Action"] == "failed"
    assert re.search(rf"{qid}: postmaster non-delivery notification", p.log_text())
    wait_queue_empty(p)
    # and when the postmaster's notice fails too, it is logged and dropped
    sink.handler.rcpt_replies["postmaster@example.com"] = "550 5.1.1 Nobody"
    send(p, "", ["gone@example.com"], tag="bounce-of-bounce-2")
    wait_for(lambda: re.search(r"undeliverable notice to=<postmaster@example.com> dropped",
                               p.log_text()), 20, "the notice to be dropped")
    wait_queue_empty(p)
    assert len(dsns_to(sink, "postmaster@example.com")) == 1


def test_null_sender_failure_is_dropped_without_a_postmaster(make_postern, sink):
    sink.handler.rcpt_replies["gone@example.com"] = "550 5.1.1 No such user"
    p = make_postern('double_bounce_recipient = ""\n')
    qid = send(p, "", ["gone@example.com"], tag="dropped")
    wait_for(lambda: re.search(rf"{qid}: undeliverable notice to=<gone@example.com> dropped",
                               p.log_text()), 20, "the drop")
    wait_queue_empty(p)
    assert [m for m in sink.messages if m["from"] == "<>"] == []


# ---- with smtpd's DSN extension (RFC 3461 parameters from the client)

@pytest.fixture
def dsn_postern(make_postern):
    def start(extra=""):
        p = make_postern(FAST + extra)
        if "DSN" not in ehlo_keywords(p):
            pytest.skip("smtpd does not offer DSN yet")
        return p
    return start


def test_notify_never_sends_no_failure_report(dsn_postern, sink):
    sink.handler.rcpt_replies["gone@example.com"] = "550 5.1.1 No such user"
    p = dsn_postern()
    qid = send(p, "alice@example.com", ["gone@example.com"], rcpt_options=["NOTIFY=NEVER"])
    wait_for(lambda: re.search(rf"{qid}: to=<gone@example.com>.*status=bounced",
                               p.log_text()), 20, "the bounce")
    wait_queue_empty(p)
    time.sleep(1 * SLOW)
    assert dsns_to(sink, "alice@example.com") == []


def test_notify_success_with_envid_and_orcpt(dsn_postern, sink):
    p = dsn_postern()
    send(p, "alice@example.com", ["bob@example.com"], tag="success-test",
         mail_options=["RET=HDRS", "ENVID=QQ314159"],
         rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;Bob@Example.com"])
    dsn = wait_for(lambda: dsns_to(sink, "alice@example.com"), 20, "the success notice")[0]
    msg, parts, per_msg, per_rcpt = parse_dsn(dsn["data"])
    assert msg["Subject"] == "Successful Mail Delivery Report"
    assert per_msg["Original-Envelope-Id"] == "QQ314159"
    r = per_rcpt[0]
    assert r["Action"] in ("delivered", "relayed")
    assert r["Status"].startswith("2.")
    assert r["Original-Recipient"] == "rfc822; Bob@Example.com"
    assert r["Final-Recipient"] == "rfc822; bob@example.com"
    wait_queue_empty(p)


def test_ret_full_returns_the_whole_message(dsn_postern, sink):
    sink.handler.rcpt_replies["gone@example.com"] = "550 5.1.1 No such user"
    p = dsn_postern()
    send(p, "alice@example.com", ["gone@example.com"], tag="full-test",
         mail_options=["RET=FULL"], rcpt_options=["NOTIFY=FAILURE"])
    dsn = wait_for(lambda: dsns_to(sink, "alice@example.com"), 20, "the DSN")[0]
    msg, parts, _, per_rcpt = parse_dsn(dsn["data"])
    assert per_rcpt[0]["Action"] == "failed"
    assert per_rcpt[0]["Status"] == "5.1.1"
    assert per_rcpt[0]["Diagnostic-Code"] == "smtp; 550 5.1.1 No such user"
    assert parts[2].get_content_type() == "message/rfc822"
    inner = parts[2].get_payload()[0]
    assert inner["Subject"] == "full-test"
    assert "Hello Bob." in inner.get_payload()
    wait_queue_empty(p)


def test_notify_failure_only_gets_no_delay_warning(dsn_postern, sink):
    sink.handler.rcpt_replies["slow@example.com"] = "451 4.3.2 Busy"
    p = dsn_postern("delay_warning_time = 1s\n")
    qid = send(p, "alice@example.com", ["slow@example.com"], rcpt_options=["NOTIFY=FAILURE"])
    wait_for(lambda: len(re.findall(rf"{qid}: to=<slow@example.com>.*status=deferred",
                                    p.log_text())) >= 3, 20, "three tries")
    assert dsns_to(sink, "alice@example.com") == []
