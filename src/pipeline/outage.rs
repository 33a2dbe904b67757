//! When D1 cannot take a queue message, the message is also kept in KV (which does not need
//! D1) under a key derived from it, and staff are told once per outage through the robot
//! directly (the alerts table is in D1). After the outage, `POST /api/parked/replay` puts every
//! parked message back on the queue; storing is idempotent, so a message that was meanwhile
//! stored by a queue retry is stored once all the same.

use serde::Serialize;

use super::effect::{self, Answered, Effect, Flow, Step};
use crate::event::QueueMessage;
use crate::kv;
use crate::platforms::wecom::robot_request;
use crate::settings::Settings;
use crate::sql::StoreError;

/// One outage alert per this many seconds, whatever the number of parked messages.
pub const OUTAGE_ALERT_EVERY_SECS: u64 = 600;

const OUTAGE_ALERT: &str = "**kefu-edge: storage unavailable**\n\
> D1 refused writes. Incoming events are kept in KV and retried; once D1 works again, \
replay them with `POST /api/parked/replay`.";

/// Parks `message` in KV and alerts staff unless that was done in the last few minutes.
pub struct ParkFlow<'a> {
    settings: &'a Settings,
    now: i64,
    message: String,
    state: ParkState,
}

enum ParkState {
    Start,
    Parking,
    CheckingAlerted,
    MarkingAlerted,
    Alerting,
    Finished,
}

impl<'a> ParkFlow<'a> {
    pub fn new(settings: &'a Settings, now: i64, message: String) -> Self {
        ParkFlow {
            settings,
            now,
            message,
            state: ParkState::Start,
        }
    }
}

impl Flow for ParkFlow<'_> {
    /// `Err` when even KV refused: then only the queue's retries hold the message.
    type Output = Result<(), StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, ParkState::Finished) {
            ParkState::Start => {
                self.state = ParkState::Parking;
                Step::Do(Effect::KvPut {
                    key: kv::parked_key(&self.message),
                    value: self.message.clone(),
                    ttl_secs: None,
                })
            }
            ParkState::Parking => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => {
                    self.state = ParkState::CheckingAlerted;
                    Step::Do(Effect::KvGet(kv::OUTAGE_ALERTED.into()))
                }
            },
            ParkState::CheckingAlerted => match effect::value(answer) {
                Some(_) => Step::Done(Ok(())),
                None => {
                    self.state = ParkState::MarkingAlerted;
                    Step::Do(Effect::KvPut {
                        key: kv::OUTAGE_ALERTED.into(),
                        value: self.now.to_string(),
                        ttl_secs: Some(OUTAGE_ALERT_EVERY_SECS),
                    })
                }
            },
            ParkState::MarkingAlerted => match self.settings.wecom_robot_key.as_deref() {
                // Best effort: the parked messages are safe either way.
                None => Step::Done(Ok(())),
                Some(key) => {
                    self.state = ParkState::Alerting;
                    Step::Do(Effect::Fetch(robot_request(
                        &self.settings.wecom_api_base,
                        key,
                        OUTAGE_ALERT,
                    )))
                }
            },
            ParkState::Alerting | ParkState::Finished => Step::Done(Ok(())),
        }
    }
}

/// A parked message, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parked {
    pub key: String,
    pub message: serde_json::Value,
}

/// Reads every parked message (at most 1000 at a time).
pub struct ListParkedFlow {
    keys: Vec<String>,
    current: Option<String>,
    found: Vec<Parked>,
    started: bool,
}

impl ListParkedFlow {
    pub fn new() -> Self {
        ListParkedFlow {
            keys: Vec::new(),
            current: None,
            found: Vec::new(),
            started: false,
        }
    }

    fn next(&mut self) -> Step<Result<Vec<Parked>, StoreError>> {
        match self.keys.pop() {
            Some(key) => {
                self.current = Some(key.clone());
                Step::Do(Effect::KvGet(key))
            }
            None => Step::Done(Ok(std::mem::take(&mut self.found))),
        }
    }
}

impl Default for ListParkedFlow {
    fn default() -> Self {
        Self::new()
    }
}

impl Flow for ListParkedFlow {
    type Output = Result<Vec<Parked>, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        if !self.started {
            self.started = true;
            return Step::Do(Effect::KvList(kv::PARKED_PREFIX));
        }
        match self.current.take() {
            None => match effect::keys(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(mut keys) => {
                    keys.reverse();
                    self.keys = keys;
                    self.next()
                }
            },
            Some(key) => match effect::read(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(value) => {
                    if let Some(text) = value {
                        let message =
                            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                        self.found.push(Parked { key, message });
                    }
                    self.next()
                }
            },
        }
    }
}

/// What a replay of parked messages did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParkedReplay {
    /// Back on the queue (and no longer parked).
    pub replayed: usize,
    /// Kept parked: not a message this version can read.
    pub unreadable: Vec<String>,
}

/// Puts every parked message back on the queue, then forgets it.
pub struct ReplayParkedFlow {
    phase: ReplayPhase,
    pending: Vec<Parked>,
    report: ParkedReplay,
}

enum ReplayPhase {
    Listing(ListParkedFlow),
    /// The message parked under this key was sent to the queue.
    Enqueued(String),
    /// Its parked copy was deleted.
    Deleted,
}

impl ReplayParkedFlow {
    pub fn new() -> Self {
        ReplayParkedFlow {
            phase: ReplayPhase::Listing(ListParkedFlow::new()),
            pending: Vec::new(),
            report: ParkedReplay::default(),
        }
    }

    fn next(&mut self) -> Step<Result<ParkedReplay, StoreError>> {
        while let Some(parked) = self.pending.pop() {
            // Read from its text, as the consumer reads it: one deserializer for queue messages.
            match QueueMessage::from_json(&parked.message.to_string()) {
                Ok(message) => {
                    self.phase = ReplayPhase::Enqueued(parked.key);
                    return Step::Do(Effect::Enqueue {
                        message,
                        delay_secs: 0,
                    });
                }
                Err(_) => self.report.unreadable.push(parked.key),
            }
        }
        Step::Done(Ok(std::mem::take(&mut self.report)))
    }
}

impl Default for ReplayParkedFlow {
    fn default() -> Self {
        Self::new()
    }
}

impl Flow for ReplayParkedFlow {
    type Output = Result<ParkedReplay, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.phase, ReplayPhase::Deleted) {
            ReplayPhase::Listing(mut list) => match list.step(answer) {
                Step::Do(effect) => {
                    self.phase = ReplayPhase::Listing(list);
                    Step::Do(effect)
                }
                Step::Done(Err(e)) => Step::Done(Err(e)),
                Step::Done(Ok(mut parked)) => {
                    parked.reverse();
                    self.pending = parked;
                    self.next()
                }
            },
            // Forget the parked copy only once the message is back on the queue.
            ReplayPhase::Enqueued(key) => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => {
                    self.report.replayed += 1;
                    Step::Do(Effect::KvDelete(key))
                }
            },
            // A failed delete only means a harmless second replay later.
            ReplayPhase::Deleted => self.next(),
        }
    }
}
