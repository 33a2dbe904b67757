//! Staff resolving a WeChat Pay complaint (`POST /api/complaints/{id}/resolve`): the complaint
//! read, the resolution planned against what was read (`complaints::plan_resolve`), and the
//! message to the customer and the `payfeedback/update` call recorded and sent, each once.

use super::delivery::Dispatch;
use super::effect::{self, Answered, Effect, Flow, Step};
use crate::complaints::{self, ResolveError, ResolveRequest, ToResolve, TO_RESOLVE_SQL};
use crate::sql::{follow_ups, Statement, StoreError};
use crate::wechat::crypto::hex;
use crate::wechat::custom_send::CustomSendLimits;

/// How a resolve ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Recorded; these deliveries carry it out.
    Done {
        deliveries: Vec<String>,
    },
    /// The same Idempotency-Key was resolved before: nothing more is sent.
    Repeated {
        deliveries: Vec<String>,
    },
    NotFound,
    /// Refused as it stands (400): a message that cannot be sent.
    BadMessage(String),
    /// Refused (409): the complaint is closed, or it changed while this resolve was planned.
    Conflict(String),
}

pub struct ResolveFlow {
    feedback_id: String,
    request: Option<ResolveRequest>,
    limits: CustomSendLimits,
    resolve_id: String,
    idempotency_key: Option<String>,
    /// Who resolves: named on the ticket's timeline.
    actor: String,
    now: i64,
    state: ResolveState,
}

enum ResolveState {
    Start,
    /// Looking up the Idempotency-Key: a key used before answers what it did then.
    CheckingKey,
    /// Reading the deliveries the earlier use of the key recorded.
    ReadingRecorded,
    Reading,
    Writing(Vec<Statement>, Vec<String>),
    Dispatching(Dispatch, Vec<String>),
    Finished,
}

impl ResolveFlow {
    /// `unique` names the resolution when the caller gave no Idempotency-Key; with one, the
    /// names derive from the key, so a repeat names the same deliveries.
    pub fn new(
        feedback_id: &str,
        request: ResolveRequest,
        limits: CustomSendLimits,
        idempotency_key: Option<&str>,
        unique: &str,
        actor: &str,
        now: i64,
    ) -> Self {
        let scoped_key = idempotency_key.map(|key| format!("resolve:{feedback_id}:{}", key.trim()));
        let name = match &scoped_key {
            Some(key) => {
                use sha1::{Digest, Sha1};
                hex(&Sha1::digest(key.as_bytes())[..8])
            }
            None => unique.to_owned(),
        };
        ResolveFlow {
            feedback_id: feedback_id.to_owned(),
            request: Some(request),
            limits,
            resolve_id: format!("resolve:{feedback_id}:{name}"),
            idempotency_key: scoped_key,
            actor: actor.to_owned(),
            now,
            state: ResolveState::Start,
        }
    }
}

#[derive(serde::Deserialize)]
struct Recorded {
    id: String,
}

impl ResolveFlow {
    fn read_complaint(&mut self) -> Step<Result<Resolved, StoreError>> {
        self.state = ResolveState::Reading;
        Step::Do(Effect::Query(Statement::new(
            TO_RESOLVE_SQL,
            vec![self.feedback_id.as_str().into()],
        )))
    }

    /// The deliveries this resolution's name recorded (the first use of its key).
    fn read_recorded(&mut self) -> Step<Result<Resolved, StoreError>> {
        let prefix = format!("{}:", self.resolve_id);
        self.state = ResolveState::ReadingRecorded;
        Step::Do(Effect::Query(Statement::new(
            "SELECT id FROM deliveries WHERE substr(id, 1, ?1) = ?2 ORDER BY id",
            vec![(prefix.len() as i64).into(), prefix.into()],
        )))
    }
}

impl Flow for ResolveFlow {
    type Output = Result<Resolved, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, ResolveState::Finished) {
            ResolveState::Start => match self.idempotency_key.clone() {
                Some(key) => {
                    self.state = ResolveState::CheckingKey;
                    Step::Do(Effect::Query(Statement::new(
                        "SELECT key FROM idempotency_keys WHERE key = ?",
                        vec![key.into()],
                    )))
                }
                None => self.read_complaint(),
            },
            ResolveState::CheckingKey => match effect::rows::<serde_json::Value>(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(rows) if rows.is_empty() => self.read_complaint(),
                Ok(_) => self.read_recorded(),
            },
            ResolveState::ReadingRecorded => match effect::rows::<Recorded>(answer) {
                Err(e) => Step::Done(Err(e)),
                Ok(rows) => Step::Done(Ok(Resolved::Repeated {
                    deliveries: rows.into_iter().map(|r| r.id).collect(),
                })),
            },
            ResolveState::Reading => {
                let complaint = match effect::rows::<ToResolve>(answer) {
                    Err(e) => return Step::Done(Err(e)),
                    Ok(rows) => match rows.into_iter().next() {
                        Some(c) => c,
                        None => return Step::Done(Ok(Resolved::NotFound)),
                    },
                };
                let request = self
                    .request
                    .take()
                    .unwrap_or(ResolveRequest { message: None });
                match complaints::plan_resolve(
                    &complaint,
                    request,
                    &self.limits,
                    &self.resolve_id,
                    &self.actor,
                    self.idempotency_key.as_deref(),
                    self.now,
                ) {
                    Err(ResolveError::BadMessage(why)) => Step::Done(Ok(Resolved::BadMessage(why))),
                    Err(ResolveError::Conflict(why)) => Step::Done(Ok(Resolved::Conflict(why))),
                    Ok(resolution) => {
                        self.state = ResolveState::Writing(
                            resolution.statements.clone(),
                            resolution.delivery_ids,
                        );
                        Step::Do(Effect::Transaction(resolution.statements))
                    }
                }
            }
            ResolveState::Writing(statements, deliveries) => match effect::changes(answer) {
                // The same key, used at the same time: answer what that use recorded.
                Err(StoreError::Duplicate) => self.read_recorded(),
                Err(StoreError::Conflict) => Step::Done(Ok(Resolved::Conflict(
                    "the complaint changed while it was being resolved; read it again".into(),
                ))),
                Err(e) => Step::Done(Err(e)),
                Ok(changes) => {
                    self.state = ResolveState::Dispatching(
                        Dispatch::new(follow_ups(&statements, &changes)),
                        deliveries,
                    );
                    self.step(None)
                }
            },
            // Recorded already: if a send fails, the cron's sweep sends it within minutes.
            ResolveState::Dispatching(mut dispatch, deliveries) => match dispatch.step(answer) {
                Step::Do(effect) => {
                    self.state = ResolveState::Dispatching(dispatch, deliveries);
                    Step::Do(effect)
                }
                Step::Done(_) => Step::Done(Ok(Resolved::Done { deliveries })),
            },
            ResolveState::Finished => Step::Done(Ok(Resolved::NotFound)),
        }
    }
}
