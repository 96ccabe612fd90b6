"""deliver against real peers on loopback, through the real master and
every daemon: STARTTLS with a test CA (verify, wrong name), AUTH to a smart
host, LMTP over TCP and a unix socket, connection reuse, MX preferences
with a dead first MX, null MX, an MX loop, an AAAA-only host, a domain with
no records, and a server that answers 4xx then 2xx."""
import re
import socket

import pytest

from conftest import SLOW, ZONE, free_port, start_unbound, wait_for
from deliver_helpers import (LMTPController, LMTPHandler, Peer, RawSMTP, RecordingHandler,
                             SignedZone, UnixLMTPController, ZONE_EXTRA,
                             accept_login, make_ca, server_tls_context,
                             spki_sha256, unix_socket_dir)

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <bob@example.com>\r\n"
           b"Subject: deliver\r\n"
           b"\r\n"
           b"Hello\r\n"
           b".a line that starts with a dot\r\n")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def dane(tmp_path_factory, ca):
    """A signed zone dane.test: mx.dane.test with a DANE-EE record of the
    test server's key, bad.dane.test with a record that matches nothing;
    both for a TLS peer on the port chosen here."""
    d = tmp_path_factory.mktemp("dane")
    port = free_port()
    z = SignedZone("dane.test")
    z.a("mx.dane.test", "127.0.0.1")
    z.a("bad.dane.test", "127.0.0.1")
    z.tlsa(f"_{port}._tcp.mx.dane.test", 3, 1, 1, spki_sha256(ca[1]))
    z.tlsa(f"_{port}._tcp.bad.dane.test", 3, 1, 1, bytes(32))
    (d / "anchor").write_text(z.ds_anchor())
    return {"port": port, "anchor": d / "anchor", "conf": z.unbound_conf(d / "dane.zone")}


@pytest.fixture(scope="module")
def dns(tmp_path_factory, dane):
    """conftest's zone, ours and the signed one, on our own unbound
    (overrides conftest's)."""
    port, proc = start_unbound(tmp_path_factory.mktemp("unbound-dl"),
                               ZONE + ZONE_EXTRA + dane["conf"])
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def send(postern, rcpts, sender="alice@example.org", data=MESSAGE):
    with postern.smtp() as s:
        assert s.ehlo("client.example.org")[0] == 250
        assert s.mail(sender)[0] == 250
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, text
        code, text = s.data(data)
        assert code == 250, text
    m = re.match(rb"2\.0\.0 Ok: queued as ([0-9A-Za-z]+)$", text)
    assert m, text
    return m.group(1).decode()


def route(pattern, **keys):
    body = "".join(f"\t{k} = {v}\n" for k, v in keys.items())
    return f'route "{pattern}" {{\n{body}}}\n'


def entry(postern, qid):
    for e in postern.queue():
        if e.get("id", e.get("queue_id")) == qid:
            return e
    return None


def wait_log(postern, pattern, timeout=20):
    return wait_for(lambda: re.search(pattern, postern.log_text()), timeout,
                    f"log line {pattern!r}")


def wait_gone(postern, qid, timeout=20):
    wait_for(lambda: entry(postern, qid) is None, timeout, f"{qid} to leave the queue")


# ---------------------------------------------------------------- TLS

@pytest.fixture
def tls_peer(ca):
    _, cert, key = ca
    p = Peer(RecordingHandler(), tls_context=server_tls_context(cert, key),
             require_starttls=True).start()
    yield p
    p.stop()


def test_starttls_verify_succeeds_with_the_test_ca(make_postern, tls_peer, ca):
    postern = make_postern(extra=f"smtp_tls_ca_file = {ca[0]}\n" + route(
        "tls.example", via=f"[mx.example.com]:{tls_peer.port}", tls="verify"))
    qid = send(postern, ["bob@tls.example"])
    msg = tls_peer.wait_messages(1)[0]
    assert msg["tls"] and msg["to"] == ["bob@tls.example"]
    assert msg["data"].endswith(MESSAGE)
    wait_log(postern, rf"{qid}: Verified TLS connection established to "
             rf"mx\.example\.com\[127\.0\.0\.1\]:{tls_peer.port}: TLSv1\.[23]")
    wait_log(postern, rf"{qid}: to=<bob@tls\.example>, relay=mx\.example\.com.*status=sent")
    wait_gone(postern, qid)


