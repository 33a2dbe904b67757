//! The admin API (`/api/*`): who may call it, what each route reads or does (as a flow the shell
//! runs), and what it answers.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::complaints::ResolveRequest;
use crate::inline::{Rejection, Reply};
use crate::kv;
use crate::pipeline::dead_letters::{ReplayFlow, Replayed};
use crate::pipeline::effect::{Answer, Effect, Flow, One};
use crate::pipeline::outage::{ListParkedFlow, ReplayParkedFlow};
use crate::pipeline::reads::{Part, ReadFlow};
use crate::pipeline::resolve::{ResolveFlow, Resolved};
use crate::pipeline::staff::{Ask, TicketFlow, QUEUE_SQL};
use crate::pipeline::zalo_token::set_refresh_token;
use crate::pipeline::zns::{SendZnsFlow, Sent};
use crate::pipeline::{Context, Map};
use crate::platforms::payfeedback::GoodsKind;
use crate::rules::Rules;
use crate::settings::Settings;
use crate::sql::{Statement, StoreError};
use crate::staff::{parse_reply, TicketAction};
use crate::stats::{summarize, TicketTimes, TICKET_TIMES_SQL};
use crate::wechat::crypto::constant_time_eq;
use crate::wechat::custom_send::CustomSendLimits;
use crate::zns;

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
    pub authorization: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
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

