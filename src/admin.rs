//! The admin API (`/api/*`): who may call it, what each route reads or does (as a flow the shell
//! runs), and what it answers.

use serde_json::{json, Value};

use crate::complaints::ResolveRequest;
use crate::inline::{Rejection, Reply};
use crate::kv;
use crate::orders::OrderRecord;
use crate::pipeline::dead_letters::{ReplayFlow, Replayed};
use crate::pipeline::effect::{self, Answer, Answered, Effect, Flow, One, Step};
use crate::pipeline::idempotency::{IdempotencyKey, Idempotent};
use crate::pipeline::outage::{ListParkedFlow, ReplayParkedFlow, PARKED_PAGE_MAX};
use crate::pipeline::reads::{Part, ReadFlow};
use crate::pipeline::resolve::{resolved_answer, ResolveFlow, Resolved};
use crate::pipeline::staff::{queue, Ask, QueueFilters, TicketFlow};
use crate::pipeline::zalo_token::set_refresh_token;
use crate::pipeline::zns::{sent_answer, SendZnsFlow, Sent};
use crate::pipeline::{Context, Map};
use crate::role::Role;
use crate::rules::Rules;
use crate::settings::Settings;
use crate::sql::{Statement, StoreError};
use crate::staff::{parse_reply, TicketAction};
use crate::stats::{summarize, TicketTimes, TICKET_TIMES_SQL};
use crate::wechat::crypto::{constant_time_eq, hex};
use crate::wechat::custom_send::CustomSendLimits;
use crate::{complaints, orders, outbound, zns};

/// How far back the per-channel and per-category numbers look.
pub const STATS_DAYS: i64 = 30;
/// The largest body the admin API reads (rules documents, replies, order edits): far above any
/// real one, and a bound on what one request can make the Worker hold.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminMethod {
    Get,
    Post,
    Put,
    Other,
}

/// An admin request as the shell read it.
pub struct AdminRequest<'a> {
    pub method: AdminMethod,
    /// The URL path, `/api/…`.
    pub path: &'a str,
    /// The URL query, without `?`.
    pub query: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// `If-Match` of a rules edit: the version its editor read.
    pub if_match: Option<&'a str>,
    pub body: &'a str,
}

/// What the shell runs to answer an admin request.
pub type AdminFlow<'a> = Box<dyn Flow<Output = Result<Reply, Rejection>> + 'a>;

fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn unavailable(e: StoreError) -> Rejection {
    Rejection::Unavailable(e.to_string())
}

fn json_reply(status: u16, value: Value) -> Result<Reply, Rejection> {
    Ok(Reply::json(status, value.to_string()))
}

/// Rows read as `{"<name>": …}` (a record that is missing: 404).
fn read(parts: Vec<Part>) -> AdminFlow<'static> {
    Box::new(Map::new(ReadFlow::new(parts), |read| match read {
        Ok(Some(value)) => json_reply(200, value),
        Ok(None) => Err(Rejection::NotFound),
        Err(e) => Err(unavailable(e)),
    }))
}

fn list(
    name: &'static str,
    sql: &'static str,
    params: Vec<crate::sql::Param>,
) -> AdminFlow<'static> {
    read(vec![Part::list(name, Statement::new(sql, params))])
}

/// The role each route needs, in one place, or `None`: no such route (404). Checked from the
/// method and path alone, before the body is read.
pub fn required_role(method: AdminMethod, segments: &[&str]) -> Option<Role> {
    use AdminMethod::{Get, Post, Put};
    use Role::{Agent, Lead, Owner};
    Some(match (method, segments) {
        (Get, ["me"]) => Agent,
        (Get, ["rules"]) => Agent,
        (Put, ["rules"]) => Owner,
        (Get, ["tickets"] | ["tickets", _]) => Agent,
        // Streamed by `crate::media` outside `handle`, admitted here all the same.
        (Get, ["tickets", _, "media", _]) => Agent,
        (Post, ["tickets", _, "reply" | "assign" | "resolve" | "close" | "reopen" | "zns"]) => {
            Agent
        }
        (Get, ["orders"] | ["orders", _]) => Agent,
        (Put, ["orders", _]) => Lead,
        (Get, ["complaints"]) => Agent,
        (Post, ["complaints", _, "resolve"]) => Lead,
        (Get, ["stats"]) => Agent,
        // Raw payloads, message bodies and phone numbers: whole personal data.
        (Get, ["events"] | ["deliveries"] | ["alerts"] | ["dead-letters"] | ["parked"]) => Lead,
        (Post, ["dead-letters", _, "replay"] | ["parked", "replay"]) => Lead,
        (Post, ["zns"]) => Lead,
        // The refresh token re-authorises the whole Zalo OA channel.
        (Put, ["zalo", "token"]) => Owner,
        _ => return None,
    })
}

