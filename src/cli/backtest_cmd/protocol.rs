//! The development protocol (docs/forecast.md, "Development protocol"): every series
//! or origin belongs to a part one may tune on or to a part one only reports, fixed in
//! advance so that no change to a model can move a series from one to the other.
//!
//! - M4 hourly: by a hash of the series id, not by position (the file is ordered by
//!   id, and ids are grouped by source).
//! - Rolling origins over CSV files (NAB): the earlier half of the origins is tuned on,
//!   the later half (the most recent days) is held out.
//! - Synthetic node-like series ([`synthetic`]): every other series of each kind.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// May be looked at while changing models.
    Tune,
    /// Only reported; targets are asserted here.
    Held,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Tune => "tune",
            Part::Held => "held",
        })
    }
}

/// FNV-1a, 64 bit: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// splitmix64's finaliser: FNV of ids that differ in one digit differ in few bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The part a series with this id belongs to.
pub fn part_of_id(id: &str) -> Part {
    if mix(fnv1a(id)) & 1 == 0 {
        Part::Tune
    } else {
        Part::Held
    }
}

/// The part of rolling origin `k` back (1 = the last horizon) out of `origins`.
pub fn part_of_origin(k: usize, origins: usize) -> Part {
    if k <= origins / 2 {
        Part::Held
    } else {
        Part::Tune
    }
}

/// One generated series on a 5-minute grid (NaN = gap).
#[derive(Debug, Clone)]
pub struct Synthetic {
    pub id: String,
    /// Every other series of each kind is held out, so both parts see every kind.
    pub part: Part,
    pub values: Vec<f64>,
}

/// Seconds between points of the synthetic series.
pub const SYNTH_STEP_SECS: f64 = 300.0;
const DAY: usize = 288;

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Daily shape peaking in the working day, 0 at night, in [0, 1].
fn office(t: usize) -> f64 {
    let h = (t % DAY) as f64 / 12.0;
    (((h - 8.0) / 10.0 * std::f64::consts::PI).sin()).max(0.0)
}

/// 0 on the two weekend days of every 7.
fn weekday(t: usize) -> f64 {
    f64::from(u8::from((t / DAY) % 7 < 5))
}

/// Kinds of node series generated, in the order `synthetic` cycles through them.
pub const SYNTH_KINDS: [&str; 6] = ["disk", "memory", "cpu", "shift", "load", "gappy"];

