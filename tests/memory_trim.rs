//! `release_file_pages` drops the mappings of read-only segments only: the process
//! keeps working, relocated data (vtables, the GOT, statics holding pointers) keeps its
//! values, and the file-backed part of the RSS goes down.
//!
//! One test in its own binary, so no other test faults pages in meanwhile.

use nodecast::forecast::{forecast, ModelKind, SeriesInput};
use nodecast::memory::release_file_pages;

fn rss_file_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssFile:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssFile in /proc/self/status")
}

trait Shape {
    fn area(&self) -> f64;
}
struct Square(f64);
impl Shape for Square {
    fn area(&self) -> f64 {
        self.0 * self.0
    }
}
static SHAPES: &[&(dyn Shape + Sync)] = &[&Square(3.0)];

fn a_forecast() -> Vec<f64> {
    let values: Vec<f64> = (0..2016)
        .map(|i| 50.0 + 10.0 * (i as f64 * std::f64::consts::TAU / 288.0).sin() + (i % 7) as f64)
        .collect();
    let input = SeriesInput {
        values: &values,
        step_secs: 300.0,
        seasons: None,
    };
    let out = forecast(&input, 288, 0.95, ModelKind::Auto).expect("forecast");
    let mut v = out.forecast.point.clone();
    v.extend(out.forecast.intervals.expect("intervals").upper);
    v
}

#[test]
fn read_only_pages_are_released_and_everything_still_works() {
    let before_values = a_forecast();
    let resident = rss_file_kib();
    let advised = release_file_pages();
    let after_trim = rss_file_kib();
    // The test binary's code alone is megabytes; nearly all of it was resident.
    assert!(advised > 1 << 20, "advised only {advised} bytes");
    assert!(
        after_trim + 1024 < resident,
        "RssFile {resident} kB -> {after_trim} kB: nothing was released"
    );
    // Dynamic dispatch through relocated vtables, formatting, allocation and the
    // whole forecast path run again from re-faulted pages and give the same numbers.
    assert_eq!(SHAPES[0].area(), 9.0);
    assert_eq!(format!("{:>6.2}", SHAPES[0].area()), "  9.00");
    for _ in 0..3 {
        assert_eq!(a_forecast(), before_values);
        release_file_pages();
    }
    // The panic is expected; keep its message out of the test output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let err = std::panic::catch_unwind(|| {
        let v: Vec<u8> = Vec::new();
        v[1]
    });
    std::panic::set_hook(hook);
    assert!(err.is_err(), "unwinding after a release must still work");
}
