//! One series' assessment: history in, forecast and exhaustion out. The daemon's
//! forecast loop, `nodecast replay` and the tests all call [`assess_series`], so what
//! a replay shows is what the daemon would have exported.
//!
//! Three views of the same resource, and whichever sees the danger first wins
//! (earliest time to exhaustion, highest probability):
//! * the seasonal forecast (`forecast::forecast`, `auto` by default) on the
//!   downsampled tier: it knows the daily and weekly cycle;
//! * the local trend ([`crate::forecast::trend`]) on the same tier, routine
//!   removed: it has the full current slope from the first hour and never goes
//!   trendless while the resource drains; how far ahead it may speak depends on
//!   the drain's age and on what came before it ([`trend_reach`]);
//! * the fast path: the same trend on the last hour of raw samples, trusted only up
//!   to [`FAST_HORIZON`], so a fill that takes an hour is seen within minutes while
//!   an evening of log writes (hours from full) cannot raise the 24 h warning.
//!
//! Timestamps are real: a downsampled bucket's mean stands at the middle of its
//! bucket, the latest sample at its own time, and time to exhaustion counts from `now`.

use std::time::Duration;

use augurs::{Fit, Forecast};

use super::exhaustion::{assess_timed, Exhaustion, PathPoint};
use crate::forecast::auto::Choice;
use crate::forecast::trend::{fit_recent, Trend};
use crate::forecast::{forecast_reusing, ForecastError, ModelKind, SeriesInput};
use crate::store::Window;

/// Most points of history one forecast reads (35 days at the default 5-minute step).
pub const MAX_FORECAST_POINTS: i64 = 10_080;
/// Least history for the trend view (the seasonal one waits for `min_history`).
pub const TREND_MIN_HISTORY: Duration = Duration::from_secs(3600);
/// Window the trend view searches for the last change of slope.
pub const TREND_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Shortest segment after a change, downsampled tier.
pub const TREND_MIN_SEGMENT: Duration = Duration::from_secs(1800);
/// A trend fitted on a segment of length T is extrapolated at most this many T.
pub const TREND_TRUST: f64 = 4.0;
/// History before a trend's segment read to tell a new drain from one carried on.
pub const PRE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);
/// Least of it that tells anything: a node's first hour says nothing.
pub const PRE_MIN: Duration = Duration::from_secs(3600);
/// A drain is carried on when the history before it drained at least this share of
/// its rate.
pub const CARRIED_ON: f64 = 0.25;
/// Trust of a new drain, in multiples of its age.
pub const NEW_DRAIN_TRUST: f64 = 0.5;
/// predict_linear's window: the age a carried-on drain needs before it is trusted.
pub const EVIDENCE: Duration = Duration::from_secs(6 * 3600);
/// node-mixin's warning gate (40% free): below it, a younger drain is trusted too.
pub const EVIDENCE_FREE: f64 = 0.4;
/// Least drain over the horizon, as a share of what is left, that counts as one.
pub const MATERIAL: f64 = 0.01;
/// Raw history the fast path reads.
pub const FAST_WINDOW: Duration = Duration::from_secs(3600);
/// Shortest segment the fast path believes.
pub const FAST_MIN_SEGMENT: Duration = Duration::from_secs(600);
/// Trust of the fast path's segment, in multiples of its length.
pub const FAST_TRUST: f64 = 3.0;
/// How far the fast path looks ahead: the critical thresholds' reach.
pub const FAST_HORIZON: Duration = Duration::from_secs(4 * 3600);

/// `auto` validates its candidates again once this many downsampled steps have
/// passed since it last did (an hour at the default 5 minutes); in between a cycle
/// refits only the chosen models. At 35 days of history this took the forecast
/// thread from 3.1 to 0.9 CPU s/h (docs/figures.md). `anomaly-eval` does the same.
pub const RECHOOSE_AFTER_STEPS: i64 = 12;

