//! Storing an accepted callback: the event and its effect (on tickets, or on a complaint) in one
//! transaction that starts with the event's dedup-key insert, so a retry of the same callback
//! rolls back whole and is acked as a duplicate.

use serde::Deserialize;

use super::delivery::Dispatch;
use super::delivery::Handled;
use super::effect::{self, Answered, Effect, Flow, Step};
use super::outage::ParkFlow;
use crate::complaints::{self, ComplaintState, OrderFacts};
use crate::event::{Inbound, QueueMessage, QueuedEvent, QueuedPush};
use crate::inline::Rejection;
use crate::outbound::record_customer_delivery;
use crate::platforms::payfeedback::{GoodsKind, Notification};
use crate::platforms::shop::ShopBody;
use crate::platforms::zalo::ZaloPush;
use crate::reach::{Channel, Contact, Outgoing};
use crate::rules::{CustomerText, Rules};
use crate::settings::Settings;
use crate::sql::{follow_ups, Statement, StoreError};
use crate::tickets::Customer;
use crate::{kv, orders, tickets};

pub struct InboundFlow<'a> {
    settings: &'a Settings,
    /// As the queue carried it: what is parked when storage fails.
    push: QueuedPush,
    event: QueuedEvent,
    now: i64,
    state: InboundState<'a>,
}

enum InboundState<'a> {
    Start,
    ReadingRules,
    /// For a card-shop customer with an OpenID: what the timeline says of them on the OA.
    ReadingContact(Rules),
    ReadingComplaint,
    ReadingOrder(Option<ComplaintState>),
    Storing(Vec<Statement>),
    FollowingUp(Dispatch),
    /// D1 failed: the event is kept in KV too, then the message is retried.
    Parking(ParkFlow<'a>, StoreError),
    Finished,
}

#[derive(Deserialize)]
struct OrderRow {
    goods_kind: Option<GoodsKind>,
    delivered: i64,
}

impl<'a> InboundFlow<'a> {
    /// The flow for a queued push, or why its text no longer parses (kept as a dead letter).
    pub fn new(settings: &'a Settings, push: QueuedPush, now: i64) -> Result<Self, Rejection> {
        Ok(InboundFlow {
            settings,
            event: push.event()?,
            push,
            now,
            state: InboundState::Start,
        })
    }

    fn notification(&self) -> Option<&Notification> {
        match &self.event.inbound {
            Inbound::PayFeedback(n) => Some(n),
            _ => None,
        }
    }

    fn park(&mut self, error: StoreError) -> Step<Handled> {
        let message = QueueMessage::Inbound(self.push.clone()).to_json();
        let park = ParkFlow::new(self.settings, self.now, message);
        self.state = InboundState::Parking(park, error);
        self.step(None)
    }

    fn plan_with_rules(&mut self, rules: &Rules, contact: Contact) -> Step<Handled> {
        let plan = match &self.event.inbound {
            Inbound::Order(order) => {
                let planning = orders::Planning {
                    rules,
                    settings: self.settings,
                    contact,
                    now: self.now,
                };
                orders::plan(&self.event, order, &planning)
            }
            _ => {
                let mut plan = tickets::plan(&self.event, self.now);
                plan.extend(faq_auto_reply(&self.event, rules, self.settings, self.now));
                plan
            }
        };
        self.store(plan)
    }

    fn store(&mut self, statements: Vec<Statement>) -> Step<Handled> {
        self.state = InboundState::Storing(statements.clone());
        Step::Do(Effect::Transaction(statements))
    }
}

/// Events planned with the merchant's rules: card-shop orders (routing, FAQ, ZNS) and the
/// texts of Shop buyers and Zalo customers (the FAQ's auto-reply).
fn reads_rules(inbound: &Inbound) -> bool {
    match inbound {
        Inbound::Order(_) => true,
        Inbound::ShopMessage(m) => matches!(m.body, ShopBody::Text { .. }),
        Inbound::ZaloMessage(push) => push.text.is_some(),
        _ => false,
    }
}

