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

use nodecast::cli::backtest_cmd::{
    data::read_timestamp_value,
    protocol::{part_of_id, part_of_origin, synthetic, Part, SYNTH_STEP_SECS},
};

/// One forecast to score under the development protocol.
pub struct Case {
    pub name: String,
    pub part: Part,
    pub train: Vec<f64>,
    pub actual: Vec<f64>,
    pub step_secs: f64,
    /// Steps per day: the MASE lag.
    pub day: usize,
}

/// Every NAB file, `origins` rolling origins one day apart, horizon one day; the
/// later half of the origins is held out.
pub fn nab_cases(origins: usize) -> Vec<Case> {
    let dir = data_dir().join("nab");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the NAB series in {}",
        dir.display()
    );
    let mut out = Vec::new();
    for f in &files {
        let g = read_timestamp_value(f).unwrap_or_else(|e| panic!("{e}"));
        let h = (86_400 / g.step_secs) as usize;
        for k in 1..=origins {
            let o = g.values.len() - k * h;
            out.push(Case {
                name: format!("{}@-{k}d", f.file_name().unwrap().to_string_lossy()),
                part: part_of_origin(k, origins),
                train: g.values[..o].to_vec(),
                actual: g.values[o..o + h].to_vec(),
                step_secs: g.step_secs as f64,
                day: h,
            });
        }
    }
    out
}

/// The synthetic node-like set (seed 1): `count` series of 17 days, 3 daily origins.
pub fn synthetic_cases(count: usize) -> Vec<Case> {
    let day = 288;
    let mut out = Vec::new();
    for s in synthetic(count, 17, 1) {
        for k in 1..=3 {
            let o = s.values.len() - k * day;
            out.push(Case {
                name: format!("{}@-{k}d", s.id),
                part: s.part,
                train: s.values[..o].to_vec(),
                actual: s.values[o..o + day].to_vec(),
                step_secs: SYNTH_STEP_SECS,
                day,
            });
        }
    }
    out
}

/// M4 hourly as cases (horizon 48), split by a hash of the id.
pub fn m4_cases() -> Vec<Case> {
    let (train, test) = m4();
    train
        .into_iter()
        .zip(test)
        .map(|((id, y), (_, a))| Case {
            part: part_of_id(&id),
            name: id,
            train: y,
            actual: a[..48].to_vec(),
            step_secs: 3600.0,
            day: 24,
        })
        .collect()
}

/// Scores of one model over some cases: mean sMAPE, mean MASE, 95% coverage.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scores {
    pub smape: f64,
    pub mase: f64,
    pub coverage: f64,
    pub n: usize,
}

/// Per-case MASE (NaN actuals skipped) and interval coverage of one forecast.
pub fn score_case(c: &Case, point: &[f64], lower: &[f64], upper: &[f64]) -> (f64, f64, f64) {
    let keep: Vec<usize> = (0..c.actual.len())
        .filter(|&i| c.actual[i].is_finite())
        .collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let a = pick(&c.actual);
    (
        score::smape(&a, &pick(point)),
        score::mase(&c.train, &a, &pick(point), c.day),
        score::coverage(&a, &pick(lower), &pick(upper)),
    )
}

/// `model` on the cases of `part`; `None` if it fails on any of them (a weekly
/// candidate without three weeks of history).
pub fn run(model: ModelKind, cases: &[Case], part: Part) -> Option<Scores> {
    let mut s = Scores::default();
    for c in cases.iter().filter(|c| c.part == part) {
        let input = SeriesInput {
            values: &c.train,
            step_secs: c.step_secs,
            seasons: None,
        };
        let out = forecast(&input, c.actual.len(), 0.95, model).ok()?;
        let iv = out.forecast.intervals.as_ref()?;
        let (sm, ma, cov) = score_case(c, &out.forecast.point, &iv.lower, &iv.upper);
        s.smape += sm;
        s.mase += ma;
        s.coverage += cov;
        s.n += 1;
    }
    let n = s.n.max(1) as f64;
    Some(Scores {
        smape: s.smape / n,
        mase: s.mase / n,
        coverage: s.coverage / n,
        n: s.n,
    })
}

/// Every model `auto` may choose from, to compare it with the best of them.
pub const SINGLE: [ModelKind; 10] = [
    ModelKind::SNaive,
    ModelKind::ThetaAdd,
    ModelKind::SMean,
    ModelKind::SMeanLevel,
    ModelKind::Theta,
    ModelKind::SNaiveDrift,
    ModelKind::SNaiveWeek,
    ModelKind::SMeanWeek,
    ModelKind::SMeanWeekLevel,
    ModelKind::ThetaWeek,
];
