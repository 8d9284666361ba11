#!/usr/bin/env python3
"""Thread wake-ups a scrape costs nodecast and node_exporter, in one run.

On an idle node every wake-up of a sleeping thread is a trip through the
scheduler (and, on a VM, often a virtual CPU waking), so the latency of a scrape
every 15 s is mostly wake-ups, not work. Latency is noisy on a shared machine;
the number of context switches a request causes is not. This counts them: both
processes are started, each endpoint is requested N times with a new connection
every --gap seconds, and the context switches of all of a process's threads
(voluntary and involuntary, from /proc/PID/task/*/status) over those requests,
minus the same process's switches over an equally long idle stretch, are divided
by N. Latency medians of the same requests are printed beside them. Nothing is
asserted.

usage: benches/scrape_wakeups.py [--nodecast target/release/nodecast] [-n 50] [--gap 0.2]
"""
import argparse, glob, http.client, shutil, statistics, subprocess, tempfile, time


def request(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter()
    c.request("GET", path)
    c.getresponse().read()
    ms = (time.perf_counter() - t0) * 1000
    c.close()
    return ms


def switches(pid):
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            with open(f) as fh:
                for line in fh:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended between listing and reading
    return total


def measure(name, cmd, port, paths, n, gap):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                request(port, paths[0])
                break
            except OSError:
                if time.time() > deadline or p.poll() is not None:
                    raise SystemExit(f"{name} did not answer on port {port}")
                time.sleep(0.2)
        time.sleep(3)
        for path in paths:
            c0 = switches(p.pid)
            ms = []
            for _ in range(n):
                time.sleep(gap)
                ms.append(request(port, path))
            c1 = switches(p.pid)
            time.sleep(gap * n)
            c2 = switches(p.pid)
            per = ((c1 - c0) - (c2 - c1)) / n
            print(f"{name:14} {path:9} context switches per request {per:6.2f}   latency median {statistics.median(ms):.3f} ms   (idle: {(c2 - c1) / n:.2f} per {gap} s)")
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodecast", default="target/release/nodecast")
    ap.add_argument("--node-exporter", default=shutil.which("prometheus-node-exporter") or "prometheus-node-exporter")
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.2)
    a = ap.parse_args()
    store = tempfile.mkdtemp(prefix="nodecast-wakeups-")
    try:
        measure("nodecast", [a.nodecast, "--web.listen-address", "127.0.0.1:19871", "--storage.path", store + "/s"],
                19871, ["/healthz", "/metrics"], a.n, a.gap)
        measure("node_exporter", [a.node_exporter, "--web.listen-address", "127.0.0.1:19872"],
                19872, ["/", "/metrics"], a.n, a.gap)
    finally:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
