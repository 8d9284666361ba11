//! Forecasting: pure functions, numbers in and numbers out (no I/O, no clocks).
//!
//! [`forecast`] is the entry point: it trims and fills gaps ([`gapfill`]), picks the
//! candidate seasons ([`season`]), and runs one model. Every model implements augurs'
//! `Fit`/`Predict`, so they also compose with the rest of augurs.

pub mod auto;
pub mod bounds;
pub mod gapfill;
pub mod mstl;
pub mod naive2;
pub mod score;
pub mod sdrift;
pub mod season;
pub mod ses;
pub mod shift;
pub mod smean;
pub mod snaive;
pub mod stats;
pub mod theta;
pub mod trend;

use std::{fmt, str::FromStr};

use augurs::{Fit, Forecast, Predict};

/// A series on a regular grid as the store returns it.
#[derive(Debug, Clone, Copy)]
pub struct SeriesInput<'a> {
    /// Regular grid, NaN = gap.
    pub values: &'a [f64],
    pub step_secs: f64,
    /// Known periods in steps; `None` derives one day / one week from the step.
    pub seasons: Option<&'a [usize]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// Per-series choice by rolling-origin validation on the series' own history.
    Auto,
    SNaive,
    Theta,
    Naive2,
    /// MSTL decomposition (all seasons) with an AutoETS trend, from augurs.
    Mstl,
    /// Mean of the last 7 days at the same phase.
    SMean,
    /// `SMean` shifted to the level of the last day.
    SMeanLevel,
    /// Seasonal naive on the weekly season.
    SNaiveWeek,
    /// Mean of the last 2 weeks at the same phase.
    SMeanWeek,
    /// `SMeanWeek` shifted to the level of the last day.
    SMeanWeekLevel,
    /// Theta with the weekly season.
    ThetaWeek,
    SNaiveDrift,
    /// Theta with additive seasonal indices (`auto`'s Theta).
    ThetaAdd,
}

impl ModelKind {
    pub const ALL: [ModelKind; 13] = [
        ModelKind::Auto,
        ModelKind::SNaive,
        ModelKind::Theta,
        ModelKind::Naive2,
        ModelKind::Mstl,
        ModelKind::SMean,
        ModelKind::SMeanLevel,
        ModelKind::SNaiveWeek,
        ModelKind::SMeanWeek,
        ModelKind::SMeanWeekLevel,
        ModelKind::ThetaWeek,
        ModelKind::SNaiveDrift,
        ModelKind::ThetaAdd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Auto => "auto",
            ModelKind::SNaive => "snaive",
            ModelKind::Theta => "theta",
            ModelKind::Naive2 => "naive2",
            ModelKind::Mstl => "mstl",
            ModelKind::SMean => "smean",
            ModelKind::SMeanLevel => "smean-level",
            ModelKind::SNaiveWeek => "snaive-week",
            ModelKind::SMeanWeek => "smean-week",
            ModelKind::SMeanWeekLevel => "smean-week-level",
            ModelKind::ThetaWeek => "theta-week",
            ModelKind::SNaiveDrift => "snaive-drift",
            ModelKind::ThetaAdd => "theta-add",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown model {s:?} (expected one of {})", names.join(", "))
            })
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// The model actually used: `Auto` resolves to its pick, and stays `Auto` when it
    /// combined several models (listed in `members`).
    pub model: ModelKind,
    /// Models whose forecasts were averaged: `[model]` unless `auto` combined several.
    pub members: Vec<ModelKind>,
    /// Point forecast and intervals at the requested level.
    pub forecast: Forecast,
    pub imputed_fraction: f64,
    /// Points the model was fitted on (after trimming the leading gap).
    pub history_len: usize,
    /// Main season used, in steps.
    pub season: Option<usize>,
    /// What `auto` chose, to pass back to [`forecast_reusing`] next time.
    pub choice: Option<auto::Choice>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("not enough history: have {have} points, need {need}")]
    NotEnoughHistory { have: usize, need: usize },
    #[error("series is mostly missing ({:.0}% gaps)", missing_fraction * 100.0)]
    MostlyMissing { missing_fraction: f64 },
    #[error("model failed: {0}")]
    Model(String),
}

/// Error type of the models' `Fit`/`Predict` implementations.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ModelFailure(pub String);

impl augurs::ModelError for ModelFailure {}

/// Fewest observed points any model is fitted on.
pub const MIN_HISTORY: usize = 16;
/// Above this fraction of gaps a series is reported rather than forecast.
pub const MAX_MISSING: f64 = 0.5;

/// Forecasts `horizon` steps after the end of `input.values` with intervals at `level`.
pub fn forecast(
    input: &SeriesInput,
    horizon: usize,
    level: f64,
    model: ModelKind,
) -> Result<Outcome, ForecastError> {
    forecast_reusing(input, horizon, level, model, None)
}

