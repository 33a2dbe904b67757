//! The customer channels, and which one carries a message to a customer.
//!
//! Every customer channel (the Official Account's customer-service messages, the WeChat Shop's
//! `commkf` and Zalo OA's consultation messages today; WeCom 微信客服 next) answers the same three questions, and
//! everything that messages a customer (staff replies, FAQ auto-replies, notices) asks them
//! here, never in a copy of its own:
//!
//! 1. **Is the window open, and how many sends are left?** [`Channel::window`] computes a
//!    [`Window`] from [`Contact`] (what the timeline says: when the customer last wrote, when
//!    they last clicked a menu, followed or scanned, and how many sends to them are recorded
//!    since, queued ones included) and `now`. [`Channel::grants`] lists the platform's rules.
//!    [`CONTACT_SQL`] reads the facts; [`Window::guard`] keeps two replies planned from the
//!    same read from both going out past the count.
//! 2. **Build the send.** [`Channel::send`] turns an [`Outgoing`] message into the
//!    [`OutboundCall`] a delivery stores (the delivery id goes along where the platform
//!    de-duplicates by it).
//! 3. **Classify the answer.** [`OutboundCall::classify`], by the platform's rules (WeChat's
//!    `errcode`: 45015 window closed and 45047 too many messages are permanent; Zalo's `error`,
//!    `platforms::zalo::classify_api`).
//!
//! A new channel is a new `Channel` variant answering these three. [`reach`] puts them together
//! with the Zalo ZNS fallback: the customer's channel while its window allows, else a ZNS
//! template to their phone, else nothing, with the reason.

use crate::outbound::OutboundCall;
use crate::platforms::caresoft::{normalize_phone, ZnsSend};
use crate::platforms::shop::send::ShopOutgoing;
use crate::platforms::zalo::{self, CsMessage};
use crate::rules::{render_params, ZnsTemplate, FALLBACK_TEXT};
use crate::settings::{PhoneFormat, Settings};
use crate::sql::Statement;
use crate::tickets::recipient_key;
use crate::wechat::api::App;
use crate::wechat::custom_send::CustomMessage;

/// WeChat accepts customer-service messages for this long after the customer's last message.
pub const WECHAT_WINDOW_SECS: i64 = 48 * 3600;

/// What the timeline says of a customer on a channel (`?1` the ticket channel, `?2` the
/// customer's id there, `?3` their recipient key): when they last wrote and last interacted,
/// and the sends recorded since each (queued, sending or delivered: all but dead ones).
pub const CONTACT_SQL: &str = "SELECT \
       (SELECT MAX(tl.at) FROM ticket_timeline tl JOIN tickets t ON t.id = tl.ticket_id \
         WHERE t.channel = ?1 AND t.customer_id = ?2 AND tl.kind = 'inbound') AS last_message_at, \
       (SELECT at FROM channel_interactions WHERE recipient = ?3) AS last_interaction_at, \
       (SELECT COUNT(*) FROM deliveries d WHERE d.recipient = ?3 AND d.state != 'dead' AND d.created_at >= \
         (SELECT MAX(tl.at) FROM ticket_timeline tl JOIN tickets t ON t.id = tl.ticket_id \
           WHERE t.channel = ?1 AND t.customer_id = ?2 AND tl.kind = 'inbound')) AS sent_since_message, \
       (SELECT COUNT(*) FROM deliveries d WHERE d.recipient = ?3 AND d.state != 'dead' AND d.created_at >= \
         (SELECT at FROM channel_interactions WHERE recipient = ?3)) AS sent_since_interaction";

/// The facts a window is computed from: the row [`CONTACT_SQL`] answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Contact {
    /// When the customer last wrote on the channel, if the timeline knows.
    pub last_message_at: Option<i64>,
    /// When they last clicked a menu, followed or scanned (Official Account).
    pub last_interaction_at: Option<i64>,
    #[serde(default)]
    pub sent_since_message: u32,
    #[serde(default)]
    pub sent_since_interaction: u32,
}

