//! The alert rules as replay evaluates them: thresholds, `for` and `keep_firing_for`
//! read from the shipped rules file (ours) and from node-mixin's reference file
//! (predict_linear), evaluated the way Prometheus' rule manager does.

use std::path::Path;

use regex::Regex;
use serde_norway::Value;

/// One of our exhaustion alerts for one resource:
/// `tte < tte_below and (p >= prob_at_least or tte == 0)`.
#[derive(Debug, Clone, PartialEq)]
pub struct OurRule {
    pub severity: String,
    pub tte_below: f64,
    pub prob_at_least: f64,
    pub for_ms: i64,
    pub keep_ms: i64,
}

/// node-mixin's `avail/size*100 < pct and predict_linear(avail[window], ahead) < 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRule {
    pub severity: String,
    pub pct_below: f64,
    pub window_ms: i64,
    pub ahead_s: f64,
    pub for_ms: i64,
    pub keep_ms: i64,
}

struct Raw {
    expr: String,
    severity: String,
    for_ms: i64,
    keep_ms: i64,
}

fn alert_rules(path: &Path, alert: Option<&str>) -> Result<Vec<Raw>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let doc: Value = serde_norway::from_str(&text)
        .map_err(|e| format!("{}: not a rules file: {e}", path.display()))?;
    let dur = |v: Option<&Value>| -> Result<i64, String> {
        match v.and_then(Value::as_str) {
            None => Ok(0),
            Some(s) => humantime::parse_duration(s)
                .map(|d| d.as_millis() as i64)
                .map_err(|e| format!("{}: bad duration {s:?}: {e}", path.display())),
        }
    };
    let mut out = Vec::new();
    let groups = doc.get("groups").and_then(Value::as_sequence);
    for g in groups.into_iter().flatten() {
        let rules = g.get("rules").and_then(Value::as_sequence);
        for r in rules.into_iter().flatten() {
            let Some(name) = r.get("alert").and_then(Value::as_str) else {
                continue;
            };
            if alert.is_some_and(|a| a != name) {
                continue;
            }
            out.push(Raw {
                expr: r.get("expr").and_then(Value::as_str).unwrap_or("").into(),
                severity: r
                    .get("labels")
                    .and_then(|l| l.get("severity"))
                    .and_then(Value::as_str)
                    .unwrap_or("none")
                    .into(),
                for_ms: dur(r.get("for"))?,
                keep_ms: dur(r.get("keep_firing_for"))?,
            });
        }
    }
    Ok(out)
}

/// `24 * 3600` and the like.
fn product(s: &str) -> Option<f64> {
    s.split('*')
        .map(|f| f.trim().parse::<f64>().ok())
        .product::<Option<f64>>()
}

/// Our rules that alert on `resource`.
pub fn ours(path: &Path, resource: &str) -> Result<Vec<OurRule>, String> {
    let sel = regex::escape(&format!("{{resource=\"{resource}\"}}"));
    let tte = Regex::new(&format!(
        r"nodecast_time_to_exhaustion_seconds{sel}\s*<\s*([0-9.\s*]+)"
    ))
    .map_err(|e| e.to_string())?;
    let prob = Regex::new(&format!(
        r"nodecast_exhaustion_probability_ratio{sel}\s*>=\s*([0-9.]+)"
    ))
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in alert_rules(path, None)? {
        let (Some(t), Some(p)) = (tte.captures(&r.expr), prob.captures(&r.expr)) else {
            continue;
        };
        let bad = || {
            format!(
                "{}: cannot read the thresholds of {:?}",
                path.display(),
                r.expr
            )
        };
        out.push(OurRule {
            severity: r.severity,
            tte_below: product(&t[1]).ok_or_else(bad)?,
            prob_at_least: p[1].parse().map_err(|_| bad())?,
            for_ms: r.for_ms,
            keep_ms: r.keep_ms,
        });
    }
    if out.is_empty() {
        return Err(format!(
            "{}: no exhaustion rule for resource {resource:?}",
            path.display()
        ));
    }
    Ok(out)
}

