//! The kernel's NTP synchronisation state, read with `adjtimex(2)`: the one
//! place kubeeye calls libc unsafely (the crate denies `unsafe_code`
//! everywhere else). The call only reads (`modes` 0), which needs no
//! privilege; the node's clock is not namespaced, so the pod sees the host's.
#![allow(unsafe_code)]

/// Whether the kernel's clock is NTP-synchronised; `None` when it cannot be asked.
pub(super) fn synchronized() -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `timex` is a plain C struct of integers, for which all zero bytes
        // are a valid value (and `modes` 0 asks for no change).
        let mut timex: libc::timex = unsafe { std::mem::zeroed() };
        // SAFETY: `timex` is a valid, exclusively borrowed `struct timex` for the
        // duration of the call; with `modes` 0 the kernel only writes into it.
        let state = unsafe { libc::adjtimex(&mut timex) };
        judged(state, timex.status)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// What `adjtimex` answered, as a synchronisation state: the clock state
/// `TIME_ERROR` or the status bit `STA_UNSYNC` mean not synchronised (no
/// NTP daemon disciplines the clock, or it lost its servers); -1 is a failed call.
#[cfg(target_os = "linux")]
fn judged(state: libc::c_int, status: libc::c_int) -> Option<bool> {
    match state {
        -1 => None,
        libc::TIME_ERROR => Some(false),
        _ => Some(status & libc::STA_UNSYNC == 0),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_state_reads_as_synchronised_or_not() {
        assert_eq!(judged(libc::TIME_OK, 0), Some(true));
        assert_eq!(judged(libc::TIME_OK, libc::STA_PLL | libc::STA_UNSYNC), Some(false));
        assert_eq!(judged(libc::TIME_ERROR, 0), Some(false));
        assert_eq!(judged(-1, 0), None);
        // This machine answers one way or the other: the call itself works unprivileged.
        assert!(synchronized().is_some());
    }
}