/// The path's segments after `/api/`, each percent-decoded (`O%201` is `O 1`, `%2F` a slash
/// inside an id); a segment that does not decode to UTF-8 names nothing (404).
pub fn segments(path: &str) -> Result<Vec<String>, Rejection> {
    path.trim_start_matches("/api/")
        .split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| Rejection::NotFound)
        })
        .collect()
}

/// Who is calling, if they may call this route at all: the token (401), the route (404), the
/// role it needs (403). Decided from the method, path and `Authorization` alone, so that the
/// shell reads no body for a caller it refuses.
pub fn admit(
    method: AdminMethod,
    path: &str,
    authorization: Option<&str>,
    settings: &Settings,
) -> Result<Actor, Rejection> {
    let actor = authorize(authorization, settings)?;
    let segments = segments(path)?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let needs = required_role(method, &segments).ok_or(Rejection::NotFound)?;
    if actor.role < needs {
        let method = match method {
            AdminMethod::Get => "GET",
            AdminMethod::Post => "POST",
            AdminMethod::Put => "PUT",
            AdminMethod::Other => "this method on",
        };
        return Err(Rejection::Forbidden {
            route: format!("{method} /api/{}", segments.join("/")),
            needs,
        });
    }
    Ok(actor)
}

/// Picks what answers a request `admit` let in (`actor`). A request refused before any I/O
/// (unknown route, invalid body) is refused here.
pub fn handle<'a>(
    req: &AdminRequest,
    actor: &Actor,
    cx: &Context<'a>,
) -> Result<AdminFlow<'a>, Rejection> {
    let limit = param(req.query, "limit")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let filter = |name: &str| param(req.query, name);
    let segments = segments(req.path)?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let now = cx.now;
    use AdminMethod::{Get, Post, Put};
    Ok(match (req.method, segments.as_slice()) {
        (Get, ["rules"]) => Box::new(Map::new(One::new(Effect::KvGet(kv::RULES.into())), |answer| {
            match answer {
                Some(Ok(Answer::Value(doc))) => Ok(rules_reply(doc.unwrap_or_else(|| "{}".into()))),
                Some(Err(e)) => Err(unavailable(e)),
                _ => Err(Rejection::Unavailable("KV answered nothing".into())),
            }
        })),
        (Put, ["rules"]) => {
            let rules = Rules::parse(req.body).map_err(Rejection::Malformed)?;
            let doc = serde_json::to_string(&rules).map_err(|e| Rejection::Malformed(e.to_string()))?;
            Box::new(RulesEdit::new(doc, req.if_match))
        }
        (Get, ["events"]) => list(
            "events",
            "SELECT id, dedup_key, kind, payload, received_at, stored_at FROM events ORDER BY id DESC LIMIT ?",
            vec![limit.into()],
        ),
        (Get, ["me"]) => json_reply_flow(json!({
            "name": actor.name,
            "role": actor.role.name(),
            "owner": actor.role == Role::Owner,
            "time_zone": cx.settings.time_zone,
        })),
        (Get, ["tickets"]) => {
            let filters = QueueFilters {
                status: filter("status"),
                channel: filter("channel"),
                category: filter("category"),
                priority: filter("priority"),
                assignee: filter("assignee"),
            };
            read(vec![Part::list("tickets", queue(&filters, limit))])
        }
        (Get, ["tickets", id]) => ticket(cx, id, Ask::View, actor)?,
        (Post, ["tickets", id, "reply"]) => {
            let text = parse_reply(req.body)?;
            let key = IdempotencyKey::new(req.idempotency_key, "reply", id, req.body);
            let flow = ticket(cx, id, Ask::Reply(text, key.clone()), actor)?;
            Box::new(Idempotent::new(key, flow))
        }
        (Post, ["tickets", id, verb]) if *verb != "zns" => match TicketAction::parse(verb, req.body) {
            Some(action) => ticket(cx, id, Ask::Act(action?), actor)?,
            None => return Err(Rejection::NotFound),
        },
        (Get, ["deliveries"]) => read(vec![Part::list("deliveries", outbound::list(filter("state"), limit))]),
        (Get, ["alerts"]) => list("alerts", "SELECT * FROM alerts ORDER BY id DESC LIMIT ?", vec![limit.into()]),
        (Get, ["dead-letters"]) => list(
            "dead_letters",
            "SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?",
            vec![limit.into()],
        ),
        (Post, ["dead-letters", id, "replay"]) => {
            let id: i64 = id.parse().map_err(|_| Rejection::NotFound)?;
            Box::new(Map::new(ReplayFlow::new(id, now), move |replayed| match replayed {
                Ok(Replayed::Yes) => json_reply(202, json!({ "replayed": id })),
                Ok(Replayed::NotFound) => Err(Rejection::NotFound),
                Ok(Replayed::Unreadable(why)) => Err(Rejection::Conflict(format!("cannot replay: {why}"))),
                Err(e) => Err(unavailable(e)),
            }))
        }
        // Role: lead (replays what it lists). A page at a time: `?cursor=` from the answer before.
        (Get, ["parked"]) => {
            let page = u32::try_from(limit).unwrap_or(PARKED_PAGE_MAX);
            Box::new(Map::new(ListParkedFlow::new(filter("cursor"), page), |page| match page {
                Ok(page) => json_reply(200, json!(page)),
                Err(e) => Err(unavailable(e)),
            }))
        }
        // Role: lead. One batch; the answer says how many remain.
        (Post, ["parked", "replay"]) => Box::new(Map::new(ReplayParkedFlow::new(), |report| match report {
            Ok(report) => json_reply(202, json!(report)),
            Err(e) => Err(unavailable(e)),
        })),
        (Get, ["complaints"]) => read(vec![Part::list("complaints", complaints::list(filter("status"), now, limit))]),
        (Post, ["complaints", feedback_id, "resolve"]) => resolve(req, cx, feedback_id, actor)?,
        (Get, ["orders"]) => read(vec![Part::list("orders", orders::list(filter("status"), limit))]),
        (Get, ["orders", order_id]) => {
            let by_id = |sql| Statement::new(sql, vec![(*order_id).into()]);
            read(vec![
                Part::record("order", by_id(orders::ORDER_SQL)),
                Part::list("tickets", by_id(orders::ORDER_TICKETS_SQL)),
                Part::list("complaints", by_id(orders::ORDER_COMPLAINTS_SQL)),
                Part::list("events", by_id(orders::ORDER_EVENTS_SQL)),
            ])
        }
        (Put, ["orders", order_id]) => {
            let order: OrderRecord = serde_json::from_str(req.body)
                .map_err(|e| Rejection::Malformed(format!("invalid order: {e}")))?;
            let id = (*order_id).to_owned();
            let write = One::new(Effect::Transaction(vec![order.upsert(&id, now)]));
            Box::new(Map::new(write, move |answer| match answer {
                Some(Ok(_)) => json_reply(200, json!({ "order": id })),
                Some(Err(e)) => Err(unavailable(e)),
                None => Err(Rejection::Unavailable("D1 answered nothing".into())),
            }))
        }
        (Get, ["stats"]) => stats(now),
        // Role: owner. The refresh token re-authorises the whole Zalo OA channel.
        (Put, ["zalo", "token"]) => {
            let token = parse_zalo_token(req.body)?;
            let write = One::new(Effect::Transaction(vec![set_refresh_token(&token, now)]));
            Box::new(Map::new(write, |answer| match answer {
                Some(Ok(_)) => json_reply(200, json!({ "zalo_token": "stored" })),
                Some(Err(e)) => Err(unavailable(e)),
                None => Err(Rejection::Unavailable("D1 answered nothing".into())),
            }))
        }
        (Post, ["zns"]) => send_zns(req, cx, None, actor)?,
        (Post, ["tickets", id, "zns"]) => {
            let id: i64 = id.parse().map_err(|_| Rejection::NotFound)?;
            send_zns(req, cx, Some(id), actor)?
        }
        _ => return Err(Rejection::NotFound),
    })
}

