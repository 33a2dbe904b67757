//! Before a 微信客服 send: the customer's session state, from `kf_sessions` when it is fresh,
//! else asked with `kf/service_state/get` (and kept). The delivery goes only in state 0 or 1
//! (`ServiceState::takes_api_sends`).

use serde::Deserialize;

use super::effect::{self, Answered, Effect, Flow, Step};
use super::token::{BuildRequest, CallFlow};
use crate::http::{HttpRequest, HttpResult, Outcome};
use crate::kf_sessions;
use crate::platforms::wecom_kf::{self, KfCustomer, ServiceState, StateAnswer};
use crate::settings::Settings;
use crate::sql::Statement;
use crate::wechat::api::App;

/// `kf/service_state/get` for one customer.
struct StateCall(KfCustomer);

impl BuildRequest for StateCall {
    fn access_token_of(&self) -> Option<App> {
        Some(App::WeComKf)
    }

    fn build(&self, settings: &Settings, token: Option<&str>) -> Result<HttpRequest, String> {
        let token = token.ok_or("no access_token")?;
        Ok(wecom_kf::state_request(
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
struct KnownRow {
    service_state: i64,
    known_at: i64,
}

/// The customer's session state now; `None` when neither kefu-edge nor WeCom could tell (the
/// send then goes, and WeCom's own answer decides).
pub struct SessionCheck<'a> {
    settings: &'a Settings,
    now: i64,
    to: KfCustomer,
    state: CheckState<'a>,
}

enum CheckState<'a> {
    Start,
    Reading,
    Asking(Box<CallFlow<'a, StateCall>>),
    Keeping(ServiceState),
    Finished,
}

impl<'a> SessionCheck<'a> {
    pub fn new(settings: &'a Settings, now: i64, to: KfCustomer) -> Self {
        SessionCheck {
            settings,
            now,
            to,
            state: CheckState::Start,
        }
    }

    fn ask(&mut self) -> Step<Option<ServiceState>> {
        let call = CallFlow::new(self.settings, self.now, StateCall(self.to.clone()));
        self.state = CheckState::Asking(Box::new(call));
        self.step(None)
    }
}

impl Flow for SessionCheck<'_> {
    type Output = Option<ServiceState>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Option<ServiceState>> {
        match std::mem::replace(&mut self.state, CheckState::Finished) {
            CheckState::Start => {
                self.state = CheckState::Reading;
                Step::Do(Effect::Query(Statement::new(
                    kf_sessions::STATE_SQL,
                    vec![kf_sessions::recipient(&self.to).into()],
                )))
            }
            CheckState::Reading => {
                // Unreadable counts as unknown: WeCom is asked.
                let known = effect::rows::<KnownRow>(answer)
                    .ok()
                    .and_then(|rows| rows.into_iter().next())
                    .map(|row| (row.service_state, row.known_at));
                match kf_sessions::fresh(known, self.now) {
                    Some(state) => Step::Done(Some(state)),
                    None => self.ask(),
                }
            }
            CheckState::Asking(mut call) => match call.step(answer) {
                Step::Do(effect) => {
                    self.state = CheckState::Asking(call);
                    Step::Do(effect)
                }
                Step::Done((Outcome::Delivered, Some(HttpResult::Response { body, .. }))) => {
                    match StateAnswer::parse(&body) {
                        Ok(got) => {
                            self.state = CheckState::Keeping(got.service_state);
                            Step::Do(Effect::Transaction(vec![kf_sessions::remember(
                                &self.to,
                                got.service_state,
                                got.servicer_userid.as_deref(),
                                self.now,
                            )]))
                        }
                        Err(_) => Step::Done(None),
                    }
                }
                Step::Done(_) => Step::Done(None),
            },
            // A state not kept is asked for again at the next send.
            CheckState::Keeping(state) => Step::Done(Some(state)),
            CheckState::Finished => Step::Done(None),
        }
    }
}
