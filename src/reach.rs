//! Which channel carries a message to a customer: WeChat customer-service messages while the
//! 48-hour window the customer's last message opened may be open, else Zalo ZNS to their phone
//! through the merchant's `zns_fallback` template; and the ZNS sends the rules ask for.

use crate::outbound::OutboundCall;
use crate::platforms::caresoft::{normalize_phone, ZnsSend};
use crate::platforms::zalo::{CsMessage, Window};
use crate::rules::{render_params, ZnsTemplate, FALLBACK_TEXT};
use crate::settings::PhoneFormat;
use crate::wechat::custom_send::CustomMessage;

/// WeChat accepts customer-service messages for this long after the customer's last message.
pub const WECHAT_WINDOW_SECS: i64 = 48 * 3600;

/// When the customer behind an OpenID last wrote to the Official Account (`{"at": …}`): the
/// start of the 48-hour window.
pub const LAST_WECHAT_MESSAGE_SQL: &str =
    "SELECT MAX(tl.at) AS at FROM ticket_timeline tl JOIN tickets t ON t.id = tl.ticket_id \
     WHERE t.channel = 'oa' AND t.customer_id = ? AND tl.kind = 'inbound'";

/// The row `LAST_WECHAT_MESSAGE_SQL` answers.
#[derive(Debug, serde::Deserialize)]
pub struct LastMessage {
    pub at: Option<i64>,
}

/// A Zalo customer's (`?1`, their user id) last message to the OA and our sends since: their
/// consultation window and free replies (`platforms::zalo::Window`).
pub const ZALO_WINDOW_SQL: &str =
    "SELECT (SELECT MAX(tl.at) FROM ticket_timeline tl JOIN tickets t ON t.id = tl.ticket_id \
       WHERE t.channel = 'zalo' AND t.customer_id = ?1 AND tl.kind = 'inbound') AS at, \
     (SELECT COUNT(*) FROM zalo_sent s WHERE s.user_id = ?1 AND s.sent_at >= \
       (SELECT MAX(tl.at) FROM ticket_timeline tl JOIN tickets t ON t.id = tl.ticket_id \
        WHERE t.channel = 'zalo' AND t.customer_id = ?1 AND tl.kind = 'inbound')) AS sent";

/// The row `ZALO_WINDOW_SQL` answers.
#[derive(Debug, serde::Deserialize)]
pub struct ZaloActivity {
    pub at: Option<i64>,
    pub sent: Option<i64>,
}

impl ZaloActivity {
    pub fn window(&self, now: i64) -> Window {
        Window::of(self.at, self.sent.unwrap_or(0), now)
    }
}

/// Who the message is for, as far as the channels go.
pub struct Recipient<'a> {
    pub openid: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// When the customer last wrote on WeChat, if the timeline knows.
    pub last_wechat_message_at: Option<i64>,
}

/// The way a message goes, and why, for the ticket and for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub call: OutboundCall,
    pub why: Why,
}

/// Why a channel was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    WindowMayBeOpen,
    NoOpenId,
    WindowClosed,
    ClosedWithoutFallback,
    /// Zalo: the customer wrote within the consultation window.
    ZaloWindowOpen,
    /// Zalo's window is closed: ZNS to the phone the customer shared or ordered with.
    ZaloWindowClosed,
}

impl Why {
    /// A stable name, which the dashboard translates.
    pub fn code(self) -> &'static str {
        match self {
            Why::WindowMayBeOpen => "window_may_be_open",
            Why::NoOpenId => "no_openid",
            Why::WindowClosed => "window_closed",
            Why::ClosedWithoutFallback => "closed_without_fallback",
            Why::ZaloWindowOpen => "zalo_window_open",
            Why::ZaloWindowClosed => "zalo_window_closed",
        }
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::WindowMayBeOpen => "WeChat: the customer's 48-hour window may be open",
            Why::NoOpenId => "ZNS: the customer has no WeChat OpenID",
            Why::WindowClosed => "ZNS: the customer's 48-hour WeChat window is closed",
            Why::ClosedWithoutFallback => {
                "WeChat: the 48-hour window is closed and no ZNS fallback is configured"
            }
            Why::ZaloWindowOpen => "Zalo: the customer's 7-day consultation window is open",
            Why::ZaloWindowClosed => "ZNS: the customer's 7-day Zalo window is closed",
        })
    }
}

