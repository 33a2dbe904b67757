//! `GET /api/tickets/{id}/media/{entry}` (role: agent): the picture, voice, video or file a
//! customer sent, as one inbound entry of the ticket's timeline, streamed to staff from the
//! platform that keeps it: an Official Account message's `MediaId` through `cgi-bin/media/get`
//! (with the OA's access_token), a WeChat Shop message's `cos_url` as it is. The bytes never go
//! to a third-party host, and only media types are passed on (the page's CSP stays strict).
//!
//! The flow decides the request; the shell makes it and streams the answer when
//! [`accept_upstream`] takes it.

use serde::Deserialize;

use crate::admin::{admit, AdminMethod};
use crate::http::{HttpRequest, Outcome};
use crate::inline::Rejection;
use crate::pipeline::effect::{self, Answered, Effect, Flow, Step};
use crate::pipeline::token::TokenFlow;
use crate::settings::Settings;
use crate::sql::Statement;
use crate::wechat::api::{token_query, App};

/// The stored event behind one inbound timeline entry of a ticket.
pub const MEDIA_SQL: &str =
    "SELECT e.payload FROM ticket_timeline tl JOIN events e ON e.dedup_key = tl.event_key \
     WHERE tl.ticket_id = ? AND tl.id = ? AND tl.kind = 'inbound'";

/// The ticket and timeline entry of a media path, `/api/tickets/{id}/media/{entry}`.
pub fn media_path(path: &str) -> Option<(i64, i64)> {
    let rest = path.strip_prefix("/api/tickets/")?;
    let (ticket, entry) = rest.split_once("/media/")?;
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((number(ticket)?, number(entry)?))
}

/// Where the bytes of a customer's media are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An Official Account message's `MediaId` (kept 3 days by WeChat).
    OaMedia(String),
    /// A WeChat Shop message's `cos_url`.
    ShopUrl(String),
}

#[derive(Deserialize)]
struct Stored {
    kind: String,
    body: Option<StoredBody>,
}

#[derive(Deserialize)]
struct StoredBody {
    msg_type: String,
    media_id: Option<String>,
    cos_url: Option<String>,
}

fn no_media() -> Rejection {
    Rejection::Malformed("this timeline entry carries no picture, voice, video or file".into())
}

/// The media of a stored event (`events.payload`), or a 400 when it carries none.
pub fn source(payload: &str) -> Result<Source, Rejection> {
    let stored: Stored = serde_json::from_str(payload).map_err(|_| no_media())?;
    let body = stored.body.ok_or_else(no_media)?;
    match (stored.kind.as_str(), body.msg_type.as_str()) {
        ("oa_message", "image" | "voice" | "video" | "shortvideo") => body
            .media_id
            .filter(|id| !id.is_empty())
            .map(Source::OaMedia)
            .ok_or_else(no_media),
        ("shop_message", "image" | "video" | "file") => body
            .cos_url
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .map(Source::ShopUrl)
            .ok_or_else(no_media),
        _ => Err(no_media()),
    }
}

/// The request that fetches the media, given the OA's access_token where it needs one.
pub fn media_request(source: &Source, api_base: &str, access_token: &str) -> HttpRequest {
    match source {
        Source::OaMedia(media_id) => {
            let query = form_urlencoded::Serializer::new(token_query(access_token))
                .append_pair("media_id", media_id)
                .finish();
            HttpRequest::get(format!("{api_base}/cgi-bin/media/get?{query}"))
        }
        Source::ShopUrl(url) => HttpRequest::get(url.clone()),
    }
}

/// The content types passed on to staff as they are; anything else that is not a page or an
/// error goes as a download (`application/octet-stream`).
const MEDIA_TYPES: [&str; 9] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "video/mp4",
    "application/pdf",
];

/// What the shell answers staff with for the platform's answer: the content type to stream the
/// bytes as, or why not (502: the platform answered an error, a page or JSON, not media).
pub fn accept_upstream(status: u16, content_type: Option<&str>) -> Result<&'static str, Rejection> {
    if !(200..300).contains(&status) {
        return Err(Rejection::Unavailable(format!(
            "the platform answered HTTP {status} for the media"
        )));
    }
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(known) = MEDIA_TYPES.iter().find(|t| **t == essence) {
        return Ok(known);
    }
    // WeChat answers a media error as JSON (errcode 40007: invalid media_id, say).
    if essence.is_empty()
        || essence.starts_with("text/")
        || essence.contains("json")
        || essence.contains("xml")
        || essence.contains("html")
        || essence.contains("javascript")
    {
        return Err(Rejection::Unavailable(format!(
            "the platform answered {} instead of the media (expired or unknown)",
            if essence.is_empty() {
                "no content type"
            } else {
                &essence
            }
        )));
    }
    Ok("application/octet-stream")
}

/// Finds the entry's media and builds its request (admitted by the role table: agent).
pub struct MediaFlow<'a> {
    settings: &'a Settings,
    now: i64,
    ticket: i64,
    entry: i64,
    state: State<'a>,
}

enum State<'a> {
    Start,
    Reading,
    Token(Source, TokenFlow<'a>),
    Finished,
}

