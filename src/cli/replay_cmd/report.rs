//! What a replay measured for one input, from the cycles and the rules.

use serde::Serialize;

use super::rules::{episodes, predict_linear, LinearRule, OurRule};
use super::sim::{Cycle, Input};
use crate::predict::series::{exhaustion_margin, HYSTERESIS};

/// Rules are evaluated every minute, as Prometheus' default evaluation_interval.
pub const EVAL_MS: i64 = 60_000;

/// One severity of one rule set on one input.
#[derive(Debug, Clone, Serialize)]
pub struct Alerting {
    pub severity: String,
    /// Hours from the start of the episode on at exhaustion to exhaustion.
    pub lead_hours: Option<f64>,
    /// The episode that started before exhaustion was still firing then.
    pub on_at_exhaustion: bool,
    /// And stayed on until the resource was freed (or the history ended).
    pub on_until_freed: bool,
    /// Episodes that started before exhaustion (all of them if never exhausted).
    pub episodes_before: usize,
    pub episodes: usize,
    pub hours_firing: f64,
    /// Every episode as [start, end] in hours since the start of the history.
    pub spans_hours: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub input: String,
    pub resource: String,
    pub days: f64,
    /// Hours from the start of the history to the first exhaustion, if any.
    pub exhausted_at_hours: Option<f64>,
    pub ours: Vec<Alerting>,
    pub predict_linear: Vec<Alerting>,
    /// Median |forecast exhaustion time − actual| over the cycles of the last 24 h
    /// before exhaustion, in hours (+Inf counts when no exhaustion was forecast).
    pub eta_error_median_hours: Option<f64>,
    /// Online accuracy the daemon would show at the end (docs/forecast.md, "Online
    /// monitoring"): per exposed horizon, over the last 24 h and 7 d.
    pub online_accuracy: Vec<crate::predict::monitor::view::Score>,
}

fn alerting(
    t0: i64,
    severity: &str,
    eps: &[(i64, i64)],
    exhausted: Option<i64>,
    freed: Option<i64>,
    end: i64,
) -> Alerting {
    let hours_firing = eps
        .iter()
        .map(|(s, e)| (e - s) as f64)
        .fold(0.0, |a, d| a + d)
        / 3.6e6;
    let before: Vec<&(i64, i64)> = eps
        .iter()
        .filter(|(s, _)| exhausted.is_none_or(|x| *s <= x))
        .collect();
    let mut a = Alerting {
        severity: severity.into(),
        lead_hours: None,
        on_at_exhaustion: false,
        on_until_freed: false,
        episodes_before: before.len(),
        episodes: eps.len(),
        hours_firing,
        spans_hours: eps
            .iter()
            .map(|(s, e)| [(s - t0) as f64 / 3.6e6, (e - t0) as f64 / 3.6e6])
            .collect(),
    };
    if let (Some(x), Some(&&(s, e))) = (exhausted, before.last()) {
        a.lead_hours = Some((x - s) as f64 / 3.6e6);
        a.on_at_exhaustion = e >= x || e >= end;
        let until = freed.unwrap_or(end);
        a.on_until_freed = e >= until.min(end) - EVAL_MS;
    }
    a
}

