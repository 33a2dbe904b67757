//! The admin API's rules: who may call it, and what the answers look like.

use crate::inline::Rejection;
use crate::wechat::crypto::constant_time_eq;

/// Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time. Without an ADMIN_TOKEN set,
/// the admin API is closed (500 naming the setting), never open.
pub fn authorize(authorization: Option<&str>, admin_token: Option<&str>) -> Result<(), Rejection> {
    let token = admin_token.ok_or_else(|| Rejection::missing_setting("ADMIN_TOKEN"))?;
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(p) if constant_time_eq(p, token) => Ok(()),
        _ => Err(Rejection {
            status: 401,
            reason: "missing or wrong bearer token".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        assert!(authorize(Some("Bearer s3cret"), Some("s3cret")).is_ok());
        assert_eq!(
            authorize(Some("Bearer S3CRET"), Some("s3cret"))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            authorize(Some("s3cret"), Some("s3cret"))
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(authorize(None, Some("s3cret")).unwrap_err().status, 401);
        assert_eq!(authorize(Some("Bearer x"), None).unwrap_err().status, 500);
    }
}
