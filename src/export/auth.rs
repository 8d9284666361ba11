//! Basic authentication, the request rate limit and extra response headers
//! from the web config. bcrypt is slow on purpose (tens of ms), so verified
//! credentials are remembered as a SHA-256 digest per user; 200 scrapers then
//! cost one bcrypt, not 200. Probes bypass authentication and the rate limit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::http::is_probe;
use super::webconfig::RateLimit;

#[derive(Default)]
pub struct Auth {
    users: BTreeMap<String, String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    verified: Mutex<HashMap<String, [u8; 32]>>,
    decoy: String,
    bucket: Option<Mutex<Bucket>>,
}

/// exporter-toolkit's token bucket (Go's `rate.Limiter`): one token per
/// `interval`, at most `burst` saved up, shared by all clients.
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(limit: RateLimit) -> Self {
        Bucket {
            limit,
            tokens: f64::from(limit.burst),
            at: Instant::now(),
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() / self.limit.interval.as_secs_f64();
        self.tokens = (self.tokens + refill).min(f64::from(self.limit.burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
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
        rate_limit: Option<RateLimit>,
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
            bucket: rate_limit.map(|l| Mutex::new(Bucket::new(l))),
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

pub async fn middleware(State(auth): State<SharedAuth>, req: Request, next: Next) -> Response {
    let auth = match auth.read() {
        Ok(a) => Arc::clone(&a),
        Err(p) => Arc::clone(&p.into_inner()),
    };
    let probe = is_probe(req.uri().path());
    let limited = !probe
        && auth.bucket.as_ref().is_some_and(|b| {
            !b.lock()
                .unwrap_or_else(|p| p.into_inner())
                .allow(Instant::now())
        });
    let mut resp = if limited {
        (StatusCode::TOO_MANY_REQUESTS, "too many requests\n").into_response()
    } else if !auth.users.is_empty() && !probe && !authorized(&auth, Auth::credentials(&req)).await
    {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"nodecast\"")],
            "unauthorized\n",
        )
            .into_response()
    } else {
        next.run(req).await
    };
    for (k, v) in &auth.headers {
        resp.headers_mut().insert(k.clone(), v.clone());
    }
    resp
}

async fn authorized(auth: &Arc<Auth>, credentials: Option<(String, String)>) -> bool {
    match credentials {
        Some((u, p)) => auth.allows(u, p).await,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_burst_then_one_per_interval() {
        let limit = RateLimit {
            interval: Duration::from_secs(1),
            burst: 3,
        };
        let mut b = Bucket::new(limit);
        let t0 = b.at;
        assert_eq!((0..5).filter(|_| b.allow(t0)).count(), 3);
        assert!(!b.allow(t0 + Duration::from_millis(500)));
        assert!(b.allow(t0 + Duration::from_millis(1000)));
        assert!(!b.allow(t0 + Duration::from_millis(1100)));
        // Never more than `burst` saved up.
        assert_eq!(
            (0..5)
                .filter(|_| b.allow(t0 + Duration::from_secs(100)))
                .count(),
            3
        );
        let mut none = Bucket::new(RateLimit { burst: 0, ..limit });
        assert!(!none.allow(t0 + Duration::from_secs(100)));
    }
}