/// A customer's text on a channel the FAQ answers through (the Shop, Zalo OA): the channel,
/// the customer's id there and the text.
fn customer_text(inbound: &Inbound) -> Option<(Channel, &str, &str)> {
    match inbound {
        Inbound::ShopMessage(m) => match &m.body {
            ShopBody::Text { content } => Some((Channel::Shop, &m.openid, content)),
            _ => None,
        },
        Inbound::ZaloMessage(ZaloPush {
            user_id,
            text: Some(text),
            ..
        }) => Some((Channel::Zalo, user_id, text)),
        _ => None,
    }
}

/// The FAQ's answer to a customer's text, through their channel, once per message (the
/// delivery is named after the message's dedup key, in the transaction that stores it, on
/// their active ticket). The customer has just written, so the channel's window is open with
/// every send left. Nothing without the channel's settings: the reply could not be sent.
pub fn faq_auto_reply(
    event: &QueuedEvent,
    rules: &Rules,
    settings: &Settings,
    now: i64,
) -> Option<Statement> {
    let (channel, customer_id, text) = customer_text(&event.inbound)?;
    if channel.missing_setting(settings).is_some() {
        return None;
    }
    let reply = rules.faq_reply(&CustomerText::new(text))?;
    let id = format!("{}:faq", event.dedup_key);
    let call = channel.send(customer_id, Outgoing::Text(reply), &id, None)?;
    let customer = Customer {
        channel: channel.ticket_channel(),
        customer_id,
    };
    Some(record_customer_delivery(&id, &call, &customer, now))
}

