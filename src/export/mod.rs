//! Export: Prometheus exposition of current values, self-metrics and forecasts,
//! and the HTTP server (`/`, `/metrics`, `/healthz`, `/readyz`, `/api/v1/*`).

pub mod api;
pub mod auth;
pub mod conn_limit;
pub mod exposition;
pub mod http;
pub mod page;
pub mod self_metrics;
pub mod status_api;
pub mod svg;
pub mod view;
pub mod webconfig;
