//! The cases `backtest` scores: M4 files, rolling origins over CSVs, generated series;
//! each tagged with its part of the development protocol.

use std::path::{Path, PathBuf};

use super::protocol::{self, part_of_id, part_of_origin};
use super::{data, BacktestArgs, Case};
use crate::cli::bounded::Horizon;

pub(crate) fn m4(train: &Path, test: &Path, args: &BacktestArgs) -> Result<Vec<Case>, String> {
    let Horizon::Steps(horizon) = args.horizon else {
        return Err(format!(
            "--horizon {:?}: M4 needs a number of steps",
            args.horizon
        ));
    };
    let tr = data::read_m4(train).map_err(|e| e.to_string())?;
    let te = data::read_m4(test).map_err(|e| e.to_string())?;
    if tr.len() != te.len() {
        return Err(format!(
            "{} has {} series but {} has {}",
            train.display(),
            tr.len(),
            test.display(),
            te.len()
        ));
    }
    if args.season == 0 {
        return Err("--season must be at least 1".into());
    }
    // The grid step makes `season` steps one day, so daily/weekly periods follow.
    let step_secs = 86_400.0 / args.season as f64;
    let mut out = Vec::with_capacity(tr.len());
    for ((id, y), (tid, a)) in tr.into_iter().zip(te) {
        if id != tid {
            return Err(format!(
                "series order differs: {id} in {} vs {tid} in {}",
                train.display(),
                test.display()
            ));
        }
        if a.len() < horizon {
            return Err(format!(
                "{}: series {tid} has {} test values, fewer than --horizon {horizon}",
                test.display(),
                a.len()
            ));
        }
        out.push(Case {
            part: part_of_id(&id),
            train: y,
            clean: Vec::new(),
            actual: a[..horizon].to_vec(),
            step_secs,
        });
    }
    Ok(out)
}

pub(crate) fn csv(input: &Path, args: &BacktestArgs) -> Result<Vec<Case>, String> {
    let files: Vec<PathBuf> = if input.is_dir() {
        let mut f: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(|e| format!("{}: cannot list: {e}", input.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .collect();
        f.sort();
        f
    } else {
        vec![input.to_path_buf()]
    };
    if files.is_empty() {
        return Err(format!("{}: no .csv files", input.display()));
    }
    let mut out = Vec::new();
    for f in files {
        let g = data::read_timestamp_value(&f).map_err(|e| e.to_string())?;
        let h = args.horizon.steps(g.step_secs as f64)?;
        for k in (1..=args.origins).rev() {
            let Some(origin) = g.values.len().checked_sub(k * h) else {
                continue;
            };
            out.push(Case {
                part: part_of_origin(k, args.origins),
                train: g.values[..origin].to_vec(),
                clean: Vec::new(),
                actual: g.values[origin..origin + h].to_vec(),
                step_secs: g.step_secs as f64,
            });
        }
    }
    Ok(out)
}

/// Rolling origins over generated node-like series; the part follows the series id.
pub(crate) fn synthetic(count: usize, args: &BacktestArgs) -> Result<Vec<Case>, String> {
    let step = protocol::SYNTH_STEP_SECS;
    // Every origin copies its training values: series × origins × days bounds the
    // memory (200 000 days of 5-minute values is about 460 MB).
    let load = count
        .saturating_mul(args.origins)
        .saturating_mul(args.synthetic_days);
    if count == 0 || args.synthetic_days < 3 || load > 200_000 {
        return Err(format!(
            "--synthetic {count} with --origins {} and --synthetic-days {}: need at least one \
             series of at least 3 days, and series × origins × days ≤ 200000",
            args.origins, args.synthetic_days
        ));
    }
    let h = args.horizon.steps(step)?;
    if args.synthetic_days * 86_400
        < args
            .origins
            .saturating_mul(h)
            .saturating_add(2 * 288)
            .saturating_mul(step as usize)
    {
        return Err(format!(
            "--synthetic-days {} leaves no two days of history before {} origins of {h} steps",
            args.synthetic_days, args.origins
        ));
    }
    let mut out = Vec::new();
    for s in protocol::synthetic(count, args.synthetic_days, args.seed) {
        for k in (1..=args.origins).rev() {
            let origin = s.values.len() - k * h;
            out.push(Case {
                part: s.part,
                train: s.values[..origin].to_vec(),
                clean: Vec::new(),
                actual: s.values[origin..origin + h].to_vec(),
                step_secs: step,
            });
        }
    }
    Ok(out)
}

/// Removes a fraction of points and one outage (not touching the first or last 2%
/// so that trimming and the forecast origin stay comparable).
pub(crate) fn punch_gaps(y: &mut [f64], fraction: f64, outage: usize, state: &mut u64) {
    let n = y.len();
    let mut next = move || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    let margin = n / 50 + 1;
    if n <= 2 * margin + outage {
        return;
    }
    if outage > 0 {
        let a = margin + (next() as usize) % (n - 2 * margin - outage);
        y[a..a + outage].fill(f64::NAN);
    }
    if fraction > 0.0 {
        for v in y[margin..n - margin].iter_mut() {
            if ((next() >> 11) as f64 / (1u64 << 53) as f64) < fraction {
                *v = f64::NAN;
            }
        }
    }
}
