//! Pulling a 微信客服 account's messages: a `KfSync` queue message (from the callback, or a
//! replay) runs `kf/sync_msg` page by page from the account's stored cursor, and stores each page
//! with the cursor that follows it in one transaction.
//!
//! Serialised per `open_kfid` with a lease row in D1 (`kf_cursors.lease_id`/`lease_until`), not
//! with a conditional update of the cursor alone nor a Durable Object. A conditional update would
//! refuse the second writer only after both runs called `sync_msg` from the same cursor: the
//! double read that SDK users report as duplicate replies. The Worker has no Durable Object, and
//! one per account only to lock would add a binding, a class and a hop for what one row does.
//! The lease runs out (`LEASE_SECS`) so a run that died with its isolate blocks nobody for long;
//! every page's transaction renews it and fails (an expectation) when another run has taken it
//! over meanwhile, so a run that lost its lease stores nothing. A callback that finds the account
//! leased is put back on the queue (`BUSY_DELAY_SECS`): its messages may lie past the holder's
//! last page.
//!
//! Within a page, messages already stored (a page read again after a crash, or replayed by
//! WeCom) are left out by their `kf:msg:<msgid>` event key; each new one is stored as
//! `tickets::plan` stores any event, with the FAQ's auto-reply to a text. Then the customers not yet known get their profile from
//! `kf/customer/batchget`, once.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::delivery::{Dispatch, Handled};
use super::effect::{self, Answered, Effect, Flow, Step};
use super::inbound::faq_auto_reply;
use super::token::{BuildRequest, CallFlow};
use crate::event::{Inbound, QueueMessage, QueuedEvent};
use crate::http::{HttpRequest, HttpResult, Outcome};
use crate::outbound::{record_delivery, OutboundCall};
use crate::platforms::wecom_kf::{self, KfMessage, KfOutMessage, KfSync, Profile, SyncPage};
use crate::rules::Rules;
use crate::settings::Settings;
use crate::sql::{follow_ups, Param, Statement, StoreError};
use crate::wechat::api::App;
use crate::{kf_sessions, kv, tickets};

/// How long a sync run holds an account before another may take it over.
pub const LEASE_SECS: i64 = 120;
/// When the account is leased, the sync is tried again this much later.
pub const BUSY_DELAY_SECS: u32 = 5;
/// Pages one run pulls before it hands the rest to a fresh queue message.
pub const MAX_PAGES: u32 = 20;
/// The callback's `token` is valid this long; an older sync (a retry, a replay) goes without.
pub const CALLBACK_TOKEN_SECS: i64 = 600;

/// A `kf/sync_msg` page from a cursor.
struct SyncCall {
    sync: KfSync,
    cursor: Option<String>,
}

impl BuildRequest for SyncCall {
    fn access_token_of(&self) -> Option<App> {
        Some(App::WeComKf)
    }

    fn build(&self, settings: &Settings, token: Option<&str>) -> Result<HttpRequest, String> {
        let token = token.ok_or("no access_token")?;
        Ok(wecom_kf::sync_request(
            &settings.wecom_api_base,
            token,
            &self.sync,
            self.cursor.as_deref(),
        ))
    }

    fn classify(&self, result: &HttpResult) -> Outcome {
        wecom_kf::classify(result)
    }
}

/// `kf/customer/batchget` of customers not yet known.
struct ProfilesCall(Vec<String>);

impl BuildRequest for ProfilesCall {
    fn access_token_of(&self) -> Option<App> {
        Some(App::WeComKf)
    }

    fn build(&self, settings: &Settings, token: Option<&str>) -> Result<HttpRequest, String> {
        let token = token.ok_or("no access_token")?;
        Ok(wecom_kf::customers_request(
            &settings.wecom_api_base,
            token,
            &self.0,
        ))
    }

    fn classify(&self, result: &HttpResult) -> Outcome {
        wecom_kf::classify(result)
    }
}

#[derive(Deserialize)]
struct CursorRow {
    cursor: Option<String>,
    synced_at: Option<i64>,
}

