//! Basic authentication and extra response headers from the web config.
//! bcrypt is slow on purpose (tens of ms), so verified credentials are remembered
//! as a SHA-256 digest per user; 200 scrapers then cost one bcrypt, not 200.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Default)]
pub struct Auth {
    users: BTreeMap<String, String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    verified: Mutex<HashMap<String, [u8; 32]>>,
    decoy: String,
}

/// Replaced wholesale on SIGHUP.
pub type SharedAuth = Arc<RwLock<Arc<Auth>>>;

impl Auth {
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    pub fn new(
        users: BTreeMap<String, String>,
        headers: &BTreeMap<String, String>,
    ) -> Result<Auth, String> {
        let mut hs = Vec::new();
        for (k, v) in headers {
            let name =
                HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k:?}: {e}"))?;
            let value = HeaderValue::from_str(v).map_err(|e| format!("header {k:?}: {e}"))?;
            hs.push((name, value));
        }
        // A hash of the users' own cost, so failing on an unknown user takes as long as on a known one.
        let cost = users
            .values()
            .filter_map(|h| h.parse::<bcrypt::HashParts>().ok())
            .map(|p| p.get_cost())
            .max()
            .unwrap_or(4);
        let decoy = bcrypt::hash("nodecast-decoy", cost).map_err(|e| e.to_string())?;
        Ok(Auth {
            users,
            headers: hs,
            verified: Mutex::new(HashMap::new()),
            decoy,
        })
    }

    fn credentials(req: &Request) -> Option<(String, String)> {
        let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (u, p) = text.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }

    async fn allows(self: &Arc<Self>, user: String, password: String) -> bool {
        let Some(hash) = self.users.get(&user).cloned() else {
            // Spend the same bcrypt time for unknown users so timing does not reveal them.
            let decoy = self.decoy.clone();
            let _ = tokio::task::spawn_blocking(move || bcrypt::verify(password, &decoy)).await;
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        if self
            .verified
            .lock()
            .map(|m| m.get(&user) == Some(&digest))
            .unwrap_or(false)
        {
            return true;
        }
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        if ok {
            if let Ok(mut m) = self.verified.lock() {
                m.insert(user, digest);
            }
        }
        ok
    }
}

/// Probes stay open so kubelet and systemd need no credentials; they reveal nothing.
fn is_probe(path: &str) -> bool {
    path == "/healthz" || path == "/readyz"
}

pub async fn middleware(State(auth): State<SharedAuth>, req: Request, next: Next) -> Response {
    let auth = match auth.read() {
        Ok(a) => Arc::clone(&a),
        Err(p) => Arc::clone(&p.into_inner()),
    };
    if !auth.users.is_empty() && !is_probe(req.uri().path()) {
        let ok = match Auth::credentials(&req) {
            Some((u, p)) => auth.allows(u, p).await,
            None => false,
        };
        if !ok {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"nodecast\"")],
                "unauthorized\n",
            )
                .into_response();
        }
    }
    let mut resp = next.run(req).await;
    for (k, v) in &auth.headers {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}
