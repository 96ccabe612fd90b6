"""make bench: postern's throughput, latency, fsyncs per message and memory
per connection, measured on loopback. Prints medians of several runs.

Runs the real suite as root (like the integration tests) with the next hop
an aiosmtpd sink reached as a bracketed relayhost (no DNS in the way).
Every loop is bounded in count and time.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import Postern, Sink, free_port, wait_for  # noqa: E402

MSG = (b"From: bench@example.org\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n"
       + b"x" * 70 + b"\r\n") * 20   # about 2 KB


def send_many(port, count, latencies, errors, deadline):
    import smtplib
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("bench.example")
            for _ in range(count):
                if time.monotonic() > deadline:
                    return
                t0 = time.perf_counter()
                s.mail("bench@example.org")
                s.rcpt("sink@example.com")
                code, _ = s.data(MSG)
                latencies.append(time.perf_counter() - t0)
                if code != 250:
                    errors.append(code)
                s.rset()
    except Exception as e:  # counted, not hidden
        errors.append(repr(e))


def fsync_count(stderr_text):
    n = 0
    for line in stderr_text.splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$", line)
        if m:
            n += int(m.group(1))
    return n


def run_once(p, sessions, per_session, max_seconds):
    qpid = p.pid_of("postern-queue")
    strace = subprocess.Popen(["strace", "-c", "-f", "-e", "trace=fsync,fdatasync",
                               "-p", str(qpid)], stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    latencies, errors = [], []
    deadline = time.monotonic() + max_seconds
    threads = [threading.Thread(target=send_many,
                                args=(p.port, per_session, latencies, errors, deadline))
               for _ in range(sessions)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + 30)
    elapsed = time.perf_counter() - t0
    time.sleep(0.3)
    strace.terminate()
    _, err = strace.communicate(timeout=30)
    n = len(latencies)
    return {
        "msgs": n,
        "errors": len(errors),
        "msgs_per_s": n / elapsed if elapsed else 0,
        "lat_p50_ms": statistics.median(latencies) * 1000 if latencies else 0,
        "lat_p99_ms": (sorted(latencies)[int(n * 0.99) - 1] * 1000) if n >= 100 else 0,
        "fsyncs_per_msg": fsync_count(err) / n if n else 0,
    }


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_per_connection(p, count):
    pid = p.pid_of("postern-smtpd")
    before = rss_kb(pid)
    conns = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            conns.append(s)
        for s in conns:   # every session really started: greeting read
            s.recv(512)
        time.sleep(0.5)
        after = rss_kb(pid)
    finally:
        for s in conns:
            s.close()
    return (after - before) * 1024 / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--messages", type=int, default=50, help="per session per run")
    ap.add_argument("--idle", type=int, default=1000, help="idle connections for the memory test")
    ap.add_argument("--max-seconds", type=int, default=120)
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="postern-bench-"))
    sink = Sink(free_port())
    sink.start()
    os.environ.setdefault("POSTERN_BUILD", "build")
    p = Postern(tmp, 9, sink.port, extra=f"relayhost = [127.0.0.1]:{sink.port}\n")
    p.start()
    try:
        results = []
        for i in range(a.runs):
            r = run_once(p, a.sessions, a.messages, a.max_seconds)
            results.append(r)
            print(f"run {i + 1}: {r['msgs']} msgs, {r['msgs_per_s']:.0f} msgs/s, "
                  f"p50 {r['lat_p50_ms']:.1f} ms, p99 {r['lat_p99_ms']:.1f} ms, "
                  f"{r['fsyncs_per_msg']:.3f} fsyncs/msg, {r['errors']} errors", flush=True)
        total = sum(r["msgs"] for r in results)
        wait_for(lambda: len(sink.messages) >= total, 120, "every message at the sink")
        mem = memory_per_connection(p, a.idle)
        med = lambda k: statistics.median(r[k] for r in results)  # noqa: E731
        print()
        print(f"accept, {a.sessions} sessions (median of {a.runs} runs):")
        print(f"  throughput        {med('msgs_per_s'):.0f} msgs/s")
        print(f"  latency p50       {med('lat_p50_ms'):.1f} ms (end of DATA to 250)")
        print(f"  latency p99       {med('lat_p99_ms'):.1f} ms")
        print(f"  fsyncs per msg    {med('fsyncs_per_msg'):.3f}")
        print(f"  delivered         {len(sink.messages)} of {total}")
        print(f"smtpd memory per idle connection: {mem / 1024:.1f} KiB ({a.idle} connections)")
    finally:
        p.stop()
        sink.stop()


if __name__ == "__main__":
    main()
