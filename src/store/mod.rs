//! PLACEHOLDER (integrator) — replaced by the store branch. Same signatures as the contract.
use std::path::PathBuf;
use std::time::Duration;
#[derive(Clone, Debug)]
pub struct StoreConfig { pub path: PathBuf, pub step: Duration, pub raw_retention: Duration, pub downsample_step: Duration, pub downsample_retention: Duration, pub cache_bytes: u64, pub max_series: usize }
#[derive(Clone, Copy, Debug)] pub enum Tier { Raw, Downsampled }
#[derive(Clone, Copy, Debug)] pub enum Agg { Mean, Min, Max }
#[derive(Clone, Debug)] pub struct Window { pub start_ms: i64, pub step_ms: i64, pub values: Vec<f64> }
#[derive(Clone, Debug, Default)] pub struct AppendStats { pub stored: u64, pub dropped: u64 }
#[derive(Debug, thiserror::Error)] pub enum StoreError { #[error("corrupt store at {path}: {reason}")] Corrupt { path: PathBuf, reason: String }, #[error("{0}")] Io(#[from] std::io::Error) }
#[derive(Clone, Debug, Default)] pub struct StoreStats { pub series: u64 }
pub struct Store;
impl Store {
  pub fn open(_cfg: StoreConfig) -> Result<Store, StoreError> { Ok(Store) }
  pub fn append(&self, _ts_ms: i64, s: &[(&str, f64)]) -> Result<AppendStats, StoreError> { Ok(AppendStats { stored: s.len() as u64, dropped: 0 }) }
  pub fn flush(&self) -> Result<(), StoreError> { Ok(()) }
  pub fn read(&self, _key: &str, _tier: Tier, _agg: Agg, start_ms: i64, _end_ms: i64) -> Result<Window, StoreError> { Ok(Window { start_ms, step_ms: 1, values: vec![] }) }
  pub fn series_keys(&self) -> Vec<String> { vec![] }
  pub fn backfill(&self, _key: &str, _s: &[(i64, f64)]) -> Result<AppendStats, StoreError> { Ok(AppendStats::default()) }
  pub fn size_on_disk(&self) -> u64 { 0 }
  pub fn stats(&self) -> StoreStats { StoreStats::default() }
}
pub fn series_key(name: &str, labels: &[(String, String)]) -> String { let mut l = labels.to_vec(); l.sort(); format!("{name}{{{}}}", l.iter().map(|(k,v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join(",")) }
pub fn parse_series_key(_key: &str) -> Option<(String, Vec<(String, String)>)> { None }
pub fn move_aside(path: &std::path::Path) -> std::io::Result<PathBuf> { Ok(path.to_path_buf()) }
