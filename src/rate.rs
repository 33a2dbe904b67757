//! Outbound targets that limit how often they may be called. A target declares its limit; the
//! sends are counted in D1 (`rate_sends`), so every isolate shares one window.
//!
//! The window is the same span to count and to wait: a send at `t` counts while
//! `now - window < t`, and a caller refused a slot waits until the oldest counted send leaves
//! the window. So no span of `window_secs` ever holds more than `max` sends.
//!
//! A target that answers 429 is paused (`target_pauses`): no slot until the pause ends, each
//! pause in a row twice the last, so a burst of refusals never grows into a lock-out.

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

/// CareSoft allows 15 requests a second. The clock here counts whole seconds, so the window is
/// two of them: any one real second then overlaps at most two counted seconds, which together
/// hold at most 15 sends.
pub const CARESOFT_ZNS: RateLimit = RateLimit {
    target: "caresoft_zns",
    max: 15,
    window_secs: 2,
};

/// The first pause after a 429, doubled for each further one in a row, up to the cap.
const PAUSE_BASE_SECS: i64 = 2;
const PAUSE_MAX_SECS: i64 = 300;

/// How long sends are kept after they leave every window.
pub const KEEP_SENDS_SECS: i64 = 3600;

impl RateLimit {
    /// Takes a slot if one is free: changes one row when it did, none when the window is full
    /// or the target is paused.
    pub fn take(&self, now: i64) -> Statement {
        Statement::new(
            "INSERT INTO rate_sends (target, at) SELECT ?1, ?2 \
             WHERE (SELECT COUNT(*) FROM rate_sends WHERE target = ?1 AND at > ?2 - ?3) < ?4 \
               AND NOT EXISTS (SELECT 1 FROM target_pauses WHERE target = ?1 AND until > ?2)",
            vec![
                self.target.into(),
                now.into(),
                self.window_secs.into(),
                self.max.into(),
            ],
        )
    }

    /// What keeps the target from a slot, as `{"at": <oldest send in the window>, "paused_until": …}`.
    pub fn blocked(&self, now: i64) -> Statement {
        Statement::new(
            "SELECT (SELECT MIN(at) FROM rate_sends WHERE target = ?1 AND at > ?2 - ?3) AS at, \
                    (SELECT until FROM target_pauses WHERE target = ?1 AND until > ?2) AS paused_until",
            vec![self.target.into(), now.into(), self.window_secs.into()],
        )
    }

    /// Seconds until a slot frees: the end of a pause, or the oldest counted send leaving the
    /// window (`None`: it already left, try again in a second).
    pub fn wait_secs(&self, blocked: &Blocked, now: i64) -> u32 {
        if let Some(until) = blocked.paused_until.filter(|&until| until > now) {
            return (until - now).clamp(1, PAUSE_MAX_SECS) as u32;
        }
        let wait = blocked.at.map_or(1, |at| at + self.window_secs - now);
        wait.clamp(1, self.window_secs.max(1)) as u32
    }

    /// The target answered 429: pause it for as long as it asked, and at least twice the last
    /// pause if the one before was a 429 too.
    pub fn pause(&self, now: i64, retry_after: Option<u32>) -> Statement {
        Statement::new(
            "INSERT INTO target_pauses (target, until, strikes) VALUES (?1, ?2 + MAX(?3, ?4), 1) \
             ON CONFLICT (target) DO UPDATE SET strikes = strikes + 1, \
               until = ?2 + MAX(?3, MIN(?5, ?4 << strikes))",
            vec![
                self.target.into(),
                now.into(),
                i64::from(retry_after.unwrap_or(0))
                    .min(PAUSE_MAX_SECS)
                    .into(),
                PAUSE_BASE_SECS.into(),
                PAUSE_MAX_SECS.into(),
            ],
        )
    }

    /// The target answered: the 429s in a row are over.
    pub fn resume(&self) -> Statement {
        Statement::new(
            "DELETE FROM target_pauses WHERE target = ?",
            vec![self.target.into()],
        )
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Blocked {
    pub at: Option<i64>,
    pub paused_until: Option<i64>,
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
        let oldest = |at| Blocked {
            at,
            paused_until: None,
        };
        assert_eq!(WECOM_ROBOT.wait_secs(&oldest(Some(1000)), 1030), 30);
        assert_eq!(WECOM_ROBOT.wait_secs(&oldest(Some(1000)), 1059), 1);
        // Already out of the counted span (a race): try again soon, never at once.
        assert_eq!(WECOM_ROBOT.wait_secs(&oldest(Some(1000)), 1060), 1);
        assert_eq!(WECOM_ROBOT.wait_secs(&oldest(None), 1060), 1);
        assert_eq!(
            WECOM_ROBOT.wait_secs(&oldest(Some(5000)), 1000),
            60,
            "a clock step back"
        );
        assert_eq!(CARESOFT_ZNS.wait_secs(&oldest(Some(1000)), 1000), 2);
    }

    #[test]
    fn a_pause_outlasts_the_window() {
        let paused = |until| Blocked {
            at: Some(1000),
            paused_until: Some(until),
        };
        assert_eq!(CARESOFT_ZNS.wait_secs(&paused(1040), 1000), 40);
        assert_eq!(
            CARESOFT_ZNS.wait_secs(&paused(1000), 1000),
            2,
            "over: the window counts"
        );
        assert_eq!(CARESOFT_ZNS.wait_secs(&paused(99_999), 1000), 300, "capped");
    }
}
