#!/usr/bin/env python3
"""nodecast against node_exporter at full history, in one run (issue 16).

Generates DAYS (35) of node_exporter history at a 60 s step for one instance
(71 series, a filling /data filesystem among them), turns it into TSDB blocks
with `promtool tsdb create-blocks-from openmetrics`, starts a real Prometheus on
them, then starts nodecast on defaults (store in a temp dir) with
--backfill.prometheus-url/--backfill.selector and prometheus-node-exporter beside
it. Both are scraped every 15 s. The measurement window starts once the backfill
is done and the forecast cycle it triggers has run, and lasts --minutes (a
multiple of the 5-minute forecast interval, so it holds whole cycles).

Prints, for both: CPU s/h and % of a core (nodecast split by thread: forecast,
collect, HTTP, sled), steady RSS (median of the second half of the window), peak
RSS (VmHWM, so including the backfill and its first flush), scrape latency
median/p90 and body size at the 15 s cadence and in a burst of back-to-back
scrapes after the window, the same client's latency on a trivial endpoint of
each (nodecast's /healthz, node_exporter's landing page) at the same cadence
(halfway between the scrapes), which is the floor a new connection to an idle process costs on this machine,
then --prom-minutes of the bench's Prometheus scraping both every 15 s (kept-alive
connections, its own content negotiation and compression) and the median of
its `scrape_duration_seconds` for each, store size on disk, and the backfill's stored/skipped
samples. Nothing is asserted.

usage: benches/footprint_full.py [--nodecast target/release/nodecast]
       [--minutes 10] [--days 35] [--burst 200] [--workdir DIR] [-- nodecast flags]
"""
import argparse, http.client, json, urllib.parse, math, os, random, re, shutil, signal, socket, statistics
import subprocess, sys, tempfile, threading, time

INSTANCE = "node1:9100"
SCRAPE_EVERY = 15.0


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """CPU seconds per thread, for the threads alive now (one that ended during the
    window is in the process total only)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            out[(tid, name)] = cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            pass
    return out


def thread_group(name):
    if name == "forecast": return "forecast"
    if name in ("collect", "statvfs"): return "collect"
    if name.startswith("tokio") or name == "nodecast": return "http+backfill"
    if "sled" in name or "flusher" in name: return "sled"
    return "other"


def scrape(port, path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter(); c.request("GET", path); r = c.getresponse(); body = r.read()
    ms = (time.perf_counter() - t0) * 1000; c.close()
    return r.status, ms, body


def metric(body, name, labels=""):
    """Sum of a metric's samples whose label text contains `labels`."""
    total, found = 0.0, False
    for line in body.decode(errors="replace").splitlines():
        if line.startswith(name) and (line[len(name):len(name) + 1] in (" ", "{")) and labels in line:
            total += float(line.rsplit(" ", 1)[1]); found = True
    return total if found else None


def wait_http(port, path, proc, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"process on port {port} exited with {proc.returncode}")
        try:
            if scrape(port, path)[0] == 200: return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"127.0.0.1:{port}{path} never answered")


def prometheus_scrapes(cfg, prom, port, targets, minutes):
    """Has the running Prometheus scrape `targets` every 15 s for `minutes` (config
    reloaded with SIGHUP) and returns each job's median scrape_duration_seconds in ms."""
    if minutes <= 0:
        return {}
    jobs = "".join(f"  - job_name: {n}\n    scrape_interval: 15s\n    static_configs: [{{targets: ['127.0.0.1:{p}']}}]\n"
                   for n, p in targets.items())
    open(cfg, "w").write("global:\n  scrape_interval: 1m\nscrape_configs:\n" + jobs)
    prom.send_signal(signal.SIGHUP)
    time.sleep(minutes * 60)
    out = {}
    for n in targets:
        q = urllib.parse.quote(f'quantile_over_time(0.5, scrape_duration_seconds{{job="{n}"}}[{int(minutes * 60)}s])')
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", f"/api/v1/query?query={q}")
        res = json.loads(c.getresponse().read())["data"]["result"]
        c.close()
        if res:
            out[n] = float(res[0]["value"][1]) * 1000
    return out


# --- history ---------------------------------------------------------------------------