/// `count` seeded node-like series of `days` days at 5 minutes: filesystem free
/// space filling with log rotation, memory with daily and weekly cycles, CPU ratio
/// with bursts, level shifts, load with spikes, and a gappy memory-like series.
pub fn synthetic(count: usize, days: usize, seed: u64) -> Vec<Synthetic> {
    let n = days * DAY;
    (0..count)
        .map(|i| {
            let kind = SYNTH_KINDS[i % SYNTH_KINDS.len()];
            let mut r = Rng((seed ^ (i as u64 + 1)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let values = match kind {
                "disk" => disk(&mut r, n),
                "memory" => memory(&mut r, n),
                "cpu" => cpu(&mut r, n),
                "shift" => shift(&mut r, n),
                "load" => load(&mut r, n),
                _ => {
                    let mut v = memory(&mut r, n);
                    holes(&mut r, &mut v);
                    v
                }
            };
            Synthetic {
                id: format!("synth-{kind}-{seed}-{i}"),
                part: if (i / SYNTH_KINDS.len()) % 2 == 0 {
                    Part::Tune
                } else {
                    Part::Held
                },
                values,
            }
        })
        .collect()
}

/// Free bytes of a 100 GB filesystem: a steady fill, busier by day, with a log
/// rotation that frees a few GB every 1–3 days at night.
fn disk(r: &mut Rng, n: usize) -> Vec<f64> {
    let size = 100e9;
    let rate = r.range(0.5e9, 4e9) / DAY as f64;
    let rotate_every = DAY * (1 + (r.unit() * 3.0) as usize);
    let freed = r.range(0.2, 0.9);
    let mut used = r.range(20e9, 50e9);
    let mut since = 0.0;
    (0..n)
        .map(|t| {
            let d = rate * (0.3 + 1.4 * office(t)) * (1.0 + 0.3 * r.normal()).max(0.0);
            used += d;
            since += d;
            if t % rotate_every == 2 * 12 {
                used -= freed * since;
                since = 0.0;
            }
            (size - used).clamp(0.0, size)
        })
        .collect()
}

/// MemAvailable of a 32 GB machine: daily and weekly cycles, AR(1) noise.
fn memory(r: &mut Rng, n: usize) -> Vec<f64> {
    let total = 32e9;
    let base = r.range(0.4, 0.7) * total;
    let day_amp = r.range(0.05, 0.2) * total;
    let week = r.range(0.0, 1.0);
    let mut e = 0.0;
    (0..n)
        .map(|t| {
            e = 0.95 * e + 0.01 * total * r.normal();
            let busy = office(t) * (1.0 - week + week * weekday(t));
            (base - day_amp * busy + e).clamp(0.0, total)
        })
        .collect()
}

/// CPU utilisation ratio: a daily cycle plus bursts of a few minutes to hours.
fn cpu(r: &mut Rng, n: usize) -> Vec<f64> {
    let base = r.range(0.02, 0.2);
    let amp = r.range(0.05, 0.4);
    let (mut burst, mut height) = (0usize, 0.0);
    (0..n)
        .map(|t| {
            if burst == 0 && r.unit() < 0.004 {
                burst = 1 + (r.unit() * 24.0) as usize;
                height = r.range(0.2, 0.8);
            }
            let b = if burst > 0 {
                burst -= 1;
                height
            } else {
                0.0
            };
            (base + amp * office(t) * weekday(t).max(0.5) + b + 0.02 * r.normal()).clamp(0.0, 1.0)
        })
        .collect()
}

/// A daily cycle whose level steps up or down 1–3 times (a deploy, a new tenant).
fn shift(r: &mut Rng, n: usize) -> Vec<f64> {
    let shifts: Vec<(usize, f64)> = (0..1 + (r.unit() * 3.0) as usize)
        .map(|_| ((r.unit() * n as f64) as usize, r.range(-30.0, 40.0)))
        .collect();
    let amp = r.range(5.0, 20.0);
    (0..n)
        .map(|t| {
            let lvl: f64 = shifts.iter().filter(|s| t >= s.0).map(|s| s.1).sum();
            (100.0 + lvl + amp * office(t) + 2.0 * r.normal()).max(0.0)
        })
        .collect()
}

/// Load per CPU: mean-reverting noise with rare spikes, a weak daily cycle.
fn load(r: &mut Rng, n: usize) -> Vec<f64> {
    let mean = r.range(0.1, 1.0);
    let mut x = mean;
    (0..n)
        .map(|t| {
            x += 0.05 * (mean - x) + 0.03 * r.normal();
            let spike = if r.unit() < 0.002 {
                r.range(1.0, 4.0)
            } else {
                0.0
            };
            (x + 0.2 * mean * office(t) + spike).max(0.0)
        })
        .collect()
}

/// Scrape gaps: 1-hour holes over 5% of the points and one 8-hour outage.
fn holes(r: &mut Rng, v: &mut [f64]) {
    let n = v.len();
    for _ in 0..n / 240 {
        let a = (r.unit() * (n - 12) as f64) as usize;
        v[a..a + 12].fill(f64::NAN);
    }
    let a = DAY + (r.unit() * (n - 3 * DAY) as f64) as usize;
    v[a..a + 96].fill(f64::NAN);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m4_split_is_balanced_and_not_by_position() {
        let ids: Vec<String> = (1..=414).map(|i| format!("H{i}")).collect();
        let held: Vec<bool> = ids.iter().map(|i| part_of_id(i) == Part::Held).collect();
        let n = held.iter().filter(|h| **h).count();
        assert!((187..=227).contains(&n), "{n} of 414 held");
        // Not the first or second half.
        assert!(held[..207].iter().any(|h| *h) && held[207..].iter().any(|h| !*h));
    }

    #[test]
    fn synthetic_is_seeded_and_physical() {
        let a = synthetic(12, 3, 7);
        let b = synthetic(12, 3, 7);
        assert_eq!(format!("{:?}", a[2].values), format!("{:?}", b[2].values));
        assert_ne!(
            format!("{:?}", synthetic(12, 3, 8)[2].values),
            format!("{:?}", a[2].values)
        );
        for s in &a {
            assert_eq!(s.values.len(), 3 * DAY);
            assert!(s.values.iter().all(|v| v.is_nan() || *v >= 0.0), "{}", s.id);
        }
        assert!(a[2].values.iter().all(|v| *v <= 1.0), "cpu is a ratio");
        assert!(a[5].values.iter().any(|v| v.is_nan()), "gappy has gaps");
    }

    #[test]
    fn later_origins_are_held() {
        assert_eq!(part_of_origin(1, 6), Part::Held);
        assert_eq!(part_of_origin(3, 6), Part::Held);
        assert_eq!(part_of_origin(4, 6), Part::Tune);
    }
}
