//! A ticket as the dashboard sees it and changes it: read with what hangs on it (order,
//! complaints, timeline) and the channel a reply would take; an action or a reply planned from
//! that read (`staff`), written as one transaction, its deliveries sent, and the answer.

use serde_json::{json, Value};

use super::delivery::Dispatch;
use super::effect::{self, Answered, Effect, Flow, Step};
use super::idempotency::IdempotencyKey;
use super::reads::{Part, ReadFlow};
use crate::inline::Rejection;
use crate::kv;
use crate::reach::{Contact, Outgoing};
use crate::rules::Rules;
use crate::settings::Settings;
use crate::sql::{follow_ups, Param, Statement, StoreError};
use crate::staff::{describe_reach, plan_action, plan_reply, StaffReply, TicketAction, TicketRow};

/// A ticket with its next due time: the first response until there was one, then resolution;
/// none once resolved or closed. `order_phone`: the phone of the card-shop order it is linked
/// to, which the ZNS fallback may use.
pub const TICKET_SQL: &str = "SELECT t.*, \
       CASE WHEN t.status IN ('resolved', 'closed') THEN NULL WHEN t.first_response_at IS NULL THEN t.first_response_due ELSE t.resolution_due END AS due_at, \
       CASE WHEN t.status IN ('resolved', 'closed') THEN NULL WHEN t.first_response_at IS NULL THEN 'first_response' ELSE 'resolution' END AS due_kind, \
       (SELECT o.id FROM tickets o WHERE o.channel = t.channel AND o.customer_id = t.customer_id AND o.status != 'closed' AND o.id != t.id) AS other_active, \
       (SELECT o.customer_phone FROM orders o WHERE o.id = t.order_id) AS order_phone \
     FROM tickets t WHERE t.id = ?";

/// The queue's filters (`GET /api/tickets?status=&channel=&category=&priority=&assignee=`),
/// each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilters {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub category: Option<String>,
    pub priority: Option<String>,
    pub assignee: Option<String>,
}

/// The statuses a ticket can have; open and pending ones have a due time.
const STATUSES: [&str; 4] = ["open", "pending", "resolved", "closed"];

/// The queue: filtered, most urgent first (the nearest due time; resolved and closed last,
/// newest first). Built from the filters given, one part per status asked for (every status
/// when none is), so that an index finds each part's rows (`(? IS NULL OR status = ?)` would
/// read every ticket ever opened): open and pending ones are sorted by due time among
/// themselves, resolved and closed ones read newest first from `tickets_status_id` until the
/// limit.
pub fn queue(filters: &QueueFilters, limit: i64) -> Statement {
    let statuses: Vec<&str> = match filters.status.as_deref() {
        Some(status) => vec![status],
        None => STATUSES.to_vec(),
    };
    let mut conditions = String::new();
    let mut values: Vec<Param> = Vec::new();
    for (column, value) in [
        ("channel", &filters.channel),
        ("category", &filters.category),
        ("priority", &filters.priority),
        ("assignee", &filters.assignee),
    ] {
        if let Some(value) = value {
            conditions.push_str(&format!(" AND {column} = ?"));
            values.push(value.as_str().into());
        }
    }
    let mut params = Vec::new();
    let parts: Vec<String> = statuses
        .into_iter()
        .map(|status| {
            let order = match status {
                "resolved" | "closed" => "id DESC",
                _ => "due_at, id DESC",
            };
            params.push(status.into());
            params.extend(values.iter().cloned());
            params.push(limit.into());
            format!(
                "SELECT * FROM (SELECT *, {DUE} FROM tickets WHERE status = ?{conditions} ORDER BY {order} LIMIT ?)"
            )
        })
        .collect();
    params.push(limit.into());
    let sql = format!(
        "SELECT * FROM ({}) ORDER BY due_at IS NULL, due_at, id DESC LIMIT ?",
        parts.join(" UNION ALL ")
    );
    Statement::new(sql, params)
}

/// A ticket's next due time and which one it is: the first response until there was one,
/// then resolution; none once resolved or closed.
const DUE: &str = "CASE WHEN status IN ('resolved', 'closed') THEN NULL WHEN first_response_at IS NULL THEN first_response_due ELSE resolution_due END AS due_at, \
       CASE WHEN status IN ('resolved', 'closed') THEN NULL WHEN first_response_at IS NULL THEN 'first_response' ELSE 'resolution' END AS due_kind";