/// The version of a rules document, for `ETag` and `If-Match`: a hash of the text as stored.
pub fn rules_version(doc: &str) -> String {
    use sha1::{Digest, Sha1};
    format!("\"{}\"", hex(&Sha1::digest(doc.as_bytes())[..8]))
}

/// The rules document with its version.
fn rules_reply(doc: String) -> Reply {
    Reply {
        etag: Some(rules_version(&doc)),
        ..Reply::json(200, doc)
    }
}

/// `PUT /api/rules`: with `If-Match`, stored only if the stored document is still the version
/// its editor read (else 409: two editors never silently overwrite each other). KV has no
/// compare-and-set, so two edits in the same instant can still both pass; the page's editors
/// read seconds before they save.
struct RulesEdit {
    doc: String,
    if_match: Option<String>,
    state: RulesEditState,
}

enum RulesEditState {
    Start,
    Reading,
    Writing,
    Finished,
}

impl RulesEdit {
    fn new(doc: String, if_match: Option<&str>) -> Self {
        RulesEdit {
            doc,
            if_match: if_match
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            state: RulesEditState::Start,
        }
    }

    fn write(&mut self) -> Step<Result<Reply, Rejection>> {
        self.state = RulesEditState::Writing;
        Step::Do(Effect::KvPut {
            key: kv::RULES.into(),
            value: self.doc.clone(),
            ttl_secs: None,
        })
    }
}

