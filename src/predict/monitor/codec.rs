//! Binary records of the monitor in the store: a series' state and a pending
//! path. Little-endian, a magic and a version first; anything that does not
//! decode exactly is reported as an error for the caller to log and replace,
//! never a panic.

use std::collections::VecDeque;

use super::accuracy::{Bucket, Pending, Windowed, BUCKETS, DAYS, FINE};
use super::drift::Detector;
use super::SeriesMonitor;
use crate::forecast::ModelKind;

const STATE_MAGIC: &[u8; 4] = b"NCM2";
/// States written by earlier versions (28 six-hour buckets per window): still
/// read after an upgrade, their buckets folded into the fine and day rings.
const STATE_MAGIC_RING: &[u8; 4] = b"NCM1";
const PATH_MAGIC: &[u8; 4] = b"NCP4";
/// Paths written by earlier versions (16-bit bounds; f32 offsets): still read
/// after an upgrade.
const PATH_MAGIC_Q16: &[u8; 4] = b"NCP3";
const PATH_MAGIC_F32: &[u8; 4] = b"NCP2";
/// 8-bit codes of a bound's distance from the mean: the finite ones on a grid of
/// `B_TOP + 1` levels over the distances' own range, the top three for the rest.
const B_NAN: u8 = u8::MAX;
const B_POS: u8 = u8::MAX - 1;
const B_NEG: u8 = u8::MAX - 2;
const B_TOP: u8 = u8::MAX - 3;
/// How a bound array is written: as distances from the mean, or (a finite bound
/// where the mean is not) on its own 16-bit grid.
const BOUND_OFFSETS: u8 = 0;
const BOUND_OWN: u8 = 1;
/// 16-bit codes of a path's values: the finite ones on a grid of
/// `Q_TOP + 1` levels over the array's own range, the top three for the rest.
const Q_NAN: u16 = u16::MAX;
const Q_POS: u16 = u16::MAX - 1;
const Q_NEG: u16 = u16::MAX - 2;
const Q_TOP: u16 = u16::MAX - 3;
/// A record claiming more than this many elements in a list is corrupt.
const MAX_LIST: usize = 1 << 20;

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        self.0.push(u8::from(v.is_some()));
        self.i64(v.unwrap_or(0));
    }
    fn bucket(&mut self, b: Bucket) {
        let (m, c, n) = (b.mase, b.cover, b.n);
        self.f32(m);
        self.f32(c);
        self.0.extend_from_slice(&n.to_le_bytes());
    }
    fn windows(&mut self, ws: &[Windowed]) {
        self.u32(ws.len() as u32);
        for w in ws {
            self.i64(w.head);
            w.fine.iter().for_each(|b| self.bucket(*b));
            self.i64(w.day_head);
            w.days.iter().for_each(|b| self.bucket(*b));
        }
    }
    /// Values as 16-bit steps between the array's least and greatest finite
    /// value: a quarter of the bytes of f64, the rounding at most 1/131064 of
    /// the array's own spread (never of the value: a 100 GB filesystem's
    /// path keeps its detail). Pending paths are most of the monitor's bytes in
    /// the store, and a score moves by far less than the 1 % the online-versus-
    /// backtest check allows.
    /// Returns the values as the reader will see them.
    fn quantized(&mut self, v: &[f64]) -> Vec<f64> {
        let (lo, q) = grid(v, Q_TOP.into());
        self.u32(v.len() as u32);
        self.f64(lo);
        self.f64(q);
        let mut seen = Vec::with_capacity(v.len());
        for &x in v {
            let code = match x {
                x if x.is_nan() => Q_NAN,
                f64::INFINITY => Q_POS,
                f64::NEG_INFINITY => Q_NEG,
                _ if q == 0.0 => 0,
                x => ((x - lo) / q).round().clamp(0.0, f64::from(Q_TOP)) as u16,
            };
            self.0.extend_from_slice(&code.to_le_bytes());
            seen.push(q16(code, lo, q));
        }
        seen
    }
    /// A band's bound as 8-bit steps of its distance from the (decoded) mean,
    /// over the distances' own range: the band widens smoothly along a path, so
    /// the rounding is at most 1/504 of how much the width changes, and only an
    /// actual that close to a bound can change the coverage. Half the bytes of
    /// the mean's 16 bits; the mean, which the MASE reads, keeps those.
    fn bound(&mut self, mean: &[f64], v: &[f64]) {
        if v.iter()
            .zip(mean)
            .any(|(x, m)| x.is_finite() && !m.is_finite())
        {
            self.0.push(BOUND_OWN);
            self.quantized(v);
            return;
        }
        self.0.push(BOUND_OFFSETS);
        let d: Vec<f64> = v.iter().zip(mean).map(|(x, m)| x - m).collect();
        let (lo, q) = grid(&d, B_TOP.into());
        self.u32(v.len() as u32);
        self.f64(lo);
        self.f64(q);
        for (&x, &dx) in v.iter().zip(&d) {
            self.0.push(match x {
                x if x.is_nan() => B_NAN,
                f64::INFINITY => B_POS,
                f64::NEG_INFINITY => B_NEG,
                _ if q == 0.0 => 0,
                _ => ((dx - lo) / q).round().clamp(0.0, f64::from(B_TOP)) as u8,
            });
        }
    }
}

