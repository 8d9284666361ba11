//! Short-history blow-ups: a few dozen 5-minute points with a steep start, forecast a
//! day ahead, run far outside what the metric can be; clipped to the series' bounds
//! (`bounds_for`, the daemon's policy) they stay physical.

use nodecast::forecast::{
    bounds::{bounds_for, Labels},
    forecast, ModelKind, SeriesInput,
};

/// A node with 25.3 GB of memory.
fn node(name: &str, _: &Labels) -> Option<f64> {
    (name == "node_memory_MemTotal_bytes").then_some(25.3e9)
}

/// `n` points rising (or falling) steeply over the first quarter, then flat with noise.
fn steep_start(n: usize, from: f64, to: f64, noise: f64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let r = (i as f64 / (n as f64 / 4.0)).min(1.0);
            let wobble = noise * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
            from + (to - from) * r + wobble
        })
        .collect()
}

#[test]
fn bounded_short_history_forecasts_stay_physical() {
    let cases: [(&str, Vec<f64>, f64, f64); 4] = [
        (
            "node_cpu_utilisation_ratio",
            steep_start(40, 0.05, 0.9, 0.02),
            0.0,
            1.0,
        ),
        (
            "node_pressure_io_waiting_ratio",
            steep_start(40, 0.8, 0.0, 0.01),
            0.0,
            1.0,
        ),
        (
            "node_load1_per_cpu",
            steep_start(40, 0.1, 4.0, 0.1),
            0.0,
            f64::INFINITY,
        ),
        (
            "node_memory_MemAvailable_bytes",
            steep_start(40, 5e9, 24e9, 1e8),
            0.0,
            25.3e9,
        ),
    ];
    let mut outside = 0;
    for (metric, values, lo, hi) in cases {
        let input = SeriesInput {
            values: &values,
            step_secs: 300.0,
            seasons: None,
        };
        for model in [ModelKind::Auto, ModelKind::Theta, ModelKind::SNaiveDrift] {
            let mut out =
                forecast(&input, 288, 0.95, model).unwrap_or_else(|e| panic!("{metric}: {e}"));
            let f = &mut out.forecast;
            let iv = f.intervals.clone().unwrap();
            let all = || {
                f.point
                    .iter()
                    .chain(&iv.lower)
                    .chain(&iv.upper)
                    .copied()
                    .collect::<Vec<_>>()
            };
            let raw = all();
            let (rmin, rmax) = (
                raw.iter().copied().fold(f64::MAX, f64::min),
                raw.iter().copied().fold(f64::MIN, f64::max),
            );
            println!("{metric} {model}: unbounded forecast and band span [{rmin:.4e}, {rmax:.4e}]");
            outside += usize::from(rmin < lo || rmax > hi);
            bounds_for(metric, &[], &node).clip(f);
            let iv = f.intervals.as_ref().unwrap();
            for v in f.point.iter().chain(&iv.lower).chain(&iv.upper) {
                assert!(
                    (lo..=hi).contains(v),
                    "{metric} {model}: {v} outside [{lo}, {hi}]"
                );
            }
            for i in 0..f.point.len() {
                assert!(
                    iv.lower[i] <= f.point[i] && f.point[i] <= iv.upper[i],
                    "{metric} {model}: band crosses the point at {i}"
                );
            }
        }
    }
    // The reproduction: without bounds these histories do leave the physical range.
    assert!(
        outside >= 4,
        "only {outside} unbounded forecasts left the physical range"
    );
}
