//! Everything that talks to sled: opening and validating a directory, the
//! `meta` and `series` trees, and merged chunk views (sled + pending).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::codec;
use super::inventory::{self, Inventory};
use super::layout::{chunk_key, key_start, Layout};
use super::series::{Head, Pending};
use super::{OpenReport, StoreError, Tier};

const FORMAT_VERSION: u32 = 1;
/// Written next to sled once the store is initialised. If it is there but
/// sled comes back empty, sled lost its files and we say so instead of
/// silently starting over.
const MARKER: &str = "NODECAST_STORE";
/// Names the live sled generation. Compaction writes a fresh generation and
/// switches by renaming this file, so a crash leaves either the old or the
/// new generation in force, never a mix.
const CURRENT: &str = "CURRENT";

pub struct Sled {
    /// Generation directory name under the store path (`gen-N`).
    pub gen: u64,
    pub db: sled::Db,
    pub data: sled::Tree,
    pub series: sled::Tree,
    pub meta: sled::Tree,
    /// Chunks that failed verification on open, kept for inspection until
    /// the next compaction (which does not copy this tree).
    pub quarantine: sled::Tree,
}

pub struct Opened {
    pub sled: Sled,
    pub series: Vec<(String, u32)>,
    pub next_id: u32,
    pub now_ms: Option<i64>,
    /// The live chunks as the next INVENTORY must describe them.
    pub inventory: Inventory,
    /// Highest flush number seen (sled's or the inventory's).
    pub seq: u64,
    pub report: OpenReport,
    /// Damaged chunks that could not be quarantined: reads skip them.
    pub bad_keys: Vec<[u8; 13]>,
}

/// sled 0.34 asserts (panics) below this cache size.
pub const MIN_CACHE_BYTES: u64 = 256;

/// Opens and validates the directory. A panic inside sled is reported as
/// `Panicked`, never as `Corrupt`: it is not evidence about the files (a
/// cache below sled's minimum panics on a healthy store), and `Corrupt` is
/// what lets `--storage.reset-on-corruption` move a store aside.
pub fn open_checked(path: &Path, cache_bytes: u64, lay: &mut Layout) -> Result<Opened, StoreError> {
    if cache_bytes < MIN_CACHE_BYTES {
        return Err(StoreError::Config(format!(
            "a storage cache of {cache_bytes} bytes is below sled's minimum of {MIN_CACHE_BYTES} bytes"
        )));
    }
    refuse_foreign_dir(path)?;
    std::fs::create_dir_all(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let result = catch_unwind(AssertUnwindSafe(|| open_inner(path, cache_bytes, lay)));
    result.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(StoreError::Panicked {
            path: path.to_path_buf(),
            reason: why,
        })
    })
}

/// Refuses a non-empty directory that is not ours, so a mistyped
/// `--storage.path` cannot scatter sled files into (or later move aside) a
/// directory full of other things.
fn refuse_foreign_dir(path: &Path) -> Result<(), StoreError> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let ours = names.iter().any(|n| n == MARKER || n == CURRENT);
    if names.is_empty() || ours {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "{} is not empty and holds no nodecast store",
            path.display()
        )))
    }
}

