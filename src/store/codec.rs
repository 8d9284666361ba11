//! Chunk encoding. A chunk is `n` consecutive grid slots of one series and
//! tier, with one or more columns (raw: value; downsampled: mean, min, max).
//!
//! Layout: `version u8 | ncols u8 | n varint | flags u8 | [gap bitmap] |
//! per column: mode u8, len varint, bytes | crc32 LE`. Gaps are a bitmap
//! rather than NaN payloads so that the value streams only hold real samples;
//! the bitmap is left out when the chunk has no gap.
//!
//! Each column picks the smallest of three lossless codecs:
//! - XOR with the previous value, one header byte (leading/trailing zero byte
//!   counts) then the middle bytes — good for arbitrary floats;
//! - decimal delta / delta-of-delta varints, when every value is `k / 10^d`
//!   exactly (procfs counters are integers or hundredths) — counters then cost
//!   one or two bytes per sample instead of five to seven.

const VERSION: u8 = 1;
const FLAG_BITMAP: u8 = 1;
const MODE_XOR: u8 = 0;
const MODE_DELTA: u8 = 0x10;
const MODE_DOD: u8 = 0x20;
/// Column 0 of a three-column chunk (the downsampled mean) XORed with
/// `(min + max) / 2` at f32 precision: the mean sits between min and max, so
/// the high bits usually match and a bucket costs one or two bytes, not five.
const MODE_MID: u8 = 0x30;
const MAX_DECIMALS: u32 = 4;

/// Decoded chunk: `cols[c][i]` is column `c` at slot `start + i`; NaN is a gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub cols: Vec<Vec<f64>>,
}

impl Chunk {
    pub fn new(ncols: usize) -> Chunk {
        Chunk {
            cols: vec![Vec::new(); ncols],
        }
    }

    pub fn len(&self) -> usize {
        self.cols.first().map_or(0, Vec::len)
    }

    pub fn get(&self, col: usize, i: usize) -> f64 {
        self.cols
            .get(col)
            .and_then(|c| c.get(i))
            .copied()
            .unwrap_or(f64::NAN)
    }

    pub fn is_present(&self, i: usize) -> bool {
        !self.get(0, i).is_nan()
    }

    /// Sets slot `i` of every column, growing the chunk with gaps as needed.
    pub fn set(&mut self, i: usize, values: &[f64]) {
        for (c, v) in self.cols.iter_mut().zip(values) {
            if c.len() <= i {
                c.resize(i + 1, f64::NAN);
            }
            c[i] = *v;
        }
    }

    pub fn first_present(&self) -> Option<usize> {
        (0..self.len()).find(|&i| self.is_present(i))
    }

    pub fn last_present(&self) -> Option<usize> {
        (0..self.len()).rev().find(|&i| self.is_present(i))
    }
}