impl Flow for RulesEdit {
    type Output = Result<Reply, Rejection>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, RulesEditState::Finished) {
            RulesEditState::Start if self.if_match.is_some() => {
                self.state = RulesEditState::Reading;
                Step::Do(Effect::KvGet(kv::RULES.into()))
            }
            RulesEditState::Start => self.write(),
            RulesEditState::Reading => match effect::read(answer) {
                Err(e) => Step::Done(Err(unavailable(e))),
                Ok(stored) => {
                    let version = rules_version(stored.as_deref().unwrap_or("{}"));
                    match self.if_match.as_deref() {
                        Some("*") => self.write(),
                        Some(read) if read == version || read == version.trim_matches('"') => {
                            self.write()
                        }
                        _ => Step::Done(Err(Rejection::Conflict(
                            "the rules changed since they were read: read them again".into(),
                        ))),
                    }
                }
            },
            RulesEditState::Writing => match effect::done(answer) {
                Ok(()) => Step::Done(Ok(rules_reply(std::mem::take(&mut self.doc)))),
                Err(e) => Step::Done(Err(unavailable(e))),
            },
            RulesEditState::Finished => {
                Step::Done(Err(Rejection::Unavailable("flow finished".into())))
            }
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ZaloTokenBody {
    refresh_token: String,
}

/// `{"refresh_token": "…"}`: one token of printable ASCII, as Zalo issues them.
fn parse_zalo_token(body: &str) -> Result<String, Rejection> {
    let parsed: ZaloTokenBody = serde_json::from_str(body)
        .map_err(|e| Rejection::Malformed(format!("invalid Zalo token request: {e}")))?;
    let token = parsed.refresh_token.trim();
    if token.is_empty() || token.len() > 1024 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Rejection::Malformed(
            "refresh_token must be 1..=1024 printable ASCII characters".into(),
        ));
    }
    Ok(token.to_owned())
}

/// An answer known without any I/O.
fn json_reply_flow(value: Value) -> AdminFlow<'static> {
    Box::new(Map::new(One::nothing(), move |_| {
        json_reply(200, value.clone())
    }))
}

/// A ticket read or changed from the dashboard.
fn ticket<'a>(
    cx: &Context<'a>,
    id: &str,
    ask: Ask,
    actor: &Actor,
) -> Result<AdminFlow<'a>, Rejection> {
    let id: i64 = id.parse().map_err(|_| Rejection::NotFound)?;
    let flow = TicketFlow::new(cx.settings, id, ask, &actor.name, &cx.unique, cx.now);
    Ok(Box::new(Map::new(
        flow,
        |answer: crate::pipeline::staff::Answer| {
            answer.and_then(|(status, body)| json_reply(status, body))
        },
    )))
}

