#!/usr/bin/env python3
"""Accelerated soak: nodecast with 1 s collection, 2 s flushes, a 10 s downsampled
tier kept 20 minutes and a forecast cycle every 10 s (so 30 minutes hold ~180 cycles, about 15 hours
of default-cadence forecasting), scraped by 8 clients continuously. Prints RSS every
minute and the growth between the second minute and the end.

usage: benches/soak.py [--binary target/release/nodecast] [--minutes 30] [-- nodecast flags]
"""
import argparse, http.client, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

def rss_anon_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0

def self_metric(port, name):
    """One of the agent's own metrics, to line RSS steps up with compactions."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics"); body = conn.getresponse().read().decode()
    except OSError:
        return None
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None

def scraper(port, stop, counts):
    conn = None
    while not stop.is_set():
        try:
            conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for path in ("/metrics", "/api/v1/series"):
                conn.request("GET", path); r = conn.getresponse(); r.read()
                counts["ok" if r.status == 200 else "bad"] += 1
        except OSError:
            counts["bad"] += 1; conn = None; time.sleep(0.1)
        time.sleep(0.05)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/nodecast")
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="flags passed to nodecast after --")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(); port = free_port()
    p = subprocess.Popen([a.binary, f"--web.listen-address=127.0.0.1:{port}", f"--storage.path={tmp}/store",
                          "--collect.interval=1s", "--storage.flush-interval=2s", "--storage.downsample-step=10s",
                          "--storage.raw-retention=10m", "--storage.downsample-retention=20m",
                          "--forecast.interval=10s", "--forecast.min-history=1m", "--log.level=warn"]
                         + [x for x in a.extra if x != "--"])
    stop = threading.Event(); counts = {"ok": 0, "bad": 0}
    try:
        time.sleep(3)
        threads = [threading.Thread(target=scraper, args=(port, stop, counts), daemon=True) for _ in range(8)]
        for t in threads: t.start()
        samples = []
        t0 = time.time()
        while time.time() - t0 < a.minutes * 60:
            time.sleep(60)
            samples.append(rss_kib(p.pid))
            compactions = self_metric(port, "nodecast_store_compactions_total")
            store = self_metric(port, "nodecast_store_size_bytes") or 0
            series = self_metric(port, "nodecast_store_series")
            print(f"minute {len(samples):3d}: RSS {samples[-1] / 1024:6.1f} MiB (anon {rss_anon_kib(p.pid) / 1024:5.1f}), "
                  f"store {store / 2**20:5.1f} MiB, {series} series, compactions {compactions}, "
                  f"requests ok {counts['ok']}, failed {counts['bad']}", flush=True)
        base = samples[1] if len(samples) > 1 else samples[0]
        print(f"RSS minute 2 → end: {base / 1024:.1f} → {samples[-1] / 1024:.1f} MiB "
              f"({(samples[-1] - base) / 1024:+.1f} MiB), max {max(samples) / 1024:.1f} MiB; failed requests {counts['bad']}")
    finally:
        stop.set(); p.send_signal(signal.SIGTERM); p.wait(timeout=60); shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    main()
