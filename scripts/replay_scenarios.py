#!/usr/bin/env python3
"""Seeded scenario corpus for `nodecast replay` (issue 10).

Writes one CSV per scenario (`timestamp,value,capacity`, 1-minute samples of the
remaining quantity, first line `# resource=...`) into OUT. Every rate, level and
phase is drawn from the seed, so `--seed 1` is the corpus the tests and
docs/alerts.md use and other seeds are held-out variations of the same kinds.

Usage: scripts/replay_scenarios.py --seed 1 --out DIR [--only NAME,...]
Pure standard library; deterministic for a given seed.
"""
import argparse
import math
import os
import random

GB = 1e9
START = 1767571200  # 2026-01-05 00:00 UTC, a Monday
STEP = 60


def noise(rng, sd):
    return rng.gauss(0.0, sd)


def clamp(v, cap):
    return max(0.0, min(cap, v))


def steady_fill(rng):
    """Steady fill over several days; full at day 5-8, freed 12 h later."""
    cap = 100 * GB
    full_h = rng.uniform(5, 8) * 24
    free0 = rng.uniform(55, 75) * GB
    rate = free0 / full_h

    def f(h):
        if h >= full_h + 12:
            return 50 * GB + noise(rng, 0.02 * GB)
        return free0 - rate * h + noise(rng, 0.03 * GB)
    return "filesystem_space", cap, 10, f


def fresh_node_fill(rng):
    """Fill that starts in a fresh node's first hour; full after 28-40 h."""
    cap = 50 * GB
    start_h = rng.uniform(0.1, 0.9)
    full_h = rng.uniform(28, 40)
    free0 = rng.uniform(30, 40) * GB
    rate = free0 / (full_h - start_h)

    def f(h):
        if h >= full_h + 6:
            return 30 * GB + noise(rng, 0.02 * GB)
        return free0 - rate * max(0.0, h - start_h) + noise(rng, 0.02 * GB)
    return "filesystem_space", cap, 7, f


def daily_cycle_fill(rng):
    """Daily cycle (busy by day) on top of a fill; full at day 6-9."""
    cap = 200 * GB
    amp = rng.uniform(4, 8) * GB
    full_h = rng.uniform(6, 9) * 24
    free0 = rng.uniform(70, 90) * GB
    rate = (free0 - amp) / full_h
    phase = rng.uniform(0, 24)

    def f(h):
        if h >= full_h + 12:
            return 80 * GB + noise(rng, 0.05 * GB)
        return free0 - rate * h - amp * (1 + math.sin(2 * math.pi * (h + phase) / 24)) / 2 \
            + noise(rng, 0.1 * GB)
    return "filesystem_space", cap, 12, f


def weekly(rng, friday_lo, friday_hi):
    """Weekdays write, weekends partly clean; placed by the free space left on the
    first Friday evening, in days of weekday writes (friday_lo-friday_hi): weekday
    writes outrun the net weekly rate, so a disk sized by the net rate runs out
    days earlier than that rate says."""
    cap = 500 * GB
    weekday = rng.uniform(25, 35) * GB
    weekend = rng.uniform(10, 20) * GB
    free0 = (5 + rng.uniform(friday_lo, friday_hi)) * weekday

    def used(d):
        whole = int(d)
        u = sum(weekday if day % 7 < 5 else -weekend for day in range(whole))
        return u + (weekday if whole % 7 < 5 else -weekend) * (d - whole)
    # First zero crossing: in week 2, after the weekend's cleanup is written again.
    full_d = 7 + (free0 - used(7)) / weekday

    def f(h):
        d = h / 24
        v = free0 - used(d) + noise(rng, 0.2 * GB)
        return v if d < full_d + 1 else 200 * GB
    return "filesystem_space", cap, 14, f


def weekly_cycle_fill(rng):
    """Weekly cycle; the first Friday is 1.3-2.5 days of weekday writes from full,
    so it runs out in week 2 (day 9.5-11) with nothing alarming before."""
    return weekly(rng, 1.3, 2.5)


