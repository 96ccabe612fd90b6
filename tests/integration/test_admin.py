"""What the admin sees: config checks, posternctl, errors."""
import json
import subprocess

from conftest import BUILD, ROOT


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)


def test_example_config_is_valid():
    r = run(BUILD / "postern", "-n", "-f", ROOT / "etc" / "postern.conf.example")
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stdout + r.stderr


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
