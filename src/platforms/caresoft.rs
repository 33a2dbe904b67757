//! CareSoft's Zalo ZNS API (seed 003): Vietnamese mobile numbers in the form it takes, the
//! `POST {CARESOFT_BASE_URL}/api/v1/zalo/zns` request, and what its answers mean.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::http::{redact, HttpRequest, HttpResult, Outcome};
use crate::mask::mask;
use crate::settings::PhoneFormat;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    /// A character that is neither a digit nor a separator (space . - ( ) and a leading +).
    NotADigit(char),
    /// The national number (after the country code or leading 0) must have 9 digits.
    WrongLength(usize),
    /// Vietnamese mobile numbers start 03, 05, 07, 08 or 09.
    NotMobile(String),
    /// An international number (`+…`) whose country code is not Viet Nam's (84).
    NotVietnamese,
}

impl std::fmt::Display for PhoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhoneError::Empty => f.write_str("phone is empty"),
            PhoneError::NotADigit(c) => write!(f, "phone has {c:?}, which is not a digit"),
            PhoneError::WrongLength(n) => write!(
                f,
                "phone has {n} digits after the 0 or +84; a Vietnamese mobile number has 9"
            ),
            PhoneError::NotVietnamese => f.write_str("phone is not a Vietnamese number (+84)"),
            PhoneError::NotMobile(prefix) => write!(
                f,
                "phone starts {prefix}, not a Vietnamese mobile prefix (03, 05, 07, 08, 09)"
            ),
        }
    }
}

const MOBILE_PREFIXES: [u8; 5] = [b'3', b'5', b'7', b'8', b'9'];

/// Normalises a Vietnamese mobile number given as `0983123148`, `0983.123.148`, `0983-123-148`,
/// `+84 983 123 148`, `84983123148` or `(+84) 983123148`.
pub fn normalize_phone(raw: &str, format: PhoneFormat) -> Result<String, PhoneError> {
    let trimmed = raw.trim();
    let mut digits = String::with_capacity(trimmed.len());
    let mut international = false;
    for (i, c) in trimmed.char_indices() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            // `+` only opens the number, possibly inside the parenthesis: `(+84)`.
            '+' if digits.is_empty() && trimmed[..i].chars().all(|p| p == '(' || p == ' ') => {
                international = true;
            }
            other => return Err(PhoneError::NotADigit(other)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    // The digits after the trunk 0 or the country code (a stray 0 after 84 is forgiven).
    let after_country = |digits: &str| -> Option<String> {
        let rest = digits.strip_prefix("84")?;
        Some(rest.strip_prefix('0').unwrap_or(rest).to_owned())
    };
    let national = if international {
        after_country(&digits).ok_or(PhoneError::NotVietnamese)?
    } else if let Some(rest) = digits.strip_prefix('0') {
        rest.to_owned()
    } else if digits.len() >= 11 {
        after_country(&digits).ok_or(PhoneError::WrongLength(digits.len()))?
    } else {
        digits
    };
    if national.len() != 9 {
        return Err(PhoneError::WrongLength(national.len()));
    }
    if !MOBILE_PREFIXES.contains(&national.as_bytes()[0]) {
        return Err(PhoneError::NotMobile(format!("0{}", &national[..1])));
    }
    Ok(match format {
        PhoneFormat::Local => format!("0{national}"),
        PhoneFormat::International => format!("84{national}"),
    })
}

/// One ZNS send: the scenario (`template_id`), to whom, in which CareSoft ticket, with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZnsSend {
    /// Already normalised.
    pub phone: String,
    pub template_id: u64,
    /// Without params CareSoft uses the scenario's saved mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
}

/// The request. `caresoft_ticket_id` keeps the conversation in one CareSoft ticket; without it
/// CareSoft opens a new one.
pub fn zns_request(
    base_url: &str,
    api_token: &str,
    send: &ZnsSend,
    caresoft_ticket_id: Option<i64>,
) -> HttpRequest {
    let mut zns = serde_json::json!({
        "phone": send.phone,
        "template_id": send.template_id,
    });
    if let Some(ticket) = caresoft_ticket_id {
        zns["ticket_id"] = ticket.into();
    }
    if let Some(params) = &send.params {
        zns["params"] = serde_json::json!(params);
    }
    let mut request = HttpRequest::post_json(
        format!("{}/api/v1/zalo/zns", base_url.trim_end_matches('/')),
        serde_json::json!({ "zns": zns }).to_string(),
    );
    request
        .headers
        .push(("authorization".into(), format!("Bearer {api_token}")));
    request
}

