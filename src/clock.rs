//! The inspection's clock: timestamps as Kubernetes writes them (RFC 3339).

pub use jiff::Timestamp;

/// Parses an RFC 3339 timestamp (`2026-11-25T02:00:00Z`, fractional seconds and offsets too).
pub fn parse(text: &str) -> Option<Timestamp> {
    text.trim().parse().ok()
}

/// The current time, to the second.
pub fn now() -> Timestamp {
    truncate(Timestamp::now())
}

/// Drops sub-second precision.
pub fn truncate(ts: Timestamp) -> Timestamp {
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

/// Formats a timestamp as RFC 3339 in UTC, to the second.
pub fn format(ts: Timestamp) -> String {
    truncate(ts).to_string()
}

/// Whole seconds from `earlier` to `later` (negative when `later` is before `earlier`).
pub fn seconds_between(earlier: Timestamp, later: Timestamp) -> i64 {
    later.as_second() - earlier.as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse("2026-11-25T02:00:00.123456Z").unwrap();
        assert_eq!(format(t), "2026-11-25T02:00:00Z");
        assert_eq!(parse("2026-11-25T03:00:00+01:00"), parse("2026-11-25T02:00:00Z"));
        assert!(parse("yesterday").is_none());
        assert_eq!(seconds_between(parse("2026-11-25T02:00:00Z").unwrap(), t), 0);
    }
}
