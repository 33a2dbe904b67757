//! The scheduled run (every minute): the online-agent list (and so the access_token) kept
//! fresh, complaint deadline warnings, an alert flush, and the sweep that re-sends deliveries
//! whose queue message was lost. Each part runs even when an earlier one failed.

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::delivery::{Handled, STUCK_SENDING_SECS};
use super::effect::{self, Answered, Effect, Flow, Step};
use super::token::{BuildRequest, CallFlow};
use crate::event::QueueMessage;
use crate::http::{HttpRequest, HttpResult, Outcome};
use crate::kv;
use crate::platforms::oa::OnlineAgents;
use crate::rate::forget_old_sends;
use crate::settings::Settings;
use crate::sql::Statement;
use crate::wechat::api::{self, App};
use crate::{complaints, orders};

/// A due delivery is re-sent when it is this late: its queue message was lost.
pub const LOST_MESSAGE_SECS: i64 = 60;
/// Deliveries re-sent per run.
const SWEEP_AT_MOST: i64 = 100;

/// `getonlinekflist`, which needs the access_token.
pub struct OnlineAgentsCall;

impl BuildRequest for OnlineAgentsCall {
    fn access_token_of(&self) -> Option<App> {
        Some(App::OfficialAccount)
    }

    fn build(&self, settings: &Settings, token: Option<&str>) -> Result<HttpRequest, String> {
        let token = token.ok_or("no access_token")?;
        Ok(api::online_agents_request(&settings.wechat_api_base, token))
    }
}

/// Refreshes the online-agent list in KV, which inline routing reads.
pub struct OnlineAgentsFlow<'a> {
    state: AgentsState<'a>,
}

enum AgentsState<'a> {
    Calling(CallFlow<'a, OnlineAgentsCall>),
    Storing,
    Finished,
}

impl<'a> OnlineAgentsFlow<'a> {
    pub fn new(settings: &'a Settings, now: i64) -> Self {
        OnlineAgentsFlow {
            state: AgentsState::Calling(CallFlow::new(settings, now, OnlineAgentsCall)),
        }
    }
}

impl Flow for OnlineAgentsFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, AgentsState::Finished) {
            AgentsState::Calling(mut call) => match call.step(answer) {
                Step::Do(effect) => {
                    self.state = AgentsState::Calling(call);
                    Step::Do(effect)
                }
                Step::Done((Outcome::Delivered, Some(HttpResult::Response { body, .. }))) => {
                    match OnlineAgents::parse(&body) {
                        Ok(list) => {
                            self.state = AgentsState::Storing;
                            Step::Do(Effect::KvPut {
                                key: kv::ONLINE_AGENTS.into(),
                                value: serde_json::to_string(&list).unwrap_or_default(),
                                ttl_secs: None,
                            })
                        }
                        Err(why) => Step::Done(Ok(format!(
                            "getonlinekflist: the online agent list is not valid: {why}"
                        ))),
                    }
                }
                Step::Done((outcome, _)) => {
                    Step::Done(Ok(format!("getonlinekflist failed: {outcome:?}")))
                }
            },
            AgentsState::Storing => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => Step::Done(Ok("online agents refreshed".into())),
            },
            AgentsState::Finished => Step::Done(Ok("online agents finished".into())),
        }
    }
}

/// A cron check over rows that may be due an alert: the rows are read, the core plans the
/// alerts and marks, and the plan runs as one transaction.
pub struct WatchFlow<R> {
    now: i64,
    query: &'static str,
    plan: fn(&[R], i64) -> Vec<Statement>,
    /// What is watched, for the report.
    what: &'static str,
    state: WatchState,
}

enum WatchState {
    Start,
    Reading,
    Alerting(usize),
    Finished,
}

/// Complaints with a quarter of their time left or overdue, warned once each.
pub fn complaint_deadlines(now: i64) -> WatchFlow<complaints::Pending> {
    WatchFlow {
        now,
        query: complaints::PENDING_WARNINGS_SQL,
        plan: complaints::plan_deadline_warnings,
        what: "complaint deadlines",
        state: WatchState::Start,
    }
}

