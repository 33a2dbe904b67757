//! A recorded outbound call (a row of `deliveries`) through its lifecycle: claimed so that two
//! queue messages never both call out, held back without a rate slot, attempted, and recorded
//! as delivered, retrying (back on the queue after a jittered backoff) or dead.

use serde::Deserialize;

use super::effect::{self, Answered, Effect, Flow, Step};
use super::slot::{Slot, SlotFlow};
use super::token::{BuildRequest, CallFlow};
use crate::event::QueueMessage;
use crate::http::{HttpRequest, HttpResult, Outcome};
use crate::mask::mask_quoted;
use crate::outbound::{record_attempt, Attempted, OutboundCall};
use crate::settings::Settings;
use crate::sql::{follow_ups, FollowUp, Statement, StoreError};
use crate::wechat::api::App;

/// What a consumer flow did, for the log; `Err` means a dependency failed and the queue
/// message should be retried later.
pub type Handled = Result<String, StoreError>;

impl BuildRequest for OutboundCall {
    fn access_token_of(&self) -> Option<App> {
        OutboundCall::access_token_of(self)
    }

    fn needs_zalo_token(&self) -> bool {
        matches!(self, OutboundCall::ZaloCs { .. })
    }

    fn build(&self, settings: &Settings, token: Option<&str>) -> Result<HttpRequest, String> {
        self.request(settings, token)
    }

    fn classify(&self, result: &HttpResult) -> Outcome {
        OutboundCall::classify(self, result)
    }
}

/// One attempt at a claimed delivery, and its record.
pub struct AttemptFlow<'a> {
    id: String,
    ticket_id: Option<i64>,
    attempt: u32,
    now: i64,
    random: u32,
    state: AttemptState<'a>,
}

enum AttemptState<'a> {
    Calling(Box<CallFlow<'a, OutboundCall>>),
    Recording {
        statements: Vec<Statement>,
        retry_after: Option<u32>,
        report: String,
    },
    FollowingUp {
        dispatch: Dispatch,
        retry_after: Option<u32>,
        report: String,
    },
    Requeueing {
        report: String,
    },
    Finished,
}

impl<'a> AttemptFlow<'a> {
    /// Attempt number `attempt` (1-based) of delivery `id`.
    pub fn new(
        settings: &'a Settings,
        now: i64,
        random: u32,
        id: &str,
        call: OutboundCall,
        ticket_id: Option<i64>,
        attempt: u32,
    ) -> Self {
        AttemptFlow {
            id: id.to_owned(),
            ticket_id,
            attempt,
            now,
            random,
            state: AttemptState::Calling(Box::new(
                CallFlow::new(settings, now, call).holder(format!("{id}#{attempt}")),
            )),
        }
    }

    fn requeue(&mut self, retry_after: Option<u32>, report: String) -> Step<Handled> {
        match retry_after {
            Some(delay_secs) => {
                self.state = AttemptState::Requeueing { report };
                Step::Do(Effect::Enqueue {
                    message: QueueMessage::Deliver {
                        delivery_id: self.id.clone(),
                    },
                    delay_secs,
                })
            }
            None => Step::Done(Ok(report)),
        }
    }
}

impl Flow for AttemptFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, AttemptState::Finished) {
            AttemptState::Calling(mut call) => match call.step(answer) {
                Step::Do(effect) => {
                    self.state = AttemptState::Calling(call);
                    Step::Do(effect)
                }
                Step::Done((outcome, result)) => {
                    let attempted = Attempted {
                        id: &self.id,
                        call: call.call(),
                        ticket_id: self.ticket_id,
                        attempt: self.attempt,
                        outcome: &outcome,
                        result: result.as_ref(),
                    };
                    let record = record_attempt(&attempted, self.now, self.random);
                    let report =
                        format!("delivery {} attempt {}: {outcome:?}", self.id, self.attempt);
                    self.state = AttemptState::Recording {
                        statements: record.statements.clone(),
                        retry_after: record.retry_after,
                        report,
                    };
                    Step::Do(Effect::Transaction(record.statements))
                }
            },
            AttemptState::Recording {
                statements,
                retry_after,
                report,
            } => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(changes) => {
                    self.state = AttemptState::FollowingUp {
                        dispatch: Dispatch::new(follow_ups(&statements, &changes)),
                        retry_after,
                        report,
                    };
                    self.step(None)
                }
            },
            AttemptState::FollowingUp {
                mut dispatch,
                retry_after,
                report,
            } => match dispatch.step(answer) {
                Step::Do(effect) => {
                    self.state = AttemptState::FollowingUp {
                        dispatch,
                        retry_after,
                        report,
                    };
                    Step::Do(effect)
                }
                Step::Done(_) => self.requeue(retry_after, report),
            },
            AttemptState::Requeueing { report } => match effect::done(answer) {
                Ok(()) => Step::Done(Ok(report)),
                Err(e) => Step::Done(Err(e)),
            },
            AttemptState::Finished => Step::Done(Ok("attempt already finished".into())),
        }
    }
}

