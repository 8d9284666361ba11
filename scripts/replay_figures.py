#!/usr/bin/env python3
"""Pictures and the table of docs/alerts.md from `nodecast replay` on the corpus.

Generates the seed-1 scenario corpus, replays it with the release binary
(`cargo build --release` first), writes one SVG per scenario into
docs/figures/replay/ and prints the replay table (markdown) to stdout.
Pure standard library: the SVG is written by hand.

Usage: scripts/replay_figures.py [--seed 1] [--bin target/release/nodecast]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
W, H = 760, 300
L, R, T = 60, 50, 24
PLOT_H = 170
BARS_Y = T + PLOT_H + 24


def read_series(path):
    out = []
    with open(path) as fh:
        for row in csv.reader(l for l in fh if not l.startswith("#")):
            if row[0] == "timestamp":
                continue
            out.append((int(row[0]), float(row[1]), float(row[2])))
    return out


def read_cycles(path):
    out = []
    with open(path) as fh:
        for row in csv.DictReader(fh):
            tte = row["tte_seconds"]
            out.append((int(row["timestamp"]), float(tte) if tte else None))
    return out


def svg(report, series, cycles):
    t0 = series[0][0]
    days = report["days"]
    cap = max(s[2] for s in series)
    x = lambda t: L + (t - t0) / 86400 / days * (W - L - R)
    y = lambda v: T + PLOT_H - v / cap * PLOT_H
    eta_max = 48 * 3600
    ye = lambda s: T + PLOT_H - min(s, eta_max) / eta_max * PLOT_H
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{L}" y="14" font-weight="bold">{report["input"]} '
             f'({report["resource"]})</text>',
             f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{PLOT_H}" fill="none" stroke="#999"/>']
    for d in range(int(days) + 1):
        parts.append(f'<text x="{x(t0 + d * 86400):.1f}" y="{T + PLOT_H + 12}" '
                     f'text-anchor="middle" fill="#666">{d}d</text>')
    parts.append(f'<text x="{L - 4}" y="{T + 8}" text-anchor="end" fill="#1f77b4">'
                 f'{cap / 1e9:.0f} GB</text>')
    parts.append(f'<text x="{L - 4}" y="{T + PLOT_H}" text-anchor="end" fill="#1f77b4">0</text>')
    parts.append(f'<text x="{W - R + 4}" y="{T + 8}" fill="#2ca02c">48 h</text>')
    step = max(1, len(series) // 1500)
    pts = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v, _ in series[::step])
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#1f77b4" stroke-width="1.2"/>')
    # Our ETA, drawn only where it is within 48 h.
    seg = []
    for t, tte in cycles:
        if tte is not None and tte < eta_max:
            seg.append(f"{x(t):.1f},{ye(tte):.1f}")
        elif seg:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#2ca02c"/>')
            seg = []
    if seg:
        parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#2ca02c"/>')
    if report["exhausted_at_hours"] is not None:
        xe = x(t0 + report["exhausted_at_hours"] * 3600)
        parts.append(f'<line x1="{xe:.1f}" x2="{xe:.1f}" y1="{T}" y2="{BARS_Y + 52}" '
                     f'stroke="black" stroke-dasharray="3,3"/>')
    rows = [("ours", "warning", "#ff7f0e", "nodecast warning"),
            ("ours", "critical", "#d62728", "nodecast critical"),
            ("predict_linear", "warning", "#aaaaaa", "predict_linear warning"),
            ("predict_linear", "critical", "#444444", "predict_linear critical")]
    for i, (kind, sev, color, label) in enumerate(rows):
        yy = BARS_Y + i * 13
        parts.append(f'<text x="{L - 4}" y="{yy + 9}" text-anchor="end" font-size="9">{label}</text>')
        for a in report[kind]:
            if a["severity"] != sev:
                continue
            for s, e in a["spans_hours"]:
                xs, xe = x(t0 + s * 3600), x(t0 + e * 3600)
                parts.append(f'<rect x="{xs:.1f}" y="{yy}" width="{max(1.0, xe - xs):.1f}" '
                             f'height="10" fill="{color}"/>')
    parts.append(f'<text x="{W - R}" y="{H - 4}" text-anchor="end" fill="#666">blue: remaining; '
                 f'green: nodecast time to exhaustion (right axis, 0-48 h); dashed: exhausted</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def markdown(reports):
    """The replay table: lead in hours / firing episodes / hours firing per severity."""
    def num(v):
        return "-" if v is None else ("inf" if v == float("inf") else f"{v:.1f}")

    def cell(alerts, sev):
        a = next((a for a in alerts if a["severity"] == sev), None)
        return "-" if a is None else f'{num(a["lead_hours"])} / {a["episodes"]} / {a["hours_firing"]:.1f}'
    rows = ["| scenario | resource | days | exhausted at (h) | warning lead / episodes / h "
            "| critical lead / episodes / h | ETA error (h) | predict_linear warning "
            "| predict_linear critical |", "|" + " --- |" * 9]
    for r in reports:
        rows.append(f'| [{r["input"]}](figures/replay/{r["input"]}.svg) | {r["resource"]} '
                    f'| {r["days"]:.0f} | {num(r["exhausted_at_hours"])} '
                    f'| {cell(r["ours"], "warning")} | {cell(r["ours"], "critical")} '
                    f'| {num(r["eta_error_median_hours"])} '
                    f'| {cell(r["predict_linear"], "warning")} '
                    f'| {cell(r["predict_linear"], "critical")} |')
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(REPO, "target/release/nodecast"))
    ap.add_argument("--out", default=os.path.join(REPO, "docs/figures/replay"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, trace = os.path.join(tmp, "corpus"), os.path.join(tmp, "trace")
        subprocess.run([sys.executable, os.path.join(HERE, "replay_scenarios.py"),
                        "--seed", str(a.seed), "--out", corpus], check=True,
                       stdout=subprocess.DEVNULL)
        res = subprocess.run([a.bin, "replay", "--format", "json", "--trace", trace, corpus],
                             check=True, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        reports = json.loads(res.stdout)
        os.makedirs(a.out, exist_ok=True)
        for r in reports:
            series = read_series(os.path.join(corpus, r["input"] + ".csv"))
            cycles = read_cycles(os.path.join(trace, r["input"] + ".cycles.csv"))
            with open(os.path.join(a.out, r["input"] + ".svg"), "w") as fh:
                fh.write(svg(r, series, cycles))
        print(markdown(reports))
        print(res.stderr.decode().strip(), file=sys.stderr)


if __name__ == "__main__":
    main()
