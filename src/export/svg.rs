//! A forecast chart as a standalone SVG (history, forecast mean, interval band,
//! exhaustion point), for `nodecast plot` and the pictures in docs/. Pure:
//! numbers in, markup out.

use std::fmt::Write;

/// What to draw. Times are Unix seconds.
pub struct Plot<'a> {
    pub title: &'a str,
    /// Metric name, used to pick the value unit (bytes, ratio, …).
    pub metric: &'a str,
    pub history: &'a [(f64, f64)],
    /// (time, mean, lower, upper)
    pub forecast: &'a [(f64, f64, f64, f64)],
    /// Where the forecast says the resource runs out, if it does.
    pub exhaustion_at: Option<f64>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Human value with the metric's unit (binary prefixes for bytes, % for ratios).
pub fn fmt_value(v: f64, metric: &str) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if metric.ends_with("_bytes") {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let (mut x, mut i) = (v.abs(), 0);
        while x >= 1024.0 && i < units.len() - 1 {
            x /= 1024.0;
            i += 1;
        }
        let sign = if v < 0.0 { "-" } else { "" };
        return format!("{sign}{x:.1} {}", units[i]);
    }
    if metric.ends_with("_ratio") {
        return format!("{:.1} %", v * 100.0);
    }
    if v.abs() >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v.abs() >= 1e4 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.2}")
    }
}

fn fmt_time(t: f64) -> String {
    let secs = t.max(0.0) as u64;
    let s = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    )
    .to_string();
    // "2026-11-30T18:57:00Z" -> "11-30 18:57"
    s.get(5..16).map(|x| x.replace('T', " ")).unwrap_or(s)
}

/// Renders the chart; empty inputs give a chart that says so.
pub fn render(p: &Plot, width: u32, height: u32) -> String {
    let (w, h) = (width.max(200) as f64, height.max(120) as f64);
    let (l, r, t, b) = (72.0, 12.0, 28.0, 26.0);
    let finite = |v: f64| v.is_finite();
    let times = p
        .history
        .iter()
        .map(|x| x.0)
        .chain(p.forecast.iter().map(|x| x.0))
        .filter(|v| finite(*v));
    let (t0, t1) = times.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let values = p
        .history
        .iter()
        .map(|x| x.1)
        .chain(p.forecast.iter().flat_map(|x| [x.1, x.2, x.3]))
        .chain(p.exhaustion_at.map(|_| 0.0))
        .filter(|v| finite(*v));
    let (mut y0, mut y1) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"{l}\" y=\"17\" font-size=\"13\" fill=\"#1b1f24\">{}</text>",
        esc(p.title)
    );
    if !t0.is_finite() || !y0.is_finite() {
        let _ = writeln!(
            out,
            "<text x=\"{l}\" y=\"{}\" fill=\"#57606a\">no data</text></svg>",
            h / 2.0
        );
        return out;
    }
    if y1 - y0 < 1e-12 {
        y0 -= 1.0;
        y1 += 1.0;
    }
    let span = (t1 - t0).max(1e-9);
    let x = |v: f64| l + (v - t0) / span * (w - l - r);
    let y = |v: f64| h - b - (v - y0) / (y1 - y0) * (h - t - b);
    for i in 0..=4 {
        let v = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{l}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#d0d7de\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{}</text>",
            w - r,
            l - 6.0,
            y(v) + 4.0,
            esc(&fmt_value(v, p.metric)),
            yy = y(v)
        );
    }
    for i in 0..=4 {
        let tt = t0 + span * i as f64 / 4.0;
        let anchor = ["start", "middle", "middle", "middle", "end"][i];
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#57606a\">{}</text>",
            x(tt),
            h - 8.0,
            fmt_time(tt)
        );
    }
    let poly = |pts: &mut dyn Iterator<Item = (f64, f64)>| -> String {
        pts.filter(|(a, v)| a.is_finite() && v.is_finite())
            .map(|(a, v)| format!("{:.1},{:.1}", x(a), y(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !p.forecast.is_empty() {
        let upper = poly(&mut p.forecast.iter().map(|f| (f.0, f.3)));
        let lower = poly(&mut p.forecast.iter().rev().map(|f| (f.0, f.2)));
        let _ = write!(
            out,
            "<polygon points=\"{upper} {lower}\" fill=\"rgba(5,80,174,0.16)\"/>"
        );
    }
    let hist = poly(&mut p.history.iter().copied());
    let _ = write!(
        out,
        "<polyline points=\"{hist}\" fill=\"none\" stroke=\"#1b1f24\" stroke-width=\"1.4\"/>"
    );
    let mean = poly(&mut p.forecast.iter().map(|f| (f.0, f.1)));
    let _ = write!(out, "<polyline points=\"{mean}\" fill=\"none\" stroke=\"#0550ae\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>");
    if let Some(at) = p.exhaustion_at.filter(|a| a.is_finite()) {
        let _ = write!(
            out,
            "<line x1=\"{l}\" x2=\"{:.1}\" y1=\"{z:.1}\" y2=\"{z:.1}\" stroke=\"#a40e26\" stroke-dasharray=\"1 3\"/><circle cx=\"{:.1}\" cy=\"{z:.1}\" r=\"5\" fill=\"#a40e26\"><title>runs out {}</title></circle>",
            w - r,
            x(at.min(t1)),
            fmt_time(at),
            z = y(0.0)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_history_band_mean_and_exhaustion() {
        let history: Vec<_> = (0..10)
            .map(|i| (1e9 + i as f64 * 300.0, 100.0 - i as f64))
            .collect();
        let forecast: Vec<_> = (10..20)
            .map(|i| {
                (
                    1e9 + i as f64 * 300.0,
                    100.0 - i as f64,
                    80.0 - i as f64,
                    110.0 - i as f64,
                )
            })
            .collect();
        let svg = render(
            &Plot {
                title: "a <b> & c",
                metric: "node_filesystem_avail_bytes",
                history: &history,
                forecast: &forecast,
                exhaustion_at: Some(1e9 + 30_000.0),
            },
            640,
            240,
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("<polygon"));
        assert!(svg.contains("<circle"));
        assert!(
            svg.contains(" B<") || svg.contains("B</text>"),
            "byte unit on the axis"
        );
    }

    #[test]
    fn empty_input_says_no_data() {
        let svg = render(
            &Plot {
                title: "x",
                metric: "m",
                history: &[],
                forecast: &[],
                exhaustion_at: None,
            },
            300,
            200,
        );
        assert!(svg.contains("no data"));
    }
}