/// What the dashboard asked of a ticket.
pub enum Ask {
    View,
    Act(TicketAction),
    /// A reply (a text or a Shop card), under its Idempotency-Key (the flow runs under
    /// `Idempotent`).
    Reply(StaffReply, Option<IdempotencyKey>),
}

/// The answer: a status and a JSON body, or a refusal.
pub type Answer = Result<(u16, Value), Rejection>;

pub struct TicketFlow<'a> {
    settings: &'a Settings,
    id: i64,
    ask: Ask,
    actor: String,
    unique: String,
    now: i64,
    state: State,
}

struct Read {
    row: Value,
    ticket: TicketRow,
    rules: Rules,
    /// What the timeline says of the customer on their channel.
    contact: Contact,
}

enum State {
    Start,
    ReadingTicket,
    ReadingRules(Value, TicketRow),
    ReadingContact(Box<Read>),
    Viewing(Box<Read>, ReadFlow),
    Writing(Vec<Statement>, Value),
    Dispatching(Dispatch, Value),
    Rereading,
    Finished,
}

fn unavailable(e: StoreError) -> Rejection {
    Rejection::Unavailable(e.to_string())
}

impl<'a> TicketFlow<'a> {
    /// `unique` names what this request records (timeline lines, deliveries).
    pub fn new(
        settings: &'a Settings,
        id: i64,
        ask: Ask,
        actor: &str,
        unique: &str,
        now: i64,
    ) -> Self {
        TicketFlow {
            settings,
            id,
            ask,
            actor: actor.to_owned(),
            unique: unique.to_owned(),
            now,
            state: State::Start,
        }
    }

    fn read_ticket(&mut self) -> Step<Answer> {
        self.state = State::ReadingTicket;
        Step::Do(Effect::Query(Statement::new(
            TICKET_SQL,
            vec![self.id.into()],
        )))
    }

    /// Everything is read: show it, or plan the change.
    fn act(&mut self, read: Read) -> Step<Answer> {
        let Read {
            row,
            ticket,
            rules,
            contact,
        } = read;
        match &self.ask {
            Ask::View => {
                let by_ticket = |sql| Statement::new(sql, vec![self.id.into()]);
                let parts = vec![
                    Part::list("timeline", by_ticket("SELECT * FROM ticket_timeline WHERE ticket_id = ? ORDER BY id")),
                    Part::list("order", by_ticket("SELECT o.* FROM orders o JOIN tickets t ON t.order_id = o.id WHERE t.id = ?")),
                    Part::list(
                        "complaints",
                        Statement::new(
                            "SELECT * FROM complaints WHERE openid = ?1 \
                             OR (trans_id IS NOT NULL AND trans_id = (SELECT o.trans_id FROM orders o JOIN tickets t ON t.order_id = o.id WHERE t.id = ?2)) \
                             ORDER BY opened_at",
                            vec![ticket.openid().unwrap_or_default().into(), self.id.into()],
                        ),
                    ),
                ];
                let reach = ticket.reach(
                    Outgoing::Text(""),
                    "",
                    &rules,
                    self.settings,
                    &contact,
                    self.now,
                );
                let mut head = json!({ "ticket": row, "reach": describe_reach(&reach) });
                head["last_wechat_message_at"] = json!(contact.last_message_at);
                self.state = State::Viewing(
                    Box::new(Read {
                        row: head,
                        ticket,
                        rules,
                        contact,
                    }),
                    ReadFlow::new(parts),
                );
                self.step(None)
            }
            Ask::Act(action) => {
                match plan_action(
                    &ticket,
                    action,
                    &self.actor,
                    &rules,
                    self.settings,
                    &self.unique,
                    self.now,
                ) {
                    Ok(statements) => self.write(statements, Value::Null),
                    Err(refusal) => Step::Done(Err(refusal)),
                }
            }
            Ask::Reply(reply, key) => {
                // With a key, a repeat racing this one names the same delivery.
                let delivery = match key {
                    Some(key) => format!("reply:key:{}", key.name()),
                    None => format!("reply:{}", self.unique),
                };
                let reached = match ticket.reach(
                    reply.outgoing(),
                    &delivery,
                    &rules,
                    self.settings,
                    &contact,
                    self.now,
                ) {
                    Ok(reached) => reached,
                    Err(unreachable) => {
                        return Step::Done(Err(Rejection::Conflict(format!(
                            "no channel reaches this customer: {}",
                            unreachable.why
                        ))))
                    }
                };
                let mut statements =
                    plan_reply(&ticket, reply, &reached, &self.actor, &delivery, self.now);
                let channel = describe_reach(&Ok(reached));
                let answer = json!({ "delivery": delivery, "channel": channel["channel"], "why": channel["why"], "reason": channel["reason"], "repeated": false });
                if let Some(key) = key {
                    statements.insert(0, key.record(202, &answer, self.now));
                }
                self.write(statements, answer)
            }
        }
    }

