//! The HTTP server. Handlers only read snapshots that the loops publish, so a
//! scrape never waits for a collection or a forecast.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;

use super::conn_limit::LimitAcceptor;
use super::exposition::{render, wants_openmetrics};
use crate::predict::SharedForecasts;

#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    /// True once the store is open and one collection has finished.
    pub ready: Arc<AtomicBool>,
    pub forecasts: SharedForecasts,
    pub telemetry_path: String,
}

pub fn router(state: AppState) -> Router {
    // The config rejects such paths; axum would panic on one that shadows a route.
    let path =
        crate::config::addr::parse_telemetry_path(&state.telemetry_path).unwrap_or_else(|e| {
            tracing::error!(error = %e, "bad telemetry path; serving metrics at /metrics");
            "/metrics".to_string()
        });
    Router::new()
        .route("/", get(landing))
        .route(&path, get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/series", get(super::api::series))
        .route("/api/v1/forecast", get(super::api::forecast))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match render(&st.registry, wants_openmetrics(accept)) {
        Ok((ctype, body)) => ([(header::CONTENT_TYPE, ctype)], body).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding metrics failed\n",
        )
            .into_response(),
    }
}

async fn readyz(State(st): State<AppState>) -> Response {
    if st.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: store opening or first collection pending\n",
        )
            .into_response()
    }
}

async fn landing(State(st): State<AppState>) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><title>nodecast</title></head><body>\
         <h1>nodecast {}</h1><p>Node metrics with forecasts and predicted exhaustion.</p><ul>\
         <li><a href=\"{p}\">{p}</a> (Prometheus metrics)</li>\
         <li><a href=\"/api/v1/series\">/api/v1/series</a> (forecast series, JSON)</li>\
         <li><a href=\"/healthz\">/healthz</a> (liveness)</li>\
         <li><a href=\"/readyz\">/readyz</a> (readiness)</li></ul></body></html>\n",
        env!("CARGO_PKG_VERSION"),
        p = st.telemetry_path
    ))
}

/// Time a client gets to send its request headers; slow-loris connections are cut after it.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest request head accepted; longer request lines or headers get a 431/closed connection.
pub const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener`, over TLS when `tls` is set, until `handle` shuts it down;
/// `limit` caps the open connections.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    handle: axum_server::Handle<std::net::SocketAddr>,
    limit: LimitAcceptor,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let make = app.into_make_service();
    let server = axum_server::from_tcp(listener)?.handle(handle);
    match tls {
        Some(cfg) => {
            // The cap applies before the handshake, so excess clients cost no crypto.
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(cfg).acceptor(limit);
            let mut server = server.acceptor(acceptor);
            limit_requests(server.http_builder());
            server.serve(make).await
        }
        None => {
            let mut server = server.acceptor(limit);
            limit_requests(server.http_builder());
            server.serve(make).await
        }
    }
}

fn limit_requests(b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>) {
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES);
}
