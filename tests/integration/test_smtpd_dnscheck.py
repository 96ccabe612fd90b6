"""Reverse DNS and DNSBL at connect (issue 4b): smtpd asks the resolver for
the client's PTR names, their addresses and DNSBL listings, and greets (or
refuses) once the answers are in, bounded by dns_check_timeout. A real
unbound serves the zones; clients connect from 127.0.0.2 and up."""
import re
import socket
import time

import pytest

from conftest import SLOW, ZONE, Postern, Sink, free_port, start_unbound, wait_for
from smtpd_helpers import Raw, wait_closed

BL = "bl.dnscheck.test"

DNSCHECK_ZONE = ZONE + """
local-zone: "dnscheck.test." static
local-data: "localhost.dnscheck.test. 300 IN A 127.0.0.1"
local-data: "mail.dnscheck.test. 300 IN A 127.0.0.2"
local-data: "liar.dnscheck.test. 300 IN A 127.0.0.9"
local-data: "other.dnscheck.test. 300 IN A 127.0.0.5"
local-data: "3.0.0.127.bl.dnscheck.test. 300 IN A 127.0.0.2"
local-data: "4.0.0.127.bl.dnscheck.test. 300 IN A 127.255.255.254"
local-zone: "127.in-addr.arpa." static
local-data: "1.0.0.127.in-addr.arpa. 300 IN PTR localhost.dnscheck.test."
local-data: "2.0.0.127.in-addr.arpa. 300 IN PTR mail.dnscheck.test."
local-data: "3.0.0.127.in-addr.arpa. 300 IN PTR liar.dnscheck.test."
local-data: "5.0.0.127.in-addr.arpa. 300 IN PTR liar.dnscheck.test."
local-data: "5.0.0.127.in-addr.arpa. 300 IN PTR other.dnscheck.test."
"""


@pytest.fixture(scope="module")
def zone_dns(tmp_path_factory):
    port, proc = start_unbound(tmp_path_factory.mktemp("unbound-dnscheck"),
                               DNSCHECK_ZONE, probe="mail.dnscheck.test")
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def make_suite(tmp, dns_port, extra_global="", listener_extra="", strict=""):
    sink = Sink(free_port())
    sink.start()
    strict_port = free_port()
    extra = (f"{extra_global}\n"
             f"listener strict {{\n\tlisten = 127.0.0.1:{strict_port}\n"
             f"\treverse_dns = require\n\tdnsbl = {BL}\n\tdnsbl_action = log\n{strict}}}\n")
    p = Postern(tmp, dns_port, sink.port, extra=extra, listener_extra=listener_extra)
    p.strict_port = strict_port
    p.sink = sink
    try:
        p.start()
    except Exception:
        sink.stop()
        raise
    return p


@pytest.fixture(scope="module")
def suite(zone_dns, tmp_path_factory):
    """mx: reverse_dns = log and a DNSBL that rejects; strict: require."""
    p = make_suite(tmp_path_factory.mktemp("dnscheck"), zone_dns,
                   listener_extra=f"\treverse_dns = log\n\tdnsbl = {BL}\n")
    try:
        yield p
    finally:
        p.stop()
        p.sink.stop()


def log_line(p, pattern, timeout=10):
    rx = re.compile(pattern)
    return wait_for(lambda: rx.search(p.log_text()), timeout, f"log /{pattern}/")


def send_message(c, helo, rcpt="someone@example.net"):
    assert c.cmd(f"EHLO {helo}\r\n".encode()).startswith(b"250")
    assert c.cmd(b"MAIL FROM:<a@sender.test>\r\n").startswith(b"250")
    assert c.cmd(f"RCPT TO:<{rcpt}>\r\n".encode()).startswith(b"250")
    assert c.cmd(b"DATA\r\n").startswith(b"354")
    assert c.cmd(b"Subject: dnscheck\r\n\r\nhello\r\n.\r\n").startswith(b"250")
    c.cmd(b"QUIT\r\n")
    c.close()