/// A customer channel with a send window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Official Account customer-service messages (`message/custom/send`).
    Oa,
    /// WeChat Shop customer service (`channels/ec/commkf/sendmsg`).
    Shop,
    /// Zalo OA consultation messages (`v3.0/oa/message/cs`).
    Zalo,
}

/// What opens a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The customer wrote.
    Message,
    /// The customer clicked a menu, followed or scanned a QR code.
    Interaction,
}

/// One of a platform's rules: after `trigger`, `sends` messages within `secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub trigger: Trigger,
    pub secs: i64,
    pub sends: u32,
}

/// What a channel allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When the window closes; `None` when nothing recorded says when the customer last wrote
    /// (then the platform decides, and its refusal shows on the ticket).
    pub open_until: Option<i64>,
    /// [`UNLIMITED`] where the platform does not count.
    pub sends_left: u32,
    /// The grant the sends are counted against: since when, and how many it allows.
    pub counted_since: Option<i64>,
    pub allowed: u32,
    /// Zalo: the free replies left (later ones are charged, not refused).
    pub free_replies_left: Option<u32>,
}

/// The sends left on a channel that does not count them.
pub const UNLIMITED: u32 = u32::MAX;

/// Why a window does not allow a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shut {
    /// The time ran out: the customer has not written for too long.
    Expired,
    /// The window is open, but every send it allows is used (or queued).
    SendsUsed,
}

impl Window {
    /// Whether a send may go now, and if not, why.
    pub fn check(&self, now: i64) -> Result<(), Shut> {
        match self.open_until {
            Some(until) if now >= until => Err(Shut::Expired),
            _ if self.sends_left == 0 => Err(Shut::SendsUsed),
            _ => Ok(()),
        }
    }

    /// The statement that aborts a transaction recording one more send to `recipient` when the
    /// sends already recorded since the window opened use it up: two replies planned from the
    /// same read cannot both go out past the count. None when nothing is counted.
    pub fn guard(&self, recipient: &str) -> Option<Statement> {
        let since = self.counted_since?;
        Some(Statement::new(
            "INSERT INTO expectations (holds) SELECT 0 WHERE \
             (SELECT COUNT(*) FROM deliveries WHERE recipient = ? AND state != 'dead' AND created_at >= ?) >= ?",
            vec![
                recipient.into(),
                since.into(),
                i64::from(self.allowed).into(),
            ],
        ))
    }
}

