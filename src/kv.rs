//! The keys kefu-edge keeps in KV (`KEFU_KV`): configuration and caches, never the only copy
//! of anything that must not be lost.

/// The merchant's rules document (`PUT /api/rules`).
pub const RULES: &str = "rules";
/// The last `getonlinekflist` answer, refreshed by the cron.
pub const ONLINE_AGENTS: &str = "kf_online";
/// The WeChat access_token and its expiry.
pub const ACCESS_TOKEN: &str = "wechat_access_token";
