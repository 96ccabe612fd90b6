"""smtpd's listeners (issue 3): an IPv6 listener with its own settings, and
per-listener settings that change on reload without a restart."""
import os
import signal
import socket

from conftest import SLOW, wait_for


def free_port6():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def greeting(family, addr, port):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5 * SLOW)
        s.connect((addr, port))
        return s.recv(512)


def test_ipv6_listener_with_its_own_settings_and_reload(make_postern, sink):
    v6 = free_port6()
    p = make_postern(extra=f"listener six {{\n\tlisten = [::1]:{v6}\n"
                           f"\thostname = six.test.invalid\n\tmax_errors = 2\n}}\n")
    assert greeting(socket.AF_INET6, "::1", v6) == b"220 six.test.invalid ESMTP postern\r\n"
    # the mx listener keeps the global hostname
    assert greeting(socket.AF_INET, "127.0.0.1", p.port).startswith(b"220 mx.test.invalid ")
    with socket.create_connection(("::1", v6), timeout=10 * SLOW) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO v6.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.com>\r\n"
                  b"DATA\r\n")
        lines = []
        while not lines or lines[-1][:3] not in (b"354", b""):
            lines.append(f.readline())
            assert len(lines) < 20, lines
        assert lines[-1].startswith(b"354"), lines
        s.sendall(b"X-Marker: v6-1\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        assert f.readline().startswith(b"250 2.0.0 Ok: queued")
    m = wait_for(lambda: [m for m in sink.messages if b"v6-1" in m["data"]], 30, "the v6 message")
    assert b"Received: from v6.example ([IPv6:::1])" in m[0]["data"]
    assert b"by six.test.invalid (postern) with ESMTP" in m[0]["data"]

    # reload: the listener's hostname changes, no restart
    children = set(p.children())
    p.conf.write_text(p.conf.read_text().replace("six.test.invalid", "seven.test.invalid"))
    os.kill(p.proc.pid, signal.SIGHUP)
    wait_for(lambda: greeting(socket.AF_INET6, "::1", v6).startswith(b"220 seven.test.invalid"),
             10, "the new hostname")
    assert set(p.children()) == children
