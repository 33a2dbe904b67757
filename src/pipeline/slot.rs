//! Taking one of a rate-limited target's slots (`rate::RateLimit`), or learning how long until
//! one frees: the one way every rate-limited call waits its turn.

use super::effect::{self, Answered, Effect, Flow, Step};
use crate::rate::{Blocked, RateLimit};
use crate::sql::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Taken,
    /// None free: this many seconds until the oldest counted send leaves the window, or the
    /// target's pause ends.
    WaitSecs(u32),
}

pub struct SlotFlow {
    limit: RateLimit,
    now: i64,
    state: SlotState,
}

enum SlotState {
    Start,
    Taking,
    FindingWait,
}

impl SlotFlow {
    pub fn new(limit: RateLimit, now: i64) -> Self {
        SlotFlow {
            limit,
            now,
            state: SlotState::Start,
        }
    }
}

impl Flow for SlotFlow {
    type Output = Result<Slot, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match self.state {
            SlotState::Start => {
                self.state = SlotState::Taking;
                Step::Do(Effect::Transaction(vec![self.limit.take(self.now)]))
            }
            SlotState::Taking => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(changes) if changes.first() == Some(&1) => Step::Done(Ok(Slot::Taken)),
                Ok(_) => {
                    self.state = SlotState::FindingWait;
                    Step::Do(Effect::Query(self.limit.blocked(self.now)))
                }
            },
            SlotState::FindingWait => match effect::rows::<Blocked>(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(rows) => Step::Done(Ok(Slot::WaitSecs(
                    self.limit
                        .wait_secs(rows.first().unwrap_or(&Blocked::default()), self.now),
                ))),
            },
        }
    }
}
