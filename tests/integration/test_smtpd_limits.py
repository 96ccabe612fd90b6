"""smtpd's connection control (issue 3): allow/deny lists, sessions per IP,
connection rate, total sessions, talking before the greeting, timeouts, and
per-listener hostname, extensions and error limits."""
import socket
import time

from conftest import SLOW, wait_for
from smtpd_helpers import Raw, ehlo_lines, suite, wait_closed  # noqa: F401


def refused(port, source, code):
    """Connects; the first reply must be code and the connection closed."""
    c = Raw(port, source=source, greet=False)
    r = c.reply()
    assert r.startswith(code), r
    assert wait_closed(c)
    c.close()
    return r


def test_denied_client_gets_554_and_close(suite):
    port = suite.ports["acl"]
    r = refused(port, "127.0.0.3", b"554 5.7.1")
    assert b"denied" in r
    c = Raw(port, source="127.0.0.2")
    assert c.greeting.startswith(b"220 mx.test.invalid")
    c.close()
    assert "refused connection from unknown[127.0.0.3]" in suite.log_text()


def test_sessions_per_ip_are_limited(suite):
    port = suite.ports["perip"]
    a = Raw(port, source="127.0.0.2")
    b = Raw(port, source="127.0.0.2")
    refused(port, "127.0.0.2", b"421 4.7.0")
    # another address, and trusted_networks, are not affected
    Raw(port, source="127.0.0.4").close()
    ok = [Raw(port) for _ in range(3)]
    for c in ok:
        c.close()
    # a session that ends frees its place
    assert a.cmd(b"QUIT\r\n").startswith(b"221")
    a.close()

    def one_more():
        c = Raw(port, source="127.0.0.2", greet=False)
        r = c.reply()
        c.close()
        return r.startswith(b"220")
    wait_for(one_more, 5, "a free session place")
    b.close()


def test_connection_rate_is_limited(suite):
    port = suite.ports["rate"]
    for _ in range(3):
        c = Raw(port, source="127.0.0.5")
        assert c.cmd(b"QUIT\r\n").startswith(b"221")
        c.close()
    r = refused(port, "127.0.0.5", b"421 4.7.0")
    assert b"slow down" in r
    for _ in range(5):      # trusted_networks is exempt
        Raw(port).close()


def test_total_sessions_are_limited(suite):
    port = suite.ports["total"]
    a = Raw(port, source="127.0.0.6")
    b = Raw(port, source="127.0.0.7")
    refused(port, "127.0.0.8", b"421 4.7.0")
    a.close()
    b.close()


def test_talking_before_the_greeting_is_554(suite):
    port = suite.ports["greet"]
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
    s.sendall(b"EHLO hasty.example\r\nMAIL FROM:<spam@example.net>\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    assert data.startswith(b"554 5.5.0"), data
    assert b"220" not in data
    # a patient client gets the listener's own hostname after the delay
    t = time.monotonic()
    c = Raw(port)
    assert time.monotonic() - t >= 0.6
    assert c.greeting == b"220 greet.test.invalid ESMTP postern\r\n"
    assert c.cmd(b"QUIT\r\n").startswith(b"221")
    c.close()
    assert "improper command pipelining before the greeting" in suite.log_text()


def test_listener_extensions_hostname_and_limits(suite):
    port = suite.ports["sub"]
    c = Raw(port)
    assert c.greeting.startswith(b"220 sub.test.invalid ")
    ext = ehlo_lines(c.cmd(b"EHLO sub.example\r\n"))
    assert ext[0] == "sub.test.invalid"
    for gone in ("CHUNKING", "BINARYMIME", "DSN", "SMTPUTF8", "ETRN"):
        assert gone not in ext
    assert "PIPELINING" in ext and "8BITMIME" in ext
    assert c.cmd(b"MAIL FROM:<a@example.org> RET=FULL\r\n").startswith(b"555")
    # messages per connection: 2
    for _ in range(2):
        assert c.cmd(b"MAIL FROM:<a@example.org>\r\n").startswith(b"250")
        assert c.cmd(b"RSET\r\n").startswith(b"250")
    assert c.cmd(b"MAIL FROM:<a@example.org>\r\n").startswith(b"421 4.7.0")
    assert wait_closed(c)
    c.close()
    # max_errors: 3 (the 555 above was one of them in the other session)
    c = Raw(port)
    c.cmd(b"EHLO sub.example\r\n")
    assert c.cmd(b"BDAT 3 LAST\r\n").startswith(b"502 5.5.1")
    assert c.cmd(b"XYZZY\r\n").startswith(b"500")
    r = c.cmd(b"XYZZY\r\n")
    assert r.startswith(b"500") and b"421 4.7.0" in r + c.reply()
    assert wait_closed(c)
    c.close()


def test_command_and_data_timeouts_are_421(suite):
    port = suite.ports["tmo"]
    c = Raw(port, source="127.0.0.9")
    t = time.monotonic()
    r = c.reply()
    assert r.startswith(b"421 4.4.2"), r
    assert 1.8 <= time.monotonic() - t <= 6 * SLOW
    assert wait_closed(c)
    c.close()
    # inside DATA the shorter data_timeout counts
    c = Raw(port, source="127.0.0.9")
    c.send(b"EHLO t.example\r\nMAIL FROM:<a@outside.example>\r\nRCPT TO:<postmaster>\r\n"
           b"DATA\r\n")
    assert c.replies(4)[3].startswith(b"354")
    t = time.monotonic()
    c.send(b"Subject: slow\r\n")
    r = c.reply()
    assert r.startswith(b"421 4.4.2"), r
    assert 0.8 <= time.monotonic() - t < 1.8 * SLOW
    assert wait_closed(c)
    c.close()
