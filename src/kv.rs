//! The keys kefu-edge keeps in KV (`KEFU_KV`): configuration and caches, never the only copy
//! of anything that must not be lost.

/// The merchant's rules document (`PUT /api/rules`).
pub const RULES: &str = "rules";
/// The last `getonlinekflist` answer, refreshed by the cron.
pub const ONLINE_AGENTS: &str = "kf_online";
/// The WeChat access_token and its expiry.
pub const ACCESS_TOKEN: &str = "wechat_access_token";
/// Queue messages kept here while D1 is unusable (`parked:` + a hash of the message), until
/// `POST /api/parked/replay` puts them back on the queue.
pub const PARKED_PREFIX: &str = "parked:";
/// Set (for a few minutes) once staff were told D1 is unusable, so an outage alerts once.
pub const OUTAGE_ALERTED: &str = "outage_alerted";

/// Where a message is parked: the same message always lands on the same key.
pub fn parked_key(message: &str) -> String {
    use sha1::{Digest, Sha1};
    format!(
        "{PARKED_PREFIX}{}",
        crate::wechat::crypto::hex(&Sha1::digest(message.as_bytes()))
    )
}