/// What an answer means for the send. `ticket` is CareSoft's ticket when it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZnsAnswer {
    pub outcome: Outcome,
    pub ticket: Option<i64>,
    /// CareSoft refused the API token: staff must fix `CARESOFT_API_TOKEN`.
    pub unauthorized: bool,
}

#[derive(Deserialize)]
struct Answer {
    status: Option<String>,
    code: Option<String>,
    message: Option<String>,
    ticket: Option<AnswerTicket>,
}

#[derive(Deserialize)]
struct AnswerTicket {
    #[serde(rename = "ticketId")]
    ticket_id: Option<serde_json::Value>,
}

/// Classifies CareSoft's answer: `status: "OK"` delivered; 429, 5xx and network errors retried;
/// 401/403 and any other answer permanent (with CareSoft's message, phone numbers masked).
pub fn classify_zns(result: &HttpResult) -> ZnsAnswer {
    let answer = |outcome| ZnsAnswer {
        outcome,
        ticket: None,
        unauthorized: false,
    };
    let (status, body) = match result {
        HttpResult::NetworkError(why) => {
            return answer(Outcome::Retryable(format!(
                "network error: {}",
                redact(why)
            )))
        }
        HttpResult::Response { status, body, .. } => (*status, body.as_str()),
    };
    match status {
        429 => {
            return answer(Outcome::Retryable(
                "CareSoft HTTP 429 Too Many Attempts".into(),
            ))
        }
        500..=599 => return answer(Outcome::Retryable(format!("CareSoft HTTP {status}"))),
        401 | 403 => {
            return ZnsAnswer {
                unauthorized: true,
                ..answer(Outcome::Permanent(format!(
                    "CareSoft refused the API token (HTTP {status}): check CARESOFT_API_TOKEN"
                )))
            }
        }
        _ => {}
    }
    let parsed: Option<Answer> = serde_json::from_str(body).ok();
    match parsed {
        Some(Answer {
            status: Some(ok),
            ticket,
            ..
        }) if (200..300).contains(&status) && ok.eq_ignore_ascii_case("OK") => ZnsAnswer {
            ticket: ticket.and_then(|t| t.ticket_id).and_then(|id| match id {
                serde_json::Value::String(s) => s.trim().parse().ok(),
                other => other.as_i64(),
            }),
            ..answer(Outcome::Delivered)
        },
        Some(Answer {
            code: Some(code),
            message,
            ..
        }) => answer(Outcome::Permanent(mask_phones(&redact(&format!(
            "CareSoft {code} (HTTP {status}): {}",
            message.as_deref().unwrap_or("")
        ))))),
        _ => answer(Outcome::Permanent(mask_phones(&redact(&format!(
            "CareSoft answered HTTP {status}: {}",
            excerpt(body)
        ))))),
    }
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}

