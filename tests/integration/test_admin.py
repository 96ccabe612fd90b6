"""What the admin sees: config checks, posternctl, errors."""
import json
import subprocess

import time

from conftest import BUILD, ROOT, SLOW, wait_for


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)


def test_example_config_is_valid():
    r = run(BUILD / "postern", "-n", "-f", ROOT / "etc" / "postern.conf.example")
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout + r.stderr


def test_example_config_is_no_open_relay():
    r = run(BUILD / "postern", "-n", "-f", ROOT / "etc" / "postern.conf.example")
    assert "warning" not in r.stdout + r.stderr


def test_open_relay_config_is_warned_about(tmp_path):
    conf = tmp_path / "open.conf"
    conf.write_text(f"spool = {tmp_path}/spool\ntrusted_networks = 127.0.0.1/32 0.0.0.0/0\n")
    for cmd in ([BUILD / "postern", "-n", "-f", conf],
                [BUILD / "posternctl", "check-config", conf]):
        r = run(*cmd)
        assert r.returncode == 0, r.stderr
        out = r.stdout + r.stderr
        assert "warning" in out and "0.0.0.0/0" in out and "open relay" in out


def test_config_errors_name_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("hostname = a.example\n\nno_such_key = 1\nlistener x {\n max_recipients = many\n}\n")
    r = run(BUILD / "postern", "-n", "-f", conf)
    assert r.returncode == 1
    assert f"{conf}:3: unknown key 'no_such_key'" in r.stderr
    assert f"{conf}:5: max_recipients" in r.stderr


def test_posternctl_says_when_postern_is_not_running(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(f"spool = {tmp_path}/spool\n")
    r = run(BUILD / "posternctl", "-f", conf, "queue")
    assert r.returncode == 1
    assert "not running" in r.stderr


def test_queue_listing_shows_a_waiting_message(postern, sink):
    sink.stop()
    from test_delivery import send
    qid = send(postern, "alice@example.org", ["bob@example.com", "carol@example.com"])
    entries = postern.queue()
    assert [e["id"] for e in entries] == [qid]
    e = entries[0]
    assert e["sender"] == "alice@example.org"
    assert sorted(r["address"] for r in e["recipients"]) == ["bob@example.com", "carol@example.com"]
    assert e["size"] > 0
    text = postern.ctl("queue").stdout
    assert qid in text and "alice@example.org" in text
    assert "1 message" in text
    json.dumps(entries)


def test_queue_filters_and_mailq_listing(postern, sink, tmp_path):
    sink.stop()
    from test_delivery import send
    a = send(postern, "alice@example.org", ["bob@example.com"])
    b = send(postern, "carol@example.org", ["dave@example.net"])
    wait_for(lambda: all(e["last_error"] for e in postern.queue()) and len(postern.queue()) == 2,
             20, "both messages deferred")

    def ids(*args):
        return [e["id"] for e in json.loads(postern.ctl("queue", "--json", *args).stdout)]

    assert sorted(ids()) == sorted([a, b])
    assert ids("--sender", "ALICE") == [a]
    assert ids("--rcpt", "dave@") == [b]
    assert ids("--domain", "example.net") == [b]
    assert ids("--state", "deferred", "--domain", "example.com") == [a]
    assert ids("--state", "held") == []
    assert ids("--older", "1h") == []
    text = postern.ctl("queue", "--sender", "carol").stdout
    assert b in text and a not in text and "1 message" in text
    r = postern.ctl("queue", "--state", "frozen", check=False)
    assert r.returncode == 2 and "--state" in r.stderr

    # invoked as mailq, it lists like sendmail's mailq
    mailq = tmp_path / "mailq"
    mailq.symlink_to(BUILD / "posternctl")
    r = run(mailq, "-C", postern.conf)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-Queue ID-")
    assert a in r.stdout and "bob@example.com" in r.stdout
    assert "-- 1 Kbytes in 2 Requests." in r.stdout or "Kbytes in 2 Requests." in r.stdout


def test_check_config_names_errors(tmp_path):
    good = tmp_path / "good.conf"
    good.write_text(f"spool = {tmp_path}/spool\n")
    r = run(BUILD / "posternctl", "check-config", good)
    assert r.returncode == 0 and "configuration OK" in r.stdout
    bad = tmp_path / "bad.conf"
    bad.write_text("listener x {\n listen = 127.0.0.1:25\n max_recipients = 0\n}\n")
    r = run(BUILD / "posternctl", "-f", bad, "check-config")
    assert r.returncode == 1
    assert f"{bad}:3: max_recipients: 0 is out of range" in r.stderr


def test_hold_and_release_from_posternctl(postern, sink):
    sink.stop()
    from test_delivery import send
    qid = send(postern, "alice@example.org", ["bob@example.com"])
    wait_for(lambda: [e for e in postern.queue() if e["last_error"]], 20, "a deferral")
    r = postern.ctl("hold", qid)
    assert r.returncode == 0
    assert postern.queue()[0]["state"] == "held"
    assert "held" in postern.ctl("queue").stdout
    sink.start()
    # a held message is not tried, not even by flush
    postern.ctl("flush")
    time.sleep(1.5 * SLOW)      # proving a negative: nothing arrives meanwhile
    assert sink.messages == []
    assert postern.ctl("release", qid).returncode == 0
    sink.wait_messages(1)
    r = postern.ctl("hold", "NOSUCHMESSAGE0000000", check=False)
    assert r.returncode == 1
    r = postern.ctl("hold", check=False)
    assert r.returncode == 2
