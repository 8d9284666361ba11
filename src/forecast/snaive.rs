//! Seasonal naive, identical to R's `forecast::snaive` (a lag-m random walk).

use augurs::{Fit, Forecast, Predict};

use super::stats::{band, seasonal_in_sample};
use super::ModelFailure;

/// Unfitted seasonal naive with period `period` steps (1 gives the plain naive).
#[derive(Debug, Clone, Copy)]
pub struct SNaive {
    pub period: usize,
}

#[derive(Debug, Clone)]
pub struct FittedSNaive {
    y: Vec<f64>,
    period: usize,
    sigma2: f64,
}

impl FittedSNaive {
    /// Residual variance of the lag-m differences.
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }
}

impl Fit for SNaive {
    type Fitted = FittedSNaive;
    type Error = ModelFailure;

    fn fit(&self, y: &[f64]) -> Result<FittedSNaive, ModelFailure> {
        let m = self.period.max(1);
        if y.len() <= m {
            return Err(ModelFailure(format!(
                "snaive needs more than {m} points, got {}",
                y.len()
            )));
        }
        // R's lagwalk: sigma² is the mean of the squared lag-m residuals (not centred).
        let diffs = y[m..].iter().zip(y).map(|(a, b)| (a - b) * (a - b));
        let sigma2 = diffs.sum::<f64>() / (y.len() - m) as f64;
        Ok(FittedSNaive {
            y: y.to_vec(),
            period: m,
            sigma2,
        })
    }
}

impl Predict for FittedSNaive {
    type Error = ModelFailure;

    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let (n, m) = (self.y.len(), self.period);
        let last = &self.y[n - m..];
        f.point = (0..horizon).map(|i| last[i % m]).collect();
        let sigma = self.sigma2.sqrt();
        f.intervals =
            level.map(|level| band(&f.point, level, |i| sigma * ((i / m + 1) as f64).sqrt()));
        Ok(())
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let m = self.period;
        let sigma = self.sigma2.sqrt();
        seasonal_in_sample(f, self.y.len(), m, level, sigma, |t| self.y[t - m]);
        Ok(())
    }

    fn training_data_size(&self) -> usize {
        self.y.len()
    }
}
