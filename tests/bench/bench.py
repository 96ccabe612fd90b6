"""make bench: postern's durable accept rate, end-to-end relay rate, latency
from end of DATA to 250, fsyncs per accepted message and peak RSS per
process, on loopback, as medians of several runs.

Clients and sinks:
- tests/bench/loadgen.c (built here with cc): N pipelined sessions over
  poll(2); as "loadgen sink", a C SMTP sink that stores nothing.
- Postfix's smtp-source / smtp-sink when found: on PATH, or unpacked from
  Debian's postfix package with `apt-get download` + `dpkg -x` into
  build/bench/postfix (never installed: no daemon, nothing in /etc).

postern runs as the integration tests run it (real master, all daemons, as
root) with relayhost = [127.0.0.1]:<sink port>. Every loop is bounded.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from conftest import Postern, free_port, wait_for  # noqa: E402

BENCH = ROOT / "build" / "bench"
DAEMONS = ("postern", "postern-smtpd", "postern-queue", "postern-deliver",
           "postern-resolver")


def build_loadgen():
    BENCH.mkdir(parents=True, exist_ok=True)
    out = BENCH / "loadgen"
    src = ROOT / "tests" / "bench" / "loadgen.c"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra",
                        "-Werror", "-o", str(out), str(src)], check=True)
    return out


def find_postfix(fetch):
    """(smtp-source, smtp-sink, env) or None."""
    src, snk = shutil.which("smtp-source"), shutil.which("smtp-sink")
    if src and snk:
        return src, snk, dict(os.environ)
    d = BENCH / "postfix"
    sbin, lib = d / "usr" / "sbin", d / "usr" / "lib" / "postfix"
    if not (sbin / "smtp-source").exists() and fetch:
        d.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["apt-get", "download", "postfix"], cwd=d, capture_output=True,
                           text=True)
        debs = list(d.glob("postfix_*.deb"))
        if r.returncode != 0 or not debs:
            print(f"(Postfix tools unavailable: {r.stderr.strip()[:200]})")
            return None
        subprocess.run(["dpkg", "-x", str(debs[0]), str(d)], check=True)
    if not (sbin / "smtp-source").exists():
        return None
    env = dict(os.environ, LD_LIBRARY_PATH=str(lib))
    return str(sbin / "smtp-source"), str(sbin / "smtp-sink"), env


class CSink:
    """loadgen's sink: counts messages, prints "count N"."""

    def __init__(self, loadgen):
        self.port = free_port()
        self.count = 0
        self.proc = subprocess.Popen([str(loadgen), "sink", "-p", str(self.port)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("count "):
                self.count = int(line.split()[1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def loadgen_send(loadgen, port, sessions, count, size, seconds):
    r = subprocess.run([str(loadgen), "send", "-p", str(port), "-s", str(sessions),
                        "-n", str(count), "-z", str(size), "-t", str(seconds)],
                       capture_output=True, text=True, timeout=seconds + 30)
    return json.loads(r.stdout)


def smtp_source(pf, port, sessions, count, size, seconds):
    src, _, env = pf
    t0 = time.perf_counter()
    r = subprocess.run([src, "-s", str(sessions), "-l", str(size), "-m", str(count),
                        "-f", "bench@example.org", "-t", "sink@example.com",
                        f"127.0.0.1:{port}"], capture_output=True, text=True, env=env,
                       timeout=seconds + 30)
    el = time.perf_counter() - t0
    return {"ok": r.returncode == 0, "elapsed": el, "rate": count / el,
            "err": r.stderr.strip()[-200:]}


def fsyncs(strace_out):
    n = 0
    for line in strace_out.splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)\s*$",
                     line)
        if m:
            n += int(m.group(1))
    return n


def peak_rss(p):
    """{daemon: VmHWM KiB} of the master and each child."""
    out = {}
    pids = {"postern": p.proc.pid}
    for pid, comm in p.children().items():
        pids[comm] = pid
    for name, pid in pids.items():
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM:"):
                    out[name] = int(line.split()[1])
        except OSError:
            pass
    return out


def idle_memory(p, count):
    pid = p.pid_of("postern-smtpd")
    rss = lambda: int(next(l for l in open(f"/proc/{pid}/status")  # noqa: E731
                           if l.startswith("VmRSS:")).split()[1])
    before = rss()
    conns = []
    try:
        for _ in range(count):
            conns.append(socket.create_connection(("127.0.0.1", p.port), timeout=10))
        for s in conns:
            s.recv(512)
        time.sleep(0.5)
        after = rss()
    finally:
        for s in conns:
            s.close()
    return (after - before) * 1024 / count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--messages", type=int, default=5000, help="per run")
    ap.add_argument("--size", type=int, default=1024, help="message bytes")
    ap.add_argument("--max-seconds", type=int, default=60, help="per run")
    ap.add_argument("--idle", type=int, default=1000, help="idle connections (0 = skip)")
    ap.add_argument("--no-postfix", action="store_true", help="skip smtp-source/smtp-sink")
    ap.add_argument("--stress", action="store_true",
                    help="run the kill -9 durability tests with more rounds instead")
    ap.add_argument("--big-queue", action="store_true",
                    help="issue 7: time posternctl queue/stats on a big queue instead "
                         "(tests/bench/big_queue.py)")
    ap.add_argument("--big-queue-messages", type=int, default=100000)
    ap.add_argument("--stress-rounds", type=int, default=10,
                    help="kills per test; the master's restart backoff "
                         "doubles to 60 s, so 10 take about 5 minutes")
    a = ap.parse_args()
    os.environ.setdefault("POSTERN_BUILD", "build")

    if a.stress:
        env = dict(os.environ, POSTERN_STRESS_ROUNDS=str(a.stress_rounds))
        r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-s", "-p",
                            "no:cacheprovider", "tests/integration/test_queue_fault.py",
                            "--basetemp=/tmp/postern-stress"], cwd=ROOT, env=env)
        sys.exit(r.returncode)

    loadgen = build_loadgen()
    if a.big_queue:
        import big_queue
        big_queue.run(loadgen_send, loadgen, a.big_queue_messages, a.sessions)
        return
    pf = None if a.no_postfix else find_postfix(fetch=True)
    med = lambda xs: statistics.median(xs) if xs else 0  # noqa: E731
    R = {k: [] for k in ("proto", "pf_proto", "accept", "p50", "p99", "relay",
                         "pf_accept")}

    # the protocol's own limit on loopback: client straight into a sink
    for _ in range(a.runs):
        s = CSink(loadgen)
        try:
            R["proto"].append(loadgen_send(loadgen, s.port, a.sessions, a.messages,
                                           a.size, a.max_seconds)["rate"])
        finally:
            s.stop()
        if pf:
            port = free_port()
            snk = subprocess.Popen([pf[1], "-u", "nobody", "-c", f"127.0.0.1:{port}", "256"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=pf[2])
            try:
                wait_for(lambda: _can_connect(port), 10, "smtp-sink")
                R["pf_proto"].append(smtp_source(pf, port, a.sessions, a.messages, a.size,
                                                 a.max_seconds)["rate"])
            finally:
                snk.terminate()
                snk.wait(10)

    sink = CSink(loadgen)
    tmp = Path(tempfile.mkdtemp(prefix="postern-bench-"))
    p = Postern(tmp, 9, sink.port, extra=f"relayhost = [127.0.0.1]:{sink.port}\n"
                "log_level = warning\n")
    p.start()
    fsync_per_msg, strace_rate = None, None
    try:
        delivered = 0
        for i in range(a.runs + 1):
            strace = None
            if i == a.runs:
                # one more run under strace, for the fsync count only
                strace = subprocess.Popen(["strace", "-c", "-f", "-e",
                                           "trace=fsync,fdatasync,sync_file_range",
                                           "-p", str(p.pid_of("postern-queue"))],
                                          stderr=subprocess.PIPE, text=True)
                time.sleep(0.5)
            t0 = time.perf_counter()
            r = loadgen_send(loadgen, p.port, a.sessions, a.messages, a.size,
                             a.max_seconds)
            delivered += r["accepted"]
            wait_for(lambda: sink.count >= delivered, 120, "every message at the sink")
            relay = r["accepted"] / (time.perf_counter() - t0)
            if strace:
                time.sleep(0.3)
                strace.terminate()
                _, err = strace.communicate(timeout=30)
                fsync_per_msg = fsyncs(err) / max(r["accepted"], 1)
                strace_rate = r["rate"]
                print(f"strace run: {r['accepted']} msgs at {r['rate']:.0f} msgs/s, "
                      f"{fsync_per_msg:.3f} fsyncs/msg", flush=True)
                continue
            R["accept"].append(r["rate"])
            R["p50"].append(r["p50_ms"])
            R["p99"].append(r["p99_ms"])
            R["relay"].append(relay)
            print(f"run {i + 1}: accepted {r['accepted']} ({r['errors']} errors) "
                  f"{r['rate']:.0f} msgs/s, p50 {r['p50_ms']:.2f} ms, p99 "
                  f"{r['p99_ms']:.2f} ms; relayed end to end {relay:.0f} msgs/s",
                  flush=True)
        if pf:
            for _ in range(a.runs):
                r = smtp_source(pf, p.port, a.sessions, a.messages, a.size, a.max_seconds)
                delivered += a.messages if r["ok"] else 0
                R["pf_accept"].append(r["rate"] if r["ok"] else 0)
                if not r["ok"]:
                    print(f"smtp-source failed: {r['err']}")
            wait_for(lambda: sink.count >= delivered, 120, "every message at the sink")
        rss = peak_rss(p)
        mem = idle_memory(p, a.idle) if a.idle else None
    finally:
        p.stop()
        sink.stop()

    print()
    print(f"median of {a.runs} runs, {a.sessions} sessions, {a.messages} messages "
          f"of {a.size} bytes a run:")
    print(f"  protocol limit   loadgen -> C sink        {med(R['proto']):8.0f} msgs/s")
    if pf:
        print(f"  protocol limit   smtp-source -> smtp-sink {med(R['pf_proto']):8.0f} msgs/s")
    print(f"  accepted durably loadgen -> postern       {med(R['accept']):8.0f} msgs/s")
    if pf:
        print(f"  accepted durably smtp-source -> postern   {med(R['pf_accept']):8.0f} msgs/s")
    print(f"  relayed end to end (to the C sink)        {med(R['relay']):8.0f} msgs/s")
    print(f"  latency end of DATA -> 250   p50 {med(R['p50']):.2f} ms, "
          f"p99 {med(R['p99']):.2f} ms")
    if fsync_per_msg is not None:
        print(f"  fsyncs per accepted message (strace run)  {fsync_per_msg:8.3f} "
              f"(at {strace_rate:.0f} msgs/s under strace)")
    print("  peak RSS (VmHWM): " + ", ".join(f"{k} {v / 1024:.1f} MiB"
                                             for k, v in sorted(rss.items())))
    if mem is not None:
        print(f"  smtpd memory per idle connection: {mem / 1024:.1f} KiB ({a.idle} connections)")


def _can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
