//! The queue consumer's and the cron's work as state machines: each takes what the shell read
//! plus the clock and randomness it was given, and asks for the statements to run, the HTTP
//! requests to make and the messages to enqueue (`effect`). The shell performs them and feeds
//! the answers back; host tests do the same on SQLite with scripted upstreams.

pub mod alerts;
pub mod cron;
pub mod dead_letters;
pub mod delivery;
pub mod effect;
pub mod idempotency;
pub mod inbound;
pub mod outage;
pub mod reads;
pub mod resolve;
pub mod slot;
pub mod staff;
pub mod token;
pub mod zalo_token;
pub mod zns;

use std::collections::VecDeque;

use delivery::Handled;
use effect::{Answered, Flow, Step};

use crate::event::QueueMessage;
use crate::mask::mask_quoted;
use crate::settings::Settings;

/// What the shell hands every flow: the settings, the clock and randomness.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub now: i64,
    /// Spreads retries (jitter).
    pub random: u32,
    /// A fresh random name for a record this run may create (a robot message's delivery).
    pub unique: String,
}

pub type BoxedFlow<'a> = Box<dyn Flow<Output = Handled> + 'a>;

/// Why a message from the dead-letter queue is kept.
pub const RETRIES_EXHAUSTED: &str = "queue retries exhausted";

/// The flow for one queue message. A message that can never be processed (unreadable, or out
/// of retries on the dead-letter queue) is kept as a dead letter, never dropped.
pub fn consume<'a>(body: &str, from_dead_letter_queue: bool, cx: &Context<'a>) -> BoxedFlow<'a> {
    if from_dead_letter_queue {
        return Box::new(dead_letters::KeepFlow::new(
            cx.settings,
            body,
            RETRIES_EXHAUSTED,
            cx.now,
        ));
    }
    match QueueMessage::from_json(body) {
        Err(why) => Box::new(dead_letters::KeepFlow::new(
            cx.settings,
            body,
            &format!(
                "unreadable queue message: {}",
                mask_quoted(&why.to_string())
            ),
            cx.now,
        )),
        Ok(QueueMessage::Inbound(push)) => {
            match inbound::InboundFlow::new(cx.settings, push, cx.now) {
                Ok(flow) => Box::new(flow),
                Err(why) => Box::new(dead_letters::KeepFlow::new(
                    cx.settings,
                    body,
                    &format!("unreadable push: {}", mask_quoted(&why.to_string())),
                    cx.now,
                )),
            }
        }
        Ok(QueueMessage::Deliver { delivery_id }) => Box::new(delivery::DeliverFlow::new(
            cx.settings,
            cx.now,
            cx.random,
            &delivery_id,
        )),
        Ok(QueueMessage::FlushAlerts) => Box::new(flush(cx)),
    }
}

fn flush<'a>(cx: &Context<'a>) -> alerts::FlushFlow<'a> {
    alerts::FlushFlow::new(
        cx.settings,
        cx.now,
        cx.random,
        format!("robot:{}", cx.unique),
    )
}

/// A queue message whose flow failed on a dependency waits as long as it has already waited
/// (so the waits double: 10 s, 20 s, 40 s, …) up to six hours. With the queue's 20 retries
/// that is about two days of trying before the dead-letter queue takes over; meanwhile an
/// inbound event is also parked in KV (`outage`), so an outage of any length loses nothing.
pub fn retry_delay_secs(age_secs: i64) -> u32 {
    age_secs.clamp(MIN_RETRY_DELAY_SECS, MAX_RETRY_DELAY_SECS) as u32
}

pub const MIN_RETRY_DELAY_SECS: i64 = 10;
pub const MAX_RETRY_DELAY_SECS: i64 = 6 * 3600;

/// The scheduled run's parts, in order.
pub fn scheduled<'a>(cx: &Context<'a>) -> Sequence<'a> {
    let mut parts: Vec<BoxedFlow<'a>> = Vec::new();
    if cx.settings.wechat_appid.is_some() && cx.settings.wechat_appsecret.is_some() {
        parts.push(Box::new(cron::OnlineAgentsFlow::new(cx.settings, cx.now)));
    }
    parts.push(Box::new(cron::complaint_deadlines(cx.now)));
    parts.push(Box::new(cron::undelivered_orders(cx.now)));
    parts.push(Box::new(flush(cx)));
    parts.push(Box::new(cron::SweepFlow::new(cx.now)));
    Sequence {
        parts: parts.into(),
        reports: Vec::new(),
    }
}

/// Flows run one after the other, each whatever the one before it gave; the result is each
/// one's report.
pub struct Sequence<'a> {
    parts: VecDeque<BoxedFlow<'a>>,
    reports: Vec<Handled>,
}

impl Flow for Sequence<'_> {
    type Output = Vec<Handled>;

    fn step(&mut self, mut answer: Option<Answered>) -> Step<Vec<Handled>> {
        while let Some(current) = self.parts.front_mut() {
            match current.step(answer.take()) {
                Step::Do(effect) => return Step::Do(effect),
                Step::Done(report) => {
                    self.reports.push(report);
                    self.parts.pop_front();
                }
            }
        }
        Step::Done(std::mem::take(&mut self.reports))
    }
}

/// A flow whose result is turned into another: how the admin API makes its answers.
pub struct Map<F, G> {
    flow: F,
    map: G,
}

impl<F, G> Map<F, G> {
    pub fn new(flow: F, map: G) -> Self {
        Map { flow, map }
    }
}

impl<F: Flow, G: Fn(F::Output) -> T, T> Flow for Map<F, G> {
    type Output = T;

    fn step(&mut self, answer: Option<Answered>) -> Step<T> {
        match self.flow.step(answer) {
            Step::Do(effect) => Step::Do(effect),
            Step::Done(output) => Step::Done((self.map)(output)),
        }
    }
}