/// Errors name the store directory (`path`), not the generation inside it:
/// that is what an operator moves aside.
fn open_db(path: &Path, dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    // A dropped sled Db lets go of its file lock only when its background
    // threads finish, so reopening right after a drop (restart in-process,
    // recovery after a failed flush) can briefly see our own lock.
    let mut tries = 0;
    loop {
        match open_db_once(path, dir, cache_bytes) {
            Err(StoreError::Locked { .. }) if tries < LOCK_RETRIES => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

const LOCK_RETRIES: u32 = 40;

fn open_db_once(path: &Path, dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(dir)
        .cache_capacity(cache_bytes)
        .mode(sled::Mode::LowSpace)
        // Durability points are our flush() calls; sled's own 500 ms timer
        // would only add writes (and SSD wear) between them.
        .flush_every_ms(None)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(source) if source.to_string().contains("could not acquire lock") => {
                StoreError::Locked {
                    path: path.to_path_buf(),
                    source,
                }
            }
            sled::Error::Io(source) => StoreError::Io {
                path: path.to_path_buf(),
                source,
            },
            sled::Error::Corruption { at, .. } => StoreError::corrupt(
                path,
                format!("sled found corruption in {} at {at:?}", dir.display()),
            ),
            // Unsupported, ReportableBug, ...: not evidence of damage.
            other => StoreError::Sled {
                path: path.to_path_buf(),
                source: other,
            },
        })
}

pub fn gen_dir(path: &Path, gen: u64) -> std::path::PathBuf {
    path.join(format!("gen-{gen}"))
}

/// CURRENT is a few bytes we wrote ourselves; anything else in it (other
/// bytes, non-UTF-8, a huge file) is damage, reported naming the file so
/// the reset flag can act on it.
fn read_current(path: &Path) -> Result<Option<u64>, StoreError> {
    let file = path.join(CURRENT);
    let bytes = match std::fs::metadata(&file) {
        Ok(m) if m.len() > 64 => {
            return Err(StoreError::corrupt(
                path,
                format!(
                    "{} is {} bytes; it should only name a generation like \"gen-0\"",
                    file.display(),
                    m.len()
                ),
            ))
        }
        Ok(_) => std::fs::read(&file),
        Err(e) => Err(e),
    };
    let text = bytes.map(|b| {
        String::from_utf8(b).map_err(|e| {
            StoreError::corrupt(
                path,
                format!(
                    "{} is not UTF-8 text (invalid byte at offset {}); it should name a generation like \"gen-0\"",
                    file.display(),
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    });
    match text {
        Ok(Err(e)) => Err(e),
        Ok(Ok(s)) => s
            .trim()
            .strip_prefix("gen-")
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                StoreError::corrupt(
                    path,
                    format!("{} does not name a generation: {s:?}", file.display()),
                )
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path: file, source }),
    }
}

fn write_current(path: &Path, gen: u64) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.join(CURRENT),
        source,
    };
    let tmp = path.join("CURRENT.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    std::io::Write::write_all(&mut f, format!("gen-{gen}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path.join(CURRENT)).map_err(io)?;
    std::fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(io)
}

/// Removes generation directories that CURRENT does not name: leftovers of
/// a compaction that crashed before or after switching.
fn remove_stale_gens(path: &Path, live: u64) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let stale = name
            .strip_prefix("gen-")
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|g| g != live);
        if stale {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn open_inner(path: &Path, cache_bytes: u64, lay: &mut Layout) -> Result<Opened, StoreError> {
    let sled_err = |e| StoreError::from_sled(path, e);
    let current = read_current(path)?;
    let marker = path.join(MARKER);
    if current.is_none() && marker.exists() {
        return Err(StoreError::corrupt(path, "CURRENT is missing"));
    }
    let gen = current.unwrap_or(0);
    if current.is_some() && !gen_dir(path, gen).join("db").exists() {
        return Err(StoreError::corrupt(
            path,
            format!("generation gen-{gen} named by CURRENT has no sled db"),
        ));
    }
    let db = open_db(path, &gen_dir(path, gen), cache_bytes)?;
    remove_stale_gens(path, gen);
    let sled = Sled {
        gen,
        data: db.open_tree("data").map_err(sled_err)?,
        series: db.open_tree("series").map_err(sled_err)?,
        meta: db.open_tree("meta").map_err(sled_err)?,
        quarantine: db.open_tree("quarantine").map_err(sled_err)?,
        db,
    };
    if sled.meta.is_empty() {
        if marker.exists() || !sled.data.is_empty() || !sled.series.is_empty() {
            return Err(StoreError::corrupt(
                path,
                "the meta tree is missing (sled files lost or damaged)",
            ));
        }
        init_meta(&sled, path, lay)?;
        write_current(path, gen)?;
        std::fs::write(
            &marker,
            format!("nodecast store, format {FORMAT_VERSION}\n"),
        )
        .map_err(|source| StoreError::Io {
            path: marker.clone(),
            source,
        })?;
    }
    check_meta(&sled, path, lay)?;
    let mut series = Vec::new();
    let mut max_id = None;
    for kv in sled.series.iter() {
        let (k, v) = kv.map_err(sled_err)?;
        let key = String::from_utf8(k.to_vec())
            .map_err(|_| StoreError::corrupt(path, "series key is not UTF-8"))?;
        let id =
            u32::from_be_bytes(v.as_ref().try_into().map_err(|_| {
                StoreError::corrupt(path, format!("series {key}: id is not 4 bytes"))
            })?);
        max_id = max_id.max(Some(id));
        series.push((key, id));
    }
    let next_id = get_u64(&sled, path, "next_id")?.unwrap_or(0) as u32;
    if max_id.is_some_and(|m| m >= next_id) {
        return Err(StoreError::corrupt(
            path,
            format!("series id {max_id:?} is not below next_id {next_id}"),
        ));
    }
    let now_ms = get_u64(&sled, path, "now_ms")?.map(|v| v as i64);
    let sled_seq = get_u64(&sled, path, "flush_seq")?.unwrap_or(0);
    let checked = inventory::check(path, &sled.data, &sled.quarantine, sled_seq, &series)?;
    Ok(Opened {
        sled,
        series,
        next_id,
        now_ms,
        inventory: checked.inv,
        seq: checked.seq,
        report: checked.report,
        bad_keys: checked.bad_keys,
    })
}

fn init_meta(sled: &Sled, path: &Path, lay: &Layout) -> Result<(), StoreError> {
    let sled_err = |e| StoreError::from_sled(path, e);
    for (k, v) in [
        ("version", u64::from(FORMAT_VERSION)),
        ("step_ms", lay.step_ms as u64),
        ("ds_step_ms", lay.ds_step_ms as u64),
        ("raw_chunk", lay.raw_chunk as u64),
        ("ds_chunk", lay.ds_chunk as u64),
        ("next_id", 0),
    ] {
        sled.meta.insert(k, &v.to_be_bytes()).map_err(sled_err)?;
    }
    sled.db.flush().map_err(sled_err)?;
    Ok(())
}

/// Steps must match (else samples land at the wrong times); chunk lengths are
/// taken from the store, since keys are chunk starts.
fn check_meta(sled: &Sled, path: &Path, lay: &mut Layout) -> Result<(), StoreError> {
    let need = |k: &str| {
        get_u64(sled, path, k)?
            .ok_or_else(|| StoreError::corrupt(path, format!("meta key {k} missing")))
    };
    let version = need("version")?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(StoreError::Version {
            path: path.to_path_buf(),
            found: version as u32,
            expected: FORMAT_VERSION,
        });
    }
    for (what, key, configured) in [
        ("step", "step_ms", lay.step_ms),
        ("downsample step", "ds_step_ms", lay.ds_step_ms),
    ] {
        let stored = need(key)?;
        if stored != configured as u64 {
            return Err(StoreError::StepMismatch {
                path: path.to_path_buf(),
                what,
                stored_ms: stored,
                configured_ms: configured as u64,
            });
        }
    }
    let (raw_chunk, ds_chunk) = (need("raw_chunk")? as i64, need("ds_chunk")? as i64);
    if raw_chunk <= 0
        || ds_chunk <= 0
        || raw_chunk % lay.ratio != 0
        || raw_chunk > 1 << 20
        || ds_chunk > 1 << 20
    {
        return Err(StoreError::corrupt(
            path,
            format!("bad chunk lengths {raw_chunk}/{ds_chunk}"),
        ));
    }
    lay.raw_chunk = raw_chunk;
    lay.ds_chunk = ds_chunk;
    Ok(())
}

