//! The Worker's settings (vars and secrets), read once per request through a lookup the shell
//! provides, so the core never touches the environment.

use crate::inline::Rejection;

pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
pub const DEFAULT_WECOM_API_BASE: &str = "https://qyapi.weixin.qq.com";
pub const DEFAULT_MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub wechat_token: Option<String>,
    pub wechat_appid: Option<String>,
    pub wechat_appsecret: Option<String>,
    pub wechat_aes_key: Option<String>,
    pub shop_token: Option<String>,
    pub shop_aes_key: Option<String>,
    pub shop_appid: Option<String>,
    pub pay_sign_key: Option<String>,
    pub order_webhook_secret: Option<String>,
    pub caresoft_base_url: Option<String>,
    pub caresoft_api_token: Option<String>,
    pub wecom_robot_key: Option<String>,
    pub admin_token: Option<String>,
    pub wechat_api_base: String,
    pub wecom_api_base: String,
    pub callback_max_skew_secs: i64,
}

impl Settings {
    /// Builds settings from a name → value lookup; empty values count as missing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Settings {
            wechat_token: get("WECHAT_TOKEN"),
            wechat_appid: get("WECHAT_APPID"),
            wechat_appsecret: get("WECHAT_APPSECRET"),
            wechat_aes_key: get("WECHAT_AES_KEY"),
            shop_token: get("SHOP_TOKEN"),
            shop_aes_key: get("SHOP_AES_KEY"),
            shop_appid: get("SHOP_APPID"),
            pay_sign_key: get("PAY_SIGN_KEY"),
            order_webhook_secret: get("ORDER_WEBHOOK_SECRET"),
            caresoft_base_url: get("CARESOFT_BASE_URL"),
            caresoft_api_token: get("CARESOFT_API_TOKEN"),
            wecom_robot_key: get("WECOM_ROBOT_KEY"),
            admin_token: get("ADMIN_TOKEN"),
            wechat_api_base: get("WECHAT_API_BASE")
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.into()),
            wecom_api_base: get("WECOM_API_BASE")
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_WECOM_API_BASE.into()),
            callback_max_skew_secs: get("CALLBACK_MAX_SKEW_SECS")
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| *v > 0)
                .unwrap_or(DEFAULT_MAX_SKEW_SECS),
        }
    }
}

/// The value of a setting a route cannot work without, or the 500 that names it.
pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, Rejection> {
    value
        .as_deref()
        .ok_or_else(|| Rejection::missing_setting(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_blank_values() {
        let s = Settings::from_lookup(|name| match name {
            "WECHAT_TOKEN" => Some("  tok ".into()),
            "WECHAT_APPID" => Some("".into()),
            "CALLBACK_MAX_SKEW_SECS" => Some("-5".into()),
            "WECOM_API_BASE" => Some("http://127.0.0.1:9/".into()),
            _ => None,
        });
        assert_eq!(s.wechat_token.as_deref(), Some("tok"));
        assert_eq!(s.wechat_appid, None);
        assert_eq!(s.callback_max_skew_secs, DEFAULT_MAX_SKEW_SECS);
        assert_eq!(s.wechat_api_base, DEFAULT_WECHAT_API_BASE);
        assert_eq!(s.wecom_api_base, "http://127.0.0.1:9");
        let err = required(&s.wechat_appid, "WECHAT_APPID").unwrap_err();
        assert_eq!(
            (err.status, err.reason.as_str()),
            (500, "missing setting WECHAT_APPID")
        );
    }
}
