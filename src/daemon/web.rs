//! The web config at run time: loading it, and SIGHUP reloads of users and
//! certificates; SIGTERM/SIGINT start a graceful shutdown.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;

use crate::export::auth::{Auth, SharedAuth};
use crate::export::webconfig::WebConfig;

#[derive(Clone)]
pub struct WebSetup {
    pub auth: SharedAuth,
    pub tls: Option<RustlsConfig>,
    /// `http_server_config.http2`; fixed at start, as in exporter-toolkit.
    pub http2: bool,
}

struct Parts {
    auth: Auth,
    tls: Option<Arc<rustls::ServerConfig>>,
    http2: bool,
}

fn parts(path: &Path) -> Result<Parts, String> {
    let cfg = WebConfig::load(path).map_err(|e| e.to_string())?;
    for w in &cfg.warnings {
        tracing::warn!(file = %path.display(), "web config: {w}");
    }
    let auth = Auth::new(cfg.users, &cfg.headers, cfg.rate_limit)
        .map_err(|e| format!("web config {}: {e}", path.display()))?;
    Ok(Parts {
        auth,
        tls: cfg.tls,
        http2: cfg.http2,
    })
}

/// Loads the web config as a start would, for `check-config`.
pub fn check(path: &Path) -> Result<(), String> {
    parts(path).map(|_| ())
}

impl WebSetup {
    pub fn load(path: Option<&Path>) -> Result<WebSetup, String> {
        let Some(path) = path else {
            return Ok(WebSetup {
                auth: Arc::new(RwLock::new(Arc::new(Auth::default()))),
                tls: None,
                http2: true,
            });
        };
        let p = parts(path)?;
        Ok(WebSetup {
            auth: Arc::new(RwLock::new(Arc::new(p.auth))),
            tls: p.tls.map(RustlsConfig::from_config),
            http2: p.http2,
        })
    }

    pub fn has_users(&self) -> bool {
        self.auth.read().map(|a| a.has_users()).unwrap_or(true)
    }

    /// Re-reads the file; on any error the running config stays as it was.
    fn reload(&self, path: &Path) {
        match parts(path) {
            Ok(p) => {
                if p.http2 != self.http2 {
                    tracing::error!("web config reload: http_server_config.http2 changes need a restart; keeping the running config");
                    return;
                }
                match (&self.tls, p.tls) {
                    (Some(current), Some(new)) => current.reload_from_config(new),
                    (None, None) => {}
                    _ => {
                        tracing::error!("web config reload: switching TLS on or off needs a restart; keeping the running config");
                        return;
                    }
                }
                *self.auth.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(p.auth);
                tracing::info!(file = %path.display(), "web config reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "web config reload failed; keeping the running config")
            }
        }
    }
}

pub async fn signals(
    handle: axum_server::Handle<std::net::SocketAddr>,
    web: WebSetup,
    path: Option<PathBuf>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM received; shutting down"); break; }
            _ = int.recv() => { tracing::info!("SIGINT received; shutting down"); break; }
            _ = hup.recv() => match &path {
                Some(p) => web.reload(p),
                None => tracing::info!("SIGHUP received; no web config to reload"),
            },
        }
    }
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}