/// Picks the channel for `text`. `fallback_params` fills the fallback template's placeholders
/// other than `{text}`. `None`: no channel reaches the customer.
pub fn reach(
    text: &str,
    to: &Recipient,
    fallback: Option<&ZnsTemplate>,
    fallback_params: impl Fn(&str) -> Option<String>,
    phone_format: PhoneFormat,
    now: i64,
) -> Option<Reach> {
    let zns = zns_fallback(text, to.phone, fallback, &fallback_params, phone_format);
    let window_closed = to
        .last_wechat_message_at
        .is_some_and(|at| now - at >= WECHAT_WINDOW_SECS);
    let wechat = |fallback: Option<ZnsSend>| {
        to.openid.map(|openid| OutboundCall::CustomSend {
            touser: openid.to_owned(),
            message: CustomMessage::Text {
                content: text.to_owned(),
            },
            fallback,
        })
    };
    match (window_closed, zns) {
        (false, zns) => wechat(zns.clone())
            .map(|call| Reach {
                call,
                why: Why::WindowMayBeOpen,
            })
            .or_else(|| {
                zns.map(|send| Reach {
                    call: zns_call(send),
                    why: Why::NoOpenId,
                })
            }),
        (true, Some(send)) => Some(Reach {
            call: zns_call(send),
            why: Why::WindowClosed,
        }),
        // Tried anyway: WeChat's refusal (45015) then shows on the ticket.
        (true, None) => wechat(None).map(|call| Reach {
            call,
            why: Why::ClosedWithoutFallback,
        }),
    }
}

/// `text` as the merchant's `zns_fallback` template to `phone`, when both are usable.
fn zns_fallback(
    text: &str,
    phone: Option<&str>,
    fallback: Option<&ZnsTemplate>,
    fallback_params: &impl Fn(&str) -> Option<String>,
    phone_format: PhoneFormat,
) -> Option<ZnsSend> {
    let template = fallback?;
    let phone = normalize_phone(phone?, phone_format).ok()?;
    let params = render_params(template.params.as_ref(), |field| match field {
        FALLBACK_TEXT => Some(text.to_owned()),
        other => fallback_params(other),
    });
    Some(ZnsSend {
        phone,
        template_id: template.template_id,
        params,
    })
}

/// A Zalo OA customer: who they are there, the phone they shared (or ordered with), and their
/// consultation window.
pub struct ZaloRecipient<'a> {
    pub user_id: &'a str,
    pub phone: Option<&'a str>,
    pub window: Window,
}

/// Picks the channel for `text` to a Zalo customer: a consultation message while the window is
/// open (with ZNS behind it, should Zalo answer that it closed meanwhile), else the ZNS
/// fallback, else none.
pub fn reach_zalo(
    text: &str,
    to: &ZaloRecipient,
    fallback: Option<&ZnsTemplate>,
    fallback_params: impl Fn(&str) -> Option<String>,
    phone_format: PhoneFormat,
    now: i64,
) -> Option<Reach> {
    let zns = zns_fallback(text, to.phone, fallback, &fallback_params, phone_format);
    if to.window.is_open(now) {
        return Some(Reach {
            call: OutboundCall::ZaloCs {
                user_id: to.user_id.to_owned(),
                message: CsMessage::Text {
                    text: text.to_owned(),
                },
                fallback: zns,
            },
            why: Why::ZaloWindowOpen,
        });
    }
    zns.map(|send| Reach {
        call: zns_call(send),
        why: Why::ZaloWindowClosed,
    })
}