/// A message to a customer, whatever the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing<'a> {
    Text(&'a str),
    /// A product card (WeChat Shop).
    ProductCard(&'a str),
    /// An order card (WeChat Shop).
    OrderCard(&'a str),
}

impl<'a> Outgoing<'a> {
    /// The text, for channels that carry only text (None: a card, which only the Shop sends).
    fn text(self) -> Option<&'a str> {
        match self {
            Outgoing::Text(text) => Some(text),
            Outgoing::ProductCard(_) | Outgoing::OrderCard(_) => None,
        }
    }
}

impl Channel {
    /// The ticket channel whose customers this channel reaches.
    pub fn ticket_channel(self) -> &'static str {
        match self {
            Channel::Oa => "oa",
            Channel::Shop => "shop",
            Channel::Zalo => crate::tickets::ZALO,
        }
    }

    /// The name `reach` reports (and the dashboard translates).
    pub fn name(self) -> &'static str {
        match self {
            Channel::Oa => "wechat",
            Channel::Shop => "wechat_shop",
            Channel::Zalo => "zalo",
        }
    }

    /// The platform's rules. The Official Account (since 2023-06-12): 5 messages within 48
    /// hours of the customer's message, 3 within a minute of a menu click, follow or scan. The
    /// Shop: 5 messages within 48 hours of the buyer's message, until they write again.
    pub fn grants(self) -> &'static [Grant] {
        const MESSAGE: Grant = Grant {
            trigger: Trigger::Message,
            secs: WECHAT_WINDOW_SECS,
            sends: 5,
        };
        match self {
            Channel::Oa => &[
                MESSAGE,
                Grant {
                    trigger: Trigger::Interaction,
                    secs: 60,
                    sends: 3,
                },
            ],
            Channel::Shop => &[MESSAGE],
            // Zalo does not count sends: its window is `platforms::zalo::Window`.
            Channel::Zalo => &[],
        }
    }

    /// The customer's key in `deliveries.recipient`.
    pub fn recipient(self, id: &str) -> String {
        recipient_key(self.ticket_channel(), id)
    }

    /// The parameters of [`CONTACT_SQL`] for the customer `id`.
    pub fn contact_query(self, id: &str) -> Statement {
        Statement::new(
            CONTACT_SQL,
            vec![
                self.ticket_channel().into(),
                id.into(),
                self.recipient(id).into(),
            ],
        )
    }

    /// The window now: the grant with the most sends left among those still open; when none is
    /// open, the latest to close, with no sends left. Zalo: 7 days after the customer's last
    /// message, uncounted, with the free replies left; closed when they never wrote.
    pub fn window(self, contact: &Contact, now: i64) -> Window {
        if self == Channel::Zalo {
            let sent = i64::from(contact.sent_since_message);
            let zalo = zalo::Window::of(contact.last_message_at, sent, now);
            return Window {
                open_until: Some(zalo.open_until.unwrap_or(now)),
                sends_left: UNLIMITED,
                counted_since: None,
                allowed: UNLIMITED,
                free_replies_left: Some(u32::try_from(zalo.free_replies_left).unwrap_or(0)),
            };
        }
        let counted = self.grants().iter().filter_map(|grant| {
            let (at, sent) = match grant.trigger {
                Trigger::Message => (contact.last_message_at?, contact.sent_since_message),
                Trigger::Interaction => {
                    (contact.last_interaction_at?, contact.sent_since_interaction)
                }
            };
            Some(Window {
                open_until: Some(at.saturating_add(grant.secs)),
                sends_left: grant.sends.saturating_sub(sent),
                counted_since: Some(at),
                allowed: grant.sends,
                free_replies_left: None,
            })
        });
        let (open, shut): (Vec<Window>, Vec<Window>) = counted.partition(|w| w.check(now).is_ok());
        if let Some(best) = open
            .into_iter()
            .max_by_key(|w| (w.sends_left, w.open_until))
        {
            return best;
        }
        match shut.into_iter().max_by_key(|w| w.open_until) {
            Some(latest) => Window {
                sends_left: 0,
                ..latest
            },
            // Nothing recorded: the platform's first rule, not counted here.
            None => Window {
                open_until: None,
                sends_left: self.grants()[0].sends,
                counted_since: None,
                allowed: self.grants()[0].sends,
                free_replies_left: None,
            },
        }
    }

    /// The setting missing for this channel to send, if one is.
    pub fn missing_setting(self, settings: &Settings) -> Option<&'static str> {
        match self {
            Channel::Oa => None,
            Channel::Shop => settings.app_credentials(App::Shop).err(),
            Channel::Zalo => settings.zalo_credentials().err(),
        }
    }

    /// The call that carries `message` to the customer `to` (None: the channel cannot carry
    /// it). `delivery_id` is the platform's de-duplication key where it has one; `fallback`
    /// sends a text as ZNS when the Official Account or Zalo answers that the window is closed.
    pub fn send(
        self,
        to: &str,
        message: Outgoing,
        delivery_id: &str,
        fallback: Option<ZnsSend>,
    ) -> Option<OutboundCall> {
        match self {
            Channel::Oa => Some(OutboundCall::CustomSend {
                touser: to.to_owned(),
                message: CustomMessage::Text {
                    content: message.text()?.to_owned(),
                },
                fallback,
            }),
            Channel::Shop => {
                let message = match message {
                    Outgoing::Text(text) => ShopOutgoing::Text {
                        content: text.to_owned(),
                    },
                    Outgoing::ProductCard(id) => ShopOutgoing::ProductShare {
                        product_id: id.to_owned(),
                    },
                    Outgoing::OrderCard(id) => ShopOutgoing::OrderShare {
                        order_id: id.to_owned(),
                    },
                };
                Some(OutboundCall::ShopSend {
                    request_id: delivery_id.to_owned(),
                    open_id: to.to_owned(),
                    message,
                })
            }
            Channel::Zalo => Some(OutboundCall::ZaloCs {
                user_id: to.to_owned(),
                message: CsMessage::Text {
                    text: message.text()?.to_owned(),
                },
                fallback,
            }),
        }
    }
}

