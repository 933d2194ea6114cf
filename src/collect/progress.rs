//! The one line of progress a live inspection prints while it streams.

use std::time::Duration;

/// Progress on stderr while pages stream by, on a terminal only, at most a few times a second.
pub(super) struct Progress {
    enabled: bool,
    /// Pods seen.
    pub(super) pods: usize,
    /// Warning events seen.
    pub(super) events: usize,
    /// Logs read.
    pub(super) logs: usize,
    last: std::time::Instant,
}

impl Progress {
    /// Progress that shows only when stderr is a terminal.
    pub(super) fn new() -> Self {
        use std::io::IsTerminal;
        Progress {
            enabled: std::io::stderr().is_terminal(),
            pods: 0,
            events: 0,
            logs: 0,
            last: std::time::Instant::now(),
        }
    }

    /// Redraws the line, at most every 250 ms.
    pub(super) fn tick(&mut self) {
        if self.enabled && self.last.elapsed() >= Duration::from_millis(250) {
            self.last = std::time::Instant::now();
            eprint!("\rinspecting: {} pods, {} warning events, {} logs read ", self.pods, self.events, self.logs);
        }
    }

    /// Ends the line with the final counts.
    pub(super) fn done(&self) {
        if self.enabled {
            eprintln!("\rinspected: {} pods, {} warning events, {} logs read      ", self.pods, self.events, self.logs);
        }
    }
}