def weekly_fill_low_friday(rng):
    """Weekly cycle whose first Friday evening is 0.3-0.9 days of weekday writes
    from full: five days of history cannot show that the weekend cleans up, so
    any forecaster warns then; the target is to warn no later and in no more
    episodes than predict_linear."""
    return weekly(rng, 0.3, 0.9)


def memory_leak(rng):
    """MemAvailable with a daily load cycle and a leak; OOM at day 8-11, then a restart."""
    cap = 16 * GB
    amp = rng.uniform(2, 4) * GB
    base = rng.uniform(10, 12) * GB
    oom_d = rng.uniform(8, 11)
    # Runs out at the busiest hour of day oom_d.
    leak = (base - amp) / (oom_d * 24) * 1.15
    oom_h = [None]

    def f(h):
        if oom_h[0] is not None and h >= oom_h[0] + 1:
            return base - amp / 2 + noise(rng, 0.05 * GB)
        load = amp * (1 + math.sin(2 * math.pi * (h - 8) / 24)) / 2
        v = base - load - leak * h + noise(rng, 0.05 * GB)
        if v <= 0 and oom_h[0] is None:
            oom_h[0] = h
        return v
    return "memory", cap, 13, f


def runaway_log(rng):
    """Quiet disk; at day 5 a runaway log fills it in 1-2 h; cleaned 3 h later."""
    cap = 50 * GB
    free = rng.uniform(15, 25) * GB
    t0 = 5 * 24 + rng.uniform(0, 24)
    dur = rng.uniform(1.0, 2.0)

    def f(h):
        if h < t0:
            return free + noise(rng, 0.02 * GB)
        if h < t0 + dur:
            return free * (1 - (h - t0) / dur) + noise(rng, 0.02 * GB)
        if h < t0 + dur + 3:
            return 0.0
        return free + noise(rng, 0.02 * GB)
    return "filesystem_space", cap, 8, f


def fill_then_full(rng):
    """Fills over 3-5 days, then stays full to the end of the history."""
    cap = 100 * GB
    full_h = rng.uniform(3, 5) * 24
    free0 = rng.uniform(40, 60) * GB

    def f(h):
        return free0 * (1 - h / full_h) + noise(rng, 0.02 * GB)
    return "filesystem_space", cap, 8, f


def hover_near_zero(rng):
    """Fills to a few MB above zero at day 3-4 and hovers there (is full)."""
    cap = 100 * GB
    full_h = rng.uniform(3, 4) * 24
    free0 = rng.uniform(30, 40) * GB

    def f(h):
        if h < full_h:
            return free0 * (1 - h / full_h) + noise(rng, 0.02 * GB)
        return rng.uniform(5e6, 60e6)
    return "filesystem_space", cap, 7, f


def sawtooth(rng):
    """Log rotation: 16:00-24:00 logs eat 2-3 GB/h, midnight rotation frees them."""
    cap = 100 * GB
    free = rng.uniform(38, 45) * GB
    rate = rng.uniform(2.0, 2.6) * GB

    def f(h):
        hod = h % 24
        used = (hod - 16) * rate if hod >= 16 else 0.0
        return free - used + noise(rng, 0.05 * GB)
    return "filesystem_space", cap, 9, f


def cleanup_6h(rng):
    """A cache grows 3-5 GB per 6 h and is cleaned every 6 h."""
    cap = 100 * GB
    free = rng.uniform(25, 35) * GB
    per = rng.uniform(3, 5) * GB

    def f(h):
        return free - per * ((h % 6) / 6) + noise(rng, 0.03 * GB)
    return "filesystem_space", cap, 8, f


def rampup_then_flat(rng):
    """Fresh node: images and packages land in the first 2-4 h, then flat."""
    cap = 100 * GB
    free0 = rng.uniform(80, 90) * GB
    ramp = rng.uniform(2, 4)
    used = rng.uniform(15, 30) * GB

    def f(h):
        return free0 - used * min(1.0, h / ramp) + noise(rng, 0.03 * GB)
    return "filesystem_space", cap, 7, f