def received_of(sink, helo):
    msgs = wait_for(lambda: [m for m in sink.messages
                             if f"Received: from {helo} ".encode() in m["data"]],
                    20, f"the message from {helo} at the sink")
    data = msgs[0]["data"]
    return data[:data.index(b"\r\n")].decode()


# ---------------------------------------------------------------- verdicts

def test_confirmed_name_is_in_received_and_log(suite):
    c = Raw(suite.port, source="127.0.0.2")
    assert c.greeting.startswith(b"220 ")
    send_message(c, "helo-confirmed.test")
    assert received_of(suite.sink, "helo-confirmed.test") == \
        "Received: from helo-confirmed.test (mail.dnscheck.test [127.0.0.2])"
    log_line(suite, r"dnscheck mail\.dnscheck\.test\[127\.0\.0\.2\] on mx: "
                    r"reverse=confirmed, dnsbl=not listed")


def test_unconfirmed_name_is_not_claimed_with_reverse_dns_log(suite):
    # 127.0.0.4 has no PTR at all; "log" records that and lets it in
    c = Raw(suite.port, source="127.0.0.4")
    assert c.greeting.startswith(b"220 ")
    send_message(c, "helo-noptr.test")
    assert received_of(suite.sink, "helo-noptr.test") == \
        "Received: from helo-noptr.test ([127.0.0.4])"
    log_line(suite, r"dnscheck unknown\[127\.0\.0\.4\] on mx: reverse=none")


def test_second_ptr_name_can_confirm(suite):
    # two PTR names: liar (A 127.0.0.9) does not match, other does
    c = Raw(suite.port, source="127.0.0.5")
    assert c.greeting.startswith(b"220 ")
    send_message(c, "helo-two.test")
    assert received_of(suite.sink, "helo-two.test") == \
        "Received: from helo-two.test (other.dnscheck.test [127.0.0.5])"


def test_dnsbl_listed_client_is_refused_at_the_greeting(suite):
    c = Raw(suite.port, source="127.0.0.3", greet=False)
    r = c.reply()
    assert r == (b"554 5.7.1 Service unavailable; client [127.0.0.3] "
                 b"blocked using bl.dnscheck.test\r\n")
    assert wait_closed(c)
    log_line(suite, r"dnscheck unknown\[127\.0\.0\.3\] on mx: reverse=none "
                    r"\(PTR not forward-confirmed\), dnsbl=bl\.dnscheck\.test "
                    r"\(127\.0\.0\.2\); refused: 554 5\.7\.1")
    log_line(suite, r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.3\]: 554 5\.7\.1")


def test_dnsbl_error_code_answer_is_not_a_listing(suite):
    # 127.255.255.254 is how some lists say "you may not ask": not listed
    c = Raw(suite.port, source="127.0.0.4")
    assert c.greeting.startswith(b"220 ")
    c.close()
    log_line(suite, r"bl\.dnscheck\.test answered 127\.255\.255\.254, not a listing")


def test_trusted_client_skips_the_dnsbl(suite):
    # 127.0.0.1 is trusted: its check line says the DNSBL was not asked
    c = Raw(suite.port, source="127.0.0.1")
    assert c.greeting.startswith(b"220 ")
    c.close()
    log_line(suite, r"dnscheck localhost\.dnscheck\.test\[127\.0\.0\.1\] on mx: "
                    r"reverse=confirmed, dnsbl=not checked")


def test_require_refuses_a_client_without_a_confirmed_name(suite):
    for src in ("127.0.0.4", "127.0.0.3"):
        c = Raw(suite.strict_port, source=src, greet=False)
        assert c.reply() == (b"450 4.7.25 Client host rejected: cannot find "
                             b"your hostname, [%s]\r\n" % src.encode())
        assert wait_closed(c)
    # dnsbl_action = log: the listing is recorded, the refusal is the 450
    log_line(suite, r"dnscheck unknown\[127\.0\.0\.3\] on strict: .*"
                    r"dnsbl=bl\.dnscheck\.test \(127\.0\.0\.2\); refused: 450 4\.7\.25")
    c = Raw(suite.strict_port, source="127.0.0.2")
    assert c.greeting.startswith(b"220 ")
    c.close()


