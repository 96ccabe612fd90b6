"""posternctl stats (issue 7): messages by state, counts since start, deferrals grouped."""
import json
import re

from conftest import wait_for
from queue_helpers import ctl_request, send


def test_stats_counts_and_groups_deferrals(postern, sink):
    sink.handler.rcpt_replies["late@example.com"] = "451 4.7.1 Try again later"
    sink.handler.rcpt_replies["busy@example.net"] = "452 4.2.2 Mailbox full"
    send(postern, "alice@example.com", ["ok@example.com"], tag="s1")
    sink.wait_messages(1)
    a = send(postern, "alice@example.com", ["late@example.com"], tag="s2")
    b = send(postern, "alice@example.com", ["busy@example.net"], tag="s3")
    wait_for(lambda: len([e for e in postern.queue() if e["last_error"]]) == 2, 20,
             "two deferrals")
    postern.ctl("hold", b)
    st = json.loads(postern.ctl("stats", "--json").stdout)
    assert st["messages"] == {"active": 0, "deferred": 1, "held": 1}
    assert st["recipients_waiting"] == 2
    assert st["oldest_age"] >= 0 and st["oldest_arrival"] > 0
    assert st["since_start"]["accepted"] == 3
    assert st["since_start"]["delivered"] == 1
    assert st["since_start"]["deferred"] >= 2
    assert st["since_start"]["bounced"] == 0
    assert sorted((g["status"], g["recipients"]) for g in st["deferred_by_reason"]) == \
        [("4.2.2", 1), ("4.7.1", 1)]
    assert sorted(g["domain"] for g in st["deferred_by_domain"]) == ["example.com", "example.net"]
    text = postern.ctl("stats").stdout
    assert "2 (0 active, 1 deferred, 1 held)" in text
    assert re.search(r"accepted +3 ", text) and re.search(r"delivered +1 ", text)
    assert "4.7.1" in text and "example.net" in text
    # a bounce counts
    postern.ctl("bounce", a)
    st = json.loads(postern.ctl("stats", "--json").stdout)
    assert st["since_start"]["bounced"] == 1


def test_stats_on_an_empty_queue_and_bad_requests(postern):
    st = json.loads(postern.ctl("stats", "--json").stdout)
    assert st["messages"] == {"active": 0, "deferred": 0, "held": 0}
    assert st["oldest_arrival"] == 0 and st["deferred_by_reason"] == []
    assert "Oldest:     -" in postern.ctl("stats").stdout
    assert postern.ctl("stats", "--xml", check=False).returncode == 2
    t, _ = ctl_request(postern, "IPC_CTL_STATS", b"junk")
    assert t == "IPC_CTL_ERROR"


def test_stats_show_open_sessions_and_rates(postern):
    import socket

    def smtpd():
        return json.loads(postern.ctl("stats", "--json").stdout)["smtpd"]

    wait_for(lambda: smtpd() is not None, 10, "smtpd's first numbers")
    before = smtpd()["connections"]
    socks = []
    try:
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", postern.port), timeout=5)
            assert s.recv(512).startswith(b"220")
            socks.append(s)
        wait_for(lambda: smtpd()["sessions_open"] == 3, 10, "three open sessions")
        assert smtpd()["connections"] >= before + 3
        assert "Sessions:   3 open" in postern.ctl("stats").stdout
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: smtpd()["sessions_open"] == 0, 10, "the sessions gone")
    st = json.loads(postern.ctl("stats", "--json").stdout)
    assert set(st["per_minute"]) == {"accepted", "delivered", "deferred", "bounced"}
    assert "per minute" in postern.ctl("stats").stdout
