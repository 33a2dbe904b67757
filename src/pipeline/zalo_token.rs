//! The Zalo OA's access token: read from D1, refreshed with the single-use refresh token when
//! it is missing, near its end or refused. A refresh token used twice loses the channel until
//! the merchant re-authorises, so exactly one isolate refreshes at a time: it first takes a
//! lease on the token row (a conditional UPDATE, which D1 runs one at a time), and stores the
//! new pair before anything uses it. Whoever finds the lease taken reads the row once more and
//! otherwise tries again later. A refused refresh marks the row and alerts staff once.

use serde::Deserialize;

use super::effect::{self, Answered, Effect, Flow, Step};
use crate::http::Outcome;
use crate::platforms::zalo::{
    read_refresh, refresh_request, Refreshed, TokenPair, TOKEN_EARLY_SECS,
};
use crate::settings::Settings;
use crate::sql::Statement;

/// A lease outlives the refresh call's timeout (`http::TIMEOUT_SECS`) several times over, so
/// it cannot lapse while its holder is still waiting for Zalo.
pub const LEASE_SECS: i64 = 60;

pub const TOKEN_ROW_SQL: &str =
    "SELECT refresh_token, access_token, expires_at, generation, refused_at \
     FROM zalo_tokens WHERE id = 1";

/// `PUT /api/zalo/token`: the merchant's (first, or re-authorised) refresh token replaces
/// whatever was stored, and any lease or refusal.
pub fn set_refresh_token(refresh_token: &str, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO zalo_tokens (id, refresh_token, access_token, expires_at, generation, updated_at) \
         VALUES (1, ?1, NULL, 0, 1, ?2) \
         ON CONFLICT (id) DO UPDATE SET refresh_token = excluded.refresh_token, access_token = NULL, \
           expires_at = 0, generation = generation + 1, lease_holder = NULL, lease_until = NULL, \
           refused_at = NULL, updated_at = excluded.updated_at",
        vec![refresh_token.into(), now.into()],
    )
}

#[derive(Debug, Clone, Deserialize)]
struct TokenRow {
    refresh_token: String,
    access_token: Option<String>,
    expires_at: i64,
    generation: i64,
    refused_at: Option<i64>,
}

/// Gets the OA's access token. `refused` is the token Zalo just refused (-216/-124), which is
/// then not used again: a newer one someone else stored is, or a refresh is made.
pub struct ZaloTokenFlow<'a> {
    settings: &'a Settings,
    now: i64,
    /// Names this attempt in the lease.
    holder: String,
    refused: Option<String>,
    state: State,
}

enum State {
    Start,
    /// `second`: read again after finding the lease taken.
    Reading {
        second: bool,
    },
    Leasing(TokenRow),
    Refreshing(TokenRow),
    Storing(TokenPair),
    /// The refresh failed; the lease is being given back (and a refusal recorded).
    Releasing(Outcome),
    Finished,
}

const NO_TOKEN: &str = "no Zalo refresh token: the owner sets one with PUT /api/zalo/token";
const REFUSED: &str = "Zalo refused the stored refresh token: re-authorise the OA and set the new refresh token with PUT /api/zalo/token";

impl<'a> ZaloTokenFlow<'a> {
    pub fn new(settings: &'a Settings, now: i64, holder: String, refused: Option<String>) -> Self {
        ZaloTokenFlow {
            settings,
            now,
            holder,
            refused,
            state: State::Start,
        }
    }

    fn usable(&self, row: &TokenRow) -> Option<String> {
        row.access_token
            .clone()
            .filter(|_| row.expires_at - TOKEN_EARLY_SECS > self.now)
            .filter(|token| self.refused.as_ref() != Some(token))
    }

    fn read(&mut self, second: bool) -> Step<Result<String, Outcome>> {
        self.state = State::Reading { second };
        Step::Do(Effect::Query(Statement::new(TOKEN_ROW_SQL, vec![])))
    }

    fn refresh(&mut self, row: TokenRow) -> Step<Result<String, Outcome>> {
        let (app_id, secret) = match self.settings.zalo_credentials() {
            Ok(credentials) => credentials,
            Err(missing) => {
                return self.release(
                    Outcome::Permanent(format!("missing setting {missing}")),
                    None,
                )
            }
        };
        let request = refresh_request(
            &self.settings.zalo_oauth_base,
            app_id,
            secret,
            &row.refresh_token,
        );
        self.state = State::Refreshing(row);
        Step::Do(Effect::Fetch(request))
    }

