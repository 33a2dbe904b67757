//! The admin API's rules: who may call it, and what the answers look like.

use serde::Deserialize;

use crate::inline::Rejection;
use crate::platforms::payfeedback::GoodsKind;
use crate::sql::Statement;
use crate::wechat::crypto::constant_time_eq;

/// Checks `Authorization: Bearer <ADMIN_TOKEN>` in constant time. Without an ADMIN_TOKEN set,
/// the admin API is closed (500 naming the setting), never open.
pub fn authorize(authorization: Option<&str>, admin_token: Option<&str>) -> Result<(), Rejection> {
    let token = admin_token.ok_or_else(|| Rejection::MissingSetting("ADMIN_TOKEN".into()))?;
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(p) if constant_time_eq(p, token) => Ok(()),
        _ => Err(Rejection::Unauthenticated("missing or wrong bearer token")),
    }
}

/// `PUT /api/orders/{id}`: what the merchant tells about an order, for complaint deadlines
/// (goods kind, delivery) and for linking tickets. Absent fields keep their stored value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    pub trans_id: Option<String>,
    pub goods_kind: Option<GoodsKind>,
    pub status: Option<String>,
    pub delivered_at: Option<i64>,
}

impl OrderRecord {
    pub fn upsert(&self, order_id: &str, now: i64) -> Statement {
        let kind = self.goods_kind.map(|k| match k {
            GoodsKind::Virtual => "virtual",
            GoodsKind::Physical => "physical",
        });
        Statement::new(
            "INSERT INTO orders (id, trans_id, goods_kind, status, delivered_at, updated_at) VALUES (?1, ?2, ?3, COALESCE(?4, 'paid'), ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET trans_id = COALESCE(?2, trans_id), goods_kind = COALESCE(?3, goods_kind), \
             status = COALESCE(?4, status), delivered_at = COALESCE(?5, delivered_at), updated_at = ?6",
            vec![
                order_id.into(),
                self.trans_id.clone().into(),
                kind.into(),
                self.status.clone().into(),
                self.delivered_at.into(),
                now.into(),
            ],
        )
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
                .status(),
            401
        );
        assert_eq!(
            authorize(Some("s3cret"), Some("s3cret"))
                .unwrap_err()
                .status(),
            401
        );
        assert_eq!(authorize(None, Some("s3cret")).unwrap_err().status(), 401);
        assert_eq!(authorize(Some("Bearer x"), None).unwrap_err().status(), 500);
    }
}
