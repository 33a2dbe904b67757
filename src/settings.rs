//! The Worker's settings (vars and secrets), read through a lookup the shell provides (once per
//! isolate and version), so the core never touches the environment.

use crate::inline::Rejection;
use crate::role::{parse_staff_tokens, StaffTokens};
use crate::wechat::api::{App, TokenEndpoint};
use crate::wechat::callback::Endpoint;
use crate::wechat::crypto::{AesKey, CryptoError};

pub const DEFAULT_WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
pub const DEFAULT_WECOM_API_BASE: &str = "https://qyapi.weixin.qq.com";
pub const DEFAULT_MAX_SKEW_SECS: i64 = 300;
pub const DEFAULT_DELIVERY_WARNING_PERCENT: i64 = 75;
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";
pub const DEFAULT_ZALO_API_BASE: &str = "https://openapi.zalo.me";
pub const DEFAULT_ZALO_OAUTH_BASE: &str = "https://oauth.zaloapp.com";

/// How CareSoft's ZNS request writes a phone number: `0983123148` as in the seed's example, or
/// `84983123148` (`ZNS_PHONE_FORMAT=international`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PhoneFormat {
    #[default]
    Local,
    International,
}

#[derive(Clone, Default)]
pub struct Settings {
    pub wechat_token: Option<String>,
    pub wechat_appid: Option<String>,
    pub wechat_appsecret: Option<String>,
    /// WECHAT_AES_KEY, decoded once (an invalid key is kept as the error it is).
    pub wechat_aes_key: Option<Result<AesKey, CryptoError>>,
    pub shop_token: Option<String>,
    /// SHOP_AES_KEY, decoded once.
    pub shop_aes_key: Option<Result<AesKey, CryptoError>>,
    pub shop_appid: Option<String>,
    /// SHOP_APPSECRET: the Shop's own access_token, for replies through `commkf/sendmsg`.
    pub shop_appsecret: Option<String>,
    pub pay_sign_key: Option<String>,
    pub order_webhook_secret: Option<String>,
    pub caresoft_base_url: Option<String>,
    pub caresoft_api_token: Option<String>,
    /// `ZNS_PHONE_FORMAT`: `local` (`0983123148`, default) or `international` (`84983123148`).
    pub zns_phone_format: PhoneFormat,
    pub wecom_robot_key: Option<String>,
    pub admin_token: Option<String>,
    /// `STAFF_TOKENS`: `name:token[:lead][:wecom=<userid>],…`, so each of the staff signs in
    /// as themselves, with their role.
    pub staff_tokens: StaffTokens,
    /// `TIME_ZONE`: the merchant's IANA time zone for the dashboard (default Asia/Shanghai).
    pub time_zone: String,
    pub wechat_api_base: String,
    /// `WECHAT_TOKEN_ENDPOINT`: `stable` (default) or `classic`.
    pub wechat_token_endpoint: TokenEndpoint,
    pub wecom_api_base: String,
    pub callback_max_skew_secs: i64,
    /// Articles allowed in one `news` customer-service message: the seed says 10, the platform
    /// has accepted only 1 since October 2018.
    pub news_article_limit: usize,
    /// `ALLOW_UNENCRYPTED_PUSH`: accept plain-mode pushes on endpoints with an AES key.
    pub allow_unencrypted_push: bool,
    /// When the undelivered-order watch warns, as a percentage of the delivery window (the
    /// overdue alert comes at 100%).
    pub delivery_warning_percent: i64,
    /// Zalo OA: the app's id (in every webhook mac), its secret (OAuth refresh), the OA's
    /// webhook secret key, and the API bases (tests point them at loopback).
    pub zalo_app_id: Option<String>,
    pub zalo_app_secret: Option<String>,
    pub zalo_oa_secret_key: Option<String>,
    pub zalo_api_base: String,
    pub zalo_oauth_base: String,
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
            wechat_aes_key: get("WECHAT_AES_KEY").map(|k| AesKey::from_encoding_aes_key(&k)),
            shop_token: get("SHOP_TOKEN"),
            shop_aes_key: get("SHOP_AES_KEY").map(|k| AesKey::from_encoding_aes_key(&k)),
            shop_appid: get("SHOP_APPID"),
            shop_appsecret: get("SHOP_APPSECRET"),
            pay_sign_key: get("PAY_SIGN_KEY"),
            order_webhook_secret: get("ORDER_WEBHOOK_SECRET"),
            caresoft_base_url: get("CARESOFT_BASE_URL"),
            caresoft_api_token: get("CARESOFT_API_TOKEN"),
            zns_phone_format: match get("ZNS_PHONE_FORMAT").as_deref() {
                Some(v) if v.eq_ignore_ascii_case("international") => PhoneFormat::International,
                _ => PhoneFormat::Local,
            },
            wecom_robot_key: get("WECOM_ROBOT_KEY"),
            admin_token: get("ADMIN_TOKEN"),
            staff_tokens: StaffTokens(
                get("STAFF_TOKENS").map_or(Ok(Vec::new()), |v| parse_staff_tokens(&v)),
            ),
            time_zone: get("TIME_ZONE").unwrap_or_else(|| DEFAULT_TIME_ZONE.into()),
            wechat_api_base: get("WECHAT_API_BASE")
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_WECHAT_API_BASE.into()),
            wechat_token_endpoint: match get("WECHAT_TOKEN_ENDPOINT").as_deref() {
                Some(v) if v.eq_ignore_ascii_case("classic") => TokenEndpoint::Classic,
                _ => TokenEndpoint::Stable,
            },
            wecom_api_base: get("WECOM_API_BASE")
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_WECOM_API_BASE.into()),
            callback_max_skew_secs: get("CALLBACK_MAX_SKEW_SECS")
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| *v > 0)
                .unwrap_or(DEFAULT_MAX_SKEW_SECS),
            news_article_limit: get("NEWS_ARTICLE_LIMIT")
                .and_then(|v| v.parse().ok())
                .filter(|v: &usize| (1..=10).contains(v))
                .unwrap_or(1),
            allow_unencrypted_push: get("ALLOW_UNENCRYPTED_PUSH")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
            delivery_warning_percent: get("DELIVERY_WARNING_PERCENT")
                .and_then(|v| v.parse().ok())
                .filter(|v: &i64| (1..=99).contains(v))
                .unwrap_or(DEFAULT_DELIVERY_WARNING_PERCENT),
            zalo_app_id: get("ZALO_APP_ID"),
            zalo_app_secret: get("ZALO_APP_SECRET"),
            zalo_oa_secret_key: get("ZALO_OA_SECRET_KEY"),
            zalo_api_base: get("ZALO_API_BASE")
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_ZALO_API_BASE.into()),
            zalo_oauth_base: get("ZALO_OAUTH_BASE")
                .map(|v| v.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_ZALO_OAUTH_BASE.into()),
        }
    }
}