def test_starttls_verify_fails_for_a_wrong_name(make_postern, tls_peer, ca):
    # smarthost.example.com is 127.0.0.1 too, but the certificate is not its
    postern = make_postern(extra=f"smtp_tls_ca_file = {ca[0]}\n" + route(
        "wrong.example", via=f"[smarthost.example.com]:{tls_peer.port}", tls="verify"))
    qid = send(postern, ["bob@wrong.example"])
    wait_log(postern, rf"{qid}: to=<bob@wrong\.example>.*status=deferred")
    e = entry(postern, qid)
    assert e is not None and "not verified" in e["last_error"], e
    assert tls_peer.messages == []


def test_opportunistic_tls_is_the_default(make_postern, tls_peer):
    # no CA configured: the session is encrypted, not verified, and goes
    postern = make_postern(extra=route("may.example",
                                       via=f"[mx.example.com]:{tls_peer.port}"))
    qid = send(postern, ["bob@may.example"])
    assert tls_peer.wait_messages(1)[0]["tls"]
    wait_log(postern, rf"{qid}: Untrusted TLS connection established")


def test_tls_encrypt_defers_when_starttls_is_not_offered(make_postern, sink):
    postern = make_postern(extra=route("enc.example", via=f"[127.0.0.1]:{sink.port}",
                                       tls="encrypt"))
    qid = send(postern, ["bob@enc.example"])
    wait_log(postern, rf"{qid}: to=<bob@enc\.example>.*status=deferred.*TLS is required")
    assert sink.messages == []


# ---------------------------------------------------------------- AUTH

def test_auth_plain_to_a_smart_host_over_tls(make_postern, ca, tmp_path):
    _, cert, key = ca
    peer = Peer(RecordingHandler(), tls_context=server_tls_context(cert, key),
                require_starttls=True, auth_required=True,
                authenticator=accept_login({("relayuser", "s3cret pass")})).start()
    try:
        pw = tmp_path / "relay.pw"
        pw.write_text("s3cret pass\n")
        pw.chmod(0o600)
        # the smart host for everything, with its credentials
        postern = make_postern(extra=route("*", via=f"[smarthost.example.com]:{peer.port}",
                                           auth_user="relayuser",
                                           auth_password_file=str(pw), tls="encrypt"))
        qid = send(postern, ["carol@elsewhere.example"])
        msg = peer.wait_messages(1)[0]
        assert msg["tls"] and msg["to"] == ["carol@elsewhere.example"]
        wait_log(postern, rf"{qid}: to=<carol@elsewhere\.example>.*status=sent")
        assert "s3cret" not in postern.conf.read_text()
    finally:
        peer.stop()


def test_wrong_password_defers(make_postern, ca, tmp_path):
    _, cert, key = ca
    peer = Peer(RecordingHandler(), tls_context=server_tls_context(cert, key),
                require_starttls=True, auth_required=True,
                authenticator=accept_login({("relayuser", "right")})).start()
    try:
        pw = tmp_path / "relay.pw"
        pw.write_text("wrong\n")
        pw.chmod(0o600)
        postern = make_postern(extra=route("auth.example",
                                           via=f"[smarthost.example.com]:{peer.port}",
                                           auth_user="relayuser",
                                           auth_password_file=str(pw)))
        qid = send(postern, ["bob@auth.example"])
        wait_log(postern, rf"{qid}: to=<bob@auth\.example>.*status=deferred")
        assert peer.messages == []
    finally:
        peer.stop()


# ---------------------------------------------------------------- LMTP

def test_lmtp_over_tcp_gives_a_result_per_recipient(make_postern):
    h = LMTPHandler()
    h.data_fail["full@inside.example"] = "552 5.2.2 <full@inside.example> over quota"
    peer = Peer(h, cls=LMTPController).start()
    try:
        postern = make_postern(extra=route("inside.example",
                                           via=f"lmtp:127.0.0.1:{peer.port}"))
        qid = send(postern, ["ann@inside.example", "full@inside.example"])
        msg = peer.wait_messages(1)[0]
        assert msg["to"] == ["ann@inside.example"]
        wait_log(postern, rf"{qid}: to=<ann@inside\.example>.*status=sent")
        wait_log(postern, rf"{qid}: to=<full@inside\.example>.*dsn=5\.2\.2, status=bounced")
    finally:
        peer.stop()