pub fn encode(chunk: &Chunk) -> Vec<u8> {
    // Trailing gaps carry no information; dropping them keeps `n` honest.
    let n = chunk.last_present().map_or(0, |i| i + 1);
    let has_gaps = (0..n).any(|i| !chunk.is_present(i));
    let mut out = vec![VERSION, chunk.cols.len() as u8];
    put_varint(&mut out, n as u64);
    out.push(if has_gaps { FLAG_BITMAP } else { 0 });
    if has_gaps {
        let mut bits = vec![0u8; n.div_ceil(8)];
        for i in (0..n).filter(|&i| chunk.is_present(i)) {
            bits[i / 8] |= 1 << (i % 8);
        }
        out.extend_from_slice(&bits);
    }
    // Heads are re-encoded at every flush; without gaps (the usual case) each
    // column is its own value stream and needs no copy.
    let present_vals = |c: usize| -> std::borrow::Cow<'_, [f64]> {
        match chunk.cols.get(c) {
            Some(col) if !has_gaps && col.len() >= n => std::borrow::Cow::Borrowed(&col[..n]),
            _ => (0..n)
                .filter(|&i| chunk.is_present(i))
                .map(|i| chunk.get(c, i))
                .collect(),
        }
    };
    let vals: Vec<_> = (0..chunk.cols.len()).map(present_vals).collect();
    // Last column first, so the mean can be predicted from min and max.
    for c in (0..chunk.cols.len()).rev() {
        let (mut mode, mut bytes) = encode_column(&vals[c]);
        if c == 0 && chunk.cols.len() == 3 {
            let mid = encode_xor_with(&vals[0], &midpoints(&vals[1], &vals[2]));
            if mid.len() < bytes.len() {
                (mode, bytes) = (MODE_MID, mid);
            }
        }
        out.push(mode);
        put_varint(&mut out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The body of a chunk whose checksum holds.
fn checked_body(buf: &[u8]) -> Result<&[u8], String> {
    if buf.len() < 4 {
        return Err(format!(
            "chunk of {} bytes is shorter than its checksum",
            buf.len()
        ));
    }
    let (body, crc) = buf.split_at(buf.len() - 4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != want {
        return Err("chunk checksum mismatch".into());
    }
    Ok(body)
}

/// Checksum and version only: what the open-time scan needs, without
/// decoding every value.
pub fn verify(buf: &[u8]) -> Result<(), String> {
    match checked_body(buf)?.first() {
        Some(&VERSION) => Ok(()),
        Some(v) => Err(format!("unknown chunk version {v}")),
        None => Err("empty chunk".into()),
    }
}

pub fn decode(buf: &[u8]) -> Result<Chunk, String> {
    let body = checked_body(buf)?;
    let mut r = Reader { buf: body, pos: 0 };
    let version = r.byte()?;
    if version != VERSION {
        return Err(format!("unknown chunk version {version}"));
    }
    let ncols = r.byte()? as usize;
    let n = r.varint()? as usize;
    if n > 1 << 20 {
        return Err(format!("chunk claims {n} slots"));
    }
    let flags = r.byte()?;
    let present: Vec<bool> = if flags & FLAG_BITMAP != 0 {
        let bits = r.take(n.div_ceil(8))?;
        (0..n).map(|i| bits[i / 8] & (1 << (i % 8)) != 0).collect()
    } else {
        vec![true; n]
    };
    let count = present.iter().filter(|p| **p).count();
    let mut dense: Vec<Vec<f64>> = vec![Vec::new(); ncols];
    for c in (0..ncols).rev() {
        let mode = r.byte()?;
        let len = r.varint()? as usize;
        let bytes = r.take(len)?;
        dense[c] = if mode == MODE_MID && c == 0 && ncols == 3 {
            let mut cr = Reader { buf: bytes, pos: 0 };
            let vals = decode_xor_with(&mut cr, &midpoints(&dense[1], &dense[2]))?;
            if cr.pos != bytes.len() {
                return Err("column length does not match its values".into());
            }
            vals
        } else {
            decode_column(mode, bytes, count)?
        };
    }
    let mut chunk = Chunk::new(ncols);
    for (col, vals) in chunk.cols.iter_mut().zip(dense) {
        let mut it = vals.into_iter();
        *col = present
            .iter()
            .map(|&p| {
                if p {
                    it.next().unwrap_or(f64::NAN)
                } else {
                    f64::NAN
                }
            })
            .collect();
    }
    if r.pos != body.len() {
        return Err(format!("{} trailing bytes in chunk", body.len() - r.pos));
    }
    Ok(chunk)
}

fn encode_column(vals: &[f64]) -> (u8, Vec<u8>) {
    let mut best = (MODE_XOR, encode_xor(vals));
    if let Some((d, ints)) = as_decimal(vals) {
        for mode in [MODE_DELTA, MODE_DOD] {
            let bytes = encode_ints(&ints, mode == MODE_DOD);
            if bytes.len() < best.1.len() {
                best = (mode | d as u8, bytes);
            }
        }
    }
    best
}

fn decode_column(mode: u8, bytes: &[u8], count: usize) -> Result<Vec<f64>, String> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let vals = match mode & 0xF0 {
        MODE_XOR if mode == MODE_XOR => decode_xor(&mut r, count)?,
        MODE_DELTA | MODE_DOD if u32::from(mode & 0x0F) <= MAX_DECIMALS => {
            let scale = 10f64.powi(i32::from(mode & 0x0F));
            decode_ints(&mut r, count, mode & 0xF0 == MODE_DOD)?
                .into_iter()
                .map(|k| k as f64 / scale)
                .collect()
        }
        _ => return Err(format!("unknown column mode {mode:#x}")),
    };
    if r.pos != bytes.len() {
        return Err("column length does not match its values".into());
    }
    Ok(vals)
}

/// Smallest `d` such that every value is exactly `k / 10^d` for an integer `k`
/// small enough that deltas cannot overflow.
fn as_decimal(vals: &[f64]) -> Option<(u32, Vec<i64>)> {
    'd: for d in 0..=MAX_DECIMALS {
        let scale = 10f64.powi(d as i32);
        let mut ints = Vec::with_capacity(vals.len());
        for &v in vals {
            let k = (v * scale).round();
            if !k.is_finite()
                || k.abs() > (1u64 << 53) as f64
                || (k / scale).to_bits() != v.to_bits()
            {
                continue 'd;
            }
            ints.push(k as i64);
        }
        return Some((d, ints));
    }
    None
}

/// `first, gcd, then (delta or delta-of-delta) / gcd` as zigzag varints.
/// Dividing by the common factor makes page-granular byte gauges (multiples
/// of 4096) as cheap as small integers.
fn encode_ints(ints: &[i64], dod: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(ints.len() * 2);
    let Some((&first, rest)) = ints.split_first() else {
        return out;
    };
    let mut diffs = Vec::with_capacity(rest.len());
    let (mut prev, mut prev_delta) = (first, 0i64);
    for &k in rest {
        let delta = k - prev;
        diffs.push(if dod { delta - prev_delta } else { delta });
        prev = k;
        prev_delta = delta;
    }
    let mut g = 0u64;
    for d in &diffs {
        g = gcd(g, d.unsigned_abs());
        if g == 1 {
            break; // nothing left to divide out; most columns get here at once
        }
    }
    let g = g.max(1);
    put_varint(&mut out, zigzag(first));
    put_varint(&mut out, g);
    for d in diffs {
        put_varint(&mut out, zigzag(d / g as i64));
    }
    out
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn decode_ints(r: &mut Reader, count: usize, dod: bool) -> Result<Vec<i64>, String> {
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return Ok(out);
    }
    let mut prev = unzigzag(r.varint()?);
    let g = i64::try_from(r.varint()?).map_err(|_| "bad common factor")?;
    out.push(prev);
    let mut prev_delta = 0i64;
    for _ in 1..count {
        let z = unzigzag(r.varint()?)
            .checked_mul(g)
            .ok_or("diff overflow")?;
        let delta = if dod {
            prev_delta.checked_add(z)
        } else {
            Some(z)
        }
        .ok_or("delta overflow")?;
        prev = prev.checked_add(delta).ok_or("value overflow")?;
        prev_delta = delta;
        out.push(prev);
    }
    Ok(out)
}

fn encode_xor(vals: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * 4);
    let mut prev = 0u64;
    for v in vals {
        push_xor(&mut out, v.to_bits() ^ prev);
        prev = v.to_bits();
    }
    out
}