/// Least finite value and the step of `levels − 1` equal steps up to the
/// greatest; (0, 0) without finite values.
fn grid(v: &[f64], top: f64) -> (f64, f64) {
    let finite = || v.iter().copied().filter(|x| x.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    if lo <= hi {
        (lo, (hi - lo) / top)
    } else {
        (0.0, 0.0)
    }
}

fn q16(code: u16, lo: f64, q: f64) -> f64 {
    match code {
        Q_NAN => f64::NAN,
        Q_POS => f64::INFINITY,
        Q_NEG => f64::NEG_INFINITY,
        c => lo + f64::from(c) * q,
    }
}

struct R<'a>(&'a [u8]);

type Res<T> = Result<T, String>;

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if self.0.len() < n {
            return Err("record truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn arr<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn i64(&mut self) -> Res<i64> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    fn f64(&mut self) -> Res<f64> {
        Ok(f64::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Res<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn f32(&mut self) -> Res<f32> {
        Ok(f32::from_le_bytes(self.arr()?))
    }
    fn len(&mut self) -> Res<usize> {
        let n = self.u32()? as usize;
        if n > MAX_LIST || n > self.0.len() {
            return Err(format!("list of {n} elements in {} bytes", self.0.len()));
        }
        Ok(n)
    }
    fn str(&mut self) -> Res<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "name is not UTF-8".into())
    }
    fn opt_i64(&mut self) -> Res<Option<i64>> {
        let some = self.take(1)?[0];
        let v = self.i64()?;
        Ok((some == 1).then_some(v))
    }
    fn model(&mut self) -> Res<ModelKind> {
        let s = self.str()?;
        s.parse().map_err(|_| format!("unknown model {s:?}"))
    }
    fn bucket(&mut self) -> Res<Bucket> {
        Ok(Bucket {
            mase: self.f32()?,
            cover: self.f32()?,
            n: u16::from_le_bytes(self.arr()?),
        })
    }
    /// A bucket number: anything far outside the epoch's range is corrupt (and
    /// would overflow the ring arithmetic).
    fn number(&mut self) -> Res<i64> {
        let b = self.i64()?;
        if b.unsigned_abs() > 1 << 40 {
            return Err(format!("bucket number {b} out of range"));
        }
        Ok(b)
    }
    fn windows(&mut self, ring: bool) -> Res<Vec<Windowed>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut w = Windowed::default();
            if ring {
                // The previous format: a ring of 28 six-hour buckets, `head` the newest.
                let head = self.number()?;
                let ring = (0..BUCKETS)
                    .map(|_| self.bucket())
                    .collect::<Res<Vec<Bucket>>>()?;
                for b in head - BUCKETS as i64 + 1..=head {
                    w.merge(b, ring[b.rem_euclid(BUCKETS as i64) as usize]);
                }
            } else {
                w.head = self.number()?;
                for b in w.fine.iter_mut().take(FINE) {
                    *b = self.bucket()?;
                }
                w.day_head = self.number()?;
                for b in w.days.iter_mut().take(DAYS) {
                    *b = self.bucket()?;
                }
            }
            out.push(w);
        }
        Ok(out)
    }
    fn deltas(&mut self, base: f64) -> Res<Vec<f64>> {
        let n = self.len()?;
        (0..n).map(|_| Ok(base + f64::from(self.f32()?))).collect()
    }
    fn quantized(&mut self) -> Res<Vec<f64>> {
        let n = self.len()?;
        let (lo, q) = (self.f64()?, self.f64()?);
        if !(lo.is_finite() && q.is_finite() && q >= 0.0) {
            return Err("bad path grid".into());
        }
        (0..n)
            .map(|_| Ok(q16(u16::from_le_bytes(self.arr()?), lo, q)))
            .collect()
    }
    fn bound(&mut self, mean: &[f64]) -> Res<Vec<f64>> {
        match self.take(1)?[0] {
            BOUND_OWN => return self.quantized(),
            BOUND_OFFSETS => {}
            k => return Err(format!("unknown bound encoding {k}")),
        }
        let n = self.len()?;
        if n != mean.len() {
            return Err("bound and mean differ in length".into());
        }
        let (lo, q) = (self.f64()?, self.f64()?);
        if !(lo.is_finite() && q.is_finite() && q >= 0.0) {
            return Err("bad bound grid".into());
        }
        let codes = self.take(n)?;
        Ok(codes
            .iter()
            .zip(mean)
            .map(|(&c, &m)| match c {
                B_NAN => f64::NAN,
                B_POS => f64::INFINITY,
                B_NEG => f64::NEG_INFINITY,
                c => m + lo + f64::from(c) * q,
            })
            .collect())
    }
    fn done(&self) -> Res<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("{} trailing bytes", self.0.len()))
        }
    }
}

