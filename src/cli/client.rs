//! Talking to a running agent from the command line (`nodecast status`,
//! `nodecast plot --address`): the same TLS and basic-auth options a scraper has.

use std::path::PathBuf;
use std::time::Duration;

/// Where the agent is and how to authenticate.
#[derive(clap::Args, Debug, Clone)]
pub struct ClientArgs {
    /// The agent's base URL.
    #[arg(long, default_value = "http://localhost:9847")]
    pub address: String,
    /// CA certificate (PEM) to verify an HTTPS agent with, in addition to the system roots.
    #[arg(long = "tls.ca-file")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS, with --tls.key-file.
    #[arg(long = "tls.cert-file", requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long = "tls.key-file", requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate (testing only).
    #[arg(long = "tls.insecure-skip-verify")]
    pub insecure: bool,
    /// Basic-auth user.
    #[arg(long = "basic-auth.username", requires = "password_file")]
    pub username: Option<String>,
    /// File holding the basic-auth password (first line).
    #[arg(long = "basic-auth.password-file", requires = "username")]
    pub password_file: Option<PathBuf>,
    /// Timeout of each request.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// A failed request, already phrased for the user.
pub struct ClientError(pub String);

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, ClientError> {
    // Certificates and passwords are small; refuse anything that is not.
    let meta = std::fs::metadata(path)
        .map_err(|e| ClientError(format!("{what} {}: {e}", path.display())))?;
    if meta.len() > 1 << 20 {
        return Err(ClientError(format!(
            "{what} {}: larger than 1 MiB",
            path.display()
        )));
    }
    std::fs::read(path).map_err(|e| ClientError(format!("{what} {}: {e}", path.display())))
}

impl ClientArgs {
    /// GETs `path` (with query) and parses the JSON body; non-2xx answers become
    /// errors that carry the agent's own explanation.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let mut b = reqwest::Client::builder()
            .timeout(self.timeout)
            .danger_accept_invalid_certs(self.insecure);
        if let Some(ca) = &self.ca_file {
            let pem = read(ca, "--tls.ca-file")?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| ClientError(format!("--tls.ca-file {}: {e}", ca.display())))?;
            b = b.add_root_certificate(cert);
        }
        if let (Some(c), Some(k)) = (&self.cert_file, &self.key_file) {
            let mut pem = read(c, "--tls.cert-file")?;
            pem.extend(read(k, "--tls.key-file")?);
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|e| ClientError(format!("client certificate: {e}")))?;
            b = b.identity(id);
        }
        let password = match &self.password_file {
            Some(p) => {
                let raw = read(p, "--basic-auth.password-file")?;
                Some(
                    String::from_utf8_lossy(&raw)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                )
            }
            None => None,
        };
        let client = b
            .build()
            .map_err(|e| ClientError(format!("HTTP client: {e}")))?;
        let url = format!("{}{path}", self.address.trim_end_matches('/'));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError(format!("runtime: {e}")))?;
        rt.block_on(async {
            let mut req = client.get(&url);
            if let Some(u) = &self.username {
                req = req.basic_auth(u, password.as_deref());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| ClientError(format!("{url}: {e}")))?;
            let status = resp.status();
            let body = resp
                .bytes()
                .await
                .map_err(|e| ClientError(format!("{url}: {e}")))?;
            let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            if !status.is_success() {
                let why = json
                    .as_ref()
                    .and_then(|j| j["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
                return Err(ClientError(format!("{url}: HTTP {status}: {why}")));
            }
            json.ok_or_else(|| ClientError(format!("{url}: the answer is not JSON")))
        })
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for a series
/// key in a query string).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
