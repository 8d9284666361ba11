//! In-memory state of one series: its open chunks and the downsample bucket
//! in progress. Pure bookkeeping; sled is only touched by the engine.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::codec::{self, Chunk};
use super::layout::{chunk_key, tier_cols, Layout};
use super::Tier;

/// Chunk writes waiting for the next flush, by sled key; `None` deletes.
pub type Pending = BTreeMap<[u8; 13], Option<Vec<u8>>>;

/// The open (newest) chunk of a series and tier.
#[derive(Debug, Clone)]
pub struct Head {
    pub start: i64,
    body: Body,
    /// Changed since it was last handed to sled.
    pub dirty: bool,
}

/// A raw head changes every collection, so it stays decoded. A downsampled head
/// changes once a bucket (5 minutes) and holds up to a day of three columns:
/// decoded, with `Vec` doubling, that was up to 12 KiB a series by evening and
/// most of the agent's heap growth over a day; encoded it is a few hundred
/// bytes, and decoding it again costs microseconds a bucket.
#[derive(Debug, Clone)]
enum Body {
    Open(Chunk),
    Packed(Vec<u8>),
}

impl Head {
    pub fn new(tier: Tier, start: i64, chunk: Chunk) -> Head {
        let body = match tier {
            Tier::Raw => Body::Open(chunk),
            Tier::Downsampled => Body::Packed(codec::encode(&chunk)),
        };
        Head {
            start,
            body,
            dirty: false,
        }
    }

    /// The chunk, decoded if it is held encoded.
    pub fn chunk(&self) -> Cow<'_, Chunk> {
        match &self.body {
            Body::Open(c) => Cow::Borrowed(c),
            Body::Packed(bytes) => Cow::Owned(unpack(bytes)),
        }
    }

    /// The chunk as sled stores it.
    pub fn encoded(&self) -> Cow<'_, [u8]> {
        match &self.body {
            Body::Open(c) => Cow::Owned(codec::encode(c)),
            Body::Packed(bytes) => Cow::Borrowed(bytes),
        }
    }

    /// Changes the chunk and marks the head dirty.
    pub fn update(&mut self, f: impl FnOnce(&mut Chunk)) {
        match &mut self.body {
            Body::Open(c) => f(c),
            Body::Packed(bytes) => {
                let mut c = unpack(bytes);
                f(&mut c);
                *bytes = codec::encode(&c);
            }
        }
        self.dirty = true;
    }
}

/// Bytes this process encoded itself a moment ago; they cannot fail their
/// checksum unless memory is corrupt, and then an empty chunk (the bucket is
/// lost, not the store) beats a panic.
fn unpack(bytes: &[u8]) -> Chunk {
    codec::decode(bytes).unwrap_or_else(|why| {
        tracing::error!(%why, "an open downsampled chunk no longer decodes; starting it afresh");
        Chunk::new(tier_cols(Tier::Downsampled))
    })
}

#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub slot: i64,
    sum: f64,
    count: u32,
    min: f64,
    max: f64,
}

impl Bucket {
    fn new(slot: i64, v: f64) -> Bucket {
        Bucket {
            slot,
            sum: v,
            count: 1,
            min: v,
            max: v,
        }
    }

    fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// `[mean, min, max]`. The mean is rounded to f32 precision: it is only
    /// read by forecasts, and the dropped low mantissa bits would otherwise be
    /// noise that costs ~4 bytes per bucket on disk.
    pub fn values(&self) -> [f64; 3] {
        [
            (self.sum / f64::from(self.count)) as f32 as f64,
            self.min,
            self.max,
        ]
    }
}

