"""queue-mgr's watchdog: a job deliver never answers is tried again
(delivery_job_timeout), instead of waiting for a restart."""
import os
import signal

from conftest import SLOW, wait_for
from queue_helpers import send


def test_a_job_deliver_never_answers_is_tried_again(make_postern, sink):
    postern = make_postern(extra="delivery_job_timeout = 2s\n")
    pid = postern.pid_of("postern-deliver")
    # a hung deliver: alive (the master sees nothing wrong), silent
    os.kill(pid, signal.SIGSTOP)
    try:
        send(postern, "alice@example.com", ["bob@example.com"], tag="watchdog")
        wait_for(lambda: "deliver gave no answer for job" in postern.log_text(),
                 20 * SLOW, "the watchdog's log line")
        assert "will be tried again" in postern.log_text()
        # still queued, waiting for its next try rather than stuck in flight
        assert [e["state"] for e in postern.queue()] in (["deferred"], ["active"])
    finally:
        os.kill(pid, signal.SIGCONT)
    sink.wait_messages(1)
    wait_for(lambda: postern.queue() == [], 30 * SLOW, "an empty queue")
    # deliver's late answer to the forgotten job is ignored, not a crash
    assert postern.pid_of("postern-queue")
