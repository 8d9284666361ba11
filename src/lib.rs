//! nodecast: a node agent whose pipeline is `collect → store → forecast → predict → export`.
//!
//! Each stage is one module with a small interface:
//! - [`collect`]: one collector per file, reading procfs/sysfs under configurable roots;
//! - [`store`]: a bounded ring buffer of samples in sled, with a downsampled tier;
//! - [`forecast`]: pure forecasting models (numbers in, numbers out);
//! - [`predict`]: time to exhaustion and probability of exhaustion from forecasts;
//! - [`export`]: Prometheus exposition and the HTTP server.
//!
//! [`config`] and [`cli`] wire them together; [`daemon`] runs the loops.

pub mod backfill;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod export;
pub mod forecast;
pub mod memory;
pub mod predict;
pub mod snapshot;
pub mod store;