def test_lmtp_over_a_unix_socket_outside_the_chroot(make_postern):
    d = unix_socket_dir()
    path = d / "lmtp.sock"
    h = LMTPHandler()
    c = UnixLMTPController(h, unix_socket=str(path))
    c.start()
    try:
        path.chmod(0o666)
        postern = make_postern(extra=route("unix.example", via=f"lmtp:unix:{path}"))
        qid = send(postern, ["dan@unix.example"])
        wait_for(lambda: h.messages, 20, "LMTP delivery over the unix socket")
        assert h.messages[0]["to"] == ["dan@unix.example"]
        wait_log(postern, rf"{qid}: to=<dan@unix\.example>, relay={re.escape(str(path))}"
                 rf".*status=sent")
    finally:
        c.stop()


# ---------------------------------------------------------------- reuse

def test_connection_is_reused_for_the_next_message(make_postern):
    peer = Peer(RecordingHandler()).start()
    try:
        postern = make_postern(extra=route("reuse.example", via=f"[127.0.0.1]:{peer.port}"))
        send(postern, ["a@reuse.example"])
        peer.wait_messages(1)
        send(postern, ["b@reuse.example"])
        msgs = peer.wait_messages(2)
        assert msgs[0]["peer"] == msgs[1]["peer"], "a new connection for the second message"
    finally:
        peer.stop()


# ---------------------------------------------------------------- MX cases

def test_dead_first_mx_falls_back_to_the_next_preference(postern, sink):
    qid = send(postern, ["bob@pref.dl.test"])
    msg = sink.wait_messages(1)[0]
    assert msg["to"] == ["bob@pref.dl.test"]
    wait_log(postern, rf"{qid}: to=<bob@pref\.dl\.test>, relay=good\.dl\.test"
             rf"\[127\.0\.0\.1\]:{sink.port}.*status=sent")


@pytest.mark.parametrize("domain,dsn", [
    ("nullmx.dl.test", "5.1.10"),
    ("loop.dl.test", "5.4.6"),
    ("nxdomain.dl.test", "5.1.2"),
])
def test_undeliverable_domains_bounce_at_once(postern, sink, domain, dsn):
    qid = send(postern, [f"bob@{domain}"])
    wait_log(postern, rf"{qid}: to=<bob@{re.escape(domain)}>.*dsn={re.escape(dsn)}, "
             rf"status=bounced")
    assert all(f"bob@{domain}" not in m["to"] for m in sink.messages)


def test_aaaa_only_host_is_reached_over_ipv6(make_postern, sink):
    try:
        peer = Peer(RecordingHandler(), host="::1", port=sink.port).start()
    except OSError as e:
        pytest.skip(f"no IPv6 loopback: {e}")
    try:
        postern = make_postern()
        qid = send(postern, ["bob@v6only.dl.test"])
        assert peer.wait_messages(1)[0]["to"] == ["bob@v6only.dl.test"]
        wait_log(postern, rf"{qid}: to=<bob@v6only\.dl\.test>, relay=v6host\.dl\.test"
                 rf"\[::1\]:{sink.port}.*status=sent")
    finally:
        peer.stop()


def test_4xx_then_2xx_is_deferred_then_delivered_on_flush(make_postern):
    peer = Peer(RecordingHandler(data_replies=["451 4.3.0 try again later"])).start()
    try:
        postern = make_postern(extra=route("retry.example", via=f"[127.0.0.1]:{peer.port}"))
        qid = send(postern, ["bob@retry.example"])
        wait_log(postern, rf"{qid}: to=<bob@retry\.example>.*dsn=4\.3\.0, status=deferred")
        e = entry(postern, qid)
        assert e is not None and "try again later" in e["last_error"], e
        postern.ctl("flush", qid)
        assert peer.wait_messages(1)[0]["to"] == ["bob@retry.example"]
        wait_gone(postern, qid)
    finally:
        peer.stop()


# ---------------------------------------------------------------- the client's rules

@pytest.fixture
def raw():
    made = []

    def factory(**kw):
        r = RawSMTP(**kw)
        made.append(r)
        return r
    yield factory
    for r in made:
        r.stop()


def send_raw(postern, mail_cmd, rcpt_cmds, data):
    """One message with parameters smtplib would not let us set freely."""
    with postern.smtp() as s:
        s.command_encoding = "utf-8"
        assert s.ehlo("client.example.org")[0] == 250
        code, text = s.docmd(mail_cmd)
        assert code == 250, text
        for r in rcpt_cmds:
            code, text = s.docmd(r)
            assert code == 250, text
        code, text = s.data(data)
        assert code == 250, text
    return re.match(rb"2\.0\.0 Ok: queued as ([0-9A-Za-z]+)$", text).group(1).decode()