fn get_u64(sled: &Sled, path: &Path, key: &str) -> Result<Option<u64>, StoreError> {
    let Some(v) = sled
        .meta
        .get(key)
        .map_err(|e| StoreError::from_sled(path, e))?
    else {
        return Ok(None);
    };
    let b: [u8; 8] = v
        .as_ref()
        .try_into()
        .map_err(|_| StoreError::corrupt(path, format!("meta key {key} is not 8 bytes")))?;
    Ok(Some(u64::from_be_bytes(b)))
}

/// Series and meta changes first, then all chunk writes as one atomic batch,
/// then fsync. After a crash sled recovers a prefix of this, so a chunk never
/// exists without its series mapping.
#[allow(clippy::too_many_arguments)]
pub fn write_all(
    sled: &Sled,
    path: &Path,
    seq: u64,
    next_id: u32,
    now_ms: Option<i64>,
    series_ops: &[(String, Option<u32>)],
    batch: sled::Batch,
) -> Result<(), StoreError> {
    let sled_err = |e| StoreError::from_sled(path, e);
    sled.meta
        .insert("next_id", &u64::from(next_id).to_be_bytes())
        .map_err(sled_err)?;
    sled.meta
        .insert("flush_seq", &seq.to_be_bytes())
        .map_err(sled_err)?;
    if let Some(now) = now_ms {
        sled.meta
            .insert("now_ms", &(now as u64).to_be_bytes())
            .map_err(sled_err)?;
    }
    for (key, op) in series_ops {
        match op {
            Some(id) => sled
                .series
                .insert(key.as_bytes(), &id.to_be_bytes())
                .map(|_| ()),
            None => sled.series.remove(key.as_bytes()).map(|_| ()),
        }
        .map_err(sled_err)?;
    }
    sled.data.apply_batch(batch).map_err(sled_err)?;
    sled.db.flush().map_err(sled_err)?;
    Ok(())
}

