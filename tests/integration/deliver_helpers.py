"""Peers for deliver's integration tests: a test CA made with the openssl
command, SMTP sinks with STARTTLS, AUTH or scripted failures, LMTP servers
on TCP and on a unix socket, and a DNS zone of awkward MX cases."""
import os
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import AuthResult, SMTP

from conftest import SinkHandler, wait_for

# conftest's zone plus the MX cases of issue 6 (served by our own unbound)
ZONE_EXTRA = """
local-zone: "dl.test." static
local-data: "pref.dl.test. 300 IN MX 10 dead.dl.test."
local-data: "pref.dl.test. 300 IN MX 20 good.dl.test."
local-data: "dead.dl.test. 300 IN A 127.0.0.2"
local-data: "good.dl.test. 300 IN A 127.0.0.1"
local-data: "nullmx.dl.test. 300 IN MX 0 ."
local-data: "loop.dl.test. 300 IN MX 10 mx.test.invalid."
local-data: "loop.dl.test. 300 IN MX 20 good.dl.test."
local-data: "selfloop.dl.test. 300 IN MX 10 good.dl.test."
local-data: "selfloop.dl.test. 300 IN MX 5 MX.TEST.INVALID."
local-data: "v6only.dl.test. 300 IN MX 10 v6host.dl.test."
local-data: "v6host.dl.test. 300 IN AAAA ::1"
local-data: "nomail.dl.test. 300 IN TXT \\"no mail here\\""
"""