/// Stuck `sending` longer than this, a delivery is taken to have died with its isolate.
pub const STUCK_SENDING_SECS: i64 = 300;

/// How far ahead of its time a delivery may be claimed (queue delays are not exact).
const CLAIM_EARLY_SECS: i64 = 2;

#[derive(Debug, Deserialize)]
struct DeliveryRow {
    payload: String,
    attempts: i64,
    ticket_id: Option<i64>,
    caresoft_ticket_id: Option<i64>,
}

/// A `Deliver` queue message: one attempt at the delivery, if it is due and not in flight.
pub struct DeliverFlow<'a> {
    settings: &'a Settings,
    id: String,
    now: i64,
    random: u32,
    state: DeliverState<'a>,
}

enum DeliverState<'a> {
    Start,
    Reading,
    Claiming(Claimed),
    TakingSlot(Claimed, SlotFlow),
    Deferring(u32),
    Requeueing(u32),
    Attempting(AttemptFlow<'a>),
    Finished,
}

struct Claimed {
    call: OutboundCall,
    ticket_id: Option<i64>,
    attempt: u32,
}

impl<'a> DeliverFlow<'a> {
    pub fn new(settings: &'a Settings, now: i64, random: u32, delivery_id: &str) -> Self {
        DeliverFlow {
            settings,
            id: delivery_id.to_owned(),
            now,
            random,
            state: DeliverState::Start,
        }
    }

    fn attempt(&mut self, claimed: Claimed) -> Step<Handled> {
        self.state = DeliverState::Attempting(AttemptFlow::new(
            self.settings,
            self.now,
            self.random,
            &self.id,
            claimed.call,
            claimed.ticket_id,
            claimed.attempt,
        ));
        self.step(None)
    }
}

