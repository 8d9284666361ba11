//! MSTL (one STL pass per season, daily and weekly) with an AutoETS trend, from augurs.

use augurs::{ets::AutoETS, mstl::MSTLModel, Fit, Forecast, Predict};

use super::ModelFailure;

pub fn fit_predict(
    y: &[f64],
    seasons: &[usize],
    horizon: usize,
    level: f64,
) -> Result<Forecast, ModelFailure> {
    let trend = AutoETS::non_seasonal().into_trend_model();
    let model = MSTLModel::new(seasons.to_vec(), trend);
    let fitted = model
        .fit(y)
        .map_err(|e| ModelFailure(format!("mstl: {e}")))?;
    fitted
        .predict(horizon, level)
        .map_err(|e| ModelFailure(format!("mstl: {e}")))
}