def test_8bit_message_to_a_server_without_8bitmime_bounces(make_postern, raw):
    srv = raw(caps=("PIPELINING",))
    postern = make_postern(extra=route("seven.example", via=f"[127.0.0.1]:{srv.port}"))
    qid = send_raw(postern, "MAIL FROM:<alice@example.org> BODY=8BITMIME",
                   ["RCPT TO:<bob@seven.example>"],
                   "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n".encode())
    wait_log(postern, rf"{qid}: to=<bob@seven\.example>.*dsn=5\.6\.3, status=bounced")
    assert srv.messages == []


def test_8bit_message_goes_with_body_8bitmime_when_offered(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME"))
    postern = make_postern(extra=route("eight.example", via=f"[127.0.0.1]:{srv.port}"))
    send_raw(postern, "MAIL FROM:<alice@example.org> BODY=8BITMIME",
             ["RCPT TO:<bob@eight.example>"], "Subject: x\r\n\r\n\u00e9t\u00e9\r\n".encode())
    wait_for(lambda: srv.messages, 20, "the message")
    assert "BODY=8BITMIME" in srv.messages[0]["mail"]
    assert "\u00e9t\u00e9".encode() in srv.messages[0]["data"]


def test_dsn_parameters_are_passed_on_when_offered(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME", "DSN"))
    postern = make_postern(extra=route("dsn.example", via=f"[127.0.0.1]:{srv.port}"))
    send_raw(postern, "MAIL FROM:<alice@example.org> RET=HDRS ENVID=env+2Bid1",
             ["RCPT TO:<bob@dsn.example> NOTIFY=SUCCESS,FAILURE "
              "ORCPT=rfc822;bob@dsn.example"], MESSAGE)
    wait_for(lambda: srv.messages, 20, "the message")
    m = srv.messages[0]
    assert "RET=HDRS" in m["mail"] and "ENVID=env+2Bid1" in m["mail"], m
    assert "NOTIFY=SUCCESS,FAILURE" in m["rcpts"][0], m
    assert "ORCPT=rfc822;bob@dsn.example" in m["rcpts"][0], m


def test_no_dsn_parameters_to_a_server_without_dsn(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME"))
    postern = make_postern(extra=route("nodsn.example", via=f"[127.0.0.1]:{srv.port}"))
    qid = send_raw(postern, "MAIL FROM:<alice@example.org> RET=HDRS",
                   ["RCPT TO:<bob@nodsn.example> NOTIFY=SUCCESS"], MESSAGE)
    wait_for(lambda: srv.messages, 20, "the message")
    m = srv.messages[0]
    assert "RET=" not in m["mail"] and "NOTIFY=" not in m["rcpts"][0], m
    wait_log(postern, rf"{qid}: to=<bob@nodsn\.example>.*status=sent")


def test_bytes_injected_after_starttls_are_discarded(make_postern, raw, ca):
    _, cert, key = ca
    # a man in the middle's reply to the EHLO that will follow the handshake
    srv = raw(caps=("PIPELINING", "8BITMIME"), tls_context=server_tls_context(cert, key),
              inject=b"250-evil.test\r\n250 AUTH PLAIN\r\n")
    postern = make_postern(extra=route("inject.example", via=f"[127.0.0.1]:{srv.port}"))
    qid = send(postern, ["bob@inject.example"])
    wait_for(lambda: srv.messages, 20, "the message")
    assert srv.messages[0]["tls"]
    wait_log(postern, rf"{qid}: .*sent \d+ octet\(s\) after 220 to STARTTLS; discarded")
    wait_log(postern, rf"{qid}: to=<bob@inject\.example>.*status=sent")
    # the EHLO after the handshake was sent and answered for real
    assert sum(1 for l in srv.lines if l.startswith("EHLO")) == 2


def test_a_stalled_server_times_out_and_blocks_nobody(make_postern, raw, sink):
    srv = raw(greet=False)
    postern = make_postern(extra=route("stall.example", via=f"[127.0.0.1]:{srv.port}"),
                           start=False)
    # conftest sets 30s; a key may be set once only
    postern.conf.write_text(postern.conf.read_text().replace(
        "smtp_timeout = 30s", "smtp_timeout = 3s"))
    postern.start()
    stalled = send(postern, ["bob@stall.example"])
    wait_for(lambda: srv.connections, 10, "the connection to the stalled server")
    other = send(postern, ["bob@example.com"])
    sink.wait_messages(1, timeout=5)
    wait_log(postern, rf"{other}: to=<bob@example\.com>.*status=sent", timeout=5)
    wait_log(postern, rf"{stalled}: to=<bob@stall\.example>.*status=deferred.*"
             rf"timed out while waiting for the greeting", timeout=20)


def test_utf8_address_to_a_server_without_smtputf8_bounces(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME"))
    postern = make_postern(extra=route("utf.example", via=f"[127.0.0.1]:{srv.port}"))
    with postern.smtp() as s:
        assert s.ehlo("client.example.org")[0] == 250
        if "smtputf8" not in s.esmtp_features:
            pytest.skip("smtpd does not offer SMTPUTF8 yet")
    qid = send_raw(postern, "MAIL FROM:<alice@example.org> SMTPUTF8",
                   ["RCPT TO:<j\u00f6rg@utf.example>"], MESSAGE)
    wait_log(postern, rf"{qid}: to=<j\u00f6rg@utf\.example>.*dsn=5\.6\.7, status=bounced")
    assert srv.messages == []


def test_smtputf8_message_with_ascii_addresses_goes_without_it(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME"))
    postern = make_postern(extra=route("ascii.example", via=f"[127.0.0.1]:{srv.port}"))
    with postern.smtp() as s:
        assert s.ehlo("client.example.org")[0] == 250
        if "smtputf8" not in s.esmtp_features:
            pytest.skip("smtpd does not offer SMTPUTF8 yet")
    send_raw(postern, "MAIL FROM:<alice@example.org> SMTPUTF8",
             ["RCPT TO:<bob@ascii.example>"], MESSAGE)
    wait_for(lambda: srv.messages, 20, "the message")
    assert "SMTPUTF8" not in srv.messages[0]["mail"]


# ---------------------------------------------------------------- resolver cache

def test_resolver_answers_from_its_cache_when_the_server_is_gone(tmp_path, sink):
    """Positive and negative answers outlive the DNS server for their TTL."""
    from conftest import Postern
    (tmp_path / "dns").mkdir()
    port, proc = start_unbound(tmp_path / "dns", ZONE + ZONE_EXTRA)
    postern = Postern(tmp_path / "p", port, sink.port).start()
    try:
        send(postern, ["a@pref.dl.test"])
        sink.wait_messages(1)
        first = send(postern, ["a@nxdomain.dl.test"])
        wait_log(postern, rf"{first}: to=<a@nxdomain\.dl\.test>.*dsn=5\.1\.2, status=bounced")
        proc.terminate()
        proc.wait(10)
        send(postern, ["b@pref.dl.test"])
        wait_for(lambda: len(sink.messages) >= 2, 20, "the second message, from cached DNS")
        again = send(postern, ["b@nxdomain.dl.test"])
        wait_log(postern, rf"{again}: to=<b@nxdomain\.dl\.test>.*dsn=5\.1\.2, status=bounced")
    finally:
        postern.stop()
        if proc.poll() is None:
            proc.terminate()


# ---------------------------------------------------------------- DANE

@pytest.fixture
def dane_peer(ca, dane):
    _, cert, key = ca
    p = Peer(RecordingHandler(), port=dane["port"],
             tls_context=server_tls_context(cert, key), require_starttls=True).start()
    yield p
    p.stop()


def test_dane_ee_record_verifies_the_server(make_postern, dane, dane_peer):
    postern = make_postern(extra=f"dns_trust_anchor_file = {dane['anchor']}\n" + route(
        "dane.example", via=f"[mx.dane.test]:{dane['port']}", tls="dane"))
    qid = send(postern, ["bob@dane.example"])
    msg = dane_peer.wait_messages(1)[0]
    assert msg["tls"] and msg["to"] == ["bob@dane.example"]
    wait_log(postern, rf"{qid}: Verified TLS connection established to mx\.dane\.test")
    wait_log(postern, rf"{qid}: to=<bob@dane\.example>.*status=sent")


def test_dane_record_that_matches_nothing_defers(make_postern, dane, dane_peer):
    postern = make_postern(extra=f"dns_trust_anchor_file = {dane['anchor']}\n" + route(
        "badane.example", via=f"[bad.dane.test]:{dane['port']}", tls="dane"))
    qid = send(postern, ["bob@badane.example"])
    wait_log(postern, rf"{qid}: to=<bob@badane\.example>.*status=deferred.*"
             rf"matches no TLSA record")
    assert dane_peer.messages == []


def test_dane_without_signed_tlsa_is_opportunistic(make_postern, tls_peer):
    # example.com is not signed: no TLSA to trust, so TLS as with "may"
    postern = make_postern(extra=route("unsigned.example",
                                       via=f"[mx.example.com]:{tls_peer.port}", tls="dane"))
    qid = send(postern, ["bob@unsigned.example"])
    assert tls_peer.wait_messages(1)[0]["tls"]
    wait_log(postern, rf"{qid}: to=<bob@unsigned\.example>.*status=sent")


def test_source_address_and_helo_name_are_ours_to_choose(make_postern):
    peer = Peer(RecordingHandler()).start()
    try:
        postern = make_postern(extra="smtp_bind_address = 127.0.0.3\n"
                               "helo_name = out.test.invalid\n"
                               + route("src.example", via=f"[127.0.0.1]:{peer.port}"))
        send(postern, ["bob@src.example"])
        msg = peer.wait_messages(1)[0]
        assert msg["peer"][0] == "127.0.0.3"
        assert msg["helo"] == "out.test.invalid"
    finally:
        peer.stop()


def test_failed_handshake_under_may_is_retried_in_plain_text(make_postern, raw, ca):
    _, cert, key = ca
    srv = raw(caps=("PIPELINING", "8BITMIME"), tls_context=server_tls_context(cert, key),
              break_tls=True)
    postern = make_postern(extra=route("broken.example", via=f"[127.0.0.1]:{srv.port}"))
    qid = send(postern, ["bob@broken.example"])
    wait_for(lambda: srv.messages, 20, "the message, in plain text")
    assert not srv.messages[0]["tls"]
    wait_log(postern, rf"{qid}: .*TLS failed, trying again without STARTTLS")
    wait_log(postern, rf"{qid}: to=<bob@broken\.example>.*status=sent")
    assert srv.connections == 2


def bdat_submit(postern, rcpt, content):
    """A BINARYMIME message to postern over BDAT, on a raw socket."""
    with socket.create_connection(("127.0.0.1", postern.port), timeout=30 * SLOW) as s:
        f = s.makefile("rb")

        def reply():
            lines = []
            while True:
                line = f.readline()
                lines.append(line)
                if line[3:4] != b"-":
                    return b"".join(lines)
        assert reply().startswith(b"220")
        s.sendall(b"EHLO client.example.org\r\n")
        ehlo = reply()
        if b"CHUNKING" not in ehlo or b"BINARYMIME" not in ehlo:
            pytest.skip("smtpd does not offer CHUNKING and BINARYMIME")
        s.sendall(b"MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\n")
        assert reply().startswith(b"250")
        s.sendall(f"RCPT TO:<{rcpt}>\r\n".encode())
        assert reply().startswith(b"250")
        s.sendall(b"BDAT %d LAST\r\n" % len(content) + content)
        r = reply()
        assert r.startswith(b"250"), r
        s.sendall(b"QUIT\r\n")
        return re.search(rb"queued as ([0-9A-Za-z]+)", r).group(1).decode()


BINARY = (b"From: alice@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: application/octet-stream\r\n"
          b"Content-Transfer-Encoding: binary\r\n\r\n"
          + bytes(range(256)) + b"\r\n.\r\nbare\nlf\rcr\x00end")


def test_binary_message_goes_by_bdat_byte_exact(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME", "CHUNKING", "BINARYMIME"))
    postern = make_postern(extra=route("bin.example", via=f"[127.0.0.1]:{srv.port}"))
    qid = bdat_submit(postern, "bob@bin.example", BINARY)
    wait_for(lambda: srv.messages, 20, "the binary message")
    m = srv.messages[0]
    assert "BODY=BINARYMIME" in m["mail"], m["mail"]
    assert m["data"].endswith(BINARY)
    wait_log(postern, rf"{qid}: to=<bob@bin\.example>.*status=sent")


def test_binary_message_to_a_server_without_chunking_bounces(make_postern, raw):
    srv = raw(caps=("PIPELINING", "8BITMIME"))
    postern = make_postern(extra=route("nobin.example", via=f"[127.0.0.1]:{srv.port}"))
    qid = bdat_submit(postern, "bob@nobin.example", BINARY)
    wait_log(postern, rf"{qid}: to=<bob@nobin\.example>.*dsn=5\.6\.3, status=bounced")
    assert srv.messages == []
