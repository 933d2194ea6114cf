//! How a command ended: the process exit code. One enum for every command, so
//! a code means the same thing whichever command returns it (README, "Exit codes").

use crate::report::{Report, Severity};

/// The exit status of `ke`. The numbers are part of the interface: scripts and
/// CronJob alerts read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Inspected (and, for `ke run`, delivered); nothing at or above `--fail-on` / `failOn`.
    Clean = 0,
    /// A finding reached `--fail-on` / `failOn`.
    Findings = 1,
    /// Bad input: config, rules, flags, paths, or no cluster configuration. Nothing was inspected.
    Invalid = 2,
    /// The inspection could not see everything (see the report's coverage), or the cluster is unreachable.
    Incomplete = 3,
    /// A delivery channel failed (`ke run`); the local reports are complete.
    DeliveryFailed = 4,
}

impl ExitStatus {
    /// The exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What a report calls for: an incomplete inspection wins over findings at `fail_on`.
    pub fn of_report(report: &Report, fail_on: Option<Severity>) -> Self {
        if !report.complete {
            ExitStatus::Incomplete
        } else if fail_on.is_some_and(|t| report.fails_at(t)) {
            ExitStatus::Findings
        } else {
            ExitStatus::Clean
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn the_documented_codes() {
        let codes = [
            ExitStatus::Clean,
            ExitStatus::Findings,
            ExitStatus::Invalid,
            ExitStatus::Incomplete,
            ExitStatus::DeliveryFailed,
        ]
        .map(ExitStatus::code);
        assert_eq!(codes, [0, 1, 2, 3, 4]);
    }
}