/// A customer on a channel, with that channel's window now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addressed<'a> {
    pub channel: Channel,
    pub id: &'a str,
    pub window: Window,
}

/// Who the message is for, as far as the channels go.
pub struct Recipient<'a> {
    pub on: Option<Addressed<'a>>,
    pub phone: Option<&'a str>,
}

/// The way a message goes, and why, for the ticket and for staff.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    pub call: OutboundCall,
    pub why: Why,
    /// The customer's channel's window, when they have one.
    pub window: Option<Window>,
    /// What recording the call must check (the window's count), if anything.
    pub guard: Option<Statement>,
}

/// No channel carries the message, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub why: Why,
    pub window: Option<Window>,
}

/// Why a channel was chosen, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    WindowOpen,
    WindowMayBeOpen,
    NoOpenId,
    WindowClosed,
    SendsUsed,
    ClosedWithoutFallback,
    SendsUsedWithoutFallback,
    NotOnThisChannel,
    MissingSetting(&'static str),
    NoChannel,
}

impl Why {
    /// A stable name, which the dashboard translates.
    pub fn code(self) -> &'static str {
        match self {
            Why::WindowOpen => "window_open",
            Why::WindowMayBeOpen => "window_may_be_open",
            Why::NoOpenId => "no_openid",
            Why::WindowClosed => "window_closed",
            Why::SendsUsed => "sends_used",
            Why::ClosedWithoutFallback => "closed_without_fallback",
            Why::SendsUsedWithoutFallback => "sends_used_without_fallback",
            Why::NotOnThisChannel => "not_on_this_channel",
            Why::MissingSetting(_) => "missing_setting",
            Why::NoChannel => "unreachable",
        }
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::WindowOpen => f.write_str("the customer's window is open"),
            Why::WindowMayBeOpen => f.write_str("WeChat: the customer's 48-hour window may be open"),
            Why::NoOpenId => f.write_str("ZNS: the customer has no WeChat OpenID"),
            Why::WindowClosed => f.write_str("ZNS: the customer's window is closed"),
            Why::SendsUsed => f.write_str("ZNS: the messages the window allows are used"),
            Why::ClosedWithoutFallback => {
                f.write_str("the customer's window is closed and no ZNS fallback is configured")
            }
            Why::SendsUsedWithoutFallback => f.write_str(
                "the messages the window allows are used (until the customer writes again) and no ZNS fallback is configured",
            ),
            Why::NotOnThisChannel => f.write_str("the customer's channel cannot carry this message"),
            Why::MissingSetting(name) => write!(f, "replies on this channel need {name}, which is not set"),
            Why::NoChannel => f.write_str("no WeChat OpenID, and no phone with a zns_fallback template"),
        }
    }
}

