"""The master as an admin meets it: reload, stop, restart of crashed daemons."""
import os
import signal
import socket

from conftest import SLOW, wait_for


def ehlo_size(postern):
    with postern.smtp() as s:
        code, text = s.ehlo("client.example")
        assert code == 250
    for line in text.decode().splitlines():
        if line.startswith("SIZE"):
            return int(line.split()[1])
    return None


def test_sighup_applies_a_valid_config_and_keeps_the_old_on_errors(postern):
    assert ehlo_size(postern) == 1024 * 1024
    children = set(postern.children())
    text = postern.conf.read_text()
    postern.conf.write_text(text.replace("max_message_size = 1M", "max_message_size = 2M"))
    os.kill(postern.proc.pid, signal.SIGHUP)
    wait_for(lambda: ehlo_size(postern) == 2 * 1024 * 1024, 10, "the new SIZE")
    # a reload restarts nothing
    assert set(postern.children()) == children

    postern.conf.write_text(text.replace("max_message_size = 1M", "max_message_size = lots"))
    os.kill(postern.proc.pid, signal.SIGHUP)
    wait_for(lambda: "keeping the running configuration" in postern.log_text(), 10,
             "the reload to be refused")
    log = postern.log_text()
    assert f"{postern.conf}:" in log and "max_message_size" in log
    assert ehlo_size(postern) == 2 * 1024 * 1024
    assert postern.proc.poll() is None


def test_sigint_stops_like_ctrl_c(postern):
    children = list(postern.children())
    postern.proc.send_signal(signal.SIGINT)
    assert postern.proc.wait(20 * SLOW) == 0
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
    # the port is free again
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", postern.port))


def test_every_daemon_is_restarted_after_kill_9(postern, sink):
    from test_delivery import send
    for name in ("postern-resolver", "postern-deliver", "postern-smtpd", "postern-queue"):
        old = postern.pid_of(name)
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: postern.pid_of(name) not in (None, old), 20, f"a new {name}")
    wait_for(postern._accepts, 20, "smtpd to accept")
    wait_for(postern.control_ready, 20, "queue-mgr to answer")
    # the re-wired suite still carries a message through every process
    send(postern, "alice@example.org", ["bob@example.com"])
    sink.wait_messages(1)
    assert postern.proc.poll() is None


def test_reload_that_moves_listeners_is_refused(postern):
    text = postern.conf.read_text()
    port2 = postern.port + 1 if postern.port < 65000 else postern.port - 1
    # a new listener block in front of the existing one moves its index
    changed = text.replace("listener mx {",
                           f"listener first {{\n\tlisten = 127.0.0.1:{port2}\n}}\n"
                           "listener mx {", 1)
    postern.conf.write_text(changed.replace("max_message_size = 1M", "max_message_size = 3M"))
    os.kill(postern.proc.pid, signal.SIGHUP)
    wait_for(lambda: "listeners were added, removed or moved" in postern.log_text(), 10,
             "the reload to be refused")
    assert ehlo_size(postern) == 1024 * 1024
    # a daemon restarted now runs the validated config, not the file on disk
    old = postern.pid_of("postern-smtpd")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: postern.pid_of("postern-smtpd") not in (None, old), 20, "a new smtpd")
    wait_for(postern._accepts, 20, "the new smtpd")
    assert ehlo_size(postern) == 1024 * 1024
