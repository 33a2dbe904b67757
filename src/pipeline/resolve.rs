//! Staff resolving a WeChat Pay complaint (`POST /api/complaints/{id}/resolve`): the complaint
//! read, the resolution planned against what was read (`complaints::plan_resolve`), and the
//! message to the customer and the `payfeedback/update` call recorded and sent, each once.

use serde_json::{json, Value};

use super::delivery::Dispatch;
use super::effect::{self, Answered, Effect, Flow, Step};
use super::idempotency::IdempotencyKey;
use crate::complaints::{self, ResolveError, ResolveRequest, ToResolve, TO_RESOLVE_SQL};
use crate::sql::{follow_ups, Statement, StoreError};
use crate::wechat::custom_send::CustomSendLimits;

/// How a resolve ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Recorded; these deliveries carry it out.
    Done {
        deliveries: Vec<String>,
    },
    NotFound,
    /// Refused as it stands (400): a message that cannot be sent.
    BadMessage(String),
    /// Refused (409): the complaint is closed, it changed while this resolve was planned, or a
    /// repeat of this resolve recorded its Idempotency-Key first.
    Conflict(String),
}

/// What a resolve answers (202), and a repeat of it again.
pub fn resolved_answer(feedback_id: &str, deliveries: &[String]) -> Value {
    json!({ "feedback_id": feedback_id, "status": "processed", "deliveries": deliveries, "repeated": false })
}

pub struct ResolveFlow {
    feedback_id: String,
    request: Option<ResolveRequest>,
    limits: CustomSendLimits,
    resolve_id: String,
    idempotency_key: Option<IdempotencyKey>,
    /// Who resolves: named on the ticket's timeline.
    actor: String,
    now: i64,
    state: ResolveState,
}

enum ResolveState {
    Start,
    Reading,
    Writing(Vec<Statement>, Vec<String>),
    Dispatching(Dispatch, Vec<String>),
    Finished,
}

impl ResolveFlow {
    /// `unique` names the resolution when the caller gave no Idempotency-Key; with one, the
    /// names derive from the key, so a repeat racing this one names the same deliveries. The
    /// key (run under `Idempotent`) is recorded in the resolution's transaction.
    pub fn new(
        feedback_id: &str,
        request: ResolveRequest,
        limits: CustomSendLimits,
        idempotency_key: Option<IdempotencyKey>,
        unique: &str,
        actor: &str,
        now: i64,
    ) -> Self {
        let name = idempotency_key
            .as_ref()
            .map_or_else(|| unique.to_owned(), IdempotencyKey::name);
        ResolveFlow {
            feedback_id: feedback_id.to_owned(),
            request: Some(request),
            limits,
            resolve_id: format!("resolve:{feedback_id}:{name}"),
            idempotency_key,
            actor: actor.to_owned(),
            now,
            state: ResolveState::Start,
        }
    }
}

impl Flow for ResolveFlow {
    type Output = Result<Resolved, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, ResolveState::Finished) {
            ResolveState::Start => {
                self.state = ResolveState::Reading;
                Step::Do(Effect::Query(Statement::new(
                    TO_RESOLVE_SQL,
                    vec![self.feedback_id.as_str().into()],
                )))
            }
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
                    self.now,
                ) {
                    Err(ResolveError::BadMessage(why)) => Step::Done(Ok(Resolved::BadMessage(why))),
                    Err(ResolveError::Conflict(why)) => Step::Done(Ok(Resolved::Conflict(why))),
                    Ok(resolution) => {
                        let mut statements = resolution.statements;
                        if let Some(key) = &self.idempotency_key {
                            let answer =
                                resolved_answer(&self.feedback_id, &resolution.delivery_ids);
                            statements.insert(0, key.record(202, &answer, self.now));
                        }
                        self.state =
                            ResolveState::Writing(statements.clone(), resolution.delivery_ids);
                        Step::Do(Effect::Transaction(statements))
                    }
                }
            }
            ResolveState::Writing(statements, deliveries) => match effect::changes(answer) {
                Err(StoreError::Duplicate) => Step::Done(Ok(Resolved::Conflict(
                    "this Idempotency-Key was used at the same time".into(),
                ))),
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
