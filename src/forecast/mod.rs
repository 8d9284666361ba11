//! Forecasting: pure functions, numbers in and numbers out (no I/O, no clocks).
//! (Integrator's placeholder until the forecast branch lands.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind { Auto, SNaive, Theta, Naive2 }
impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s { "auto" => Ok(Self::Auto), "snaive" => Ok(Self::SNaive), "theta" => Ok(Self::Theta), "naive2" => Ok(Self::Naive2), o => Err(format!("unknown model {o}")) }
    }
}
pub struct SeriesInput<'a> { pub values: &'a [f64], pub step_secs: f64, pub seasons: Option<&'a [usize]> }
pub struct Outcome { pub model: ModelKind, pub forecast: augurs::Forecast, pub imputed_fraction: f64, pub history_len: usize, pub season: Option<usize> }
#[derive(Debug, thiserror::Error)]
pub enum ForecastError { #[error("not enough history: have {have}, need {need}")] NotEnoughHistory { have: usize, need: usize }, #[error("mostly missing")] MostlyMissing { missing_fraction: f64 }, #[error("{0}")] Model(String) }
impl std::fmt::Display for ModelKind { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "{:?}", self) } }
pub fn forecast(input: &SeriesInput, horizon: usize, _level: f64, _model: ModelKind) -> Result<Outcome, ForecastError> {
    let v: Vec<f64> = input.values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 4 { return Err(ForecastError::NotEnoughHistory { have: v.len(), need: 4 }); }
    let n = v.len(); let slope = (v[n-1]-v[0])/(n as f64 - 1.0);
    let point: Vec<f64> = (1..=horizon).map(|h| v[n-1] + slope*h as f64).collect();
    let lower = point.iter().map(|p| p - 1.0).collect(); let upper = point.iter().map(|p| p + 1.0).collect();
    Ok(Outcome { model: ModelKind::Theta, forecast: augurs::Forecast { point, intervals: Some(augurs::ForecastIntervals { level: 0.95, lower, upper }) }, imputed_fraction: 0.0, history_len: n, season: None })
}
