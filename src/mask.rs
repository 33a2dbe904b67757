//! Masking of personal data (OpenIDs, phone numbers) before anything reaches a log.

/// Keeps the first and last few characters: enough to correlate log lines, not to identify.
/// Built from slices of `id`, not with `format!`: every logged push masks its sender.
pub fn mask(id: &str) -> String {
    let chars = id.chars().count();
    if chars <= 6 {
        return "*".repeat(chars);
    }
    let head_end = id.char_indices().nth(3).map_or(0, |(at, _)| at);
    let tail_start = id.char_indices().nth_back(2).map_or(0, |(at, _)| at);
    [
        id.get(..head_end).unwrap_or_default(),
        "***",
        id.get(tail_start..).unwrap_or_default(),
    ]
    .concat()
}

/// A parser's error (serde's) with the values it quotes masked, for a log line or a stored
/// reason: serde quotes what it read (`invalid type: string "0983123148", expected i64`,
/// ``unknown variant `oAbc…`, expected …``), which may be a phone number, an OpenID or a
/// token. What it expected is the schema's own words, and so is a missing field's name: those
/// stay readable.
pub fn mask_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        out.push_str(&rest[..open]);
        let quote = &rest[open..=open];
        let after_open = &rest[open + 1..];
        // An unclosed quote: everything after it is the value.
        let (value, after) = match after_open.find(quote) {
            Some(close) => (&after_open[..close], &after_open[close..]),
            None => (after_open, ""),
        };
        let schema = out.contains("expected")
            || out.ends_with("missing field ")
            || out.ends_with("duplicate field ");
        out.push_str(quote);
        out.push_str(&if schema {
            value.to_owned()
        } else {
            mask(value)
        });
        out.push_str(after.get(..1).unwrap_or_default());
        rest = after.get(1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_a_parser_quotes_are_masked_and_its_schema_words_kept() {
        let error = |json: &str| {
            #[derive(Debug, serde::Deserialize)]
            #[allow(dead_code)] // read only to fail
            struct Event {
                amount: i64,
                kind: Kind,
            }
            #[derive(Debug, serde::Deserialize)]
            #[serde(rename_all = "snake_case")]
            enum Kind {
                Virtual,
                Physical,
            }
            mask_quoted(&serde_json::from_str::<Event>(json).unwrap_err().to_string())
        };
        assert_eq!(
            error(r#"{"amount": "0983123148", "kind": "virtual"}"#),
            r#"invalid type: string "098***148", expected i64 at line 1 column 23"#
        );
        assert_eq!(
            error(r#"{"amount": 1, "kind": "oAbcdefghijklmn"}"#),
            "unknown variant `oAb***lmn`, expected `virtual` or `physical` at line 1 column 39"
        );
        assert_eq!(
            error(r#"{"amount": true}"#),
            "invalid type: boolean `****`, expected i64 at line 1 column 15",
            "every value, whatever its type"
        );
        assert_eq!(
            error(r#"{"amount": 1}"#),
            "missing field `kind` at line 1 column 13"
        );
        let token = error(r#"{"amount": "ACCESS_TOKEN_0123456789abcdef", "kind": "virtual"}"#);
        assert!(!token.contains("0123456789"), "{token}");
        // A value that quotes the schema's words, or never closes its quote, is masked whole.
        assert_eq!(
            mask_quoted(r#"invalid type: string "expected 0983123148" at line 1"#),
            r#"invalid type: string "exp***148" at line 1"#
        );
        assert_eq!(
            mask_quoted(r#"invalid value: string "0983123148"#),
            r#"invalid value: string "098***148"#
        );
        assert_eq!(mask_quoted("no quotes: kept"), "no quotes: kept");
    }

    #[test]
    fn masks_middle() {
        assert_eq!(mask("oABCDEFGHIJKLMNOP"), "oAB***NOP");
        assert_eq!(mask("0912345678"), "091***678");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("越南语用户标识符"), "越南语***标识符");
        // Seven characters: one is hidden; six or fewer: all are.
        assert_eq!(mask("abcdefg"), "abc***efg");
        assert_eq!(mask("越南语用户标识"), "越南语***户标识");
        assert_eq!(mask("abcdef"), "******");
        assert_eq!(mask(""), "");
    }
}
