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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::ModelKind;
    use crate::store::StoreConfig;

    fn settings() -> MonitorSettings {
        MonitorSettings::for_tests(&[3600], Some(ModelKind::Theta))
    }

    #[test]
    fn state_and_paths_survive_a_reopen_and_damage_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = StoreConfig::new(dir.path());
        let ms = settings();
        let key = "node_load1_per_cpu{}";
        let p = Pending {
            origin_ms: 0,
            start_ms: 0,
            step_ms: 300_000,
            scale: 1.0,
            mean: vec![1.0; 12],
            lower: vec![0.0; 12],
            upper: vec![2.0; 12],
        };
        {
            let store = Store::open(cfg.clone()).unwrap();
            store.append(1000, &[(key, 1.0)]).unwrap();
            let mut m = SeriesMonitor::new(key, &ms, 0);
            m.exposed[0].add(3_600_000, 0.8, 0.9);
            m.promotions = 2;
            save(&store, key, &mut m, 0);
            StorePaths {
                store: &store,
                series: key,
            }
            .put(0, 3_600_000, &p);
            store.flush().unwrap();
        }
        let store = Store::open(cfg).unwrap();
        let m = load(&store, key, &ms, 10);
        assert_eq!(m.promotions, 2);
        assert_eq!(m.exposed[0].summary(3_600_000, 86_400_000, None).n, 1);
        let mut paths = StorePaths {
            store: &store,
            series: key,
        };
        assert_eq!(paths.get(0, 3_600_000), Some(p));
        // Damaged records: a fresh state, the path dropped; no panic.
        store.aux_put(&state_key(key), b"NCM1garbage").unwrap();
        store
            .aux_put(&path_key(key, 0, 3_600_000), b"junk")
            .unwrap();
        let m = load(&store, key, &ms, 10);
        assert_eq!((m.promotions, m.champion), (0, ModelKind::Auto));
        assert_eq!(paths.get(0, 3_600_000), None);
        assert!(store
            .aux_get(&path_key(key, 0, 3_600_000))
            .unwrap()
            .is_none());
        // Records of series the store does not hold are pruned.
        save(
            &store,
            "gone{}",
            &mut SeriesMonitor::new("gone{}", &ms, 0),
            0,
        );
        prune(&store);
        assert!(store.aux_get(&state_key("gone{}")).unwrap().is_none());
        assert!(store.aux_get(&state_key(key)).unwrap().is_some());
    }
}
