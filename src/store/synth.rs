//! Synthetic but realistic node series, for tests and the size bench: a
//! default-collector-like mix of counters in hundredths (cpu seconds),
//! integer byte counters, constant gauges and noisy gauges.

/// What kind of series to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// cpu seconds: hundredths, increasing by a varying amount.
    CpuCounter,
    /// bytes/packets: integers, bursty increases.
    ByteCounter,
    /// e.g. MemTotal, filesystem size: never changes.
    Constant,
    /// e.g. load average, PSI averages: noise with two decimals.
    NoisyGauge,
    /// e.g. MemAvailable, free bytes: integers drifting by page multiples.
    IntGauge,
}

pub struct Synth {
    pub key: String,
    pub kind: Kind,
    value: f64,
    rng: u64,
}

impl Synth {
    pub fn new(key: String, kind: Kind, seed: u64) -> Synth {
        let value = match kind {
            Kind::CpuCounter => 123_456.78,
            Kind::ByteCounter => 9_876_543_210.0,
            Kind::Constant => 16_777_216_000.0,
            Kind::NoisyGauge => 1.5,
            Kind::IntGauge => 8_000_000_000.0,
        };
        Synth {
            key,
            kind,
            value,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    fn rand(&mut self) -> f64 {
        // xorshift64*: deterministic and dependency-free.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next sample, one step later.
    pub fn next_value(&mut self) -> f64 {
        let r = self.rand();
        self.value = match self.kind {
            Kind::CpuCounter => ((self.value * 100.0).round() + (r * 1500.0).floor()) / 100.0,
            Kind::ByteCounter => self.value + (r * r * 5e6).floor(),
            Kind::Constant => self.value,
            // procfs prints these with two decimals (loadavg, PSI averages)
            Kind::NoisyGauge => {
                ((self.value * 0.9 + r * 0.4 + 0.1).max(0.0) * 100.0).round() / 100.0
            }
            Kind::IntGauge => self.value + ((r - 0.5) * 64.0).round() * 4096.0,
        };
        self.value
    }
}

/// A default-collector-like set of `n` series: roughly a third cpu mode
/// counters, a quarter byte counters, the rest split between constant,
/// noisy and integer gauges.
pub fn node_like(n: usize) -> Vec<Synth> {
    (0..n)
        .map(|i| {
            let kind = match i % 12 {
                0..=3 => Kind::CpuCounter,
                4..=6 => Kind::ByteCounter,
                7 | 8 => Kind::Constant,
                9 => Kind::NoisyGauge,
                _ => Kind::IntGauge,
            };
            let key = format!("synthetic_{kind:?}{{series=\"{i}\"}}").to_lowercase();
            Synth::new(key, kind, i as u64 + 1)
        })
        .collect()
}
