//! NAB's labelled anomaly windows and window-level precision/recall: a window is
//! detected when any alarm falls inside it; alarms outside every window are false
//! positives, counted once per episode (alarms closer than `episode_gap` buckets).

use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::path::Path;

/// Windows per file name, as `[start, end]` Unix seconds (inclusive).
pub type Windows = BTreeMap<String, Vec<(i64, i64)>>;

fn parse_time(s: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(s.trim()).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64)
}

/// Reads NAB's `combined_windows.json` shape: `{"file.csv": [["start", "end"], …]}`.
pub fn read_windows(path: &Path) -> Result<Windows, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let raw: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Windows::new();
    for (file, ws) in raw {
        let mut v = Vec::new();
        for w in ws {
            let [a, b] = w.as_slice() else {
                return Err(format!(
                    "{}: {file}: a window needs [start, end]",
                    path.display()
                ));
            };
            let (Some(a), Some(b)) = (parse_time(a), parse_time(b)) else {
                return Err(format!("{}: {file}: cannot parse {w:?}", path.display()));
            };
            v.push((a.min(b), a.max(b)));
        }
        out.insert(file, v);
    }
    Ok(out)
}

/// Window-level counts, summed over series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub detected: usize,
    pub missed: usize,
    pub false_episodes: usize,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.detected += o.detected;
        self.missed += o.missed;
        self.false_episodes += o.false_episodes;
    }
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(self.detected, self.detected + self.false_episodes)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.detected + self.missed)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Scores alarms (bucket indices, ascending) against windows given as inclusive index
/// ranges. Only buckets at or after `scored_from` count (NAB's probationary period);
/// windows ending before it are left out.
pub fn count(
    alarms: &[usize],
    windows: &[(usize, usize)],
    scored_from: usize,
    episode_gap: usize,
) -> Counts {
    let mut c = Counts::default();
    for &(a, b) in windows.iter().filter(|w| w.1 >= scored_from) {
        if alarms.iter().any(|&i| i >= a.max(scored_from) && i <= b) {
            c.detected += 1;
        } else {
            c.missed += 1;
        }
    }
    let mut last: Option<usize> = None;
    for &i in alarms.iter().filter(|&&i| i >= scored_from) {
        if windows.iter().any(|&(a, b)| i >= a && i <= b) {
            continue;
        }
        if last.is_none_or(|l| i - l > episode_gap) {
            c.false_episodes += 1;
        }
        last = Some(i);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_detected_once_and_false_alarms_grouped() {
        let w = [(10, 20), (50, 60)];
        // Two alarms in the first window, none in the second; outside: 30, 31, 33
        // (one episode with gap 2), 40 (another), 5 (before scoring starts).
        let c = count(&[5, 12, 15, 30, 31, 33, 40], &w, 8, 2);
        assert_eq!(
            c,
            Counts {
                detected: 1,
                missed: 1,
                false_episodes: 2
            }
        );
        assert!((c.precision() - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 0.5).abs() < 1e-12);
        assert!((c.f1() - 0.4).abs() < 1e-12);
        assert_eq!(count(&[], &w, 0, 2).f1(), 0.0);
    }

    #[test]
    fn nab_window_file_parses() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        std::fs::write(
            &p,
            r#"{"a.csv": [["2014-02-26 13:45:00.000000", "2014-02-27 06:25:00.000000"]]}"#,
        )
        .unwrap();
        let w = read_windows(&p).unwrap();
        assert_eq!(w["a.csv"], vec![(1_393_422_300, 1_393_482_300)]);
        std::fs::write(&p, r#"{"a.csv": [["2014-02-26"]]}"#).unwrap();
        assert!(read_windows(&p).is_err());
    }
}
