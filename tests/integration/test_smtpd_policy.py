"""smtpd's relay, sender and recipient policy (issue 4): recipient validation
at RCPT through the master, the open-relay vectors from an untrusted
address, never-connect and never-relay lists, the own-domain sender rule,
sender filters (refuse, discard), null senders with several recipients,
sender login match, the AUTH_LIMITED answer, pause incoming, policy tests
and the log level. 127.0.0.1 is trusted (and listed in
never_relay_networks here); 127.0.0.2 and up are the Internet."""
import base64
import re
import socket
import subprocess

import pytest

from conftest import SLOW, Postern, Sink, free_port, wait_for
import postern_ipc as ipc
from smtpd_helpers import Raw, ehlo_lines

UNTRUSTED = "127.0.0.2"


@pytest.fixture(scope="module")
def pol(dns, tmp_path_factory):
    # a real PAM service, as in test_smtpd_tls.py: pam_pwdfile
    pam = tmp_path_factory.mktemp("pam")
    h = subprocess.run(["openssl", "passwd", "-6", "correct horse"], check=True,
                       capture_output=True, text=True).stdout.strip()
    (pam / "passwd").write_text(f"alice:{h}\nbob:{h}\n")
    (pam / "postern-test").write_text(
        f"auth required pam_pwdfile.so pwdfile={pam}/passwd nodelay\n"
        "account required pam_permit.so\n")
    aliases = tmp_path_factory.mktemp("aliases") / "aliases"
    aliases.write_text("info: nobody\n")
    virtual = aliases.parent / "virtual"
    virtual.write_text("sales@virt.example  nobody\n")
    listeners = {
        "sub": "auth = may\n\tauth_plaintext = yes\n\tsender_login_match = yes",
        "nocheck": "recipient_check = no",
    }
    ports = {name: free_port() for name in listeners}
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
        s6.bind(("::1", 0))
        ports["v6"] = s6.getsockname()[1]
    extra = "".join(f"listener {name} {{\n\tlisten = 127.0.0.1:{ports[name]}\n"
                    f"\t{text}\n}}\n" for name, text in listeners.items())
    extra += f"listener v6 {{\n\tlisten = [::1]:{ports['v6']}\n}}\n"
    extra = (f"pam_confdir = {pam}\npam_service = postern-test\n"
             f"aliases = {aliases}\n"
             f"virtual_maps = {virtual}\n"
             "auth_max_failures = 3\n"
             "never_connect_networks = ::1/128 127.0.0.9/32\n"
             "never_relay_networks = 127.0.0.1/32\n"
             "sender_reject = @spam.example blocked@bad.example\n"
             "sender_discard = quiet.example\n"
             "reject_null_sender_multi_rcpt = yes\n" + extra)
    sink = Sink(free_port())
    sink.start()
    p = Postern(tmp_path_factory.mktemp("smtpd-policy"), dns, sink.port, extra=extra)
    p.ports = ports
    p.sink = sink
    p.start()
    try:
        yield p
    finally:
        p.stop()
        sink.stop()


def session(port, source=UNTRUSTED):
    c = Raw(port, source=source)
    assert c.cmd(b"EHLO client.example\r\n").startswith(b"250")
    return c


def auth_plain(c, user, password="correct horse"):
    tok = base64.b64encode(f"\0{user}\0{password}".encode())
    return c.cmd(b"AUTH PLAIN " + tok + b"\r\n")


# ---- recipient validation at RCPT ----

def test_unknown_local_recipient_is_550_at_rcpt_pipelined(pol):
    c = session(pol.port)
    assert c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"250")
    # one write: the replies come back in order, each after its check
    c.send(b"RCPT TO:<nosuchuser@example.org>\r\nRCPT TO:<nobody@example.org>\r\n"
           b"RCPT TO:<info@EXAMPLE.ORG>\r\nRCPT TO:<someone@example.net>\r\n"
           b"RCPT TO:<postmaster@example.org>\r\nNOOP\r\n")
    r = c.replies(6)
    assert r[0] == (b"550 5.1.1 <nosuchuser@example.org>: Recipient address "
                    b"rejected: user unknown\r\n"), r
    assert r[1:] == [b"250 2.1.5 Ok\r\n"] * 4 + [b"250 2.0.0 Ok\r\n"], r
    c.cmd(b"QUIT\r\n")
    c.close()
    assert "Recipient address rejected: user unknown" in pol.log_text()


