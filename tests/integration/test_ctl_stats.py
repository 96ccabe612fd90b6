"""posternctl stats (issue 7): messages by state, counts since start, deferrals grouped."""
import json

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
    assert "accepted  3" in text and "delivered 1" in text
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
