"""Issue 4's per-listener keys auth_relay and tls_ciphers: whether a password
alone opens the relay, the TLS 1.2 cipher list a listener offers, and that
TLS 1.0 and 1.1 are refused. 127.0.0.1 is trusted; 127.0.0.2 is the Internet."""
import base64
import subprocess

import pytest

from conftest import SLOW, Postern, Sink, free_port
from smtpd_helpers import Raw
from test_smtpd_tls import make_ca

UNTRUSTED = "127.0.0.2"


@pytest.fixture(scope="module")
def lk(dns, tmp_path_factory):
    d = make_ca(tmp_path_factory.mktemp("pki"))
    pam = tmp_path_factory.mktemp("pam")
    h = subprocess.run(["openssl", "passwd", "-6", "correct horse"], check=True,
                       capture_output=True, text=True).stdout.strip()
    (pam / "passwd").write_text(f"alice:{h}\n")
    (pam / "postern-test").write_text(
        f"auth required pam_pwdfile.so pwdfile={pam}/passwd nodelay\n"
        "account required pam_permit.so\n")
    listeners = {
        "relay": "auth = may\n\tauth_plaintext = yes",
        "norelay": "auth = may\n\tauth_plaintext = yes\n\tauth_relay = no",
        "chacha": f"tls = may\n\tcert = {d}/ec.crt\n\tkey = {d}/ec.key\n"
                  "\ttls_ciphers = ECDHE+CHACHA20",
        "dflt": f"tls = may\n\tcert = {d}/ec.crt\n\tkey = {d}/ec.key",
    }
    ports = {name: free_port() for name in listeners}
    extra = "".join(f"listener {name} {{\n\tlisten = 127.0.0.1:{ports[name]}\n"
                    f"\t{text}\n}}\n" for name, text in listeners.items())
    extra = f"pam_confdir = {pam}\npam_service = postern-test\n" + extra
    sink = Sink(free_port())
    sink.start()
    p = Postern(tmp_path_factory.mktemp("smtpd-lkeys"), dns, sink.port, extra=extra)
    p.ports = ports
    p.pki = d
    p.start()
    try:
        yield p
    finally:
        p.stop()
        sink.stop()


def authed(port, source):
    c = Raw(port, source=source)
    assert c.cmd(b"EHLO client.example\r\n").startswith(b"250")
    tok = base64.b64encode(b"\0alice\0correct horse")
    assert c.cmd(b"AUTH PLAIN " + tok + b"\r\n").startswith(b"235")
    assert c.cmd(b"MAIL FROM:<alice@example.org>\r\n").startswith(b"250")
    return c


# ---- auth_relay ----

def test_authenticated_client_relays_by_default(lk):
    c = authed(lk.ports["relay"], UNTRUSTED)
    assert c.cmd(b"RCPT TO:<someone@far.example>\r\n").startswith(b"250")
    c.cmd(b"QUIT\r\n")
    c.close()


def test_auth_relay_no_refuses_relay_for_authenticated_untrusted_client(lk):
    c = authed(lk.ports["norelay"], UNTRUSTED)
    r = c.cmd(b"RCPT TO:<someone@far.example>\r\n")
    assert r.startswith(b"554 5.7.1"), r
    # our own domains are not relaying: unaffected
    assert c.cmd(b"RCPT TO:<postmaster@example.org>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<x@example.net>\r\n").startswith(b"250")
    c.cmd(b"QUIT\r\n")
    c.close()


def test_auth_relay_no_still_relays_for_trusted_network(lk):
    c = authed(lk.ports["norelay"], "127.0.0.1")
    assert c.cmd(b"RCPT TO:<someone@far.example>\r\n").startswith(b"250")
    c.cmd(b"QUIT\r\n")
    c.close()


# ---- tls_ciphers and protocol versions ----

def s_client(port, *args):
    return subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}",
         "-servername", "mx.test.invalid", *args],
        input="QUIT\r\n", capture_output=True, text=True, timeout=30 * SLOW)


def test_tls_ciphers_chooses_the_tls12_cipher(lk):
    r = s_client(lk.ports["chacha"], "-tls1_2")
    assert "Cipher is ECDHE-ECDSA-CHACHA20-POLY1305" in r.stdout, r.stdout + r.stderr
    # the default list prefers AES-GCM: the key really changed something
    r = s_client(lk.ports["dflt"], "-tls1_2")
    assert "Cipher is ECDHE-ECDSA-AES" in r.stdout, r.stdout + r.stderr
    assert "GCM" in r.stdout


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls10_and_tls11_are_refused(lk, version):
    r = s_client(lk.ports["dflt"], version, "-cipher", "DEFAULT@SECLEVEL=0")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "Cipher is (NONE)" in out or "Cipher is" not in out, out
    # the client did try: the server answered with a protocol_version alert
    assert "protocol version" in out or "unsupported protocol" in out, out
    # and smtpd is still there
    c = Raw(lk.ports["dflt"])
    assert c.cmd(b"EHLO client.example\r\n").startswith(b"250")
    c.close()


def test_bad_tls_ciphers_is_a_config_error(lk, tmp_path):
    from conftest import BUILD
    conf = tmp_path / "bad.conf"
    conf.write_text(f"spool = {tmp_path}/spool\nlistener x {{\n"
                    f"\tlisten = 127.0.0.1:{free_port()}\n\ttls = may\n"
                    f"\tcert = {lk.pki}/ec.crt\n\tkey = {lk.pki}/ec.key\n"
                    "\ttls_ciphers = NO-SUCH-CIPHER\n}\n")
    r = subprocess.run([str(BUILD / "postern"), "-n", "-f", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "tls_ciphers" in r.stderr and "bad.conf:" in r.stderr, r.stderr


# ---- the example's submission listeners and postern -n ----

def test_example_submission_listeners_require_tls_and_auth():
    from conftest import ROOT
    text = (ROOT / "etc" / "postern.conf.example").read_text()
    for name, tls in (("submission", "required"), ("submissions", "implicit")):
        block = text.split(f"listener {name} {{", 1)[1].split("\n}", 1)[0]
        keys = {ln.split("=")[0].strip(): ln.split("=", 1)[1].split("#")[0].strip()
                for ln in block.splitlines() if "=" in ln and not ln.strip().startswith("#")}
        assert keys["tls"] == tls and keys["auth"] == "required", keys
        assert keys["cert"] and keys["key"], keys


def test_check_tolerates_absent_cert_and_key_but_not_half(lk, tmp_path):
    from conftest import BUILD

    def check(cert, key):
        conf = tmp_path / "c.conf"
        conf.write_text(f"spool = {tmp_path}/spool\nlistener x {{\n"
                        f"\tlisten = 127.0.0.1:{free_port()}\n\ttls = required\n"
                        f"\tcert = {cert}\n\tkey = {key}\n}}\n")
        return subprocess.run([str(BUILD / "postern"), "-n", "-f", str(conf)],
                              capture_output=True, text=True)

    # a machine not yet given its certificate: noted, and the rest is checked
    r = check(tmp_path / "none.crt", tmp_path / "none.key")
    assert r.returncode == 0, r.stderr
    assert "do not exist yet" in r.stdout and "warning" not in r.stdout + r.stderr
    # one of the two there: a real error
    r = check(lk.pki / "ec.crt", tmp_path / "none.key")
    assert r.returncode != 0 and "none.key" in r.stderr, r.stdout + r.stderr
