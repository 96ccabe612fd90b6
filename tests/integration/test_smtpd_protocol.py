"""smtpd's protocol (issue 3): pipelined batches, smuggling, BDAT, DSN,
SMTPUTF8, ETRN, content rules and loop detection, checked byte for byte at
the sink the message is relayed to."""
import smtplib
import subprocess

from conftest import SLOW, wait_for
from smtpd_helpers import Raw, ehlo_lines, suite, wait_closed  # noqa: F401

HEAD = b"EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.com>\r\n"


def stuff(body):
    """Dot-stuffs CRLF text for DATA."""
    return b"".join(b"." + l if l.startswith(b".") else l
                    for l in body.splitlines(keepends=True))


def at_sink(suite, marker, n=1):
    """The sink's messages whose content holds marker, once there are n."""
    return wait_for(lambda: (lambda m: m if len(m) >= n else None)(
        [m for m in suite.sink.messages if marker in m["data"]]), 30,
        f"{marker!r} at the sink")


def send_marker(suite, marker):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30 * SLOW) as s:
        s.sendmail("alice@example.org", ["bob@example.com"],
                   b"Subject: " + marker + b"\r\n\r\n" + marker + b"\r\n")
    return at_sink(suite, marker)


SMUGGLE = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\n",
           b"\n.\r", b"\r.\r\n", b"\n..\n", b"\r\n.\x00\r\n"]


def test_smuggling_variants_never_make_a_second_message(suite):
    for i, v in enumerate(SMUGGLE):
        c = Raw(suite.port)
        c.send(HEAD + b"DATA\r\n")
        assert c.replies(4)[3].startswith(b"354")
        # the real message, a would-be end of data, a smuggled transaction,
        # then the real end of data and QUIT -- all in one write
        c.send(b"Subject: real %d\r\n\r\nreal body" % i + v +
               b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\n"
               b"DATA\r\nSubject: smuggled %d\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n" % i)
        r = c.reply()
        assert r.startswith(b"550 5.6.0"), (v, r)
        assert c.reply().startswith(b"221")
        c.close()
    # a clean message after them all arrives: the pipeline works ...
    send_marker(suite, b"after-smuggling")
    # ... and nothing of the smuggled or refused ones ever did
    for m in suite.sink.messages:
        assert b"smuggled" not in m["data"] and b"real body" not in m["data"]
        assert m["from"] != "evil@example.org"
    assert "victim@example.com" not in suite.log_text()


def test_pipelined_batch_is_answered_in_order_and_kept_byte_exact(suite):
    body = (b"Subject: exact\r\nX-Marker: exact-1\r\n\r\n.leading dot\r\n..two dots\r\n"
            b"trailing spaces   \r\n\tTab\r\n\r\n" + b"y" * 998 + b"\r\n.\r\nlast\r\n")
    c = Raw(suite.port)
    # the whole transaction and QUIT in one write (RFC 2920: DATA ends a
    # batch; what follows the end of data may be pipelined again)
    c.send(HEAD + b"RCPT TO:<carol@example.com>\r\nDATA\r\n")
    r = c.replies(5)
    assert r[0].startswith(b"250-mx.test.invalid")
    assert [x[:3] for x in r[1:]] == [b"250", b"250", b"250", b"354"]
    c.send(stuff(body) + b".\r\nQUIT\r\n")
    assert c.reply().startswith(b"250 2.0.0 Ok: queued as ")
    assert c.reply().startswith(b"221")
    m = at_sink(suite, b"exact-1")[0]
    assert m["data"].endswith(body)
    hdr = m["data"][:m["data"].index(b"Subject: exact")]
    assert hdr.startswith(b"Received: from client.example ([127.0.0.1])")
    assert b"by mx.test.invalid (postern) with ESMTP id " in hdr
    # HELO: plain SMTP in the Received header
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30 * SLOW) as s:
        s.helo("old.example")
        s.sendmail("alice@example.org", ["bob@example.com"], b"X-Marker: helo-1\r\n\r\nx\r\n")
    m = at_sink(suite, b"helo-1")[0]
    assert b"Received: from old.example ([127.0.0.1])" in m["data"]
    assert b"(postern) with SMTP id " in m["data"]


def test_bdat_chunks_arrive_byte_exact(suite):
    c1 = b"Subject: bdat\r\nX-Marker: bdat-1\r\n\r\n.dot line\r\n"
    c2 = b"..two\r\n.\r\nend\r\n"
    c = Raw(suite.port)
    c.send(HEAD + b"BDAT %d\r\n" % len(c1) + c1 + b"BDAT %d LAST\r\n" % len(c2) + c2 +
           b"QUIT\r\n")
    r = c.replies(6)
    assert "CHUNKING" in ehlo_lines(r[0]) and "BINARYMIME" in ehlo_lines(r[0])
    assert r[3] == b"250 2.0.0 Ok: %d octets received\r\n" % len(c1)
    assert r[4].startswith(b"250 2.0.0 Ok: queued as ")
    assert r[5].startswith(b"221")
    m = at_sink(suite, b"bdat-1")[0]
    assert m["data"].endswith(c1 + c2)

    # BDAT 0 LAST ends a message; DATA cannot join a BDAT transaction
    c = Raw(suite.port)
    chunk = b"X-Marker: bdat-2\r\n\r\nz\r\n"
    c.send(HEAD + b"BDAT %d\r\n" % len(chunk) + chunk + b"DATA\r\nBDAT 0 LAST\r\n")
    r = c.replies(6)
    assert r[3].startswith(b"250 2.0.0 Ok: %d octets" % len(chunk))
    assert r[4].startswith(b"503 5.5.1")
    assert r[5].startswith(b"250 2.0.0 Ok: queued as ")
    at_sink(suite, b"bdat-2")
    # BINARYMIME content comes only in BDAT
    c.send(b"MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\n"
           b"RCPT TO:<bob@example.com>\r\nDATA\r\nRSET\r\n")
    r = c.replies(4)
    assert r[2].startswith(b"503 5.5.1") and b"BDAT" in r[2]
    # a text body sent by BDAT must still have CRLF line ends
    c.send(b"MAIL FROM:<alice@example.org> BODY=8BITMIME\r\nRCPT TO:<bob@example.com>\r\n"
           b"BDAT 9 LAST\r\nbare\nlf\r\n")
    r = c.replies(3)
    assert r[2].startswith(b"550 5.6.0")
    c.close()


