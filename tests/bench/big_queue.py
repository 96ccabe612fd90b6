"""make bench ARGS=--big-queue: posternctl on a queue of 100,000 messages.

Builds the queue with loadgen while the next hop is down (relayhost is a
closed port, so every message is deferred and stays), then times
`posternctl queue --json >/dev/null` and `posternctl stats`, and checks that
mail still flows while the listing runs: loadgen sends meanwhile and its
rate and latency are printed next to the same send with no listing.
Every loop is bounded. Not part of make check.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))
from conftest import BUILD, Postern, free_port  # noqa: E402


def ctl(p, *args, out=subprocess.PIPE):
    t0 = time.perf_counter()
    r = subprocess.run([str(BUILD / "posternctl"), "-f", str(p.conf), *args],
                       stdout=out, stderr=subprocess.PIPE, text=True, timeout=600)
    el = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    return el, r.stdout


def run(loadgen_send, loadgen, messages=100000, sessions=20):
    closed = free_port()        # nothing listens: the next hop is down
    tmp = Path(tempfile.mkdtemp(prefix="postern-bigq-"))
    p = Postern(tmp, 9, closed, extra=f"relayhost = [127.0.0.1]:{closed}\n"
                "log_level = warning\n")
    p.start()
    try:
        t0 = time.perf_counter()
        sent = 0
        for _ in range(10):     # bounded: a few rounds at most
            if sent >= messages:
                break
            r = loadgen_send(loadgen, p.port, sessions, messages - sent, 512, 300)
            sent += r["accepted"]
        build = time.perf_counter() - t0
        print(f"queue built: {sent} messages in {build:.1f} s "
              f"({sent / build:.0f} msgs/s)", flush=True)
        lst = []
        for _ in range(3):
            with open(os.devnull, "w") as null:
                lst.append(ctl(p, "queue", "--json", out=null)[0])
        st = [ctl(p, "stats")[0] for _ in range(3)]
        n = len(json.loads(ctl(p, "queue", "--json")[1]))
        print(f"messages listed: {n}")
        print(f"posternctl queue --json >/dev/null: {min(lst):.2f} s best, "
              f"{sorted(lst)[1]:.2f} s median")
        print(f"posternctl stats:                  {min(st):.3f} s best, "
              f"{sorted(st)[1]:.3f} s median")

        # mail flow with and without a listing running meanwhile
        quiet = loadgen_send(loadgen, p.port, 4, 2000, 512, 60)
        stop = threading.Event()
        listings = [0]

        def lister():
            while not stop.is_set() and listings[0] < 20:
                with open(os.devnull, "w") as null:
                    ctl(p, "queue", "--json", out=null)
                listings[0] += 1

        t = threading.Thread(target=lister)
        t.start()
        time.sleep(0.2)
        busy = loadgen_send(loadgen, p.port, 4, 2000, 512, 60)
        stop.set()
        t.join(600)
        print(f"mail flow, no listing:     {quiet['rate']:.0f} msgs/s, p50 "
              f"{quiet['p50_ms']:.2f} ms, p99 {quiet['p99_ms']:.2f} ms")
        print(f"mail flow, listing running ({listings[0]} listings): {busy['rate']:.0f} "
              f"msgs/s, p50 {busy['p50_ms']:.2f} ms, p99 {busy['p99_ms']:.2f} ms, "
              f"{busy['errors']} errors")
    finally:
        p.stop()
