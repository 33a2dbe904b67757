//! The merchant's rules: FAQ auto-replies and routing to customer-service agents. One JSON
//! document in KV (key `rules`), validated when read; an invalid document is refused whole.
//!
//! ```json
//! {
//!   "faq":    [{ "keywords": ["卡密", "card key"], "reply": "Your key is in Orders → Details." }],
//!   "routes": [{ "keywords": ["退款", "refund"], "category": "refund", "kf_accounts": ["anna@gh_abc"] }],
//!   "zns":    [{ "on": "order.delivery_failed", "template_id": 366, "params": { "order_id": "{order.id}" } }],
//!   "zns_fallback": { "template_id": 367, "params": { "message": "{text}" } }
//! }
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The categories of card-shop problems, which tickets, routes and FAQ rules name.
pub const PROBLEM_CATEGORIES: [&str; 5] = [
    "not_delivered",
    "invalid_card",
    "delayed",
    "refund",
    "general",
];

/// WeChat truncates passive text replies past this many bytes.
pub const MAX_REPLY_BYTES: usize = 2048;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub faq: Vec<FaqRule>,
    #[serde(default)]
    pub routes: Vec<RouteRule>,
    /// ZNS templates sent when a card-shop event or a ticket change happens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zns: Vec<ZnsRule>,
    /// The template that carries a message to a customer WeChat cannot reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zns_fallback: Option<ZnsTemplate>,
}

/// What triggers a `zns` rule: a card-shop event type, or a ticket resolved.
pub const ZNS_TRIGGERS: [&str; 9] = [
    "order.paid",
    "order.delivered",
    "order.delivery_failed",
    "order.delayed",
    "card.invalid",
    "refund.requested",
    "refund.succeeded",
    "ticket.submitted",
    "ticket.resolved",
];

/// The fields of an event a ZNS parameter may name as `{field}`.
pub const ZNS_PLACEHOLDERS: [&str; 11] = [
    "event.id",
    "event.type",
    "order.id",
    "order.trans_id",
    "order.amount",
    "order.currency",
    "order.product",
    "customer.name",
    "customer.phone",
    "customer.email",
    "message",
];

