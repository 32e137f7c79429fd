//! Keep the concurrency bound within the open-file limit: each probe in flight
//! holds a socket (and a resolver may hold another), so 64 probes under a soft
//! limit of 64 files would fail with "too many open files" instead of probing.

/// Files kept free for the store, logs, stdio and the runtime.
const RESERVED: u64 = 32;

/// Raise the soft `RLIMIT_NOFILE` towards the hard limit, then return the
/// largest concurrency that fits (at least 1, at most `wanted`).
pub fn fit_concurrency(wanted: usize) -> usize {
    let limit = raise_nofile();
    match limit {
        Some(files) => {
            let fits = (files.saturating_sub(RESERVED) / 2).max(1);
            wanted.min(usize::try_from(fits).unwrap_or(usize::MAX))
        }
        None => wanted,
    }
}

#[cfg(unix)]
fn raise_nofile() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; no other memory is touched.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    // macOS refuses soft limits above OPEN_MAX even when the hard limit is
    // "unlimited"; 10240 is accepted everywhere and plenty for 4096 probes.
    let target = lim.rlim_max.min(10_240);
    if lim.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = target;
        }
    }
    // rlim_t is u64 on Linux and macOS but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    Some(lim.rlim_cur as u64)
}

#[cfg(not(unix))]
fn raise_nofile() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_above_wanted_nor_zero() {
        assert!(fit_concurrency(8) <= 8);
        assert!(fit_concurrency(8) >= 1);
        assert_eq!(fit_concurrency(1), 1);
    }
}