fn midpoints(min: &[f64], max: &[f64]) -> Vec<f64> {
    min.iter()
        .zip(max)
        .map(|(a, b)| ((a + b) / 2.0) as f32 as f64)
        .collect()
}

fn encode_xor_with(vals: &[f64], preds: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * 2);
    for (v, p) in vals.iter().zip(preds) {
        push_xor(&mut out, v.to_bits() ^ p.to_bits());
    }
    out
}

fn decode_xor_with(r: &mut Reader, preds: &[f64]) -> Result<Vec<f64>, String> {
    preds
        .iter()
        .map(|p| Ok(f64::from_bits(read_xor(r)? ^ p.to_bits())))
        .collect()
}

fn push_xor(out: &mut Vec<u8>, x: u64) {
    let (lead, trail) = if x == 0 {
        (8, 0)
    } else {
        (x.leading_zeros() / 8, x.trailing_zeros() / 8)
    };
    out.push(((lead << 4) | trail) as u8);
    out.extend_from_slice(&x.to_be_bytes()[lead as usize..8 - trail as usize]);
}

fn read_xor(r: &mut Reader) -> Result<u64, String> {
    let h = r.byte()?;
    let (lead, trail) = (usize::from(h >> 4), usize::from(h & 0x0F));
    if lead + trail > 8 {
        return Err(format!("bad xor header {h:#x}"));
    }
    let mut bytes = [0u8; 8];
    bytes[lead..8 - trail].copy_from_slice(r.take(8 - lead - trail)?);
    Ok(u64::from_be_bytes(bytes))
}

