//! Running `ke run` on a schedule outside Kubernetes: a Kubernetes-style
//! 5-field cron expression (`0 2 * * *`, `@daily`, Sunday as 0 or 7) in a
//! time zone, one run at a time, until stopped.

use std::str::FromStr;

use croner::Cron;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    tz: TimeZone,
    text: String,
}

impl Schedule {
    /// Parses a CronJob-style schedule; `time_zone` is an IANA name (default UTC).
    pub fn parse(expression: &str, time_zone: Option<&str>) -> Result<Self, String> {
        let text = expression.trim();
        if !text.starts_with('@') && text.split_whitespace().count() != 5 {
            return Err(format!(
                "schedule `{text}` must have 5 fields (minute hour day-of-month month day-of-week), like a CronJob: e.g. \"0 2 * * *\", or @daily / @hourly / @weekly"
            ));
        }
        let cron = Cron::from_str(text).map_err(|e| format!("schedule `{text}`: {e}"))?;
        let tz = match time_zone {
            Some(name) => TimeZone::get(name)
                .map_err(|e| format!("time zone `{name}`: {e} (use an IANA name such as Europe/Berlin)"))?,
            None => TimeZone::UTC,
        };
        let schedule = Schedule { cron, tz, text: text.to_string() };
        // `0 0 31 2 *` parses but never fires: say so now, not at run time.
        schedule.next_after(crate::clock::now()).map_err(|e| format!("{e}: the schedule never fires"))?;
        Ok(schedule)
    }

    /// The next time strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Result<Zoned, String> {
        let now = after.to_zoned(self.tz.clone());
        self.cron.find_next_occurrence(&now, false).map_err(|e| format!("schedule `{}`: {e}", self.text))
    }

    /// The expression as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expr: &str, tz: Option<&str>, after: &str) -> String {
        let s = Schedule::parse(expr, tz).unwrap();
        s.next_after(after.parse().unwrap()).unwrap().timestamp().to_string()
    }

    #[test]
    fn kubernetes_syntax() {
        assert_eq!(next("0 2 * * *", None, "2026-11-25T02:00:00Z"), "2026-11-26T02:00:00Z");
        assert_eq!(next("0 2 * * *", None, "2026-11-25T01:59:00Z"), "2026-11-25T02:00:00Z");
        // Sunday is 0 and 7, as in Kubernetes; 2026-11-29 is a Sunday.
        assert_eq!(next("30 3 * * 0", None, "2026-11-25T00:00:00Z"), "2026-11-29T03:30:00Z");
        assert_eq!(next("30 3 * * 7", None, "2026-11-25T00:00:00Z"), "2026-11-29T03:30:00Z");
        assert_eq!(next("@daily", None, "2026-11-25T10:00:00Z"), "2026-11-26T00:00:00Z");
        assert_eq!(next("*/15 * * * *", None, "2026-11-25T10:07:00Z"), "2026-11-25T10:15:00Z");
    }

    #[test]
    fn time_zones() {
        // 02:00 in Berlin is 01:00 UTC in winter.
        assert_eq!(next("0 2 * * *", Some("Europe/Berlin"), "2026-11-25T02:00:00Z"), "2026-11-26T01:00:00Z");
        assert!(Schedule::parse("0 2 * * *", Some("Mars/Olympus")).is_err());
    }

    #[test]
    fn bad_expressions() {
        assert!(Schedule::parse("0 0 2 * * *", None).unwrap_err().contains("5 fields"));
        assert!(Schedule::parse("61 2 * * *", None).is_err());
        let never = Schedule::parse("0 0 31 2 *", None).map(|_| ()).unwrap_err();
        assert!(never.contains("never fires"), "{never}");
    }
}