/// Authorizes the request and picks what answers it. A request refused before any I/O (bad
/// token, unknown route, invalid body) is refused here.
pub fn handle<'a>(req: &AdminRequest, cx: &Context<'a>) -> Result<AdminFlow<'a>, Rejection> {
    let actor = authorize(req.authorization, cx.settings)?;
    let limit = param(req.query, "limit")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let filter = |name: &str| param(req.query, name);
    let path = req.path.trim_start_matches("/api/");
    let segments: Vec<&str> = path.split('/').collect();
    let now = cx.now;
    use AdminMethod::{Get, Post, Put};
    Ok(match (req.method, segments.as_slice()) {
        (Get, ["rules"]) => Box::new(Map::new(One::new(Effect::KvGet(kv::RULES.into())), |answer| {
            match answer {
                Some(Ok(Answer::Value(doc))) => Ok(Reply::json(200, doc.unwrap_or_else(|| "{}".into()))),
                Some(Err(e)) => Err(unavailable(e)),
                _ => Err(Rejection::Unavailable("KV answered nothing".into())),
            }
        })),
        (Put, ["rules"]) => {
            let rules = Rules::parse(req.body).map_err(Rejection::Malformed)?;
            let doc = serde_json::to_string(&rules).map_err(|e| Rejection::Malformed(e.to_string()))?;
            let put = Effect::KvPut { key: kv::RULES.into(), value: doc.clone(), ttl_secs: None };
            Box::new(Map::new(One::new(put), move |answer| match answer {
                Some(Ok(_)) => Ok(Reply::json(200, doc.clone())),
                Some(Err(e)) => Err(unavailable(e)),
                None => Err(Rejection::Unavailable("KV answered nothing".into())),
            }))
        }
        (Get, ["events"]) => list(
            "events",
            "SELECT id, dedup_key, kind, payload, received_at, stored_at FROM events ORDER BY id DESC LIMIT ?",
            vec![limit.into()],
        ),
        (Get, ["me"]) => json_reply_flow(json!({
            "name": actor.name,
            "owner": actor.owner,
            "time_zone": cx.settings.time_zone,
        })),
        (Get, ["tickets"]) => list(
            "tickets",
            QUEUE_SQL,
            vec![
                filter("status").into(),
                filter("channel").into(),
                filter("category").into(),
                filter("priority").into(),
                filter("assignee").into(),
                limit.into(),
            ],
        ),
        (Get, ["tickets", id]) => ticket(cx, id, Ask::View, &actor)?,
        (Post, ["tickets", id, "reply"]) => ticket(cx, id, Ask::Reply(parse_reply(req.body)?), &actor)?,
        (Post, ["tickets", id, verb]) if *verb != "zns" => match TicketAction::parse(verb, req.body) {
            Some(action) => ticket(cx, id, Ask::Act(action?), &actor)?,
            None => return Err(Rejection::NotFound),
        },
        (Get, ["deliveries"]) => list(
            "deliveries",
            "SELECT * FROM deliveries WHERE (?1 IS NULL OR state = ?1) ORDER BY created_at DESC LIMIT ?2",
            vec![filter("state").into(), limit.into()],
        ),
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
        (Get, ["parked"]) => Box::new(Map::new(ListParkedFlow::new(), |parked| match parked {
            Ok(parked) => json_reply(200, json!({ "parked": parked })),
            Err(e) => Err(unavailable(e)),
        })),
        (Post, ["parked", "replay"]) => Box::new(Map::new(ReplayParkedFlow::new(), |report| match report {
            Ok(report) => json_reply(202, json!(report)),
            Err(e) => Err(unavailable(e)),
        })),
        // Overdue (and still waiting for the merchant) first, then by deadline.
        (Get, ["complaints"]) => list(
            "complaints",
            "SELECT * FROM complaints WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY (status IN ('open', 'reopened') AND deadline <= ?2) DESC, deadline ASC LIMIT ?3",
            vec![filter("status").into(), now.into(), limit.into()],
        ),
        (Post, ["complaints", feedback_id, "resolve"]) => resolve(req, cx, feedback_id, &actor)?,
        (Get, ["orders"]) => list(
            "orders",
            "SELECT * FROM orders WHERE (?1 IS NULL OR status = ?1) ORDER BY updated_at DESC LIMIT ?2",
            vec![filter("status").into(), limit.into()],
        ),
        (Get, ["orders", order_id]) => {
            let by_id = |sql| Statement::new(sql, vec![(*order_id).into()]);
            read(vec![
                Part::record("order", by_id("SELECT * FROM orders WHERE id = ?")),
                Part::list("tickets", by_id("SELECT * FROM tickets WHERE order_id = ? ORDER BY id")),
                Part::list(
                    "complaints",
                    by_id("SELECT * FROM complaints WHERE trans_id = (SELECT trans_id FROM orders WHERE id = ?) ORDER BY opened_at"),
                ),
                Part::list(
                    "events",
                    by_id("SELECT * FROM events WHERE kind = 'order' AND json_extract(payload, '$.order.id') = ? ORDER BY id"),
                ),
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
            if !actor.owner {
                return Err(Rejection::Unauthenticated(
                    "setting the Zalo refresh token needs the owner's token (ADMIN_TOKEN)",
                ));
            }
            let token = parse_zalo_token(req.body)?;
            let write = One::new(Effect::Transaction(vec![set_refresh_token(&token, now)]));
            Box::new(Map::new(write, |answer| match answer {
                Some(Ok(_)) => json_reply(200, json!({ "zalo_token": "stored" })),
                Some(Err(e)) => Err(unavailable(e)),
                None => Err(Rejection::Unavailable("D1 answered nothing".into())),
            }))
        }
        (Post, ["zns"]) => send_zns(req, cx, None, &actor)?,
        (Post, ["tickets", id, "zns"]) => {
            let id: i64 = id.parse().map_err(|_| Rejection::NotFound)?;
            send_zns(req, cx, Some(id), &actor)?
        }
        _ => return Err(Rejection::NotFound),
    })
}

#[derive(Deserialize)]
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
    let delivery_id = zns::delivery_id(req.idempotency_key, &cx.unique);
    let flow = SendZnsFlow::new(cx.settings, order, delivery_id, &actor.name, cx.now);
    Ok(Box::new(Map::new(flow, |sent| match sent {
        Ok(Sent::Queued { delivery, repeated }) => {
            json_reply(202, json!({ "delivery": delivery, "repeated": repeated }))
        }
        Ok(Sent::Refused(refusal)) => Err(refusal),
        Err(e) => Err(unavailable(e)),
    })))
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
    let flow = ResolveFlow::new(
        feedback_id,
        request,
        limits,
        req.idempotency_key,
        &cx.unique,
        &actor.name,
        cx.now,
    );
    let feedback_id = feedback_id.to_owned();
    Ok(Box::new(Map::new(flow, move |resolved| {
        let answer = |deliveries: Vec<String>, repeated: bool| {
            json_reply(
                202,
                json!({ "feedback_id": feedback_id, "status": "processed", "deliveries": deliveries, "repeated": repeated }),
            )
        };
        match resolved {
            Ok(Resolved::Done { deliveries }) => answer(deliveries, false),
            Ok(Resolved::Repeated { deliveries }) => answer(deliveries, true),
            Ok(Resolved::NotFound) => Err(Rejection::NotFound),
            Ok(Resolved::BadMessage(why)) => Err(Rejection::Malformed(why)),
            Ok(Resolved::Conflict(why)) => Err(Rejection::Conflict(why)),
            Err(e) => Err(unavailable(e)),
        }
    })))
}

