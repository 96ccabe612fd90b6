"""TLS key material is checked by the master at start and with -n."""
import subprocess

from conftest import BUILD


def make_pair(d, name, cn="mx.test.invalid"):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.crt"),
                    "-days", "30", "-subj", f"/CN={cn}"], check=True, capture_output=True)
    (d / f"{name}.key").chmod(0o600)


def check(conf):
    return subprocess.run([str(BUILD / "postern"), "-n", "-f", str(conf)],
                          capture_output=True, text=True, timeout=30)


def test_tls_listener_key_must_load_and_match(tmp_path):
    make_pair(tmp_path, "a")
    make_pair(tmp_path, "b")
    conf = tmp_path / "t.conf"
    conf.write_text(f"""spool = {tmp_path}/spool
listener good {{
	listen = 127.0.0.1:2600
	tls = may
	cert = {tmp_path}/a.crt
	key = {tmp_path}/a.key
}}
listener mismatch {{
	listen = 127.0.0.1:2601
	tls = required
	cert = {tmp_path}/a.crt
	key = {tmp_path}/b.key
}}
listener nokey {{
	listen = 127.0.0.1:2602
	tls = implicit
}}
listener missing {{
	listen = 127.0.0.1:2603
	tls = may
	cert = {tmp_path}/nonexistent.crt
	key = {tmp_path}/a.key
}}
""")
    r = check(conf)
    assert r.returncode == 1
    assert f"{conf}:8: listener mismatch: key {tmp_path}/b.key" in r.stderr
    assert "mismatch" in r.stderr
    assert f"{conf}:14: listener nokey: tls = implicit needs both cert and key" in r.stderr
    assert f"{conf}:18: listener missing: cert {tmp_path}/nonexistent.crt" in r.stderr
    assert "listener good" not in r.stderr


def test_valid_tls_listener_passes_the_check(tmp_path):
    make_pair(tmp_path, "a")
    conf = tmp_path / "t.conf"
    conf.write_text(f"spool = {tmp_path}/spool\nlistener s {{\n listen = 127.0.0.1:2600\n"
                    f" tls = may\n cert = {tmp_path}/a.crt\n key = {tmp_path}/a.key\n}}\n")
    r = check(conf)
    assert r.returncode == 0, r.stderr


def memory_holds(pid, needles):
    """Which needles stand somewhere in the readable memory of a process.
    Read in bounded chunks, mapping by mapping; the huge reservations of a
    sanitizer build (shadow memory, never touched) are skipped."""
    found = set()
    overlap = max(len(n) for n in needles)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            start, end = (int(x, 16) for x in addr.split("-"))
            if "r" not in perms or end - start > 1 << 30:
                continue
            tail = b""
            for off in range(start, end, 1 << 20):
                try:
                    mem.seek(off)
                    chunk = mem.read(min(1 << 20, end - off))
                except (OSError, ValueError, OverflowError):
                    break
                window = tail + chunk
                found.update(n for n in needles if n in window)
                tail = window[-overlap:]
    return found


def test_smtpd_never_holds_the_private_key(make_postern, tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    make_pair(d, "mx")
    p = make_postern(listener_extra=f"\ttls = may\n\tcert = {d}/mx.crt\n\tkey = {d}/mx.key\n")
    key_lines = [l for l in (d / "mx.key").read_text().splitlines() if not l.startswith("-----")]
    cert_lines = [l for l in (d / "mx.crt").read_text().splitlines() if not l.startswith("-----")]
    smtpd = p.pid_of("postern-smtpd")
    needles = [l.encode() for l in key_lines] + [cert_lines[1].encode()]
    found = memory_holds(smtpd, needles)
    # the certificate did arrive (the scan can see PEM text)...
    assert cert_lines[1].encode() in found
    # ...but no line of the key is anywhere in smtpd's memory
    assert not found - {cert_lines[1].encode()}
