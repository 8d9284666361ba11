//! Proof of completeness for what sled hands back after a restart.
//!
//! Each chunk carries its own CRC32 (see [`super::codec`]), which catches a
//! damaged value. It cannot catch a *missing* one: sled 0.34 recovers a
//! truncated or partly overwritten log as a consistent older state and says
//! nothing (measured: history gone for 7 and 9 of 10 series). So every flush
//! also writes, outside sled, an `INVENTORY`: the flush sequence number and,
//! per series, its chunk count and an order-independent digest of
//! `(key, chunk checksum)` over its chunks. On open the same figures are
//! recomputed from sled; a difference for a flush sled claims to hold, or sled
//! being behind the inventory, is damage. See docs/store.md, "Damage".

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use super::codec;
use super::{OpenReport, StoreError};

pub const FILE: &str = "INVENTORY";
const MAGIC: &[u8; 8] = b"NCINV001";
/// 16 bytes per series; anything bigger than this is not ours.
const MAX_FILE_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Entry {
    pub chunks: u32,
    pub digest: u64,
}

impl Entry {
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        self.chunks = self.chunks.saturating_add(1);
        self.digest ^= mix(key, value);
    }

    pub fn remove(&mut self, key: &[u8], value: &[u8]) {
        self.chunks = self.chunks.saturating_sub(1);
        self.digest ^= mix(key, value);
    }
}

/// Series id → its entry. Series without chunks are left out.
pub type Inventory = HashMap<u32, Entry>;

pub fn series_id(key: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(key.get(..4)?.try_into().ok()?))
}

/// One chunk's share of its series' digest: the key and the checksum the
/// chunk carries (its last 4 bytes), so a value that sled rolled back to an
/// older version changes the digest even when the key set is the same.
fn mix(key: &[u8], value: &[u8]) -> u64 {
    let tail = value
        .get(value.len().saturating_sub(4)..)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_le_bytes);
    let mut z = (u64::from(crc32fast::hash(key)) << 32 | u64::from(tail))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Replaces the file atomically. The directory is not fsynced: losing the