    fn write(&mut self, statements: Vec<Statement>, answer: Value) -> Step<Answer> {
        self.state = State::Writing(statements.clone(), answer);
        Step::Do(Effect::Transaction(statements))
    }
}

impl Flow for TicketFlow<'_> {
    type Output = Answer;

    fn step(&mut self, answer: Option<Answered>) -> Step<Answer> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Start => self.read_ticket(),
            State::ReadingTicket => {
                let row = match effect::rows::<Value>(answer) {
                    Err(e) => return Step::Done(Err(unavailable(e))),
                    Ok(rows) => rows.into_iter().next(),
                };
                let Some(row) = row else {
                    return Step::Done(Err(Rejection::NotFound));
                };
                let ticket: TicketRow = match effect::row(row.clone()) {
                    Ok(t) => t,
                    Err(e) => return Step::Done(Err(unavailable(e))),
                };
                self.state = State::ReadingRules(row, ticket);
                Step::Do(Effect::KvGet(kv::RULES.into()))
            }
            State::ReadingRules(row, ticket) => {
                // A missing or invalid document: no ZNS fallback, no rules.
                let rules = effect::value(answer)
                    .and_then(|doc| Rules::parse(&doc).ok())
                    .unwrap_or_default();
                let query = ticket
                    .channel()
                    .map(|(channel, id)| channel.contact_query(id));
                let read = Read {
                    row,
                    ticket,
                    rules,
                    contact: Contact::default(),
                };
                match query {
                    Some(query) => {
                        self.state = State::ReadingContact(Box::new(read));
                        Step::Do(Effect::Query(query))
                    }
                    None => self.act(read),
                }
            }
            State::ReadingContact(mut read) => match effect::rows::<Contact>(answer) {
                Err(e) => Step::Done(Err(unavailable(e))),
                Ok(rows) => {
                    read.contact = rows.first().copied().unwrap_or_default();
                    self.act(*read)
                }
            },
            State::Viewing(read, mut parts) => match parts.step(answer) {
                Step::Do(effect) => {
                    self.state = State::Viewing(read, parts);
                    Step::Do(effect)
                }
                Step::Done(Err(e)) => Step::Done(Err(unavailable(e))),
                Step::Done(Ok(found)) => {
                    let mut view = read.row;
                    let mut found = found.unwrap_or_default();
                    view["timeline"] = found["timeline"].take();
                    view["complaints"] = found["complaints"].take();
                    view["order"] = found["order"].get(0).cloned().unwrap_or(Value::Null);
                    Step::Done(Ok((200, view)))
                }
            },
            State::Writing(statements, answer_body) => match effect::changes(answer) {
                Err(StoreError::Conflict) => Step::Done(Err(Rejection::Conflict(
                    "the ticket changed meanwhile: read it again".into(),
                ))),
                Err(StoreError::Duplicate) => Step::Done(Err(Rejection::Conflict(
                    "the customer has another active ticket on this channel".into(),
                ))),
                Err(e) => Step::Done(Err(unavailable(e))),
                Ok(changes) => {
                    self.state = State::Dispatching(
                        Dispatch::new(follow_ups(&statements, &changes)),
                        answer_body,
                    );
                    self.step(None)
                }
            },
            State::Dispatching(mut dispatch, answer_body) => match dispatch.step(answer) {
                Step::Do(effect) => {
                    self.state = State::Dispatching(dispatch, answer_body);
                    Step::Do(effect)
                }
                // A delivery the queue did not take now is sent by the cron's sweep.
                Step::Done(_) => match self.ask {
                    Ask::Reply(..) => Step::Done(Ok((202, answer_body))),
                    _ => {
                        self.state = State::Rereading;
                        Step::Do(Effect::Query(Statement::new(
                            TICKET_SQL,
                            vec![self.id.into()],
                        )))
                    }
                },
            },
            State::Rereading => match effect::rows::<Value>(answer) {
                Err(e) => Step::Done(Err(unavailable(e))),
                Ok(rows) => Step::Done(Ok((200, json!({ "ticket": rows.into_iter().next() })))),
            },
            State::Finished => Step::Done(Err(Rejection::Unavailable("flow finished".into()))),
        }
    }
}
