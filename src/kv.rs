//! The keys kefu-edge keeps in KV (`KEFU_KV`): configuration and caches, never the only copy
//! of anything that must not be lost.

/// The merchant's rules document (`PUT /api/rules`).
pub const RULES: &str = "rules";
/// The last `getonlinekflist` answer, refreshed by the cron.
pub const ONLINE_AGENTS: &str = "kf_online";
/// The WeChat access_token and its expiry.
pub const ACCESS_TOKEN: &str = "wechat_access_token";
/// The WeChat Shop's own access_token (SHOP_APPID) and its expiry: never the OA's.
pub const SHOP_ACCESS_TOKEN: &str = "wechat_shop_access_token";
/// Queue messages kept here while D1 is unusable (`parked:` + a hash of the message), until
/// `POST /api/parked/replay` puts them back on the queue.
pub const PARKED_PREFIX: &str = "parked:";
/// Set (for a few minutes) once staff were told D1 is unusable, so an outage alerts once.
pub const OUTAGE_ALERTED: &str = "outage_alerted";

/// How long an isolate reuses what it read of the rules and the online-agent list. KV itself is
/// eventually consistent (up to a minute across locations), so a few seconds more cost nothing
/// and save KV reads on almost every callback; the inline path (`shell/oa.rs`) and the queue
/// consumer both keep them this long.
pub const ISOLATE_CACHE_SECS: i64 = 10;

/// How long an isolate may answer the queue consumer's read of `key` with what it read before,
/// in seconds: the merchant's rules. Nothing else: an access_token read must be the newest.
pub fn isolate_cache_secs(key: &str) -> Option<i64> {
    (key == RULES).then_some(ISOLATE_CACHE_SECS)
}

/// Where a message is parked: the same message always lands on the same key.
pub fn parked_key(message: &str) -> String {
    use sha1::{Digest, Sha1};
    format!(
        "{PARKED_PREFIX}{}",
        crate::wechat::crypto::hex(&Sha1::digest(message.as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rules_are_read_from_an_isolates_memory() {
        assert_eq!(isolate_cache_secs(RULES), Some(10));
        for key in [
            ONLINE_AGENTS,
            ACCESS_TOKEN,
            SHOP_ACCESS_TOKEN,
            OUTAGE_ALERTED,
            "parked:x",
        ] {
            assert_eq!(isolate_cache_secs(key), None, "{key}");
        }
    }
}