pub fn encode_state(m: &SeriesMonitor) -> Vec<u8> {
    let mut w = W::default();
    w.0.extend_from_slice(STATE_MAGIC);
    w.str(m.champion.name());
    w.str(m.challenger.map_or("", |c| c.name()));
    w.0.push(u8::from(m.pinned));
    w.u32(m.horizons_ms.len() as u32);
    m.horizons_ms.iter().for_each(|h| w.i64(*h));
    w.windows(&m.exposed);
    w.windows(&m.shadow);
    w.i64(m.gate_since_ms);
    let d = &m.drift;
    for v in [d.scale, d.pos, d.neg] {
        w.f64(v);
    }
    w.u32(d.seen);
    for v in [d.pos_from_ms, d.neg_from_ms, d.quiet_until_ms] {
        w.i64(v);
    }
    w.u32(m.lead.len() as u32);
    for (t, f) in &m.lead {
        w.i64(*t);
        w.f64(*f);
    }
    w.opt_i64(m.last_drift_ms);
    w.i64(m.drifts as i64);
    w.i64(m.promotions as i64);
    match &m.last_promotion {
        Some((a, b, x, y)) => {
            w.str(a.name());
            w.str(b.name());
            w.f64(*x);
            w.f64(*y);
        }
        None => w.str(""),
    }
    w.opt_i64(m.train_from_ms);
    w.0
}

