//! The page at `/`: the node at a glance (resources by time to exhaustion),
//! a chart per forecast series, warm-up status and pipeline health. One document
//! with its style and script inline, embedded in the binary: no CDN, no build
//! step, nothing to fetch but the agent's own JSON API.

const TEMPLATE: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/app.css");
const SCRIPT: &str = include_str!("page/app.js");

/// The page with the metrics path (`--web.telemetry-path`) filled in.
pub fn html(telemetry_path: &str) -> String {
    let escaped: String = telemetry_path
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    TEMPLATE
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", SCRIPT)
        .replace("{{VERSION}}", env!("CARGO_PKG_VERSION"))
        .replace("{{METRICS_PATH}}", &escaped)
}

/// Bytes the page adds to the binary (reported by the browser test and the README).
pub const EMBEDDED_BYTES: usize = TEMPLATE.len() + STYLE.len() + SCRIPT.len();

#[cfg(test)]
mod tests {
    #[test]
    fn fills_placeholders_and_escapes_the_path() {
        let page = super::html("/m\"<x>");
        assert!(!page.contains("{{"), "unfilled placeholder");
        assert!(page.contains("/m&quot;&lt;x&gt;"));
        assert!(!page.contains("/m\"<x>"));
    }
}
