//! The WeChat server API calls kefu-edge makes with the Official Account's credentials:
//! `access_token` (cached in KV until shortly before it expires) and the online agent list.

use serde::{Deserialize, Serialize};

use crate::http::HttpRequest;
use crate::mask::mask_quoted;

/// Refresh this long before expiry, so no call goes out with a token about to lapse.
pub const REFRESH_MARGIN_SECS: i64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    pub access_token: String,
    pub expires_at: i64,
}

impl CachedToken {
    pub fn is_fresh(&self, now: i64) -> bool {
        self.expires_at - now > REFRESH_MARGIN_SECS
    }
}

/// Whose access_token a call needs. The Official Account and the WeChat Shop each have their own
/// AppID, secret and cached token: a Shop token sent to the OA's API (or the reverse) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    OfficialAccount,
    Shop,
}

/// Which endpoint hands out the access_token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// `POST /cgi-bin/stable_token`: the same token for every service that shares the AppID
    /// until it expires; a new one only with `force_refresh` (after a refusal).
    #[default]
    Stable,
    /// `GET /cgi-bin/token`: every call issues a new token and invalidates the one any other
    /// service holds (the "40001 not latest" of other SDKs).
    Classic,
}

/// The access_token request. `force_refresh` (stable endpoint only) asks for a new token, for
/// when the current one was refused.
pub fn token_request(
    api_base: &str,
    endpoint: TokenEndpoint,
    appid: &str,
    secret: &str,
    force_refresh: bool,
) -> HttpRequest {
    match endpoint {
        TokenEndpoint::Stable => {
            let body = serde_json::json!({
                "grant_type": "client_credential",
                "appid": appid,
                "secret": secret,
                "force_refresh": force_refresh,
            });
            HttpRequest::post_json(format!("{api_base}/cgi-bin/stable_token"), body.to_string())
        }
        TokenEndpoint::Classic => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credential")
                .append_pair("appid", appid)
                .append_pair("secret", secret)
                .finish();
            HttpRequest::get(format!("{api_base}/cgi-bin/token?{query}"))
        }
    }
}

/// Reads a successful `/cgi-bin/token` answer (errors are classified by `http::classify`).
pub fn parse_token(body: &str, now: i64) -> Result<CachedToken, String> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: i64,
    }
    let a: Answer = serde_json::from_str(body).map_err(|e| {
        // It may quote what it read: the token itself.
        format!("unexpected token answer: {}", mask_quoted(&e.to_string()))
    })?;
    if a.access_token.is_empty() || a.expires_in <= 0 {
        return Err("empty access_token".into());
    }
    Ok(CachedToken {
        access_token: a.access_token,
        expires_at: now + a.expires_in,
    })
}

/// `GET /cgi-bin/customservice/getonlinekflist?access_token=…`.
pub fn online_agents_request(api_base: &str, access_token: &str) -> HttpRequest {
    HttpRequest::get(format!(
        "{api_base}/cgi-bin/customservice/getonlinekflist?{}",
        token_query(access_token)
    ))
}

pub fn token_query(access_token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("access_token", access_token)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        let r = token_request(
            "http://127.0.0.1:1",
            TokenEndpoint::Classic,
            "wx1",
            "s&x",
            true,
        );
        assert_eq!(
            r.url,
            "http://127.0.0.1:1/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s%26x"
        );
        let stable = token_request("http://h", TokenEndpoint::Stable, "wx1", "s&x", false);
        assert_eq!(stable.url, "http://h/cgi-bin/stable_token");
        let body: serde_json::Value =
            serde_json::from_str(stable.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"grant_type": "client_credential", "appid": "wx1", "secret": "s&x", "force_refresh": false})
        );
        let forced = token_request("http://h", TokenEndpoint::Stable, "wx1", "s", true);
        assert!(forced.body.unwrap().contains(r#""force_refresh":true"#));
        let t = parse_token(r#"{"access_token":"TOKEN","expires_in":7200}"#, 1000).unwrap();
        assert_eq!(
            t,
            CachedToken {
                access_token: "TOKEN".into(),
                expires_at: 8200
            }
        );
        assert!(t.is_fresh(8200 - REFRESH_MARGIN_SECS - 1));
        assert!(!t.is_fresh(8200 - REFRESH_MARGIN_SECS));
        assert!(parse_token(r#"{"errcode":40013,"errmsg":"invalid appid"}"#, 0).is_err());
        assert!(parse_token(r#"{"access_token":"","expires_in":7200}"#, 0).is_err());
    }

    #[test]
    fn online_list_url() {
        assert_eq!(
            online_agents_request("http://h", "T+1").url,
            "http://h/cgi-bin/customservice/getonlinekflist?access_token=T%2B1"
        );
    }
}
