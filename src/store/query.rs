//! Reading windows and backfilling history: the two operations that look at
//! chunks other than the open heads.

use std::collections::BTreeMap;

use super::codec::Chunk;
use super::engine::{Inner, Store};
use super::layout::{chunk_key, tier_cols};
use super::series::{aggregate, SeriesState};
use super::sled_io::chunks_in;
use super::{codec, Agg, AppendStats, StoreError, Tier, Window};

/// A window larger than this is a caller bug (e.g. ms passed as seconds), not
/// a query worth allocating for.
const MAX_WINDOW: i64 = 10_000_000;

impl Store {
    /// Slots `s` with `start_ms <= s * step < end_ms` of one series and tier.
    /// The downsampled tier ends at the last completed bucket.
    pub fn read(
        &self,
        key: &str,
        tier: Tier,
        agg: Agg,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Window, StoreError> {
        let step = self.lay.tier_step(tier);
        let first = start_ms.div_euclid(step) + i64::from(start_ms.rem_euclid(step) != 0);
        let end = end_ms.div_euclid(step) + i64::from(end_ms.rem_euclid(step) != 0);
        let n = end.saturating_sub(first).max(0);
        if n > MAX_WINDOW {
            return Err(StoreError::Config(format!(
                "read window of {n} slots is larger than {MAX_WINDOW}"
            )));
        }
        let mut values = vec![f64::NAN; n as usize];
        let window = |values| Window {
            start_ms: first * step,
            step_ms: step,
            values,
        };
        let mut g = self.lock();
        if n == 0 || !g.load(self, key)? {
            return Ok(window(values));
        }
        let col = match (tier, agg) {
            (Tier::Raw, _) | (_, Agg::Mean) => 0,
            (_, Agg::Min) => 1,
            (_, Agg::Max) => 2,
        };
        let Some(state) = g.series.get(key) else {
            return Ok(window(values));
        };
        let (lo, hi) = (
            self.lay.chunk_start(tier, first),
            self.lay.chunk_start(tier, end - 1),
        );
        let chunks = collect(&g, self, state, tier, lo, hi)?;
        for (start, chunk) in &chunks {
            for i in 0..chunk.len() {
                let slot = start + i as i64;
                if (first..end).contains(&slot) {
                    values[(slot - first) as usize] = chunk.get(col, i);
                }
            }
        }
        Ok(window(values))
    }

    /// Writes historical samples (e.g. from Prometheus) strictly before the
    /// series' oldest local data, so nothing collected locally is ever
    /// overwritten. For a series with no local data the samples are replayed
    /// as appends. Raw samples go only to slots before the oldest local raw
    /// slot and oldest local bucket; downsampled buckets only when the whole
    /// bucket lies before both. Samples outside a tier's retention skip it.
    pub fn backfill(&self, key: &str, samples: &[(i64, f64)]) -> Result<AppendStats, StoreError> {
        let lay = self.lay;
        let mut slots: Vec<(i64, f64)> = samples
            .iter()
            .filter(|(_, v)| !v.is_nan())
            .map(|&(ts, v)| (ts.div_euclid(lay.step_ms), v))
            .collect();
        slots.sort_by_key(|&(s, _)| s);
        slots.dedup_by_key(|&mut (s, _)| s);
        let mut st = AppendStats::default();
        let mut g = self.lock();
        if !g.create(self, key) || !g.load(self, key)? || slots.is_empty() {
            st.dropped = samples.len() as u64;
            g.stats.backfill_dropped += st.dropped;
            return Ok(st);
        }
        let last_ms = slots.last().map_or(0, |&(s, _)| s * lay.step_ms);
        let now = g.now_ms.unwrap_or(last_ms);
        let (raw_cut, ds_cut) = (
            lay.oldest_kept_slot(Tier::Raw, now),
            lay.oldest_kept_slot(Tier::Downsampled, now),
        );
        let Some(state) = g.series.get(key) else {
            return Ok(st);
        };
        let raw_old = oldest_slot(&g, self, state, Tier::Raw)?;
        let ds_old = oldest_slot(&g, self, state, Tier::Downsampled)?;
        let Inner {
            series, pending, ..
        } = &mut *g;
        let Some(state) = series.get_mut(key) else {
            return Ok(st);
        };
        if raw_old.is_none() && ds_old.is_none() && state.bucket.is_none() {
            for &(slot, v) in &slots {
                if state.push(&lay, slot, v, slot >= raw_cut, pending) {
                    st.stored += 1;
                }
            }
            g.now_ms = g.now_ms.max(Some(last_ms));
        } else {
            let min = |a: Option<i64>, b: Option<i64>| match (a, b) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(i64::MAX),
            };
            let raw_limit = min(raw_old, ds_old.map(|b| b * lay.ratio));
            let ds_limit = min(ds_old, raw_old.map(|s| s.div_euclid(lay.ratio)));
            let raw: Vec<(i64, f64)> = slots
                .iter()
                .copied()
                .filter(|&(s, _)| s < raw_limit && s >= raw_cut)
                .collect();
            let ds_in = slots
                .iter()
                .map(|&(s, v)| (s.div_euclid(lay.ratio), v))
                .filter(|&(b, _)| b < ds_limit && b >= ds_cut);
            let buckets = aggregate(ds_in);
            st.stored = slots
                .iter()
                .filter(|&&(s, _)| {
                    (s < raw_limit && s >= raw_cut)
                        || buckets.iter().any(|b| b.slot == s.div_euclid(lay.ratio))
                })
                .count() as u64;
            let ds: Vec<(i64, [f64; 3])> = buckets.iter().map(|b| (b.slot, b.values())).collect();
            fill(
                &mut g,
                self,
                key,
                Tier::Raw,
                raw.iter().map(|(s, v)| (*s, vec![*v])).collect(),
            )?;
            fill(
                &mut g,
                self,
                key,
                Tier::Downsampled,
                ds.iter().map(|(s, v)| (*s, v.to_vec())).collect(),
            )?;
        }
        st.dropped = samples.len() as u64 - st.stored;
        g.stats.backfill_stored += st.stored;
        g.stats.backfill_dropped += st.dropped;
        Ok(st)
    }
}