/// `{text}` in `zns_fallback`: the message WeChat could not carry.
pub const FALLBACK_TEXT: &str = "text";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZnsRule {
    pub on: String,
    pub template_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZnsTemplate {
    pub template_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, String>>,
}

/// Fills `{field}` placeholders from `lookup` (a field without a value becomes empty).
pub fn render_params(
    params: Option<&BTreeMap<String, String>>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<BTreeMap<String, String>> {
    params.map(|params| {
        params
            .iter()
            .map(|(name, template)| {
                let mut out = String::with_capacity(template.len());
                let mut rest = template.as_str();
                while let Some((before, after)) = rest.split_once('{') {
                    out.push_str(before);
                    match after
                        .split_once('}')
                        .filter(|(field, _)| !field.contains('{'))
                    {
                        Some((field, tail)) => {
                            out.push_str(&lookup(field).unwrap_or_default());
                            rest = tail;
                        }
                        None => {
                            out.push('{');
                            rest = after;
                        }
                    }
                }
                out.push_str(rest);
                (name.clone(), out)
            })
            .collect()
    })
}

/// The placeholders a parameter template names.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(field, _)| field))
}

fn check_zns_template(
    template_id: u64,
    params: Option<&BTreeMap<String, String>>,
    allowed: &[&str],
    at: &str,
) -> Result<(), String> {
    if template_id == 0 {
        return Err(format!("{at}.template_id must be a positive integer"));
    }
    for (name, template) in params.into_iter().flatten() {
        if let Some(unknown) = placeholders(template).find(|p| !allowed.contains(p)) {
            return Err(format!(
                "{at}.params.{name}: unknown placeholder {{{unknown}}}; known: {}",
                allowed
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqRule {
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A card-shop problem category (`not_delivered`, `invalid_card`, `delayed`, `refund`,
    /// `general`): the reply is also sent for every order problem of that category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub reply: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Agents in order of preference, as `name@account` KfAccount strings.
    pub kf_accounts: Vec<String>,
}

impl Rules {
    /// Parses and validates a rules document; the error names the first problem found.
    pub fn parse(json: &str) -> Result<Rules, String> {
        // Read from the text itself: through a `serde_json::Value` first, the wasm would carry a
        // second reader for every rules type. A struct also reads from an array: refused first.
        let not_json = |e: serde_json::Error| format!("rules are not valid JSON: {e}");
        if !json.trim_start().starts_with('{') {
            serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(not_json)?;
            return Err("rules must be a JSON object".into());
        }
        let rules: Rules = serde_json::from_str(json).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                not_json(e)
            } else {
                format!("rules are not valid: {e}")
            }
        })?;
        for (i, faq) in rules.faq.iter().enumerate() {
            let at = format!("faq[{i}]");
            check_category(faq.category.as_deref(), &at)?;
            if faq.category.is_none() || !faq.keywords.is_empty() {
                check_keywords(&faq.keywords, &at)?;
            }
            if faq.reply.trim().is_empty() || faq.reply.len() > MAX_REPLY_BYTES {
                return Err(format!(
                    "faq[{i}].reply must be 1..={MAX_REPLY_BYTES} bytes"
                ));
            }
        }
        for (i, route) in rules.routes.iter().enumerate() {
            let at = format!("routes[{i}]");
            check_category(route.category.as_deref(), &at)?;
            if route.keywords.is_empty() && route.category.is_none() {
                return Err(format!("{at} needs keywords or a category"));
            }
            if !route.keywords.is_empty() {
                check_keywords(&route.keywords, &at)?;
            }
            if route.kf_accounts.is_empty() || route.kf_accounts.iter().any(|a| !is_kf_account(a)) {
                return Err(format!(
                    "{at}.kf_accounts must list accounts like name@account"
                ));
            }
        }
        for (i, rule) in rules.zns.iter().enumerate() {
            let at = format!("zns[{i}]");
            if !ZNS_TRIGGERS.contains(&rule.on.as_str()) {
                return Err(format!(
                    "{at}.on must be one of {}",
                    ZNS_TRIGGERS.join(", ")
                ));
            }
            check_zns_template(
                rule.template_id,
                rule.params.as_ref(),
                &ZNS_PLACEHOLDERS,
                &at,
            )?;
        }
        if let Some(fallback) = &rules.zns_fallback {
            let mut allowed = ZNS_PLACEHOLDERS.to_vec();
            allowed.push(FALLBACK_TEXT);
            check_zns_template(
                fallback.template_id,
                fallback.params.as_ref(),
                &allowed,
                "zns_fallback",
            )?;
        }
        Ok(rules)
    }

    /// The `zns` rules a trigger (`order.delivery_failed`, `ticket.resolved`, …) fires, with
    /// their position in the document (which names the send).
    pub fn zns_for<'a>(
        &'a self,
        trigger: &'a str,
    ) -> impl Iterator<Item = (usize, &'a ZnsRule)> + 'a {
        self.zns
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.on == trigger)
    }

    /// The FAQ reply for a customer's text, from the first rule with a matching keyword.
    pub fn faq_reply(&self, text: &CustomerText) -> Option<&str> {
        self.faq
            .iter()
            .find(|r| matches_any(&text.0, &r.keywords))
            .map(|r| r.reply.as_str())
    }

    /// The FAQ reply for a card-shop problem: the first rule of its category, or else the first
    /// whose keywords match the customer's message.
    pub fn faq_reply_for_problem(&self, category: &str, message: Option<&str>) -> Option<&str> {
        let text = lowercase(message.unwrap_or_default());
        self.faq
            .iter()
            .find(|r| r.category.as_deref() == Some(category))
            .or_else(|| self.faq.iter().find(|r| matches_any(&text, &r.keywords)))
            .map(|r| r.reply.as_str())
    }

    /// The route for a card-shop problem: the first of its category, or else the first whose
    /// keywords match the customer's message.
    pub fn route_for_problem(&self, category: &str, message: Option<&str>) -> Option<&RouteRule> {
        let text = lowercase(message.unwrap_or_default());
        self.routes
            .iter()
            .find(|r| r.category.as_deref() == Some(category))
            .or_else(|| self.routes.iter().find(|r| matches_any(&text, &r.keywords)))
    }

    /// The first route whose keywords match the customer's text.
    pub fn route_for_text(&self, text: &CustomerText) -> Option<&RouteRule> {
        self.routes
            .iter()
            .find(|r| matches_any(&text.0, &r.keywords))
    }
}

/// A customer's text as keywords are matched against it (lower case): made once per message,
/// however many rules look at it.
pub struct CustomerText<'a>(Cow<'a, str>);

impl<'a> CustomerText<'a> {
    pub fn new(text: &'a str) -> Self {
        CustomerText(lowercase(text))
    }
}

fn check_category(category: Option<&str>, at: &str) -> Result<(), String> {
    match category {
        Some(c) if !PROBLEM_CATEGORIES.contains(&c) => Err(format!(
            "{at}.category must be one of {}",
            PROBLEM_CATEGORIES.join(", ")
        )),
        _ => Ok(()),
    }
}

fn check_keywords(keywords: &[String], at: &str) -> Result<(), String> {
    if keywords.is_empty() || keywords.iter().any(|k| k.trim().is_empty()) {
        return Err(format!("{at}.keywords must be non-empty strings"));
    }
    Ok(())
}

fn is_kf_account(account: &str) -> bool {
    matches!(account.split_once('@'), Some((name, acct)) if !name.is_empty() && !acct.is_empty())
}

fn matches_any(lowercase_text: &str, keywords: &[String]) -> bool {
    keywords
        .iter()
        .any(|k| lowercase_text.contains(lowercase(k).as_ref()))
}

/// CJK punctuation, kana, CJK ideographs and Hangul syllables: no case, so no table lookup.
fn has_no_case(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7A3}')
}

/// `s.to_lowercase()`, borrowed when that would change nothing (most messages and keywords), so
/// matching a message against the rules allocates nothing.
fn lowercase(s: &str) -> Cow<'_, str> {
    if is_lowercase(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Whether `to_lowercase` leaves `s` as it is. Read a byte at a time: ASCII and the CJK block
/// (U+3000..=U+9FFF, whose UTF-8 is three bytes led by E3..=E9) are told by their first byte;
/// only other characters are decoded and looked up.
fn is_lowercase(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        at += match byte {
            b'A'..=b'Z' => return false,
            0x00..=0x7F => 1,
            0xE3..=0xE9 => 3,
            _ => match s.get(at..).and_then(|rest| rest.chars().next()) {
                Some(c) if has_no_case(c) || c.to_lowercase().eq(std::iter::once(c)) => {
                    c.len_utf8()
                }
                _ => return false,
            },
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
        "faq": [{"keywords": ["卡密", "Card Key"], "reply": "see orders"}],
        "routes": [
            {"keywords": ["退款", "refund"], "kf_accounts": ["anna@gh_1", "bob@gh_1"]},
            {"category": "invalid_card", "kf_accounts": ["carl@gh_1"]}
        ]
    }"#;

    #[test]
    fn the_caseless_ranges_have_no_case() {
        let caseless = ('\u{3000}'..='\u{9FFF}').chain('\u{AC00}'..='\u{D7A3}');
        for c in caseless {
            assert!(has_no_case(c));
            assert!(c.to_lowercase().eq([c]), "{c:?}");
        }
        assert!(!has_no_case('A') && !has_no_case('\u{2FFF}') && !has_no_case('\u{D7A4}'));
    }

    #[test]
    fn is_lowercase_agrees_with_to_lowercase_for_every_character() {
        let mut utf8 = [0; 4];
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = c.encode_utf8(&mut utf8);
            assert_eq!(is_lowercase(s), c.to_lowercase().eq([c]), "{c:?}");
            // The bytes that stand for the CJK block are exactly its first bytes.
            let cjk = ('\u{3000}'..='\u{9FFF}').contains(&c);
            assert_eq!((0xE3..=0xE9).contains(&s.as_bytes()[0]), cjk, "{c:?}");
        }
    }

    #[test]
    fn lowercase_borrows_only_what_to_lowercase_leaves_alone() {
        for s in [
            "refund",
            "我要退款 refund",
            "",
            "ß",
            "ǆ",
            "한국어 「」",
            "é🙂",
        ] {
            assert!(matches!(lowercase(s), Cow::Borrowed(b) if b == s), "{s}");
        }
        // Upper-case and title-case letters, final sigma, and İ (two characters in lower case).
        for s in [
            "Refund",
            "我要退款 REFUND",
            "ǅ",
            "ΣΑΣ ΟΔΟΣ",
            "İstanbul",
            "ÀB",
            "卡密Z",
            "é🙂X",
        ] {
            assert!(matches!(lowercase(s), Cow::Owned(_)), "{s}");
            assert_eq!(lowercase(s), s.to_lowercase(), "{s}");
        }
    }

    #[test]
    fn matches_keywords_case_insensitively() {
        let rules = Rules::parse(DOC).unwrap();
        assert_eq!(
            rules.faq_reply(&CustomerText::new("我的卡密呢")),
            Some("see orders")
        );
        assert_eq!(
            rules.faq_reply(&CustomerText::new("where is my CARD KEY?")),
            Some("see orders")
        );
        assert_eq!(rules.faq_reply(&CustomerText::new("hello")), None);
        assert_eq!(
            rules
                .route_for_text(&CustomerText::new("I want a REFUND"))
                .unwrap()
                .kf_accounts[0],
            "anna@gh_1"
        );
        assert!(rules.route_for_text(&CustomerText::new("hello")).is_none());
        assert_eq!(
            rules
                .route_for_problem("invalid_card", None)
                .unwrap()
                .kf_accounts,
            ["carl@gh_1"]
        );
        assert!(rules.route_for_problem("refund", None).is_none());
    }

    #[test]
    fn zns_rules_are_validated_and_rendered() {
        let rules = Rules::parse(
            r#"{"zns": [{"on": "order.delivery_failed", "template_id": 366,
                         "params": {"order_id": "{order.id}", "requester": "{customer.name}", "note": "Đơn {order.id}: {message}"}},
                        {"on": "ticket.resolved", "template_id": 367}],
                "zns_fallback": {"template_id": 368, "params": {"message": "{text}"}}}"#,
        )
        .unwrap();
        let fired: Vec<_> = rules
            .zns_for("order.delivery_failed")
            .map(|(i, r)| (i, r.template_id))
            .collect();
        assert_eq!(fired, [(0, 366)]);
        assert_eq!(rules.zns_for("order.paid").count(), 0);
        let lookup = |field: &str| match field {
            "order.id" => Some("O1".to_owned()),
            "customer.name" => Some("Hà".to_owned()),
            _ => None,
        };
        let rendered = render_params(rules.zns[0].params.as_ref(), lookup).unwrap();
        assert_eq!(rendered["order_id"], "O1");
        assert_eq!(rendered["requester"], "Hà");
        assert_eq!(rendered["note"], "Đơn O1: ");
        assert_eq!(render_params(None, lookup), None);
        let odd = BTreeMap::from([
            ("a".to_owned(), "{ {order.id} }".to_owned()),
            ("b".to_owned(), "x{".to_owned()),
        ]);
        let rendered = render_params(Some(&odd), lookup).unwrap();
        assert_eq!(
            (rendered["a"].as_str(), rendered["b"].as_str()),
            ("{ O1 }", "x{")
        );

        let refused = |doc: &str| Rules::parse(doc).unwrap_err();
        assert!(
            refused(r#"{"zns": [{"on": "order.lost", "template_id": 1}]}"#)
                .contains("zns[0].on must be one of")
        );
        assert!(
            refused(r#"{"zns": [{"on": "order.paid", "template_id": 0}]}"#)
                .contains("positive integer")
        );
        assert!(
            refused(r#"{"zns": [{"on": "order.paid", "template_id": -3}]}"#).contains("not valid")
        );
        assert!(
            refused(r#"{"zns": [{"on": "order.paid", "template_id": "366"}]}"#)
                .contains("not valid")
        );
        assert!(refused(r#"{"zns": [{"on": "order.paid", "template_id": 1, "params": {"x": "{order.colour}"}}]}"#)
            .contains("zns[0].params.x: unknown placeholder {order.colour}"));
        assert!(refused(
            r#"{"zns": [{"on": "order.paid", "template_id": 1, "params": {"x": "{text}"}}]}"#
        )
        .contains("unknown placeholder {text}"));
        assert!(
            refused(r#"{"zns_fallback": {"template_id": 1, "params": {"x": "{nope}"}}}"#)
                .contains("zns_fallback.params.x")
        );
    }

    #[test]
    fn empty_document_is_valid() {
        assert_eq!(Rules::parse("{}").unwrap(), Rules::default());
    }

    #[test]
    fn refuses_invalid_documents() {
        for bad in [
            "not json",
            "[]",
            r#"{"faq": [{"keywords": [], "reply": "x"}]}"#,
            r#"{"faq": [{"keywords": [" "], "reply": "x"}]}"#,
            r#"{"faq": [{"keywords": ["a"], "reply": ""}]}"#,
            r#"{"routes": [{"kf_accounts": ["a@b"]}]}"#,
            r#"{"routes": [{"keywords": ["a"], "kf_accounts": ["nobody"]}]}"#,
            r#"{"routes": [{"keywords": ["a"], "kf_accounts": []}]}"#,
            r#"{"faq": [], "unknown": 1}"#,
        ] {
            assert!(Rules::parse(bad).is_err(), "{bad}");
        }
        let long = format!(
            r#"{{"faq": [{{"keywords": ["a"], "reply": "{}"}}]}}"#,
            "x".repeat(MAX_REPLY_BYTES + 1)
        );
        assert!(Rules::parse(&long).is_err());
    }

    #[test]
    fn card_shop_problems_find_faq_and_routes_by_category_then_keywords() {
        let rules = Rules::parse(
            r#"{"faq": [{"keywords": ["退款"], "reply": "by keyword"}, {"category": "invalid_card", "reply": "by category"}],
                "routes": [{"category": "refund", "kf_accounts": ["r@gh"]}, {"keywords": ["卡密"], "kf_accounts": ["k@gh"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            rules.faq_reply_for_problem("invalid_card", Some("x")),
            Some("by category")
        );
        assert_eq!(
            rules.faq_reply_for_problem("general", Some("我要退款")),
            Some("by keyword")
        );
        assert_eq!(rules.faq_reply_for_problem("general", None), None);
        let route = |c, m| {
            rules
                .route_for_problem(c, m)
                .map(|r| r.kf_accounts[0].as_str())
        };
        assert_eq!(route("refund", None), Some("r@gh"));
        assert_eq!(route("delayed", Some("卡密呢")), Some("k@gh"));
        assert_eq!(route("delayed", Some("hello")), None);
        // A category rule needs no keywords; an unknown category is refused by name.
        assert!(Rules::parse(r#"{"faq": [{"reply": "no keywords, no category"}]}"#).is_err());
        let unknown = Rules::parse(r#"{"faq": [{"category": "lost", "reply": "x"}]}"#).unwrap_err();
        assert!(
            unknown.starts_with("faq[0].category must be one of not_delivered"),
            "{unknown}"
        );
        assert!(
            Rules::parse(r#"{"routes": [{"category": "lost", "kf_accounts": ["a@b"]}]}"#).is_err()
        );
    }
}
