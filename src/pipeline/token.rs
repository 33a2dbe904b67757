//! Calls that need a WeChat access_token (the Official Account's or the Shop's, each cached under
//! its own KV key): the token is read from KV, fetched anew when missing or near expiry, and
//! refreshed once (with one retry of the call) when WeChat refuses it with 40001, 40014 or 42001.

use super::effect::{self, Answered, Effect, Flow, Step};
use super::zalo_token::ZaloTokenFlow;
use crate::http::{classify, HttpRequest, HttpResult, Outcome};
use crate::kv;
use crate::settings::Settings;
use crate::wechat::api::{self, App, CachedToken, TokenEndpoint};

/// Gets an access_token: from the KV cache unless `force`d, else from WeChat (and cached).
/// Fails with the outcome of the token call.
pub struct TokenFlow<'a> {
    settings: &'a Settings,
    app: App,
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
    pub fn new(settings: &'a Settings, app: App, now: i64, force: bool) -> Self {
        TokenFlow {
            settings,
            app,
            now,
            force,
            state: TokenState::Start { force },
        }
    }

    fn cache_key(&self) -> &'static str {
        match self.app {
            App::OfficialAccount => kv::ACCESS_TOKEN,
            App::Shop => kv::SHOP_ACCESS_TOKEN,
        }
    }

    fn fetch(&mut self) -> Step<Result<String, Outcome>> {
        let (appid, secret) = match self.settings.app_credentials(self.app) {
            Ok(credentials) => credentials,
            Err(missing) => {
                return Step::Done(Err(Outcome::Permanent(format!(
                    "missing setting {missing}"
                ))))
            }
        };
        // The Shop's token comes only from stable_token: the shop's other services keep theirs.
        let endpoint = match self.app {
            App::OfficialAccount => self.settings.wechat_token_endpoint,
            App::Shop => TokenEndpoint::Stable,
        };
        self.state = TokenState::Fetching;
        Step::Do(Effect::Fetch(api::token_request(
            &self.settings.wechat_api_base,
            endpoint,
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
                Step::Do(Effect::KvGet(self.cache_key().into()))
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
                    key: self.cache_key().into(),
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
    /// Whose WeChat access_token the call needs, if any.
    fn access_token_of(&self) -> Option<App>;
    /// The call needs the Zalo OA's access token (its own lease flow) rather than WeChat's.
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

/// Who issues the token a call needs.
#[derive(Clone, Copy)]
enum Issuer {
    Wechat(App),
    Zalo,
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

    /// Who issues the token the call needs, if it needs one.
    fn issuer(&self) -> Option<Issuer> {
        if self.call.needs_zalo_token() {
            return Some(Issuer::Zalo);
        }
        self.call.access_token_of().map(Issuer::Wechat)
    }

    fn token(&mut self, issuer: Issuer, forced: bool) -> Step<CallResult> {
        let flow = match issuer {
            Issuer::Zalo => {
                let refused = forced.then(|| self.used_token.clone()).flatten();
                Tokens::Zalo(Box::new(ZaloTokenFlow::new(
                    self.settings,
                    self.now,
                    self.holder.clone(),
                    refused,
                )))
            }
            Issuer::Wechat(app) => {
                Tokens::Wechat(TokenFlow::new(self.settings, app, self.now, forced))
            }
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
            CallState::Start => match self.issuer() {
                Some(issuer) => self.token(issuer, false),
                None => self.request(None, false),
            },
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
                match (self.call.classify(&result), self.issuer()) {
                    (Outcome::TokenExpired(_), Some(issuer)) if !forced => self.token(issuer, true),
                    (outcome, _) => Step::Done((outcome, Some(result))),
                }
            }
            CallState::Finished => Step::Done((Outcome::Permanent("flow finished".into()), None)),
        }
    }
}