/// What the assessment is given about one series.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// Downsampled means; bucket i covers `[start + i·step, start + (i+1)·step)`.
    pub window: &'a Window,
    /// Recent raw samples (at least [`FAST_WINDOW`] when available), for the fast path.
    pub raw: Option<&'a Window>,
    /// The latest sample and its real time (ms).
    pub latest: Option<(i64, f64)>,
    /// Total quantity (filesystem size, MemTotal, …) if known: sets the exhaustion margin.
    pub capacity: Option<f64>,
    /// An earlier [`Assessment::choice`] for this series, to skip `auto`'s validation.
    pub reuse: Option<&'a Choice>,
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub horizon: Duration,
    pub min_history: Duration,
    pub level: f64,
    pub model: ModelKind,
    /// Only time to exhaustion and probability are wanted (replay): the seasonal
    /// model is not fitted when no view would read it. The exhaustion is the same.
    pub exhaustion_only: bool,
}

/// What one series' assessment produced.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub model: String,
    /// Time (ms) of the first point of the published path.
    pub start_ms: i64,
    pub step_ms: i64,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub history_seconds: f64,
    pub imputed_ratio: f64,
    /// For resources: time to exhaustion (0 only when exhausted) and probability.
    pub exhaustion: Option<Exhaustion>,
    /// Within the exhaustion margin (with hysteresis); feed back as `was_exhausted`.
    pub exhausted: bool,
    /// What each view said (`seasonal`, `trend`, `fast`), for traces and plots.
    pub views: Vec<(&'static str, Exhaustion)>,
    /// What `auto` chose, if it ran (see [`History::reuse`]).
    pub choice: Option<Choice>,
}

/// Fraction of capacity that counts as "exhausted", per resource. Free space a few
/// MB above zero is full for every writer; the kernel keeps MemAvailable above zero
/// by reclaiming and OOM-killing, so memory gets a wider band.
pub fn exhaustion_margin(resource: &str) -> f64 {
    match resource {
        "memory" | "swap" => 0.01,
        _ => 0.001,
    }
}

/// Which resource a remaining-quantity metric measures.
pub fn resource_of(metric: &str) -> Option<&'static str> {
    Some(match metric {
        "node_filesystem_avail_bytes" => "filesystem_space",
        "node_filesystem_files_free" => "filesystem_inodes",
        "node_memory_MemAvailable_bytes" => "memory",
        "node_memory_SwapFree_bytes" => "swap",
        "node_filefd_available" => "file_descriptors",
        "node_processes_available" => "pids",
        _ => return None,
    })
}

/// The metric (same labels) holding the capacity of a remaining-quantity metric.
pub fn capacity_metric(metric: &str) -> Option<&'static str> {
    Some(match metric {
        "node_filesystem_avail_bytes" => "node_filesystem_size_bytes",
        "node_filesystem_files_free" => "node_filesystem_files",
        "node_memory_MemAvailable_bytes" => "node_memory_MemTotal_bytes",
        "node_memory_SwapFree_bytes" => "node_memory_SwapTotal_bytes",
        "node_filefd_available" => "node_filefd_maximum",
        "node_processes_available" => "node_processes_max_threads",
        _ => return None,
    })
}

/// Leaving the exhausted state needs twice the margin: no flicker at the edge.
pub const HYSTERESIS: f64 = 2.0;

