//! `release_file_pages` drops the mappings of read-only segments only: the process
//! keeps working, relocated data (vtables, the GOT, statics holding pointers) keeps its
//! values, and the file-backed part of the RSS goes down.
//!
//! `shed_start_up_code` also drops the binary's page cache that no one maps, and
//! code then faults in page by page (`code_pages_on_demand`); same checks.
//!
//! One test in its own binary, so no other test faults pages in meanwhile.

use nodecast::forecast::{forecast, ModelKind, SeriesInput};
use nodecast::memory::{code_pages_on_demand, release_file_pages, shed_start_up_code};

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

/// Pages of this test binary's file in the page cache (`mincore` on a mapping of it).
fn exe_pages_cached() -> usize {
    let file = std::fs::File::open("/proc/self/exe").expect("open /proc/self/exe");
    let len = file.metadata().expect("stat").len() as usize;
    use std::os::fd::AsRawFd;
    // SAFETY: a private read-only mapping of a file we hold open, unmapped below;
    // mincore writes one byte per page into a vector of that many bytes.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "mmap of the test binary");
        let mut vec = vec![0u8; len.div_ceil(4096)];
        let rc = libc::mincore(p, len, vec.as_mut_ptr());
        libc::munmap(p, len);
        assert_eq!(rc, 0, "mincore");
        vec.iter().filter(|b| **b & 1 == 1).count()
    }
}

fn still_works(before_values: &[f64]) {
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
    still_works(&before_values);

    // Page by page from here on, and the page cache of the binary dropped: fewer
    // of its pages are cached right after, and everything works as before.
    let drops_cache = |what: &str, f: fn()| {
        let cached = exe_pages_cached();
        f();
        let after = exe_pages_cached();
        assert!(
            after < cached,
            "{what}: the binary's cached pages went from {cached} to {after}, nothing was dropped"
        );
    };
    drops_cache("at start", code_pages_on_demand);
    still_works(&before_values);
    drops_cache("after start-up", shed_start_up_code);
    still_works(&before_values);
}
