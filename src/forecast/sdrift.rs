//! Seasonal naive with drift: next season = last season + the average growth per
//! season over the recent past. A disk that fills steadily under a daily cycle is
//! exactly this shape; Theta (half the trend, by design) and the seasonal means
//! (no trend) would both see it run out later than it will.

use augurs::{Fit, Forecast, Predict};

use super::stats::{band, seasonal_in_sample};
use super::ModelFailure;

/// Seasons the drift is averaged over: long enough to smooth a noisy day, short
/// enough to follow a change in fill rate within a week.
pub const DRIFT_SEASONS: usize = 7;

#[derive(Debug, Clone, Copy)]
pub struct SDrift {
    /// Season length in steps; 1 gives the random walk with drift.
    pub period: usize,
}

#[derive(Debug, Clone)]
pub struct FittedSDrift {
    y: Vec<f64>,
    period: usize,
    /// Mean growth over one season.
    growth: f64,
    sigma2: f64,
    n_diffs: usize,
}

impl Fit for SDrift {
    type Fitted = FittedSDrift;
    type Error = ModelFailure;

    fn fit(&self, y: &[f64]) -> Result<FittedSDrift, ModelFailure> {
        let m = self.period.max(1);
        if y.len() < m + 2 {
            return Err(ModelFailure(format!(
                "snaive-drift needs at least {} points, got {}",
                m + 2,
                y.len()
            )));
        }
        let from = y.len().saturating_sub(DRIFT_SEASONS * m + m).max(m);
        let diffs: Vec<f64> = (from..y.len()).map(|t| y[t] - y[t - m]).collect();
        let growth = diffs.iter().sum::<f64>() / diffs.len() as f64;
        let sigma2 = diffs.iter().map(|d| (d - growth).powi(2)).sum::<f64>()
            / (diffs.len().max(2) - 1) as f64;
        Ok(FittedSDrift {
            y: y.to_vec(),
            period: m,
            growth,
            sigma2,
            n_diffs: diffs.len(),
        })
    }
}

impl Predict for FittedSDrift {
    type Error = ModelFailure;

    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let (n, m) = (self.y.len(), self.period);
        let last = &self.y[n - m..];
        f.point = (0..horizon)
            .map(|i| last[i % m] + (i / m + 1) as f64 * self.growth)
            .collect();
        let (sigma, n_d) = (self.sigma2.sqrt(), self.n_diffs as f64);
        // Random-walk spread plus the uncertainty of the estimated drift (as R's rwf).
        f.intervals = level.map(|level| {
            band(&f.point, level, |i| {
                let k = (i / m + 1) as f64;
                sigma * (k + k * k / n_d).sqrt()
            })
        });
        Ok(())
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let m = self.period;
        let sigma = self.sigma2.sqrt();
        seasonal_in_sample(f, self.y.len(), m, level, sigma, |t| {
            self.y[t - m] + self.growth
        });
        Ok(())
    }

    fn training_data_size(&self) -> usize {
        self.y.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_a_trend_under_a_cycle() {
        // Linear growth of 2 per step plus a period-4 pattern: forecasts are exact.
        let pattern = [0.0, 5.0, -3.0, 1.0];
        let y: Vec<f64> = (0..40).map(|t| 2.0 * t as f64 + pattern[t % 4]).collect();
        let f = SDrift { period: 4 }
            .fit(&y)
            .unwrap()
            .predict(6, 0.95)
            .unwrap();
        for (h, p) in f.point.iter().enumerate() {
            let t = 40 + h;
            assert!(
                (p - (2.0 * t as f64 + pattern[t % 4])).abs() < 1e-9,
                "h={h}: {p}"
            );
        }
        let iv = f.intervals.unwrap();
        assert!(
            iv.lower
                .iter()
                .zip(&iv.upper)
                .all(|(l, u)| (u - l).abs() < 1e-9),
            "no noise, no spread"
        );
    }

    #[test]
    fn flat_series_gets_no_drift_and_widening_bounds() {
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + if t % 2 == 0 { 1.0 } else { -1.0 } * (t % 5) as f64)
            .collect();
        let f = SDrift { period: 1 }
            .fit(&y)
            .unwrap()
            .predict(10, 0.9)
            .unwrap();
        let iv = f.intervals.unwrap();
        assert!(iv.upper[9] - iv.lower[9] > iv.upper[0] - iv.lower[0]);
    }
}