/// Assesses one series at `now_ms`. `resource` is `Some` for remaining-quantity series;
/// `was_exhausted` is the previous cycle's [`Assessment::exhausted`].
/// `Ok(None)`: not enough history yet.
pub fn assess_series(
    h: &History,
    resource: Option<&str>,
    was_exhausted: bool,
    now_ms: i64,
    s: &Settings,
) -> Result<Option<Assessment>, ForecastError> {
    let w = h.window;
    let step_ms = w.step_ms.max(1);
    let (Some(first), Some(last)) = (
        w.values.iter().position(|v| v.is_finite()),
        w.values.iter().rposition(|v| v.is_finite()),
    ) else {
        return Ok(None);
    };
    let values = &w.values[first..=last];
    let history_secs = values.len() as f64 * step_ms as f64 / 1000.0;
    // Real time of bucket k of `values`: the middle of its bucket.
    let t_of = |k: f64| w.start_ms as f64 + (first as f64 + k + 0.5) * step_ms as f64;
    let last_t = t_of(values.len() as f64 - 1.0);
    let steps_ahead = ((now_ms as f64 + s.horizon.as_millis() as f64 - last_t) / step_ms as f64)
        .ceil()
        .max(1.0) as usize;
    let step_secs = step_ms as f64 / 1000.0;
    let day = (86_400_000 % step_ms == 0).then(|| (86_400_000 / step_ms) as usize);
    // The routine the trend views look through: the week once two weeks and a day
    // have been seen (a weekend backup is then no fill), else the day. One week is
    // not enough: a level shift inside it would be replayed as next week's drop.
    let routine = day.map(|d| if values.len() >= 15 * d { 7 * d } else { d });

    let trend = if resource.is_some() && history_secs >= TREND_MIN_HISTORY.as_secs_f64() {
        let steps = |d: Duration| (d.as_millis() as i64 / step_ms).max(1) as usize;
        Trend {
            period: routine,
            lag: day.unwrap_or(1),
            window: steps(TREND_WINDOW),
            min_seg: steps(TREND_MIN_SEGMENT),
            pre_window: steps(PRE_WINDOW),
            pre_min: steps(PRE_MIN),
        }
        .fit(values)
        .ok()
    } else {
        None
    };
    let current = h.latest.map_or(values[values.len() - 1], |l| l.1);
    // How far the trend view may speak (steps), if there is one.
    let reach = trend.as_ref().map(|t| {
        let age = values.len().saturating_sub(t.line.start) as f64 * step_secs;
        let r = trend_reach(t, age, resource.unwrap_or(""), current, h.capacity);
        (r / step_secs).ceil() as usize
    });
    // A seasonal model repeats last season, including an exhaustion that has since
    // been cleaned up; it only speaks while the routine-adjusted trend is itself
    // trusted to drain, and materially (a flat series after a clean-up has a slope
    // of a few bytes either way).
    let horizon_steps = (s.horizon.as_secs_f64() / step_secs).max(1.0);
    let draining = match (&trend, reach) {
        (Some(t), Some(r)) => r > 0 && -t.line.slope * horizon_steps >= MATERIAL * current,
        _ => true,
    };
    // Only exhaustion is wanted (a replay): no seasonal fit the views would not read.
    let wanted = !s.exhaustion_only || resource.is_none() || draining;
    let seasonal = if wanted && history_secs >= s.min_history.as_secs_f64() {
        let input = SeriesInput {
            values,
            step_secs,
            seasons: None,
        };
        match forecast_reusing(&input, steps_ahead, s.level, s.model, h.reuse) {
            Ok(o) => Some(o),
            Err(ForecastError::NotEnoughHistory { .. } | ForecastError::MostlyMissing { .. }) => {
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    if seasonal.is_none() && trend.is_none() {
        return Ok(None);
    }

    let level = s.level;
    let z = crate::forecast::stats::z_for_level(level);
    let timed = |f: &Forecast, limit: Option<usize>| -> Vec<PathPoint> {
        let iv = f.intervals.as_ref();
        f.point
            .iter()
            .enumerate()
            .take(limit.unwrap_or(usize::MAX))
            .map(|(i, &m)| PathPoint {
                t_ms: t_of((values.len() + i) as f64) as i64,
                mean: m,
                lower: iv.map_or(m, |iv| iv.lower[i]),
                upper: iv.map_or(m, |iv| iv.upper[i]),
            })
            .collect()
    };
    let trend_fc = trend.as_ref().map(|t| {
        let (point, se) = t.path(steps_ahead);
        Forecast {
            intervals: Some(augurs::ForecastIntervals {
                level,
                lower: point.iter().zip(&se).map(|(p, e)| p - z * e).collect(),
                upper: point.iter().zip(&se).map(|(p, e)| p + z * e).collect(),
            }),
            point,
        }
    });
    let (model, published, imputed) = match (&seasonal, &trend_fc) {
        (Some(o), _) => (o.model.to_string(), &o.forecast, o.imputed_fraction),
        (None, Some(f)) => ("trend".to_string(), f, 0.0),
        (None, None) => return Ok(None),
    };
    let mut out = Assessment {
        model,
        start_ms: t_of(values.len() as f64) as i64,
        step_ms,
        mean: published.point.clone(),
        lower: published
            .intervals
            .as_ref()
            .map_or(published.point.clone(), |iv| iv.lower.clone()),
        upper: published
            .intervals
            .as_ref()
            .map_or(published.point.clone(), |iv| iv.upper.clone()),
        history_seconds: history_secs,
        imputed_ratio: imputed,
        exhaustion: None,
        exhausted: false,
        views: Vec::new(),
        choice: seasonal.as_ref().and_then(|o| o.choice.clone()),
    };
    let Some(resource) = resource else {
        return Ok(Some(out));
    };

    let margin = h
        .capacity
        .filter(|c| c.is_finite() && *c > 0.0)
        .map_or(0.0, |c| c * exhaustion_margin(resource));
    let exhausted = current <= margin || (was_exhausted && current <= HYSTERESIS * margin);
    out.exhausted = exhausted;
    if exhausted {
        out.exhaustion = Some(Exhaustion {
            time_to_exhaustion_seconds: 0.0,
            probability: 1.0,
        });
        return Ok(Some(out));
    }
    let mut views: Vec<(&'static str, Vec<PathPoint>)> = Vec::new();
    // Before a season has been seen the seasonal model is one more trend, fitted to
    // the whole short history: it gets the trend view's reach, no more.
    let seasonal_reach = match &trend {
        Some(t) if t.profile.is_none() => reach,
        _ => None,
    };
    if let (Some(o), true) = (&seasonal, draining) {
        // Anchored at the current value: after a clean-up a seasonal naive path
        // still starts from last season's near-empty level and would replay its
        // exhaustion; what the model adds is the shape from here on.
        let mut path = timed(&o.forecast, seasonal_reach);
        if let Some(shift) = path.first().map(|p| current - p.mean) {
            for p in &mut path {
                p.mean += shift;
                p.lower += shift;
                p.upper += shift;
            }
        }
        views.push(("seasonal", path));
    }
    if let (Some(f), Some(r)) = (&trend_fc, reach.filter(|r| *r > 0)) {
        views.push(("trend", timed(f, Some(r))));
    }
    // The routine's own slide over the fast window (a memory trough's slope every
    // afternoon) is no runaway: the fast path counts only the drain beyond it.
    let routine_per_ms = trend.as_ref().map_or(0.0, |t| {
        let k = (FAST_WINDOW.as_millis() as i64 / step_ms).max(1) as usize;
        t.routine_slope(k) / step_ms as f64
    });
    if let Some(fast) = fast_path(h, now_ms, level, step_ms, routine_per_ms) {
        views.push(("fast", fast));
    }
    let mut best = Exhaustion {
        time_to_exhaustion_seconds: f64::INFINITY,
        probability: 0.0,
    };
    for (name, v) in &views {
        let e = assess_timed(now_ms, current, v, margin, level);
        out.views.push((name, e));
        best.time_to_exhaustion_seconds = best
            .time_to_exhaustion_seconds
            .min(e.time_to_exhaustion_seconds);
        best.probability = best.probability.max(e.probability);
    }
    // Zero means "is full": a resource above its margin is never reported as that.
    if best.time_to_exhaustion_seconds.is_finite() {
        best.time_to_exhaustion_seconds = best.time_to_exhaustion_seconds.max(1.0);
    }
    out.exhaustion = Some(best);
    Ok(Some(out))
}

/// How far ahead (seconds) the trend view may claim an exhaustion, given how long
/// (`age_secs`) its drain has been seen and what came before it.
///
/// A drain that carries on what the resource did before (or whose start lies before
/// the history) is trusted for [`TREND_TRUST`] times its age, as predict_linear
/// trusts 6 h for 24 h, once the evidence is what predict_linear needs: [`EVIDENCE`]
/// of it, or a filesystem-like resource under [`EVIDENCE_FREE`] of its capacity
/// (node-mixin's own gate). Memory needs half a day: a node's first morning looks
/// like a leak. A drain that began after a stretch of not draining (tonight's log
/// writes, Saturday's backup) is trusted for [`NEW_DRAIN_TRUST`] of its age: half of
/// what a drain has lasted is the most it is more likely than not to last again.
pub fn trend_reach(
    t: &crate::forecast::trend::FittedTrend,
    age_secs: f64,
    resource: &str,
    current: f64,
    capacity: Option<f64>,
) -> f64 {
    let slope = t.line.slope;
    if slope >= 0.0 {
        return 0.0;
    }
    let memory = matches!(resource, "memory" | "swap");
    if memory && age_secs < 2.0 * EVIDENCE.as_secs_f64() {
        return 0.0;
    }
    let carried_on = t.pre_slope.is_none_or(|p| p <= CARRIED_ON * slope);
    if !carried_on {
        return NEW_DRAIN_TRUST * age_secs;
    }
    let low = !memory && capacity.is_some_and(|c| c > 0.0 && current < EVIDENCE_FREE * c);
    if age_secs >= EVIDENCE.as_secs_f64() || low {
        TREND_TRUST * age_secs
    } else {
        0.0
    }
}

/// The fast path's view: the raw tier's last segment as a path every downsampled
/// step up to [`FAST_HORIZON`] after `now`. Raw values, less only a decline the
/// routine itself makes at this hour (`routine_per_ms`, ≤ 0 counts): a rise in the
/// profile (last week's clean-up) must not turn a flat hour into a steep drain.
/// `None` without enough raw history or without a drain.
fn fast_path(
    h: &History,
    now_ms: i64,
    level: f64,
    step_ms: i64,
    routine_per_ms: f64,
) -> Option<Vec<PathPoint>> {
    let raw = h.raw?;
    let rstep = raw.step_ms.max(1);
    let from_t = now_ms - FAST_WINDOW.as_millis() as i64;
    let idx: Vec<usize> = (0..raw.values.len())
        .filter(|&i| raw.timestamp(i) >= from_t && raw.timestamp(i) <= now_ms)
        .collect();
    let (&i0, &i1) = (idx.first()?, idx.last()?);
    let min_seg = (FAST_MIN_SEGMENT.as_millis() as i64 / rstep).max(3) as usize;
    let mut line = fit_recent(&raw.values[i0..=i1], min_seg)?;
    line.slope -= routine_per_ms.min(0.0) * rstep as f64;
    if line.slope >= 0.0 {
        return None;
    }
    let z = crate::forecast::stats::z_for_level(level);
    let t_last = raw.timestamp(i1) as f64;
    // A drain seen for minutes is trusted for [`FAST_TRUST`] times that, up to the
    // critical reach: the slide into a memory trough is no runaway four hours long.
    let reach =
        (FAST_TRUST * (line.len as f64) * rstep as f64).min(FAST_HORIZON.as_millis() as f64);
    let n = (reach as i64 / step_ms).max(1);
    Some(
        (1..=n)
            .map(|k| {
                let t = now_ms as f64 + (k * step_ms) as f64;
                let dt = (t - t_last) / rstep as f64;
                let mean = line.level + line.slope * dt;
                let se = (line.sigma.powi(2) + (dt * line.slope_se).powi(2)).sqrt();
                PathPoint {
                    t_ms: t as i64,
                    mean,
                    lower: mean - z * se,
                    upper: mean + z * se,
                }
            })
            .collect(),
    )
}
