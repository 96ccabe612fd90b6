"""posternctl trace ID (issue 7): a message's events, from arrival to its end,
for messages still queued and for messages gone."""
import json

import postern_ipc as ipc
from conftest import wait_for
from queue_helpers import ctl_request, send, wait_queue_empty


def trace(postern, qid):
    return json.loads(postern.ctl("trace", "--json", qid).stdout)


def events(postern, qid):
    return [e["event"] for e in trace(postern, qid)["events"]]


def test_trace_after_delivery_tells_the_whole_story(postern, sink):
    qid = send(postern, "alice@example.com", ["bob@example.com", "carol@example.com"],
               tag="traced")
    sink.wait_messages(1)
    wait_queue_empty(postern)
    t = trace(postern, qid)
    assert t["queue_id"] == qid
    evs = t["events"]
    assert [e["event"] for e in evs] == ["received", "delivery", "delivery", "removed"]
    rec = evs[0]
    assert rec["source"] == "smtp" and rec["client"] == "127.0.0.1"
    assert rec["helo"] == "client.example.org" and rec["from"] == "alice@example.com"
    assert rec["nrcpt"] == "2" and rec["queue_id"] == qid and int(rec["size"]) > 0
    assert sorted(e["to"] for e in evs[1:3]) == ["bob@example.com", "carol@example.com"]
    for e in evs[1:3]:
        assert e["status"] == "sent" and e["dsn"] == "2.0.0"
        assert e["reply"].startswith("250") and "127.0.0.1" in e["relay"]
        assert float(e["delay"]) >= 0
    times = [e["time_us"] for e in evs]
    assert times == sorted(times)
    assert evs[0]["time"].endswith("Z")
    # the human form: one aligned line per event, the reply in parentheses
    lines = postern.ctl("trace", qid).stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].split()[2] == "received" and "from=<alice@example.com>" in lines[0]
    assert "status=sent" in lines[1] and lines[1].endswith(")")
    assert len({line.index(line.split()[3]) for line in lines[:3]}) == 1


def test_trace_of_a_queued_held_then_deleted_message(postern, sink):
    postern.ctl("pause", "outgoing")
    qid = send(postern, "alice@example.com", ["bob@example.com"], tag="deleted")
    assert events(postern, qid) == ["received"]
    postern.ctl("hold", qid)
    postern.ctl("release", qid)
    postern.ctl("hold", qid)
    postern.ctl("delete", qid)
    assert events(postern, qid) == ["received", "held", "released", "held", "deleted",
                                    "removed"]
    postern.ctl("resume", "outgoing")
    assert sink.messages == []


def test_trace_records_the_bounce_and_its_notice(postern, sink):
    postern.ctl("pause", "outgoing")
    qid = send(postern, "alice@example.com", ["bob@example.com"], tag="bounced")
    postern.ctl("bounce", qid)
    evs = trace(postern, qid)["events"]
    names = [e["event"] for e in evs]
    assert names[:3] == ["received", "bounced", "delivery"] and names[-1] == "removed"
    assert evs[2]["status"] == "bounced" and evs[2]["dsn"] == "5.0.0"
    dsn = [e for e in evs if e["event"] == "dsn"]
    assert len(dsn) == 1 and "non-delivery" in dsn[0]["kind"]
    notice = trace(postern, dsn[0]["queue_id"])["events"]
    assert notice[0]["event"] == "received" and notice[0]["source"] == "dsn"
    assert notice[0]["about"] == qid and notice[0]["to"] == "alice@example.com"
    postern.ctl("resume", "outgoing")
    wait_for(lambda: "removed" in events(postern, dsn[0]["queue_id"]), 20,
             "the notice to be delivered")


def test_trace_of_unknown_and_malformed_ids(postern):
    r = postern.ctl("trace", "0000000000000000000", check=False)
    assert r.returncode == 1 and "no trace of that message" in r.stderr
    r = postern.ctl("trace", "not-an-id", check=False)
    assert r.returncode == 1 and "no trace" in r.stderr
    assert postern.ctl("trace", check=False).returncode == 2
    t, data = ctl_request(postern, "IPC_CTL_TRACE", ipc.Packer().u32(5))
    assert t == "IPC_CTL_ERROR" and b"malformed" in data
