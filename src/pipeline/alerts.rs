//! Flushing staff alerts to the WeCom robot: as many pending alerts as fit in one message, sent
//! only when a rate slot is free (otherwise they wait and coalesce), continuing while more wait.

use super::delivery::{AttemptFlow, Handled};
use super::effect::{self, Answered, Effect, Flow, Step};
use super::slot::{Slot, SlotFlow};
use crate::event::QueueMessage;
use crate::outbound::OutboundCall;
use crate::platforms::wecom::{self, Composed, PendingAlert};
use crate::rate::WECOM_ROBOT;
use crate::settings::Settings;
use crate::sql::Statement;

/// Pending alerts read per flush: more than ever fit in one message.
const READ_AT_MOST: i64 = 200;

pub struct FlushFlow<'a> {
    settings: &'a Settings,
    now: i64,
    random: u32,
    /// The id of the delivery this flush records, if it sends one.
    delivery_id: String,
    state: FlushState<'a>,
}

enum FlushState<'a> {
    Start,
    Reading,
    TakingSlot {
        composed: Composed,
        more: bool,
        slot: SlotFlow,
    },
    Deferring,
    Claiming {
        composed: Composed,
        more: bool,
    },
    Recomposing {
        more: bool,
    },
    Dropping,
    Rewriting {
        call: OutboundCall,
        more: bool,
    },
    Attempting {
        attempt: AttemptFlow<'a>,
        more: bool,
    },
    Continuing(String),
    Finished,
}

impl<'a> FlushFlow<'a> {
    /// `delivery_id` names the robot message this flush may send (random, so that concurrent
    /// flushes never share one).
    pub fn new(settings: &'a Settings, now: i64, random: u32, delivery_id: String) -> Self {
        FlushFlow {
            settings,
            now,
            random,
            delivery_id,
            state: FlushState::Start,
        }
    }

    fn robot_call(markdown: String) -> OutboundCall {
        OutboundCall::WecomRobot { markdown }
    }

    fn attempt(&mut self, call: OutboundCall, more: bool) -> Step<Handled> {
        let attempt = AttemptFlow::new(
            self.settings,
            self.now,
            self.random,
            &self.delivery_id,
            call,
            None,
            1,
        );
        self.state = FlushState::Attempting { attempt, more };
        self.step(None)
    }

    fn enqueue_flush(&mut self, delay_secs: u32, next: FlushState<'a>) -> Step<Handled> {
        self.state = next;
        Step::Do(Effect::Enqueue {
            message: QueueMessage::FlushAlerts,
            delay_secs,
        })
    }
}

impl Flow for FlushFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        let (id, now) = (self.delivery_id.clone(), self.now);
        match std::mem::replace(&mut self.state, FlushState::Finished) {
            FlushState::Start if self.settings.wecom_robot_key.is_none() => Step::Done(Ok(
                // The alerts stay pending; the cron flushes them once the key is set.
                "alerts wait: missing setting WECOM_ROBOT_KEY".into(),
            )),
            FlushState::Start => {
                self.state = FlushState::Reading;
                Step::Do(Effect::Query(Statement::new(
                    "SELECT id, ticket_id, text FROM alerts WHERE claim IS NULL ORDER BY id LIMIT ?",
                    vec![READ_AT_MOST.into()],
                )))
            }
            FlushState::Reading => {
                let pending = match effect::rows::<PendingAlert>(answer) {
                    Ok(pending) => pending,
                    Err(e) => return Step::Done(Err(e)),
                };
                let Some(composed) = wecom::compose(&pending) else {
                    return Step::Done(Ok("no pending alerts".into()));
                };
                let more = pending.len() > composed.included.len();
                let slot = SlotFlow::new(WECOM_ROBOT, now);
                self.state = FlushState::TakingSlot {
                    composed,
                    more,
                    slot,
                };
                self.step(None)
            }
            FlushState::TakingSlot {
                composed,
                more,
                mut slot,
            } => match slot.step(answer) {
                Step::Do(effect) => {
                    self.state = FlushState::TakingSlot {
                        composed,
                        more,
                        slot,
                    };
                    Step::Do(effect)
                }
                Step::Done(Err(e)) => Step::Done(Err(e)),
                Step::Done(Ok(Slot::Taken)) => {
                    let (first, last) = composed.range();
                    let call = Self::robot_call(composed.markdown.clone());
                    self.state = FlushState::Claiming { composed, more };
                    // Claim exactly the composed alerts; a concurrent flusher that claimed one
                    // first makes this claim partial, and the message is composed again.
                    Step::Do(Effect::Transaction(vec![
                        Statement::new(
                            "UPDATE alerts SET claim = ?, claimed_at = ? WHERE claim IS NULL AND id BETWEEN ? AND ?",
                            vec![id.as_str().into(), now.into(), first.into(), last.into()],
                        ),
                        Statement::new(
                            "INSERT INTO deliveries (id, target, payload, state, attempts, created_at, updated_at, next_attempt_at) \
                             VALUES (?, ?, ?, 'sending', 0, ?, ?, ?)",
                            vec![id.as_str().into(), call.target().into(), call.payload().into(), now.into(), now.into(), now.into()],
                        ),
                    ]))
                }
                Step::Done(Ok(Slot::WaitSecs(wait))) => {
                    self.enqueue_flush(wait, FlushState::Deferring)
                }
            },
            FlushState::Deferring => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => Step::Done(Ok("alerts wait for a robot slot".into())),
            },
            FlushState::Claiming { composed, more } => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(changes) if changes.first() == Some(&composed.included.len()) => {
                    self.attempt(Self::robot_call(composed.markdown), more)
                }
                Ok(_) => {
                    self.state = FlushState::Recomposing { more };
                    Step::Do(Effect::Query(Statement::new(
                        "SELECT id, ticket_id, text FROM alerts WHERE claim = ? ORDER BY id",
                        vec![id.as_str().into()],
                    )))
                }
            },
            FlushState::Recomposing { more } => match effect::rows::<PendingAlert>(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(claimed) => match wecom::compose(&claimed) {
                    None => {
                        self.state = FlushState::Dropping;
                        Step::Do(Effect::Transaction(vec![Statement::new(
                            "DELETE FROM deliveries WHERE id = ?",
                            vec![id.as_str().into()],
                        )]))
                    }
                    Some(recomposed) => {
                        let call = Self::robot_call(recomposed.markdown);
                        self.state = FlushState::Rewriting {
                            call: call.clone(),
                            more,
                        };
                        Step::Do(Effect::Transaction(vec![Statement::new(
                            "UPDATE deliveries SET payload = ? WHERE id = ?",
                            vec![call.payload().into(), id.as_str().into()],
                        )]))
                    }
                },
            },
            FlushState::Dropping => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => Step::Done(Ok("another flush claimed every alert".into())),
            },
            FlushState::Rewriting { call, more } => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => self.attempt(call, more),
            },
            FlushState::Attempting { mut attempt, more } => match attempt.step(answer) {
                Step::Do(effect) => {
                    self.state = FlushState::Attempting { attempt, more };
                    Step::Do(effect)
                }
                Step::Done(Ok(report)) if more => {
                    self.enqueue_flush(0, FlushState::Continuing(report))
                }
                Step::Done(done) => Step::Done(done),
            },
            FlushState::Continuing(report) => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => Step::Done(Ok(report)),
            },
            FlushState::Finished => Step::Done(Ok("flush finished".into())),
        }
    }
}