def test_a_new_resolver_serves_the_checks_after_a_crash(suite):
    import os
    import signal
    old = suite.pid_of("postern-resolver")
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: suite.pid_of("postern-resolver") not in (None, old), 20,
             "a new resolver")
    # the new channel reaches smtpd with the master's fresh PEER
    def confirmed():
        c = Raw(suite.port, source="127.0.0.2")
        c.close()
        return c.greeting.startswith(b"220 ") and \
            suite.log_text().count("dnscheck mail.dnscheck.test[127.0.0.2] on mx: "
                                   "reverse=confirmed") >= 2
    wait_for(confirmed, 20, "a confirmed name through the new resolver")


# ---------------------------------------------------------------- DNS down

@pytest.fixture(scope="module")
def dead_suite(tmp_path_factory):
    """Every DNS question vanishes: a UDP socket that never answers."""
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    p = make_suite(tmp_path_factory.mktemp("dnscheck-dead"), dead.getsockname()[1],
                   extra_global="dns_check_timeout = 1s",
                   listener_extra=f"\treverse_dns = log\n\tdnsbl = {BL}\n")
    try:
        yield p
    finally:
        p.stop()
        p.sink.stop()
        dead.close()


def test_dns_timeout_does_not_reject(dead_suite):
    t0 = time.monotonic()
    c = Raw(dead_suite.port, source="127.0.0.3")
    waited = time.monotonic() - t0
    assert c.greeting.startswith(b"220 ")
    # the greeting waited for the checks, and not much longer
    assert 0.8 <= waited < 5 * SLOW, waited
    c.close()
    log_line(dead_suite, r"dnscheck unknown\[127\.0\.0\.3\] on mx: reverse=timeout, "
                         r"dnsbl=bl\.dnscheck\.test: timeout")


def test_require_with_dns_down_is_a_temporary_refusal(dead_suite):
    c = Raw(dead_suite.strict_port, source="127.0.0.2", greet=False)
    assert c.reply().startswith(b"450 4.7.25 ")
    assert wait_closed(c)


def test_waiting_checks_do_not_stall_other_sessions(dead_suite):
    a = Raw(dead_suite.port, source="127.0.0.2")
    assert a.greeting.startswith(b"220 ")
    # several sessions now wait for DNS; the greeted one is served at once
    waiting = [Raw(dead_suite.port, source=f"127.0.0.{n}", greet=False)
               for n in range(3, 8)]
    t0 = time.monotonic()
    assert a.cmd(b"EHLO a.test\r\n").startswith(b"250")
    assert a.cmd(b"NOOP\r\n").startswith(b"250")
    assert time.monotonic() - t0 < 0.5 * SLOW
    for w in waiting:
        assert w.reply().startswith(b"220 ")
        w.close()
    a.cmd(b"QUIT\r\n")
    a.close()


def test_clients_gone_while_dns_waits_leave_smtpd_serving(dead_suite):
    # sessions freed while their checks wait: the late timeout and any
    # answer find nobody, and smtpd goes on
    pid = dead_suite.pid_of("postern-smtpd")
    for n in range(2, 12):
        s = socket.socket()
        s.bind((f"127.0.0.{n}", 0))
        s.connect(("127.0.0.1", dead_suite.port))
        s.close()
    time.sleep(1.5)     # dns_check_timeout = 1s: the timers have run
    c = Raw(dead_suite.port, source="127.0.0.2")
    assert c.greeting.startswith(b"220 ")
    c.close()
    assert dead_suite.pid_of("postern-smtpd") == pid


def test_resolver_crash_while_dns_waits_greets_at_once(dead_suite):
    import os
    import signal
    pid = dead_suite.pid_of("postern-smtpd")
    waiting = [Raw(dead_suite.port, source=f"127.0.0.{n}", greet=False)
               for n in range(2, 7)]
    time.sleep(0.2)
    os.kill(dead_suite.pid_of("postern-resolver"), signal.SIGKILL)
    for w in waiting:
        assert w.reply().startswith(b"220 ")
        w.close()
    assert dead_suite.pid_of("postern-smtpd") == pid
