//! The store: one mutex around the in-memory heads and the sled handles.
//! Appends never touch sled's write path; everything reaches sled in
//! [`Store::flush`], so a failed flush (disk full) leaves the in-memory state
//! complete and the next flush simply retries it on a freshly opened sled.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::inventory::{self, Bad, Inventory};
use super::layout::{chunk_key, prefix, Layout};
use super::series::{Pending, SeriesState};
use super::sled_io::{self, HeadLoad, Sled};
use super::{AppendStats, OpenReport, StoreConfig, StoreError, StoreStats, Tier};

pub const COMPACT_FACTOR: u64 = 2;
pub const COMPACT_SLACK: u64 = 2 << 20;
/// A fresh sled copy measured at about 2x its live bytes, and compaction
/// waits for 1.25x that: 3x covers both.
const BOUND_FACTOR: u64 = 3;

pub struct Store {
    pub(crate) path: PathBuf,
    pub(crate) lay: Layout,
    max_series: usize,
    cache_bytes: u64,
    report: OpenReport,
    pub(crate) inner: Mutex<Inner>,
}

pub(crate) struct Inner {
    /// `None` only while a reopen or compaction failed half-way.
    pub sled: Option<Sled>,
    /// Set by a failed flush: sled keeps I/O errors sticky, so it is reopened
    /// before the next write. Reads keep using the old handle meanwhile.
    broken: bool,
    pub series: HashMap<String, SeriesState>,
    pub pending: Pending,
    /// Series tree changes not yet in sled: `Some(id)` inserts, `None` removes.
    pub series_ops: Vec<(String, Option<u32>)>,
    pub next_id: u32,
    pub now_ms: Option<i64>,
    /// Per tier, the cutoff chunk of the last retention sweep.
    swept: [Option<i64>; 2],
    /// Live key+value bytes at the last count, and the generation's size
    /// right after the last compaction (compaction thresholds).
    live_bytes: u64,
    size_after_compact: u64,
    pub stats: StoreStats,
    /// What the INVENTORY must say after the next flush, and its number.
    inventory: Inventory,
    seq: u64,
    inventory_write_failed: bool,
    /// Reads only hold `&Inner`, and still must count what they skip.
    pub bad: RefCell<Bad>,
}

impl Store {
    pub fn open(cfg: StoreConfig) -> Result<Store, StoreError> {
        let mut lay = Layout::from_config(&cfg)?;
        let path = cfg.path.clone();
        let opened = sled_io::open_checked(&path, cfg.cache_bytes, &mut lay)?;
        let mut inner = Inner {
            sled: Some(opened.sled),
            broken: false,
            series: HashMap::new(),
            pending: Pending::new(),
            series_ops: Vec::new(),
            next_id: opened.next_id,
            now_ms: opened.now_ms,
            swept: [None, None],
            live_bytes: 0,
            size_after_compact: 0,
            stats: StoreStats::default(),
            inventory: opened.inventory,
            seq: opened.seq,
            inventory_write_failed: false,
            bad: RefCell::new(Bad::known(opened.bad_keys)),
        };
        for (key, id) in opened.series {
            inner.series.insert(key, SeriesState::new(id));
        }
        inner.stats.newest_sample_ms = inner.now_ms;
        inner.stats.chunks_corrupt = opened.report.chunks_corrupt;
        Ok(Store {
            path,
            lay,
            max_series: cfg.max_series,
            cache_bytes: cfg.cache_bytes,
            report: opened.report,
            inner: Mutex::new(inner),
        })
    }

    /// What verification found when the store was opened.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the history down with it; the state
        // is only mutated in small steps that leave it consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one collection round. Samples go to the slot
    /// `floor(ts_ms / step)`; a sample at or before its series' newest slot
    /// is dropped and counted (see docs/store.md, "Clock going backwards").
    pub fn append(&self, ts_ms: i64, samples: &[(&str, f64)]) -> Result<AppendStats, StoreError> {
        let mut g = self.lock();
        let slot = ts_ms.div_euclid(self.lay.step_ms);
        let mut st = AppendStats::default();
        for &(key, v) in samples {
            if !g.create(self, key) {
                g.stats.samples_dropped_series_limit += 1;
                st.dropped += 1;
                continue;
            }
            g.load(self, key)?;
            let Inner {
                series, pending, ..
            } = &mut *g;
            let Some(state) = series.get_mut(key) else {
                continue;
            };
            if state.push(&self.lay, slot, v, true, pending) {
                st.stored += 1;
            } else {
                g.stats.samples_dropped_out_of_order += 1;
                st.dropped += 1;
            }
        }
        if st.stored > 0 {
            g.now_ms = g.now_ms.max(Some(ts_ms));
            g.stats.newest_sample_ms = g.now_ms;
        }
        g.stats.samples_stored += st.stored;
        Ok(st)
    }

