"""posternctl's --domain selection: a verb on every message for a domain."""
import time

from conftest import SLOW, wait_for
from test_delivery import send


def states(postern):
    return {e["id"]: e["state"] for e in postern.queue()}


def test_hold_release_and_delete_by_domain(postern, sink):
    sink.stop()
    com = [send(postern, "alice@example.org", ["bob@example.com"]),
           send(postern, "alice@example.org", ["carol@implicit.example.com"])]
    net = send(postern, "alice@example.org", ["dave@example.net"])
    wait_for(lambda: len(postern.queue()) == 3, 20, "three queued messages")

    r = postern.ctl("hold", "--domain", "example.com")
    assert "hold: 2 messages selected, 2 done" in r.stdout
    st = states(postern)
    assert [st[q] for q in com] == ["held", "held"]
    assert st[net] != "held"

    # the other domain flows; the held ones stay, even through flush --all
    sink.start()
    assert postern.ctl("flush", "--all").returncode == 0
    sink.wait_messages(1)
    time.sleep(1.0 * SLOW)      # proving a negative: nothing else arrives
    assert [m["to"] for m in sink.messages] == [["dave@example.net"]]

    r = postern.ctl("release", "--domain", "implicit.example.com")
    assert "release: 1 message selected, 1 done" in r.stdout
    sink.wait_messages(2)
    assert sink.messages[1]["to"] == ["carol@implicit.example.com"]

    r = postern.ctl("delete", "--domain", "example.com")
    assert "delete: 1 message selected, 1 done" in r.stdout
    wait_for(lambda: postern.queue() == [], 20, "an empty queue")

    r = postern.ctl("bounce", "--domain", "nowhere.example")
    assert "bounce: 0 messages selected, 0 done" in r.stdout
    r = postern.ctl("hold", "--domain", check=False)
    assert r.returncode == 2