/// As [`forecast`]; `auto` reuses `reuse`, an earlier [`Outcome::choice`] for the same
/// series, instead of validating its candidates again (see [`auto::forecast_reusing`]).
pub fn forecast_reusing(
    input: &SeriesInput,
    horizon: usize,
    level: f64,
    model: ModelKind,
    reuse: Option<&auto::Choice>,
) -> Result<Outcome, ForecastError> {
    if horizon == 0 {
        return Err(ForecastError::Model(
            "horizon must be at least one step".into(),
        ));
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(ForecastError::Model(format!(
            "level must be in (0, 1), got {level}"
        )));
    }
    let v = input.values;
    let Some(first) = v.iter().position(|x| x.is_finite()) else {
        return Err(ForecastError::MostlyMissing {
            missing_fraction: 1.0,
        });
    };
    let span = v.len() - first;
    let missing = v[first..].iter().filter(|x| !x.is_finite()).count();
    let observed = span - missing;
    if observed < MIN_HISTORY {
        return Err(ForecastError::NotEnoughHistory {
            have: observed,
            need: MIN_HISTORY,
        });
    }
    let missing_fraction = missing as f64 / span as f64;
    if missing_fraction > MAX_MISSING {
        return Err(ForecastError::MostlyMissing { missing_fraction });
    }
    let mut seasons = usable_seasons(input, span);
    let mut main = seasons.first().copied();
    let mut filled = gapfill::fill(&v[first..], main, gapfill::default_max_linear(main));
    if main.is_none() && input.seasons.is_none() {
        // No day in the step: let the periodogram propose a period, then refill the
        // gaps seasonally with it.
        if let Some(p) = season::periodogram_hint(&filled.values).filter(|p| span >= 2 * p) {
            seasons = vec![p];
            main = Some(p);
            filled = gapfill::fill(&v[first..], main, gapfill::default_max_linear(main));
        }
    }
    let y = &filled.values;
    let (members, fc, choice) = match model {
        ModelKind::Auto => {
            let (m, f, c) =
                auto::forecast_reusing(y, &filled.observed, &seasons, horizon, level, reuse)?;
            (m, f, Some(c))
        }
        k => (
            vec![k],
            fit_predict(k, y, &seasons, horizon, level).map_err(|e| ForecastError::Model(e.0))?,
            None,
        ),
    };
    Ok(Outcome {
        model: match members[..] {
            [one] => one,
            _ => ModelKind::Auto,
        },
        members,
        forecast: fc,
        imputed_fraction: filled.imputed_fraction(),
        history_len: y.len(),
        season: main,
        choice,
    })
}

/// Seasons with at least two full cycles of history, shortest first.
fn usable_seasons(input: &SeriesInput, len: usize) -> Vec<usize> {
    let mut s: Vec<usize> = match input.seasons {
        Some(s) => s.to_vec(),
        None => season::candidate_periods(input.step_secs, len),
    };
    s.retain(|m| *m >= 2 && len >= 2 * m);
    s.sort_unstable();
    s.dedup();
    s
}

/// Fits one concrete model on a gap-free series and predicts. `seasons` are sorted,
/// shortest first: the first is the daily season, the second (if any) the weekly one.
pub fn fit_predict(
    kind: ModelKind,
    y: &[f64],
    seasons: &[usize],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelFailure> {
    use smean::SeasonalMean;
    let day = seasons.first().copied();
    let week = || {
        seasons
            .get(1)
            .copied()
            .ok_or_else(|| ModelFailure(format!("{kind} needs a weekly season")))
    };
    let d = day.unwrap_or(1);
    let mean = |period, seasons_back, level_window| SeasonalMean {
        period,
        seasons_back,
        level_window,
    };
    match kind {
        ModelKind::SNaive => snaive::SNaive { period: d }.fit(y)?.predict(horizon, level),
        ModelKind::Theta => theta::Theta::thetaf(day).fit(y)?.predict(horizon, level),
        ModelKind::Naive2 => naive2::Naive2 { period: day }
            .fit(y)?
            .predict(horizon, level),
        ModelKind::Mstl => mstl::fit_predict(y, seasons, horizon, level),
        ModelKind::SMean => mean(d, 7, None).fit(y)?.predict(horizon, level),
        ModelKind::SMeanLevel => mean(d, 7, Some(d)).fit(y)?.predict(horizon, level),
        ModelKind::SNaiveWeek => snaive::SNaive { period: week()? }
            .fit(y)?
            .predict(horizon, level),
        ModelKind::SMeanWeek => mean(week()?, 2, None).fit(y)?.predict(horizon, level),
        ModelKind::SMeanWeekLevel => mean(week()?, 2, Some(d)).fit(y)?.predict(horizon, level),
        ModelKind::ThetaWeek => theta::Theta::thetaf(Some(week()?))
            .fit(y)?
            .predict(horizon, level),
        ModelKind::SNaiveDrift => sdrift::SDrift { period: d }.fit(y)?.predict(horizon, level),
        ModelKind::ThetaAdd => theta::Theta::additive(day).fit(y)?.predict(horizon, level),
        ModelKind::Auto => Err(ModelFailure("auto is resolved by auto::forecast".into())),
    }
}
