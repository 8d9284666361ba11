//! Input files: M4's wide CSVs and NAB-style `timestamp,value` CSVs put on a regular grid.

use std::{fmt, path::Path};

/// A bad input file: which file, which line (1-based, 0 = whole file) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        }
    }
}

impl std::error::Error for InputError {}

fn err(path: &Path, line: usize, reason: impl Into<String>) -> InputError {
    InputError {
        file: path.display().to_string(),
        line,
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<String, InputError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| err(path, 0, format!("cannot read: {e}")))?;
    if text.trim().is_empty() {
        return Err(err(path, 0, "file is empty"));
    }
    Ok(text)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// One M4 series: id and values (the wide rows end in empty cells).
pub type M4Series = (String, Vec<f64>);

/// Reads an M4 `Hourly-train.csv`/`Hourly-test.csv` (header, then `"id","v1",…`).
pub fn read_m4(path: &Path) -> Result<Vec<M4Series>, InputError> {
    let text = read(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let mut cells = line.split(',');
        let id = unquote(cells.next().unwrap_or_default()).to_string();
        if id.is_empty() {
            return Err(err(path, i + 1, "missing series id in the first column"));
        }
        let mut values = Vec::new();
        for (j, c) in cells.enumerate() {
            let c = unquote(c);
            if c.is_empty() || c == "NA" {
                continue;
            }
            let v: f64 = c.parse().map_err(|_| {
                err(
                    path,
                    i + 1,
                    format!("column {}: cannot parse {c:?} as a number", j + 2),
                )
            })?;
            values.push(v);
        }
        if values.is_empty() {
            return Err(err(path, i + 1, format!("series {id} has no values")));
        }
        out.push((id, values));
    }
    if out.is_empty() {
        return Err(err(path, 0, "no series after the header"));
    }
    Ok(out)
}

/// A `timestamp,value` series put on a regular grid (NaN where no sample fell).
#[derive(Debug, Clone)]
pub struct Grid {
    /// Unix seconds of the first grid point.
    pub start: i64,
    pub step_secs: i64,
    pub values: Vec<f64>,
}

impl Grid {
    pub fn timestamp(&self, i: usize) -> i64 {
        self.start + self.step_secs * i as i64
    }
}

/// Parses `2014-02-14 14:30:00`, RFC 3339, or Unix seconds.
fn parse_time(s: &str) -> Option<i64> {
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v as i64);
    }
    let t = humantime::parse_rfc3339_weak(s).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_secs() as i64)
}

/// Largest regular grid a CSV may expand to (about 95 years at 5 minutes).
pub const MAX_GRID_POINTS: usize = 10_000_000;

/// Reads a NAB-style CSV with a header naming `timestamp` and `value` columns. The step
/// is the median spacing; samples snap to the nearest grid point (later ones win).
pub fn read_timestamp_value(path: &Path) -> Result<Grid, InputError> {
    read_timestamp_value_on(path, None)
}

/// As [`read_timestamp_value`], on a grid of `step_secs` when given instead of the
/// median spacing.
pub fn read_timestamp_value_on(path: &Path, step_secs: Option<i64>) -> Result<Grid, InputError> {
    let text = read(path)?;
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next().ok_or_else(|| err(path, 1, "missing header"))?;
    let cols: Vec<String> = header
        .split(',')
        .map(|c| unquote(c).to_ascii_lowercase())
        .collect();
    let ti = cols
        .iter()
        .position(|c| c == "timestamp" || c == "time")
        .ok_or_else(|| err(path, 1, "missing column \"timestamp\" in the header"))?;
    let vi = cols
        .iter()
        .position(|c| c == "value")
        .ok_or_else(|| err(path, 1, "missing column \"value\" in the header"))?;
    let mut pts: Vec<(i64, f64)> = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(unquote).collect();
        let (Some(ts), Some(vs)) = (cells.get(ti), cells.get(vi)) else {
            return Err(err(
                path,
                i + 1,
                format!("expected {} columns, found {}", cols.len(), cells.len()),
            ));
        };
        let t = parse_time(ts)
            .ok_or_else(|| err(path, i + 1, format!("cannot parse timestamp {ts:?}")))?;
        let v = if vs.is_empty() || vs.eq_ignore_ascii_case("nan") {
            f64::NAN
        } else {
            vs.parse::<f64>().map_err(|_| {
                err(
                    path,
                    i + 1,
                    format!("cannot parse value {vs:?} as a number"),
                )
            })?
        };
        pts.push((t, v));
    }
    if pts.len() < 2 {
        return Err(err(path, 0, "need at least two samples"));
    }
    pts.sort_by_key(|p| p.0);
    let mut gaps: Vec<i64> = pts
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|d| *d > 0)
        .collect();
    if gaps.is_empty() {
        return Err(err(path, 0, "all samples share one timestamp"));
    }
    gaps.sort_unstable();
    let step = step_secs.filter(|s| *s > 0).unwrap_or(gaps[gaps.len() / 2]);
    let start = pts[0].0;
    let span_steps = (pts[pts.len() - 1].0 - start) as f64 / step as f64;
    // A few stray timestamps decades apart would otherwise ask for a grid of billions.
    if span_steps > MAX_GRID_POINTS as f64 {
        return Err(err(path, 0, format!("timestamps span {span_steps:.0} steps of {step} s; at most {MAX_GRID_POINTS} supported")));
    }
    let n = span_steps.round() as usize + 1;
    let mut values = vec![f64::NAN; n];
    for (t, v) in pts {
        let i = (((t - start) as f64 / step as f64).round() as usize).min(n - 1);
        values[i] = v;
    }
    Ok(Grid {
        start,
        step_secs: step,
        values,
    })
}
