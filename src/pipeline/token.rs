//! Calls that need the WeChat access_token: the token is read from KV, fetched anew when
//! missing or near expiry, and refreshed once (with one retry of the call) when WeChat refuses
//! it with 40001, 40014 or 42001.

use super::effect::{self, Answered, Effect, Flow, Step};
use super::zalo_token::ZaloTokenFlow;
use crate::http::{classify, HttpRequest, HttpResult, Outcome};
use crate::kv;
use crate::settings::Settings;
use crate::wechat::api::{self, CachedToken};

/// Gets an access_token: from the KV cache unless `force`d, else from WeChat (and cached).
/// Fails with the outcome of the token call.
pub struct TokenFlow<'a> {
    settings: &'a Settings,
    now: i64,
    /// A refused token is being replaced: ask for a new one, not the cached one.
    force: bool,
    state: TokenState,
}

enum TokenState {
    Start { force: bool },
    ReadingCache,
    Fetching,
    Caching(String),
    Finished,
}

impl<'a> TokenFlow<'a> {
    pub fn new(settings: &'a Settings, now: i64, force: bool) -> Self {
        TokenFlow {
            settings,
            now,
            force,
            state: TokenState::Start { force },
        }
    }

    fn fetch(&mut self) -> Step<Result<String, Outcome>> {
        let credentials = (
            self.settings.wechat_appid.as_deref(),
            self.settings.wechat_appsecret.as_deref(),
        );
        let (Some(appid), Some(secret)) = credentials else {
            let missing = if credentials.0.is_none() {
                "WECHAT_APPID"
            } else {
                "WECHAT_APPSECRET"
            };
            return Step::Done(Err(Outcome::Permanent(format!(
                "missing setting {missing}"
            ))));
        };
        self.state = TokenState::Fetching;
        Step::Do(Effect::Fetch(api::token_request(
            &self.settings.wechat_api_base,
            self.settings.wechat_token_endpoint,
            appid,
            secret,
            self.force,
        )))
    }
}

impl Flow for TokenFlow<'_> {
    type Output = Result<String, Outcome>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, TokenState::Finished) {
            TokenState::Start { force: false } => {
                self.state = TokenState::ReadingCache;
                Step::Do(Effect::KvGet(kv::ACCESS_TOKEN.into()))
            }
            TokenState::Start { force: true } => self.fetch(),
            TokenState::ReadingCache => {
                let cached = effect::value(answer)
                    .and_then(|json| serde_json::from_str::<CachedToken>(&json).ok())
                    .filter(|token| token.is_fresh(self.now));
                match cached {
                    Some(token) => Step::Done(Ok(token.access_token)),
                    None => self.fetch(),
                }
            }
            TokenState::Fetching => {
                let result = effect::http(answer);
                let body = match (classify(&result), result) {
                    (Outcome::Delivered, HttpResult::Response { body, .. }) => body,
                    // A refused token request is not "token expired": it means bad credentials.
                    (Outcome::TokenExpired(reason), _) => {
                        return Step::Done(Err(Outcome::Permanent(reason)))
                    }
                    (failure, _) => return Step::Done(Err(failure)),
                };
                let token = match api::parse_token(&body, self.now) {
                    Ok(token) => token,
                    Err(why) => return Step::Done(Err(Outcome::Permanent(why))),
                };
                let ttl = (token.expires_at - self.now).max(60) as u64;
                let value = serde_json::to_string(&token).unwrap_or_default();
                self.state = TokenState::Caching(token.access_token);
                Step::Do(Effect::KvPut {
                    key: kv::ACCESS_TOKEN.into(),
                    value,
                    ttl_secs: Some(ttl),
                })
            }
            // A failed cache write only costs another token request next time.
            TokenState::Caching(token) => Step::Done(Ok(token)),
            TokenState::Finished => Step::Done(Err(Outcome::Permanent("flow finished".into()))),
        }
    }
}