def make_ca(d, names=("mx.example.com",)):
    """A test CA and a server certificate for names; returns (ca.pem,
    server cert, server key) paths."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d)
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=postern test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", *ec, "-keyout", "srv.key", "-out", "srv.csr",
        "-subj", f"/CN={names[0]}")
    (d / "ext").write_text("subjectAltName=" + ",".join(f"DNS:{n}" for n in names)
                           + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
        "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
        "-extfile", "ext")
    return d / "ca.pem", d / "srv.pem", d / "srv.key"


def server_tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class RecordingHandler(SinkHandler):
    """conftest's sink handler that also notes each message's connection,
    TLS state, AUTH login and MAIL/RCPT parameters, and can answer a
    scripted list of DATA replies first."""

    def __init__(self, data_replies=()):
        super().__init__()
        self.data_replies = list(data_replies)
        self.attempts = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            if self.data_replies:
                return self.data_replies.pop(0)
            self.messages.append({
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.original_content,
                "helo": session.host_name,
                "peer": session.peer,
                "tls": session.ssl is not None,
                "login": session.login_data,
                "mail_options": list(envelope.mail_options),
            })
        return "250 2.0.0 Ok: got it"


class LMTPHandler(RecordingHandler):
    """One reply per recipient after DATA (RFC 2033): those in
    self.data_fail get their own failure."""

    def __init__(self):
        super().__init__()
        self.data_fail = {}

    async def handle_DATA(self, server, session, envelope):
        ok = [r for r in envelope.rcpt_tos if r not in self.data_fail]
        replies = []
        for r in envelope.rcpt_tos:
            replies.append(self.data_fail.get(r, f"250 2.0.0 <{r}> delivered"))
        with self.lock:
            self.messages.append({"from": envelope.mail_from, "to": ok,
                                  "data": envelope.original_content,
                                  "helo": session.host_name,
                                  "peer": session.peer})
        return "\r\n".join(replies)


class LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


class UnixLMTPController(UnixSocketController):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def accept_login(logins):
    """An aiosmtpd authenticator taking user/password pairs from logins."""
    def auth(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode(), auth_data.password.decode()) in logins
        return AuthResult(success=ok, handled=False)
    return auth


class Peer:
    """An aiosmtpd server on host:port with its own handler and options."""

    def __init__(self, handler, host="127.0.0.1", port=None, cls=Controller, **kw):
        from conftest import free_port
        self.handler = handler
        self.port = port or free_port()
        self.controller = cls(handler, hostname=host, port=self.port, **kw)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def wait_messages(self, n, timeout=20):
        return wait_for(lambda: len(self.messages) >= n and self.messages,
                        timeout, f"{n} message(s) at the peer")


def unix_socket_dir():
    """A folder under /tmp that _postern-deliver's connect helper may
    enter (pytest's own tmp folders are root's, mode 0700)."""
    d = tempfile.mkdtemp(prefix="postern-lmtp-")
    os.chmod(d, 0o755)
    return Path(d)


class RawSMTP:
    """A small scripted SMTP server (one thread per connection) for what
    aiosmtpd cannot be made to do: leave out 8BITMIME, offer DSN and
    record the parameters, inject bytes after 220 to STARTTLS, or never
    greet at all (a stalled server)."""

    def __init__(self, caps=("PIPELINING", "8BITMIME"), tls_context=None,
                 inject=b"", greet=True, host="127.0.0.1", break_tls=False):
        import socket as _s
        self.caps = list(caps)
        self.tls_context = tls_context
        self.inject = inject
        self.greet = greet
        self.break_tls = break_tls   # 220 to STARTTLS, then hang up
        self.lock = threading.Lock()
        self.lines = []          # every command line received, decoded
        self.messages = []       # {"mail": line, "rcpts": [lines], "data": bytes, "tls": bool}
        self.connections = 0
        self.sock = _s.socket(_s.AF_INET, _s.SOCK_STREAM)
        self.sock.setsockopt(_s.SOL_SOCKET, _s.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def stop(self):
        self.stopped = True
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass

    def _serve(self, c):
        try:
            self._dialog(c)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _dialog(self, c):
        if not self.greet:
            while c.recv(4096):
                pass
            return
        f = c.makefile("rb")
        c.sendall(b"220 raw.test ESMTP\r\n")
        tls = False
        cur = None
        while True:
            line = f.readline(4096)
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            with self.lock:
                self.lines.append(text)
            verb = text.split(" ", 1)[0].upper()
            if verb in ("EHLO", "LHLO"):
                caps = list(self.caps)
                if self.tls_context is not None and not tls:
                    caps.append("STARTTLS")
                out = ["250-raw.test"] + [f"250-{x}" for x in caps[:-1]] + \
                    [f"250 {caps[-1]}" if caps else "250 raw.test"]
                if not caps:
                    out = ["250 raw.test"]
                c.sendall(("\r\n".join(out) + "\r\n").encode())
            elif verb == "HELO":
                c.sendall(b"250 raw.test\r\n")
            elif verb == "STARTTLS" and self.tls_context is not None and not tls:
                c.sendall(b"220 2.0.0 go ahead\r\n" + self.inject)
                if self.break_tls:
                    return
                c = self.tls_context.wrap_socket(c, server_side=True)
                f = c.makefile("rb")
                tls = True
            elif verb == "MAIL":
                cur = {"mail": text, "rcpts": [], "data": b"", "tls": tls}
                c.sendall(b"250 2.1.0 ok\r\n")
            elif verb == "RCPT":
                cur["rcpts"].append(text)
                c.sendall(b"250 2.1.5 ok\r\n")
            elif verb == "DATA":
                c.sendall(b"354 go\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = f.readline(65536)
                    if not chunk:
                        return
                    data += chunk
                cur["data"] = data
                with self.lock:
                    self.messages.append(cur)
                c.sendall(b"250 2.0.0 queued\r\n")
            elif verb == "BDAT":
                # "BDAT n [LAST]": n octets follow, taken as they are
                words = text.split()
                n = int(words[1])
                chunk = f.read(n)
                cur["data"] += chunk
                if len(words) > 2 and words[2].upper() == "LAST":
                    with self.lock:
                        self.messages.append(cur)
                    c.sendall(b"250 2.0.0 queued\r\n")
                else:
                    c.sendall(b"250 2.0.0 chunk ok\r\n")
            elif verb in ("RSET", "NOOP"):
                c.sendall(b"250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                c.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                c.sendall(b"502 5.5.1 not here\r\n")


# ---------------------------------------------------------------- a signed zone for DANE

def _wire_name(name):
    out = b""
    for label in name.rstrip(".").lower().split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _key_tag(rdata):
    ac = 0
    for i, b in enumerate(rdata):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xFFFF
    return ac & 0xFFFF


class SignedZone:
    """A DNSSEC-signed zone (ECDSA P-256, algorithm 13, one key) as an
    unbound auth-zone file: DNSKEY, SOA, NS and the records given, each
    RRset with its RRSIG. No NSEC chain: only positive answers validate
    (a missing AAAA comes back BOGUS, which deliver must survive)."""

    TTL = 300

    def __init__(self, origin):
        import struct
        from cryptography.hazmat.primitives.asymmetric import ec
        self.struct = struct
        self.origin = origin.rstrip(".") + "."
        self.key = ec.generate_private_key(ec.SECP256R1())
        pub = self.key.public_key().public_numbers()
        self.pubkey = pub.x.to_bytes(32, "big") + pub.y.to_bytes(32, "big")
        self.dnskey_rdata = struct.pack(">HBB", 257, 3, 13) + self.pubkey
        self.tag = _key_tag(self.dnskey_rdata)
        self.rrsets = {}   # (owner, type) -> [(text rdata, wire rdata)]
        ns = "ns." + self.origin
        self.add(self.origin, "SOA", f"{ns} hostmaster.{self.origin} 1 3600 600 86400 300",
                 _wire_name(ns) + _wire_name("hostmaster." + self.origin)
                 + struct.pack(">IIIII", 1, 3600, 600, 86400, 300))
        self.add(self.origin, "NS", ns, _wire_name(ns))
        self.add(self.origin, "DNSKEY", "257 3 13 " + self._b64(self.pubkey),
                 self.dnskey_rdata)

    @staticmethod
    def _b64(b):
        import base64
        return base64.b64encode(b).decode()

    TYPES = {"A": 1, "NS": 2, "SOA": 6, "MX": 15, "AAAA": 28, "RRSIG": 46,
             "DNSKEY": 48, "TLSA": 52}

    def add(self, owner, rtype, text, wire):
        owner = owner.rstrip(".").lower() + "."
        self.rrsets.setdefault((owner, rtype), []).append((text, wire))

    def a(self, owner, addr):
        import ipaddress
        self.add(owner, "A", addr, ipaddress.IPv4Address(addr).packed)

    def mx(self, owner, pref, host):
        self.add(owner, "MX", f"{pref} {host}", self.struct.pack(">H", pref) + _wire_name(host))

    def tlsa(self, owner, usage, selector, mtype, data):
        self.add(owner, "TLSA", f"{usage} {selector} {mtype} {data.hex()}",
                 bytes([usage, selector, mtype]) + data)

    def ds_anchor(self):
        """The zone's DNSKEY as a trust anchor line for libunbound."""
        return f"{self.origin} {self.TTL} IN DNSKEY 257 3 13 {self._b64(self.pubkey)}\n"

    def _sign(self, owner, rtype, rrs):
        import time
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        st = self.struct
        labels = len(owner.rstrip(".").split("."))
        now = int(time.time())
        inception, expiration = now - 3600, now + 86400
        head = st.pack(">HBBIIIH", self.TYPES[rtype], 13, labels, self.TTL, expiration,
                       inception, self.tag) + _wire_name(self.origin)
        data = head
        for _, wire in sorted(rrs, key=lambda r: r[1]):
            data += _wire_name(owner) + st.pack(">HHIH", self.TYPES[rtype], 1, self.TTL,
                                                len(wire)) + wire
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        ts = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
        return (f"{owner} {self.TTL} IN RRSIG {rtype} 13 {labels} {self.TTL} "
                f"{ts(expiration)} {ts(inception)} {self.tag} {self.origin} {self._b64(sig)}")

    def text(self):
        lines = [f"$ORIGIN {self.origin}"]
        for (owner, rtype), rrs in sorted(self.rrsets.items(),
                                          key=lambda kv: (kv[0][0] != self.origin, kv[0])):
            for text, _ in rrs:
                lines.append(f"{owner} {self.TTL} IN {rtype} {text}")
            lines.append(self._sign(owner, rtype, rrs))
        return "\n".join(lines) + "\n"

    def unbound_conf(self, path):
        """Lines for start_unbound's zone text: serve this zone as an
        auth-zone, then go back to the server clause."""
        Path(path).write_text(self.text())
        return (f'local-zone: "{self.origin}" transparent\n'
                f'auth-zone:\n    name: "{self.origin}"\n    zonefile: "{path}"\n'
                f'    for-downstream: yes\n    for-upstream: no\n'
                f'    fallback-enabled: no\nserver:\n')


def spki_sha256(cert_path):
    """DANE-EE 3 1 1 data of a PEM certificate."""
    import hashlib
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()
