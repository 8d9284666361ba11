use std::time::Instant;
use nodecast::forecast::{season, ses, stats};
fn main() {
    let g = nodecast::cli::backtest_cmd::data::read_timestamp_value(std::path::Path::new("/work/shared/data/nab/ec2_cpu_utilization_24ae8d.csv")).unwrap();
    let y = &g.values[g.values.len() - 2016..];
    let r = 200;
    let t = Instant::now(); for _ in 0..r { std::hint::black_box(season::acf(y, 288)); } println!("acf {:?}", t.elapsed() / r);
    let t = Instant::now(); for _ in 0..r { std::hint::black_box(season::decompose_indices(y, 288, true)); } println!("decomp {:?}", t.elapsed() / r);
    let t = Instant::now(); for _ in 0..r { std::hint::black_box(ses::fit(y)); } println!("ses {:?}", t.elapsed() / r);
    let t = Instant::now(); for _ in 0..r { std::hint::black_box(stats::ols_slope(y)); } println!("ols {:?}", t.elapsed() / r);
    let x: Vec<f64> = y.to_vec();
    let t = Instant::now(); let mut acc = 0.0; for i in 0..r*20 { let a = 0.01 + (i % 50) as f64 * 0.01; let mut l = 0.0; let mut s = 0.0; for v in &x { let e = v - l; s += e*e; l += a*e; } acc += s; } println!("plain eval {:?} {}", t.elapsed() / (r*20), acc > 0.0);
}
#[allow(dead_code)]
fn unused() {}