def test_virtual_map_domains_are_ours_and_checked(pol):
    # not in local_domains: the domains of virtual_maps are ours all the same
    c = session(pol.port)
    assert c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<sales@VIRT.example>\r\n").startswith(b"250 2.1.5")
    assert c.cmd(b"RCPT TO:<nobody@virt.example>\r\n").startswith(b"550 5.1.1")
    assert c.cmd(b"RCPT TO:<sales@other.example>\r\n").startswith(b"554 5.7.1")
    c.cmd(b"QUIT\r\n")
    c.close()
    # and an outsider may not claim one as its sender
    c = session(pol.port)
    assert c.cmd(b"MAIL FROM:<boss@virt.example>\r\n").startswith(b"550 5.7.1")
    c.close()


def test_rset_pipelined_behind_a_waiting_rcpt_check_resets_after_it(pol):
    # the check's answer lands on the RCPT that asked, before the RSET:
    # nothing of it survives into the next transaction
    c = session(pol.port)
    c.send(b"MAIL FROM:<x@outside.example>\r\nRCPT TO:<nobody@example.org>\r\n"
           b"RSET\r\nRCPT TO:<info@example.org>\r\nMAIL FROM:<y@outside.example>\r\n"
           b"DATA\r\n")
    r = c.replies(6)
    assert [x[:3] for x in r] == [b"250", b"250", b"250", b"503", b"250", b"503"], r
    c.close()


def test_clients_gone_while_rcpt_checks_wait_leave_smtpd_serving(pol):
    pid = pol.pid_of("postern-smtpd")
    for _ in range(10):
        c = session(pol.port)
        c.send(b"MAIL FROM:<x@outside.example>\r\nRCPT TO:<nobody@example.org>\r\n"
               b"RCPT TO:<nosuchuser@example.org>\r\n")
        c.close()
    c = session(pol.port)
    assert c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<nobody@example.org>\r\n") == b"250 2.1.5 Ok\r\n"
    c.close()
    assert pol.pid_of("postern-smtpd") == pid


def test_recipient_check_is_per_listener(pol):
    c = session(pol.ports["nocheck"])
    assert c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<nosuchuser@example.org>\r\n") == b"250 2.1.5 Ok\r\n"
    c.close()


# ---- the open-relay vectors, from an untrusted address ----

RELAY_DENIED = b"554 5.7.1 <%s>: Relay access denied\r\n"
ROUTING = b"553 5.1.3 <%s>: Recipient address rejected: no routing through this host\r\n"
VECTORS = [
    (b"user%foreign.example@example.org", ROUTING % b"user%foreign.example@example.org"),
    (b"foreign.example!user@example.org", ROUTING % b"foreign.example!user@example.org"),
    (b'"user@foreign.example"@example.org',
     ROUTING % b'"user@foreign.example"@example.org'),
    (b"user%foreign.example@example.net", ROUTING % b"user%foreign.example@example.net"),
    # a source route is dropped (RFC 5321 C): what is left is foreign
    (b"@example.org:user@foreign.example", RELAY_DENIED % b"user@foreign.example"),
    (b"user@foreign.example@example.org", b"501 5.1.3 Bad recipient address syntax\r\n"),
    (b"user@[127.0.0.1]", RELAY_DENIED % b"user@[127.0.0.1]"),
    (b"user@[IPv6:::1]", RELAY_DENIED % b"user@[IPv6:::1]"),
    (b"nobody@example.org.", b"501 5.1.3 Bad recipient address syntax\r\n"),
    (b"user@example.org.foreign.example", RELAY_DENIED % b"user@example.org.foreign.example"),
    (b"user@foreign.example", RELAY_DENIED % b"user@foreign.example"),
    # case: accepted only because it is ours, and then validated
    (b"nobody@EXAMPLE.ORG", b"250 2.1.5 Ok\r\n"),
    (b"NoSuchUser@Example.Org",
     b"550 5.1.1 <NoSuchUser@Example.Org>: Recipient address rejected: user unknown\r\n"),
]


def test_open_relay_vectors_are_refused(pol):
    # max_errors = 10 counts refusals: a fresh session every five vectors
    for i in range(0, len(VECTORS), 5):
        c = session(pol.port)
        assert c.cmd(b"MAIL FROM:<tester@outside.example>\r\n").startswith(b"250")
        for addr, want in VECTORS[i:i + 5]:
            got = c.cmd(b"RCPT TO:<" + addr + b">\r\n")
            assert got == want, (addr, got)
        # nothing was accepted but the one local user: DATA takes nothing
        c.cmd(b"QUIT\r\n")
        c.close()
    assert pol.queue() == []