/// Runs of 8 or more digits (phone numbers, also as CareSoft echoes them) masked.
pub fn mask_phones(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 8 {
            out.push_str(&mask(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_form_normalises_to_the_local_form() {
        for raw in [
            "0983123148",
            "0983.123.148",
            "0983-123-148",
            "+84 983 123 148",
            "84983123148",
            "(+84) 983123148",
            " +84 0983 123 148 ",
            "983123148",
        ] {
            assert_eq!(
                normalize_phone(raw, PhoneFormat::Local),
                Ok("0983123148".into()),
                "{raw}"
            );
            assert_eq!(
                normalize_phone(raw, PhoneFormat::International),
                Ok("84983123148".into()),
                "{raw}"
            );
        }
        for prefix in ["03", "05", "07", "08", "09"] {
            assert!(normalize_phone(&format!("{prefix}12345678"), PhoneFormat::Local).is_ok());
        }
    }

    #[test]
    fn refusals_say_why() {
        let refuse = |raw: &str| normalize_phone(raw, PhoneFormat::Local).unwrap_err();
        assert_eq!(refuse(""), PhoneError::Empty);
        assert_eq!(refuse(" ( ) "), PhoneError::Empty);
        assert_eq!(refuse("0983a23148"), PhoneError::NotADigit('a'));
        assert_eq!(refuse("0983+123148"), PhoneError::NotADigit('+'));
        assert_eq!(refuse("098312314"), PhoneError::WrongLength(8));
        assert_eq!(refuse("09831231489"), PhoneError::WrongLength(10));
        assert_eq!(refuse("+84 98312314"), PhoneError::WrongLength(8));
        assert_eq!(refuse("84 9831 23148 9"), PhoneError::WrongLength(10));
        assert_eq!(refuse("1983123148999"), PhoneError::WrongLength(13));
        assert_eq!(refuse("0243123148"), PhoneError::NotMobile("02".into()));
        assert_eq!(refuse("0183123148"), PhoneError::NotMobile("01".into()));
        assert_eq!(refuse("+1 983 123 1489"), PhoneError::NotVietnamese);
        assert!(refuse("0983 12x").to_string().contains("'x'"));
        assert!(PhoneError::WrongLength(8).to_string().contains("8 digits"));
        assert!(PhoneError::NotMobile("02".into())
            .to_string()
            .contains("03, 05"));
    }

    #[test]
    fn the_request_is_the_seeds() {
        let send = ZnsSend {
            phone: "0983123148".into(),
            template_id: 366,
            params: Some(BTreeMap::from([
                ("requester".to_owned(), "Nguyễn Hải Hà".to_owned()),
                ("masoDatve".to_owned(), "098733".to_owned()),
            ])),
        };
        let request = zns_request("https://api.caresoft.vn/demo/", "T0K", &send, Some(297005));
        assert_eq!(request.url, "https://api.caresoft.vn/demo/api/v1/zalo/zns");
        assert!(request
            .headers
            .contains(&("authorization".into(), "Bearer T0K".into())));
        let body: serde_json::Value =
            serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"zns": {"phone": "0983123148", "template_id": 366, "ticket_id": 297005,
                "params": {"requester": "Nguyễn Hải Hà", "masoDatve": "098733"}}})
        );
        let bare = ZnsSend {
            params: None,
            ..send
        };
        let body: serde_json::Value = serde_json::from_str(
            zns_request("http://x", "T", &bare, None)
                .body
                .as_deref()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"zns": {"phone": "0983123148", "template_id": 366}})
        );
    }

    fn response(status: u16, body: &str) -> HttpResult {
        HttpResult::Response {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn answers_are_classified() {
        let ok = classify_zns(&response(
            200,
            r#"{"status":"OK","ticket":{"ticketId":"297002"}}"#,
        ));
        assert_eq!(
            (ok.outcome, ok.ticket, ok.unauthorized),
            (Outcome::Delivered, Some(297002), false)
        );
        let numeric = classify_zns(&response(
            200,
            r#"{"status":"OK","ticket":{"ticketId":297003}}"#,
        ));
        assert_eq!(numeric.ticket, Some(297003));
        assert_eq!(
            classify_zns(&response(200, r#"{"status":"OK"}"#)).ticket,
            None
        );
        assert!(matches!(
            classify_zns(&response(429, "Too Many Attempts")).outcome,
            Outcome::Retryable(_)
        ));
        assert!(matches!(
            classify_zns(&response(502, "")).outcome,
            Outcome::Retryable(_)
        ));
        assert!(matches!(
            classify_zns(&HttpResult::NetworkError("reset".into())).outcome,
            Outcome::Retryable(_)
        ));
        for status in [401, 403] {
            let refused = classify_zns(&response(status, r#"{"message":"Unauthenticated."}"#));
            assert!(refused.unauthorized);
            assert!(
                matches!(&refused.outcome, Outcome::Permanent(r) if r.contains("CARESOFT_API_TOKEN"))
            );
        }
        let errors = classify_zns(&response(
            200,
            r#"{"code":"errors","message":"Số điện thoại 0983123148 không hợp lệ"}"#,
        ));
        assert_eq!(
            errors.outcome,
            Outcome::Permanent(
                "CareSoft errors (HTTP 200): Số điện thoại 098***148 không hợp lệ".into()
            )
        );
        assert!(!errors.unauthorized);
        assert!(matches!(
            classify_zns(&response(400, r#"{"code":"errors","message":"template"}"#)).outcome,
            Outcome::Permanent(r) if r == "CareSoft errors (HTTP 400): template"
        ));
        assert!(matches!(
            classify_zns(&response(200, "<html>")).outcome,
            Outcome::Permanent(r) if r == "CareSoft answered HTTP 200: <html>"
        ));
        assert!(matches!(
            classify_zns(&response(404, r#"{"status":"OK"}"#)).outcome,
            Outcome::Permanent(_)
        ));
    }

    #[test]
    fn a_phone_anywhere_in_an_answer_is_masked() {
        let odd = classify_zns(&response(400, r#"{"code":"0983123148","message":"x"}"#));
        assert!(
            matches!(odd.outcome, Outcome::Permanent(r) if r == "CareSoft 098***148 (HTTP 400): x")
        );
    }

    #[test]
    fn phone_numbers_in_text_are_masked() {
        assert_eq!(
            mask_phones("to 0983123148 and 84983123148, id 297002"),
            "to 098***148 and 849***148, id 297002"
        );
    }
}