/// The persisted part of a state; the caller reconciles it with the settings.
pub fn decode_state(b: &[u8]) -> Result<SeriesMonitor, String> {
    let mut r = R(b);
    let magic = r.take(4)?;
    if magic != STATE_MAGIC && magic != STATE_MAGIC_RING {
        return Err("not a monitor state record".into());
    }
    let ring = magic == STATE_MAGIC_RING;
    let champion = r.model()?;
    let challenger = match r.str()?.as_str() {
        "" => None,
        s => Some(s.parse().map_err(|_| format!("unknown model {s:?}"))?),
    };
    let pinned = r.take(1)?[0] == 1;
    let n = r.len()?;
    let horizons_ms = (0..n).map(|_| r.i64()).collect::<Res<Vec<i64>>>()?;
    let exposed = r.windows(ring)?;
    let shadow = r.windows(ring)?;
    if exposed.len() != horizons_ms.len() {
        return Err("windows do not match the horizons".into());
    }
    let gate_since_ms = r.i64()?;
    let (scale, pos, neg) = (r.f64()?, r.f64()?, r.f64()?);
    let seen = r.u32()?;
    let drift = Detector {
        scale,
        seen,
        pos,
        neg,
        pos_from_ms: r.i64()?,
        neg_from_ms: r.i64()?,
        quiet_until_ms: r.i64()?,
    };
    let n = r.len()?;
    // The newest ones, in a queue no larger than the monitor keeps.
    let mut lead = VecDeque::with_capacity(n.clamp(super::LEAD_HOUR, super::LEAD_CAP));
    for k in 0..n {
        let x = (r.i64()?, r.f64()?);
        if k + super::LEAD_CAP >= n {
            lead.push_back(x);
        }
    }
    let last_drift_ms = r.opt_i64()?;
    let drifts = r.i64()?.max(0) as u64;
    let promotions = r.i64()?.max(0) as u64;
    let last_promotion = match r.str()?.as_str() {
        "" => None,
        a => {
            let a: ModelKind = a.parse().map_err(|_| format!("unknown model {a:?}"))?;
            Some((a, r.model()?, r.f64()?, r.f64()?))
        }
    };
    let train_from_ms = r.opt_i64()?;
    r.done()?;
    Ok(SeriesMonitor {
        champion,
        challenger,
        pinned,
        horizons_ms,
        exposed,
        shadow,
        gate_since_ms,
        drift,
        lead,
        last_drift_ms,
        drifts,
        promotions,
        last_promotion,
        train_from_ms,
        due: Vec::new(),
        saved_ms: i64::MIN,
        dirty: false,
    })
}

pub fn encode_path(p: &Pending) -> Vec<u8> {
    // Sized for the usual record (16-bit mean, 8-bit bounds): grown by doubling,
    // a path's buffer was reallocated four times.
    let mut w = W(Vec::with_capacity(98 + 4 * p.mean.len()));
    w.0.extend_from_slice(PATH_MAGIC);
    for v in [p.origin_ms, p.start_ms, p.step_ms] {
        w.i64(v);
    }
    w.f64(p.scale);
    let mean = w.quantized(&p.mean);
    w.bound(&mean, &p.lower);
    w.bound(&mean, &p.upper);
    w.0
}

