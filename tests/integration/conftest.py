"""Integration harness: real daemons on loopback, started by the real master.

Every test here runs the suite as an admin would: a config file, `postern -d`,
SMTP clients (smtplib, raw sockets), an aiosmtpd sink as the next hop, a
real unbound serving a local zone as the DNS, and posternctl.
Environment: POSTERN_BUILD names the build folder (default build/; the
sanitizer run uses build-asan/).
"""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / os.environ.get("POSTERN_BUILD", "build")
DAEMONS = ("postern-smtpd", "postern-queue", "postern-deliver", "postern-resolver")
# A sanitizer build is slower; every wait scales with this.
SLOW = 3.0 if "asan" in BUILD.name else 1.0


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout * SLOW:.0f}s waiting for {what}")


# ---------------------------------------------------------------- DNS

ZONE = """
local-zone: "example.com." static
local-data: "example.com. 300 IN MX 10 mx.example.com."
local-data: "mx.example.com. 300 IN A 127.0.0.1"
local-data: "implicit.example.com. 300 IN A 127.0.0.1"
local-data: "nullmx.example.com. 300 IN MX 0 ."
local-data: "smarthost.example.com. 300 IN A 127.0.0.1"
local-zone: "example.net." static
local-data: "example.net. 300 IN MX 10 mx.example.com."
"""


def dns_query(port, name, qtype=1, timeout=0.5):
    """One UDP question; returns the rcode and answer count, or None."""
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(q, ("127.0.0.1", port))
            r, _ = s.recvfrom(4096)
        except OSError:
            return None
    return r[3] & 0xF, struct.unpack(">H", r[6:8])[0]


def start_unbound(d, zone, probe="mx.example.com"):
    """Starts a real unbound on a free 127.0.0.1 port serving `zone` (unbound
    local-zone/local-data lines) from folder d; returns (port, process) once
    the A record of `probe` (which the zone must hold) is answered."""
    port = free_port()
    conf = d / "unbound.conf"
    conf.write_text(f"""server:
    interface: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
{zone}
    local-zone: "." refuse
""")
    log = open(d / "unbound.log", "w")
    proc = subprocess.Popen(["unbound", "-d", "-c", str(conf)], stdout=log, stderr=log)
    log.close()
    wait_for(lambda: proc.poll() is not None or dns_query(port, probe) == (0, 1),
             10, "unbound to answer")
    assert proc.poll() is None, (d / "unbound.log").read_text()
    return port, proc


@pytest.fixture(scope="session")
def dns(tmp_path_factory):
    """A real unbound on 127.0.0.1 answering the local test zone ZONE."""
    port, proc = start_unbound(tmp_path_factory.mktemp("unbound"), ZONE)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------- SMTP sink

class SinkHandler:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.rcpt_replies = {}   # address -> reply text, e.g. "550 5.1.1 no such user"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append({
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.original_content,
                "helo": session.host_name,
            })
        return "250 2.0.0 Ok: got it"


class Sink:
    """An aiosmtpd server on a fixed loopback port that can go down and up."""

    def __init__(self, port):
        self.port = port
        self.handler = SinkHandler()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def wait_messages(self, n, timeout=20):
        return wait_for(lambda: len(self.messages) >= n and self.messages, timeout,
                        f"{n} message(s) at the sink")


@pytest.fixture
def sink():
    s = Sink(free_port())
    s.start()
    yield s
    s.stop()


# ---------------------------------------------------------------- postern

class Postern:
    """The whole suite: `postern -d -f CONF`, as root, with its own spool."""

    def __init__(self, tmp, dns_port, sink_port, extra="", listener_extra=""):
        self.dir = Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.spool = self.dir / "spool"
        self.port = free_port()
        self.conf = self.dir / "postern.conf"
        self.conf.write_text(f"""# written by the integration tests
hostname = mx.test.invalid
spool = {self.spool}
local_domains = example.org
relay_domains = example.net
trusted_networks = 127.0.0.1/32 ::1/128
dns_forwarders = 127.0.0.1@{dns_port}
remote_port = {sink_port}
queue_min_backoff = 5m
queue_max_backoff = 1h
smtp_connect_timeout = 5s
smtp_timeout = 30s
{extra}
listener mx {{
	listen = 127.0.0.1:{self.port}
	max_message_size = 1M
	max_recipients = 50
{listener_extra}
}}
""")
        self.logpath = self.dir / "postern.log"
        self.proc = None

    def start(self):
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen([str(BUILD / "postern"), "-d", "-f", str(self.conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or self._accepts(), 20, "smtpd to accept")
        assert self.proc.poll() is None, self.log_text()
        # every daemon up and unprivileged before a test looks at them
        wait_for(lambda: all(self.pid_of(d) for d in DAEMONS), 20, "all daemons")
        wait_for(lambda: self.control_ready(), 20, "the control socket")
        return self

    def _accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.settimeout(2 * SLOW)
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    def control_ready(self):
        r = self.ctl("queue", check=False)
        return r.returncode == 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        try:
            self.log.flush()
        except (ValueError, AttributeError):
            pass
        return self.logpath.read_text(errors="replace")

    def children(self):
        """{pid: name} of the master's children."""
        out = {}
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                stat = (p / "stat").read_text()
                rest = stat[stat.rindex(")") + 2:].split()
                if int(rest[1]) == self.proc.pid:
                    out[int(p.name)] = (p / "comm").read_text().strip()
            except OSError:
                continue    # it exited while we looked
        return out

    def pid_of(self, name):
        for pid, comm in self.children().items():
            if name.startswith(comm) or comm.startswith(name[:15]):
                return pid
        return None

    def ctl(self, *args, check=True):
        r = subprocess.run([str(BUILD / "posternctl"), "-f", str(self.conf), *args],
                           capture_output=True, text=True, timeout=60 * SLOW)
        if check:
            assert r.returncode == 0, f"posternctl {args}: {r.stdout}{r.stderr}"
        return r

    def queue(self):
        return json.loads(self.ctl("queue", "--json").stdout)

    def smtp(self, source="127.0.0.1"):
        import smtplib
        return smtplib.SMTP("127.0.0.1", self.port, source_address=(source, 0),
                            timeout=30 * SLOW)


@pytest.fixture
def make_postern(tmp_path, dns, sink):
    """Factory: make_postern(extra="key = value\\n...") starts a suite."""
    started = []

    def factory(extra="", listener_extra="", start=True):
        p = Postern(tmp_path / f"p{len(started)}", dns, sink.port, extra, listener_extra)
        started.append(p)
        return p.start() if start else p

    yield factory
    for p in started:
        p.stop()


@pytest.fixture
def postern(make_postern):
    return make_postern()