/// `POST /api/zns` (`ticket` None) and `POST /api/tickets/{ticket}/zns`: 202 `{"delivery"}`.
fn send_zns<'a>(
    req: &AdminRequest,
    cx: &Context<'a>,
    ticket: Option<i64>,
    actor: &Actor,
) -> Result<AdminFlow<'a>, Rejection> {
    let mut order = zns::parse(req.body, ticket.is_some(), cx.settings)?;
    order.ticket_id = order.ticket_id.or(ticket);
    // Scoped to the ticket, or to the phone of a send to any phone.
    let key = match (ticket, &order.phone) {
        (Some(ticket), _) => IdempotencyKey::new(
            req.idempotency_key,
            "ticket-zns",
            &ticket.to_string(),
            req.body,
        ),
        (None, phone) => IdempotencyKey::new(
            req.idempotency_key,
            "zns",
            phone.as_deref().unwrap_or_default(),
            req.body,
        ),
    };
    let delivery_id = zns::delivery_id(key.as_ref().map(IdempotencyKey::name), &cx.unique);
    let flow = SendZnsFlow::new(
        cx.settings,
        order,
        delivery_id,
        key.clone(),
        &actor.name,
        cx.now,
    );
    let flow = Map::new(flow, |sent| match sent {
        Ok(Sent::Queued { delivery, repeated }) => {
            json_reply(202, sent_answer(&delivery, repeated))
        }
        Ok(Sent::Refused(refusal)) => Err(refusal),
        Err(e) => Err(unavailable(e)),
    });
    Ok(Box::new(Idempotent::new(key, flow)))
}

/// `POST /api/complaints/{feedback_id}/resolve`.
fn resolve<'a>(
    req: &AdminRequest,
    cx: &Context<'a>,
    feedback_id: &str,
    actor: &Actor,
) -> Result<AdminFlow<'a>, Rejection> {
    let request: ResolveRequest = if req.body.trim().is_empty() {
        ResolveRequest { message: None }
    } else {
        serde_json::from_str(req.body)
            .map_err(|e| Rejection::Malformed(format!("invalid resolve request: {e}")))?
    };
    let limits = CustomSendLimits {
        max_news_articles: cx.settings.news_article_limit,
    };
    let key = IdempotencyKey::new(req.idempotency_key, "resolve", feedback_id, req.body);
    let flow = ResolveFlow::new(
        feedback_id,
        request,
        limits,
        key.clone(),
        &cx.unique,
        &actor.name,
        cx.now,
    );
    let feedback_id = feedback_id.to_owned();
    let flow = Map::new(flow, move |resolved| match resolved {
        Ok(Resolved::Done { deliveries }) => {
            json_reply(202, resolved_answer(&feedback_id, &deliveries))
        }
        Ok(Resolved::NotFound) => Err(Rejection::NotFound),
        Ok(Resolved::BadMessage(why)) => Err(Rejection::Malformed(why)),
        Ok(Resolved::Conflict(why)) => Err(Rejection::Conflict(why)),
        Err(e) => Err(unavailable(e)),
    });
    Ok(Box::new(Idempotent::new(key, flow)))
}

/// Ticket counts by status, response times (of the tickets opened in the last `STATS_DAYS`
/// days, found by `tickets_created`; the overdue first responses among the tickets not closed,
/// by status), deliveries by state, and for the last `STATS_DAYS` days the numbers per channel
/// and category.
fn stats(now: i64) -> AdminFlow<'static> {
    let parts = vec![
        Part::list("tickets_by_status", Statement::new("SELECT status, COUNT(*) AS count FROM tickets GROUP BY status", vec![])),
        Part::record(
            "response_times",
            Statement::new(
                "SELECT (SELECT AVG(first_response_at - created_at) FROM tickets WHERE created_at >= ?2) AS avg_first_response_secs, \
                        (SELECT AVG(resolved_at - created_at) FROM tickets WHERE created_at >= ?2) AS avg_resolution_secs, \
                        (SELECT COUNT(*) FROM tickets WHERE status IN ('open', 'pending', 'resolved') \
                           AND first_response_at IS NULL AND first_response_due < ?1) AS first_response_overdue",
                vec![now.into(), (now - STATS_DAYS * 86_400).into()],
            ),
        ),
        Part::list("deliveries_by_state", Statement::new("SELECT state, COUNT(*) AS count FROM deliveries GROUP BY state", vec![])),
        Part::list("ticket_times", Statement::new(TICKET_TIMES_SQL, vec![(now - STATS_DAYS * 86_400).into()])),
        // Hours, not days: the page groups them into days of the merchant's time zone.
        Part::list(
            "opened_by_hour",
            Statement::new(
                "SELECT created_at / 3600 * 3600 AS hour, channel, COUNT(*) AS opened FROM tickets \
                 WHERE created_at >= ? GROUP BY hour, channel ORDER BY hour",
                vec![(now - STATS_DAYS * 86_400).into()],
            ),
        ),
        Part::list(
            "complaints_by_status",
            Statement::new("SELECT status, COUNT(*) AS count FROM complaints GROUP BY status", vec![]),
        ),
    ];
    Box::new(Map::new(ReadFlow::new(parts), move |read| {
        let mut value = match read {
            Ok(Some(value)) => value,
            Ok(None) => Value::Null,
            Err(e) => return Err(unavailable(e)),
        };
        let times: Vec<TicketTimes> = value
            .get_mut("ticket_times")
            .map(Value::take)
            .and_then(|rows| match rows {
                Value::Array(rows) => rows
                    .into_iter()
                    .map(effect::row)
                    .collect::<Result<_, _>>()
                    .ok(),
                _ => None,
            })
            .unwrap_or_default();
        if let Value::Object(map) = &mut value {
            map.remove("ticket_times");
            map.insert(
                "by_channel_and_category".into(),
                json!(summarize(&times, now)),
            );
            map.insert("period_days".into(), json!(STATS_DAYS));
        }
        json_reply(200, value)
    }))
}