fn decode_xor(r: &mut Reader, count: usize) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(count);
    let mut prev = 0u64;
    for _ in 0..count {
        prev ^= read_xor(r)?;
        out.push(f64::from_bits(prev));
    }
    Ok(out)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or("chunk truncated")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cols: Vec<Vec<f64>>) -> usize {
        let chunk = Chunk { cols };
        let bytes = encode(&chunk);
        let back = decode(&bytes).unwrap();
        let n = chunk.last_present().map_or(0, |i| i + 1);
        for (a, b) in chunk.cols.iter().zip(&back.cols) {
            assert_eq!(b.len(), n);
            for i in 0..n {
                assert!(
                    a[i].to_bits() == b[i].to_bits() || (a[i].is_nan() && b[i].is_nan()),
                    "slot {i}: {} vs {}",
                    a[i],
                    b[i]
                );
            }
        }
        bytes.len()
    }

    #[test]
    fn codecs_are_lossless() {
        let counter: Vec<f64> = (0..240)
            .map(|i| (1_000_000 + i * 1234 + (i * i) % 97) as f64 / 100.0)
            .collect();
        let noisy: Vec<f64> = (0..240)
            .map(|i| ((i as f64) * 0.7).sin() * 1e3 + 0.123_456_789)
            .collect();
        let mut gappy = noisy.clone();
        gappy[3] = f64::NAN;
        gappy[100] = f64::NAN;
        let pages: Vec<f64> = (0..240)
            .map(|i| (8_000_000_000i64 + ((i * 7919) % 61 - 30) * 4096) as f64)
            .collect();
        assert!(
            round_trip(vec![pages]) < 240 * 2,
            "page-multiple gauge should cost about a byte per sample"
        );
        round_trip(vec![vec![-3.0, 5.0, -7.0, 1e15, -1e15, 0.0]]);
        let odd = vec![-0.0, 0.0, f64::INFINITY, -1e300, 5e-324, f64::MAX, 1.5];
        let counter_len = round_trip(vec![counter]);
        assert!(
            counter_len < 240 * 3,
            "decimal counter took {counter_len} bytes"
        );
        assert!(round_trip(vec![vec![42.0; 240]]) < 260);
        round_trip(vec![noisy.clone(), gappy.clone(), noisy.clone()]);
        // downsampled counter buckets: mean close to the middle of min..max
        let lo: Vec<f64> = (0..240).map(|i| 1000.0 + i as f64 * 1.5).collect();
        let hi: Vec<f64> = lo.iter().map(|v| v + 1.25).collect();
        let mean: Vec<f64> = (0..240)
            .map(|i| ((lo[i] + hi[i]) / 2.0 + (i as f64).sin() * 0.001) as f32 as f64)
            .collect();
        let with_mid = round_trip(vec![mean.clone(), lo.clone(), hi.clone()]);
        // same min/max streams shifted so their midpoint says nothing about the mean
        let far_lo: Vec<f64> = lo.iter().map(|v| v + 65536.0).collect();
        let far_hi: Vec<f64> = hi.iter().map(|v| v + 65536.0).collect();
        let without = round_trip(vec![mean, far_lo, far_hi]);
        assert!(
            with_mid + 240 < without,
            "midpoint prediction saves nothing: {with_mid} vs {without}"
        );
        round_trip(vec![gappy]);
        round_trip(vec![odd]);
        round_trip(vec![vec![f64::NAN; 10]]);
    }

    #[test]
    fn damage_is_detected() {
        let bytes = encode(&Chunk {
            cols: vec![vec![1.0, 2.0, f64::NAN, 4.5]],
        });
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad).is_err(), "flip at {i} went unnoticed");
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&[]).is_err());
        assert!(verify(&bytes).is_ok());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(verify(&bad).is_err(), "flip at {i} passed verify");
        }
    }
}