impl Flow for DeliverFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        let (id, now) = (self.id.as_str(), self.now);
        match std::mem::replace(&mut self.state, DeliverState::Finished) {
            DeliverState::Start => {
                self.state = DeliverState::Reading;
                Step::Do(Effect::Query(Statement::new(
                    "SELECT d.payload, d.attempts, d.ticket_id, t.caresoft_ticket_id \
                     FROM deliveries d LEFT JOIN tickets t ON t.id = d.ticket_id WHERE d.id = ?",
                    vec![id.into()],
                )))
            }
            DeliverState::Reading => {
                let row = match effect::rows::<DeliveryRow>(answer) {
                    Err(e) => return Step::Done(Err(e)),
                    Ok(rows) => match rows.into_iter().next() {
                        Some(row) => row,
                        None => return Step::Done(Ok(format!("no delivery {id}"))),
                    },
                };
                let mut call: OutboundCall = match serde_json::from_str(&row.payload) {
                    Ok(call) => call,
                    // Written by this code: unreadable means a newer version wrote it; retry
                    // until the dead-letter queue keeps it.
                    Err(e) => {
                        return Step::Done(Err(StoreError::Unavailable(format!(
                            "delivery {id}: unreadable payload: {}",
                            mask_quoted(&e.to_string())
                        ))))
                    }
                };
                // A ZNS send continues the CareSoft ticket an earlier send on its ticket opened.
                if let OutboundCall::Zns {
                    caresoft_ticket_id: slot @ None,
                    ..
                } = &mut call
                {
                    *slot = row.caresoft_ticket_id;
                }
                self.state = DeliverState::Claiming(Claimed {
                    call,
                    ticket_id: row.ticket_id,
                    attempt: u32::try_from(row.attempts).unwrap_or(0).saturating_add(1),
                });
                Step::Do(Effect::Transaction(vec![Statement::new(
                    "UPDATE deliveries SET state = 'sending', updated_at = ? \
                     WHERE id = ? AND state IN ('pending', 'retrying') AND next_attempt_at <= ?",
                    vec![now.into(), id.into(), (now + CLAIM_EARLY_SECS).into()],
                )]))
            }
            DeliverState::Claiming(claimed) => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(changes) if changes.first() != Some(&1) => Step::Done(Ok(format!(
                    "delivery {id}: delivered, dead, in flight elsewhere, or not yet due"
                ))),
                // Only a claimed delivery takes a rate slot; without one it waits its turn.
                Ok(_) => match claimed.call.rate_limit() {
                    Some(limit) => {
                        self.state = DeliverState::TakingSlot(claimed, SlotFlow::new(limit, now));
                        self.step(None)
                    }
                    None => self.attempt(claimed),
                },
            },
            DeliverState::TakingSlot(claimed, mut slot) => match slot.step(answer) {
                Step::Do(effect) => {
                    self.state = DeliverState::TakingSlot(claimed, slot);
                    Step::Do(effect)
                }
                Step::Done(Err(e)) => Step::Done(Err(e)),
                Step::Done(Ok(Slot::Taken)) => self.attempt(claimed),
                Step::Done(Ok(Slot::WaitSecs(wait))) => {
                    self.state = DeliverState::Deferring(wait);
                    Step::Do(Effect::Transaction(vec![Statement::new(
                        "UPDATE deliveries SET state = 'retrying', next_attempt_at = ?, updated_at = ? WHERE id = ?",
                        vec![(now + i64::from(wait)).into(), now.into(), id.into()],
                    )]))
                }
            },
            DeliverState::Deferring(wait) => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => {
                    self.state = DeliverState::Requeueing(wait);
                    Step::Do(Effect::Enqueue {
                        message: QueueMessage::Deliver {
                            delivery_id: id.to_owned(),
                        },
                        delay_secs: wait,
                    })
                }
            },
            DeliverState::Requeueing(wait) => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => Step::Done(Ok(format!("delivery {id}: no rate slot, waiting {wait} s"))),
            },
            DeliverState::Attempting(mut attempt) => {
                let step = attempt.step(answer);
                if let Step::Do(_) = step {
                    self.state = DeliverState::Attempting(attempt);
                }
                step
            }
            DeliverState::Finished => Step::Done(Ok(format!("delivery {id}: finished"))),
        }
    }
}

/// Puts what committed statements left to do on the queue (`sql::FollowUp`). A failed send is
/// not fatal: a delivery is recorded and the cron's sweep sends it within minutes; pending
/// alerts are flushed by the cron every minute.
pub struct Dispatch {
    messages: Vec<QueueMessage>,
    failed: usize,
}

impl Dispatch {
    pub fn new(follow_ups: Vec<FollowUp>) -> Self {
        let messages = follow_ups
            .into_iter()
            .rev()
            .map(|f| match f {
                FollowUp::FlushAlerts => QueueMessage::FlushAlerts,
                FollowUp::Deliver(delivery_id) => QueueMessage::Deliver { delivery_id },
            })
            .collect();
        Dispatch {
            messages,
            failed: 0,
        }
    }

    /// Attempts of freshly recorded deliveries.
    pub fn deliveries(delivery_ids: &[String]) -> Self {
        Dispatch::new(
            delivery_ids
                .iter()
                .cloned()
                .map(FollowUp::Deliver)
                .collect(),
        )
    }
}

impl Flow for Dispatch {
    /// How many could not be sent now.
    type Output = usize;

    fn step(&mut self, answer: Option<Answered>) -> Step<usize> {
        if answer.is_some() && effect::done(answer).is_err() {
            self.failed += 1;
        }
        match self.messages.pop() {
            Some(message) => Step::Do(Effect::Enqueue {
                message,
                delay_secs: 0,
            }),
            None => Step::Done(self.failed),
        }
    }
}