/// node-mixin's NodeFilesystemSpaceFillingUp rules.
pub fn linear(path: &Path) -> Result<Vec<LinearRule>, String> {
    let pct = Regex::new(r"\*\s*100\s*<\s*([0-9.]+)").map_err(|e| e.to_string())?;
    let pl = Regex::new(r"predict_linear\([^\[]*\[(\w+)\]\s*,\s*([0-9.\s*]+)\)\s*<\s*0")
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for r in alert_rules(path, Some("NodeFilesystemSpaceFillingUp"))? {
        let bad = || format!("{}: cannot read {:?}", path.display(), r.expr);
        let (Some(c), Some(l)) = (pct.captures(&r.expr), pl.captures(&r.expr)) else {
            return Err(bad());
        };
        out.push(LinearRule {
            severity: r.severity,
            pct_below: c[1].parse().map_err(|_| bad())?,
            window_ms: humantime::parse_duration(&l[1])
                .map_err(|_| bad())?
                .as_millis() as i64,
            ahead_s: product(&l[2]).ok_or_else(bad)?,
            for_ms: r.for_ms,
            keep_ms: r.keep_ms,
        });
    }
    if out.is_empty() {
        return Err(format!(
            "{}: no NodeFilesystemSpaceFillingUp rule",
            path.display()
        ));
    }
    Ok(out)
}

/// Firing episodes `[start, end)` of an alert whose condition is sampled at each
/// evaluation: pending until true for `for`, then firing; once firing it stays so
/// until the condition has been false for `keep` (Prometheus' keep_firing_for).
pub fn episodes(evals: &[(i64, bool)], for_ms: i64, keep_ms: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let (mut active, mut firing, mut false_since) = (None::<i64>, None::<i64>, None::<i64>);
    for &(t, cond) in evals {
        if cond {
            false_since = None;
            let since = *active.get_or_insert(t);
            if firing.is_none() && t - since >= for_ms {
                firing = Some(t);
            }
        } else if let Some(start) = firing {
            let fs = *false_since.get_or_insert(t);
            if keep_ms == 0 || t - fs >= keep_ms {
                out.push((start, t));
                (active, firing, false_since) = (None, None, None);
            }
        } else {
            active = None;
        }
    }
    if let (Some(start), Some(&(t, _))) = (firing, evals.last()) {
        out.push((start, t));
    }
    out
}

/// Prometheus' predict_linear: least squares on (time − eval time) and value, the
/// line's value `ahead_s` after the evaluation time.
pub fn predict_linear(samples: &[(i64, f64)], t_eval: i64, ahead_s: f64) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let n = samples.len() as f64;
    let xs = samples.iter().map(|(t, _)| (t - t_eval) as f64 / 1000.0);
    let mx = xs.clone().sum::<f64>() / n;
    let my = samples.iter().map(|s| s.1).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, (_, y)) in xs.zip(samples) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
    }
    if sxx == 0.0 {
        return Some(my);
    }
    let slope = sxy / sxx;
    Some(my - slope * mx + slope * ahead_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_and_keep_firing_for_follow_prometheus() {
        let m = 60_000;
        // True from 0 to 40 min, a 10 min dip, true again to 70 min, then false.
        let evals: Vec<(i64, bool)> = (0..100)
            .map(|i| (i * m, (0..40).contains(&i) || (50..70).contains(&i)))
            .collect();
        assert_eq!(episodes(&evals, 30 * m, 0), vec![(30 * m, 40 * m)]);
        assert_eq!(episodes(&evals, 30 * m, 15 * m), vec![(30 * m, 85 * m)]);
        assert_eq!(
            episodes(&evals, 5 * m, 5 * m),
            vec![(5 * m, 45 * m), (55 * m, 75 * m)]
        );
    }

    #[test]
    fn predict_linear_matches_a_line() {
        let s: Vec<(i64, f64)> = (0..10).map(|i| (i * 1000, 100.0 - i as f64)).collect();
        let v = predict_linear(&s, 9000, 10.0).unwrap();
        assert!((v - 81.0).abs() < 1e-9, "{v}");
    }
}
