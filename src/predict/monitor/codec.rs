//! Binary records of the monitor in the store: a series' state and a pending
//! path. Little-endian, a magic and a version first; anything that does not
//! decode exactly is reported as an error for the caller to log and replace,
//! never a panic.

use std::collections::VecDeque;

use super::accuracy::{Bucket, Pending, Windowed, BUCKETS};
use super::drift::Detector;
use super::SeriesMonitor;
use crate::forecast::ModelKind;

const STATE_MAGIC: &[u8; 4] = b"NCM1";
const PATH_MAGIC: &[u8; 4] = b"NCP2";
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
    fn windows(&mut self, ws: &[Windowed]) {
        self.u32(ws.len() as u32);
        for w in ws {
            self.i64(w.head);
            for b in &w.ring {
                self.f32(b.mase);
                self.f32(b.cover);
                self.0.extend_from_slice(&b.n.to_le_bytes());
            }
        }
    }
    /// Values as f32 offsets from `base`: half the bytes of f64, and the
    /// rounding is relative to the path's spread, not to the value (a 100 GB
    /// filesystem's path keeps byte-level detail).
    fn deltas(&mut self, base: f64, v: &[f64]) {
        self.u32(v.len() as u32);
        v.iter().for_each(|x| self.f32((x - base) as f32));
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
    fn windows(&mut self) -> Res<Vec<Windowed>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut w = Windowed {
                head: self.i64()?,
                ..Windowed::default()
            };
            for b in w.ring.iter_mut().take(BUCKETS) {
                *b = Bucket {
                    mase: self.f32()?,
                    cover: self.f32()?,
                    n: u16::from_le_bytes(self.arr()?),
                };
            }
            out.push(w);
        }
        Ok(out)
    }
    fn deltas(&mut self, base: f64) -> Res<Vec<f64>> {
        let n = self.len()?;
        (0..n).map(|_| Ok(base + f64::from(self.f32()?))).collect()
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
    if r.take(4)? != STATE_MAGIC {
        return Err("not a monitor state record".into());
    }
    let champion = r.model()?;
    let challenger = match r.str()?.as_str() {
        "" => None,
        s => Some(s.parse().map_err(|_| format!("unknown model {s:?}"))?),
    };
    let pinned = r.take(1)?[0] == 1;
    let n = r.len()?;
    let horizons_ms = (0..n).map(|_| r.i64()).collect::<Res<Vec<i64>>>()?;
    let exposed = r.windows()?;
    let shadow = r.windows()?;
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
    let lead = (0..n)
        .map(|_| Ok((r.i64()?, r.f64()?)))
        .collect::<Res<VecDeque<(i64, f64)>>>()?;
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
    let mut w = W::default();
    w.0.extend_from_slice(PATH_MAGIC);
    for v in [p.origin_ms, p.start_ms, p.step_ms] {
        w.i64(v);
    }
    w.f64(p.scale);
    let base = p
        .mean
        .first()
        .copied()
        .filter(|b| b.is_finite())
        .unwrap_or(0.0);
    w.f64(base);
    w.deltas(base, &p.mean);
    w.deltas(base, &p.lower);
    w.deltas(base, &p.upper);
    w.0
}

pub fn decode_path(b: &[u8]) -> Result<Pending, String> {
    let mut r = R(b);
    if r.take(4)? != PATH_MAGIC {
        return Err("not a pending path record".into());
    }
    let (origin_ms, start_ms, step_ms, scale) = (r.i64()?, r.i64()?, r.i64()?, r.f64()?);
    let base = r.f64()?;
    let p = Pending {
        origin_ms,
        start_ms,
        step_ms,
        scale,
        mean: r.deltas(base)?,
        lower: r.deltas(base)?,
        upper: r.deltas(base)?,
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
            horizons: vec![
                std::time::Duration::from_secs(900),
                std::time::Duration::from_secs(3600),
            ],
            model: ModelKind::Auto,
            challenger: Some(ModelKind::Theta),
            gate: crate::predict::monitor::challenger::Gate {
                margin: 0.1,
                min_samples: 24,
            },
            gate_window: std::time::Duration::from_secs(7 * 86400),
            pin: None,
            drift: Some(crate::predict::monitor::drift::DriftParams::DEFAULT),
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
        assert_eq!(decode_path(&pb).unwrap(), p);
        for cut in 0..pb.len() {
            assert!(decode_path(&pb[..cut]).is_err());
        }
        assert!(decode_path(b"NCP2\xff\xff\xff\xff").is_err());
        // Large values keep their detail: offsets, not absolute f32.
        let big = Pending {
            mean: vec![1e11, 1e11 + 3.0],
            lower: vec![1e11 - 1.0, 1e11],
            upper: vec![1e11 + 7.0, 1e11 + 9.0],
            ..p
        };
        assert_eq!(decode_path(&encode_path(&big)).unwrap(), big);
    }
}