def test_nul_bytes_and_long_lines_are_refused(suite):
    for content, what in ((b"a\x00b\r\n", b"NUL"), (b"x" * 999 + b"\r\n", b"998")):
        c = Raw(suite.port)
        c.send(HEAD + b"DATA\r\n")
        assert c.replies(4)[3].startswith(b"354")
        r = c.cmd(b"Subject: bad\r\n\r\n" + content + b".\r\n")
        assert r.startswith(b"550 5.6.0") and what in r, r
        # the session goes on
        assert c.cmd(b"NOOP\r\n").startswith(b"250")
        c.close()


def test_too_many_received_headers_is_a_loop(suite):
    c = Raw(suite.port)
    for n, want in ((6, b"554 5.4.6"), (5, b"250 2.0.0")):
        c.send(HEAD if n == 6 else HEAD[HEAD.index(b"MAIL"):])
        c.replies(3 if n == 6 else 2)
        assert c.cmd(b"DATA\r\n").startswith(b"354")
        hdrs = b"".join(b"Received: from hop%d.example by x; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
                        % i for i in range(n))
        r = c.cmd(hdrs + b"X-Marker: loop-%d\r\n\r\nbody\r\n.\r\n" % n)
        assert r.startswith(want), r
    c.close()
    at_sink(suite, b"loop-5")
    assert "too many Received headers" in suite.log_text()


def test_dsn_parameters_are_accepted_and_checked(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30 * SLOW) as s:
        s.ehlo("dsn.example")
        for ext in ("dsn", "smtputf8", "chunking", "8bitmime", "pipelining", "size"):
            assert s.has_extn(ext), ext
        assert s.mail("alice@example.org", ["RET=HDRS", "ENVID=QQ+2B314"])[0] == 250
        assert s.rcpt("bob@example.com", ["NOTIFY=SUCCESS,FAILURE",
                                          "ORCPT=rfc822;bob+2Bx@example.com"])[0] == 250
        code, text = s.rcpt("carol@example.com", ["NOTIFY=NEVER,SUCCESS"])
        assert code == 501 and b"NOTIFY" in text
        code, text = s.rcpt("carol@example.com", ["ORCPT=rfc822;bad+2b"])
        assert code == 501
        assert s.data(b"X-Marker: dsn-1\r\n\r\nx\r\n")[0] == 250
        assert s.mail("alice@example.org", ["ENVID=a+0Ab"])[0] == 501
    at_sink(suite, b"dsn-1")


def test_utf8_addresses_only_with_smtputf8(suite):
    c = Raw(suite.port)
    c.cmd(b"EHLO u.example\r\n")
    r = c.cmd("MAIL FROM:<jörg@example.org>\r\n".encode())
    assert r.startswith(b"553 5.6.7"), r
    assert c.cmd("MAIL FROM:<jörg@example.org> SMTPUTF8\r\n".encode()).startswith(b"250")
    # a relay domain: the recipient check of issue 4 finds no local user
    assert c.cmd("RCPT TO:<用户@example.net>\r\n".encode()).startswith(b"250")
    # ill-formed UTF-8 is bad syntax even then
    assert c.cmd(b"RCPT TO:<a\xc0\xafb@example.org>\r\n").startswith(b"501")
    assert c.cmd(b"RSET\r\n").startswith(b"250")
    c.close()


def test_etrn_only_for_listed_clients(suite):
    c = Raw(suite.port)
    assert "ETRN" in ehlo_lines(c.cmd(b"EHLO etrn.example\r\n"))
    r = c.cmd(b"ETRN example.com\r\n")
    assert r == b"250 2.0.0 Queuing for node example.com started\r\n", r
    assert c.cmd(b"ETRN #queue\r\n").startswith(b"458")
    assert c.cmd(b"ETRN not..valid\r\n").startswith(b"501")
    c.close()
    c = Raw(suite.port, source="127.0.0.2")
    assert "ETRN" not in ehlo_lines(c.cmd(b"EHLO etrn.example\r\n"))
    assert c.cmd(b"ETRN example.com\r\n").startswith(b"459 4.7.1")
    c.close()
    c = Raw(suite.ports["sub"])
    c.cmd(b"EHLO etrn.example\r\n")
    assert c.cmd(b"ETRN example.com\r\n").startswith(b"502 5.5.1")
    c.close()


def test_help_vrfy_expn(suite):
    with smtplib.SMTP("127.0.0.1", suite.port, timeout=30 * SLOW) as s:
        s.ehlo("h.example")
        text = s.help()
        assert b"BDAT" in text and b"ETRN" in text
        assert s.verify("bob")[0] == 252
        assert s.docmd("EXPN", "list")[0] == 502


def test_swaks_pipelined_session(suite):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{suite.port}", "--pipeline",
                        "--ehlo", "swaks.example", "--from", "alice@example.org",
                        "--to", "bob@example.com", "--header", "X-Marker: swaks-1",
                        "--body", "sent by swaks"],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    m = at_sink(suite, b"swaks-1")[0]
    assert b"sent by swaks" in m["data"]