/// Encoded chunks of one series and tier with start in `[lo, hi]`, as the
/// next flush would leave them (pending writes and deletes applied).
pub fn chunks_in(
    sled: &Sled,
    pending: &Pending,
    path: &Path,
    id: u32,
    tier: Tier,
    lo: i64,
    hi: i64,
) -> Result<BTreeMap<i64, Vec<u8>>, StoreError> {
    let (klo, khi) = (chunk_key(id, tier, lo), chunk_key(id, tier, hi));
    let mut out = BTreeMap::new();
    for kv in sled.data.range(klo..=khi) {
        let (k, v) = kv.map_err(|e| StoreError::from_sled(path, e))?;
        let start =
            key_start(&k).ok_or_else(|| StoreError::corrupt(path, "chunk key of wrong length"))?;
        out.insert(start, v.to_vec());
    }
    for (k, v) in pending.range(klo..=khi) {
        let Some(start) = key_start(k) else { continue };
        match v {
            Some(bytes) => out.insert(start, bytes.clone()),
            None => out.remove(&start),
        };
    }
    Ok(out)
}

pub enum HeadLoad {
    Empty,
    Head(Head),
    /// The newest chunk failed to decode.
    Damaged {
        key: [u8; 13],
        why: String,
    },
}

/// The newest chunk of a series and tier, to reopen as its head.
pub fn last_head(
    sled: &Sled,
    pending: &Pending,
    path: &Path,
    id: u32,
    tier: Tier,
) -> Result<HeadLoad, StoreError> {
    let last_sled = sled
        .data
        .scan_prefix(super::layout::prefix(id, tier))
        .keys()
        .rev()
        .find_map(|k| {
            let k = k.ok()?;
            let start = key_start(&k)?;
            let key: [u8; 13] = k.as_ref().try_into().ok()?;
            (!matches!(pending.get(&key), Some(None))).then_some(start)
        });
    let (lo, hi) = (chunk_key(id, tier, i64::MIN), chunk_key(id, tier, i64::MAX));
    let last_pending = pending
        .range(lo..=hi)
        .rev()
        .find(|(_, v)| v.is_some())
        .and_then(|(k, _)| key_start(k));
    let Some(start) = last_sled.max(last_pending) else {
        return Ok(HeadLoad::Empty);
    };
    let chunks = chunks_in(sled, pending, path, id, tier, start, start)?;
    let Some(bytes) = chunks.get(&start) else {
        return Ok(HeadLoad::Empty);
    };
    Ok(match codec::decode(bytes) {
        Ok(chunk) => HeadLoad::Head(Head::new(tier, start, chunk)),
        Err(why) => HeadLoad::Damaged {
            key: chunk_key(id, tier, start),
            why,
        },
    })
}

/// Copies the three trees into a fresh generation and switches to it. sled
/// 0.34 reclaims overwritten and deleted space slowly (we measured the file
/// growing past 5x the live bytes); a fresh copy is about 2x.
pub fn compact(old: Sled, path: &Path, cache_bytes: u64) -> Result<Sled, StoreError> {
    let gen = old.gen + 1;
    let dir = gen_dir(path, gen);
    if dir.exists() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let db = open_db(path, &dir, cache_bytes)?;
    let sled_err = |e| StoreError::from_sled(path, e);
    let new = Sled {
        gen,
        data: db.open_tree("data").map_err(sled_err)?,
        series: db.open_tree("series").map_err(sled_err)?,
        meta: db.open_tree("meta").map_err(sled_err)?,
        quarantine: db.open_tree("quarantine").map_err(sled_err)?,
        db,
    };
    for (from, to) in [
        (&old.meta, &new.meta),
        (&old.series, &new.series),
        (&old.data, &new.data),
    ] {
        // One insert at a time: a single big batch measured 25% larger
        // (17.5 vs 13.5 MiB for 6 MiB of chunks); the copy needs no
        // atomicity since CURRENT only switches after it is flushed.
        for kv in from.iter() {
            let (k, v) = kv.map_err(|e| StoreError::from_sled(path, e))?;
            to.insert(k, v).map_err(sled_err)?;
        }
    }
    new.db.flush().map_err(sled_err)?;
    write_current(path, gen)?;
    let old_dir = gen_dir(path, old.gen);
    drop(old);
    let _ = std::fs::remove_dir_all(old_dir);
    Ok(new)
}
