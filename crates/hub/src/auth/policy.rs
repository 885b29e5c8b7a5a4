//! The sign-in rules, pure (time passed in): when a session has expired and when an account
//! is locked out after failed sign-ins. Configured under `[auth]` in the hub's TOML.

use serde::Deserialize;
use store::SessionRow;

/// Lock-out and session lifetimes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Failed sign-ins within `lockout_window_s` that lock an account (its name) out.
    pub lockout_failures: u32,
    /// The window failures are counted in, seconds.
    pub lockout_window_s: i64,
    /// A session unused this long has ended, seconds.
    pub session_idle_s: i64,
    /// A session this old has ended however busy, seconds.
    pub session_absolute_s: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            lockout_failures: 5,
            lockout_window_s: 15 * 60,
            session_idle_s: 30 * 60,
            session_absolute_s: 12 * 60 * 60,
        }
    }
}

impl AuthConfig {
    /// Checks the values the types do not.
    pub fn validate(&self) -> Result<(), String> {
        if self.lockout_failures == 0 || self.lockout_window_s <= 0 {
            return Err(format!(
                "[auth] lockout_failures = {}, lockout_window_s = {}: expected both > 0",
                self.lockout_failures, self.lockout_window_s
            ));
        }
        if self.session_idle_s <= 0 || self.session_absolute_s < self.session_idle_s {
            return Err(format!(
                "[auth] session_idle_s = {}, session_absolute_s = {}: expected 0 < idle <= absolute",
                self.session_idle_s, self.session_absolute_s
            ));
        }
        Ok(())
    }

    /// Whether `session` is still live at `now_ms`.
    pub fn session_live(&self, session: &SessionRow, now_ms: i64) -> bool {
        now_ms - session.last_seen_ms < self.session_idle_s * 1000
            && now_ms - session.created_ms < self.session_absolute_s * 1000
    }

    /// Failures after this time are counted at `now_ms`.
    pub fn window_start(&self, now_ms: i64) -> i64 {
        now_ms - self.lockout_window_s * 1000
    }

    /// With failures at `failures` (ascending, within the window), how many ms until a
    /// sign-in is allowed again, or `None` if it is allowed now.
    pub fn locked_for_ms(&self, failures: &[i64], now_ms: i64) -> Option<i64> {
        let limit = self.lockout_failures as usize;
        let counted: Vec<i64> = failures
            .iter()
            .copied()
            .filter(|&t| t > self.window_start(now_ms))
            .collect();
        if counted.len() < limit {
            return None;
        }
        // Allowed again once all but limit - 1 of them have left the window.
        let leaves = counted[counted.len() - limit] + self.lockout_window_s * 1000;
        Some((leaves - now_ms).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_ms: i64, last_seen_ms: i64) -> SessionRow {
        SessionRow {
            id_hash: String::new(),
            name: "ann".into(),
            csrf: String::new(),
            created_ms,
            last_seen_ms,
        }
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let config = AuthConfig::default();
        let minute = 60_000;
        assert!(config.session_live(&session(0, 0), 29 * minute));
        assert!(!config.session_live(&session(0, 0), 30 * minute));
        let busy = session(0, 12 * 60 * minute - minute);
        assert!(
            !config.session_live(&busy, 12 * 60 * minute),
            "absolute limit"
        );
        assert!(config.session_live(&busy, 12 * 60 * minute - 1));
    }

    #[test]
    fn the_fifth_failure_in_the_window_locks_until_the_first_leaves() {
        let config = AuthConfig::default();
        let minute = 60_000;
        let four = [0, minute, 2 * minute, 3 * minute];
        assert_eq!(config.locked_for_ms(&four, 4 * minute), None);
        let five = [0, minute, 2 * minute, 3 * minute, 4 * minute];
        assert_eq!(config.locked_for_ms(&five, 4 * minute), Some(11 * minute));
        assert_eq!(
            config.locked_for_ms(&five, 15 * minute),
            None,
            "the first left"
        );
        assert!(AuthConfig::default().validate().is_ok());
        let bad = AuthConfig {
            lockout_failures: 0,
            ..AuthConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
