//! Shared test helpers: the data directory and the M4/R reference files.
#![allow(dead_code)]

use std::{collections::HashMap, path::PathBuf};

use nodecast::cli::backtest_cmd::data::{read_m4, M4Series};

/// `$NODECAST_DATA_DIR`, else `<manifest>/data`. Fails loudly when missing:
/// CI always has the data, so a silent skip would hide a broken checkout.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("NODECAST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"));
    assert!(
        dir.join("m4-hourly").is_dir(),
        "test data not found at {} (set NODECAST_DATA_DIR)",
        dir.display()
    );
    dir
}

pub fn m4() -> (Vec<M4Series>, Vec<M4Series>) {
    let d = data_dir().join("m4-hourly");
    let train = read_m4(&d.join("Hourly-train.csv")).unwrap_or_else(|e| panic!("{e}"));
    let test = read_m4(&d.join("Hourly-test.csv")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(train.len(), 414);
    assert_eq!(test.len(), 414);
    (train, test)
}

/// R forecast 8.20 reference: per series id, per column name, 48 values.
pub struct RRef {
    pub cols: Vec<String>,
    pub by_id: HashMap<String, Vec<Vec<f64>>>,
}

impl RRef {
    pub fn col(&self, id: &str, name: &str) -> Vec<f64> {
        let c = self
            .cols
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        self.by_id[id].iter().map(|row| row[c]).collect()
    }
}

pub fn r_reference() -> RRef {
    let p = data_dir().join("m4-hourly/m4-hourly-r-forecast-8.20.csv");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut lines = text.lines();
    let cols: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    let mut by_id: HashMap<String, Vec<Vec<f64>>> = HashMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let row: Vec<f64> = cells
            .iter()
            .map(|c| c.parse::<f64>().unwrap_or(f64::NAN))
            .collect();
        by_id.entry(cells[0].to_string()).or_default().push(row);
    }
    RRef { cols, by_id }
}

use nodecast::forecast::{forecast, score, ModelKind, SeriesInput};

/// Mean sMAPE and MASE of `model` over M4 hourly (horizon 48, day = 24 steps), with
/// `punch` applied to each training series first (Naive2 and scales stay clean).
pub fn m4_scores(model: ModelKind, punch: impl Fn(usize, &mut Vec<f64>)) -> (f64, f64) {
    let (train, test) = m4();
    let (mut s, mut m) = (0.0, 0.0);
    for (i, ((_, y), (_, a))) in train.iter().zip(&test).enumerate() {
        let mut holed = y.clone();
        punch(i, &mut holed);
        let input = SeriesInput {
            values: &holed,
            step_secs: 3600.0,
            seasons: None,
        };
        let out = forecast(&input, 48, 0.95, model).unwrap_or_else(|e| panic!("series {i}: {e}"));
        s += score::smape(&a[..48], &out.forecast.point);
        m += score::mase(y, &a[..48], &out.forecast.point, 24);
    }
    (s / train.len() as f64, m / train.len() as f64)
}

/// OWA of (sMAPE, MASE) against Naive2 on the clean M4 hourly training data.
pub fn m4_owa(scores: (f64, f64)) -> f64 {
    let n2 = m4_scores(ModelKind::Naive2, |_, _| {});
    score::owa(scores.0, scores.1, n2.0, n2.1)
}

/// Deterministic xorshift so the gap pattern is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