/// Aggregates samples given as `(slot in the downsampled grid, value)`.
pub fn aggregate(samples: impl IntoIterator<Item = (i64, f64)>) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    for (b, v) in samples {
        match out.last_mut() {
            Some(last) if last.slot == b => last.add(v),
            _ => out.push(Bucket::new(b, v)),
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct SeriesState {
    pub id: u32,
    /// Heads and `newest` reflect sled; false until first touched after open.
    pub loaded: bool,
    /// Newest raw slot holding a sample; appends must go past it.
    pub newest: Option<i64>,
    pub raw: Option<Head>,
    pub ds: Option<Head>,
    pub bucket: Option<Bucket>,
}

impl SeriesState {
    pub fn new(id: u32) -> SeriesState {
        SeriesState {
            id,
            loaded: false,
            newest: None,
            raw: None,
            ds: None,
            bucket: None,
        }
    }

    pub fn head(&self, tier: Tier) -> Option<&Head> {
        match tier {
            Tier::Raw => self.raw.as_ref(),
            Tier::Downsampled => self.ds.as_ref(),
        }
    }

    pub fn head_mut(&mut self, tier: Tier) -> &mut Option<Head> {
        match tier {
            Tier::Raw => &mut self.raw,
            Tier::Downsampled => &mut self.ds,
        }
    }

    /// Appends one sample. Returns false (dropped) when `slot` is not after
    /// the newest slot: the series stays in time order whatever the clock does.
    pub fn push(
        &mut self,
        lay: &Layout,
        slot: i64,
        v: f64,
        write_raw: bool,
        pending: &mut Pending,
    ) -> bool {
        if v.is_nan() || self.newest.is_some_and(|n| slot <= n) {
            return false;
        }
        self.newest = Some(slot);
        if write_raw {
            self.set(lay, Tier::Raw, slot, &[v], pending);
        }
        let b = slot.div_euclid(lay.ratio);
        match &mut self.bucket {
            Some(cur) if cur.slot == b => cur.add(v),
            cur => {
                if let Some(done) = cur.replace(Bucket::new(b, v)) {
                    self.set(lay, Tier::Downsampled, done.slot, &done.values(), pending);
                }
            }
        }
        true
    }

    /// Emits the bucket in progress once `now_ms` is a full bucket past its
    /// end: a series that stopped reporting would otherwise never write its
    /// last bucket (and never expire). The one-bucket grace lets a lagging
    /// collector still complete it.
    pub fn close_stale_bucket(&mut self, lay: &Layout, now_ms: i64, pending: &mut Pending) {
        if let Some(b) = self
            .bucket
            .filter(|b| (b.slot + 2) * lay.ds_step_ms <= now_ms)
        {
            self.bucket = None;
            self.set(lay, Tier::Downsampled, b.slot, &b.values(), pending);
        }
    }

    /// Writes into the open chunk of `tier`, first closing it into `pending`
    /// when `slot` belongs to a later chunk.
    fn set(&mut self, lay: &Layout, tier: Tier, slot: i64, values: &[f64], pending: &mut Pending) {
        let start = lay.chunk_start(tier, slot);
        let id = self.id;
        let head = self.head_mut(tier);
        if head.as_ref().is_none_or(|h| h.start != start) {
            if let Some(old) = head.take() {
                if old.dirty {
                    pending.insert(
                        chunk_key(id, tier, old.start),
                        Some(old.encoded().into_owned()),
                    );
                }
            }
            *head = Some(Head::new(tier, start, Chunk::new(tier_cols(tier))));
        }
        if let Some(h) = head {
            h.update(|c| c.set((slot - start) as usize, values));
        }
    }

    /// After loading heads from sled, recomputes `newest` and the bucket in
    /// progress from the raw head (a raw chunk always holds whole buckets).
    pub fn rebuild(&mut self, lay: &Layout) {
        self.newest = None;
        self.bucket = None;
        // The downsampled head counts too: its raw chunks may have expired.
        let ds_newest = self
            .ds
            .as_ref()
            .and_then(|h| Some((h.start + h.chunk().last_present()? as i64 + 1) * lay.ratio - 1));
        self.newest = ds_newest;
        let Some(h) = &self.raw else { return };
        let chunk = h.chunk();
        let Some(last) = chunk.last_present() else {
            return;
        };
        let newest = h.start + last as i64;
        self.newest = self.newest.max(Some(newest));
        let b = newest.div_euclid(lay.ratio);
        let first = (b * lay.ratio - h.start).max(0) as usize;
        let samples = (first..=last)
            .map(|i| chunk.get(0, i))
            .filter(|v| !v.is_nan());
        self.bucket = aggregate(samples.map(|v| (b, v))).pop();
    }
}
