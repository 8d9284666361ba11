//! Interval calibration rules for `auto`, compared on the tune parts only (never the
//! held ones): M4 hourly, NAB origins 4–6 days back, the synthetic set, and two
//! tune-only extras (NAB origins 7–10 days back, synthetic seed 2 at 35 days). Each
//! rule rescales the members' combined band from the validation errors `auto` keeps
//! (`Choice::errors`); printed per set: coverage, the interval score (Gneiting and
//! Raftery's, divided by the series' MASE scale) and the width, and the interval score
//! relative to the shipped rule (pooled quantile, narrowing to 0.9) averaged over the
//! sets. `SCAN_LEVEL=0.8` for 80% bands. See docs/forecast.md, **Intervals**.
//!
//! `cargo test --release --test forecast_interval_scan -- --ignored --nocapture`

mod forecast_common;

use forecast_common::{m4_cases, nab_cases, synthetic_cases, Case};
use nodecast::{
    cli::backtest_cmd::protocol::{synthetic, Part, SYNTH_STEP_SECS},
    forecast::{auto, forecast, stats, ModelKind, SeriesInput},
};

struct Rec {
    name: String,
    train: Vec<f64>,
    actual: Vec<f64>,
    point: Vec<f64>,
    lo: Vec<f64>, // raw half-widths below / above
    hi: Vec<f64>,
    errors: Vec<f64>,
    signed: Vec<f64>,
    /// (origin age, position among that origin's scored points: the step where no
    /// point of the window was a gap).
    at: Vec<(u32, u32)>,
    horizon: usize,
    day: usize,
    scale: f64, // MASE scale
}

fn rec(c: &Case) -> Option<Rec> {
    let input = SeriesInput {
        values: &c.train,
        step_secs: c.step_secs,
        seasons: None,
    };
    let o = forecast(&input, c.actual.len(), 0.95, ModelKind::Auto).ok()?;
    let ch = o.choice.clone()?;
    // The shipped band over the shipped scale: the members' combined band.
    let s = auto::interval_scale(&ch.errors, 0.95);
    let iv = o.forecast.intervals.as_ref()?;
    let p = &o.forecast.point;
    let lo = p.iter().zip(&iv.lower).map(|(p, l)| (p - l) / s).collect();
    let hi = p.iter().zip(&iv.upper).map(|(p, u)| (u - p) / s).collect();
    let d = c.day;
    let y = &c.train;
    let diffs: Vec<f64> = (d..y.len())
        .map(|t| (y[t] - y[t - d]).abs())
        .filter(|v| v.is_finite())
        .collect();
    let scale = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
    Some(Rec {
        name: c.name.clone(),
        train: c.train.clone(),
        actual: c.actual.clone(),
        point: p.clone(),
        lo,
        hi,
        errors: ch.errors.concat().iter().map(|e| e.abs()).collect(),
        signed: ch.errors.concat(),
        at: ch
            .errors
            .iter()
            .enumerate()
            .flat_map(|(j, e)| (0..e.len()).map(move |i| (j as u32, i as u32)))
            .collect(),
        horizon: c.actual.len(),
        day: d,
        scale,
    })
}