/// Decoded chunks with start in `[lo, hi]`, the in-memory head included.
/// A chunk that fails to decode is skipped (its slots read as gaps) and
/// counted once, so one bad chunk never hides the rest of the series.
fn collect(
    g: &Inner,
    store: &Store,
    state: &SeriesState,
    tier: Tier,
    lo: i64,
    hi: i64,
) -> Result<BTreeMap<i64, Chunk>, StoreError> {
    let sled = g.sled(&store.path)?;
    let mut out = BTreeMap::new();
    for (start, bytes) in chunks_in(sled, &g.pending, &store.path, state.id, tier, lo, hi)? {
        let key = chunk_key(state.id, tier, start);
        if g.bad.borrow().contains(&key) {
            continue;
        }
        match codec::decode(&bytes) {
            Ok(chunk) => {
                out.insert(start, chunk);
            }
            Err(why) => g.bad.borrow_mut().note(&store.path, key, &why),
        }
    }
    if let Some(h) = state.head(tier).filter(|h| (lo..=hi).contains(&h.start)) {
        out.insert(h.start, h.chunk().into_owned());
    }
    Ok(out)
}

fn oldest_slot(
    g: &Inner,
    store: &Store,
    state: &SeriesState,
    tier: Tier,
) -> Result<Option<i64>, StoreError> {
    let chunks = collect(g, store, state, tier, i64::MIN, i64::MAX)?;
    Ok(chunks
        .iter()
        .find_map(|(start, c)| Some(start + c.first_present()? as i64)))
}

/// Sets each `(slot, values)` whose slot is still empty, chunk by chunk.
fn fill(
    g: &mut Inner,
    store: &Store,
    key: &str,
    tier: Tier,
    items: Vec<(i64, Vec<f64>)>,
) -> Result<(), StoreError> {
    let mut by_chunk: BTreeMap<i64, Vec<(i64, Vec<f64>)>> = BTreeMap::new();
    for (slot, v) in items {
        by_chunk
            .entry(store.lay.chunk_start(tier, slot))
            .or_default()
            .push((slot, v));
    }
    for (start, items) in by_chunk {
        let Some(state) = g.series.get(key) else {
            return Ok(());
        };
        let id = state.id;
        let is_head = state.head(tier).is_some_and(|h| h.start == start);
        let mut chunk = if is_head {
            None
        } else {
            Some(
                collect(g, store, state, tier, start, start)?
                    .remove(&start)
                    .unwrap_or_else(|| Chunk::new(tier_cols(tier))),
            )
        };
        let Inner {
            series, pending, ..
        } = &mut *g;
        let Some(state) = series.get_mut(key) else {
            return Ok(());
        };
        let fill_gaps = |target: &mut Chunk| {
            for (slot, v) in items {
                let i = (slot - start) as usize;
                if !target.is_present(i) {
                    target.set(i, &v);
                }
            }
        };
        match (&mut chunk, state.head_mut(tier)) {
            (Some(c), _) => fill_gaps(c),
            (None, Some(h)) => h.update(fill_gaps),
            (None, None) => continue,
        }
        if let Some(c) = chunk {
            pending.insert(chunk_key(id, tier, start), Some(codec::encode(&c)));
        }
    }
    Ok(())
}
