use augurs::{Fit, Predict};
use nodecast::forecast::{score, theta::Theta, naive2::Naive2};

fn smean(y: &[f64], m: usize, k: usize, h: usize) -> Vec<f64> {
    let n = y.len();
    let k = k.min(n / m).max(1);
    (0..h).map(|i| {
        let pos = i % m;
        (1..=k).map(|j| y[n - j * m + pos]).sum::<f64>() / k as f64
    }).collect()
}
// mean of last k seasons, shifted to the level of the last day
fn smean_lvl(y: &[f64], m: usize, k: usize, h: usize, lv: usize) -> Vec<f64> {
    let n = y.len();
    let k = k.min(n / m).max(1);
    let base = smean(y, m, k, h.max(m));
    // level of last lv points vs level of the same positions in the mean profile
    let last: f64 = y[n - lv..].iter().sum::<f64>() / lv as f64;
    let prof: f64 = (0..lv).map(|i| { let t = n - lv + i; (1..=k).map(|j| y[t - j * m]).sum::<f64>() / k as f64 }).sum::<f64>() / lv as f64;
    base[..h].iter().map(|b| b + (last - prof)).collect()
}


fn cands(y: &[f64], h: usize) -> Vec<Vec<f64>> {
    let n = y.len();
    let mut v = vec![
        smean(y, 24, 1, h), smean(y, 24, 7, h), smean_lvl(y, 24, 7, h, 24),
        Theta { period: Some(24) }.fit(y).unwrap().predict(h, None).unwrap().point,
    ];
    if n >= 2 * 168 + 48 {
        v.push(smean(y, 168, 1, h));
        v.push(smean_lvl(y, 168, 2, h, 24));
        v.push(Theta { period: Some(168) }.fit(y).unwrap().predict(h, None).unwrap().point);
        v.push(smean(y, 168, 2, h));
    }
    v
}
const CN: [&str; 8] = ["sn24","sm24x7","sml24x7","theta24","sn168","sml168x2","theta168","sm168x2"];

fn main() {
    let d = std::path::Path::new("/work/shared/data/m4-hourly");
    let tr = nodecast::cli::backtest_cmd::data::read_m4(&d.join("Hourly-train.csv")).unwrap();
    let te = nodecast::cli::backtest_cmd::data::read_m4(&d.join("Hourly-test.csv")).unwrap();
    let h = 48;
    let origins: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(2);
    let (mut sn2, mut mn2) = (0.0, 0.0);
    let mut s = vec![0.0; 4];
    let mut m = vec![0.0; 4];
    let mut picks = vec![0usize; 8];
    for ((_, y), (_, a)) in tr.iter().zip(&te) {
        let a = &a[..h];
        let n = y.len();
        // validation
        let mut err: Vec<f64> = Vec::new();
        for k in 1..=origins {
            let o = n - k * h;
            let yt = &y[..o];
            let act = &y[o..o + h];
            let n2 = Naive2 { period: Some(24) }.fit(yt).unwrap().predict(h, None).unwrap().point;
            let (s2, m2) = (score::smape(act, &n2), score::mase(yt, act, &n2, 24));
            let c = cands(yt, h);
            if err.is_empty() { err = vec![0.0; c.len()]; }
            for (i, f) in c.iter().enumerate().take(err.len()) {
                err[i] += score::owa(score::smape(act, f), score::mase(yt, act, f, 24), s2.max(1e-9), m2.max(1e-9));
            }
        }
        let c = cands(y, h);
        let mut idx: Vec<usize> = (0..err.len().min(c.len())).collect();
        idx.sort_by(|a, b| err[*a].total_cmp(&err[*b]));
        picks[idx[0]] += 1;
        let n2 = Naive2 { period: Some(24) }.fit(y).unwrap().predict(h, None).unwrap().point;
        sn2 += score::smape(a, &n2); mn2 += score::mase(y, a, &n2, 24);
        for (j, top) in [1usize, 2, 3, 4].iter().enumerate() {
            let f: Vec<f64> = (0..h).map(|i| idx[..*top].iter().map(|&c_| c[c_][i]).sum::<f64>() / *top as f64).collect();
            s[j] += score::smape(a, &f); m[j] += score::mase(y, a, &f, 24);
        }
    }
    for j in 0..4 { println!("top{} OWA {:.3} (sMAPE {:.3} MASE {:.3})", j + 1, score::owa(s[j], m[j], sn2, mn2), s[j]/414.0, m[j]/414.0); }
    println!("{:?}", CN.iter().zip(&picks).collect::<Vec<_>>());
}