# ---- never connect, never relay ----

def test_never_connect_networks_refuse_even_a_trusted_client(pol):
    # ::1 is in trusted_networks, and in never_connect_networks
    s = socket.create_connection(("::1", pol.ports["v6"]), timeout=10 * SLOW)
    assert s.recv(512).startswith(b"554 5.7.1"), "::1 was let in"
    s.close()
    s = socket.socket()
    s.settimeout(10 * SLOW)
    s.bind(("127.0.0.9", 0))
    s.connect(("127.0.0.1", pol.port))
    assert s.recv(512).startswith(b"554 5.7.1")
    s.close()
    assert "refused connection from unknown[127.0.0.9]" in pol.log_text()


def test_never_relay_networks_beat_trust_and_auth(pol):
    # 127.0.0.1 is trusted but in never_relay_networks
    c = session(pol.ports["sub"], source="127.0.0.1")
    assert auth_plain(c, "alice").startswith(b"235")
    assert c.cmd(b"MAIL FROM:<alice@example.org>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<x@foreign.example>\r\n") == RELAY_DENIED % b"x@foreign.example"
    assert c.cmd(b"RCPT TO:<nobody@example.org>\r\n").startswith(b"250")
    c.close()
    # the same user from elsewhere may relay
    c = session(pol.ports["sub"])
    assert auth_plain(c, "alice").startswith(b"235")
    assert c.cmd(b"MAIL FROM:<alice@example.org>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<x@foreign.example>\r\n").startswith(b"250")
    c.close()


# ---- senders ----

def test_own_domain_sender_needs_trust_or_auth(pol):
    c = session(pol.port)
    assert c.cmd(b"MAIL FROM:<ceo@example.org>\r\n") == (
        b"550 5.7.1 <ceo@example.org>: Sender address rejected: not logged in\r\n")
    assert c.cmd(b"MAIL FROM:<ceo@Example.NET>\r\n").startswith(b"550 5.7.1")
    assert c.cmd(b"MAIL FROM:<>\r\n").startswith(b"250")      # bounces are exempt
    c.close()
    c = session(pol.port, source="127.0.0.1")                 # trusted
    assert c.cmd(b"MAIL FROM:<ceo@example.org>\r\n").startswith(b"250")
    c.close()
    c = session(pol.ports["sub"])
    assert auth_plain(c, "bob").startswith(b"235")
    assert c.cmd(b"MAIL FROM:<bob@example.org>\r\n").startswith(b"250")
    c.close()
    assert "reject_own_domain_sender" in pol.log_text()


def test_sender_login_match(pol):
    c = session(pol.ports["sub"])
    assert auth_plain(c, "alice").startswith(b"235")
    for sender in (b"bob@example.org", b"alice@example.net", b"Alice@example.org", b""):
        r = c.cmd(b"MAIL FROM:<" + sender + b">\r\n")
        assert r == (b"553 5.7.1 <" + sender + b">: Sender address rejected: "
                     b"not owned by user alice\r\n"), r
    assert c.cmd(b"MAIL FROM:<alice+lists@EXAMPLE.org>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<bob@example.com>\r\n").startswith(b"250")
    assert c.cmd(b"DATA\r\n").startswith(b"354")
    assert c.cmd(b"Subject: t\r\nX-Marker: loginmatch\r\n\r\nhi\r\n.\r\n").startswith(b"250")
    c.close()
    wait_for(lambda: any(b"X-Marker: loginmatch" in m["data"] for m in pol.sink.messages),
             30, "the message at the sink")


def test_sender_reject_list(pol):
    c = session(pol.port)
    for sender in (b"x@spam.example", b"Blocked@BAD.example"):
        r = c.cmd(b"MAIL FROM:<" + sender + b">\r\n")
        assert r == b"550 5.7.1 <" + sender + b">: Sender address rejected: Access denied\r\n"
    assert c.cmd(b"MAIL FROM:<x@sub.spam.example>\r\n").startswith(b"250")
    c.close()


def test_sender_discard_answers_250_and_queues_nothing(pol):
    c = session(pol.port)
    c.send(b"MAIL FROM:<news@mail.quiet.example>\r\nRCPT TO:<x@example.net>\r\nDATA\r\n")
    assert [r[:3] for r in c.replies(3)] == [b"250", b"250", b"354"]
    assert c.cmd(b"Subject: x\r\nX-Marker: discarded\r\n\r\nhi\r\n.\r\n") == b"250 2.0.0 Ok\r\n"
    # the session goes on normally
    assert c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"250")
    c.close()
    wait_for(lambda: "discard: END-OF-MESSAGE" in pol.log_text(), 10, "the discard log line")
    assert pol.queue() == []
    assert "from=<news@mail.quiet.example>" in pol.log_text()