pub fn measure(input: &Input, cycles: &[Cycle], ours: &[OurRule], linear: &[LinearRule]) -> Report {
    let s = &input.samples;
    let (t0, end) = (s[0].0, s[s.len() - 1].0);
    let margin = |cap: f64| cap * exhaustion_margin(&input.resource);
    let exhausted = s.iter().find(|(_, v, c)| *v <= margin(*c)).map(|x| x.0);
    let freed = exhausted.and_then(|x| {
        s.iter()
            .find(|(t, v, c)| *t > x && *v > HYSTERESIS * margin(*c))
            .map(|p| p.0)
    });
    let start = cycles.first().map_or(t0, |c| c.t_ms);
    let grid: Vec<i64> = (0..)
        .map(|i| start + i * EVAL_MS)
        .take_while(|t| *t <= end)
        .collect();

    let mut ci = 0;
    let ours_out = ours
        .iter()
        .map(|r| {
            ci = 0;
            let evals: Vec<(i64, bool)> = grid
                .iter()
                .map(|&t| {
                    while ci + 1 < cycles.len() && cycles[ci + 1].t_ms <= t {
                        ci += 1;
                    }
                    let c = cycles.get(ci).filter(|c| c.t_ms <= t);
                    let cond = c.is_some_and(|c| match (c.tte, c.prob) {
                        (Some(tte), Some(p)) => {
                            tte < r.tte_below && (p >= r.prob_at_least || tte == 0.0)
                        }
                        _ => false,
                    });
                    (t, cond)
                })
                .collect();
            let eps = episodes(&evals, r.for_ms, r.keep_ms);
            alerting(t0, &r.severity, &eps, exhausted, freed, end)
        })
        .collect();

    let linear_out = linear
        .iter()
        .map(|r| {
            let (mut lo, mut hi) = (0usize, 0usize);
            let evals: Vec<(i64, bool)> = grid
                .iter()
                .map(|&t| {
                    while hi < s.len() && s[hi].0 <= t {
                        hi += 1;
                    }
                    while lo < hi && s[lo].0 < t - r.window_ms {
                        lo += 1;
                    }
                    let win: Vec<(i64, f64)> = s[lo..hi].iter().map(|p| (p.0, p.1)).collect();
                    // The instant vector: the latest sample within the 5-minute lookback.
                    let cur = s[..hi].last().filter(|p| t - p.0 <= 300_000);
                    let cond = cur.is_some_and(|p| p.1 / p.2 * 100.0 < r.pct_below)
                        && predict_linear(&win, t, r.ahead_s).is_some_and(|v| v < 0.0);
                    (t, cond)
                })
                .collect();
            let eps = episodes(&evals, r.for_ms, r.keep_ms);
            alerting(t0, &r.severity, &eps, exhausted, freed, end)
        })
        .collect();

    let eta = exhausted.map(|x| {
        let errs: Vec<f64> = cycles
            .iter()
            .filter(|c| c.t_ms >= x - 24 * 3_600_000 && c.t_ms < x)
            .map(|c| match c.tte {
                Some(tte) if tte.is_finite() => {
                    ((c.t_ms as f64 + tte * 1000.0) - x as f64).abs() / 3.6e6
                }
                _ => f64::INFINITY,
            })
            .collect();
        let mut e = errs;
        e.sort_by(f64::total_cmp);
        e.get(e.len() / 2).copied().unwrap_or(f64::INFINITY)
    });
    Report {
        input: input.name.clone(),
        resource: input.resource.clone(),
        days: (end - t0) as f64 / 8.64e7,
        exhausted_at_hours: exhausted.map(|x| (x - t0) as f64 / 3.6e6),
        ours: ours_out,
        predict_linear: linear_out,
        eta_error_median_hours: eta,
        online_accuracy: Vec::new(),
    }
}

fn h(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.1}"),
        Some(_) => "inf".into(),
        None => "-".into(),
    }
}

/// `lead/episodes/hours` of one severity, e.g. `23.1/1/25.0`.
fn cell(a: Option<&Alerting>) -> String {
    a.map_or("-".into(), |a| {
        format!("{}/{}/{:.1}", h(a.lead_hours), a.episodes, a.hours_firing)
    })
}

pub fn table(reports: &[Report]) -> String {
    let mut rows = vec![[
        "input".to_string(),
        "resource".into(),
        "days".into(),
        "exhausted_h".into(),
        "warn lead/eps/h".into(),
        "crit lead/eps/h".into(),
        "eta_err_h".into(),
        "pl warn lead/eps/h".into(),
        "pl crit lead/eps/h".into(),
    ]];
    for r in reports {
        let sev = |v: &[Alerting], s: &str| v.iter().find(|a| a.severity == s).cloned();
        rows.push([
            r.input.clone(),
            r.resource.clone(),
            format!("{:.1}", r.days),
            h(r.exhausted_at_hours),
            cell(sev(&r.ours, "warning").as_ref()),
            cell(sev(&r.ours, "critical").as_ref()),
            h(r.eta_error_median_hours),
            cell(sev(&r.predict_linear, "warning").as_ref()),
            cell(sev(&r.predict_linear, "critical").as_ref()),
        ]);
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
