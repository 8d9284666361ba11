#!/usr/bin/env python3
"""nodecast against node_exporter on the same machine, in the same run.

Prints steady RSS, /metrics latency (median, p99) and CPU seconds per hour at a
15 s scrape interval for both, and nodecast's ratios to node_exporter.

usage: benches/agent_footprint.py [--nodecast target/release/nodecast]
       [--node-exporter prometheus-node-exporter] [--seconds 120] [--scrapes 300]
"""
import argparse, http.client, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

def wait_up(port, path, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", path)
            r = c.getresponse(); r.read()
            if r.status == 200: return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"port {port}{path} never answered")

def scrape_latencies(port, n):
    out = []
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        t0 = time.perf_counter(); c.request("GET", "/metrics"); r = c.getresponse(); body = r.read(); t1 = time.perf_counter()
        c.close()
        if r.status != 200: sys.exit(f"scrape failed: {r.status}")
        out.append((t1 - t0) * 1000)
    return out, len(body)

def p99(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodecast", default="target/release/nodecast")
    ap.add_argument("--node-exporter", default=shutil.which("prometheus-node-exporter") or "prometheus-node-exporter")
    ap.add_argument("--seconds", type=int, default=120, help="CPU window, scraped every 15 s")
    ap.add_argument("--scrapes", type=int, default=300)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    pn, pe = free_port(), free_port()
    nc = subprocess.Popen([a.nodecast, f"--web.listen-address=127.0.0.1:{pn}", f"--storage.path={tmp}/store", "--log.level=warn"])
    ne = subprocess.Popen([a.node_exporter, f"--web.listen-address=127.0.0.1:{pe}"], stderr=subprocess.DEVNULL)
    try:
        wait_up(pn, "/readyz"); wait_up(pe, "/metrics")
        rows = {}
        for name, proc, port in (("nodecast", nc, pn), ("node_exporter", ne, pe)):
            lat, size = scrape_latencies(port, a.scrapes)
            rows[name] = {"median_ms": statistics.median(lat), "p99_ms": p99(lat), "bytes": size}
        # CPU at the production cadence: a scrape every 15 s, collection every 15 s.
        c0 = {n: cpu_seconds(p.pid) for n, p in (("nodecast", nc), ("node_exporter", ne))}
        t0 = time.time()
        while time.time() - t0 < a.seconds:
            for port in (pn, pe):
                scrape_latencies(port, 1)
            time.sleep(15)
        el = time.time() - t0
        for n, p in (("nodecast", nc), ("node_exporter", ne)):
            cpu = cpu_seconds(p.pid) - c0[n]
            rows[n]["cpu_s_per_h"] = cpu / el * 3600
            rows[n]["core_pct"] = cpu / el * 100
            rows[n]["rss_mib"] = rss_kib(p.pid) / 1024
        print(f"{'agent':15} {'RSS MiB':>8} {'median ms':>10} {'p99 ms':>8} {'CPU s/h':>8} {'% core':>7} {'bytes':>8}")
        for n, r in rows.items():
            print(f"{n:15} {r['rss_mib']:8.1f} {r['median_ms']:10.3f} {r['p99_ms']:8.3f} {r['cpu_s_per_h']:8.2f} {r['core_pct']:7.3f} {r['bytes']:8d}")
        x, y = rows["nodecast"], rows["node_exporter"]
        print(f"ratios nodecast/node_exporter: RSS {x['rss_mib']/y['rss_mib']:.2f}, median {x['median_ms']/y['median_ms']:.2f}, "
              f"p99 {x['p99_ms']/y['p99_ms']:.2f}, CPU {x['cpu_s_per_h']/max(y['cpu_s_per_h'],1e-9):.2f}")
        print(f"window {el:.0f} s, {a.scrapes} scrapes each; nodecast collects every 15 s and forecasts every 5 min")
    finally:
        for p in (nc, ne):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)

if __name__ == "__main__":
    main()