def test_null_sender_with_a_second_recipient_is_550_5_5_3(pol):
    c = session(pol.port)
    c.send(b"MAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<info@example.org>\r\n")
    r = c.replies(3)
    assert r[1] == b"250 2.1.5 Ok\r\n"
    assert r[2] == (b"550 5.5.3 <info@example.org>: Recipient address rejected: "
                    b"a null sender may have only one recipient\r\n"), r
    c.close()


# ---- AUTH_LIMITED ----

def test_auth_limited_after_auth_max_failures(pol):
    c = session(pol.ports["sub"], source="127.0.0.5")
    for _ in range(3):      # auth_max_failures = 3
        assert auth_plain(c, "alice", "wrong").startswith(b"535 5.7.8")
    # now even the right password is refused for this client, temporarily
    r = auth_plain(c, "alice")
    assert r == b"454 4.7.0 Temporary authentication failure\r\n", r
    c.close()
    assert "(too many failures)" in pol.log_text()
    # another client is not affected
    c = session(pol.ports["sub"], source="127.0.0.6")
    assert auth_plain(c, "bob").startswith(b"235")
    c.close()


# ---- pause incoming, policy tests, log level ----

def test_pause_incoming(pol):
    c = session(pol.port)
    pol.ctl("pause", "incoming")
    try:
        def refused():
            d = Raw(pol.port, source=UNTRUSTED, greet=False)
            r = d.reply()
            d.close()
            return r.startswith(b"421 4.3.2")
        wait_for(refused, 10, "new sessions to get 421")
        assert c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"451 4.3.2")
    finally:
        pol.ctl("resume", "incoming")
    wait_for(lambda: c.cmd(b"MAIL FROM:<x@outside.example>\r\n").startswith(b"250"),
             10, "MAIL to work again")
    c.close()
    session(pol.port).close()


def policy_test(pol, client, listener=""):
    """Starts a policy test session as `client`; returns our end of it."""
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ctl.connect(str(pol.spool / "run" / "control"))
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ipc.send(ctl, "IPC_CTL_POLICY_TEST",
             ipc.Packer().str(client).str("probe.example").str(listener), fd=theirs.fileno())
    theirs.close()
    t, _, payload, _ = ipc.recv(ctl, 10 * SLOW)
    ctl.close()
    assert t == "IPC_CTL_OK", (t, payload)
    ours.settimeout(10 * SLOW)
    return ours


def test_policy_test_session_applies_the_rules_and_takes_no_mail(pol):
    s = policy_test(pol, UNTRUSTED, "mx")
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 ")
    s.sendall(b"EHLO probe.example\r\n")
    lines = []
    while True:
        lines.append(f.readline())
        if lines[-1][3:4] != b"-":
            break
    assert not any(b"STARTTLS" in l or b"AUTH" in l for l in lines)
    s.sendall(b"MAIL FROM:<ceo@example.org>\r\n")
    assert f.readline().startswith(b"550 5.7.1")
    s.sendall(b"MAIL FROM:<x@outside.example>\r\nRCPT TO:<x@foreign.example>\r\n"
              b"RCPT TO:<nosuchuser@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n")
    r = [f.readline() for _ in range(5)]
    assert r[0].startswith(b"250")
    assert r[1].startswith(b"554 5.7.1"), r
    assert r[2].startswith(b"550 5.1.1"), r
    assert r[3].startswith(b"250"), r
    assert r[4] == b"554 5.7.0 Policy test: no mail is accepted\r\n", r
    s.close()
    assert "policy test session as unknown[127.0.0.2] helo=<probe.example> on mx" \
        in pol.log_text()
    # a never-connect address hears what a real one would
    s = policy_test(pol, "127.0.0.9")
    assert s.recv(512).startswith(b"554 5.7.1")
    s.close()
    assert pol.queue() == []


def test_log_level_reaches_smtpd(pol):
    pol.ctl("log-level", "debug")
    try:
        wait_for(lambda: re.search(r"^postern/smtpd\[\d+\]: log level set to 3$",
                                   pol.log_text(), re.M), 10, "smtpd's new level")
    finally:
        pol.ctl("log-level", "info")
