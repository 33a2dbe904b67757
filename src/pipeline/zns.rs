//! Staff sending a ZNS template from the admin API: the ticket read when the send belongs to
//! one (its phone, for the ticket route), the delivery recorded once per name, and sent.

use serde::Deserialize;

use super::delivery::Dispatch;
use super::effect::{self, Answered, Effect, Flow, Step};
use super::idempotency::IdempotencyKey;
use crate::inline::Rejection;
use crate::settings::Settings;
use crate::sql::{follow_ups, Statement, StoreError};
use crate::zns::{check_phone, record, ZnsOrder};

/// How a send request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Recorded (or, `repeated`, recorded before under the same name) as this delivery.
    Queued { delivery: String, repeated: bool },
    /// Refused as it stands: no such ticket, or a ticket without a usable phone.
    Refused(Rejection),
}

pub struct SendZnsFlow<'a> {
    settings: &'a Settings,
    order: ZnsOrder,
    delivery_id: String,
    idempotency_key: Option<IdempotencyKey>,
    actor: String,
    now: i64,
    state: State,
}

enum State {
    Start,
    ReadingTicket,
    Writing(Vec<Statement>),
    Dispatching(Dispatch, bool),
    Finished,
}

#[derive(Deserialize)]
struct TicketRow {
    customer_phone: Option<String>,
}

/// What a send answers (202), and a repeat of it again.
pub fn sent_answer(delivery: &str, repeated: bool) -> serde_json::Value {
    serde_json::json!({ "delivery": delivery, "repeated": repeated })
}

impl<'a> SendZnsFlow<'a> {
    /// The key (run under `Idempotent`) is recorded with the delivery.
    pub fn new(
        settings: &'a Settings,
        order: ZnsOrder,
        delivery_id: String,
        idempotency_key: Option<IdempotencyKey>,
        actor: &str,
        now: i64,
    ) -> Self {
        SendZnsFlow {
            settings,
            order,
            delivery_id,
            idempotency_key,
            actor: actor.to_owned(),
            now,
            state: State::Start,
        }
    }

    fn write(&mut self, phone: &str) -> Step<Result<Sent, StoreError>> {
        let (_, mut statements) =
            record(&self.delivery_id, &self.order, phone, &self.actor, self.now);
        if let Some(key) = &self.idempotency_key {
            let answer = sent_answer(&self.delivery_id, false);
            statements.insert(0, key.record(202, &answer, self.now));
        }
        self.state = State::Writing(statements.clone());
        Step::Do(Effect::Transaction(statements))
    }
}

impl Flow for SendZnsFlow<'_> {
    type Output = Result<Sent, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => match (self.order.ticket_id, self.order.phone.clone()) {
                (None, Some(phone)) => self.write(&phone),
                (None, None) => Step::Done(Ok(Sent::Refused(Rejection::Malformed(
                    "phone is required".into(),
                )))),
                (Some(ticket), _) => {
                    self.state = State::ReadingTicket;
                    Step::Do(Effect::Query(Statement::new(
                        "SELECT customer_phone FROM tickets WHERE id = ?",
                        vec![ticket.into()],
                    )))
                }
            },
            State::ReadingTicket => {
                let row = match effect::rows::<TicketRow>(answer) {
                    Err(e) => return Step::Done(Err(e)),
                    Ok(rows) => rows.into_iter().next(),
                };
                let Some(row) = row else {
                    return Step::Done(Ok(Sent::Refused(Rejection::NotFound)));
                };
                let phone = match (self.order.phone.clone(), row.customer_phone) {
                    (Some(given), _) => given,
                    (None, Some(raw)) => match check_phone(&raw, self.settings) {
                        Ok(phone) => phone,
                        Err(refusal) => return Step::Done(Ok(Sent::Refused(refusal))),
                    },
                    (None, None) => {
                        return Step::Done(Ok(Sent::Refused(Rejection::Malformed(
                            "the ticket has no customer phone".into(),
                        ))))
                    }
                };
                self.write(&phone)
            }
            State::Writing(statements) => match effect::changes(answer) {
                Err(StoreError::Duplicate) => Step::Done(Ok(Sent::Refused(Rejection::Conflict(
                    "this Idempotency-Key was used at the same time".into(),
                )))),
                Err(e) => Step::Done(Err(e)),
                Ok(changes) => {
                    let delivery = usize::from(self.idempotency_key.is_some());
                    let repeated = changes.get(delivery) == Some(&0);
                    self.state = State::Dispatching(
                        Dispatch::new(follow_ups(&statements, &changes)),
                        repeated,
                    );
                    self.step(None)
                }
            },
            State::Dispatching(mut dispatch, repeated) => match dispatch.step(answer) {
                Step::Do(effect) => {
                    self.state = State::Dispatching(dispatch, repeated);
                    Step::Do(effect)
                }
                // A delivery the queue did not take now is sent by the cron's sweep.
                Step::Done(_) => Step::Done(Ok(Sent::Queued {
                    delivery: self.delivery_id.clone(),
                    repeated,
                })),
            },
            State::Finished => Step::Done(Ok(Sent::Queued {
                delivery: self.delivery_id.clone(),
                repeated: true,
            })),
        }
    }
}