/// Who is calling the admin API: the owner (`ADMIN_TOKEN`) or one of the staff
/// (`STAFF_TOKENS`), with their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

/// The name the owner's actions are recorded under.
pub const OWNER: &str = "admin";

/// Checks `Authorization: Bearer <token>` against `ADMIN_TOKEN` and every staff token, each in
/// constant time. Without an ADMIN_TOKEN set, or with a `STAFF_TOKENS` that cannot be read, the
/// admin API is closed (500 naming the setting), never open.
pub fn authorize(authorization: Option<&str>, settings: &Settings) -> Result<Actor, Rejection> {
    let admin = settings
        .admin_token
        .as_deref()
        .ok_or_else(|| Rejection::MissingSetting("ADMIN_TOKEN".into()))?;
    let staff_tokens = settings
        .staff_tokens
        .0
        .as_ref()
        .map_err(|bad| Rejection::MissingSetting(bad.to_string()))?;
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(Rejection::Unauthenticated("missing or wrong bearer token"))?;
    // Every token is compared, so the time taken does not tell which one matched.
    let owner = constant_time_eq(presented, admin);
    let staff = staff_tokens
        .iter()
        .filter(|staff| constant_time_eq(presented, &staff.token))
        .fold(None, |found, staff| found.or(Some(staff)));
    match (owner, staff) {
        (true, _) => Ok(Actor {
            name: OWNER.into(),
            role: Role::Owner,
        }),
        (false, Some(staff)) => Ok(Actor {
            name: staff.name.clone(),
            role: staff.role,
        }),
        (false, None) => Err(Rejection::Unauthenticated("missing or wrong bearer token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        let settings = Settings::from_lookup(|name| match name {
            "ADMIN_TOKEN" => Some("s3cret".into()),
            "STAFF_TOKENS" => Some("anna:tok-a,bob:tok-b:lead".into()),
            _ => None,
        });
        let owner = authorize(Some("Bearer s3cret"), &settings).unwrap();
        assert_eq!(
            owner,
            Actor {
                name: OWNER.into(),
                role: Role::Owner
            }
        );
        let anna = authorize(Some("Bearer tok-a"), &settings).unwrap();
        assert_eq!(
            anna,
            Actor {
                name: "anna".into(),
                role: Role::Agent
            }
        );
        let bob = authorize(Some("Bearer tok-b"), &settings).unwrap();
        assert_eq!(bob.role, Role::Lead);
        for wrong in [
            Some("Bearer S3CRET"),
            Some("s3cret"),
            None,
            Some("Bearer tok-"),
            Some("Bearer "),
        ] {
            assert_eq!(
                authorize(wrong, &settings).unwrap_err().status(),
                401,
                "{wrong:?}"
            );
        }
        let closed =
            Settings::from_lookup(|name| (name == "STAFF_TOKENS").then(|| "anna:tok-a".into()));
        assert_eq!(
            authorize(Some("Bearer tok-a"), &closed)
                .unwrap_err()
                .status(),
            500
        );
    }
}