/// Ticket counts by status, response times, deliveries by state, and for the last
/// `STATS_DAYS` days the numbers per channel and category.
fn stats(now: i64) -> AdminFlow<'static> {
    let parts = vec![
        Part::list("tickets_by_status", Statement::new("SELECT status, COUNT(*) AS count FROM tickets GROUP BY status", vec![])),
        Part::record(
            "response_times",
            Statement::new(
                "SELECT AVG(first_response_at - created_at) AS avg_first_response_secs, \
                        AVG(resolved_at - created_at) AS avg_resolution_secs, \
                        SUM(CASE WHEN first_response_at IS NULL AND status != 'closed' AND first_response_due < ?1 THEN 1 ELSE 0 END) AS first_response_overdue \
                 FROM tickets",
                vec![now.into()],
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
            .and_then(|rows| serde_json::from_value(rows).ok())
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

/// Who is calling the admin API: the owner (`ADMIN_TOKEN`) or a named agent (`STAFF_TOKENS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub owner: bool,
}

/// The name the owner's actions are recorded under.
pub const OWNER: &str = "admin";

/// Checks `Authorization: Bearer <token>` against `ADMIN_TOKEN` and every staff token, each in
/// constant time. Without an ADMIN_TOKEN set, the admin API is closed (500 naming the setting),
/// never open.
pub fn authorize(authorization: Option<&str>, settings: &Settings) -> Result<Actor, Rejection> {
    let admin = settings
        .admin_token
        .as_deref()
        .ok_or_else(|| Rejection::MissingSetting("ADMIN_TOKEN".into()))?;
    let presented = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(Rejection::Unauthenticated("missing or wrong bearer token"))?;
    // Every token is compared, so the time taken does not tell which one matched.
    let owner = constant_time_eq(presented, admin);
    let staff = settings
        .staff_tokens
        .iter()
        .filter(|(_, token)| constant_time_eq(presented, token))
        .fold(None, |found, (name, _)| found.or(Some(name)));
    match (owner, staff) {
        (true, _) => Ok(Actor {
            name: OWNER.into(),
            owner: true,
        }),
        (false, Some(name)) => Ok(Actor {
            name: name.clone(),
            owner: false,
        }),
        (false, None) => Err(Rejection::Unauthenticated("missing or wrong bearer token")),
    }
}

/// `PUT /api/orders/{id}`: what the merchant tells about an order, for complaint deadlines
/// (goods kind, delivery) and for linking tickets. Absent fields keep their stored value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    pub trans_id: Option<String>,
    pub goods_kind: Option<GoodsKind>,
    pub status: Option<String>,
    pub delivered_at: Option<i64>,
}

impl OrderRecord {
    pub fn upsert(&self, order_id: &str, now: i64) -> Statement {
        let kind = self.goods_kind.map(|k| match k {
            GoodsKind::Virtual => "virtual",
            GoodsKind::Physical => "physical",
        });
        Statement::new(
            "INSERT INTO orders (id, trans_id, goods_kind, status, delivered_at, updated_at) VALUES (?1, ?2, ?3, COALESCE(?4, 'paid'), ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET trans_id = COALESCE(?2, trans_id), goods_kind = COALESCE(?3, goods_kind), \
             status = COALESCE(?4, status), delivered_at = COALESCE(?5, delivered_at), updated_at = ?6",
            vec![
                order_id.into(),
                self.trans_id.clone().into(),
                kind.into(),
                self.status.clone().into(),
                self.delivered_at.into(),
                now.into(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        let settings = Settings::from_lookup(|name| match name {
            "ADMIN_TOKEN" => Some("s3cret".into()),
            "STAFF_TOKENS" => Some("anna:tok-a,bob:tok-b".into()),
            _ => None,
        });
        let owner = authorize(Some("Bearer s3cret"), &settings).unwrap();
        assert_eq!(
            owner,
            Actor {
                name: OWNER.into(),
                owner: true
            }
        );
        let anna = authorize(Some("Bearer tok-a"), &settings).unwrap();
        assert_eq!(
            anna,
            Actor {
                name: "anna".into(),
                owner: false
            }
        );
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
