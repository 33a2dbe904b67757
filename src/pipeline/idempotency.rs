//! `Idempotency-Key` on the admin API's actions that message someone (a reply, a ZNS send, a
//! complaint resolve): one mechanism for all. A key is scoped to the route and its target and
//! remembers a hash of the body. The action's transaction records it first, with the answer, so:
//! a repeat sends nothing and gets that answer again (`"repeated": true`); a repeat racing the
//! first use aborts on the key and then reads it; the same key with another body is refused
//! (422, as Stripe does).

use serde::Deserialize;
use serde_json::Value;
use sha1::{Digest, Sha1};

use super::effect::{self, Answered, Effect, Flow, Step};
use crate::inline::{Rejection, Reply};
use crate::sql::Statement;
use crate::wechat::crypto::hex;

/// A caller's key as scoped to one route and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    scoped: String,
    body_hash: String,
}

impl IdempotencyKey {
    /// The key of a request to `route` on `target` (a ticket id, a feedback id, a phone), or
    /// none: no header, or an empty one (no key, not a key everybody shares).
    pub fn new(header: Option<&str>, route: &str, target: &str, body: &str) -> Option<Self> {
        let key = header.map(str::trim).filter(|k| !k.is_empty())?;
        Some(IdempotencyKey {
            scoped: format!("{route}:{target}:{key}"),
            body_hash: hex(&Sha1::digest(body.as_bytes())),
        })
    }

    /// A short name for what the action records (its deliveries): the same on every repeat.
    pub fn name(&self) -> String {
        hex(&Sha1::digest(self.scoped.as_bytes())[..10])
    }

    /// The first statement of the action's transaction: records the key with the answer
    /// (`status`, `answer`) that a repeat gets.
    pub fn record(&self, status: u16, answer: &Value, now: i64) -> Statement {
        Statement::new(
            "INSERT INTO idempotency_keys (key, body_hash, status, answer, created_at) VALUES (?, ?, ?, ?, ?)",
            vec![
                self.scoped.as_str().into(),
                self.body_hash.as_str().into(),
                i64::from(status).into(),
                answer.to_string().into(),
                now.into(),
            ],
        )
    }

    fn lookup(&self) -> Statement {
        Statement::new(
            "SELECT body_hash, status, answer FROM idempotency_keys WHERE key = ?",
            vec![self.scoped.as_str().into()],
        )
    }
}

/// A key as recorded. Keys recorded before bodies were hashed (complaint resolves) have no hash
/// and no answer: they count as the same request.
#[derive(Deserialize)]
struct Recorded {
    body_hash: Option<String>,
    status: Option<u16>,
    answer: Option<String>,
}

impl Recorded {
    fn reply(self, key: &IdempotencyKey) -> Result<Reply, Rejection> {
        if self.body_hash.is_some_and(|hash| hash != key.body_hash) {
            return Err(Rejection::IdempotencyKeyReused);
        }
        let mut answer = self
            .answer
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Default::default()));
        answer["repeated"] = Value::Bool(true);
        Ok(Reply::json(self.status.unwrap_or(202), answer.to_string()))
    }
}

/// An action run under a key: looked up first, run only if the key is new.
pub struct Idempotent<F> {
    key: Option<IdempotencyKey>,
    action: F,
    state: State,
}

enum State {
    Start,
    /// Reading the key; with the refusal the action ended with, when it may have lost a race
    /// with a repeat of itself.
    LookingUp(Option<Rejection>),
    Acting,
}

impl<F> Idempotent<F> {
    pub fn new(key: Option<IdempotencyKey>, action: F) -> Self {
        Idempotent {
            key,
            action,
            state: State::Start,
        }
    }

    fn look_up(&mut self, key: &IdempotencyKey, refusal: Option<Rejection>) -> Step<F::Output>
    where
        F: Flow,
    {
        self.state = State::LookingUp(refusal);
        Step::Do(Effect::Query(key.lookup()))
    }
}

impl<F: Flow<Output = Result<Reply, Rejection>>> Flow for Idempotent<F> {
    type Output = Result<Reply, Rejection>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, State::Acting) {
            State::Start => match self.key.clone() {
                Some(key) => self.look_up(&key, None),
                None => self.action.step(None),
            },
            State::LookingUp(refusal) => {
                let key = self.key.clone();
                match (effect::rows::<Recorded>(answer), key) {
                    (Err(e), _) => Step::Done(Err(Rejection::Unavailable(e.to_string()))),
                    (Ok(rows), Some(key)) if !rows.is_empty() => Step::Done(
                        rows.into_iter()
                            .next()
                            .map_or(Err(Rejection::Unavailable("no row".into())), |row| {
                                row.reply(&key)
                            }),
                    ),
                    _ => match refusal {
                        Some(refusal) => Step::Done(Err(refusal)),
                        None => self.action.step(None),
                    },
                }
            }
            State::Acting => match (self.action.step(answer), self.key.clone()) {
                // The key may have been recorded by a repeat meanwhile: that is the answer.
                (Step::Done(Err(refusal @ Rejection::Conflict(_))), Some(key)) => {
                    self.look_up(&key, Some(refusal))
                }
                (step, _) => step,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_scoped_to_its_route_and_target_and_an_empty_one_is_none() {
        let key = |header, route, target| IdempotencyKey::new(header, route, target, "{}");
        assert_eq!(key(None, "reply", "1"), None);
        assert_eq!(key(Some("  "), "reply", "1"), None);
        let k = key(Some(" k1 "), "reply", "1").unwrap();
        assert_eq!(k, key(Some("k1"), "reply", "1").unwrap());
        assert_ne!(k.name(), key(Some("k1"), "reply", "2").unwrap().name());
        assert_ne!(k.name(), key(Some("k1"), "zns", "1").unwrap().name());
        assert_ne!(
            k,
            IdempotencyKey::new(Some("k1"), "reply", "1", "{ }").unwrap()
        );
    }

    #[test]
    fn a_recorded_key_answers_its_answer_or_refuses_another_body() {
        let key = IdempotencyKey::new(Some("k"), "reply", "1", "body").unwrap();
        let recorded = |hash: Option<&str>, answer: Option<&str>| Recorded {
            body_hash: hash.map(str::to_owned),
            status: Some(202),
            answer: answer.map(str::to_owned),
        };
        let same = recorded(
            Some(&key.body_hash),
            Some(r#"{"delivery":"d","repeated":false}"#),
        )
        .reply(&key)
        .unwrap();
        assert_eq!(same.status, 202);
        assert_eq!(same.body, r#"{"delivery":"d","repeated":true}"#);
        assert_eq!(
            recorded(Some("other"), None).reply(&key),
            Err(Rejection::IdempotencyKeyReused)
        );
        let old = recorded(None, None).reply(&key).unwrap();
        assert_eq!(old.body, r#"{"repeated":true}"#);
    }
}