impl Flow for InboundFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, InboundState::Finished) {
            InboundState::Start if reads_rules(&self.event.inbound) => {
                self.state = InboundState::ReadingRules;
                Step::Do(Effect::KvGet(kv::RULES.into()))
            }
            InboundState::ReadingRules => {
                // A missing or invalid document routes nothing, as on the inline path.
                let rules = effect::value(answer)
                    .and_then(|doc| Rules::parse(&doc).ok())
                    .unwrap_or_default();
                let openid = match &self.event.inbound {
                    Inbound::Order(order) => order.customer.openid.clone(),
                    _ => None,
                };
                match openid {
                    Some(openid) => {
                        self.state = InboundState::ReadingContact(rules);
                        Step::Do(Effect::Query(Channel::Oa.contact_query(&openid)))
                    }
                    None => self.plan_with_rules(&rules, Contact::default()),
                }
            }
            InboundState::ReadingContact(rules) => match effect::rows::<Contact>(answer) {
                Ok(rows) => {
                    let contact = rows.first().copied().unwrap_or_default();
                    self.plan_with_rules(&rules, contact)
                }
                Err(e) => self.park(e),
            },
            InboundState::Start => match self.notification() {
                Some(n) => {
                    let query =
                        Statement::new(complaints::STATE_SQL, vec![n.feedback_id.as_str().into()]);
                    self.state = InboundState::ReadingComplaint;
                    Step::Do(Effect::Query(query))
                }
                None => {
                    let plan = tickets::plan(&self.event, self.now);
                    self.store(plan)
                }
            },
            InboundState::ReadingComplaint => {
                let current = match effect::rows::<complaints::StateRow>(answer) {
                    Ok(rows) => rows.first().and_then(complaints::StateRow::state),
                    Err(e) => return self.park(e),
                };
                let trans_id = self.notification().and_then(|n| n.trans_id.clone());
                self.state = InboundState::ReadingOrder(current);
                Step::Do(Effect::Query(Statement::new(
                    complaints::ORDERS_OF_TRANSACTION_SQL,
                    vec![trans_id.into()],
                )))
            }
            InboundState::ReadingOrder(current) => {
                let order = match effect::rows::<OrderRow>(answer) {
                    Ok(rows) => {
                        let orders: Vec<OrderFacts> = rows
                            .iter()
                            .map(|o| OrderFacts {
                                goods_kind: o.goods_kind,
                                delivered: Some(o.delivered != 0),
                            })
                            .collect();
                        OrderFacts::strictest(&orders)
                    }
                    Err(e) => return self.park(e),
                };
                let plan = match self.notification() {
                    Some(n) => {
                        complaints::plan_notification(&self.event, n, current, order, self.now)
                    }
                    None => tickets::plan(&self.event, self.now),
                };
                self.store(plan)
            }
            InboundState::Storing(statements) => match effect::changes(answer) {
                Err(StoreError::Duplicate) => {
                    Step::Done(Ok(format!("duplicate {}", self.event.describe())))
                }
                // Planned from a state that changed meanwhile: the retry reads it again.
                Err(StoreError::Conflict) => Step::Done(Err(StoreError::Conflict)),
                Err(e) => self.park(e),
                Ok(changes) => {
                    self.state =
                        InboundState::FollowingUp(Dispatch::new(follow_ups(&statements, &changes)));
                    self.step(None)
                }
            },
            InboundState::FollowingUp(mut dispatch) => match dispatch.step(answer) {
                Step::Do(effect) => {
                    self.state = InboundState::FollowingUp(dispatch);
                    Step::Do(effect)
                }
                Step::Done(_) => Step::Done(Ok(format!("stored {}", self.event.describe()))),
            },
            InboundState::Parking(mut park, error) => match park.step(answer) {
                Step::Do(effect) => {
                    self.state = InboundState::Parking(park, error);
                    Step::Do(effect)
                }
                // Kept in KV or not, the queue retries the message later.
                Step::Done(_) => Step::Done(Err(error)),
            },
            InboundState::Finished => Step::Done(Ok("inbound finished".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::OutboundCall;
    use crate::platforms::shop::send::ShopOutgoing;
    use crate::platforms::shop::ShopMessage;

    fn shop_text(content: &str) -> QueuedEvent {
        shop(ShopBody::Text {
            content: content.into(),
        })
    }

    fn shop(body: ShopBody) -> QueuedEvent {
        QueuedEvent {
            dedup_key: "shop:msg:42".into(),
            received_at: 1,
            inbound: Inbound::ShopMessage(ShopMessage {
                shop: "gh_shop".into(),
                openid: "oBuyer".into(),
                create_time: 1,
                msg_id: "42".into(),
                body,
            }),
        }
    }

    fn rules() -> Rules {
        Rules::parse(r#"{"faq":[{"keywords":["发货"],"reply":"24 小时内发货"}]}"#).unwrap()
    }

    fn configured() -> Settings {
        Settings::from_lookup(|name| {
            matches!(name, "SHOP_APPID" | "SHOP_APPSECRET").then(|| "x".into())
        })
    }

    #[test]
    fn a_shop_text_with_an_faq_keyword_is_answered_by_sendmsg_once() {
        let statement =
            faq_auto_reply(&shop_text("什么时候发货?"), &rules(), &configured(), 9).unwrap();
        let call = OutboundCall::ShopSend {
            request_id: "shop:msg:42:faq".into(),
            open_id: "oBuyer".into(),
            message: ShopOutgoing::Text {
                content: "24 小时内发货".into(),
            },
        };
        assert_eq!(statement.params[0], "shop:msg:42:faq".into());
        assert_eq!(statement.params[2], call.payload().into());
        assert_eq!(statement.params[8], "shop:oBuyer".into());
        assert!(statement
            .sql
            .starts_with("INSERT OR IGNORE INTO deliveries"));
        assert_eq!(statement.sql.matches('?').count(), statement.params.len());
    }

    #[test]
    fn no_auto_reply_without_a_match_a_text_or_the_shops_secret() {
        let settings = configured();
        assert_eq!(
            faq_auto_reply(&shop_text("你好"), &rules(), &settings, 9),
            None
        );
        let image = shop(ShopBody::Image {
            cos_url: "https://c/1".into(),
        });
        assert!(!reads_rules(&image.inbound));
        assert_eq!(faq_auto_reply(&image, &rules(), &settings, 9), None);
        let unset = Settings::from_lookup(|_| None);
        assert_eq!(
            faq_auto_reply(&shop_text("发货"), &rules(), &unset, 9),
            None
        );
        assert!(reads_rules(&shop_text("x").inbound));
    }
}
