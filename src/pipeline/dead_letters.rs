//! What could not be done, kept and put back in line: a queue message that exhausted its
//! retries (or could never be read) becomes a dead letter with its reason and one alert; a dead
//! letter can be replayed from the admin API.

use serde::Deserialize;

use super::delivery::Handled;
use super::effect::{self, Answered, Effect, Flow, Step};
use super::outage::ParkFlow;
use crate::event::QueueMessage;
use crate::settings::Settings;
use crate::sql::{Statement, StoreError};

/// Keeps a queue message as a dead letter with `reason`, and alerts staff once. When D1 cannot
/// take it, the message is parked in KV and retried.
pub struct KeepFlow<'a> {
    settings: &'a Settings,
    body: String,
    now: i64,
    statements: Vec<Statement>,
    reason: String,
    state: KeepState<'a>,
}

enum KeepState<'a> {
    Start,
    Storing,
    Flushing,
    Parking(ParkFlow<'a>, StoreError),
    Finished,
}

impl<'a> KeepFlow<'a> {
    pub fn new(settings: &'a Settings, body: &str, reason: &str, now: i64) -> Self {
        let statements = vec![
            Statement::new(
                "INSERT INTO dead_letters (source, body, reason, created_at) VALUES ('queue', ?, ?, ?)",
                vec![body.into(), reason.into(), now.into()],
            ),
            Statement::alert(
                "INSERT OR IGNORE INTO alerts (dedup_key, text, created_at) VALUES ('dead-queue:' || last_insert_rowid(), ?, ?)",
                vec![format!("A queue message became a dead letter: {reason}").into(), now.into()],
            ),
        ];
        KeepFlow {
            settings,
            body: body.to_owned(),
            now,
            statements,
            reason: reason.to_owned(),
            state: KeepState::Start,
        }
    }
}

impl Flow for KeepFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, KeepState::Finished) {
            KeepState::Start => {
                self.state = KeepState::Storing;
                Step::Do(Effect::Transaction(self.statements.clone()))
            }
            KeepState::Storing => match effect::changes(answer) {
                Err(e) => {
                    let park = ParkFlow::new(self.settings, self.now, self.body.clone());
                    self.state = KeepState::Parking(park, e);
                    self.step(None)
                }
                Ok(_) => {
                    self.state = KeepState::Flushing;
                    Step::Do(Effect::Enqueue {
                        message: QueueMessage::FlushAlerts,
                        delay_secs: 0,
                    })
                }
            },
            KeepState::Parking(mut park, error) => match park.step(answer) {
                Step::Do(effect) => {
                    self.state = KeepState::Parking(park, error);
                    Step::Do(effect)
                }
                Step::Done(_) => Step::Done(Err(error)),
            },
            // Best effort: the cron flushes pending alerts every minute anyway.
            KeepState::Flushing | KeepState::Finished => {
                Step::Done(Ok(format!("dead letter: {}", self.reason)))
            }
        }
    }
}

/// Whether a dead letter was found and put back in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    Yes,
    NotFound,
    /// A queue message that could never be read cannot be put back as it was.
    Unreadable(String),
}

#[derive(Deserialize)]
struct DeadLetterRow {
    source: String,
    delivery_id: Option<String>,
    body: String,
}

/// Puts dead letter `id` back in line: a delivery is reset and attempted again; a queue
/// message is enqueued again as it was.
pub struct ReplayFlow {
    id: i64,
    now: i64,
    state: ReplayState,
}

enum ReplayState {
    Start,
    Reading,
    /// The delivery was reset and marked replayed; its queue message goes next.
    Resetting(String),
    Enqueueing {
        mark_after: bool,
    },
    Marking,
    Finished,
}

impl ReplayFlow {
    pub fn new(dead_letter_id: i64, now: i64) -> Self {
        ReplayFlow {
            id: dead_letter_id,
            now,
            state: ReplayState::Start,
        }
    }

    fn mark_replayed(&self) -> Statement {
        Statement::new(
            "UPDATE dead_letters SET replayed_at = ? WHERE id = ?",
            vec![self.now.into(), self.id.into()],
        )
    }

    fn enqueue(
        &mut self,
        message: QueueMessage,
        mark_after: bool,
    ) -> Step<Result<Replayed, StoreError>> {
        self.state = ReplayState::Enqueueing { mark_after };
        Step::Do(Effect::Enqueue {
            message,
            delay_secs: 0,
        })
    }
}

impl Flow for ReplayFlow {
    type Output = Result<Replayed, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, ReplayState::Finished) {
            ReplayState::Start => {
                self.state = ReplayState::Reading;
                Step::Do(Effect::Query(Statement::new(
                    "SELECT source, delivery_id, body FROM dead_letters WHERE id = ?",
                    vec![self.id.into()],
                )))
            }
            ReplayState::Reading => {
                let row = match effect::rows::<DeadLetterRow>(answer) {
                    Err(e) => return Step::Done(Err(e)),
                    Ok(rows) => match rows.into_iter().next() {
                        Some(row) => row,
                        None => return Step::Done(Ok(Replayed::NotFound)),
                    },
                };
                match (row.source.as_str(), row.delivery_id) {
                    // Reset first: if the enqueue then fails, the cron's sweep sends it.
                    ("delivery", Some(delivery_id)) => {
                        let reset = Statement::new(
                            "UPDATE deliveries SET state = 'retrying', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'",
                            vec![self.now.into(), self.now.into(), delivery_id.as_str().into()],
                        );
                        self.state = ReplayState::Resetting(delivery_id);
                        Step::Do(Effect::Transaction(vec![reset, self.mark_replayed()]))
                    }
                    _ => match QueueMessage::from_json(&row.body) {
                        Ok(message) => self.enqueue(message, true),
                        Err(why) => Step::Done(Ok(Replayed::Unreadable(format!(
                            "unreadable queue message: {why}"
                        )))),
                    },
                }
            }
            ReplayState::Resetting(delivery_id) => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => self.enqueue(QueueMessage::Deliver { delivery_id }, false),
            },
            ReplayState::Enqueueing { mark_after } => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) if mark_after => {
                    self.state = ReplayState::Marking;
                    Step::Do(Effect::Transaction(vec![self.mark_replayed()]))
                }
                Ok(()) => Step::Done(Ok(Replayed::Yes)),
            },
            ReplayState::Marking => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => Step::Done(Ok(Replayed::Yes)),
            },
            ReplayState::Finished => Step::Done(Ok(Replayed::Yes)),
        }
    }
}