pub fn decode_path(b: &[u8]) -> Result<Pending, String> {
    let mut r = R(b);
    let magic = r.take(4)?;
    if magic != PATH_MAGIC && magic != PATH_MAGIC_Q16 && magic != PATH_MAGIC_F32 {
        return Err("not a pending path record".into());
    }
    let (origin_ms, start_ms, step_ms, scale) = (r.i64()?, r.i64()?, r.i64()?, r.f64()?);
    let p = if magic == PATH_MAGIC {
        let mean = r.quantized()?;
        Pending {
            origin_ms,
            start_ms,
            step_ms,
            scale,
            lower: r.bound(&mean)?,
            upper: r.bound(&mean)?,
            mean,
        }
    } else if magic == PATH_MAGIC_Q16 {
        Pending {
            origin_ms,
            start_ms,
            step_ms,
            scale,
            mean: r.quantized()?,
            lower: r.quantized()?,
            upper: r.quantized()?,
        }
    } else {
        let base = r.f64()?;
        Pending {
            origin_ms,
            start_ms,
            step_ms,
            scale,
            mean: r.deltas(base)?,
            lower: r.deltas(base)?,
            upper: r.deltas(base)?,
        }
    };
    r.done()?;
    if p.step_ms <= 0 || p.lower.len() != p.mean.len() || p.upper.len() != p.mean.len() {
        return Err("inconsistent pending path".into());
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::predict::monitor::{MonitorSettings, SeriesMonitor};

    #[test]
    fn state_and_path_round_trip_and_garbage_is_an_error() {
        let ms = MonitorSettings {
            drift: Some(crate::predict::monitor::drift::DriftParams::DEFAULT),
            ..MonitorSettings::for_tests(&[900, 3600], Some(ModelKind::Theta))
        };
        let mut m = SeriesMonitor::new("x", &ms, 1000);
        m.exposed[1].add(5_000_000, 0.7, 0.9);
        m.lead.push_back((42, 1.5));
        m.last_drift_ms = Some(77);
        m.drifts = 3;
        m.last_promotion = Some((ModelKind::Auto, ModelKind::Theta, 1.0, 0.8));
        let b = encode_state(&m);
        let mut back = decode_state(&b).unwrap();
        back.due = m.due.clone();
        back.saved_ms = m.saved_ms;
        back.dirty = m.dirty;
        assert_eq!(back, m);
        for cut in 0..b.len() {
            assert!(decode_state(&b[..cut]).is_err());
        }
        let mut bad = b.clone();
        bad[5] = 0xff;
        assert!(decode_state(&bad).is_err());
        let p = Pending {
            origin_ms: 1,
            start_ms: 2,
            step_ms: 300_000,
            scale: 0.5,
            mean: vec![1.0, 2.0],
            lower: vec![0.0, 1.0],
            upper: vec![2.0, 3.0],
        };
        let pb = encode_path(&p);
        assert_close(&decode_path(&pb).unwrap(), &p);
        for cut in 0..pb.len() {
            assert!(decode_path(&pb[..cut]).is_err());
        }
        assert!(decode_path(b"NCP2\xff\xff\xff\xff").is_err());
        let mut bad = pb.clone();
        let n = bad.len();
        // The upper bound's grid step (before its two 8-bit codes) made negative.
        bad[n - 10..n - 2].copy_from_slice(&(-1.0f64).to_le_bytes());
        assert!(decode_path(&bad).is_err());
        // An unknown bound encoding is an error too.
        let mut bad = pb.clone();
        bad[4 + 32 + 4 + 16 + 4] = 7;
        assert!(decode_path(&bad).is_err());
        // A path written by the previous version (16-bit bounds) still reads.
        let mut q16 = W::default();
        q16.0.extend_from_slice(b"NCP3");
        for v in [p.origin_ms, p.start_ms, p.step_ms] {
            q16.i64(v);
        }
        q16.f64(p.scale);
        for a in [&p.mean, &p.lower, &p.upper] {
            q16.quantized(a);
        }
        assert_close(&decode_path(&q16.0).unwrap(), &p);
        // A finite bound where the mean is a gap keeps its own grid.
        let mut gap = p.clone();
        gap.mean[0] = f64::NAN;
        let back = decode_path(&encode_path(&gap)).unwrap();
        assert!(back.mean[0].is_nan() && back.lower[0] == 0.0 && back.upper[0] == 2.0);
        // Large values keep their detail (the grid spans the array, not zero
        // to the value); gaps and infinite bounds come back as they were.
        let wave = |c: f64, a: f64| (0..288).map(|i| c + a * (i as f64 / 20.0).sin()).collect();
        let mut big = Pending {
            mean: wave(1e11, 5e3),
            lower: wave(1e11 - 4e4, 9e3),
            upper: wave(1e11 + 4e4, 9e3),
            ..p
        };
        big.mean[3] = f64::NAN;
        big.lower[7] = f64::NEG_INFINITY;
        big.upper[9] = f64::INFINITY;
        let back = decode_path(&encode_path(&big)).unwrap();
        assert_close(&back, &big);
        assert!(back.mean[3].is_nan() && back.lower[7] == f64::NEG_INFINITY);
        assert_eq!(back.upper[9], f64::INFINITY);
        // A gap in the mean under finite bounds: those keep their own 16-bit grid.
        assert!(encode_path(&big).len() < 288 * 3 * 2 + 100);
        // Without one, each bound is 8 bits a step.
        big.mean[3] = 1e11;
        assert!(encode_path(&big).len() < 288 * 4 + 100);
        // Exactly the room encode_path makes for it: one allocation.
        assert_eq!(encode_path(&big).len(), 98 + 4 * big.mean.len());
        assert_close(&decode_path(&encode_path(&big)).unwrap(), &big);
        // A path written by the previous version (f32 offsets) still reads.
        let mut old = b"NCP2".to_vec();
        for v in [1i64, 2, 300_000] {
            old.extend_from_slice(&v.to_le_bytes());
        }
        for v in [0.5f64, 1.0] {
            old.extend_from_slice(&v.to_le_bytes());
        }
        for arr in [[0.0f32, 1.0], [-1.0, 0.0], [1.0, 2.0]] {
            old.extend_from_slice(&2u32.to_le_bytes());
            arr.iter()
                .for_each(|x| old.extend_from_slice(&x.to_le_bytes()));
        }
        assert_eq!(decode_path(&old).unwrap(), p);
    }

    #[test]
    fn a_state_of_the_previous_format_keeps_its_scores() {
        let ms = crate::predict::monitor::MonitorSettings::for_tests(&[3600], None);
        let h = 3_600_000i64;
        let t0 = 1_000 * 86_400_000i64;
        let scores: Vec<(i64, f64, f64)> = (0..150)
            .map(|k| (t0 + k * h, 0.5 + (k % 7) as f64 * 0.1, (k % 3) as f64 / 2.0))
            .collect();
        let mut m = SeriesMonitor::new("x", &ms, t0);
        // The previous format's ring of 28 six-hour buckets, filled alike.
        let bucket = super::super::accuracy::BUCKET_MS;
        let mut ring = [Bucket::default(); BUCKETS];
        let mut head = 0;
        for &(t, mase, cover) in &scores {
            m.exposed[0].add(t, mase, cover);
            head = t / bucket;
            let x = &mut ring[(head % BUCKETS as i64) as usize];
            let (xm, xc, xn) = (x.mase, x.cover, x.n);
            *x = Bucket {
                mase: xm + mase as f32,
                cover: xc + cover as f32,
                n: xn + 1,
            };
        }
        let now = t0 + 150 * h;
        let new = encode_state(&m);
        // Magic, champion, no challenger, pin, one horizon: the windows follow.
        let at = 4 + 4 + m.champion.name().len() + 4 + 1 + 4 + 8;
        let mut old = b"NCM1".to_vec();
        old.extend_from_slice(&new[4..at]);
        let mut w = W::default();
        w.u32(1);
        w.i64(head);
        ring.iter().for_each(|b| w.bucket(*b));
        w.u32(0);
        old.extend_from_slice(&w.0);
        let rest = at + 4 + (8 + FINE * 10 + 8 + DAYS * 10) + 4;
        old.extend_from_slice(&new[rest..]);
        let back = decode_state(&old).unwrap();
        for (_, span) in super::super::accuracy::WINDOWS {
            let (a, b) = (
                back.exposed[0].summary(now, span, None),
                m.exposed[0].summary(now, span, None),
            );
            assert_eq!(a.n, b.n);
            assert!((a.mase - b.mase).abs() < 1e-6 && (a.coverage - b.coverage).abs() < 1e-6);
        }
        assert!(m.exposed[0].summary(now, 7 * 86_400_000, None).n > 100);
        // A corrupt bucket number is an error, not an overflow.
        let mut bad = old.clone();
        bad[at + 4..at + 12].copy_from_slice(&i64::MIN.to_le_bytes());
        assert!(decode_state(&bad).is_err());
    }

    /// Equal but for the grid's rounding: half a step of each array's spread.
    fn assert_close(a: &Pending, b: &Pending) {
        assert_eq!(
            (a.origin_ms, a.start_ms, a.step_ms, a.scale),
            (b.origin_ms, b.start_ms, b.step_ms, b.scale)
        );
        let spread = |y: &[f64], top: u16| {
            let fin = || y.iter().filter(|v| v.is_finite());
            let s = fin().fold(f64::MIN, |m, v| m.max(*v)) - fin().fold(f64::MAX, |m, v| m.min(*v));
            s / f64::from(top) * 0.5 * (1.0 + 1e-9) + 1e-9 * s.max(1.0)
        };
        let mean_tol = spread(&b.mean, Q_TOP);
        let off = |v: &[f64]| -> Vec<f64> { v.iter().zip(&b.mean).map(|(x, m)| x - m).collect() };
        // A bound: the mean's rounding plus its distance's (or its own 16-bit grid's).
        let bound_tol = |v: &[f64]| mean_tol + spread(&off(v), B_TOP.into()).max(spread(v, Q_TOP));
        for (x, y, tol) in [
            (&a.mean, &b.mean, mean_tol),
            (&a.lower, &b.lower, bound_tol(&b.lower)),
            (&a.upper, &b.upper, bound_tol(&b.upper)),
        ] {
            assert_eq!(x.len(), y.len());
            for (u, v) in x.iter().zip(y.iter()) {
                assert!(
                    (!u.is_finite() && u.to_bits() == v.to_bits()) || (u - v).abs() <= tol,
                    "{u} vs {v} (tolerance {tol})"
                );
            }
        }
    }
}