/// Picks the channel for `message`, given the delivery that will carry it. `fallback_params`
/// fills the ZNS fallback template's placeholders other than `{text}` (a text goes as ZNS when
/// the customer's channel cannot take it; cards never do).
pub fn reach(
    message: Outgoing,
    delivery_id: &str,
    to: &Recipient,
    fallback: Option<&ZnsTemplate>,
    fallback_params: impl Fn(&str) -> Option<String>,
    phone_format: PhoneFormat,
    now: i64,
) -> Result<Reach, Unreachable> {
    let zns = match message {
        Outgoing::Text(text) => fallback.and_then(|template| {
            let phone = normalize_phone(to.phone?, phone_format).ok()?;
            let params = render_params(template.params.as_ref(), |field| match field {
                FALLBACK_TEXT => Some(text.to_owned()),
                other => fallback_params(other),
            });
            Some(ZnsSend {
                phone,
                template_id: template.template_id,
                params,
            })
        }),
        Outgoing::ProductCard(_) | Outgoing::OrderCard(_) => None,
    };
    let window = to.on.map(|on| on.window);
    let by_zns = |why: Why| match zns.clone() {
        Some(send) => Ok(Reach {
            call: zns_call(send),
            why,
            window,
            guard: None,
        }),
        None => Err(Unreachable { why, window }),
    };
    let Some(on) = to.on else {
        return match by_zns(Why::NoOpenId) {
            Err(_) => Err(Unreachable {
                why: Why::NoChannel,
                window,
            }),
            zns => zns,
        };
    };
    match on.window.check(now) {
        Ok(()) => {
            let why = match on.window.open_until {
                Some(_) => Why::WindowOpen,
                None => Why::WindowMayBeOpen,
            };
            let Some(call) = on.channel.send(on.id, message, delivery_id, zns.clone()) else {
                return Err(Unreachable {
                    why: Why::NotOnThisChannel,
                    window,
                });
            };
            Ok(Reach {
                call,
                why,
                window,
                guard: on.window.guard(&on.channel.recipient(on.id)),
            })
        }
        Err(shut) => match (shut, by_zns(Why::WindowClosed)) {
            (Shut::Expired, Err(_)) => Err(Unreachable {
                why: Why::ClosedWithoutFallback,
                window,
            }),
            (Shut::SendsUsed, Err(_)) => Err(Unreachable {
                why: Why::SendsUsedWithoutFallback,
                window,
            }),
            (Shut::Expired, zns) => zns,
            (Shut::SendsUsed, _) => by_zns(Why::SendsUsed),
        },
    }
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
    const HOUR: i64 = 3600;

    fn fallback() -> ZnsTemplate {
        ZnsTemplate {
            template_id: 367,
            params: Some(BTreeMap::from([
                ("message".to_owned(), "{text}".to_owned()),
                ("order".to_owned(), "{order.id}".to_owned()),
            ])),
        }
    }

    fn contact(last_message_at: Option<i64>, sent: u32) -> Contact {
        Contact {
            last_message_at,
            sent_since_message: sent,
            ..Contact::default()
        }
    }

    fn on(channel: Channel, contact: Contact) -> Option<Addressed<'static>> {
        Some(Addressed {
            channel,
            id: "oU",
            window: channel.window(&contact, NOW),
        })
    }

    fn pick(
        on: Option<Addressed<'static>>,
        phone: Option<&'static str>,
        fallback: Option<&ZnsTemplate>,
        message: Outgoing,
    ) -> Result<Reach, Unreachable> {
        let order = |field: &str| (field == "order.id").then(|| "O1".to_owned());
        let to = Recipient { on, phone };
        reach(
            message,
            "reply:1",
            &to,
            fallback,
            order,
            PhoneFormat::Local,
            NOW,
        )
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
    fn the_shop_allows_five_sends_within_48_hours_of_the_buyers_message() {
        let shop = Channel::Shop;
        let fresh = shop.window(&contact(Some(NOW - HOUR), 0), NOW);
        assert_eq!(
            fresh,
            Window {
                open_until: Some(NOW - HOUR + 48 * HOUR),
                sends_left: 5,
                counted_since: Some(NOW - HOUR),
                allowed: 5,
                free_replies_left: None,
            }
        );
        assert_eq!(fresh.check(NOW), Ok(()));
        let four = shop.window(&contact(Some(NOW - HOUR), 4), NOW);
        assert_eq!((four.sends_left, four.check(NOW)), (1, Ok(())));
        let five = shop.window(&contact(Some(NOW - HOUR), 5), NOW);
        assert_eq!(
            (five.sends_left, five.check(NOW)),
            (0, Err(Shut::SendsUsed))
        );
        let expired = shop.window(&contact(Some(NOW - 48 * HOUR), 0), NOW);
        assert_eq!(expired.check(NOW), Err(Shut::Expired));
        assert_eq!(expired.open_until, Some(NOW));
        assert_eq!(expired.sends_left, 0);
        // An interaction means nothing to the Shop.
        let clicked = Contact {
            last_interaction_at: Some(NOW - 10),
            ..contact(Some(NOW - 48 * HOUR), 0)
        };
        assert_eq!(shop.window(&clicked, NOW).check(NOW), Err(Shut::Expired));
    }

    #[test]
    fn the_oa_adds_three_sends_within_a_minute_of_a_click_follow_or_scan() {
        let oa = Channel::Oa;
        let clicked = Contact {
            last_interaction_at: Some(NOW - 30),
            ..Contact::default()
        };
        let window = oa.window(&clicked, NOW);
        assert_eq!(
            window,
            Window {
                open_until: Some(NOW + 30),
                sends_left: 3,
                counted_since: Some(NOW - 30),
                allowed: 3,
                free_replies_left: None,
            }
        );
        let used = Contact {
            sent_since_interaction: 3,
            ..clicked
        };
        assert_eq!(oa.window(&used, NOW).check(NOW), Err(Shut::SendsUsed));
        let later = Contact {
            last_interaction_at: Some(NOW - 60),
            ..Contact::default()
        };
        assert_eq!(oa.window(&later, NOW).check(NOW), Err(Shut::Expired));
        // A message's window with more sends left wins over a click's.
        let both = Contact {
            last_message_at: Some(NOW - HOUR),
            last_interaction_at: Some(NOW - 5),
            sent_since_message: 1,
            sent_since_interaction: 0,
        };
        assert_eq!(oa.window(&both, NOW).sends_left, 4);
        // The message's sends used, the click still allows its own.
        let message_used = Contact {
            sent_since_message: 5,
            ..both
        };
        let window = oa.window(&message_used, NOW);
        assert_eq!((window.sends_left, window.allowed), (3, 3));
    }

    #[test]
    fn a_customer_nothing_is_recorded_of_may_be_written_to() {
        let window = Channel::Oa.window(&Contact::default(), NOW);
        assert_eq!(
            window,
            Window {
                open_until: None,
                sends_left: 5,
                counted_since: None,
                allowed: 5,
                free_replies_left: None,
            }
        );
        assert_eq!(window.check(NOW), Ok(()));
        assert_eq!(window.guard("oa:oU"), None);
    }

    #[test]
    fn the_guard_counts_the_sends_of_the_grant_in_use() {
        let window = Channel::Shop.window(&contact(Some(NOW - HOUR), 2), NOW);
        let guard = window.guard("shop:oB").unwrap();
        assert!(guard.sql.contains("INSERT INTO expectations"));
        assert_eq!(
            guard.params,
            vec!["shop:oB".into(), (NOW - HOUR).into(), 5i64.into()]
        );
        assert_eq!(guard.sql.matches('?').count(), guard.params.len());
        let query = Channel::Shop.contact_query("oB");
        assert_eq!(
            query.params,
            vec!["shop".into(), "oB".into(), "shop:oB".into()]
        );
    }

    #[test]
    fn builds_the_channels_sends() {
        let text = Channel::Shop.send("oB", Outgoing::Text("hi"), "reply:9", None);
        assert_eq!(
            text,
            Some(OutboundCall::ShopSend {
                request_id: "reply:9".into(),
                open_id: "oB".into(),
                message: ShopOutgoing::Text {
                    content: "hi".into()
                },
            })
        );
        let card = Channel::Shop.send("oB", Outgoing::OrderCard("372"), "r", None);
        assert!(matches!(
            card,
            Some(OutboundCall::ShopSend {
                message: ShopOutgoing::OrderShare { .. },
                ..
            })
        ));
        let product = Channel::Shop.send("oB", Outgoing::ProductCard("100"), "r", None);
        assert!(matches!(
            product,
            Some(OutboundCall::ShopSend {
                message: ShopOutgoing::ProductShare { .. },
                ..
            })
        ));
        assert_eq!(
            Channel::Oa.send("oU", Outgoing::ProductCard("100"), "r", None),
            None
        );
        assert_eq!(Channel::Oa.recipient("oU"), "oa:oU");
        assert_eq!(Channel::Shop.name(), "wechat_shop");
    }

    #[test]
    fn the_shop_needs_its_own_secret() {
        let none = Settings::from_lookup(|_| None);
        assert_eq!(Channel::Shop.missing_setting(&none), Some("SHOP_APPID"));
        assert_eq!(Channel::Oa.missing_setting(&none), None);
        let shop = Settings::from_lookup(|name| {
            matches!(name, "SHOP_APPID" | "SHOP_APPSECRET").then(|| "x".into())
        });
        assert_eq!(Channel::Shop.missing_setting(&shop), None);
    }

    #[test]
    fn the_channel_while_its_window_is_open_with_zns_behind_a_text() {
        let recent = Some(NOW - WECHAT_WINDOW_SECS + 60);
        for last in [None, recent] {
            let reached = pick(
                on(Channel::Oa, contact(last, 0)),
                Some("+84 983 123 148"),
                Some(&fallback()),
                Outgoing::Text("hello"),
            )
            .unwrap();
            assert_eq!(
                reached.call,
                OutboundCall::CustomSend {
                    touser: "oU".into(),
                    message: CustomMessage::Text {
                        content: "hello".into()
                    },
                    fallback: Some(expected_zns()),
                }
            );
            let why = if last.is_some() {
                Why::WindowOpen
            } else {
                Why::WindowMayBeOpen
            };
            assert_eq!(reached.why, why);
            assert_eq!(reached.guard.is_some(), last.is_some());
        }
        let bad_phone = pick(
            on(Channel::Oa, contact(None, 0)),
            Some("12"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert!(matches!(
            bad_phone.call,
            OutboundCall::CustomSend { fallback: None, .. }
        ));
        let shop = pick(
            on(Channel::Shop, contact(recent, 4)),
            None,
            None,
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert!(matches!(shop.call, OutboundCall::ShopSend { .. }));
        assert_eq!(shop.window.map(|w| w.sends_left), Some(1));
    }

    #[test]
    fn zns_without_an_openid_or_once_the_window_shut() {
        let no_openid = pick(
            None,
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert_eq!(no_openid.call, zns_call(expected_zns()));
        assert_eq!(no_openid.why, Why::NoOpenId);
        assert!(no_openid.why.to_string().contains("no WeChat OpenID"));
        assert_eq!(no_openid.why.code(), "no_openid");
        let closed = pick(
            on(Channel::Shop, contact(Some(NOW - WECHAT_WINDOW_SECS), 0)),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert_eq!(closed.call, zns_call(expected_zns()));
        assert_eq!(closed.why, Why::WindowClosed);
        let used = pick(
            on(Channel::Oa, contact(Some(NOW - 60), 5)),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert_eq!(used.call, zns_call(expected_zns()));
        assert_eq!(used.why, Why::SendsUsed);
        assert_eq!(used.guard, None);
    }

    #[test]
    fn zalo_is_open_seven_days_after_the_customers_message_uncounted() {
        let zalo = Channel::Zalo;
        let wrote = zalo.window(&contact(Some(NOW - HOUR), 3), NOW);
        assert_eq!(
            wrote,
            Window {
                open_until: Some(NOW - HOUR + crate::platforms::zalo::WINDOW_SECS),
                sends_left: UNLIMITED,
                counted_since: None,
                allowed: UNLIMITED,
                free_replies_left: Some(5),
            }
        );
        assert_eq!(wrote.guard("zalo:U1"), None);
        // Past the free replies, a reply is charged, not refused.
        let many = zalo.window(&contact(Some(NOW - HOUR), 20), NOW);
        assert_eq!((many.check(NOW), many.free_replies_left), (Ok(()), Some(0)));
        let last_week = zalo.window(
            &contact(Some(NOW - crate::platforms::zalo::WINDOW_SECS), 0),
            NOW,
        );
        assert_eq!(last_week.check(NOW), Err(Shut::Expired));
        // Zalo allows no consultation message to someone who never wrote.
        let never = zalo.window(&Contact::default(), NOW);
        assert_eq!(never.check(NOW), Err(Shut::Expired));
        assert_eq!(zalo.recipient("U1"), "zalo:U1");
        assert_eq!(zalo.name(), "zalo");
    }

    #[test]
    fn zalo_while_its_window_is_open_then_zns_to_a_known_phone_else_none() {
        let to = |contact| on(Channel::Zalo, contact);
        let open = pick(
            to(contact(Some(NOW - 60), 0)),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert_eq!(
            open.call,
            OutboundCall::ZaloCs {
                user_id: "oU".into(),
                message: CsMessage::Text {
                    text: "hello".into()
                },
                fallback: Some(expected_zns()),
            }
        );
        assert_eq!((open.why, open.guard), (Why::WindowOpen, None));
        let last_week = contact(Some(NOW - crate::platforms::zalo::WINDOW_SECS), 0);
        let closed = pick(
            to(last_week),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        )
        .unwrap();
        assert_eq!(closed.call, zns_call(expected_zns()));
        assert_eq!(closed.why, Why::WindowClosed);
        let why = |r: Result<Reach, Unreachable>| r.unwrap_err().why;
        assert_eq!(
            why(pick(
                to(last_week),
                None,
                Some(&fallback()),
                Outgoing::Text("hello")
            )),
            Why::ClosedWithoutFallback
        );
        assert_eq!(
            why(pick(
                to(last_week),
                Some("0983123148"),
                None,
                Outgoing::Text("hello")
            )),
            Why::ClosedWithoutFallback
        );
        let never = pick(
            to(Contact::default()),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::Text("hello"),
        );
        assert_eq!(never.map(|r| r.why), Ok(Why::WindowClosed));
        assert_eq!(
            why(pick(
                to(contact(Some(NOW), 0)),
                None,
                None,
                Outgoing::OrderCard("1")
            )),
            Why::NotOnThisChannel
        );
        let unset = Settings::from_lookup(|_| None);
        assert_eq!(Channel::Zalo.missing_setting(&unset), Some("ZALO_APP_ID"));
    }

    #[test]
    fn what_no_channel_can_carry() {
        let why = |r: Result<Reach, Unreachable>| r.unwrap_err().why;
        let text = Outgoing::Text("hello");
        assert_eq!(
            why(pick(None, Some("0983123148"), None, text)),
            Why::NoChannel
        );
        assert_eq!(
            why(pick(None, Some("not a phone"), Some(&fallback()), text)),
            Why::NoChannel
        );
        assert_eq!(
            why(pick(None, None, Some(&fallback()), text)),
            Why::NoChannel
        );
        let closed = on(Channel::Oa, contact(Some(0), 0));
        assert_eq!(
            why(pick(closed, None, None, text)),
            Why::ClosedWithoutFallback
        );
        let sixth = on(Channel::Shop, contact(Some(NOW - 60), 5));
        let refused = pick(sixth, None, None, text).unwrap_err();
        assert_eq!(refused.why, Why::SendsUsedWithoutFallback);
        assert_eq!(refused.window.map(|w| w.sends_left), Some(0));
        assert!(refused
            .why
            .to_string()
            .contains("until the customer writes again"));
        // Cards go only on the Shop, never as ZNS.
        let card = pick(
            on(Channel::Oa, contact(Some(NOW - 60), 0)),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::ProductCard("100"),
        );
        assert_eq!(why(card), Why::NotOnThisChannel);
        let card_closed = pick(
            on(Channel::Shop, contact(Some(0), 0)),
            Some("0983123148"),
            Some(&fallback()),
            Outgoing::OrderCard("372"),
        );
        assert_eq!(why(card_closed), Why::ClosedWithoutFallback);
        assert_eq!(
            Why::MissingSetting("SHOP_APPSECRET").to_string(),
            "replies on this channel need SHOP_APPSECRET, which is not set"
        );
    }
}
