//! Grid arithmetic and sled key format, derived once from the config.

use super::{StoreConfig, StoreError, Tier};

/// Target time span of one chunk. Bigger chunks compress better but are
/// rewritten whole on every flush while open; an hour of raw data (~1 KiB)
/// and a day of downsampled data keep both costs small.
const RAW_CHUNK_TARGET_MS: i64 = 3_600_000;
const DS_CHUNK_TARGET_MS: i64 = 86_400_000;
/// Retention is applied per chunk, so a chunk is kept at most this fraction
/// of the retention past its due date.
const CHUNKS_PER_RETENTION_MIN: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub step_ms: i64,
    pub ds_step_ms: i64,
    /// Raw slots per downsample bucket.
    pub ratio: i64,
    pub raw_chunk: i64,
    pub ds_chunk: i64,
    pub raw_keep_ms: i64,
    pub ds_keep_ms: i64,
}

impl Layout {
    pub fn from_config(cfg: &StoreConfig) -> Result<Layout, StoreError> {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let (step_ms, ds_step_ms) = (ms(cfg.step), ms(cfg.downsample_step));
        let (raw_keep_ms, ds_keep_ms) = (ms(cfg.raw_retention), ms(cfg.downsample_retention));
        if step_ms <= 0 || ds_step_ms <= 0 {
            return Err(StoreError::Config(
                "storage steps must be at least 1 ms".into(),
            ));
        }
        if ds_step_ms % step_ms != 0 {
            return Err(StoreError::Config(format!(
                "downsample step {ds_step_ms} ms is not a multiple of the raw step {step_ms} ms"
            )));
        }
        if raw_keep_ms < step_ms || ds_keep_ms < ds_step_ms {
            return Err(StoreError::Config(
                "each retention must cover at least one step".into(),
            ));
        }
        if cfg.max_series == 0 {
            return Err(StoreError::Config("max_series must be at least 1".into()));
        }
        let ratio = ds_step_ms / step_ms;
        // A raw chunk holds whole buckets, so the bucket in progress can be
        // rebuilt from one raw chunk after a restart.
        let raw_span = RAW_CHUNK_TARGET_MS.min(raw_keep_ms / CHUNKS_PER_RETENTION_MIN);
        let raw_chunk = round_up((raw_span / step_ms).max(1), ratio);
        let ds_span = DS_CHUNK_TARGET_MS.min(ds_keep_ms / CHUNKS_PER_RETENTION_MIN);
        let ds_chunk = (ds_span / ds_step_ms).max(1);
        Ok(Layout {
            step_ms,
            ds_step_ms,
            ratio,
            raw_chunk,
            ds_chunk,
            raw_keep_ms,
            ds_keep_ms,
        })
    }

    pub fn tier_step(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Raw => self.step_ms,
            Tier::Downsampled => self.ds_step_ms,
        }
    }

    pub fn chunk_len(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Raw => self.raw_chunk,
            Tier::Downsampled => self.ds_chunk,
        }
    }

    pub fn keep_ms(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Raw => self.raw_keep_ms,
            Tier::Downsampled => self.ds_keep_ms,
        }
    }

    pub fn chunk_start(&self, tier: Tier, slot: i64) -> i64 {
        slot - slot.rem_euclid(self.chunk_len(tier))
    }

    /// First slot that is still inside retention when the newest sample is at `now_ms`.
    pub fn oldest_kept_slot(&self, tier: Tier, now_ms: i64) -> i64 {
        let step = self.tier_step(tier);
        (now_ms.saturating_sub(self.keep_ms(tier))).div_euclid(step) + 1
    }

    /// Most chunks one series can hold in a tier: the retention span plus the
    /// chunk that straddles the cutoff and the open one.
    pub fn max_chunks(&self, tier: Tier) -> i64 {
        let span = self.chunk_len(tier) * self.tier_step(tier);
        self.keep_ms(tier).div_euclid(span) + 2
    }
}

fn round_up(v: i64, multiple: i64) -> i64 {
    (v + multiple - 1).div_euclid(multiple) * multiple
}

pub fn tier_byte(tier: Tier) -> u8 {
    match tier {
        Tier::Raw => 0,
        Tier::Downsampled => 1,
    }
}

pub fn tier_cols(tier: Tier) -> usize {
    match tier {
        Tier::Raw => 1,
        Tier::Downsampled => 3,
    }
}

/// `id u32 BE | tier u8 | chunk start slot (i64, sign bit flipped) BE`, so a
/// byte-ordered range scan is time-ordered within one series and tier.
pub fn chunk_key(id: u32, tier: Tier, start: i64) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[..4].copy_from_slice(&id.to_be_bytes());
    k[4] = tier_byte(tier);
    k[5..].copy_from_slice(&((start as u64) ^ (1 << 63)).to_be_bytes());
    k
}

pub fn prefix(id: u32, tier: Tier) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[..4].copy_from_slice(&id.to_be_bytes());
    k[4] = tier_byte(tier);
    k
}

/// Chunk start slot from a key; `None` if the key is not 13 bytes.
pub fn key_start(key: &[u8]) -> Option<i64> {
    let b: [u8; 8] = key.get(5..13)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_is_hourly_and_daily_chunks() {
        let lay = Layout::from_config(&StoreConfig::new("/nonexistent")).unwrap();
        assert_eq!(
            (lay.step_ms, lay.ds_step_ms, lay.ratio),
            (15_000, 300_000, 20)
        );
        assert_eq!((lay.raw_chunk, lay.ds_chunk), (240, 288));
        assert_eq!(
            (lay.max_chunks(Tier::Raw), lay.max_chunks(Tier::Downsampled)),
            (50, 37)
        );
        // 48 h back from a newest sample at t: the slot just after t - 48 h
        let t = 1_750_000_000_000;
        assert_eq!(
            lay.oldest_kept_slot(Tier::Raw, t),
            (t - 48 * 3_600_000) / 15_000 + 1
        );
    }

    #[test]
    fn keys_order_by_time_including_negative_slots() {
        let starts = [-480, -240, 0, 240, 1 << 40];
        let keys: Vec<[u8; 13]> = starts.iter().map(|&s| chunk_key(7, Tier::Raw, s)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys
            .iter()
            .zip(starts)
            .all(|(k, s)| key_start(k) == Some(s)));
        assert!(chunk_key(7, Tier::Downsampled, i64::MIN) > chunk_key(7, Tier::Raw, i64::MAX));
        assert!(Layout::from_config(&StoreConfig {
            downsample_step: std::time::Duration::from_secs(20),
            ..StoreConfig::new("/x")
        })
        .is_err());
    }
}
