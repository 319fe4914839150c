//! Wall-clock time as the records store it: RFC 3339 with milliseconds, and epoch seconds for
//! the TTL attribute.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, captured once so that every attribute of a write agrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instant(SystemTime);

impl Instant {
    pub fn now() -> Self {
        Instant(SystemTime::now())
    }

    pub fn from_epoch_millis(ms: u64) -> Self {
        Instant(UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// `2026-11-22T11:28:09.123Z`.
    pub fn rfc3339(self) -> String {
        humantime::format_rfc3339_millis(self.0).to_string()
    }

    pub fn epoch_seconds(self) -> u64 {
        self.0
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    }

    pub fn epoch_millis(self) -> u64 {
        u64::try_from(
            self.0
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX)
    }

    pub fn plus_days(self, days: u32) -> Self {
        Instant(self.0 + Duration::from_secs(u64::from(days) * 86_400))
    }
}

/// Where "now" comes from: the system clock, or a fixed time (tests: a signed timestamp at
/// exactly the tolerance must not depend on how fast the test runs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    /// Always this many seconds since the epoch.
    Fixed(i64),
}

impl Clock {
    /// Now, in seconds since the epoch.
    pub fn now_s(self) -> i64 {
        match self {
            Clock::System => {
                i64::try_from(Instant::now().epoch_millis() / 1000).unwrap_or(i64::MAX)
            }
            Clock::Fixed(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_adds_days() {
        let t = Instant::from_epoch_millis(1_700_000_000_123);
        assert_eq!(t.rfc3339(), "2023-11-14T22:13:20.123Z");
        assert_eq!(t.plus_days(7).epoch_seconds(), 1_700_000_000 + 7 * 86_400);
    }
}