impl<'a> MediaFlow<'a> {
    /// The flow for `path`, or why the request is refused (401 without a staff token, 403
    /// below the route's role in `admin::required_role`, 404 for a path that names no entry).
    pub fn new(
        settings: &'a Settings,
        authorization: Option<&str>,
        path: &str,
        now: i64,
    ) -> Result<Self, Rejection> {
        admit(AdminMethod::Get, path, authorization, settings)?;
        let (ticket, entry) = media_path(path).ok_or(Rejection::NotFound)?;
        Ok(MediaFlow {
            settings,
            now,
            ticket,
            entry,
            state: State::Start,
        })
    }
}

impl Flow for MediaFlow<'_> {
    type Output = Result<HttpRequest, Rejection>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        let base = &self.settings.wechat_api_base;
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => {
                self.state = State::Reading;
                Step::Do(Effect::Query(Statement::new(
                    MEDIA_SQL,
                    vec![self.ticket.into(), self.entry.into()],
                )))
            }
            State::Reading => {
                #[derive(Deserialize)]
                struct Row {
                    payload: String,
                }
                let row = match effect::rows::<Row>(answer) {
                    Err(e) => return Step::Done(Err(Rejection::Unavailable(e.to_string()))),
                    Ok(rows) => rows.into_iter().next(),
                };
                let Some(row) = row else {
                    return Step::Done(Err(Rejection::NotFound));
                };
                match source(&row.payload) {
                    Err(refused) => Step::Done(Err(refused)),
                    Ok(url @ Source::ShopUrl(_)) => Step::Done(Ok(media_request(&url, base, ""))),
                    Ok(media) => {
                        let token =
                            TokenFlow::new(self.settings, App::OfficialAccount, self.now, false);
                        self.state = State::Token(media, token);
                        self.step(None)
                    }
                }
            }
            State::Token(media, mut token) => match token.step(answer) {
                Step::Do(effect) => {
                    self.state = State::Token(media, token);
                    Step::Do(effect)
                }
                Step::Done(Ok(access_token)) => {
                    Step::Done(Ok(media_request(&media, base, &access_token)))
                }
                Step::Done(Err(Outcome::Permanent(why))) if why.starts_with("missing setting") => {
                    Step::Done(Err(Rejection::MissingSetting(why)))
                }
                Step::Done(Err(outcome)) => Step::Done(Err(Rejection::Unavailable(format!(
                    "no access_token for media/get: {outcome:?}"
                )))),
            },
            State::Finished => Step::Done(Err(Rejection::Unavailable("flow finished".into()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_path_names_a_ticket_and_an_entry() {
        assert_eq!(media_path("/api/tickets/12/media/345"), Some((12, 345)));
        for bad in [
            "/api/tickets/12/media/",
            "/api/tickets/x/media/1",
            "/api/tickets/1/media/1/2",
            "/api/tickets/12/reply",
            "/api/tickets/1/media/-1",
            "/api/tickets/1/media/99999999999999999999",
        ] {
            assert_eq!(media_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_media_of_an_oa_or_shop_message() {
        let oa = r#"{"kind":"oa_message","envelope":{},"body":{"msg_type":"image","pic_url":"http://p","media_id":"MEDIA_1"}}"#;
        assert_eq!(source(oa), Ok(Source::OaMedia("MEDIA_1".into())));
        let voice = r#"{"kind":"oa_message","body":{"msg_type":"voice","media_id":"V1"}}"#;
        assert_eq!(source(voice), Ok(Source::OaMedia("V1".into())));
        let shop = r#"{"kind":"shop_message","body":{"msg_type":"image","cos_url":"https://channels.weixin.qq.com/x"}}"#;
        assert_eq!(
            source(shop),
            Ok(Source::ShopUrl("https://channels.weixin.qq.com/x".into()))
        );
        for none in [
            r#"{"kind":"oa_message","body":{"msg_type":"text","content":"hi"}}"#,
            r#"{"kind":"oa_message","body":{"msg_type":"image","pic_url":"http://p"}}"#,
            r#"{"kind":"shop_message","body":{"msg_type":"image","cos_url":"javascript:x"}}"#,
            r#"{"kind":"order","order":{}}"#,
            "not json",
        ] {
            assert_eq!(source(none).unwrap_err().status(), 400, "{none}");
        }
    }

    #[test]
    fn media_get_carries_the_token_and_the_media_id() {
        let request = media_request(&Source::OaMedia("M 1".into()), "http://h", "T&1");
        assert_eq!(
            request.url,
            "http://h/cgi-bin/media/get?access_token=T%261&media_id=M+1"
        );
        let shop = media_request(&Source::ShopUrl("https://c/1".into()), "http://h", "");
        assert_eq!(shop.url, "https://c/1");
    }

    #[test]
    fn only_media_is_passed_on() {
        assert_eq!(accept_upstream(200, Some("image/jpeg")), Ok("image/jpeg"));
        assert_eq!(
            accept_upstream(200, Some("IMAGE/PNG; x=1")),
            Ok("image/png")
        );
        assert_eq!(
            accept_upstream(200, Some("application/zip")),
            Ok("application/octet-stream")
        );
        for refused in [
            (200, Some("application/json")),
            (200, Some("text/plain")),
            (200, Some("text/html")),
            (200, Some("image/svg+xml")),
            (200, None),
            (404, Some("image/jpeg")),
        ] {
            assert_eq!(
                accept_upstream(refused.0, refused.1).unwrap_err().status(),
                503,
                "{refused:?}"
            );
        }
    }
}
