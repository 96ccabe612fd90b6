"""posternctl pause|resume outgoing (issue 7): nothing goes out while paused, nothing is lost."""
import time

import postern_ipc as ipc
from conftest import SLOW, wait_for
from queue_helpers import ctl_request, send


def test_pause_outgoing_holds_delivery_until_resume(postern, sink):
    r = postern.ctl("pause", "outgoing")
    assert "outgoing delivery paused" in r.stdout
    assert "already paused" in postern.ctl("pause", "outgoing").stdout
    qid = send(postern, "alice@example.com", ["bob@example.com"], tag="paused")
    postern.ctl("flush")
    time.sleep(1.5 * SLOW)      # proving a negative: nothing goes out meanwhile
    assert sink.messages == []
    assert [e["id"] for e in postern.queue()] == [qid]
    assert "outgoing delivery resumed" in postern.ctl("resume", "outgoing").stdout
    assert sink.wait_messages(1)[0]["to"] == ["bob@example.com"]
    wait_for(lambda: postern.queue() == [], 20, "an empty queue")
    assert "outgoing delivery paused by the admin" in postern.log_text()


def test_pause_requests_are_checked(postern):
    assert postern.ctl("pause", check=False).returncode == 2
    assert postern.ctl("pause", "sideways", check=False).returncode == 2
    t, data = ctl_request(postern, "IPC_CTL_PAUSE", ipc.Packer().u32(1).str("sideways"))
    assert t == "IPC_CTL_ERROR" and b"incoming or outgoing" in data
    t, data = ctl_request(postern, "IPC_CTL_PAUSE", ipc.Packer().u32(7).str("outgoing"))
    assert t == "IPC_CTL_ERROR" and b"malformed" in data
