"""What an SMTP client sees: relay control, replies to hostile input."""
import socket

from conftest import SLOW


def test_relay_denied_from_untrusted_address(postern, sink):
    # trusted_networks is 127.0.0.1/32 only: 127.0.0.2 is the Internet here
    with postern.smtp(source="127.0.0.2") as s:
        s.ehlo("outside.example")
        assert s.mail("spammer@outside.example")[0] == 250
        code, text = s.rcpt("victim@foreign.example")
        assert code == 554
        assert text.startswith(b"5.7.1") and b"Relay access denied" in text
        # our own domains are accepted from anyone
        assert s.rcpt("someone@example.net")[0] == 250
        s.rset()
    assert postern.queue() == []
    assert "Relay access denied" in postern.log_text()


def test_trusted_client_may_relay_anywhere(postern):
    with postern.smtp() as s:
        s.ehlo("inside.example")
        assert s.mail("a@example.org")[0] == 250
        assert s.rcpt("x@foreign.example")[0] == 250
        s.rset()


class Raw:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        self.f = self.s.makefile("rb")
        assert self.reply().startswith(b"220")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            assert line, "connection closed"
            lines.append(line)
            if line[3:4] != b"-":
                return b"".join(lines)

    def cmd(self, data):
        self.s.sendall(data)
        return self.reply()

    def close(self):
        self.s.close()


def test_bad_input_gets_replies_and_the_session_survives(postern):
    smtpd = postern.pid_of("postern-smtpd")
    c = Raw(postern.port)
    assert c.cmd(b"EHLO client.example\r\n").startswith(b"250")
    assert c.cmd(b"FROBNICATE\r\n").startswith(b"500 5.5.2")
    assert c.cmd(b"X" * 10000 + b"\r\n").startswith(b"500 5.5.2")
    assert c.cmd(b"NO\x00OP\r\n").startswith(b"500 5.5.2")
    assert c.cmd(b"RCPT TO:<a@example.org>\r\n").startswith(b"503 5.5.1")
    assert c.cmd(b"MAIL FROM:<not an address>\r\n").startswith(b"501")
    assert c.cmd(b"NOOP\r\n").startswith(b"250")
    assert c.cmd(b"QUIT\r\n").startswith(b"221")
    c.close()
    # the daemon is the same process and still serves
    assert postern.pid_of("postern-smtpd") == smtpd
    c = Raw(postern.port)
    assert c.cmd(b"HELO again\r\n").startswith(b"250")
    c.close()


def test_bare_lf_in_data_is_refused_and_nothing_queued(postern, sink):
    c = Raw(postern.port)
    c.cmd(b"EHLO client.example\r\n")
    assert c.cmd(b"MAIL FROM:<a@example.org>\r\n").startswith(b"250")
    assert c.cmd(b"RCPT TO:<b@example.com>\r\n").startswith(b"250")
    assert c.cmd(b"DATA\r\n").startswith(b"354")
    # a smuggling attempt: "\n.\n" must not end the data
    r = c.cmd(b"Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n")
    assert r.startswith(b"550 5.6.0"), r
    assert c.cmd(b"QUIT\r\n").startswith(b"221")
    c.close()
    assert postern.queue() == []
    assert sink.messages == []


def test_oversized_message_is_refused(postern):
    with postern.smtp() as s:
        s.ehlo("client.example")
        assert s.mail("a@example.org")[0] == 250
        assert s.rcpt("b@example.com")[0] == 250
        code, text = s.data(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 1100)
        assert code == 552 and text.startswith(b"5.3.4")
    assert postern.queue() == []
