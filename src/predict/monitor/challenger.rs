//! The promotion gate: a shadow model replaces the champion only when, over the
//! same window and the same origins, it scored a MASE at least `margin` below the
//! champion's, with enough scored origins on both sides. Pure: summaries in,
//! verdict out.

use super::accuracy::Summary;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Required relative improvement, e.g. 0.10.
    pub margin: f64,
    /// Least scored origins (at the gate's busiest horizon) on both sides.
    pub min_samples: u32,
}

/// The comparison behind a decision, for the log and the API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub promote: bool,
    /// Mean over the compared horizons of each side's MASE.
    pub champion: f64,
    pub challenger: f64,
    pub samples: u32,
}

/// Compares per-horizon summaries (same horizons, same order, same window).
/// Horizons either side has not scored yet are left out of both means; `None`
/// when no horizon is comparable.
pub fn judge(champion: &[Summary], challenger: &[Summary], g: &Gate) -> Option<Verdict> {
    let (mut a, mut b, mut k, mut samples) = (0.0, 0.0, 0u32, 0u32);
    for (c, r) in champion.iter().zip(challenger) {
        if c.n == 0 || r.n == 0 || !c.mase.is_finite() || !r.mase.is_finite() {
            continue;
        }
        a += c.mase;
        b += r.mase;
        k += 1;
        samples = samples.max(c.n.min(r.n));
    }
    if k == 0 {
        return None;
    }
    let (champion, challenger) = (a / f64::from(k), b / f64::from(k));
    Some(Verdict {
        promote: samples >= g.min_samples && challenger <= (1.0 - g.margin) * champion,
        champion,
        challenger,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32, mase: f64) -> Summary {
        Summary {
            n,
            mase,
            coverage: 0.95,
        }
    }

    #[test]
    fn promotes_only_past_the_margin_with_enough_samples() {
        let g = Gate {
            margin: 0.10,
            min_samples: 24,
        };
        let v = judge(&[s(30, 1.0), s(5, 2.0)], &[s(30, 0.85), s(5, 1.8)], &g).unwrap();
        assert!(v.promote);
        assert!((v.champion - 1.5).abs() < 1e-12 && (v.challenger - 1.325).abs() < 1e-12);
        assert_eq!(v.samples, 30);
        // 5% better is not enough.
        assert!(!judge(&[s(30, 1.0)], &[s(30, 0.95)], &g).unwrap().promote);
        // Better but too few origins.
        assert!(!judge(&[s(30, 1.0)], &[s(23, 0.5)], &g).unwrap().promote);
        // A horizon only one side has scored does not count.
        let v = judge(&[s(30, 1.0), s(0, f64::NAN)], &[s(30, 0.5), s(3, 0.1)], &g).unwrap();
        assert!((v.challenger - 0.5).abs() < 1e-12);
        assert!(judge(&[s(0, f64::NAN)], &[s(9, 1.0)], &g).is_none());
    }
}
