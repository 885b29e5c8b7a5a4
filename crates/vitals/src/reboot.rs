//! The device reboot rule, shared by the hub's scoring and the store: a sequence number lower
//! than the highest of the device's current boot, on a reading stamped later (device time) than
//! the reading with that highest number, means the device's counter restarted. A redelivery or a
//! late reading is stamped before the newest one, so it is never taken for a reboot.

/// Whether reading `seq` stamped `time_ms` starts a new boot, given the highest sequence number
/// of the current boot and that reading's device time (`None`: nothing seen yet).
pub fn restarts(seq: u64, time_ms: i64, highest: Option<(u64, i64)>) -> bool {
    highest.is_some_and(|(top, top_ms)| seq < top && time_ms > top_ms)
}

#[cfg(test)]
mod tests {
    use super::restarts;

    #[test]
    fn only_a_lower_number_stamped_later_is_a_restart() {
        assert!(restarts(1, 2000, Some((500, 1000))));
        assert!(!restarts(1, 500, Some((500, 1000))), "a late reading");
        assert!(!restarts(501, 2000, Some((500, 1000))), "the next reading");
        assert!(!restarts(500, 2000, Some((500, 1000))), "same number");
        assert!(!restarts(1, 2000, None));
    }
}