/// A ZNS send, to continue the ticket's CareSoft ticket when it has one.
pub fn zns_call(send: ZnsSend) -> OutboundCall {
    OutboundCall::Zns {
        send,
        caresoft_ticket_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const NOW: i64 = 1_800_000_000;

    fn fallback() -> ZnsTemplate {
        ZnsTemplate {
            template_id: 367,
            params: Some(BTreeMap::from([
                ("message".to_owned(), "{text}".to_owned()),
                ("order".to_owned(), "{order.id}".to_owned()),
            ])),
        }
    }

    fn pick(to: &Recipient, fallback: Option<&ZnsTemplate>) -> Option<Reach> {
        let order = |field: &str| (field == "order.id").then(|| "O1".to_owned());
        reach("hello", to, fallback, order, PhoneFormat::Local, NOW)
    }

    fn to(
        openid: Option<&'static str>,
        phone: Option<&'static str>,
        last: Option<i64>,
    ) -> Recipient<'static> {
        Recipient {
            openid,
            phone,
            last_wechat_message_at: last,
        }
    }

    fn expected_zns() -> ZnsSend {
        ZnsSend {
            phone: "0983123148".into(),
            template_id: 367,
            params: Some(BTreeMap::from([
                ("message".to_owned(), "hello".to_owned()),
                ("order".to_owned(), "O1".to_owned()),
            ])),
        }
    }

    #[test]
    fn wechat_while_the_window_may_be_open_with_zns_behind_it() {
        let recent = NOW - WECHAT_WINDOW_SECS + 60;
        for last in [None, Some(recent)] {
            let reach = pick(
                &to(Some("oU"), Some("+84 983 123 148"), last),
                Some(&fallback()),
            )
            .unwrap();
            assert_eq!(
                reach.call,
                OutboundCall::CustomSend {
                    touser: "oU".into(),
                    message: CustomMessage::Text {
                        content: "hello".into()
                    },
                    fallback: Some(expected_zns()),
                }
            );
        }
        let plain = pick(&to(Some("oU"), Some("0983123148"), None), None).unwrap();
        assert!(matches!(
            plain.call,
            OutboundCall::CustomSend { fallback: None, .. }
        ));
        let bad_phone = pick(&to(Some("oU"), Some("12"), None), Some(&fallback())).unwrap();
        assert!(matches!(
            bad_phone.call,
            OutboundCall::CustomSend { fallback: None, .. }
        ));
    }

    #[test]
    fn zns_without_an_openid_or_once_the_window_closed() {
        let no_openid = pick(&to(None, Some("0983123148"), None), Some(&fallback())).unwrap();
        assert_eq!(no_openid.call, zns_call(expected_zns()));
        assert_eq!(no_openid.why, Why::NoOpenId);
        assert!(no_openid.why.to_string().contains("no WeChat OpenID"));
        assert_eq!(no_openid.why.code(), "no_openid");
        let closed = pick(
            &to(
                Some("oU"),
                Some("0983123148"),
                Some(NOW - WECHAT_WINDOW_SECS),
            ),
            Some(&fallback()),
        )
        .unwrap();
        assert_eq!(closed.call, zns_call(expected_zns()));
        assert_eq!(closed.why, Why::WindowClosed);
    }

    #[test]
    fn zalo_while_its_window_is_open_then_zns_to_a_known_phone_else_none() {
        let window = |last: Option<i64>| Window::of(last, 0, NOW);
        let to = |phone, last| ZaloRecipient {
            user_id: "U1",
            phone,
            window: window(last),
        };
        let pick = |to: &ZaloRecipient, fallback: Option<&ZnsTemplate>| {
            let order = |field: &str| (field == "order.id").then(|| "O1".to_owned());
            reach_zalo("hello", to, fallback, order, PhoneFormat::Local, NOW)
        };
        let open = pick(&to(Some("0983123148"), Some(NOW - 60)), Some(&fallback())).unwrap();
        assert_eq!(
            open.call,
            OutboundCall::ZaloCs {
                user_id: "U1".into(),
                message: CsMessage::Text {
                    text: "hello".into()
                },
                fallback: Some(expected_zns()),
            }
        );
        assert_eq!(open.why.code(), "zalo_window_open");
        let last_week = Some(NOW - crate::platforms::zalo::WINDOW_SECS);
        let closed = pick(&to(Some("0983123148"), last_week), Some(&fallback())).unwrap();
        assert_eq!(closed.call, zns_call(expected_zns()));
        assert_eq!(closed.why, Why::ZaloWindowClosed);
        assert!(closed
            .why
            .to_string()
            .contains("7-day Zalo window is closed"));
        assert_eq!(pick(&to(None, last_week), Some(&fallback())), None);
        assert_eq!(pick(&to(Some("0983123148"), last_week), None), None);
        assert_eq!(
            pick(&to(Some("0983123148"), None), Some(&fallback())).map(|r| r.why),
            Some(Why::ZaloWindowClosed)
        );
    }

    #[test]
    fn what_no_channel_can_carry() {
        assert_eq!(pick(&to(None, Some("0983123148"), None), None), None);
        assert_eq!(
            pick(&to(None, Some("not a phone"), None), Some(&fallback())),
            None
        );
        assert_eq!(pick(&to(None, None, None), Some(&fallback())), None);
        let closed_no_fallback = pick(&to(Some("oU"), None, Some(0)), None).unwrap();
        assert!(matches!(
            closed_no_fallback.call,
            OutboundCall::CustomSend { .. }
        ));
        assert_eq!(closed_no_fallback.why, Why::ClosedWithoutFallback);
        assert!(closed_no_fallback
            .why
            .to_string()
            .contains("no ZNS fallback"));
    }
}