impl Settings {
    /// The Zalo app's id and secret, which refresh the OA's access token, or the name of the
    /// setting that is missing.
    pub fn zalo_credentials(&self) -> Result<(&str, &str), &'static str> {
        match (self.zalo_app_id.as_deref(), self.zalo_app_secret.as_deref()) {
            (Some(app_id), Some(secret)) => Ok((app_id, secret)),
            (None, _) => Err("ZALO_APP_ID"),
            (_, None) => Err("ZALO_APP_SECRET"),
        }
    }

    /// The AppID and secret of `app`'s access_token, or the name of the setting that is missing.
    pub fn app_credentials(&self, app: App) -> Result<(&str, &str), &'static str> {
        let (appid, secret, names) = match app {
            App::OfficialAccount => (
                &self.wechat_appid,
                &self.wechat_appsecret,
                ["WECHAT_APPID", "WECHAT_APPSECRET"],
            ),
            App::Shop => (
                &self.shop_appid,
                &self.shop_appsecret,
                ["SHOP_APPID", "SHOP_APPSECRET"],
            ),
        };
        match (appid.as_deref(), secret.as_deref()) {
            (Some(appid), Some(secret)) => Ok((appid, secret)),
            (None, _) => Err(names[0]),
            (_, None) => Err(names[1]),
        }
    }

    /// The Official Account's push endpoint: `WECHAT_TOKEN`, and `WECHAT_AES_KEY` with
    /// `WECHAT_APPID` when safe mode is configured.
    pub fn oa_endpoint(&self) -> Result<Endpoint<'_>, Rejection> {
        self.endpoint(
            (&self.wechat_token, "WECHAT_TOKEN"),
            (&self.wechat_aes_key, "WECHAT_AES_KEY"),
            (&self.wechat_appid, "WECHAT_APPID"),
        )
    }

    /// The WeChat Shop's message-push endpoint: `SHOP_TOKEN`, and `SHOP_AES_KEY` with
    /// `SHOP_APPID` when safe mode is configured.
    pub fn shop_endpoint(&self) -> Result<Endpoint<'_>, Rejection> {
        self.endpoint(
            (&self.shop_token, "SHOP_TOKEN"),
            (&self.shop_aes_key, "SHOP_AES_KEY"),
            (&self.shop_appid, "SHOP_APPID"),
        )
    }

    /// One WeChat push endpoint from its (value, name) settings: the token is required; the
    /// AppID is required only with an EncodingAESKey, which must be valid.
    fn endpoint<'a>(
        &self,
        (token, token_name): (&'a Option<String>, &'static str),
        (aes_key, aes_key_name): (&'a Option<Result<AesKey, CryptoError>>, &'static str),
        (appid, appid_name): (&'a Option<String>, &'static str),
    ) -> Result<Endpoint<'a>, Rejection> {
        let token = required(token, token_name)?;
        let aes = match aes_key {
            None => None,
            Some(key) => Some((
                key.as_ref().map_err(|_| {
                    Rejection::MissingSetting(format!("{aes_key_name} (valid, 43 characters)"))
                })?,
                required(appid, appid_name)?,
            )),
        };
        Ok(Endpoint {
            token,
            aes,
            max_skew_secs: self.callback_max_skew_secs,
            aes_setting_name: aes_key_name,
            allow_unencrypted: self.allow_unencrypted_push,
        })
    }
}