def weekend_backup(rng):
    """Saturday 00:00-06:00 a backup writes 20-30 GB; deleted Sunday 22:00."""
    cap = 200 * GB
    free = rng.uniform(50, 70) * GB
    size = rng.uniform(20, 30) * GB

    def f(h):
        wh = h % (7 * 24)
        sat = 5 * 24
        if sat <= wh < sat + 6:
            used = size * (wh - sat) / 6
        elif sat + 6 <= wh < sat + 46:
            used = size
        else:
            used = 0.0
        return free - used + noise(rng, 0.05 * GB)
    return "filesystem_space", cap, 14, f


def nightly_batch(rng):
    """01:00-03:00 a batch writes 10-15 GB of scratch, removed at 05:00."""
    cap = 100 * GB
    free = rng.uniform(40, 50) * GB
    size = rng.uniform(10, 15) * GB

    def f(h):
        hod = h % 24
        if 1 <= hod < 3:
            used = size * (hod - 1) / 2
        elif 3 <= hod < 5:
            used = size
        else:
            used = 0.0
        return free - used + noise(rng, 0.03 * GB)
    return "filesystem_space", cap, 10, f


def memory_daily(rng):
    """MemAvailable swinging with the daily load; never runs out."""
    cap = 16 * GB
    lo = rng.uniform(2.5, 4) * GB
    hi = rng.uniform(11, 13) * GB

    def f(h):
        x = (1 + math.sin(2 * math.pi * (h - 8) / 24)) / 2
        return hi - (hi - lo) * x + noise(rng, 0.1 * GB)
    return "memory", cap, 10, f


def volume_grown(rng):
    """Fills; grown in place from 60 to 100 GB at day 3, two to three days before full."""
    cap0, cap1 = 60 * GB, 100 * GB
    grow_h = 3 * 24 + rng.uniform(0, 12)
    rate = rng.uniform(5, 7) * GB / 24
    # Grown while still two to three days from full: no warning was due yet.
    free_at_grow = rate * rng.uniform(48, 72)
    full_h = grow_h + (free_at_grow + 40 * GB) / rate
    free0 = free_at_grow + rate * grow_h

    def f(h):
        v = free0 - rate * h + (40 * GB if h >= grow_h else 0.0)
        if h >= full_h + 8:
            return 30 * GB
        return v + noise(rng, 0.03 * GB)

    def capf(h):
        return cap1 if h >= grow_h else cap0
    return "filesystem_space", (cap0, capf), 14, f


def missing_6h(rng):
    """Steady fill, full at day 7-9, with six hours missing at day 4."""
    cap = 100 * GB
    full_h = rng.uniform(7, 9) * 24
    free0 = rng.uniform(50, 70) * GB
    gap = 4 * 24 + rng.uniform(0, 12)

    def f(h):
        if gap <= h < gap + 6:
            return None
        if h >= full_h + 10:
            return 40 * GB
        return free0 * (1 - h / full_h) + noise(rng, 0.03 * GB)
    return "filesystem_space", cap, 11, f


SCENARIOS = [
    steady_fill, fresh_node_fill, daily_cycle_fill, weekly_cycle_fill, weekly_fill_low_friday,
    memory_leak,
    runaway_log, fill_then_full, hover_near_zero, sawtooth, cleanup_6h, rampup_then_flat,
    weekend_backup, nightly_batch, memory_daily, volume_grown, missing_6h,
]


def write(out, seed, gen):
    name = gen.__name__
    rng = random.Random(f"{seed}:{name}")
    resource, cap, days, f = gen(rng)
    capf = cap[1] if isinstance(cap, tuple) else (lambda h, c=cap: c)
    path = os.path.join(out, f"{name}.csv")
    with open(path, "w") as fh:
        fh.write(f"# resource={resource} scenario={name} seed={seed}\n")
        fh.write("timestamp,value,capacity\n")
        for i in range(days * 24 * 3600 // STEP):
            h = i * STEP / 3600
            v = f(h)
            if v is None:
                continue
            c = capf(h)
            fh.write(f"{START + i * STEP},{clamp(v, c):.0f},{c:.0f}\n")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    for g in SCENARIOS:
        if not only or g.__name__ in only:
            print(write(a.out, a.seed, g))


if __name__ == "__main__":
    main()
