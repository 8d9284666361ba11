//! Guards the store against the wall clock stepping far forward.
//!
//! The store's "now" is its newest sample, so one collection stamped a day in
//! the future would make retention delete a day of history, and once the clock
//! came back every append would be dropped as out of order until real time
//! caught up. Samples are therefore held (served live, not stored) while the
//! wall clock runs ahead of the boot clock by more than [`STEP_LIMIT_MS`]; a
//! step that persists for [`CONFIRM_MS`] is taken as a real correction (an NTP
//! sync after booting with a stale clock). Steps backwards are the store's
//! business: it drops samples at or before a series' newest slot.

/// A step smaller than this is stored as is: it costs at most this much of the
/// oldest history, and NTP steps are normally far smaller.
pub const STEP_LIMIT_MS: i64 = 5 * 60_000;
/// How long a forward step must persist before it is believed.
pub const CONFIRM_MS: i64 = 15 * 60_000;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Store,
    /// The wall clock is this far ahead of where the boot clock says it should be.
    Hold {
        ahead_ms: i64,
        first: bool,
    },
}

/// Compares successive (wall, boot) clock readings; pure, so the rule is unit-tested.
#[derive(Default)]
pub struct ClockGuard {
    /// The last reading whose wall time was believed.
    trusted: Option<(i64, i64)>,
    /// Boot time at which the current forward step was first seen.
    suspect_since: Option<i64>,
}

impl ClockGuard {
    pub fn check(&mut self, wall_ms: i64, boot_ms: i64) -> Verdict {
        let Some((w0, b0)) = self.trusted else {
            self.trusted = Some((wall_ms, boot_ms));
            return Verdict::Store;
        };
        let ahead_ms = (wall_ms - w0) - (boot_ms - b0);
        let confirmed = self
            .suspect_since
            .is_some_and(|since| boot_ms - since >= CONFIRM_MS);
        if ahead_ms <= STEP_LIMIT_MS || confirmed {
            self.trusted = Some((wall_ms, boot_ms));
            self.suspect_since = None;
            return Verdict::Store;
        }
        let first = self.suspect_since.is_none();
        self.suspect_since.get_or_insert(boot_ms);
        Verdict::Hold { ahead_ms, first }
    }
}

/// Milliseconds on CLOCK_BOOTTIME: monotonic, and unlike `Instant` it counts
/// time suspended, so a resumed VM or laptop is not mistaken for a clock step.
pub fn boot_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe {
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts);
    }
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn steady_clock_and_small_steps_are_stored() {
        let mut g = ClockGuard::default();
        assert_eq!(g.check(1_000 * MIN, 0), Verdict::Store);
        assert_eq!(g.check(1_001 * MIN, MIN), Verdict::Store);
        // NTP stepping 4 minutes forward is within the limit.
        assert_eq!(g.check(1_006 * MIN, 2 * MIN), Verdict::Store);
        // Backwards is never held here.
        assert_eq!(g.check(900 * MIN, 3 * MIN), Verdict::Store);
    }

    #[test]
    fn a_forward_step_is_held_until_it_comes_back() {
        let mut g = ClockGuard::default();
        g.check(1_000 * MIN, 0);
        let day = 1_440 * MIN;
        assert_eq!(
            g.check(1_001 * MIN + day, MIN),
            Verdict::Hold {
                ahead_ms: day,
                first: true
            }
        );
        assert!(matches!(
            g.check(1_002 * MIN + day, 2 * MIN),
            Verdict::Hold { first: false, .. }
        ));
        // The step is corrected: compared with the last trusted reading, on time.
        assert_eq!(g.check(1_003 * MIN, 3 * MIN), Verdict::Store);
        // A later step is reported as new.
        assert!(matches!(
            g.check(1_004 * MIN + day, 4 * MIN),
            Verdict::Hold { first: true, .. }
        ));
    }

    #[test]
    fn a_forward_step_that_persists_is_believed() {
        let mut g = ClockGuard::default();
        g.check(0, 0);
        let year = 525_600 * MIN;
        for m in 1..15 {
            assert!(matches!(
                g.check(year + m * MIN, m * MIN),
                Verdict::Hold { .. }
            ));
        }
        assert_eq!(g.check(year + 16 * MIN, 16 * MIN), Verdict::Store);
        assert_eq!(g.check(year + 17 * MIN, 17 * MIN), Verdict::Store);
    }
}
