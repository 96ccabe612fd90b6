"""posternctl requeue (issue 7): after a route change and a reload, a waiting
message is routed again at once with the new config."""
import json

import postern_ipc as ipc
from conftest import free_port, wait_for
from queue_helpers import ctl_request, send, wait_queue_empty


def route(pattern, via):
    return f'route "{pattern}" {{\n\tvia = {via}\n}}\n'


def entry(postern, qid):
    return next((e for e in postern.queue() if e["id"] == qid), None)


def test_requeue_after_a_route_change_delivers_to_the_new_next_hop(make_postern, sink):
    closed = free_port()    # nothing listens there: the old next hop is down
    postern = make_postern(extra=route("moved.example", f"[127.0.0.1]:{closed}"))
    qid = send(postern, "alice@example.com", ["bob@moved.example"], tag="moved")
    wait_for(lambda: (entry(postern, qid) or {}).get("last_error"), 20, "a deferral")
    # the admin points the route at the new server and reloads
    text = postern.conf.read_text().replace(f"[127.0.0.1]:{closed}",
                                            f"[127.0.0.1]:{sink.port}")
    postern.conf.write_text(text)
    assert "reload done" in postern.ctl("reload").stdout
    # without requeue it waits out its backoff (queue_min_backoff = 5m)
    assert entry(postern, qid)["next_try"] > 0 and sink.messages == []
    assert postern.ctl("requeue", qid).stdout.strip() == f"{qid} requeued"
    got = sink.wait_messages(1)
    assert got[0]["to"] == ["bob@moved.example"]
    wait_queue_empty(postern)
    evs = [e["event"] for e in
           json.loads(postern.ctl("trace", "--json", qid).stdout)["events"]]
    assert evs == ["received", "delivery", "requeued", "delivery", "removed"]
    assert f"{qid}: requeued by the admin" in postern.log_text()


def test_requeue_all_and_its_refusals(make_postern, sink):
    postern = make_postern()
    postern.ctl("pause", "outgoing")
    a = send(postern, "alice@example.com", ["bob@example.com"], tag="a")
    b = send(postern, "alice@example.com", ["carol@example.com"], tag="b")
    postern.ctl("hold", b)
    assert postern.ctl("requeue", "--all").stdout.strip() == "1 message requeued"
    r = postern.ctl("requeue", b, check=False)
    assert r.returncode == 1 and "held" in r.stderr
    r = postern.ctl("requeue", "0000000000000000000", check=False)
    assert r.returncode == 1 and "no such message" in r.stderr
    assert postern.ctl("requeue", check=False).returncode == 2
    assert postern.ctl("requeue", "--bogus", check=False).returncode == 2
    t, data = ctl_request(postern, "IPC_CTL_REQUEUE", ipc.Packer().u32(1))
    assert t == "IPC_CTL_ERROR" and b"malformed" in data
    postern.ctl("resume", "outgoing")
    sink.wait_messages(1)
    wait_for(lambda: entry(postern, a) is None, 20, "a delivered")