def series_defs(days):
    """(name, labels, f(t_rel_s, rng) -> value) for the 71 series; counters integrate."""
    day = lambda t: math.sin(t / 86400 * 2 * math.pi)
    week = lambda t: math.sin(t / (7 * 86400) * 2 * math.pi)
    span = days * 86400
    defs = []
    GiB = 2 ** 30
    # node_cpu_seconds_total: 2 CPUs x 8 modes = 16 (counters: rates per second).
    for cpu in ("0", "1"):
        for mode, base in (("user", 0.12), ("system", 0.05), ("idle", 0.78), ("iowait", 0.01),
                           ("irq", 0.001), ("softirq", 0.004), ("steal", 0.0), ("nice", 0.002)):
            rate = (lambda base, mode: lambda t, r: max(0.0, base * (1 + 0.5 * day(t) * (-1 if mode == "idle" else 1)) + r.uniform(-0.01, 0.01) * base))(base, mode)
            defs.append(("node_cpu_seconds_total", f'cpu="{cpu}",mode="{mode}"', ("counter", rate, 2)))
    for n, scale in (("node_load1", 1.0), ("node_load5", 0.9), ("node_load15", 0.8)):
        defs.append((n, "", ("gauge", (lambda s: lambda t, r: max(0.0, s * (0.6 + 0.4 * day(t)) + r.uniform(0, 0.2)))(scale), 2)))
    mem_total = 8 * GiB
    defs += [
        ("node_memory_MemTotal_bytes", "", ("gauge", lambda t, r: mem_total, 0)),
        ("node_memory_MemAvailable_bytes", "", ("gauge", lambda t, r: 4.5 * GiB + 1.0 * GiB * day(t) + 0.3 * GiB * week(t) + r.uniform(-5e7, 5e7), 0)),
        ("node_memory_MemFree_bytes", "", ("gauge", lambda t, r: 1.0 * GiB + 0.5 * GiB * day(t) + r.uniform(-2e7, 2e7), 0)),
        ("node_memory_Cached_bytes", "", ("gauge", lambda t, r: 3.0 * GiB + 0.4 * GiB * day(t) + r.uniform(-2e7, 2e7), 0)),
        ("node_memory_Buffers_bytes", "", ("gauge", lambda t, r: 0.2 * GiB + r.uniform(-1e6, 1e6), 0)),
        ("node_memory_Dirty_bytes", "", ("gauge", lambda t, r: r.uniform(0, 5e7), 0)),
        ("node_memory_Active_bytes", "", ("gauge", lambda t, r: 3.0 * GiB - 0.5 * GiB * day(t), 0)),
        ("node_memory_Inactive_bytes", "", ("gauge", lambda t, r: 2.0 * GiB + 0.2 * GiB * day(t), 0)),
        ("node_memory_Slab_bytes", "", ("gauge", lambda t, r: 0.3 * GiB + r.uniform(-1e6, 1e6), 0)),
        ("node_memory_SwapTotal_bytes", "", ("gauge", lambda t, r: 2 * GiB, 0)),
        ("node_memory_SwapFree_bytes", "", ("gauge", lambda t, r: 1.8 * GiB - 0.1 * GiB * week(t), 0)),
    ]
    # Three filesystems x avail/size/files/files_free = 12; /data fills towards full.
    for dev, mp, size, avail in (("/dev/vda1", "/", 50 * GiB, lambda t, r: 30 * GiB + 0.5 * GiB * day(t)),
                                 ("/dev/vdb1", "/data", 200 * GiB, lambda t, r: 170 * GiB - 150 * GiB * t / span + r.uniform(-1e7, 1e7)),
                                 ("/dev/vda15", "/boot/efi", 0.1 * GiB, lambda t, r: 0.09 * GiB)):
        lab = f'device="{dev}",fstype="ext4",mountpoint="{mp}"'
        defs += [
            ("node_filesystem_size_bytes", lab, ("gauge", (lambda s: lambda t, r: s)(size), 0)),
            ("node_filesystem_avail_bytes", lab, ("gauge", avail, 0)),
            ("node_filesystem_files", lab, ("gauge", (lambda s: lambda t, r: s // 16384)(size), 0)),
            ("node_filesystem_files_free", lab, ("gauge", (lambda s: lambda t, r: s // 16384 - 20000 - int(1000 * day(t)))(size), 0)),
        ]
    defs += [
        ("node_filefd_allocated", "", ("gauge", lambda t, r: 2000 + 300 * day(t) + r.randint(0, 50), 0)),
        ("node_filefd_maximum", "", ("gauge", lambda t, r: 9223372036854775807, 0)),
        ("node_processes_threads", "", ("gauge", lambda t, r: 500 + 100 * day(t) + r.randint(0, 20), 0)),
        ("node_processes_max_processes", "", ("gauge", lambda t, r: 4194304, 0)),
        ("node_processes_max_threads", "", ("gauge", lambda t, r: 63000, 0)),
        ("node_procs_running", "", ("gauge", lambda t, r: r.randint(1, 4), 0)),
        ("node_procs_blocked", "", ("gauge", lambda t, r: r.randint(0, 1), 0)),
        ("node_boot_time_seconds", "", ("gauge", lambda t, r: 1.7e9, 0)),
    ]
    for res, rate in (("cpu", 0.02), ("memory", 0.001), ("io", 0.01)):
        defs.append((f"node_pressure_{res}_waiting_seconds_total", "", ("counter", (lambda k: lambda t, r: k * (1 + day(t)) * r.uniform(0.5, 1.5))(rate), 3)))
    for res in ("memory", "io"):
        defs.append((f"node_pressure_{res}_stalled_seconds_total", "", ("counter", lambda t, r: 0.001 * r.uniform(0, 2), 3)))
    defs += [
        ("node_hwmon_temp_celsius", 'chip="platform_coretemp_0",sensor="temp1"', ("gauge", lambda t, r: 45 + 8 * day(t) + r.uniform(-1, 1), 1)),
        ("node_hwmon_temp_celsius", 'chip="platform_coretemp_0",sensor="temp2"', ("gauge", lambda t, r: 43 + 8 * day(t) + r.uniform(-1, 1), 1)),
        ("node_thermal_zone_temp", 'type="x86_pkg_temp",zone="0"', ("gauge", lambda t, r: 47 + 8 * day(t) + r.uniform(-1, 1), 1)),
    ]
    for dev in ("vda", "vdb"):
        defs += [
            ("node_disk_read_bytes_total", f'device="{dev}"', ("counter", lambda t, r: r.uniform(0, 2e5) * (1 + day(t)), 0)),
            ("node_disk_written_bytes_total", f'device="{dev}"', ("counter", lambda t, r: r.uniform(0, 5e5) * (1 + day(t)), 0)),
            ("node_disk_io_time_seconds_total", f'device="{dev}"', ("counter", lambda t, r: r.uniform(0, 0.02), 3)),
        ]
    for dev in ("eth0", "lo"):
        defs += [
            ("node_network_receive_bytes_total", f'device="{dev}"', ("counter", lambda t, r: r.uniform(0, 1e5) * (1 + day(t)), 0)),
            ("node_network_transmit_bytes_total", f'device="{dev}"', ("counter", lambda t, r: r.uniform(0, 8e4) * (1 + day(t)), 0)),
        ]
    defs += [
        ("node_context_switches_total", "", ("counter", lambda t, r: 3000 * (1 + 0.5 * day(t)) * r.uniform(0.8, 1.2), 0)),
        ("node_intr_total", "", ("counter", lambda t, r: 2000 * (1 + 0.5 * day(t)) * r.uniform(0.8, 1.2), 0)),
        ("node_forks_total", "", ("counter", lambda t, r: 5 * r.uniform(0.5, 1.5), 0)),
    ]
    return defs


def write_history(path, end_s, days, step):
    """OpenMetrics text, one family after another, each series in time order."""
    defs = series_defs(days)
    start = end_s - days * 86400
    times = list(range(start - start % step + step, end_s, step))
    rng = random.Random(16)
    families = {}
    for name, labels, spec in defs:
        families.setdefault(name, []).append((labels, spec))
    with open(path, "w") as out:
        for name, members in families.items():
            out.write(f"# TYPE {name} gauge\n")
            for labels, (kind, f, digits) in members:
                lab = f'instance="{INSTANCE}",job="node"' + ("," + labels if labels else "")
                acc = 1e6 if kind == "counter" else 0.0
                lines = []
                for t in times:
                    if kind == "counter":
                        acc += f(t - start, rng) * step
                        v = acc
                    else:
                        v = f(t - start, rng)
                    lines.append(f"{name}{{{lab}}} {round(v, digits) if digits else int(v)} {t}\n")
                out.writelines(lines)
        out.write("# EOF\n")
    return len(defs), len(times)


# --- run -------------------------------------------------------------------------------

class Sampler(threading.Thread):
    """RSS of each process for the whole run: node_exporter once a second, nodecast
    every `every` seconds with its anonymous and file-backed parts and the phase of
    the run it was taken in (`phase` is set by the main loop)."""

    def __init__(self, pids, every):
        super().__init__(daemon=True)
        self.pids, self.every, self.stop = pids, every, threading.Event()
        self.samples = {n: [] for n in pids}
        self.phase = "start"

    def run(self):
        last = 0.0
        while not self.stop.is_set():
            now = time.time()
            for n, pid in self.pids.items():
                if n != "nodecast" and now - last < 1.0:
                    continue
                self.samples[n].append((now, status_kib(pid, "VmRSS"), status_kib(pid, "RssAnon"),
                                        status_kib(pid, "RssFile"), self.phase))
            if now - last >= 1.0:
                last = now
            time.sleep(self.every)


def pct(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodecast", default="target/release/nodecast")
    ap.add_argument("--node-exporter", default=shutil.which("prometheus-node-exporter") or "prometheus-node-exporter")
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    ap.add_argument("--promtool", default=shutil.which("promtool") or "promtool")
    ap.add_argument("--minutes", type=float, default=10, help="measurement window after the backfill (default 10: two forecast cycles)")
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--step", type=int, default=60, help="history step in seconds")
    ap.add_argument("--burst", type=int, default=200, help="back-to-back scrapes of each after the window")
    ap.add_argument("--prom-minutes", type=float, default=3, help="Prometheus scraping both after the window (0: skip)")
    ap.add_argument("--workdir", help="keep everything here instead of a temp dir")
    ap.add_argument("--sample-ms", type=float, default=1000, help="nodecast's RSS sampling period (20 finds short peaks)")
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="flags passed to nodecast after --")
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="footprint-")
    os.makedirs(work, exist_ok=True)
    procs = []

    def stop_all(*_):
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try: p.wait(timeout=60)
            except subprocess.TimeoutExpired: p.kill()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        t0 = time.time()
        now = int(time.time())
        om = os.path.join(work, "history.om")
        # The history ends a few minutes ago: the agent's own first collection must not
        # overlap it, as on a node whose Prometheus scraped it until the agent started.
        n_series, n_points = write_history(om, now - 300, a.days, a.step)
        tsdb = os.path.join(work, "prom", "tsdb"); os.makedirs(tsdb, exist_ok=True)
        # promtool cuts 2 h blocks by default (420 for 35 days); the hidden flag makes a few.
        subprocess.run([a.promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=1000h", om, tsdb],
                       check=True, stdout=subprocess.DEVNULL)
        os.remove(om)
        print(f"history: {n_series} series x {n_points} points ({a.days} d at {a.step} s), blocks in {time.time() - t0:.0f} s", flush=True)

        pp, pn, pe = free_port(), free_port(), free_port()
        cfg = os.path.join(work, "prom", "prometheus.yml")
        open(cfg, "w").write("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        prom = subprocess.Popen([a.prometheus, f"--config.file={cfg}", f"--storage.tsdb.path={tsdb}",
                                 f"--web.listen-address=127.0.0.1:{pp}", f"--storage.tsdb.retention.time={a.days + 30}d"],
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "prometheus.log"), "w"))
        procs.append(prom)
        wait_http(pp, "/-/ready", prom)

        store = os.path.join(work, "store")
        shutil.rmtree(store, ignore_errors=True)
        log = open(os.path.join(work, "nodecast.log"), "w")
        nc = subprocess.Popen([a.nodecast, f"--web.listen-address=127.0.0.1:{pn}", f"--storage.path={store}",
                               f"--backfill.prometheus-url=http://127.0.0.1:{pp}",
                               f"--backfill.selector=instance=\"{INSTANCE}\""] + [x for x in a.extra if x != "--"],
                              stdout=log, stderr=subprocess.STDOUT)
        ne = subprocess.Popen([a.node_exporter, f"--web.listen-address=127.0.0.1:{pe}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs += [nc, ne]
        started = time.time()
        sampler = Sampler({"nodecast": nc.pid, "node_exporter": ne.pid}, a.sample_ms / 1000); sampler.start()
        wait_http(pn, "/readyz", nc); wait_http(pe, "/metrics", ne)
        sampler.phase = "backfill"

        lat = {"nodecast": [], "node_exporter": []}
        floor = {"nodecast": [], "node_exporter": []}
        trivial = {"nodecast": "/healthz", "node_exporter": "/"}
        size = {}
        ports = {"nodecast": pn, "node_exporter": pe}
        phase, cycles_after, window_start, next_tick = "backfill", None, None, time.time()
        backfill = {}
        cpu0 = {}
        tick = 0
        while True:
            next_tick += SCRAPE_EVERY
            time.sleep(max(0.0, next_tick - time.time()))
            bodies = {}
            # The first request after the client's own sleep pays for waking the
            # client (measured here: the agent asked first looked slower whichever
            # it was), so the two take turns at going first.
            tick += 1
            order = list(ports.items())[:: 1 if tick % 2 else -1]
            for n, port in order:
                code, ms, body = scrape(port)
                if code != 200: sys.exit(f"{n} scrape: HTTP {code}")
                bodies[n] = body
                if phase == "window":
                    lat[n].append(ms); size[n] = len(body)
            if phase == "window":
                # Halfway between scrapes, so neither has just served a request.
                time.sleep(max(0.0, next_tick + SCRAPE_EVERY / 2 - time.time()))
                for n, port in order:
                    floor[n].append(scrape(port, trivial[n])[1])
            b = bodies["nodecast"]
            if phase == "backfill":
                stored = metric(b, "nodecast_backfill_samples_total", 'result="stored"')
                if stored:
                    backfill = {"stored": stored, "skipped": metric(b, "nodecast_backfill_samples_total", 'result="skipped"'),
                                "series": metric(b, "nodecast_backfill_series"), "queries": metric(b, "nodecast_backfill_queries_total"),
                                "seconds": time.time() - started}
                    print(f"backfill done after {backfill['seconds']:.0f} s: {backfill['stored']:.0f} samples stored, "
                          f"{backfill['skipped']:.0f} skipped, {backfill['series']:.0f} series, {backfill['queries']:.0f} queries", flush=True)
                    # The backfill wakes a forecast cycle as it ends: wait for one that
                    # finished after it, so the window sees full history from its start.
                    cycles_after = time.time() - SCRAPE_EVERY
                    phase = sampler.phase = "cycle"
                elif "backfill failed" in open(os.path.join(work, "nodecast.log")).read():
                    sys.exit("backfill failed; see " + os.path.join(work, "nodecast.log"))
                elif time.time() - started > 900:
                    sys.exit("no backfill within 15 minutes")
            elif phase == "cycle":
                if (metric(b, "nodecast_forecast_cycle_last_run_timestamp_seconds") or 0) > cycles_after:
                    phase, window_start = "window", time.time()
                    sampler.phase = "window"
                    cpu0 = {"nodecast": cpu_seconds(f"/proc/{nc.pid}/stat"), "node_exporter": cpu_seconds(f"/proc/{ne.pid}/stat"),
                            "threads": thread_cpu(nc.pid)}
                    print(f"forecast cycle after the backfill done; measuring for {a.minutes:g} min "
                          f"({metric(b, 'nodecast_forecast_series'):.0f} series forecast)", flush=True)
            elif time.time() - window_start >= a.minutes * 60:
                break
        el = time.time() - window_start
        cpu = {"nodecast": cpu_seconds(f"/proc/{nc.pid}/stat") - cpu0["nodecast"],
               "node_exporter": cpu_seconds(f"/proc/{ne.pid}/stat") - cpu0["node_exporter"]}
        groups = {}
        for key, s in thread_cpu(nc.pid).items():
            g = thread_group(key[1])
            groups[g] = groups.get(g, 0.0) + s - cpu0["threads"].get(key, 0.0)
        b = scrape(pn)[2]
        forecast_series = metric(b, "nodecast_forecast_series")
        cycle_s = metric(b, "nodecast_forecast_cycle_duration_seconds")
        store_mib = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs) / 2 ** 20
        burst = {}
        for n, port in ports.items():
            burst[n] = [scrape(port)[1] for _ in range(a.burst)]
        hwm = {n: status_kib(p.pid, "VmHWM") / 1024 for n, p in (("nodecast", nc), ("node_exporter", ne))}
        sampler.stop.set(); sampler.join()
        prom_ms = prometheus_scrapes(cfg, prom, pp, ports, a.prom_minutes)

        rows = {}
        for n in ports:
            s = [(t, r, an) for t, r, an, _, _ in sampler.samples[n] if t >= window_start + el / 2]
            rows[n] = {"cpu_h": cpu[n] / el * 3600, "core": cpu[n] / el * 100,
                       "steady": statistics.median(r for _, r, _ in s) / 1024,
                       "anon": statistics.median(an for _, _, an in s) / 1024,
                       "max_sampled": max(x[1] for x in sampler.samples[n]) / 1024,
                       "peak": hwm[n], "med": statistics.median(lat[n]), "p90": pct(lat[n], 0.9),
                       "bmed": statistics.median(burst[n]), "bp90": pct(burst[n], 0.9), "bytes": size[n],
                       "floor": statistics.median(floor[n]), "prom": prom_ms.get(n)}
        print()
        print(f"window {el:.0f} s after the backfill, both scraped every {SCRAPE_EVERY:.0f} s ({len(lat['nodecast'])} scrapes each); "
              f"burst {a.burst} scrapes each")
        print(f"{'agent':14} {'CPU s/h':>8} {'% core':>7} {'RSS steady':>11} {'anon':>6} {'RSS peak':>9} "
              f"{'scrape med':>11} {'p90':>7} {'burst med':>10} {'p90':>7} {'bytes':>7}")
        for n, r in rows.items():
            print(f"{n:14} {r['cpu_h']:8.2f} {r['core']:7.3f} {r['steady']:8.1f} MiB {r['anon']:6.1f} {r['peak']:5.1f} MiB "
                  f"{r['med']:8.2f} ms {r['p90']:7.2f} {r['bmed']:7.2f} ms {r['bp90']:7.2f} {r['bytes']:7d}")
        for n, r in rows.items():
            prom_txt = f"{r['prom']:.2f} ms" if r["prom"] is not None else "not measured"
            print(f"{n:14} trivial endpoint at 15 s (floor) {r['floor']:.2f} ms, /metrics over it {r['med'] - r['floor']:+.2f} ms; "
                  f"Prometheus scrape_duration_seconds median {prom_txt}")
        x, y = rows["nodecast"], rows["node_exporter"]
        print(f"ratios nodecast/node_exporter: CPU {x['cpu_h'] / max(y['cpu_h'], 1e-9):.2f}, RSS steady {x['steady'] / y['steady']:.2f}, "
              f"peak {x['peak'] / y['peak']:.2f}, scrape median {x['med'] / y['med']:.2f}")
        print("nodecast CPU s/h by thread: " + ", ".join(f"{g} {s / el * 3600:.2f}" for g, s in sorted(groups.items())))
        print(f"nodecast: {forecast_series:.0f} series forecast, last cycle {cycle_s * 1000:.0f} ms; store {store_mib:.1f} MiB on disk; "
              f"backfill {backfill['stored']:.0f} stored, {backfill['skipped']:.0f} skipped, {backfill['series']:.0f} series in {backfill['seconds']:.0f} s; "
              f"highest sampled RSS {x['max_sampled']:.1f} MiB")
        # Where the peak is: the highest sample of each phase, split into anonymous and file pages.
        print(f"nodecast RSS by phase (sampled every {a.sample_ms:g} ms; the backfill's phase ends at the scrape that sees it done, "
              f"the cycle's at the scrape that sees the first forecast cycle after it):")
        for ph in ("start", "backfill", "cycle", "window"):
            xs = [x for x in sampler.samples["nodecast"] if x[4] == ph]
            if xs:
                top = max(xs, key=lambda x: x[1])
                print(f"  {ph:9} highest {top[1] / 1024:5.1f} MiB (anon {top[2] / 1024:4.1f}, file {top[3] / 1024:4.1f}) "
                      f"{top[0] - started:6.1f} s after start; highest anon {max(x[2] for x in xs) / 1024:4.1f}, "
                      f"highest file {max(x[3] for x in xs) / 1024:4.1f} MiB")
        if a.workdir:
            with open(os.path.join(work, "nodecast-rss.tsv"), "w") as f:
                f.write("seconds\tphase\trss_kib\tanon_kib\tfile_kib\n")
                for t, r, an, fi, ph in sampler.samples["nodecast"]:
                    f.write(f"{t - started:.3f}\t{ph}\t{r}\t{an}\t{fi}\n")
    finally:
        stop_all()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
