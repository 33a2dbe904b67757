//! The WeCom group robot that receives staff alerts: the webhook request, and the coalescing of
//! pending alerts into as few messages as the robot's limits allow (20 a minute, markdown at most
//! 4096 bytes). Alerts over the limit wait and go out together in the next message; none is
//! dropped.

use serde::Deserialize;

use crate::http::HttpRequest;

pub const MAX_MARKDOWN_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PendingAlert {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub text: String,
}

/// One robot message and the alerts it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub markdown: String,
    pub included: Vec<i64>,
}

impl Composed {
    /// The first and last alert ids it carries (alerts are composed oldest first).
    pub fn range(&self) -> (i64, i64) {
        let first = self.included.first().copied().unwrap_or_default();
        (first, self.included.last().copied().unwrap_or(first))
    }
}

/// Packs pending alerts, oldest first, into one markdown message of at most 4096 bytes. The
/// first alert is always included (truncated if it alone is too long); the rest only whole.
pub fn compose(alerts: &[PendingAlert]) -> Option<Composed> {
    let first = alerts.first()?;
    let mut markdown = String::new();
    let mut included = Vec::new();
    for alert in alerts {
        let line = line(alert);
        let header = header(included.len() + 1);
        // The header is rewritten with the final count; reserve room for the longest one.
        let would_be = header.len() + markdown.len() + line.len();
        if !included.is_empty() && would_be > MAX_MARKDOWN_BYTES {
            break;
        }
        markdown.push_str(&line);
        included.push(alert.id);
    }
    let header = header(included.len());
    let body = truncate_utf8(&markdown, MAX_MARKDOWN_BYTES - header.len());
    debug_assert!(included.contains(&first.id));
    Some(Composed {
        markdown: format!("{header}{body}"),
        included,
    })
}

fn header(count: usize) -> String {
    if count == 1 {
        "**kefu-edge alert**\n".to_owned()
    } else {
        format!("**kefu-edge: {count} alerts**\n")
    }
}

/// Text a customer wrote, made inert for WeCom markdown: the characters it acts on (links,
/// emphasis, code, headers, `<font>` and `<@mentions>`) become their full-width look-alikes, so
/// a customer cannot put a link or a mention in front of staff.
pub fn neutralize_markdown(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' => ' ',
            '[' => '［',
            ']' => '］',
            '(' => '（',
            ')' => '）',
            '<' => '＜',
            '>' => '＞',
            '*' => '＊',
            '`' => '｀',
            '@' => '＠',
            '#' => '＃',
            '_' => '＿',
            '~' => '～',
            other => other,
        })
        .collect()
}

fn line(alert: &PendingAlert) -> String {
    let text = alert.text.replace('\n', " ");
    match alert.ticket_id {
        Some(id) => format!("> #{id} {text}\n"),
        None => format!("> {text}\n"),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// `POST {WECOM_API_BASE}/cgi-bin/webhook/send?key=…` with a markdown message.
pub fn robot_request(api_base: &str, robot_key: &str, markdown: &str) -> HttpRequest {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("key", robot_key)
        .finish();
    let body = serde_json::json!({ "msgtype": "markdown", "markdown": { "content": markdown } });
    HttpRequest::post_json(
        format!("{api_base}/cgi-bin/webhook/send?{query}"),
        body.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: i64, text: &str) -> PendingAlert {
        PendingAlert {
            id,
            ticket_id: Some(id + 100),
            text: text.into(),
        }
    }

    #[test]
    fn one_alert() {
        let c = compose(&[alert(1, "New oa ticket")]).unwrap();
        assert_eq!(c.markdown, "**kefu-edge alert**\n> #101 New oa ticket\n");
        assert_eq!(c.included, [1]);
        assert!(compose(&[]).is_none());
    }

    #[test]
    fn coalesces_many_within_the_size_limit() {
        let alerts: Vec<_> = (0..45)
            .map(|i| alert(i, &format!("ticket {i} 客户说: {}", "很".repeat(30))))
            .collect();
        let mut rest = alerts.as_slice();
        let mut messages = 0;
        let mut carried = 0;
        while let Some(c) = compose(rest) {
            assert!(c.markdown.len() <= MAX_MARKDOWN_BYTES);
            assert!(
                c.markdown
                    .starts_with(&format!("**kefu-edge: {} alerts**", c.included.len()))
                    || c.included.len() == 1
            );
            carried += c.included.len();
            rest = &rest[c.included.len()..];
            messages += 1;
        }
        assert_eq!(carried, 45);
        assert!(messages <= 3, "{messages}");
    }

    #[test]
    fn an_oversized_alert_is_truncated_on_a_character_boundary() {
        let c = compose(&[alert(1, &"告警".repeat(2000)), alert(2, "next")]).unwrap();
        assert_eq!(c.included, [1]);
        assert!(c.markdown.len() <= MAX_MARKDOWN_BYTES);
        // The longest prefix that fits: less than one character (3 bytes) short of the limit,
        // ending on a whole character.
        assert!(
            c.markdown.len() > MAX_MARKDOWN_BYTES - "告".len(),
            "{}",
            c.markdown.len()
        );
        assert!(c.markdown.ends_with('告') || c.markdown.ends_with('警'));
        assert_eq!(truncate_utf8("aé", 2), "a");
        assert_eq!(truncate_utf8("abc", 5), "abc");
    }

    #[test]
    fn builds_the_webhook_request() {
        let r = robot_request("http://127.0.0.1:1", "k&y", "hi");
        assert_eq!(r.url, "http://127.0.0.1:1/cgi-bin/webhook/send?key=k%26y");
        let body: serde_json::Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"msgtype": "markdown", "markdown": {"content": "hi"}})
        );
    }

    #[test]
    fn customer_text_cannot_add_links_mentions_or_markup() {
        let text = neutralize_markdown(
            "[click me](http://evil.example) <@all> <font color=\"warning\">x</font> **bold** `code`\n# header",
        );
        for forbidden in ["[", "](", "<@", "<font", "**", "`", "\n", "#"] {
            assert!(!text.contains(forbidden), "{forbidden:?} in {text}");
        }
        assert!(
            text.contains("［click me］（http://evil.example）"),
            "{text}"
        );
        assert_eq!(neutralize_markdown("退款 refund 123"), "退款 refund 123");
    }
}
