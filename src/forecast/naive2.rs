//! Naive2, the M4 benchmark that OWA is measured against: the naive forecast of the
//! multiplicatively seasonally adjusted series when the 90% ACF test finds the season.

use augurs::{Fit, Forecast, Predict};

use super::{season, snaive, ModelFailure};

#[derive(Debug, Clone, Copy)]
pub struct Naive2 {
    pub period: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct FittedNaive2 {
    inner: snaive::FittedSNaive,
    seasonal: Option<(Vec<f64>, bool)>,
    n: usize,
}

impl Fit for Naive2 {
    type Fitted = FittedNaive2;
    type Error = ModelFailure;

    fn fit(&self, y: &[f64]) -> Result<FittedNaive2, ModelFailure> {
        // M4's SeasonalityTest also asks for three full seasons.
        let seasonal = self
            .period
            .filter(|m| *m > 1 && y.len() >= 3 * m && season::is_seasonal(y, *m))
            .map(|m| {
                let mult = y.iter().all(|v| *v > 0.0);
                (season::decompose_indices(y, m, mult), mult)
            });
        let adjusted = match &seasonal {
            Some((idx, mult)) => season::adjust(y, idx, *mult),
            None => y.to_vec(),
        };
        let inner = snaive::SNaive { period: 1 }.fit(&adjusted)?;
        Ok(FittedNaive2 {
            inner,
            seasonal,
            n: y.len(),
        })
    }
}

impl Predict for FittedNaive2 {
    type Error = ModelFailure;

    fn predict_inplace(
        &self,
        horizon: usize,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        self.inner.predict_inplace(horizon, level, f)?;
        if let Some((idx, mult)) = &self.seasonal {
            season::reseasonalise(&mut f.point, self.n, idx, *mult);
            if let Some(iv) = f.intervals.as_mut() {
                season::reseasonalise(&mut iv.lower, self.n, idx, *mult);
                season::reseasonalise(&mut iv.upper, self.n, idx, *mult);
            }
        }
        Ok(())
    }

    fn predict_in_sample_inplace(
        &self,
        level: Option<f64>,
        f: &mut Forecast,
    ) -> Result<(), ModelFailure> {
        self.inner.predict_in_sample_inplace(level, f)?;
        if let Some((idx, mult)) = &self.seasonal {
            let m = idx.len();
            let apply = |v: &mut Vec<f64>| {
                for (t, x) in v.iter_mut().enumerate() {
                    *x = if *mult {
                        *x * idx[t % m]
                    } else {
                        *x + idx[t % m]
                    };
                }
            };
            apply(&mut f.point);
            if let Some(iv) = f.intervals.as_mut() {
                apply(&mut iv.lower);
                apply(&mut iv.upper);
            }
        }
        Ok(())
    }

    fn training_data_size(&self) -> usize {
        self.n
    }
}