/// rename in a crash leaves the previous inventory, which is older than sled
/// and therefore only makes the next open "unverified", never "damaged".
pub fn write(dir: &Path, seq: u64, inv: &Inventory) -> std::io::Result<()> {
    let mut ids: Vec<(&u32, &Entry)> = inv.iter().filter(|(_, e)| e.chunks > 0).collect();
    ids.sort_by_key(|(id, _)| **id);
    let mut buf = Vec::with_capacity(24 + 16 * ids.len());
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    for (id, e) in ids {
        buf.extend_from_slice(&id.to_le_bytes());
        buf.extend_from_slice(&e.chunks.to_le_bytes());
        buf.extend_from_slice(&e.digest.to_le_bytes());
    }
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    let tmp = dir.join("INVENTORY.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&buf)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE))
}

/// `Ok(None)` when there is no inventory; `Err` (a reason) when there is one
/// we cannot use.
pub fn read(dir: &Path) -> Result<Option<(u64, Inventory)>, String> {
    let file = dir.join(FILE);
    let len = match std::fs::metadata(&file) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    if len > MAX_FILE_BYTES {
        return Err(format!(
            "{} is {len} bytes, too big to be ours",
            file.display()
        ));
    }
    let buf = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    parse(&buf).ok_or_else(|| format!("{} is damaged (bad format or checksum)", file.display()))
}

fn parse(buf: &[u8]) -> Option<Option<(u64, Inventory)>> {
    let (body, crc) = buf.split_at(buf.len().checked_sub(4)?);
    if crc32fast::hash(body).to_le_bytes() != crc || body.get(..8)? != MAGIC {
        return None;
    }
    let seq = u64::from_le_bytes(body.get(8..16)?.try_into().ok()?);
    let n = u32::from_le_bytes(body.get(16..20)?.try_into().ok()?) as usize;
    let entries = body.get(20..)?;
    if entries.len() != n.checked_mul(16)? {
        return None;
    }
    let mut inv = Inventory::with_capacity(n);
    for e in entries.chunks_exact(16) {
        let u32_at = |i: usize| {
            e.get(i..i + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let digest = u64::from_le_bytes(e.get(8..16)?.try_into().ok()?);
        inv.insert(
            u32_at(0)?,
            Entry {
                chunks: u32_at(4)?,
                digest,
            },
        );
    }
    Some(Some((seq, inv)))
}

pub struct BadChunk {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub why: String,
}

/// What one pass over sled's `data` tree found.
#[derive(Default)]
pub struct Scan {
    /// Over every chunk present, damaged ones included (they are in sled).
    pub inv: Inventory,
    pub verified: u64,
    pub bad: Vec<BadChunk>,
}

/// Reads every chunk once and checks its checksum (not a full decode: the
/// CRC covers every byte, and decoding is what reads do later).
pub fn scan(data: &sled::Tree, path: &Path) -> Result<Scan, StoreError> {
    let mut s = Scan::default();
    for kv in data.iter() {
        let (k, v) = kv.map_err(|e| StoreError::from_sled(path, e))?;
        let bad = |why| BadChunk {
            key: k.to_vec(),
            value: v.to_vec(),
            why,
        };
        let Some(id) = series_id(&k).filter(|_| k.len() == 13) else {
            s.bad.push(bad(format!("chunk key of {} bytes", k.len())));
            continue;
        };
        s.inv.entry(id).or_default().add(&k, &v);
        match codec::verify(&v) {
            Ok(()) => s.verified += 1,
            Err(why) => s.bad.push(bad(why)),
        }
    }
    Ok(s)
}

/// Chunks lost or damaged since the inventory was written, and the series
/// they belong to. `bad` are the keys that failed their checksum now.
pub fn compare(expected: &Inventory, found: &Inventory, bad: &[&[u8]]) -> (u64, Vec<u32>) {
    let mut bad_per: HashMap<u32, u32> = HashMap::new();
    for k in bad {
        *bad_per.entry(series_id(k).unwrap_or(u32::MAX)).or_default() += 1;
    }
    let mut chunks = 0u64;
    let mut series = Vec::new();
    for (id, exp) in expected {
        let got = found.get(id).copied().unwrap_or_default();
        let damaged = bad_per.remove(id).unwrap_or(0);
        let mut lost = exp.chunks.saturating_sub(got.chunks) + damaged;
        if lost == 0 && got != *exp {
            // Same count, other content: at least one chunk is not what was flushed.
            lost = 1;
        }
        if lost > 0 {
            chunks += u64::from(lost);
            series.push(*id);
        }
    }
    for (id, n) in bad_per {
        chunks += u64::from(n);
        series.push(id);
    }
    series.sort_unstable();
    (chunks, series)
}

pub struct Checked {
    pub inv: Inventory,
    pub seq: u64,
    pub report: OpenReport,
    pub bad_keys: Vec<[u8; 13]>,
}

/// The open-time verification: scan, compare with the inventory, move
/// damaged chunks into `quarantine` (out of every read), log once.
pub fn check(
    path: &Path,
    data: &sled::Tree,
    quarantine: &sled::Tree,
    sled_seq: u64,
    series: &[(String, u32)],
) -> Result<Checked, StoreError> {
    let Scan {
        mut inv,
        verified,
        bad,
    } = scan(data, path)?;
    let mut report = OpenReport {
        chunks_verified: verified,
        ..OpenReport::default()
    };
    let bad_refs: Vec<&[u8]> = bad.iter().map(|b| &b.key[..]).collect();
    let mut seq = sled_seq;
    let (corrupt, ids) = match read(path) {
        Ok(Some((inv_seq, expected))) if inv_seq >= sled_seq => {
            seq = inv_seq;
            if inv_seq > sled_seq {
                report.rolled_back = Some((sled_seq, inv_seq));
            }
            compare(&expected, &inv, &bad_refs)
        }
        other => {
            let had_data = !inv.is_empty() || !series.is_empty();
            report.unverified = match other {
                Ok(Some((inv_seq, _))) => Some(format!(
                    "{FILE} is from flush {inv_seq} but sled holds flush {sled_seq} (a crash right after a flush)"
                )),
                Ok(None) if !had_data => None,
                Ok(None) if sled_seq == 0 => Some(format!(
                    "no {FILE} yet (a store written by a version without one); it is written at the next flush"
                )),
                Ok(None) => Some(format!("{FILE} is missing")),
                Err(why) => Some(why),
            };
            compare(&Inventory::new(), &inv, &bad_refs)
        }
    };
    let names: HashMap<u32, &str> = series.iter().map(|(k, id)| (*id, k.as_str())).collect();
    report.chunks_corrupt = corrupt;
    report.damaged_series = ids
        .iter()
        .map(|id| {
            names
                .get(id)
                .map_or_else(|| format!("series id {id} (name lost)"), |n| n.to_string())
        })
        .collect();
    let mut bad_keys = Vec::new();
    for b in &bad {
        let moved = quarantine
            .insert(&b.key[..], &b.value[..])
            .and_then(|_| data.remove(&b.key[..]));
        match moved {
            Ok(_) => {
                if let Some(e) = series_id(&b.key).and_then(|id| inv.get_mut(&id)) {
                    e.remove(&b.key, &b.value);
                }
            }
            Err(_) => bad_keys.extend(<[u8; 13]>::try_from(&b.key[..]).ok()),
        }
    }
    inv.retain(|_, e| e.chunks > 0);
    if corrupt > 0 {
        let first: Vec<&str> = report
            .damaged_series
            .iter()
            .take(5)
            .map(String::as_str)
            .collect();
        tracing::warn!(
            path = %path.display(),
            corrupt_chunks = corrupt,
            damaged_series = report.damaged_series.len(),
            first_damaged = ?first,
            failed_checksum = bad.len(),
            sled_flush = sled_seq,
            inventory_flush = seq,
            first_reason = bad.first().map_or("chunks missing", |b| b.why.as_str()),
            "store damage detected on open: chunks failed their checksum or were lost since the last flush; \
             the readable rest of the history is kept and damaged chunks are quarantined"
        );
    } else if let Some(why) = &report.unverified {
        tracing::info!(path = %path.display(), chunks_verified = verified, reason = %why, "store chunk checksums verified; completeness not checked this time");
    }
    Ok(Checked {
        inv,
        seq,
        report,
        bad_keys,
    })
}

/// Damaged chunks met after open (by reads or when a series is first
/// loaded): skipped, and counted and logged once each, not per read.
#[derive(Debug, Default)]
pub struct Bad {
    keys: HashSet<[u8; 13]>,
    pub found_after_open: u64,
}

impl Bad {
    /// Keys already counted (at open) that could not be quarantined.
    pub fn known(keys: Vec<[u8; 13]>) -> Bad {
        Bad {
            keys: keys.into_iter().collect(),
            found_after_open: 0,
        }
    }

    pub fn extend_known(&mut self, keys: Vec<[u8; 13]>) {
        self.keys.extend(keys);
    }

    pub fn contains(&self, key: &[u8; 13]) -> bool {
        self.keys.contains(key)
    }

    pub fn note(&mut self, path: &Path, key: [u8; 13], why: &str) {
        if self.keys.insert(key) {
            self.found_after_open += 1;
            tracing::warn!(
                path = %path.display(),
                series_id = series_id(&key).unwrap_or(0),
                reason = why,
                "store chunk failed verification; skipping it, the rest of the series still reads"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trips_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Ok(None));
        let mut inv = Inventory::new();
        inv.entry(3).or_default().add(b"k1", b"value-with-crc");
        inv.entry(9).or_default().add(b"k2", b"abcd");
        inv.insert(5, Entry::default());
        write(dir.path(), 42, &inv).unwrap();
        inv.remove(&5);
        assert_eq!(read(dir.path()), Ok(Some((42, inv))));
        let file = dir.path().join(FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[21] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(read(dir.path()).is_err());
        std::fs::write(&file, b"\xff\xfe").unwrap();
        assert!(read(dir.path()).is_err());
    }

    #[test]
    fn compare_counts_missing_damaged_and_rolled_back_chunks() {
        let mut exp = Inventory::new();
        for (id, keys) in [(1u32, 3u8), (2, 2), (3, 1)] {
            for k in 0..keys {
                exp.entry(id).or_default().add(&[id as u8, k], b"v1v1");
            }
        }
        assert_eq!(compare(&exp, &exp, &[]), (0, vec![]));
        let mut found = exp.clone();
        // series 1 lost a chunk; series 3's chunk was rolled back to an older value
        found.get_mut(&1).unwrap().remove(&[1, 2], b"v1v1");
        let e3 = found.get_mut(&3).unwrap();
        e3.remove(&[3, 0], b"v1v1");
        e3.add(&[3, 0], b"v0v0");
        let bad: &[u8] = &[0, 0, 0, 2, 0];
        assert_eq!(compare(&exp, &found, &[bad]), (3, vec![1, 2, 3]));
    }
}
