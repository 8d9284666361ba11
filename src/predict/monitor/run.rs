//! The monitored assessment: what the daemon's forecast loop, the replay tests
//! and the benchmark call for each series instead of bare
//! [`assess_series`](crate::predict::series::assess_series).

use super::{Events, MonitorSettings, PathRef, PathStore, SeriesMonitor};
use crate::forecast::{season, ForecastError};
use crate::predict::series::{assess_series, Assessment, History, Settings};
use crate::store::Window;

/// Clips a path to the metric's physical bounds (the daemon's `bounds_for`).
pub type Clip<'a> = &'a dyn Fn(&mut [f64], &mut [f64], &mut [f64]);

/// History from `t_ms` on (the bucket holding it included).
pub fn window_from(w: &Window, t_ms: i64) -> Window {
    let step = w.step_ms.max(1);
    let skip = ((t_ms - w.start_ms).max(0) / step).min(w.values.len() as i64) as usize;
    Window {
        start_ms: w.start_ms + skip as i64 * step,
        step_ms: w.step_ms,
        values: w.values[skip..].to_vec(),
    }
}

fn path(a: &Assessment) -> PathRef<'_> {
    PathRef {
        mid_ms: a.start_ms,
        step_ms: a.step_ms,
        mean: &a.mean,
        lower: &a.lower,
        upper: &a.upper,
    }
}

/// Scores what is due, forecasts with the series' champion (on the post-change
/// history after a drift), runs the shadow model when one of its slots is free,
/// clips both, and records the paths. The assessment is the exposed one.
#[allow(clippy::too_many_arguments)]
pub fn assess_monitored(
    mon: &mut SeriesMonitor,
    h: &History,
    resource: Option<&str>,
    was_exhausted: bool,
    now_ms: i64,
    s: &Settings,
    ms: &MonitorSettings,
    paths: &mut dyn PathStore,
    clip: Clip,
) -> (Result<Option<Assessment>, ForecastError>, Events) {
    let (plan, ev) = mon.begin(h.window, now_ms, ms, paths);
    // A resource keeps its whole history: the exhaustion views read what came before
    // a change (a drain carried on or new) and `nodecast replay` must see the same.
    let cut = plan
        .train_from_ms
        .filter(|_| resource.is_none())
        .map(|t| window_from(h.window, t));
    let train = cut.as_ref().unwrap_or(h.window);
    let hist = History {
        window: train,
        ..*h
    };
    let settings = Settings {
        model: plan.model,
        ..*s
    };
    let champion = || {
        let mut res = assess_series(&hist, resource, was_exhausted, now_ms, &settings);
        if let Ok(Some(a)) = &mut res {
            clip(&mut a.mean, &mut a.lower, &mut a.upper);
        }
        res
    };
    // The shadow usually tests the season of the history the champion just
    // tested: its answers are kept for it (and only for it, so the champion costs
    // what it costs unmonitored).
    let (res, known) = match plan.shadow {
        Some(_) => season::recording_seasonality(champion),
        None => (champion(), Default::default()),
    };
    let shadow = plan.shadow.and_then(|m| {
        let bare = History {
            window: train,
            raw: None,
            latest: None,
            capacity: None,
            reuse: None,
        };
        let s = Settings { model: m, ..*s };
        let mut a =
            season::reusing_seasonality(known, || assess_series(&bare, None, false, now_ms, &s))
                .ok()
                .flatten()?;
        clip(&mut a.mean, &mut a.lower, &mut a.upper);
        Some(a)
    });
    let exposed = res.as_ref().ok().and_then(|a| a.as_ref()).map(path);
    // The scale comes from the whole history even after a drift cut it, so the
    // online MASE of a series stays on one scale.
    mon.end(
        h.window,
        exposed,
        shadow.as_ref().map(path),
        now_ms,
        ms,
        paths,
    );
    (res, ev)
}

/// Says what happened, once: a drift with its onset, a promotion with both scores.
pub fn log_events(series: &str, ev: &Events) {
    if let Some(onset) = ev.drift {
        tracing::info!(
            series,
            onset_seconds = onset / 1000,
            "forecast residuals drifted; the series is reselected and refitted on the new regime"
        );
    }
    if let Some((from, to, v)) = &ev.promotion {
        tracing::info!(
            series,
            from = from.name(),
            to = to.name(),
            champion_mase = v.champion,
            challenger_mase = v.challenger,
            samples = v.samples,
            "challenger promoted"
        );
    }
}

/// Pending paths in memory (tests, benchmarks, `nodecast replay`).
#[derive(Debug, Default)]
pub struct MemPaths(pub std::collections::HashMap<(u8, i64), super::accuracy::Pending>);

impl PathStore for MemPaths {
    fn get(&mut self, slot: u8, horizon_ms: i64) -> Option<super::accuracy::Pending> {
        self.0.get(&(slot, horizon_ms)).cloned()
    }
    fn put(&mut self, slot: u8, horizon_ms: i64, p: &super::accuracy::Pending) {
        self.0.insert((slot, horizon_ms), p.clone());
    }
    fn remove(&mut self, slot: u8, horizon_ms: i64) {
        self.0.remove(&(slot, horizon_ms));
    }
}
