//! Small records of other modules (the forecast monitor's state) in the `meta`
//! tree under the `aux/` prefix: compaction copies that tree, so they survive it
//! like the series index does, and they never mix with the chunk keys.

use super::{Store, StoreError};

const PREFIX: &[u8] = b"aux/";

fn full(key: &[u8]) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(key);
    k
}

impl Store {
    pub fn aux_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let g = self.lock();
        let v = g.sled(self.path())?.meta.get(full(key));
        v.map(|o| o.map(|v| v.to_vec()))
            .map_err(|e| StoreError::from_sled(self.path(), e))
    }

    pub fn aux_put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let g = self.lock();
        g.sled(self.path())?
            .meta
            .insert(full(key), value)
            .map(|_| ())
            .map_err(|e| StoreError::from_sled(self.path(), e))
    }

    pub fn aux_remove(&self, key: &[u8]) -> Result<(), StoreError> {
        let g = self.lock();
        g.sled(self.path())?
            .meta
            .remove(full(key))
            .map(|_| ())
            .map_err(|e| StoreError::from_sled(self.path(), e))
    }

    /// Keys (without the `aux/` prefix) that start with `prefix`.
    pub fn aux_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let g = self.lock();
        let mut out = Vec::new();
        for kv in g.sled(self.path())?.meta.scan_prefix(full(prefix)) {
            let (k, _) = kv.map_err(|e| StoreError::from_sled(self.path(), e))?;
            out.push(k[PREFIX.len()..].to_vec());
        }
        Ok(out)
    }
}
