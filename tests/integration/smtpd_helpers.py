"""Helpers for the smtpd tests: a raw SMTP client for pipelined, byte-exact
dialogs, and one suite per test module with a listener per feature."""
import socket
import time

import pytest

from conftest import SLOW, Postern, Sink, free_port


class Raw:
    """A raw SMTP client: sends bytes as given, reads whole replies."""

    def __init__(self, port, source="127.0.0.1", greet=True, timeout=10):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout * SLOW)
        self.s.bind((source, 0))
        self.s.connect(("127.0.0.1", port))
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def _line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed; got %r" % self.buf)
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def reply(self):
        """One whole (possibly multi-line) reply."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if line[3:4] != b"-":
                return b"".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def send(self, data):
        self.s.sendall(data)

    def cmd(self, data):
        self.s.sendall(data)
        return self.reply()

    def closed(self):
        """True when the server has closed the connection (EOF)."""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def ehlo_lines(reply):
    return [l[4:].strip().decode() for l in reply.splitlines()]


# One listener per feature so tests do not share limits. Sources 127.0.0.2
# and up are "the Internet": trusted_networks is 127.0.0.1/32 only.
LISTENERS = {
    "perip": "max_sessions_per_ip = 2",
    "rate": "max_connection_rate = 3",
    "total": "max_sessions = 2",
    "acl": "client_allow = 127.0.0.0/8\n\tclient_deny = 127.0.0.3/32",
    "greet": "greeting_delay = 700ms\n\thostname = greet.test.invalid",
    "sub": ("hostname = sub.test.invalid\n\tdisable_extensions = CHUNKING DSN SMTPUTF8\n"
            "\tmax_errors = 3\n\tmax_messages_per_connection = 2"),
    "tmo": "command_timeout = 2s\n\tdata_timeout = 1s",
}


@pytest.fixture(scope="module")
def suite(dns, tmp_path_factory):
    """The whole suite with the mx listener (ETRN for 127.0.0.1, at most 5
    Received headers) and the LISTENERS, plus a sink as the next hop."""
    sink = Sink(free_port())
    sink.start()
    ports = {name: free_port() for name in LISTENERS}
    extra = "".join(f"listener {name} {{\n\tlisten = 127.0.0.1:{ports[name]}\n"
                    f"\t{text}\n}}\n" for name, text in LISTENERS.items())
    p = Postern(tmp_path_factory.mktemp("smtpd"), dns, sink.port, extra=extra,
                listener_extra="\tetrn_clients = 127.0.0.1/32\n"
                               "\tmax_received_headers = 5\n")
    p.ports = ports
    p.sink = sink
    p.start()
    try:
        yield p
    finally:
        p.stop()
        sink.stop()


def wait_closed(c, timeout=5):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if c.closed():
            return True
    return False
