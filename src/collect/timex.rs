//! `timex`: the kernel's NTP state from adjtimex(2), as node_exporter's timex
//! collector (node-mixin's NodeClockSkewDetected and NodeClockNotSynchronising
//! read `node_timex_offset_seconds`, `_sync_status` and `_maxerror_seconds`).
//!
//! A syscall, not a file: it reports the clock of the kernel we run on, which
//! in a container is the host's, so it does not follow `--path.*`.

use super::{CollectError, Collector, Family, Kind, Roots};

pub struct Timex;

pub fn build(_: &super::CollectOptions) -> Box<dyn Collector> {
    Box::new(Timex)
}

/// The fields of `struct timex` we export, plus adjtimex's return value
/// (the clock state, `TIME_ERROR` when unsynchronised).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    pub state: i32,
    pub offset: i64,
    pub freq: i64,
    pub maxerror: i64,
    pub esterror: i64,
    pub status: i32,
    pub constant: i64,
    pub tick: i64,
    pub tai: i32,
}

/// Read the kernel's state without changing it (`modes = 0`, allowed unprivileged).
pub fn read() -> Result<Reading, CollectError> {
    // SAFETY: timex is plain old data; all-zero is a valid value and means
    // "change nothing"; adjtimex only writes into the struct we own.
    let mut t: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut t) };
    if state < 0 {
        let e = std::io::Error::last_os_error();
        let hint = if e.raw_os_error() == Some(libc::EPERM) {
            " (a seccomp filter denies it, e.g. systemd's ProtectClock=yes; allow adjtimex)"
        } else {
            ""
        };
        return Err(CollectError::Other(format!("adjtimex: {e}{hint}")));
    }
    Ok(Reading {
        state,
        offset: t.offset as i64,
        freq: t.freq as i64,
        maxerror: t.maxerror as i64,
        esterror: t.esterror as i64,
        status: t.status,
        constant: t.constant as i64,
        tick: t.tick as i64,
        tai: t.tai,
    })
}

/// Families in node_exporter's units: see adjtimex(2), NOTES, for the scaled
/// ppm (16-bit fraction) of `freq`, and `STA_NANO` for whether `offset` is in
/// ns or µs. The eight `node_timex_pps_*` series are left out: they describe
/// pulse-per-second hardware, are 0 without it, and nothing in node-mixin reads them.
pub fn families(r: &Reading) -> Vec<Family> {
    const PPM16FRAC: f64 = 1_000_000.0 * 65536.0;
    const MICRO: f64 = 1e6;
    let divisor = if r.status & libc::STA_NANO != 0 {
        1e9
    } else {
        MICRO
    };
    let synced = if r.state == libc::TIME_ERROR {
        0.0
    } else {
        1.0
    };
    let g = |n: &str, h: &str, v: f64| Family::single(n, h, Kind::Gauge, v);
    vec![
        g(
            "node_timex_sync_status",
            "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
            synced,
        ),
        g(
            "node_timex_offset_seconds",
            "Time offset in between local system and reference clock.",
            r.offset as f64 / divisor,
        ),
        g(
            "node_timex_frequency_adjustment_ratio",
            "Local clock frequency adjustment.",
            1.0 + r.freq as f64 / PPM16FRAC,
        ),
        g(
            "node_timex_maxerror_seconds",
            "Maximum error in seconds.",
            r.maxerror as f64 / MICRO,
        ),
        g(
            "node_timex_estimated_error_seconds",
            "Estimated error in seconds.",
            r.esterror as f64 / MICRO,
        ),
        g(
            "node_timex_status",
            "Value of the status array bits.",
            r.status as f64,
        ),
        g(
            "node_timex_loop_time_constant",
            "Phase-locked loop time constant.",
            r.constant as f64,
        ),
        g(
            "node_timex_tick_seconds",
            "Seconds between clock ticks.",
            r.tick as f64 / MICRO,
        ),
        g(
            "node_timex_tai_offset_seconds",
            "International Atomic Time (TAI) offset.",
            r.tai as f64,
        ),
    ]
}

impl Collector for Timex {
    fn name(&self) -> &'static str {
        "timex"
    }

    fn collect(&mut self, _roots: &Roots, out: &mut Vec<Family>) -> Result<(), CollectError> {
        out.extend(families(&read()?));
        Ok(())
    }
}
