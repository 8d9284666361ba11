//! The HTTP server. Handlers only read snapshots that the loops publish, so a
//! scrape never waits for a collection or a forecast.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::conn_limit::LimitAcceptor;
use super::exposition::wants_openmetrics;
use super::scrape_cache::{Exposition, Format};
use crate::predict::SharedForecasts;

#[derive(Clone)]
pub struct AppState {
    pub exposition: Arc<Exposition>,
    /// True once the store is open and one collection has finished.
    pub ready: Arc<AtomicBool>,
    pub forecasts: SharedForecasts,
    pub telemetry_path: String,
    pub view: Arc<super::view::AgentView>,
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
        .route("/api/v1/history", get(super::status_api::history))
        .route("/api/v1/status", get(super::status_api::status))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(state)
}

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = if wants_openmetrics(accept) {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    match st.exposition.render(format) {
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

/// The node's forecast page: one self-contained document (styles and script
/// inline, no CDN), so it works on a node without internet.
async fn landing(State(st): State<AppState>) -> Response {
    let page = super::page::html(&st.telemetry_path);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page,
    )
        .into_response()
}

/// Probes stay answerable without credentials and on reserve connection slots;
/// they reveal nothing.
pub fn is_probe(path: &str) -> bool {
    path == "/healthz" || path == "/readyz"
}

/// Time a client gets to send its request headers; slow-loris connections are cut after it.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest request head accepted; longer request lines or headers get a 431/closed connection.
pub const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener`, over TLS when `tls` is set, until `handle` shuts it down;
/// `limit` admits connections; `http2: false` (web config `http_server_config.http2`)
/// serves HTTP/1 only.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    handle: axum_server::Handle<std::net::SocketAddr>,
    limit: LimitAcceptor,
    http2: bool,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let make = app.into_make_service();
    let server = axum_server::from_tcp(listener)?.handle(handle);
    match tls {
        Some(cfg) => {
            // Admission runs before the handshake, so refused clients cost no crypto.
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(cfg).acceptor(limit);
            let mut server = server.acceptor(acceptor);
            if !http2 {
                server = server.http1_only();
            }
            limit_requests(server.http_builder());
            server.serve(make).await
        }
        None => {
            let mut server = server.acceptor(limit);
            if !http2 {
                server = server.http1_only();
            }
            limit_requests(server.http_builder());
            server.serve(make).await
        }
    }
}

fn limit_requests(b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>) {
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES)
        // A client that shuts down its sending side after the request still gets the response.
        .half_close(true);
}
