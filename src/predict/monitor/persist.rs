//! The monitor's records in the store: `mon/s/<series>` holds a series' state,
//! `mon/p/<series>\0<slot><horizon ms>` one pending path. A record that does not
//! decode is logged and replaced, so a damaged record costs that series' scores,
//! never the agent.

use super::accuracy::Pending;
use super::codec::{decode_path, decode_state, encode_path, encode_state};
use super::{MonitorSettings, PathStore, SeriesMonitor};
use crate::store::Store;

fn state_key(series: &str) -> Vec<u8> {
    let mut k = b"mon/s/".to_vec();
    k.extend_from_slice(series.as_bytes());
    k
}

fn path_prefix(series: &str) -> Vec<u8> {
    let mut k = b"mon/p/".to_vec();
    k.extend_from_slice(series.as_bytes());
    k.push(0);
    k
}

fn path_key(series: &str, slot: u8, horizon_ms: i64) -> Vec<u8> {
    let mut k = path_prefix(series);
    k.push(slot);
    k.extend_from_slice(&horizon_ms.to_be_bytes());
    k
}

/// A series' state from the store, reconciled with the settings; a fresh one
/// when there is none or it does not decode.
pub fn load(store: &Store, series: &str, ms: &MonitorSettings, now_ms: i64) -> SeriesMonitor {
    match store.aux_get(&state_key(series)) {
        Ok(Some(b)) => match decode_state(&b) {
            Ok(mut m) => {
                m.reconcile(series, ms, now_ms);
                m.saved_ms = now_ms;
                return m;
            }
            Err(why) => {
                tracing::warn!(series, %why, "forecast monitor state unreadable; starting it afresh");
            }
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(series, error = %e, "cannot read the forecast monitor state"),
    }
    SeriesMonitor::new(series, ms, now_ms)
}

pub fn save(store: &Store, series: &str, m: &mut SeriesMonitor, now_ms: i64) {
    match store.aux_put(&state_key(series), &encode_state(m)) {
        Ok(()) => {
            m.saved_ms = now_ms;
            m.dirty = false;
        }
        Err(e) => tracing::debug!(series, error = %e, "cannot write the forecast monitor state"),
    }
}

/// Removes the records of series the store no longer holds (expired by
/// retention), so the records stay bounded by the store's series.
pub fn prune(store: &Store) {
    let live: std::collections::HashSet<String> = store.series_keys().into_iter().collect();
    let Ok(keys) = store.aux_keys(b"mon/") else {
        return;
    };
    for k in keys {
        let rest = &k[b"mon/s/".len().min(k.len())..];
        let series = rest.split(|&b| b == 0).next().unwrap_or(rest);
        if !live.contains(&*String::from_utf8_lossy(series)) {
            let _ = store.aux_remove(&k);
        }
    }
}

/// One series' pending paths in the store.
pub struct StorePaths<'a> {
    pub store: &'a Store,
    pub series: &'a str,
}

impl PathStore for StorePaths<'_> {
    fn get(&mut self, slot: u8, horizon_ms: i64) -> Option<Pending> {
        let key = path_key(self.series, slot, horizon_ms);
        let b = self.store.aux_get(&key).ok()??;
        match decode_path(&b) {
            Ok(p) => Some(p),
            Err(why) => {
                tracing::warn!(series = self.series, %why, "pending forecast unreadable; dropped");
                let _ = self.store.aux_remove(&key);
                None
            }
        }
    }
    fn put(&mut self, slot: u8, horizon_ms: i64, p: &Pending) {
        let _ = self
            .store
            .aux_put(&path_key(self.series, slot, horizon_ms), &encode_path(p));
    }
    fn remove(&mut self, slot: u8, horizon_ms: i64) {
        let _ = self
            .store
            .aux_remove(&path_key(self.series, slot, horizon_ms));
    }
}