    /// Gives the lease back; a refusal also marks the row and raises one alert per refresh
    /// token (its generation).
    fn release(
        &mut self,
        outcome: Outcome,
        refused_generation: Option<i64>,
    ) -> Step<Result<String, Outcome>> {
        let mut statements = vec![Statement::new(
            "UPDATE zalo_tokens SET lease_holder = NULL, lease_until = NULL, \
               refused_at = CASE WHEN ?1 THEN ?2 ELSE refused_at END, updated_at = ?2 \
             WHERE id = 1 AND lease_holder = ?3",
            vec![
                i64::from(refused_generation.is_some()).into(),
                self.now.into(),
                self.holder.as_str().into(),
            ],
        )];
        if let Some(generation) = refused_generation {
            statements.push(Statement::new(
                "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) VALUES (?, NULL, ?, ?)",
                vec![
                    format!("zalo:refresh_refused:{generation}").into(),
                    REFUSED.into(),
                    self.now.into(),
                ],
            ));
        }
        self.state = State::Releasing(outcome);
        Step::Do(Effect::Transaction(statements))
    }
}

fn unavailable(why: impl std::fmt::Display) -> Outcome {
    Outcome::Retryable(format!("Zalo token store: {why}"))
}

impl Flow for ZaloTokenFlow<'_> {
    type Output = Result<String, Outcome>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => self.read(false),
            State::Reading { second } => {
                let row = match effect::rows::<TokenRow>(answer) {
                    Ok(rows) => rows.into_iter().next(),
                    Err(e) => return Step::Done(Err(unavailable(e))),
                };
                let Some(row) = row else {
                    return Step::Done(Err(Outcome::Permanent(NO_TOKEN.into())));
                };
                if row.refused_at.is_some() {
                    return Step::Done(Err(Outcome::Permanent(REFUSED.into())));
                }
                if let Some(token) = self.usable(&row) {
                    return Step::Done(Ok(token));
                }
                if second {
                    return Step::Done(Err(Outcome::Retryable(
                        "another attempt is refreshing the Zalo access token".into(),
                    )));
                }
                self.state = State::Leasing(row.clone());
                Step::Do(Effect::Transaction(vec![Statement::new(
                    "UPDATE zalo_tokens SET lease_holder = ?1, lease_until = ?2 + ?3 \
                     WHERE id = 1 AND generation = ?4 AND refused_at IS NULL \
                       AND (lease_until IS NULL OR lease_until <= ?2)",
                    vec![
                        self.holder.as_str().into(),
                        self.now.into(),
                        LEASE_SECS.into(),
                        row.generation.into(),
                    ],
                )]))
            }
            State::Leasing(row) => match effect::changes(answer) {
                Ok(changes) if changes.first() == Some(&1) => self.refresh(row),
                Ok(_) => self.read(true),
                Err(e) => Step::Done(Err(unavailable(e))),
            },
            State::Refreshing(row) => match read_refresh(&effect::http(answer), self.now) {
                Refreshed::Pair(pair) => {
                    let store = Statement::new(
                        "UPDATE zalo_tokens SET access_token = ?1, refresh_token = ?2, expires_at = ?3, \
                           generation = generation + 1, lease_holder = NULL, lease_until = NULL, updated_at = ?4 \
                         WHERE id = 1 AND lease_holder = ?5",
                        vec![
                            pair.access_token.as_str().into(),
                            pair.refresh_token.as_str().into(),
                            pair.expires_at.into(),
                            self.now.into(),
                            self.holder.as_str().into(),
                        ],
                    );
                    self.state = State::Storing(pair);
                    Step::Do(Effect::Transaction(vec![store]))
                }
                Refreshed::Refused(why) => self.release(
                    Outcome::Permanent(format!("{REFUSED} ({why})")),
                    Some(row.generation),
                ),
                Refreshed::Failed(why) => self.release(
                    Outcome::Retryable(format!("Zalo token refresh: {why}")),
                    None,
                ),
            },
            State::Storing(pair) => match effect::changes(answer) {
                Ok(changes) if changes.first() == Some(&1) => Step::Done(Ok(pair.access_token)),
                Ok(_) => Step::Done(Err(unavailable(
                    "the refresh lease lapsed before the new pair was stored",
                ))),
                Err(e) => Step::Done(Err(unavailable(e))),
            },
            // Given back or not, the lease lapses by itself.
            State::Releasing(outcome) => Step::Done(Err(outcome)),
            State::Finished => Step::Done(Err(Outcome::Permanent("flow finished".into()))),
        }
    }
}
