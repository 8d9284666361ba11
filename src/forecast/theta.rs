//! The standard Theta method exactly as R's `forecast::thetaf` (8.20): seasonality
//! test, classical decomposition, SES by least squares plus half the OLS drift, and
//! thetaf's intervals.

use augurs::{Fit, Forecast, ForecastIntervals, Predict};

use super::{season, ses, stats, ModelFailure};

/// Unfitted Theta; `period` is the candidate season (tested before use).
#[derive(Debug, Clone, Copy)]
pub struct Theta {
    pub period: Option<usize>,
    /// Additive seasonal indices even when the data are all positive (`theta-add`).
    pub additive: bool,
}

impl Theta {
    /// R's `thetaf`: multiplicative indices whenever the data are all positive.
    pub fn thetaf(period: Option<usize>) -> Self {
        Theta {
            period,
            additive: false,
        }
    }

    /// Additive indices always. Multiplicative ones are ratios to a moving average,
    /// so on a series near zero with bursts (a CPU idling at 0.1% that spikes to 99%)
    /// an index can be 20 and Theta carries the burst into a quiet day (NAB 77c1ca:
    /// MASE 68); an additive index is bounded by the bursts themselves.
    pub fn additive(period: Option<usize>) -> Self {
        Theta {
            period,
            additive: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FittedTheta {
    adjusted: Vec<f64>,
    ses: ses::Ses,
    /// Half the OLS slope of the adjusted series: the Theta-line drift.
    drift: f64,
    sigma2: f64,
    /// Seasonal indices and whether they are multiplicative.
    seasonal: Option<(Vec<f64>, bool)>,
}

/// Seasonal indices that `thetaf` would use for `y`, if the test finds the season.
/// Multiplicative unless the data are not all positive (thetaf would fail there).
pub fn seasonal_indices(y: &[f64], period: Option<usize>) -> Option<(Vec<f64>, bool)> {
    indices(y, period, false)
}

fn indices(y: &[f64], period: Option<usize>, additive: bool) -> Option<(Vec<f64>, bool)> {
    let m = period.filter(|m| *m > 1)?;
    if !season::is_seasonal(y, m) {
        return None;
    }
    let mult = !additive && y.iter().all(|v| *v > 0.0);
    let idx = season::decompose_indices(y, m, mult);
    // thetaf falls back to non-seasonal when an index is (nearly) zero.
    if mult && idx.iter().any(|s| s.abs() < 1e-4) {
        return None;
    }
    Some((idx, mult))
}

impl FittedTheta {
    pub fn alpha(&self) -> f64 {
        self.ses.alpha
    }
    pub fn season(&self) -> Option<usize> {
        self.seasonal.as_ref().map(|(i, _)| i.len())
    }
}

impl Fit for Theta {
    type Fitted = FittedTheta;
    type Error = ModelFailure;

    fn fit(&self, y: &[f64]) -> Result<FittedTheta, ModelFailure> {
        if y.len() < 3 {
            return Err(ModelFailure(format!(
                "theta needs at least 3 points, got {}",
                y.len()
            )));
        }
        let seasonal = indices(y, self.period, self.additive);
        let adjusted = match &seasonal {
            Some((idx, mult)) => season::adjust(y, idx, *mult),
            None => y.to_vec(),
        };
        let s = ses::fit(&adjusted);
        let drift = stats::ols_slope(&adjusted) / 2.0;
        // ets' residual variance divides by n minus its two parameters (α, ℓ₀).
        let sigma2 = s.sse / (adjusted.len() as f64 - 2.0);
        Ok(FittedTheta {
            adjusted,
            ses: s,
            drift,
            sigma2,
            seasonal,
        })
    }
}

impl Predict for FittedTheta {
    type Error = ModelFailure;

    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let n = self.adjusted.len();
        let alpha = self.ses.alpha.max(1e-10);
        let offset = (1.0 - (1.0 - alpha).powi(n as i32)) / alpha;
        f.point = (0..horizon)
            .map(|i| self.ses.level + self.drift * (i as f64 + offset))
            .collect();
        if let Some((idx, mult)) = &self.seasonal {
            season::reseasonalise(&mut f.point, n, idx, *mult);
        }
        // thetaf 8.20 centres the seasonally-adjusted model's se on the reseasonalised
        // mean without rescaling it by the seasonal index.
        f.intervals = level.map(|level| {
            let z = stats::z_for_level(level);
            let sigma = self.sigma2.sqrt();
            let mut iv = ForecastIntervals::with_capacity(level, horizon);
            for (i, p) in f.point.iter().enumerate() {
                let se = sigma * (i as f64 * alpha * alpha + 1.0).sqrt();
                iv.lower.push(p - z * se);
                iv.upper.push(p + z * se);
            }
            iv
        });
        Ok(())
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        let mut fit = ses::fitted(&self.adjusted, &self.ses);
        if let Some((idx, mult)) = &self.seasonal {
            let m = idx.len();
            for (t, v) in fit.iter_mut().enumerate() {
                *v = if *mult {
                    *v * idx[t % m]
                } else {
                    *v + idx[t % m]
                };
            }
        }
        f.intervals = level.map(|level| {
            let w = stats::z_for_level(level) * self.sigma2.sqrt();
            ForecastIntervals {
                level,
                lower: fit.iter().map(|p| p - w).collect(),
                upper: fit.iter().map(|p| p + w).collect(),
            }
        });
        f.point = fit;
        Ok(())
    }

    fn training_data_size(&self) -> usize {
        self.adjusted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CPU at 20% in working hours and 0.1% at night that is busy at 30% for the
    /// last two (night) hours: divided by a night index near 0.01 the burst becomes a
    /// deseasonalised level near 3000, multiplied back by the day index; additively it
    /// stays a burst.
    #[test]
    fn additive_indices_do_not_amplify_bursts_near_zero() {
        let day = 24;
        let mut y: Vec<f64> = (0..10 * day)
            .map(|t| {
                let h = t % day;
                let noise = 0.05 * ((t * 37 % 11) as f64 / 11.0);
                if (9..18).contains(&h) {
                    20.0 + noise
                } else {
                    0.1 + noise
                }
            })
            .collect();
        let n = y.len();
        y[n - 2..].fill(30.0);
        let peak = |th: Theta| {
            let f = th.fit(&y).unwrap().predict(day, 0.95).unwrap();
            f.point.iter().cloned().fold(f64::MIN, f64::max)
        };
        let add = peak(Theta::additive(Some(day)));
        assert!(add < 60.0, "additive peak {add}");
        let mult = peak(Theta::thetaf(Some(day)));
        assert!(mult > 10.0 * add, "thetaf peak {mult}, additive {add}");
    }
}
