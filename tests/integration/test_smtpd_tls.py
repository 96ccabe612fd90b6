"""smtpd's TLS and AUTH (issue 4): STARTTLS and implicit TLS with the
private key held by the master, the injection rule, tls = required; AUTH
PLAIN and LOGIN checked by the master with a real PAM service."""
import base64
import smtplib
import socket
import ssl
import subprocess

import pytest

from conftest import SLOW, Postern, Sink, free_port, wait_for
from smtpd_helpers import Raw, ehlo_lines


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d):
    """A test CA and two server certificates it signed (EC and RSA)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"),
            "-days", "30", "-subj", "/CN=postern test CA")
    for name, alg in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                      ("rsa", ["-newkey", "rsa:2048"])):
        openssl("req", *alg, "-nodes", "-keyout", str(d / f"{name}.key"),
                "-out", str(d / f"{name}.csr"), "-subj", "/CN=mx.test.invalid")
        (d / "ext.cnf").write_text("subjectAltName = DNS:mx.test.invalid, IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"),
                "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "30",
                "-extfile", str(d / "ext.cnf"), "-out", str(d / f"{name}.crt"))
        (d / f"{name}.key").chmod(0o600)
    return d


@pytest.fixture(scope="module")
def tls_suite(dns, tmp_path_factory):
    d = make_ca(tmp_path_factory.mktemp("pki"))
    listeners = {
        "ec": f"tls = may\n\tcert = {d}/ec.crt\n\tkey = {d}/ec.key",
        "rsa": f"tls = may\n\tcert = {d}/rsa.crt\n\tkey = {d}/rsa.key",
        "req": f"tls = required\n\tcert = {d}/ec.crt\n\tkey = {d}/ec.key",
        "imp": f"tls = implicit\n\tcert = {d}/rsa.crt\n\tkey = {d}/rsa.key",
        "sub": f"tls = required\n\tcert = {d}/ec.crt\n\tkey = {d}/ec.key\n\tauth = required",
        "authtls": f"tls = may\n\tcert = {d}/ec.crt\n\tkey = {d}/ec.key\n\tauth = may",
        "plain": "auth = may\n\tauth_plaintext = yes",
    }
    # a real PAM service: pam_pwdfile with a SHA-512 crypt hash
    pam = tmp_path_factory.mktemp("pam")
    h = subprocess.run(["openssl", "passwd", "-6", "correct horse"], check=True,
                       capture_output=True, text=True).stdout.strip()
    (pam / "passwd").write_text(f"alice:{h}\n")
    (pam / "postern-test").write_text(
        f"auth required pam_pwdfile.so pwdfile={pam}/passwd nodelay\n"
        "account required pam_permit.so\n")
    sink = Sink(free_port())
    sink.start()
    ports = {name: free_port() for name in listeners}
    extra = "".join(f"listener {name} {{\n\tlisten = 127.0.0.1:{ports[name]}\n"
                    f"\t{text}\n}}\n" for name, text in listeners.items())
    extra = f"pam_confdir = {pam}\npam_service = postern-test\n" + extra
    p = Postern(tmp_path_factory.mktemp("smtpd-tls"), dns, sink.port, extra=extra)
    p.ports = ports
    p.sink = sink
    p.pki = d
    p.start()
    try:
        yield p
    finally:
        p.stop()
        sink.stop()


def client_ctx(p, **kw):
    ctx = ssl.create_default_context(cafile=str(p.pki / "ca.crt"))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def send_one(p, port, marker, ctx, implicit=False):
    cls = smtplib.SMTP_SSL if implicit else smtplib.SMTP
    kw = {"context": ctx} if implicit else {}
    with cls("127.0.0.1", port, timeout=30 * SLOW, **kw) as c:
        if not implicit:
            c.ehlo("client.example")
            assert c.has_extn("starttls")
            c.starttls(context=ctx)
        c.ehlo("client.example")
        assert not c.has_extn("starttls")
        c.sendmail("a@example.org", ["bob@example.com"],
                   f"Subject: t\r\nX-Marker: {marker}\r\n\r\nbody\r\n")


def received_of(p, marker):
    msgs = wait_for(lambda: [m for m in p.sink.messages
                             if f"X-Marker: {marker}".encode() in m["data"]],
                    30 * SLOW, f"message {marker} at the sink")
    return msgs[0]["data"].split(b"\r\n\r\n", 1)[0].decode()


def test_starttls_ec_key_signed_by_master_esmtps_in_received(tls_suite):
    p = tls_suite
    send_one(p, p.ports["ec"], "ec13", client_ctx(p))
    hdr = received_of(p, "ec13")
    assert "with ESMTPS id" in hdr, hdr
    assert "(using TLSv1.3 with cipher TLS_" in hdr, hdr
    assert "TLS connection established from unknown[127.0.0.1]: TLSv1.3" in p.log_text()
    assert "client=unknown[127.0.0.1], tls=TLSv1.3 with cipher TLS_" in p.log_text()


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_starttls_rsa_key_pss_and_pkcs1(tls_suite, version):
    p = tls_suite
    v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx = client_ctx(p, minimum_version=v, maximum_version=v)
    send_one(p, p.ports["rsa"], f"rsa{version}", ctx)
    hdr = received_of(p, f"rsa{version}")
    assert f"(using TLSv{version} with cipher " in hdr, hdr


def test_tls12_rsa_pkcs1_signature_with_s_client(tls_suite):
    p = tls_suite
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{p.ports['rsa']}",
                        "-starttls", "smtp", "-tls1_2", "-sigalgs", "RSA+SHA256",
                        "-CAfile", str(p.pki / "ca.crt"), "-verify_return_error",
                        "-servername", "mx.test.invalid", "-ign_eof"],
                       input=b"QUIT\r\n", capture_output=True, timeout=30 * SLOW)
    out = r.stdout.decode(errors="replace")
    assert "Verify return code: 0 (ok)" in out, out + r.stderr.decode(errors="replace")
    assert "ECDHE-RSA" in out, out
    assert "221 2.0.0 Bye" in out, out


def test_implicit_tls_listener(tls_suite):
    p = tls_suite
    send_one(p, p.ports["imp"], "implicit", client_ctx(p), implicit=True)
    hdr = received_of(p, "implicit")
    assert "with ESMTPS id" in hdr, hdr


def test_starttls_injection_rset_gets_no_reply(tls_suite):
    p = tls_suite
    c = Raw(p.ports["ec"])
    c.cmd(b"EHLO client.example\r\n")
    c.send(b"STARTTLS\r\nRSET\r\n")
    assert c.reply().startswith(b"220 2.0.0")
    assert c.buf == b""
    tls = client_ctx(p).wrap_socket(c.s, server_hostname="mx.test.invalid")
    # the first thing said inside TLS is our NOOP's answer, not RSET's
    tls.sendall(b"NOOP\r\n")
    data = b""
    while not data.endswith(b"\r\n"):
        data += tls.recv(4096)
    assert data == b"250 2.0.0 Ok\r\n"
    # the session was reset: EHLO again, without STARTTLS on offer
    tls.sendall(b"MAIL FROM:<a@example.org>\r\n")
    data = b""
    while not data.endswith(b"\r\n"):
        data += tls.recv(4096)
    assert data.startswith(b"503 "), data
    tls.sendall(b"EHLO client.example\r\n")
    data = b""
    while not data.endswith(b"250 ENHANCEDSTATUSCODES\r\n"):
        data += tls.recv(4096)
    assert b"STARTTLS" not in data
    tls.close()
    wait_for(lambda: "discarding 6 bytes sent with STARTTLS" in p.log_text(),
             10 * SLOW, "the discard in the log")


def test_tls_required_refuses_mail_before_starttls(tls_suite):
    p = tls_suite
    c = Raw(p.ports["req"])
    assert "STARTTLS" in ehlo_lines(c.cmd(b"EHLO client.example\r\n"))
    assert c.cmd(b"MAIL FROM:<a@example.org>\r\n") == \
        b"530 5.7.0 Must issue a STARTTLS command first\r\n"
    c.close()
    send_one(p, p.ports["req"], "required", client_ctx(p))
    assert "with ESMTPS id" in received_of(p, "required")


def test_no_tls_listener_does_not_offer_starttls(tls_suite):
    p = tls_suite
    c = Raw(p.port)
    assert "STARTTLS" not in ehlo_lines(c.cmd(b"EHLO client.example\r\n"))
    assert c.cmd(b"STARTTLS\r\n").startswith(b"502 5.5.1")
    c.close()


def test_failed_handshake_is_logged_and_others_go_on(tls_suite):
    p = tls_suite
    # garbage instead of a ClientHello on the implicit listener
    with socket.create_connection(("127.0.0.1", p.ports["imp"]), timeout=10 * SLOW) as s:
        s.sendall(b"EHLO plain.example\r\n" * 10)
        s.settimeout(10 * SLOW)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    wait_for(lambda: "SSL_accept error from unknown[127.0.0.1]" in p.log_text(),
             10 * SLOW, "the handshake failure in the log")
    # a client that stalls mid-handshake does not hold up the others
    stall = socket.create_connection(("127.0.0.1", p.ports["imp"]), timeout=10 * SLOW)
    try:
        send_one(p, p.ports["imp"], "after-stall", client_ctx(p), implicit=True)
        received_of(p, "after-stall")
    finally:
        stall.close()


def test_swaks_starttls(tls_suite):
    p = tls_suite
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(p.ports["ec"]),
                        "--tls", "--from", "a@example.org", "--to", "bob@example.com",
                        "--header", "X-Marker: swaks", "--timeout", str(int(30 * SLOW))],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout, r.stdout
    assert "with ESMTPS id" in received_of(p, "swaks")


# ---- AUTH ----

UNTRUSTED = "127.0.0.2"     # trusted_networks is 127.0.0.1/32 only


def test_auth_plain_over_starttls_lets_an_untrusted_client_relay(tls_suite):
    p = tls_suite
    with smtplib.SMTP("127.0.0.1", p.ports["authtls"], source_address=(UNTRUSTED, 0),
                      timeout=30 * SLOW) as c:
        c.ehlo("client.example")
        assert not c.has_extn("auth")           # never before TLS
        assert c.docmd("AUTH", "PLAIN AGFsaWNlAHg=")[0] == 538
        c.starttls(context=client_ctx(p))
        c.ehlo("client.example")
        assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        # before AUTH the relay is closed to this address (and our own
        # domains are no sender for it: reject_own_domain_sender)
        c.mail("a@outside.example")
        assert c.rcpt("bob@example.com")[0] == 554
        c.rset()
        c.user, c.password = "alice", "correct horse"
        assert c.auth("PLAIN", c.auth_plain)[0] == 235
        c.sendmail("a@example.org", ["bob@example.com"],
                   "Subject: t\r\nX-Marker: authplain\r\n\r\nbody\r\n")
    hdr = received_of(p, "authplain")
    assert "with ESMTPSA id" in hdr, hdr
    assert "(Authenticated sender: alice)" in hdr, hdr
    log = p.log_text()
    assert "sasl_method=PLAIN, sasl_username=alice" in log
    assert "correct horse" not in log


def test_auth_login_wrong_password_is_535_and_not_logged(tls_suite):
    p = tls_suite
    with smtplib.SMTP("127.0.0.1", p.ports["plain"], source_address=(UNTRUSTED, 0),
                      timeout=30 * SLOW) as c:
        c.ehlo("client.example")
        assert "LOGIN" in c.esmtp_features["auth"]      # auth_plaintext = yes
        c.user, c.password = "alice", "battery staple"
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.auth("LOGIN", c.auth_login, initial_response_ok=False)
        assert e.value.smtp_code == 535
        c.user, c.password = "alice", "correct horse"
        assert c.auth("LOGIN", c.auth_login, initial_response_ok=False)[0] == 235
        c.sendmail("a@example.org", ["bob@example.com"],
                   "Subject: t\r\nX-Marker: authlogin\r\n\r\nbody\r\n")
    hdr = received_of(p, "authlogin")
    assert "with ESMTPA id" in hdr, hdr
    log = p.log_text()
    assert "SASL LOGIN authentication failed for alice" in log
    assert "battery staple" not in log and "correct horse" not in log


def test_auth_required_listener_refuses_mail_before_auth(tls_suite):
    p = tls_suite
    c = Raw(p.ports["sub"])
    assert c.cmd(b"EHLO client.example\r\n").startswith(b"250")
    assert c.cmd(b"MAIL FROM:<a@example.org>\r\n").startswith(b"530 5.7.0 Must issue a STARTTLS")
    c.close()
    with smtplib.SMTP("127.0.0.1", p.ports["sub"], timeout=30 * SLOW) as s:
        s.starttls(context=client_ctx(p))
        s.ehlo("client.example")
        code, msg = s.docmd("MAIL", "FROM:<a@example.org>")
        assert (code, msg) == (530, b"5.7.0 Authentication required")
        # an aborted exchange, then a bad response
        assert s.docmd("AUTH", "PLAIN")[0] == 334
        assert s.docmd("*")[0] == 501
        assert s.docmd("AUTH", "PLAIN !!!!")[0] == 501
        assert s.docmd("AUTH", "CRAM-MD5")[0] == 504
        ok = base64.b64encode(b"\0alice\0correct horse").decode()
        assert s.docmd("AUTH", "PLAIN " + ok)[0] == 235
        assert s.docmd("AUTH", "PLAIN " + ok)[0] == 503
        assert s.docmd("MAIL", "FROM:<a@example.org>")[0] == 250


def test_swaks_tls_and_auth(tls_suite):
    p = tls_suite
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(p.ports["sub"]),
                        "--local-interface", UNTRUSTED, "--tls",
                        "--auth", "LOGIN", "--auth-user", "alice",
                        "--auth-password", "correct horse",
                        "--from", "a@example.org", "--to", "carol@example.com",
                        "--header", "X-Marker: swaksauth", "--timeout", str(int(30 * SLOW))],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication successful" in r.stdout, r.stdout
    assert "with ESMTPSA id" in received_of(p, "swaksauth")
