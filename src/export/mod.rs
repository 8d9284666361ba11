//! Export: Prometheus exposition of current values, self-metrics and forecasts,
//! and the HTTP server (`/`, `/metrics`, `/healthz`, `/readyz`, `/api/v1/*`).

pub mod api;
pub mod auth;
pub mod client_auth;
pub mod client_sans;
pub mod conn_limit;
pub mod conn_stream;
pub mod exposition;
pub mod http;
pub mod page;
pub mod probe_gate;
pub mod scrape_cache;
pub mod self_metrics;
pub mod status_api;
pub mod svg;
pub mod tls_build;
pub mod view;
pub mod webconfig;
