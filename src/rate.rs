//! Outbound targets that limit how often they may be called. A target declares its limit; the
//! sends are counted in D1 (`rate_sends`), so every isolate shares one window.
//!
//! The window is the same span to count and to wait: a send at `t` counts while
//! `now - window < t`, and a caller refused a slot waits until the oldest counted send leaves
//! the window. So no span of `window_secs` ever holds more than `max` sends.

use crate::sql::Statement;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The `deliveries.target` it applies to.
    pub target: &'static str,
    pub max: i64,
    pub window_secs: i64,
}

/// The WeCom group robot accepts 20 messages a minute; more are refused with errcode 45009.
pub const WECOM_ROBOT: RateLimit = RateLimit {
    target: "wecom_robot",
    max: 20,
    window_secs: 60,
};

/// How long sends are kept after they leave every window.
pub const KEEP_SENDS_SECS: i64 = 3600;

impl RateLimit {
    /// Takes a slot if one is free: changes one row when it did, none when the window is full.
    pub fn take(&self, now: i64) -> Statement {
        Statement::new(
            "INSERT INTO rate_sends (target, at) SELECT ?1, ?2 \
             WHERE (SELECT COUNT(*) FROM rate_sends WHERE target = ?1 AND at > ?2 - ?3) < ?4",
            vec![
                self.target.into(),
                now.into(),
                self.window_secs.into(),
                self.max.into(),
            ],
        )
    }

    /// The oldest send still in the window, as `{"at": …}`.
    pub fn oldest(&self, now: i64) -> Statement {
        Statement::new(
            "SELECT MIN(at) AS at FROM rate_sends WHERE target = ? AND at > ?",
            vec![self.target.into(), (now - self.window_secs).into()],
        )
    }

    /// Seconds until a slot frees, given the oldest send in the window (`None`: it already
    /// left, try again in a second).
    pub fn wait_secs(&self, oldest: Option<i64>, now: i64) -> u32 {
        let wait = oldest.map_or(1, |at| at + self.window_secs - now);
        wait.clamp(1, self.window_secs.max(1)) as u32
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct Oldest {
    pub at: Option<i64>,
}

/// Forgets sends that can no longer count in any window.
pub fn forget_old_sends(now: i64) -> Statement {
    Statement::new(
        "DELETE FROM rate_sends WHERE at < ?",
        vec![(now - KEEP_SENDS_SECS).into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_the_oldest_send_leaves_the_window_it_was_counted_in() {
        assert_eq!(WECOM_ROBOT.wait_secs(Some(1000), 1030), 30);
        assert_eq!(WECOM_ROBOT.wait_secs(Some(1000), 1059), 1);
        // Already out of the counted span (a race): try again soon, never at once.
        assert_eq!(WECOM_ROBOT.wait_secs(Some(1000), 1060), 1);
        assert_eq!(WECOM_ROBOT.wait_secs(None, 1060), 1);
        assert_eq!(
            WECOM_ROBOT.wait_secs(Some(5000), 1000),
            60,
            "a clock step back"
        );
    }
}