/// Mean |Δy| over the `w` points before `o` (gaps skipped).
fn vol(y: &[f64], o: usize, w: usize) -> f64 {
    let a = o.saturating_sub(w).max(1);
    let v: Vec<f64> = (a..o)
        .map(|t| (y[t] - y[t - 1]).abs())
        .filter(|v| v.is_finite())
        .collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Weighted conformal quantile at `level`, the test point weighted `wn`.
fn wq(e: &[(f64, f64)], level: f64, wn: f64) -> f64 {
    let mut e: Vec<(f64, f64)> = e.iter().copied().filter(|x| x.0.is_finite()).collect();
    if e.len() < 20 {
        return f64::NAN;
    }
    e.sort_by(|a, b| a.0.total_cmp(&b.0));
    let tot: f64 = e.iter().map(|x| x.1).sum::<f64>() + wn;
    let mut c = 0.0;
    for (v, w) in &e {
        c += w;
        if c / tot >= level {
            return *v;
        }
    }
    e.last().unwrap().0
}

type Method = Box<dyn Fn(&Rec) -> Vec<f64>>;

/// Asymmetric: lower and upper scales from the signed errors' two tails; encoded as
/// 2·horizon scales (lower first).
fn asym(r: &Rec, lam: f64, floor: f64) -> Vec<f64> {
    let tail = (1.0 + lv()) / 2.0;
    let side = |sign: f64| {
        let e: Vec<_> = r
            .signed
            .iter()
            .zip(&r.at)
            .map(|(e, (j, _))| (sign * e, lam.powi(*j as i32)))
            .collect();
        let q = wq(&e, tail, 1.0) / z();
        if q.is_finite() {
            q.max(floor)
        } else {
            1.0
        }
    };
    let (l, u) = (side(-1.0), side(1.0));
    let mut v = vec![l; r.horizon];
    v.extend(vec![u; r.horizon]);
    v
}

static LEVEL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Validation origin `j`'s own band quantile, in standard errors.
fn origin_scale(r: &Rec, j: u32) -> f64 {
    let e: Vec<_> = r
        .errors
        .iter()
        .zip(&r.at)
        .filter(|a| a.1 .0 == j)
        .map(|(e, _)| (*e, 1.0))
        .collect();
    wq(&e, lv(), 1.0) / z()
}

fn lv() -> f64 {
    match f64::from_bits(LEVEL.load(std::sync::atomic::Ordering::Relaxed)) {
        l if l > 0.0 => l,
        _ => 0.95,
    }
}
fn z() -> f64 {
    stats::z_for_level(lv())
}

fn uniform(r: &Rec, s: f64) -> Vec<f64> {
    vec![if s.is_finite() { s } else { 1.0 }; r.horizon]
}

fn methods() -> Vec<(String, Method)> {
    let mut m: Vec<(String, Method)> = Vec::new();
    for floor in [0.9, 0.7, 0.5, 0.0] {
        m.push((
            format!("pooled floor {floor}"),
            Box::new(move |r| {
                let e: Vec<_> = r.errors.iter().map(|e| (*e, 1.0)).collect();
                uniform(r, (wq(&e, lv(), 1.0) / z()).max(floor))
            }),
        ));
    }
    for lam in [0.8f64, 0.7, 0.6, 0.5, 0.4] {
        for floor in [0.9, 0.8, 0.7, 0.6, 0.5] {
            m.push((
                format!("origin weights {lam}^j floor {floor}"),
                Box::new(move |r| {
                    let e: Vec<_> = r
                        .errors
                        .iter()
                        .zip(&r.at)
                        .map(|(e, (j, _))| (*e, lam.powi(*j as i32)))
                        .collect();
                    uniform(r, (wq(&e, lv(), 1.0) / z()).max(floor))
                }),
            ));
        }
    }
    for groups in [4usize, 8] {
        for floor in [0.9, 0.5] {
            m.push((
                format!("{groups} step groups floor {floor}"),
                Box::new(move |r| {
                    let g = |s: u32| (s as usize * groups / r.horizon).min(groups - 1);
                    let mut out = vec![1.0; r.horizon];
                    let q: Vec<f64> = (0..groups)
                        .map(|k| {
                            let e: Vec<_> = r
                                .errors
                                .iter()
                                .zip(&r.at)
                                .filter(|(_, (_, s))| g(*s) == k)
                                .map(|(e, _)| (*e, 1.0))
                                .collect();
                            (wq(&e, lv(), 1.0) / z()).max(floor)
                        })
                        .collect();
                    for (h, o) in out.iter_mut().enumerate() {
                        let s = q[g(h as u32)];
                        *o = if s.is_finite() { s } else { 1.0 };
                    }
                    out
                }),
            ));
        }
    }
    // Narrowing only as far as every validation origin's own quantile allows.
    for floor in [0.7, 0.5, 0.3, 0.0] {
        m.push((
            format!("worst-origin floor, abs floor {floor}"),
            Box::new(move |r| {
                let e: Vec<_> = r.errors.iter().map(|e| (*e, 1.0)).collect();
                let pooled = wq(&e, lv(), 1.0) / z();
                let worst = (0..4u32)
                    .map(|j| origin_scale(r, j))
                    .filter(|q| q.is_finite())
                    .fold(0.0, f64::max);
                let s = if pooled >= 1.0 {
                    pooled
                } else {
                    pooled.max(worst.min(1.0))
                };
                uniform(r, s.max(floor))
            }),
        ));
    }
    for lam in [1.0f64, 0.6, 0.5] {
        for floor in [0.9, 0.8, 0.7, 0.5] {
            m.push((
                format!("asym weights {lam}^j floor {floor}"),
                Box::new(move |r| asym(r, lam, floor)),
            ));
        }
    }
    // Volatility-normalised: each validation error divided by the local one-step
    // volatility before its origin; the band multiplied by the volatility now.
    for wdays in [1.0f64, 0.25] {
        for floor in [0.9, 0.5, 0.0] {
            for cap in [1.0, f64::INFINITY] {
                m.push((
                    format!("vol-norm {wdays} d floor {floor} ratio cap {cap}"),
                    Box::new(move |r| {
                        let n = r.train.len();
                        let w = ((r.day as f64 * wdays) as usize).max(4);
                        let vn = vol(&r.train, n, w);
                        let vo: Vec<f64> = (0..4)
                            .map(|j| vol(&r.train, n.saturating_sub((j + 1) * r.horizon), w))
                            .collect();
                        let e: Vec<_> = r
                            .errors
                            .iter()
                            .zip(&r.at)
                            .map(|(e, (j, _))| {
                                let v = vo[*j as usize];
                                let ratio = (vn / v).min(cap);
                                (if v > 0.0 && vn > 0.0 { e * ratio } else { *e }, 1.0)
                            })
                            .collect();
                        uniform(r, (wq(&e, lv(), 1.0) / z()).max(floor))
                    }),
                ));
            }
        }
    }
    m
}

/// Mean coverage, mean scaled interval score, mean scaled width.
fn eval(recs: &[Rec], f: &Method) -> (f64, f64, f64) {
    let (mut cov, mut is, mut wid) = (0.0, 0.0, 0.0);
    for r in recs {
        let s = f(r);
        let (mut c, mut sc, mut wd, mut k) = (0.0, 0.0, 0.0, 0.0);
        for h in 0..r.horizon {
            let a = r.actual[h];
            if !a.is_finite() {
                continue;
            }
            let k80 = z() / stats::z_for_level(0.95);
            let (sl, su) = if s.len() == 2 * r.horizon {
                (s[h], s[r.horizon + h])
            } else {
                (s[h], s[h])
            };
            let l = r.point[h] - r.lo[h] * sl * k80;
            let u = r.point[h] + r.hi[h] * su * k80;
            c += f64::from(a >= l && a <= u);
            let alpha = 1.0 - lv();
            sc += (u - l) + 2.0 / alpha * ((l - a).max(0.0) + (a - u).max(0.0));
            wd += u - l;
            k += 1.0;
        }
        cov += c / k;
        is += sc / k / r.scale.max(1e-12);
        wid += wd / k / r.scale.max(1e-12);
    }
    let n = recs.len() as f64;
    (cov / n, is / n, wid / n)
}

#[test]
#[ignore]
fn interval_method_scan() {
    let tune = |v: Vec<Case>| -> Vec<Rec> {
        v.iter()
            .filter(|c| c.part == Part::Tune)
            .filter_map(rec)
            .collect()
    };
    let mut sets: Vec<(&str, Vec<Rec>)> = vec![
        ("M4", tune(m4_cases())),
        ("NAB", tune(nab_cases(6))),
        ("synth", tune(synthetic_cases(24))),
    ];
    // Extra tune-only sets: NAB origins 7-10 days back, synthetic seed 2 at 35 days.
    let nab10: Vec<Case> = nab_cases(10)
        .into_iter()
        .filter(|c| {
            let k: usize = c
                .name
                .rsplit("@-")
                .next()
                .unwrap()
                .trim_end_matches('d')
                .parse()
                .unwrap();
            k >= 7
        })
        .map(|mut c| {
            c.part = Part::Tune;
            c
        })
        .collect();
    sets.push(("NAB 7-10d", tune(nab10)));
    let mut s35 = Vec::new();
    for s in synthetic(24, 35, 2) {
        for k in 1..=3 {
            let o = s.values.len() - k * 288;
            s35.push(Case {
                name: format!("{}@-{k}d", s.id),
                part: s.part,
                train: s.values[..o].to_vec(),
                actual: s.values[o..o + 288].to_vec(),
                step_secs: SYNTH_STEP_SECS,
                day: 288,
            });
        }
    }
    sets.push(("synth35 s2", tune(s35)));
    let ms = methods();
    // The tune NAB forecasts one by one: the shipped rule's coverage and scale, and
    // each validation origin's own quantile.
    for (set, recs) in &sets {
        if !set.starts_with("NAB") {
            continue;
        }
        for r in recs {
            let q: Vec<String> = (0..4u32)
                .map(|j| format!("{:.2}", origin_scale(r, j)))
                .collect();
            let cov = eval(std::slice::from_ref(r), &ms[0].1).0;
            println!(
                "{:<40} cov {cov:.3} scale {:.2} per-origin q/z (latest first) {q:?}",
                r.name,
                ms[0].1(r)[0]
            );
        }
    }
    if let Ok(l) = std::env::var("SCAN_LEVEL") {
        LEVEL.store(
            l.parse::<f64>().unwrap().to_bits(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    let base: Vec<f64> = sets.iter().map(|(_, r)| eval(r, &ms[0].1).1).collect();
    for (name, f) in &ms {
        let mut line = format!("{name:<40}");
        let (mut rel, mut lo, mut hi) = (0.0, 1.0f64, 0.0f64);
        for ((set, recs), b) in sets.iter().zip(&base) {
            let (c, is, w) = eval(recs, f);
            rel += is / b / sets.len() as f64;
            lo = lo.min(c);
            hi = hi.max(c);
            line += &format!(" | {set} {c:.3} IS {is:.2} W {w:.2}");
        }
        println!("IS/base {rel:.4} cov {lo:.3}-{hi:.3} {line}");
    }
}
