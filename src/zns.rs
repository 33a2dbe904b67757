//! Staff sending a Zalo ZNS template (`POST /api/zns`, `POST /api/tickets/{id}/zns`): the
//! request checked before anything is stored, and the delivery that carries it, named after the
//! Idempotency-Key when there is one so a repeat never sends twice.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::inline::Rejection;
use crate::mask::mask;
use crate::outbound::{record_delivery, OutboundCall};
use crate::platforms::caresoft::{normalize_phone, ZnsSend};
use crate::reach::zns_call;
use crate::settings::Settings;
use crate::sql::Statement;
use crate::tickets::{timeline_by_id, TimelineEntry};

/// A send as staff asked for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZnsRequest {
    #[serde(default)]
    pub phone: Option<String>,
    pub template_id: serde_json::Value,
    #[serde(default)]
    pub params: Option<BTreeMap<String, String>>,
    /// Our ticket the send belongs to (`POST /api/zns` only).
    #[serde(default)]
    pub ticket_id: Option<i64>,
}

/// A checked request: the template and params; the phone comes from the body or the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZnsOrder {
    pub phone: Option<String>,
    pub template_id: u64,
    pub params: Option<BTreeMap<String, String>>,
    pub ticket_id: Option<i64>,
}

/// Reads and checks a request body. `for_ticket`: the ticket route, where the phone is the
/// ticket's and the body names neither phone nor ticket.
pub fn parse(body: &str, for_ticket: bool, settings: &Settings) -> Result<ZnsOrder, Rejection> {
    let missing: Vec<&str> = [
        ("CARESOFT_BASE_URL", &settings.caresoft_base_url),
        ("CARESOFT_API_TOKEN", &settings.caresoft_api_token),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_none())
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        return Err(Rejection::MissingSetting(missing.join(", ")));
    }
    let request: ZnsRequest = serde_json::from_str(body)
        .map_err(|e| Rejection::Malformed(format!("invalid ZNS request: {e}")))?;
    let template_id = request
        .template_id
        .as_u64()
        .filter(|&id| id > 0)
        .ok_or_else(|| Rejection::Malformed("template_id must be a positive integer".into()))?;
    let phone = match (for_ticket, request.phone) {
        (true, Some(_)) => {
            return Err(Rejection::Malformed(
                "the phone is the ticket's: leave phone out".into(),
            ))
        }
        (true, None) => None,
        (false, None) => return Err(Rejection::Malformed("phone is required".into())),
        (false, Some(raw)) => Some(check_phone(&raw, settings)?),
    };
    if for_ticket && request.ticket_id.is_some() {
        return Err(Rejection::Malformed(
            "the ticket is the one in the path: leave ticket_id out".into(),
        ));
    }
    Ok(ZnsOrder {
        phone,
        template_id,
        params: request.params,
        ticket_id: request.ticket_id,
    })
}

/// A phone normalised, or the reason it is not a Vietnamese mobile number (400).
pub fn check_phone(raw: &str, settings: &Settings) -> Result<String, Rejection> {
    normalize_phone(raw, settings.zns_phone_format).map_err(|e| Rejection::Malformed(e.to_string()))
}

/// The delivery's name: from the Idempotency-Key's name when given, so a repeat names the same
/// one.
pub fn delivery_id(key_name: Option<String>, unique: &str) -> String {
    match key_name {
        Some(name) => format!("zns:key:{name}"),
        None => format!("zns:{unique}"),
    }
}

/// What recording a send writes: the delivery (once per name) and, for a ticket, a line on its
/// timeline saying who asked for what.
pub fn record(
    id: &str,
    order: &ZnsOrder,
    phone: &str,
    actor: &str,
    now: i64,
) -> (OutboundCall, Vec<Statement>) {
    let call = zns_call(ZnsSend {
        phone: phone.to_owned(),
        template_id: order.template_id,
        params: order.params.clone(),
    });
    let mut statements = vec![record_delivery(id, &call, order.ticket_id, now)];
    if let Some(ticket) = order.ticket_id {
        let event_key = format!("requested:{id}");
        let text = format!(
            "ZNS template {} to {} requested",
            order.template_id,
            mask(phone)
        );
        statements.push(timeline_by_id(
            ticket,
            TimelineEntry {
                event_key: &event_key,
                at: now,
                kind: "agent",
                actor,
                text: &text,
            },
        ));
    }
    (call, statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_lookup(|name| match name {
            "CARESOFT_BASE_URL" => Some("http://127.0.0.1:9".into()),
            "CARESOFT_API_TOKEN" => Some("T".into()),
            _ => None,
        })
    }

    #[test]
    fn a_valid_request_is_normalised() {
        let order = parse(
            r#"{"phone": "+84 983 123 148", "template_id": 366, "params": {"a": "b"}, "ticket_id": 7}"#,
            false,
            &settings(),
        )
        .unwrap();
        assert_eq!(
            order,
            ZnsOrder {
                phone: Some("0983123148".into()),
                template_id: 366,
                params: Some(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
                ticket_id: Some(7),
            }
        );
        let for_ticket = parse(r#"{"template_id": 1}"#, true, &settings()).unwrap();
        assert_eq!((for_ticket.phone, for_ticket.ticket_id), (None, None));
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        let refused = |body: &str, for_ticket: bool| {
            parse(body, for_ticket, &settings())
                .unwrap_err()
                .to_string()
        };
        assert!(
            refused(r#"{"phone": "0983123148", "template_id": 0}"#, false)
                .contains("positive integer")
        );
        assert!(
            refused(r#"{"phone": "0983123148", "template_id": "366"}"#, false)
                .contains("positive integer")
        );
        assert!(
            refused(r#"{"phone": "0983123148", "template_id": 3.5}"#, false)
                .contains("positive integer")
        );
        assert!(
            refused(r#"{"phone": "0983123148", "template_id": -1}"#, false)
                .contains("positive integer")
        );
        assert!(
            refused(r#"{"phone": "0243123148", "template_id": 1}"#, false)
                .contains("not a Vietnamese mobile prefix")
        );
        assert!(refused(r#"{"phone": "12", "template_id": 1}"#, false).contains("digits"));
        assert!(refused(r#"{"template_id": 1}"#, false).contains("phone is required"));
        assert!(
            refused(r#"{"phone": "0983123148", "template_id": 1}"#, true)
                .contains("leave phone out")
        );
        assert!(
            refused(r#"{"template_id": 1, "ticket_id": 3}"#, true).contains("leave ticket_id out")
        );
        assert!(refused(r#"{"template_id": 1, "params": {"a": 1}}"#, true)
            .contains("invalid ZNS request"));
        assert!(refused(r#"{"template_id": 1, "colour": 1}"#, true).contains("unknown field"));
        assert!(refused("[]", true).contains("invalid ZNS request"));
        let bare = Settings::from_lookup(|_| None);
        assert_eq!(
            parse(r#"{"template_id": 1}"#, true, &bare).unwrap_err(),
            Rejection::MissingSetting("CARESOFT_BASE_URL, CARESOFT_API_TOKEN".into())
        );
    }

    #[test]
    fn a_key_names_the_same_delivery_every_time() {
        assert_eq!(delivery_id(Some("k1".into()), "u1"), "zns:key:k1");
        assert_eq!(delivery_id(None, "u1"), "zns:u1");
    }
}