/// Paid orders not delivered in time, alerted once nearing the deadline and once overdue.
pub fn undelivered_orders(now: i64) -> WatchFlow<orders::Undelivered> {
    WatchFlow {
        now,
        query: orders::UNDELIVERED_SQL,
        plan: orders::plan_watch,
        what: "undelivered orders",
        state: WatchState::Start,
    }
}

impl<R: DeserializeOwned> Flow for WatchFlow<R> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, WatchState::Finished) {
            WatchState::Start => {
                self.state = WatchState::Reading;
                // Each watch query takes `now` twice: once per kind of alert.
                Step::Do(Effect::Query(Statement::new(
                    self.query,
                    vec![self.now.into(), self.now.into()],
                )))
            }
            WatchState::Reading => {
                let rows = match effect::rows::<R>(answer) {
                    Ok(rows) => rows,
                    Err(e) => return Step::Done(Err(e)),
                };
                let statements = (self.plan)(&rows, self.now);
                if statements.is_empty() {
                    return Step::Done(Ok(format!("{}: nothing due", self.what)));
                }
                self.state = WatchState::Alerting(rows.len());
                Step::Do(Effect::Transaction(statements))
            }
            WatchState::Alerting(n) => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => Step::Done(Ok(format!("{}: alerts for {n}", self.what))),
            },
            WatchState::Finished => Step::Done(Ok(format!("{}: finished", self.what))),
        }
    }
}

#[derive(Deserialize)]
struct Due {
    id: String,
}

/// Deliveries stuck in flight (their isolate died mid-call) are made due again, and due ones
/// whose queue message was lost are sent again; sends too old for any rate window are dropped.
pub struct SweepFlow {
    now: i64,
    state: SweepState,
}

enum SweepState {
    Start,
    Unsticking,
    Reading,
    Resending(Vec<String>, usize),
    Forgetting(usize),
    Finished,
}

impl SweepFlow {
    pub fn new(now: i64) -> Self {
        SweepFlow {
            now,
            state: SweepState::Start,
        }
    }

    fn resend(&mut self, mut due: Vec<String>, sent: usize) -> Step<Handled> {
        match due.pop() {
            Some(delivery_id) => {
                self.state = SweepState::Resending(due, sent + 1);
                Step::Do(Effect::Enqueue {
                    message: QueueMessage::Deliver { delivery_id },
                    delay_secs: 0,
                })
            }
            None => {
                self.state = SweepState::Forgetting(sent);
                Step::Do(Effect::Transaction(vec![forget_old_sends(self.now)]))
            }
        }
    }
}

impl Flow for SweepFlow {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        let now = self.now;
        match std::mem::replace(&mut self.state, SweepState::Finished) {
            SweepState::Start => {
                self.state = SweepState::Unsticking;
                Step::Do(Effect::Transaction(vec![Statement::new(
                    "UPDATE deliveries SET state = 'retrying' WHERE state = 'sending' AND updated_at < ?",
                    vec![(now - STUCK_SENDING_SECS).into()],
                )]))
            }
            SweepState::Unsticking => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => {
                    self.state = SweepState::Reading;
                    Step::Do(Effect::Query(Statement::new(
                        "SELECT id FROM deliveries WHERE state IN ('pending', 'retrying') AND next_attempt_at < ? LIMIT ?",
                        vec![(now - LOST_MESSAGE_SECS).into(), SWEEP_AT_MOST.into()],
                    )))
                }
            },
            SweepState::Reading => match effect::rows::<Due>(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(due) => self.resend(due.into_iter().map(|d| d.id).collect(), 0),
            },
            SweepState::Resending(due, sent) => match effect::done(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(()) => self.resend(due, sent),
            },
            SweepState::Forgetting(sent) => match effect::changes(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(_) => Step::Done(Ok(format!("sweep re-sent {sent} deliveries"))),
            },
            SweepState::Finished => Step::Done(Ok("sweep finished".into())),
        }
    }
}
