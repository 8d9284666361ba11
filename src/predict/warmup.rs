//! When a series' first forecast is due, and why a series has none: the
//! answers the page, `/api/v1/series`, `/api/v1/forecast` and the start-up log
//! give a newcomer instead of silence. Pure: times in, times out.

/// History a series needs before the forecast loop forecasts it: the larger of
/// `--forecast.min-history` and what the models need ([`crate::forecast::MIN_HISTORY`]
/// downsampled steps).
pub fn needed_history_ms(min_history_ms: i64, downsample_step_ms: i64) -> i64 {
    let models = crate::forecast::MIN_HISTORY as i64 * downsample_step_ms.max(1);
    min_history_ms.max(models)
}

/// Whether `--forecast.min-history` is shorter than the models' own minimum,
/// so that the setting alone does not say when forecasts begin.
pub fn min_history_below_models(min_history_ms: i64, downsample_step_ms: i64) -> bool {
    needed_history_ms(min_history_ms, downsample_step_ms) > min_history_ms
}

/// Unix ms at which the first forecast of a series whose history starts at
/// `first_ms` is expected: once the history is long enough *and* the bucket
/// that completes it has closed, at the next forecast cycle. `last_cycle_ms`
/// is the start of the latest cycle, if one ran.
pub fn first_forecast_due_ms(
    first_ms: i64,
    needed_ms: i64,
    downsample_step_ms: i64,
    interval_ms: i64,
    last_cycle_ms: Option<i64>,
) -> i64 {
    let step = downsample_step_ms.max(1);
    // The downsampled tier ends at the last closed bucket.
    let eligible = (first_ms.saturating_add(needed_ms)).div_euclid(step) * step + step;
    let interval = interval_ms.max(1);
    match last_cycle_ms {
        Some(last) if eligible > last => {
            let cycles = (eligible - last + interval - 1) / interval;
            last.saturating_add(cycles.saturating_mul(interval))
        }
        Some(last) => last.saturating_add(interval),
        None => eligible.saturating_add(interval),
    }
}

/// Why a series has no forecast.
#[derive(Clone, Debug, PartialEq)]
pub enum NoForecast {
    /// The store has never seen the series.
    Unknown,
    /// `--forecast.metrics` does not select the metric.
    NotSelected,
    /// `--forecast.exclude` matches the series.
    Excluded,
    /// Its history is shorter than needed; the first forecast is due at `due_ms`.
    WarmingUp { history_ms: i64, due_ms: i64 },
    /// Enough history, but no cycle has produced a forecast yet (or the model
    /// failed on this series); the next cycle is due at `next_cycle_ms`.
    Pending { next_cycle_ms: i64 },
}

impl NoForecast {
    /// A sentence for an API error or a log line; `now_ms` makes times relative.
    pub fn explain(&self, now_ms: i64) -> String {
        match self {
            NoForecast::Unknown => "unknown series: the store has never seen it".into(),
            NoForecast::NotSelected => {
                "not forecast: its metric does not match --forecast.metrics".into()
            }
            NoForecast::Excluded => "not forecast: it matches --forecast.exclude".into(),
            NoForecast::WarmingUp { history_ms, due_ms } => format!(
                "not enough history yet ({} of history); first forecast expected in {} (start with --backfill.prometheus-url to skip the wait)",
                human_duration_ms(*history_ms),
                human_duration_ms(due_ms - now_ms)
            ),
            NoForecast::Pending { next_cycle_ms } => format!(
                "enough history; the next forecast cycle is due in {}",
                human_duration_ms(next_cycle_ms - now_ms)
            ),
        }
    }
}

/// "4 h 12 min", "35 s", "2 d 3 h": two units at most, never negative.
pub fn human_duration_ms(ms: i64) -> String {
    let s = (ms.max(0) + 500) / 1000;
    let (d, h, m) = (s / 86_400, s / 3_600 % 24, s / 60 % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn models_minimum_wins_over_a_shorter_setting() {
        // 16 points at 5 minutes: 80 minutes, even with --forecast.min-history 1m.
        assert_eq!(needed_history_ms(MIN, 5 * MIN), 80 * MIN);
        assert!(min_history_below_models(MIN, 5 * MIN));
        assert_eq!(needed_history_ms(360 * MIN, 5 * MIN), 360 * MIN);
        assert!(!min_history_below_models(360 * MIN, 5 * MIN));
    }

    #[test]
    fn due_is_the_first_cycle_after_the_closing_bucket() {
        let first = 1_000 * MIN + 7_000;
        let needed = 360 * MIN;
        // History complete at 1360 min + 7 s; its bucket closes at 1365 min.
        let due = first_forecast_due_ms(first, needed, 5 * MIN, 5 * MIN, Some(1_001 * MIN));
        assert_eq!(due, 1_366 * MIN);
        assert!(due >= first + needed);
        // A cycle that already passed the eligible time: the next one.
        let due = first_forecast_due_ms(first, needed, 5 * MIN, 5 * MIN, Some(2_000 * MIN));
        assert_eq!(due, 2_005 * MIN);
        // No cycle yet: one interval after eligibility.
        let due = first_forecast_due_ms(first, needed, 5 * MIN, 5 * MIN, None);
        assert_eq!(due, 1_370 * MIN);
    }

    #[test]
    fn explanations_name_the_time_and_the_way_out() {
        let w = NoForecast::WarmingUp {
            history_ms: 60 * MIN,
            due_ms: 252 * MIN,
        };
        let text = w.explain(0);
        assert!(text.contains("in 4 h 12 min"), "{text}");
        assert!(text.contains("--backfill.prometheus-url"), "{text}");
        assert_eq!(human_duration_ms(-5), "0 s");
        assert_eq!(human_duration_ms(26 * 3_600_000), "1 d 2 h");
    }
}
