//! Shared test helpers: the data directory and the M4/R reference files.
#![allow(dead_code)]

use std::{collections::HashMap, path::PathBuf};

use nodecast::cli::backtest_cmd::data::{read_m4, M4Series};

/// `$NODECAST_DATA_DIR`, else `<manifest>/../shared/data`. Fails loudly when missing:
/// CI always has the data, so a silent skip would hide a broken checkout.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("NODECAST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(dir.join("m4-hourly").is_dir(), "test data not found at {} (set NODECAST_DATA_DIR)", dir.display());
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
        let c = self.cols.iter().position(|c| c == name).unwrap_or_else(|| panic!("no column {name}"));
        self.by_id[id].iter().map(|row| row[c]).collect()
    }
}

pub fn r_reference() -> RRef {
    let p = data_dir().join("m4-hourly/m4-hourly-r-forecast-8.20.csv");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut lines = text.lines();
    let cols: Vec<String> = lines.next().expect("header").split(',').map(String::from).collect();
    let mut by_id: HashMap<String, Vec<Vec<f64>>> = HashMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let row: Vec<f64> = cells.iter().map(|c| c.parse::<f64>().unwrap_or(f64::NAN)).collect();
        by_id.entry(cells[0].to_string()).or_default().push(row);
    }
    RRef { cols, by_id }
}