    /// Makes everything appended so far durable, and applies retention.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut g = self.lock();
        match g.flush_inner(self) {
            Ok(()) => {
                g.stats.flushes += 1;
                g.stats.last_flush_unix_ms = Some(unix_ms());
                Ok(())
            }
            Err(e) => {
                g.stats.flush_errors += 1;
                g.broken = true;
                Err(e)
            }
        }
    }

    /// How many series the store knows, without copying their keys.
    pub fn series_count(&self) -> usize {
        self.lock().series.len()
    }

    pub fn series_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().series.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The stable id of a series (ids are never reused for another key).
    pub fn series_id(&self, key: &str) -> Option<u32> {
        self.lock().series.get(key).map(|s| s.id)
    }

    /// Time of a series' newest stored sample in either tier; None for an unknown or empty series.
    pub fn newest_sample_ms(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let mut g = self.lock();
        if !g.load(self, key)? {
            return Ok(None);
        }
        let newest = g.series.get(key).and_then(|s| s.newest);
        Ok(newest.map(|slot| slot * self.lay.step_ms))
    }

    pub fn size_on_disk(&self) -> u64 {
        super::dir_size(&self.path)
    }

    pub fn stats(&self) -> StoreStats {
        let g = self.lock();
        let later = g.bad.borrow().found_after_open;
        StoreStats {
            series: g.series.len(),
            chunks_corrupt: g.stats.chunks_corrupt + later,
            ..g.stats.clone()
        }
    }

    /// Most chunks one series can hold in `tier` under this config.
    pub fn max_chunks_per_series(&self, tier: Tier) -> u64 {
        self.lay.max_chunks(tier) as u64
    }

    /// Hard bound on the store's size with `series` live series, from the
    /// config alone: every chunk at its worst-case encoding (9 bytes a value),
    /// times the compaction factor (the first generation after a compaction
    /// may itself be up to this factor over live bytes), plus slack for sled's open segment and
    /// one flush of writes.
    pub fn size_bound(&self, series: usize) -> u64 {
        let worst_chunk = |tier: Tier| {
            let len = self.lay.chunk_len(tier) as u64;
            let cols = super::layout::tier_cols(tier) as u64;
            13 + 16 + len / 8 + cols * (4 + 9 * len) + 4
        };
        let per_series: u64 = [Tier::Raw, Tier::Downsampled]
            .iter()
            .map(|&t| self.lay.max_chunks(t) as u64 * worst_chunk(t))
            .sum::<u64>()
            + 256;
        BOUND_FACTOR * per_series * series as u64 + COMPACT_SLACK + (1 << 20)
    }

    /// Chunks in sled per tier `[raw, downsampled]` and the bytes of their
    /// keys and values (what sled would hold with no overhead at all).
    pub fn chunk_counts(&self) -> Result<([u64; 2], u64), StoreError> {
        let g = self.lock();
        let mut counts = [0u64; 2];
        let mut bytes = 0u64;
        for kv in g.sled(&self.path)?.data.iter() {
            let (k, v) = kv.map_err(|e| StoreError::from_sled(&self.path, e))?;
            if let Some(&t) = k.get(4) {
                counts[usize::from(t.min(1))] += 1;
            }
            bytes += (k.len() + v.len()) as u64;
        }
        Ok((counts, bytes))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Inner {
    pub fn sled(&self, path: &Path) -> Result<&Sled, StoreError> {
        self.sled.as_ref().ok_or_else(|| StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(
                "store is reopening after a failed flush; retry after the next flush",
            ),
        })
    }

    /// Makes sure the series exists; false when `max_series` refuses it.
    pub fn create(&mut self, store: &Store, key: &str) -> bool {
        if self.series.contains_key(key) {
            return true;
        }
        if self.series.len() >= store.max_series {
            return false;
        }
        // u32 ids run out after four billion series; refusing then is fine.
        let Some(next) = self.next_id.checked_add(1) else {
            return false;
        };
        let mut state = SeriesState::new(self.next_id);
        state.loaded = true;
        self.series.insert(key.to_string(), state);
        self.series_ops.push((key.to_string(), Some(self.next_id)));
        self.next_id = next;
        true
    }

    /// Loads the heads of a known series from sled on first touch after
    /// open; false when the series is unknown.
    pub fn load(&mut self, store: &Store, key: &str) -> Result<bool, StoreError> {
        let Some(state) = self.series.get(key) else {
            return Ok(false);
        };
        if state.loaded {
            return Ok(true);
        }
        let sled = self.sled(&store.path)?;
        // An unreadable newest chunk must not stop collection for the series:
        // it starts a fresh head (which replaces that chunk on flush).
        let head = |tier| {
            Ok::<_, StoreError>(
                match sled_io::last_head(sled, &self.pending, &store.path, state.id, tier)? {
                    HeadLoad::Empty => None,
                    HeadLoad::Head(h) => Some(h),
                    HeadLoad::Damaged { key, why } => {
                        self.bad.borrow_mut().note(&store.path, key, &why);
                        None
                    }
                },
            )
        };
        let (raw, ds) = (head(Tier::Raw)?, head(Tier::Downsampled)?);
        if let Some(state) = self.series.get_mut(key) {
            state.raw = raw;
            state.ds = ds;
            state.rebuild(&store.lay);
            state.loaded = true;
        }
        Ok(true)
    }

    fn flush_inner(&mut self, store: &Store) -> Result<(), StoreError> {
        if self.broken || self.sled.is_none() {
            // The old handle holds sled's file lock: it must be gone first.
            self.sled = None;
            let mut lay = store.lay;
            let opened = sled_io::open_checked(&store.path, store.cache_bytes, &mut lay)?;
            self.sled = Some(opened.sled);
            self.broken = false;
            self.inventory = opened.inventory;
            self.seq = self.seq.max(opened.seq);
            self.stats.chunks_corrupt += opened.report.chunks_corrupt;
            self.bad.borrow_mut().extend_known(opened.bad_keys);
        }
        if let Some(now) = self.now_ms {
            for state in self.series.values_mut() {
                state.close_stale_bucket(&store.lay, now, &mut self.pending);
            }
        }
        self.sweep(store)?;
        let sled = self.sled(&store.path)?;
        let mut batch = sled::Batch::default();
        let mut writes = 0u64;
        let mut deletes = 0u64;
        let mut inv = self.inventory.clone();
        let mut track = |k: &[u8; 13], new: Option<&[u8]>| -> Result<(), StoreError> {
            let id = inventory::series_id(k).unwrap_or(u32::MAX);
            let e = inv.entry(id).or_default();
            let old = sled
                .data
                .get(k)
                .map_err(|e| StoreError::from_sled(&store.path, e))?;
            if let Some(old) = old {
                e.remove(k, &old);
            }
            if let Some(v) = new {
                e.add(k, v);
            }
            Ok(())
        };
        for (k, v) in &self.pending {
            track(k, v.as_deref())?;
            match v {
                Some(bytes) => {
                    batch.insert(&k[..], &bytes[..]);
                    writes += 1;
                }
                None => {
                    batch.remove(&k[..]);
                    deletes += 1;
                }
            }
        }
        for state in self.series.values() {
            for tier in [Tier::Raw, Tier::Downsampled] {
                if let Some(h) = state.head(tier).filter(|h| h.dirty) {
                    let key = chunk_key(state.id, tier, h.start);
                    let bytes = h.encoded();
                    track(&key, Some(&bytes))?;
                    batch.insert(&key[..], bytes.into_owned());
                    writes += 1;
                }
            }
        }
        inv.retain(|_, e| e.chunks > 0);
        let seq = self.seq + 1;
        sled_io::write_all(
            sled,
            &store.path,
            seq,
            self.next_id,
            self.now_ms,
            &self.series_ops,
            batch,
        )?;
        self.pending.clear();
        self.series_ops.clear();
        self.seq = seq;
        self.inventory = inv;
        // sled holds the data either way; a missing or stale inventory only
        // makes the next open "unverified", so this is not a flush error.
        if let Err(e) = inventory::write(&store.path, seq, &self.inventory) {
            if !std::mem::replace(&mut self.inventory_write_failed, true) {
                tracing::warn!(path = %store.path.display(), error = %e, "cannot write the store INVENTORY; damage after a restart may go unnoticed");
            }
        }
        for state in self.series.values_mut() {
            for tier in [Tier::Raw, Tier::Downsampled] {
                if let Some(h) = state.head_mut(tier) {
                    h.dirty = false;
                }
            }
        }
        self.stats.chunks_written += writes;
        self.stats.chunks_deleted += deletes;
        self.maybe_compact(store)?;
        Ok(())
    }

    /// Rewrites sled into a fresh generation when its files have grown past
    /// `COMPACT_FACTOR` times the live bytes plus slack for sled's fixed
    /// segments. This, not sled's own cleaner, is what bounds the size. The
    /// size check is a few `stat`s; live bytes are only recounted (one read
    /// of every chunk) when the size crosses the threshold of the last count.
    fn maybe_compact(&mut self, store: &Store) -> Result<(), StoreError> {
        let sled = self.sled(&store.path)?;
        let dir = sled_io::gen_dir(&store.path, sled.gen);
        let threshold =
            |live: u64, after: u64| (COMPACT_FACTOR * live + COMPACT_SLACK).max(after + after / 4);
        if super::dir_size(&dir) <= threshold(self.live_bytes, self.size_after_compact) {
            return Ok(());
        }
        let mut live = 0u64;
        for tree in [&sled.data, &sled.series, &sled.meta] {
            for kv in tree.iter() {
                let (k, v) = kv.map_err(|e| StoreError::from_sled(&store.path, e))?;
                live += (k.len() + v.len()) as u64;
            }
        }
        self.live_bytes = live;
        if super::dir_size(&dir) <= threshold(live, self.size_after_compact) {
            return Ok(());
        }
        let Some(old) = self.sled.take() else {
            return Ok(());
        };
        let new = sled_io::compact(old, &store.path, store.cache_bytes)?;
        self.size_after_compact = super::dir_size(&sled_io::gen_dir(&store.path, new.gen));
        self.stats.size_after_last_compaction = Some(self.size_after_compact);
        self.sled = Some(new);
        self.stats.compactions += 1;
        Ok(())
    }

    /// Schedules deletion of chunks past retention, and forgets series that
    /// have no data left (their id is retired, never reused).
    fn sweep(&mut self, store: &Store) -> Result<(), StoreError> {
        let Some(now) = self.now_ms else {
            return Ok(());
        };
        let mut swept_any = false;
        for (t, tier) in [Tier::Raw, Tier::Downsampled].into_iter().enumerate() {
            let cutoff = store
                .lay
                .chunk_start(tier, store.lay.oldest_kept_slot(tier, now));
            if self.swept[t] == Some(cutoff) {
                continue;
            }
            swept_any = true;
            let sled = self.sled(&store.path)?;
            let mut doomed = Vec::new();
            for state in self.series.values() {
                let lo = chunk_key(state.id, tier, i64::MIN);
                let hi = chunk_key(state.id, tier, cutoff);
                for kv in sled.data.range(lo..hi) {
                    let (k, _) = kv.map_err(|e| StoreError::from_sled(&store.path, e))?;
                    if let Ok(k) = <[u8; 13]>::try_from(&k[..]) {
                        doomed.push(k);
                    }
                }
                doomed.extend(self.pending.range(lo..hi).map(|(k, _)| *k));
            }
            for k in doomed {
                self.pending.insert(k, None);
            }
            for state in self.series.values_mut() {
                let head = state.head_mut(tier);
                if head.as_ref().is_some_and(|h| h.start < cutoff) {
                    *head = None;
                }
            }
            self.swept[t] = Some(cutoff);
        }
        if swept_any {
            self.expire_empty_series(store)?;
        }
        Ok(())
    }

    fn expire_empty_series(&mut self, store: &Store) -> Result<(), StoreError> {
        let sled = self.sled(&store.path)?;
        let mut gone = Vec::new();
        for (key, state) in &self.series {
            if state.raw.is_some() || state.ds.is_some() || state.bucket.is_some() {
                continue;
            }
            let mut has_data = false;
            for tier in [Tier::Raw, Tier::Downsampled] {
                let p = prefix(state.id, tier);
                for kv in sled.data.scan_prefix(p) {
                    let (k, _) = kv.map_err(|e| StoreError::from_sled(&store.path, e))?;
                    let scheduled_delete = <[u8; 13]>::try_from(&k[..])
                        .is_ok_and(|k| matches!(self.pending.get(&k), Some(None)));
                    if !scheduled_delete {
                        has_data = true;
                        break;
                    }
                }
                let lo = chunk_key(state.id, tier, i64::MIN);
                let hi = chunk_key(state.id, tier, i64::MAX);
                has_data |= self.pending.range(lo..=hi).any(|(_, v)| v.is_some());
            }
            if !has_data {
                gone.push(key.clone());
            }
        }
        for key in gone {
            self.series.remove(&key);
            self.series_ops.push((key, None));
            self.stats.series_expired += 1;
        }
        Ok(())
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
