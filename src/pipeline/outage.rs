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

/// KV operations one invocation may make (Workers' limit): a listing page or a replay batch
/// stays within them.
pub const KV_OPERATIONS_PER_INVOCATION: usize = 1000;
/// The most parked messages one page lists: a listing and a read each.
pub const PARKED_PAGE_MAX: u32 = 500;
/// Parked messages one replay puts back: a listing, then a read and a delete each, leaves room
/// to count what remains.
pub const REPLAY_BATCH: usize = 400;
/// KV's largest page of keys.
const KV_PAGE: u32 = 1000;

/// A parked message, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parked {
    pub key: String,
    pub message: serde_json::Value,
}

/// One page of parked messages, and the cursor of the next (`None`: the last page).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ParkedPage {
    pub parked: Vec<Parked>,
    pub cursor: Option<String>,
}

/// Reads one page of parked messages: up to `limit` (at most `PARKED_PAGE_MAX`) after `cursor`.
pub struct ListParkedFlow {
    cursor: Option<String>,
    limit: u32,
    keys: Vec<String>,
    current: Option<String>,
    page: ParkedPage,
    started: bool,
}

impl ListParkedFlow {
    pub fn new(cursor: Option<String>, limit: u32) -> Self {
        ListParkedFlow {
            cursor,
            limit: limit.clamp(1, PARKED_PAGE_MAX),
            keys: Vec::new(),
            current: None,
            page: ParkedPage::default(),
            started: false,
        }
    }

    fn next(&mut self) -> Step<Result<ParkedPage, StoreError>> {
        match self.keys.pop() {
            Some(key) => {
                self.current = Some(key.clone());
                Step::Do(Effect::KvGet(key))
            }
            None => Step::Done(Ok(std::mem::take(&mut self.page))),
        }
    }
}

impl Flow for ListParkedFlow {
    type Output = Result<ParkedPage, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        if !self.started {
            self.started = true;
            return Step::Do(Effect::KvList {
                prefix: kv::PARKED_PREFIX,
                cursor: self.cursor.take(),
                limit: self.limit,
            });
        }
        match self.current.take() {
            None => match effect::keys(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(mut listed) => {
                    listed.keys.reverse();
                    self.keys = listed.keys;
                    self.page.cursor = listed.cursor;
                    self.next()
                }
            },
            Some(key) => match effect::read(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(value) => {
                    // Gone since the listing (KV lists lag deletes): replayed meanwhile.
                    if let Some(text) = value {
                        let message =
                            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
                        self.page.parked.push(Parked { key, message });
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
    /// Still parked after this batch (the unreadable ones included): replay again while it is
    /// not 0. Counted with what KV operations the batch left, so a lower bound past about
    /// 200,000; KV lists deletes up to a minute late, so a replay just after another may count
    /// a few already replayed.
    pub remaining: usize,
}

/// Puts up to `REPLAY_BATCH` parked messages back on the queue, forgetting each once it is
/// there, and counts what remains: within one invocation's KV operations.
pub struct ReplayParkedFlow {
    phase: ReplayPhase,
    batch: Vec<String>,
    next_page: Option<String>,
    kv_operations: usize,
    report: ParkedReplay,
}

enum ReplayPhase {
    Listing,
    /// The message parked under this key was read.
    Reading(String),
    /// The message parked under this key was sent to the queue.
    Enqueued(String),
    /// Its parked copy was deleted.
    Deleted,
    /// A further page of keys was listed, to count them.
    Counting,
}

impl ReplayParkedFlow {
    pub fn new() -> Self {
        ReplayParkedFlow {
            phase: ReplayPhase::Listing,
            batch: Vec::new(),
            next_page: None,
            kv_operations: 0,
            report: ParkedReplay::default(),
        }
    }

    fn kv(&mut self, phase: ReplayPhase, effect: Effect) -> Step<Result<ParkedReplay, StoreError>> {
        self.kv_operations += 1;
        self.phase = phase;
        Step::Do(effect)
    }

    fn next(&mut self) -> Step<Result<ParkedReplay, StoreError>> {
        if let Some(key) = self.batch.pop() {
            return self.kv(ReplayPhase::Reading(key.clone()), Effect::KvGet(key));
        }
        match self.next_page.take() {
            Some(cursor) if self.kv_operations < KV_OPERATIONS_PER_INVOCATION => self.kv(
                ReplayPhase::Counting,
                Effect::KvList {
                    prefix: kv::PARKED_PREFIX,
                    cursor: Some(cursor),
                    limit: KV_PAGE,
                },
            ),
            _ => Step::Done(Ok(std::mem::take(&mut self.report))),
        }
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
            ReplayPhase::Listing if answer.is_none() => self.kv(
                ReplayPhase::Listing,
                Effect::KvList {
                    prefix: kv::PARKED_PREFIX,
                    cursor: None,
                    limit: KV_PAGE,
                },
            ),
            ReplayPhase::Listing => match effect::keys(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(mut listed) => {
                    let rest = listed.keys.split_off(REPLAY_BATCH.min(listed.keys.len()));
                    self.report.remaining = rest.len();
                    listed.keys.reverse();
                    self.batch = listed.keys;
                    self.next_page = listed.cursor;
                    self.next()
                }
            },
            ReplayPhase::Reading(key) => match effect::read(answer) {
                Err(e) => Step::Done(Err(e)),
                // Gone since the listing (KV lists lag deletes): replayed meanwhile.
                Ok(None) => self.next(),
                // Read from its text, as the consumer reads it: one deserializer for queue
                // messages.
                Ok(Some(text)) => match QueueMessage::from_json(&text) {
                    Ok(message) => {
                        self.phase = ReplayPhase::Enqueued(key);
                        Step::Do(Effect::Enqueue {
                            message,
                            delay_secs: 0,
                        })
                    }
                    Err(_) => {
                        self.report.unreadable.push(key);
                        self.report.remaining += 1;
                        self.next()
                    }
                },
            },
            // Forget the parked copy only once the message is back on the queue.
            ReplayPhase::Enqueued(key) => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => {
                    self.report.replayed += 1;
                    self.kv(ReplayPhase::Deleted, Effect::KvDelete(key))
                }
            },
            // A failed delete only means a harmless second replay later.
            ReplayPhase::Deleted => self.next(),
            ReplayPhase::Counting => match effect::keys(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(listed) => {
                    self.report.remaining += listed.keys.len();
                    self.next_page = listed.cursor;
                    self.next()
                }
            },
        }
    }
}