/// The value of a setting a route cannot work without, or the 500 that names it.
pub fn required<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, Rejection> {
    value
        .as_deref()
        .ok_or_else(|| Rejection::MissingSetting((name).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_tokens_default_to_none() {
        let s = Settings::from_lookup(|_| None);
        assert_eq!(s.staff_tokens, StaffTokens(Ok(Vec::new())));
        assert_eq!(s.time_zone, "Asia/Shanghai");
    }

    #[test]
    fn zns_phone_format_is_local_unless_international() {
        let format = |value: Option<&str>| {
            Settings::from_lookup(|name| match name {
                "ZNS_PHONE_FORMAT" => value.map(str::to_owned),
                _ => None,
            })
            .zns_phone_format
        };
        assert_eq!(format(None), PhoneFormat::Local);
        assert_eq!(format(Some("local")), PhoneFormat::Local);
        assert_eq!(format(Some("International")), PhoneFormat::International);
        assert_eq!(format(Some(" international ")), PhoneFormat::International);
        assert_eq!(format(Some("e164")), PhoneFormat::Local);
    }

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
        assert_eq!(s.zalo_api_base, DEFAULT_ZALO_API_BASE);
        assert_eq!(s.zalo_oauth_base, DEFAULT_ZALO_OAUTH_BASE);
        let err = required(&s.wechat_appid, "WECHAT_APPID").unwrap_err();
        assert_eq!(
            (err.status(), err.to_string().as_str()),
            (500, "missing setting WECHAT_APPID")
        );
    }

    #[test]
    fn endpoints_name_what_they_lack() {
        const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let settings = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Settings::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        let reason = |r: Result<Endpoint, Rejection>| {
            let e = r.err().expect("refused");
            assert_eq!(e.status(), 500);
            e.to_string()
        };

        let plain = settings(&[("SHOP_TOKEN", "shop-tok"), ("CALLBACK_MAX_SKEW_SECS", "60")]);
        let ep = plain.shop_endpoint().unwrap();
        assert_eq!(
            (ep.token, ep.aes.is_none(), ep.max_skew_secs),
            ("shop-tok", true, 60)
        );
        assert_eq!(ep.aes_setting_name, "SHOP_AES_KEY");
        assert_eq!(reason(plain.oa_endpoint()), "missing setting WECHAT_TOKEN");

        let safe = settings(&[
            ("SHOP_TOKEN", "shop-tok"),
            ("SHOP_AES_KEY", AES_KEY),
            ("SHOP_APPID", "wxshop"),
            ("WECHAT_TOKEN", "oa-tok"),
            ("WECHAT_AES_KEY", AES_KEY),
        ]);
        let ep = safe.shop_endpoint().unwrap();
        assert_eq!(ep.aes.as_ref().map(|(_, appid)| *appid), Some("wxshop"));
        assert_eq!(reason(safe.oa_endpoint()), "missing setting WECHAT_APPID");

        let no_token = settings(&[("SHOP_AES_KEY", AES_KEY), ("SHOP_APPID", "wxshop")]);
        assert_eq!(
            reason(no_token.shop_endpoint()),
            "missing setting SHOP_TOKEN"
        );
        let bad_key = settings(&[
            ("WECHAT_TOKEN", "oa-tok"),
            ("WECHAT_AES_KEY", "short"),
            ("WECHAT_APPID", "wxoa"),
        ]);
        assert_eq!(
            reason(bad_key.oa_endpoint()),
            "missing setting WECHAT_AES_KEY (valid, 43 characters)"
        );
    }

    #[test]
    fn the_oa_and_the_shop_have_their_own_credentials() {
        let s = Settings::from_lookup(|name| match name {
            "WECHAT_APPID" => Some("wxoa".into()),
            "WECHAT_APPSECRET" => Some("oa-secret".into()),
            "SHOP_APPID" => Some("wxshop".into()),
            _ => None,
        });
        assert_eq!(
            s.app_credentials(App::OfficialAccount),
            Ok(("wxoa", "oa-secret"))
        );
        assert_eq!(s.app_credentials(App::Shop), Err("SHOP_APPSECRET"));
        let shop = Settings::from_lookup(|name| match name {
            "SHOP_APPID" => Some("wxshop".into()),
            "SHOP_APPSECRET" => Some(" shop-secret ".into()),
            _ => None,
        });
        assert_eq!(
            shop.app_credentials(App::Shop),
            Ok(("wxshop", "shop-secret"))
        );
        assert_eq!(
            shop.app_credentials(App::OfficialAccount),
            Err("WECHAT_APPID")
        );
        let none = Settings::from_lookup(|_| None);
        assert_eq!(none.app_credentials(App::Shop), Err("SHOP_APPID"));
    }
}
