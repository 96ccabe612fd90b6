#!/usr/bin/python3
"""Idle sessions one smtpd holds, and its resident memory per session.

Runs the real suite as root (like the integration tests), opens N plaintext
connections (default 10,000) from loopback addresses, waits for each 220
greeting and sends one EHLO so every session is past the greeting, then
reads smtpd's VmRSS. Prints the sessions held and KiB per session (goal:
10,000 sessions at <= 16 KiB each). Bounded in count and time; not part of
make check.
"""
import argparse
import os
import resource
import selectors
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import Postern, free_port  # noqa: E402


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--sessions", type=int, default=10000)
    ap.add_argument("-t", "--time", type=float, default=120, help="seconds at most")
    ap.add_argument("--goal", type=float, default=16.0, help="KiB per session")
    a = ap.parse_args()
    n = min(a.sessions, 50000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, hard), max(want, hard)))

    with tempfile.TemporaryDirectory(prefix="postern-idle-") as tmp:
        p = Postern(Path(tmp), free_port(), free_port(),
                    listener_extra=f"\tmax_sessions = {n + 100}\n"
                                   f"\tmax_sessions_per_ip = {n}\n"
                                   "\tmax_connection_rate = 0\n")
        p.start()
        try:
            pid = p.pid_of("postern-smtpd")
            time.sleep(0.5)
            base = rss_kib(pid)
            sel = selectors.DefaultSelector()
            socks, greeted, deadline = [], 0, time.monotonic() + a.time
            t0 = time.monotonic()
            for i in range(n):
                if time.monotonic() > deadline:
                    break
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # spread the sources so no ephemeral port range runs out
                s.bind((f"127.0.{1 + i // 20000}.{1 + (i // 250) % 250}", 0))
                s.setblocking(False)
                try:
                    s.connect(("127.0.0.1", p.port))
                except BlockingIOError:
                    pass
                sel.register(s, selectors.EVENT_READ, [b"", False])
                socks.append(s)
                # keep the backlog short: collect greetings as we go
                if len(socks) % 500 == 0:
                    greeted += pump(sel, 0.01)
            while greeted < len(socks) and time.monotonic() < deadline:
                greeted += pump(sel, 0.5)
            elapsed = time.monotonic() - t0
            time.sleep(1)
            alive = p.pid_of("postern-smtpd") == pid
            rss = rss_kib(pid)
            per = (rss - base) / max(greeted, 1)
            print(f"sessions opened: {len(socks)}, greeted and past EHLO: {greeted} "
                  f"in {elapsed:.1f}s; smtpd alive: {alive}")
            print(f"smtpd RSS: {base} KiB idle, {rss} KiB with the sessions: "
                  f"{per:.2f} KiB per session (goal <= {a.goal:g})")
            ok = alive and greeted >= n and per <= a.goal
            print("PASS" if ok else "FAIL")
            for s in socks:
                s.close()
            return 0 if ok else 1
        finally:
            p.stop()


def pump(sel, timeout):
    """Reads greetings, answers each with EHLO; returns sessions completed."""
    done = 0
    for key, _ in sel.select(timeout):
        s, st = key.fileobj, key.data
        try:
            d = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            d = b""
        if not d:
            sel.unregister(s)
            continue
        st[0] += d
        if not st[1] and b"\r\n" in st[0]:
            st[1] = True
            st[0] = b""
            s.send(b"EHLO idle.example\r\n")
        elif st[1] and b"250 " in st[0]:
            sel.unregister(s)
            done += 1
    return done


if __name__ == "__main__":
    sys.exit(main())
