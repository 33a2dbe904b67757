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
use crate::outbound::OutboundCall;
use crate::platforms::payfeedback::{GoodsKind, Notification};
use crate::platforms::zalo::{CsMessage, ZaloPush};
use crate::reach::{LastMessage, LAST_WECHAT_MESSAGE_SQL};
use crate::rules::{CustomerText, Rules};
use crate::settings::Settings;
use crate::sql::{follow_ups, Statement, StoreError};
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
    /// For a card-shop customer with an OpenID: when they last wrote on WeChat.
    ReadingLastMessage(Rules),
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

    fn plan_order(&mut self, rules: &Rules, last_wechat_message_at: Option<i64>) -> Step<Handled> {
        let plan = match &self.event.inbound {
            Inbound::Order(order) => {
                let planning = orders::Planning {
                    rules,
                    settings: self.settings,
                    last_wechat_message_at,
                    now: self.now,
                };
                orders::plan(&self.event, order, &planning)
            }
            Inbound::ZaloMessage(push) => {
                let mut plan = tickets::plan(&self.event, self.now);
                plan.extend(zalo_faq_reply(push, rules, &self.event.dedup_key, self.now));
                plan
            }
            _ => tickets::plan(&self.event, self.now),
        };
        self.store(plan)
    }

    fn store(&mut self, statements: Vec<Statement>) -> Step<Handled> {
        self.state = InboundState::Storing(statements.clone());
        Step::Do(Effect::Transaction(statements))
    }
}

/// The FAQ's answer to a Zalo customer's text, as a consultation message on their (active)
/// ticket: they just wrote, so the window is open.
fn zalo_faq_reply(push: &ZaloPush, rules: &Rules, key: &str, now: i64) -> Option<Statement> {
    let reply = rules.faq_reply(&CustomerText::new(push.text.as_deref()?))?;
    let call = OutboundCall::ZaloCs {
        user_id: push.user_id.clone(),
        message: CsMessage::Text {
            text: reply.to_owned(),
        },
        fallback: None,
    };
    let id = format!("{key}:faq");
    Some(Statement::delivery(
        "INSERT OR IGNORE INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at) \
         SELECT ?1, ?2, ?3, id, 'pending', 0, ?4, ?4, ?4 FROM tickets WHERE channel = ?5 AND customer_id = ?6 AND status != 'closed'",
        vec![
            id.as_str().into(),
            call.target().into(),
            call.payload().into(),
            now.into(),
            tickets::ZALO.into(),
            push.user_id.as_str().into(),
        ],
        id,
    ))
}

impl Flow for InboundFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, InboundState::Finished) {
            InboundState::Start
                if matches!(
                    self.event.inbound,
                    Inbound::Order(_) | Inbound::ZaloMessage(_)
                ) =>
            {
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
                        self.state = InboundState::ReadingLastMessage(rules);
                        Step::Do(Effect::Query(Statement::new(
                            LAST_WECHAT_MESSAGE_SQL,
                            vec![openid.into()],
                        )))
                    }
                    None => self.plan_order(&rules, None),
                }
            }
            InboundState::ReadingLastMessage(rules) => match effect::rows::<LastMessage>(answer) {
                Ok(rows) => {
                    let last = rows.first().and_then(|r| r.at);
                    self.plan_order(&rules, last)
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