/// Builds a call's request, given the access_token when the call needs one.
pub trait BuildRequest {
    fn needs_access_token(&self) -> bool;
    /// The call needs the Zalo OA's access token rather than WeChat's.
    fn needs_zalo_token(&self) -> bool {
        false
    }
    fn build(&self, settings: &Settings, access_token: Option<&str>)
        -> Result<HttpRequest, String>;
    /// What an answer means for this call: by default, WeChat's `errcode`.
    fn classify(&self, result: &HttpResult) -> Outcome {
        classify(result)
    }
}

/// One outbound call: its request (with a token where needed), the response classified, and on
/// a refused token one refresh and one retry. The result is `None` when no request was made.
pub struct CallFlow<'a, B> {
    settings: &'a Settings,
    now: i64,
    call: B,
    /// Names this call in the Zalo token's refresh lease.
    holder: String,
    /// The token the request was made with: a refused one is not used again.
    used_token: Option<String>,
    state: CallState<'a>,
}

enum CallState<'a> {
    Start,
    Token { flow: Tokens<'a>, forced: bool },
    Calling { forced: bool },
    Finished,
}

/// Whose access token a call carries.
enum Tokens<'a> {
    Wechat(TokenFlow<'a>),
    Zalo(Box<ZaloTokenFlow<'a>>),
}

impl Flow for Tokens<'_> {
    type Output = Result<String, Outcome>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match self {
            Tokens::Wechat(flow) => flow.step(answer),
            Tokens::Zalo(flow) => flow.step(answer),
        }
    }
}

pub type CallResult = (Outcome, Option<HttpResult>);

impl<'a, B: BuildRequest> CallFlow<'a, B> {
    pub fn new(settings: &'a Settings, now: i64, call: B) -> Self {
        CallFlow {
            settings,
            now,
            call,
            holder: format!("call:{now}"),
            used_token: None,
            state: CallState::Start,
        }
    }

    /// Names the call in the Zalo token's refresh lease (unique per attempt).
    pub fn holder(mut self, holder: String) -> Self {
        self.holder = holder;
        self
    }

    pub fn call(&self) -> &B {
        &self.call
    }

    fn token(&mut self, forced: bool) -> Step<CallResult> {
        let flow = if self.call.needs_zalo_token() {
            let refused = forced.then(|| self.used_token.clone()).flatten();
            Tokens::Zalo(Box::new(ZaloTokenFlow::new(
                self.settings,
                self.now,
                self.holder.clone(),
                refused,
            )))
        } else {
            Tokens::Wechat(TokenFlow::new(self.settings, self.now, forced))
        };
        self.state = CallState::Token { flow, forced };
        self.step(None)
    }

    fn request(&mut self, token: Option<&str>, forced: bool) -> Step<CallResult> {
        match self.call.build(self.settings, token) {
            Ok(request) => {
                self.used_token = token.map(str::to_owned);
                self.state = CallState::Calling { forced };
                Step::Do(Effect::Fetch(request))
            }
            Err(reason) => Step::Done((Outcome::Permanent(reason), None)),
        }
    }
}

impl<B: BuildRequest> Flow for CallFlow<'_, B> {
    type Output = CallResult;

    fn step(&mut self, answer: Option<Answered>) -> Step<CallResult> {
        match std::mem::replace(&mut self.state, CallState::Finished) {
            CallState::Start if self.call.needs_access_token() || self.call.needs_zalo_token() => {
                self.token(false)
            }
            CallState::Start => self.request(None, false),
            CallState::Token { mut flow, forced } => match flow.step(answer) {
                Step::Do(effect) => {
                    self.state = CallState::Token { flow, forced };
                    Step::Do(effect)
                }
                Step::Done(Ok(token)) => self.request(Some(&token), forced),
                Step::Done(Err(outcome)) => Step::Done((outcome, None)),
            },
            CallState::Calling { forced } => {
                let result = effect::http(answer);
                match self.call.classify(&result) {
                    Outcome::TokenExpired(_) if !forced => self.token(true),
                    outcome => Step::Done((outcome, Some(result))),
                }
            }
            CallState::Finished => Step::Done((Outcome::Permanent("flow finished".into()), None)),
        }
    }
}