#[derive(Deserialize)]
struct KeyRow {
    key: String,
}

pub struct KfSyncFlow<'a> {
    settings: &'a Settings,
    sync: KfSync,
    now: i64,
    lease_id: String,
    rules: Rules,
    cursor: Option<String>,
    /// The gap alert, for the first page's transaction.
    gap: Option<Statement>,
    pages: u32,
    stored: usize,
    /// The run stopped at `MAX_PAGES` with more to pull: a fresh run goes on.
    continues: bool,
    state: State<'a>,
}

enum State<'a> {
    Start,
    ReadingRules,
    Leasing,
    ReadingCursor,
    Pulling(Box<CallFlow<'a, SyncCall>>),
    CheckingKnown(SyncPage),
    Storing(Vec<Statement>, SyncPage),
    FollowingUp(Dispatch, SyncPage),
    CheckingProfiles(SyncPage, Vec<String>),
    FetchingProfiles(SyncPage, Box<CallFlow<'a, ProfilesCall>>),
    StoringProfiles(SyncPage),
    Requeueing(Handled),
    Releasing(Handled),
    Finished,
}

impl<'a> KfSyncFlow<'a> {
    /// A sync run; `lease_id` names it (random, unique per run).
    pub fn new(settings: &'a Settings, mut sync: KfSync, now: i64, lease_id: String) -> Self {
        if now - sync.received_at > CALLBACK_TOKEN_SECS {
            sync.token = None;
        }
        KfSyncFlow {
            settings,
            sync,
            now,
            lease_id,
            rules: Rules::default(),
            cursor: None,
            gap: None,
            pages: 0,
            stored: 0,
            continues: false,
            state: State::Start,
        }
    }

    fn kfid(&self) -> Param {
        self.sync.open_kfid.as_str().into()
    }

    fn lease(&mut self) -> Step<Handled> {
        self.state = State::Leasing;
        Step::Do(Effect::Transaction(vec![
            Statement::new(
                "INSERT OR IGNORE INTO kf_cursors (open_kfid) VALUES (?)",
                vec![self.kfid()],
            ),
            Statement::new(
                "UPDATE kf_cursors SET lease_id = ?, lease_until = ? WHERE open_kfid = ? AND lease_until <= ?",
                vec![
                    self.lease_id.as_str().into(),
                    (self.now + LEASE_SECS).into(),
                    self.kfid(),
                    self.now.into(),
                ],
            ),
        ]))
    }

    fn pull(&mut self) -> Step<Handled> {
        let call = SyncCall {
            sync: self.sync.clone(),
            cursor: self.cursor.clone(),
        };
        self.pages += 1;
        self.state = State::Pulling(Box::new(CallFlow::new(self.settings, self.now, call)));
        self.step(None)
    }

    /// Puts this sync back on the queue, `delay_secs` from now.
    fn requeue(&mut self, delay_secs: u32, report: Handled) -> Step<Handled> {
        self.state = State::Requeueing(report);
        Step::Do(Effect::Enqueue {
            message: QueueMessage::KfSync(self.sync.clone()),
            delay_secs,
        })
    }

    /// Gives the lease back, then ends with `report`.
    fn release(&mut self, report: Handled) -> Step<Handled> {
        self.state = State::Releasing(report);
        Step::Do(Effect::Transaction(vec![Statement::new(
            "UPDATE kf_cursors SET lease_id = NULL, lease_until = 0 WHERE open_kfid = ? AND lease_id = ?",
            vec![self.kfid(), self.lease_id.as_str().into()],
        )]))
    }

    fn next_page(&mut self, page: SyncPage) -> Step<Handled> {
        if !page.has_more() {
            let report = format!(
                "kf sync of {}: {} new in {} pages",
                self.sync.open_kfid, self.stored, self.pages
            );
            return self.release(Ok(report));
        }
        self.cursor = Some(page.next_cursor);
        if self.pages >= MAX_PAGES {
            // The rest in a fresh run, from the cursor just stored.
            self.continues = true;
            return self.release(Ok(format!(
                "kf sync of {}: {} pages, more to come",
                self.sync.open_kfid, self.pages
            )));
        }
        self.pull()
    }

    /// The page's messages not yet stored, each once, with their ids filled in.
    fn new_messages(&self, page: &SyncPage, known: &BTreeSet<String>) -> Vec<KfMessage> {
        let mut seen = BTreeSet::new();
        page.msg_list
            .iter()
            .filter(|m| !m.msgid.is_empty())
            .filter(|m| !known.contains(&m.dedup_key()) && seen.insert(m.msgid.clone()))
            .filter_map(|m| {
                let customer = m.customer(&self.sync.open_kfid)?;
                Some(KfMessage {
                    open_kfid: customer.open_kfid,
                    external_userid: customer.external_userid,
                    ..m.clone()
                })
            })
            .collect()
    }

    /// The transaction for a page: the lease still held, each new message stored (and a
    /// welcome recorded for a new session), the cursor moved past the page.
    fn plan_page(&mut self, page: &SyncPage, fresh: &[KfMessage]) -> Vec<Statement> {
        let mut statements = vec![Statement::new(
            "INSERT INTO expectations (holds) SELECT 0 WHERE NOT EXISTS \
             (SELECT 1 FROM kf_cursors WHERE open_kfid = ? AND lease_id = ?)",
            vec![self.kfid(), self.lease_id.as_str().into()],
        )];
        statements.extend(self.gap.take());
        for message in fresh {
            let event = QueuedEvent {
                dedup_key: message.dedup_key(),
                received_at: self.sync.received_at,
                inbound: Inbound::KfMessage(message.clone()),
            };
            statements.extend(tickets::plan(&event, self.now));
            statements.extend(faq_auto_reply(&event, &self.rules, self.settings, self.now));
            statements.extend(self.welcome(message));
            statements.extend(message.customer("").and_then(|customer| {
                kf_sessions::learnt_from(message, &customer, message.send_time.min(self.now))
            }));
        }
        let cursor = Some(page.next_cursor.as_str())
            .filter(|c| !c.is_empty())
            .or(self.cursor.as_deref());
        statements.push(Statement::new(
            "UPDATE kf_cursors SET cursor = ?, synced_at = ?, lease_until = ? WHERE open_kfid = ? AND lease_id = ?",
            vec![
                cursor.into(),
                self.now.into(),
                (self.now + LEASE_SECS).into(),
                self.kfid(),
                self.lease_id.as_str().into(),
            ],
        ));
        statements
    }

    /// The rules' welcome for an `enter_session` event with a `welcome_code`: one delivery,
    /// named by the event, recorded with it (the code works once).
    fn welcome(&self, message: &KfMessage) -> Option<Statement> {
        let code = message.welcome_code()?;
        let text = self.rules.kf_welcome.as_ref()?;
        let id = format!("kf:welcome:{}", message.msgid);
        let call = OutboundCall::KfWelcome {
            code: code.to_owned(),
            msgid: wecom_kf::send_msgid(&id),
            message: KfOutMessage::Text {
                content: text.clone(),
            },
        };
        Some(record_delivery(&id, &call, None, self.now))
    }

    /// A gap alert when the account was last synced longer ago than `sync_msg` remembers: once
    /// per gap (keyed by when it began).
    fn gap_alert(&self, synced_at: Option<i64>) -> Option<Statement> {
        let since = synced_at.filter(|at| self.now - at > wecom_kf::HISTORY_SECS)?;
        Some(Statement::alert(
            "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) VALUES (?, NULL, ?, ?)",
            vec![
                format!("kf:gap:{}:{since}", self.sync.open_kfid).into(),
                format!(
                    "微信客服 account {} was last synced more than 3 days ago: messages older than 3 days are no longer returned by WeCom",
                    self.sync.open_kfid
                )
                .into(),
                self.now.into(),
            ],
        ))
    }

    fn profiles_statements(&self, profiles: &[Profile]) -> Vec<Statement> {
        profiles
            .iter()
            .filter(|p| wecom_kf::is_id(&p.external_userid))
            .flat_map(|p| {
                let context = p.enter_session_context.as_ref().map(|c| c.to_string());
                [
                    Statement::new(
                        "INSERT OR IGNORE INTO kf_customers (external_userid, nickname, avatar, unionid, enter_session_context, fetched_at) \
                         VALUES (?, ?, ?, ?, ?, ?)",
                        vec![
                            p.external_userid.as_str().into(),
                            p.nickname.clone().into(),
                            p.avatar.clone().into(),
                            p.unionid.clone().into(),
                            context.into(),
                            self.now.into(),
                        ],
                    ),
                    Statement::new(
                        "UPDATE tickets SET customer_name = COALESCE(customer_name, ?) \
                         WHERE channel = ? AND customer_id = ? AND status != 'closed'",
                        vec![
                            p.nickname.clone().into(),
                            wecom_kf::CHANNEL.into(),
                            format!("{}/{}", self.sync.open_kfid, p.external_userid).into(),
                        ],
                    ),
                ]
            })
            .collect()
    }
}

/// The customers whose messages a page brought, each once.
fn customers_of(page: &SyncPage, open_kfid: &str) -> Vec<String> {
    let ids: BTreeSet<String> = page
        .msg_list
        .iter()
        .filter_map(|m| m.customer(open_kfid))
        .map(|c| c.external_userid)
        .collect();
    ids.into_iter().collect()
}

/// A JSON array of texts, for `json_each(?)`.
fn json_list(items: impl IntoIterator<Item = String>) -> Param {
    serde_json::Value::from(items.into_iter().collect::<Vec<_>>())
        .to_string()
        .into()
}

fn unavailable(why: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(why.to_string())
}

impl Flow for KfSyncFlow<'_> {
    type Output = Handled;

    fn step(&mut self, answer: Option<Answered>) -> Step<Handled> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => {
                self.state = State::ReadingRules;
                Step::Do(Effect::KvGet(kv::RULES.into()))
            }
            State::ReadingRules => {
                // Without readable rules there is no welcome; the sync goes on.
                self.rules = effect::value(answer)
                    .and_then(|doc| Rules::parse(&doc).ok())
                    .unwrap_or_default();
                self.lease()
            }
            State::Leasing => match effect::changes(answer) {
                Ok(changes) if changes.get(1) == Some(&1) => {
                    self.state = State::ReadingCursor;
                    Step::Do(Effect::Query(Statement::new(
                        "SELECT cursor, synced_at FROM kf_cursors WHERE open_kfid = ?",
                        vec![self.kfid()],
                    )))
                }
                Ok(_) => {
                    let report = format!("kf sync of {}: busy, again later", self.sync.open_kfid);
                    self.requeue(BUSY_DELAY_SECS, Ok(report))
                }
                Err(e) => Step::Done(Err(e)),
            },
            State::ReadingCursor => match effect::rows::<CursorRow>(answer) {
                Ok(rows) => {
                    let row = rows.into_iter().next();
                    let synced_at = row.as_ref().and_then(|r| r.synced_at);
                    self.cursor = row.and_then(|r| r.cursor);
                    self.gap = self.gap_alert(synced_at);
                    self.pull()
                }
                Err(e) => self.release(Err(e)),
            },
            State::Pulling(mut call) => match call.step(answer) {
                Step::Do(effect) => {
                    self.state = State::Pulling(call);
                    Step::Do(effect)
                }
                Step::Done((Outcome::Delivered, Some(HttpResult::Response { body, .. }))) => {
                    match SyncPage::parse(&body) {
                        Ok(page) => {
                            let keys = page.msg_list.iter().map(KfMessage::dedup_key);
                            self.state = State::CheckingKnown(page.clone());
                            Step::Do(Effect::Query(Statement::new(
                                "SELECT dedup_key AS key FROM events WHERE dedup_key IN (SELECT value FROM json_each(?))",
                                vec![json_list(keys)],
                            )))
                        }
                        Err(why) => self.release(Err(unavailable(why))),
                    }
                }
                // Refused for good (no such account, settings missing): retrying changes
                // nothing, the log says why.
                Step::Done((Outcome::Permanent(why), _)) => {
                    let report = format!("kf sync of {} refused: {why}", self.sync.open_kfid);
                    self.release(Ok(report))
                }
                Step::Done((outcome, _)) => {
                    self.release(Err(unavailable(format!("kf/sync_msg: {outcome:?}"))))
                }
            },
            State::CheckingKnown(page) => match effect::rows::<KeyRow>(answer) {
                Ok(rows) => {
                    let known = rows.into_iter().map(|r| r.key).collect();
                    let fresh = self.new_messages(&page, &known);
                    self.stored += fresh.len();
                    let statements = self.plan_page(&page, &fresh);
                    self.state = State::Storing(statements.clone(), page);
                    Step::Do(Effect::Transaction(statements))
                }
                Err(e) => self.release(Err(e)),
            },
            State::Storing(statements, page) => match effect::changes(answer) {
                Ok(changes) => {
                    let dispatch = Dispatch::new(follow_ups(&statements, &changes));
                    self.state = State::FollowingUp(dispatch, page);
                    self.step(None)
                }
                // Another run took the account over, or stored a message first: this one
                // stores nothing and the queue tries again.
                Err(StoreError::Duplicate | StoreError::Conflict) => {
                    Step::Done(Err(StoreError::Conflict))
                }
                Err(e) => self.release(Err(e)),
            },
            State::FollowingUp(mut dispatch, page) => match dispatch.step(answer) {
                Step::Do(effect) => {
                    self.state = State::FollowingUp(dispatch, page);
                    Step::Do(effect)
                }
                Step::Done(_) => {
                    let ids = customers_of(&page, &self.sync.open_kfid);
                    if ids.is_empty() {
                        return self.next_page(page);
                    }
                    self.state = State::CheckingProfiles(page, ids.clone());
                    Step::Do(Effect::Query(Statement::new(
                        "SELECT external_userid AS key FROM kf_customers WHERE external_userid IN (SELECT value FROM json_each(?))",
                        vec![json_list(ids)],
                    )))
                }
            },
            State::CheckingProfiles(page, ids) => {
                let known: BTreeSet<String> = effect::rows::<KeyRow>(answer)
                    .map(|rows| rows.into_iter().map(|r| r.key).collect())
                    .unwrap_or_default();
                let missing: Vec<String> =
                    ids.into_iter().filter(|id| !known.contains(id)).collect();
                if missing.is_empty() {
                    return self.next_page(page);
                }
                let call = CallFlow::new(self.settings, self.now, ProfilesCall(missing));
                self.state = State::FetchingProfiles(page, Box::new(call));
                self.step(None)
            }
            State::FetchingProfiles(page, mut call) => match call.step(answer) {
                Step::Do(effect) => {
                    self.state = State::FetchingProfiles(page, call);
                    Step::Do(effect)
                }
                Step::Done((Outcome::Delivered, Some(HttpResult::Response { body, .. }))) => {
                    let statements = wecom_kf::parse_profiles(&body)
                        .map(|profiles| self.profiles_statements(&profiles))
                        .unwrap_or_default();
                    if statements.is_empty() {
                        return self.next_page(page);
                    }
                    self.state = State::StoringProfiles(page);
                    Step::Do(Effect::Transaction(statements))
                }
                // A profile is a nicety: it is asked for again with the customer's next message.
                Step::Done(_) => self.next_page(page),
            },
            State::StoringProfiles(page) => self.next_page(page),
            State::Requeueing(report) => match effect::done(answer) {
                Ok(()) => Step::Done(report),
                Err(e) => Step::Done(Err(e)),
            },
            // A release that failed runs out with the lease.
            State::Releasing(report) if self.continues => {
                self.continues = false;
                self.requeue(0, report)
            }
            State::Releasing(report) => Step::Done(report),
            State::Finished => Step::Done(Ok("kf sync finished".into())),
        }
    }
}
