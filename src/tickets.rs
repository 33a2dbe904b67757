//! Conversations as tickets: what an inbound event does to the customer's ticket, planned as
//! one transaction so that storing the event, changing the ticket and raising the alert happen
//! together or not at all.
//!
//! Exactly once: the plan starts by inserting the event under its dedup key. A retry of the same
//! callback fails that insert, the whole transaction rolls back, and the consumer acks it as a
//! duplicate. One active ticket per customer and channel is a partial unique index, so two
//! consumers racing on different messages of one customer append to the same ticket.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::event::{Inbound, QueuedEvent};
use crate::mask::mask;
use crate::platforms::caresoft::normalize_phone;
use crate::platforms::oa::{EventBody, MessageBody};
use crate::platforms::text_line;
use crate::platforms::wecom::neutralize_markdown;
use crate::platforms::zalo::{Kind as ZaloKind, ZaloPush};
use crate::settings::PhoneFormat;
use crate::sql::{Param, Statement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Seconds to the first response and to resolution.
    pub fn sla_secs(self) -> (i64, i64) {
        match self {
            Priority::Normal => (3600, 24 * 3600),
            Priority::High => (900, 4 * 3600),
            Priority::Urgent => (300, 3600),
        }
    }
}

/// What an inbound event means for tickets, independent of the platform it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketEffect {
    /// Stored as an event only (subscribe, menu clicks, …).
    None,
    /// The customer wrote: append to the active ticket, reopening a resolved one, or open one.
    CustomerMessage {
        channel: &'static str,
        customer_id: String,
        text: String,
        order_id: Option<String>,
        category: &'static str,
        priority: Priority,
    },
    /// A line on the customer's active ticket, if they have one (a Zalo follow or unfollow).
    Note {
        channel: &'static str,
        customer_id: String,
        text: String,
    },
    /// Zalo reports our messages (by its message ids) reached the customer, or were seen.
    Receipt {
        message_ids: Vec<String>,
        seen: bool,
    },
    /// An agent took, handed over or closed the customer's session.
    AgentSession {
        channel: &'static str,
        customer_id: String,
        action: SessionAction,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAction {
    Created {
        kf_account: Option<String>,
    },
    Switched {
        from: Option<String>,
        to: Option<String>,
    },
    Closed {
        kf_account: Option<String>,
    },
}

pub fn effect_of(inbound: &Inbound) -> TicketEffect {
    match inbound {
        Inbound::OaMessage(m) => TicketEffect::CustomerMessage {
            channel: "oa",
            customer_id: m.envelope.openid.to_string(),
            text: oa_timeline_text(&m.body),
            order_id: None,
            category: "general",
            priority: Priority::Normal,
        },
        Inbound::OaEvent(e) => {
            let action = match &e.event {
                EventBody::KfCreateSession { kf_account } => SessionAction::Created {
                    kf_account: owned(kf_account),
                },
                EventBody::KfSwitchSession {
                    from_kf_account,
                    to_kf_account,
                } => SessionAction::Switched {
                    from: owned(from_kf_account),
                    to: owned(to_kf_account),
                },
                EventBody::KfCloseSession { kf_account } => SessionAction::Closed {
                    kf_account: owned(kf_account),
                },
                _ => return TicketEffect::None,
            };
            TicketEffect::AgentSession {
                channel: "oa",
                customer_id: e.envelope.openid.to_string(),
                action,
            }
        }
        Inbound::ShopMessage(m) => TicketEffect::CustomerMessage {
            channel: "shop",
            customer_id: m.openid.clone(),
            text: m.timeline_text(),
            order_id: m.order_id().map(str::to_owned),
            category: "general",
            priority: Priority::Normal,
        },
        Inbound::ShopEvent { .. } => TicketEffect::None,
        // Complaints and card-shop orders have their own planners (crate::complaints,
        // crate::orders), which file them on tickets.
        Inbound::PayFeedback(_) | Inbound::Order(_) => TicketEffect::None,
        Inbound::ZaloMessage(z) => TicketEffect::CustomerMessage {
            channel: ZALO,
            customer_id: z.user_id.clone(),
            text: z.timeline_text(),
            order_id: None,
            category: "general",
            priority: Priority::Normal,
        },
        Inbound::ZaloEvent(z) => match z.kind {
            ZaloKind::Follow | ZaloKind::Unfollow => TicketEffect::Note {
                channel: ZALO,
                customer_id: z.user_id.clone(),
                text: z.timeline_text(),
            },
            ZaloKind::Received | ZaloKind::Seen => TicketEffect::Receipt {
                message_ids: z.msg_ids.clone(),
                seen: z.kind == ZaloKind::Seen,
            },
            ZaloKind::Message | ZaloKind::SubmitInfo | ZaloKind::Other => TicketEffect::None,
        },
    }
}

/// The channel name of Zalo OA tickets.
pub const ZALO: &str = "zalo";

/// An event's optional text, for a ticket that outlives the event.
fn owned(text: &Option<Cow<str>>) -> Option<String> {
    text.as_deref().map(str::to_owned)
}

fn oa_timeline_text(body: &MessageBody) -> String {
    let or_empty = |v: &Option<Cow<str>>| v.as_deref().unwrap_or_default().to_owned();
    match body {
        MessageBody::Text { content } => text_line(content),
        MessageBody::Image { pic_url, .. } => format!("[image] {}", or_empty(pic_url)),
        MessageBody::Voice {
            recognition: Some(text),
            ..
        } => format!("[voice] {text}"),
        MessageBody::Voice { .. } => "[voice]".into(),
        MessageBody::Video { .. } | MessageBody::ShortVideo { .. } => {
            format!("[{}]", body.type_name())
        }
        MessageBody::Location { label, .. } => format!("[location] {}", or_empty(label)),
        MessageBody::Link { title, url, .. } => {
            format!("[link] {} {}", or_empty(title), or_empty(url))
        }
        MessageBody::File { title, .. } => format!("[file] {}", or_empty(title)),
        MessageBody::MiniProgramPage { title, .. } => format!("[mini program] {}", or_empty(title)),
        MessageBody::Other { raw_msg_type } => format!("[{raw_msg_type}]"),
    }
}

/// The transaction that stores one inbound event and applies its effect.
pub fn plan(event: &QueuedEvent, now: i64) -> Vec<Statement> {
    let key = event.dedup_key.as_str();
    let mut statements = vec![store_event(event, now)];
    statements.extend(interaction(&event.inbound, now));
    if let Inbound::ZaloMessage(push) = &event.inbound {
        statements.extend(zalo_shared_info(push, now));
    }
    match effect_of(&event.inbound) {
        TicketEffect::None => {}
        TicketEffect::Note {
            channel,
            customer_id,
            text,
        } => {
            let who = Customer {
                channel,
                customer_id: &customer_id,
            };
            statements.push(who.timeline(TimelineEntry {
                event_key: key,
                at: now,
                kind: "status",
                actor: &customer_id,
                text: &text,
            }));
        }
        TicketEffect::Receipt { message_ids, seen } => {
            for message_id in message_ids {
                statements.extend(zalo_receipt(&message_id, seen, key, now));
            }
        }
        TicketEffect::CustomerMessage {
            channel,
            customer_id,
            text,
            order_id,
            category,
            priority,
        } => {
            let who = Customer {
                channel,
                customer_id: &customer_id,
            };
            statements.extend(who.ensure_active_ticket(key, category, priority, now, None));
            if let Some(order_id) = order_id {
                statements.push(Statement::new(
                    "UPDATE tickets SET order_id = COALESCE(order_id, ?), updated_at = ? \
                     WHERE channel = ? AND customer_id = ? AND status != 'closed'",
                    who.params(vec![order_id.into(), now.into()]),
                ));
            }
            statements.push(who.timeline(TimelineEntry {
                event_key: key,
                at: now,
                kind: "inbound",
                actor: &customer_id,
                text: &text,
            }));
            if channel == ZALO {
                statements.extend(zalo_customer_details(&who, now));
            }
            let alert = format!(
                "New {channel} ticket from {}: {}",
                mask(&customer_id),
                snippet(&text)
            );
            // Found by the active-ticket index: the ticket this event opened is the active one.
            statements.push(Statement::alert(
                "INSERT INTO alerts (dedup_key, ticket_id, text, created_at) SELECT ?, id, ?, ? FROM tickets \
                 WHERE opened_by = ? AND channel = ? AND customer_id = ? AND status != 'closed'",
                who.params(vec![format!("ticket:{key}").into(), alert.into(), now.into(), key.into()]),
            ));
        }
        TicketEffect::AgentSession {
            channel,
            customer_id,
            action,
        } => {
            let who = Customer {
                channel,
                customer_id: &customer_id,
            };
            let (sql, params, actor, text): (&'static str, Vec<Param>, Option<String>, String) = match action {
                SessionAction::Created { kf_account } => (
                    "UPDATE tickets SET assignee = COALESCE(?, assignee), first_response_at = COALESCE(first_response_at, ?), updated_at = ? \
                     WHERE channel = ? AND customer_id = ? AND status != 'closed'",
                    vec![kf_account.clone().into(), now.into(), now.into()],
                    kf_account.clone(),
                    format!("session taken by {}", kf_account.as_deref().unwrap_or("an agent")),
                ),
                SessionAction::Switched { from, to } => (
                    "UPDATE tickets SET assignee = COALESCE(?, assignee), updated_at = ? \
                     WHERE channel = ? AND customer_id = ? AND status != 'closed'",
                    vec![to.clone().into(), now.into()],
                    from.clone(),
                    format!("session moved from {} to {}", from.as_deref().unwrap_or("?"), to.as_deref().unwrap_or("?")),
                ),
                SessionAction::Closed { kf_account } => (
                    "UPDATE tickets SET status = 'resolved', resolved_at = ?, updated_at = ? \
                     WHERE channel = ? AND customer_id = ? AND status IN ('open', 'pending')",
                    vec![now.into(), now.into()],
                    kf_account.clone(),
                    format!("session closed by {}", kf_account.as_deref().unwrap_or("an agent")),
                ),
            };
            // The timeline entry goes first: the close must still find the ticket by status.
            statements.push(who.timeline(TimelineEntry {
                event_key: key,
                at: now,
                kind: "agent",
                actor: actor.as_deref().unwrap_or("agent"),
                text: &text,
            }));
            statements.push(Statement::new(sql, who.params(params)));
        }
    }
    statements
}

/// What a Zalo user shared (`user_submit_info`), kept beyond their tickets: the phone in the
/// local form ZNS and card-shop orders are matched by.
fn zalo_shared_info(push: &ZaloPush, now: i64) -> Option<Statement> {
    if push.kind != ZaloKind::SubmitInfo || (push.phone.is_none() && push.name.is_none()) {
        return None;
    }
    let phone = push.phone.as_deref().map(|raw| {
        normalize_phone(raw, PhoneFormat::Local).unwrap_or_else(|_| raw.trim().to_owned())
    });
    Some(Statement::new(
        "INSERT INTO zalo_users (user_id, phone, name, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (user_id) DO UPDATE SET phone = COALESCE(excluded.phone, phone), \
           name = COALESCE(excluded.name, name), updated_at = excluded.updated_at",
        vec![
            push.user_id.as_str().into(),
            phone.into(),
            push.name.clone().into(),
            now.into(),
        ],
    ))
}

/// The Zalo customer's known phone and name on their active ticket, and the card-shop order
/// that phone placed last (one customer across channels).
fn zalo_customer_details(who: &Customer, now: i64) -> [Statement; 2] {
    [
        Statement::new(
            "UPDATE tickets SET \
               customer_phone = COALESCE(customer_phone, (SELECT phone FROM zalo_users WHERE user_id = ?1)), \
               customer_name = COALESCE(customer_name, (SELECT name FROM zalo_users WHERE user_id = ?1)) \
             WHERE channel = ?2 AND customer_id = ?1 AND status != 'closed'",
            vec![who.customer_id.into(), who.channel.into()],
        ),
        // The phone is kept in the local form (0 + 9 digits); a card shop may have sent it
        // in either international form.
        Statement::new(
            "UPDATE tickets SET order_id = (SELECT o.id FROM orders o WHERE o.customer_phone IN \
                 (tickets.customer_phone, '84' || SUBSTR(tickets.customer_phone, 2), '+84' || SUBSTR(tickets.customer_phone, 2)) \
                 ORDER BY o.updated_at DESC LIMIT 1), updated_at = ? \
             WHERE channel = ? AND customer_id = ? AND status != 'closed' AND order_id IS NULL AND customer_phone LIKE '0%'",
            vec![now.into(), who.channel.into(), who.customer_id.into()],
        ),
    ]
}

/// A Zalo receipt: the send it is about is marked, and its ticket says so once.
fn zalo_receipt(message_id: &str, seen: bool, key: &str, now: i64) -> [Statement; 2] {
    let (mark, text) = if seen {
        (
            "UPDATE zalo_sent SET seen_at = COALESCE(seen_at, ?1), delivered_at = COALESCE(delivered_at, ?1) WHERE message_id = ?2",
            "seen by the customer",
        )
    } else {
        (
            "UPDATE zalo_sent SET delivered_at = COALESCE(delivered_at, ?1) WHERE message_id = ?2",
            "delivered to the customer",
        )
    };
    [
        Statement::new(mark, vec![now.into(), message_id.into()]),
        Statement::new(
            "INSERT OR IGNORE INTO ticket_timeline (ticket_id, at, kind, actor, body, event_key) \
             SELECT ticket_id, ?, 'outbound', 'zalo', ?, ? FROM zalo_sent \
             WHERE message_id = ? AND ticket_id IS NOT NULL",
            vec![
                now.into(),
                text.into(),
                format!("{key}:{message_id}").into(),
                message_id.into(),
            ],
        ),
    ]
}

/// A menu click, follow or QR scan on the Official Account opens a short window for
/// customer-service messages (`reach::Channel::grants`): when it happened is kept.
fn interaction(inbound: &Inbound, now: i64) -> Option<Statement> {
    let Inbound::OaEvent(e) = inbound else {
        return None;
    };
    match e.event {
        EventBody::Subscribe { .. } | EventBody::Scan { .. } | EventBody::Click { .. } => {
            Some(Statement::new(
                "INSERT INTO channel_interactions (recipient, at) VALUES (?, ?) \
                 ON CONFLICT (recipient) DO UPDATE SET at = MAX(at, excluded.at)",
                vec![recipient_key("oa", &e.envelope.openid).into(), now.into()],
            ))
        }
        _ => None,
    }
}

/// The first statement of every inbound transaction: it fails on a duplicate, rolling back
/// the rest.
pub fn store_event(event: &QueuedEvent, now: i64) -> Statement {
    let payload = serde_json::to_string(&event.inbound).expect("events are plain data");
    Statement::new(
        "INSERT INTO events (dedup_key, kind, payload, received_at, stored_at, order_id) VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            event.dedup_key.as_str().into(),
            event.inbound.kind().into(),
            payload.into(),
            event.received_at.into(),
            now.into(),
            event.inbound.order_id().into(),
        ],
    )
}

/// The key of a customer on a channel (`deliveries.recipient`, `channel_interactions`): the
/// ticket channel and the customer's id there.
pub fn recipient_key(channel: &str, id: &str) -> String {
    format!("{channel}:{id}")
}

/// A customer on a channel: the key of their one active (not closed) ticket.
pub struct Customer<'a> {
    pub channel: &'static str,
    pub customer_id: &'a str,
}

impl Customer<'_> {
    /// `leading` followed by the (channel, customer_id) parameters of the active-ticket filter.
    pub fn params(&self, leading: Vec<Param>) -> Vec<Param> {
        [leading, vec![self.channel.into(), self.customer_id.into()]].concat()
    }

    /// Opens a ticket unless one is active (the partial unique index makes this race-free),
    /// and reopens a resolved one. `resolution_due` overrides the priority's SLA (a legal
    /// deadline, say).
    pub fn ensure_active_ticket(
        &self,
        key: &str,
        category: &str,
        priority: Priority,
        now: i64,
        resolution_due: Option<i64>,
    ) -> [Statement; 2] {
        let (first_response, resolution) = priority.sla_secs();
        let resolution_due = resolution_due.unwrap_or(now + resolution);
        [
            // Tried only when none is active: an insert the index refuses still writes a row.
            Statement::new(
                "INSERT OR IGNORE INTO tickets (channel, customer_id, category, status, priority, opened_by, created_at, updated_at, first_response_due, resolution_due) \
                 SELECT ?, ?, ?, 'open', ?, ?, ?, ?, ?, ? \
                 WHERE NOT EXISTS (SELECT 1 FROM tickets WHERE channel = ? AND customer_id = ? AND status != 'closed')",
                self.params(vec![
                    self.channel.into(),
                    self.customer_id.into(),
                    category.into(),
                    priority.as_str().into(),
                    key.into(),
                    now.into(),
                    now.into(),
                    (now + first_response).into(),
                    resolution_due.into(),
                ]),
            ),
            Statement::new(
                "UPDATE tickets SET status = 'open', resolved_at = NULL, updated_at = ?, resolution_due = ? \
                 WHERE channel = ? AND customer_id = ? AND status = 'resolved'",
                self.params(vec![now.into(), resolution_due.into()]),
            ),
        ]
    }

    /// Files a complaint on the customer's active ticket (opening one if needed): category
    /// `complaint`, at least `priority`, due no later than `resolution_due`.
    pub fn file_complaint(
        &self,
        key: &str,
        priority: Priority,
        now: i64,
        resolution_due: i64,
    ) -> Vec<Statement> {
        let mut statements = self
            .ensure_active_ticket(key, "complaint", priority, now, Some(resolution_due))
            .to_vec();
        statements.push(self.escalate("complaint", priority, now, resolution_due));
        statements
    }

    /// Raises the active ticket's priority (never lowers it) and brings its due time forward.
    fn escalate(
        &self,
        category: &str,
        priority: Priority,
        now: i64,
        resolution_due: i64,
    ) -> Statement {
        Statement::new(
            "UPDATE tickets SET category = ?, \
               priority = CASE WHEN ? = 'urgent' OR priority = 'urgent' THEN 'urgent' WHEN ? = 'high' OR priority = 'high' THEN 'high' ELSE 'normal' END, \
               resolution_due = MIN(resolution_due, ?), updated_at = ? \
             WHERE channel = ? AND customer_id = ? AND status != 'closed'",
            self.params(vec![category.into(), priority.as_str().into(), priority.as_str().into(), resolution_due.into(), now.into()]),
        )
    }

    /// Appends to the active ticket's timeline.
    pub fn timeline(&self, entry: TimelineEntry) -> Statement {
        Statement::new(
            "INSERT INTO ticket_timeline (ticket_id, at, kind, actor, body, event_key) \
             SELECT id, ?, ?, ?, ?, ? FROM tickets WHERE channel = ? AND customer_id = ? AND status != 'closed'",
            entry.params(vec![self.channel.into(), self.customer_id.into()]),
        )
    }
}

/// One line of a ticket's timeline; `event_key` (unique) keeps it from being written twice.
pub struct TimelineEntry<'a> {
    pub event_key: &'a str,
    pub at: i64,
    pub kind: &'a str,
    pub actor: &'a str,
    pub text: &'a str,
}

impl TimelineEntry<'_> {
    /// The entry's columns, then the parameters of the filter that finds its ticket.
    fn params(&self, filter: Vec<Param>) -> Vec<Param> {
        let columns = vec![
            self.at.into(),
            self.kind.into(),
            self.actor.into(),
            self.text.into(),
            self.event_key.into(),
        ];
        [columns, filter].concat()
    }
}

/// Appends to a known ticket's timeline (an outbound message's fate), at most once.
pub fn timeline_by_id(ticket_id: i64, entry: TimelineEntry) -> Statement {
    Statement::new(
        "INSERT OR IGNORE INTO ticket_timeline (ticket_id, at, kind, actor, body, event_key) \
         SELECT id, ?, ?, ?, ?, ? FROM tickets WHERE id = ?",
        entry.params(vec![ticket_id.into()]),
    )
}

/// The first 200 characters of a customer's (or a platform's) text, on one line, with nothing
/// in it that WeCom markdown would act on: for staff alerts.
pub fn snippet(text: &str) -> String {
    let one_line: String = neutralize_markdown(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::oa::{Envelope, OaEvent, OaMessage};

    fn envelope() -> Envelope<'static> {
        Envelope {
            account: "gh_1".into(),
            openid: "oCustomer12345".into(),
            create_time: 100,
        }
    }

    fn message(body: MessageBody<'static>) -> QueuedEvent {
        QueuedEvent {
            dedup_key: "oa:msg:1".into(),
            received_at: 100,
            inbound: Inbound::OaMessage(OaMessage {
                envelope: envelope(),
                msg_id: Some("1".into()),
                body,
            }),
        }
    }

    fn session(event: EventBody<'static>) -> QueuedEvent {
        QueuedEvent {
            dedup_key: "oa:event:x".into(),
            received_at: 100,
            inbound: Inbound::OaEvent(OaEvent {
                envelope: envelope(),
                event,
            }),
        }
    }

    /// One event of each effect: a message, every agent session event, and a plain event.
    fn one_of_each() -> Vec<QueuedEvent> {
        vec![
            message(MessageBody::Text {
                content: "hi".into(),
            }),
            session(EventBody::KfCreateSession { kf_account: None }),
            session(EventBody::KfSwitchSession {
                from_kf_account: None,
                to_kf_account: None,
            }),
            session(EventBody::KfCloseSession { kf_account: None }),
            session(EventBody::Subscribe {
                event_key: None,
                ticket: None,
            }),
        ]
    }

    #[test]
    fn timeline_texts_describe_each_message_type() {
        assert_eq!(
            oa_timeline_text(&MessageBody::Voice {
                media_id: None,
                format: None,
                recognition: Some("你好".into())
            }),
            "[voice] 你好"
        );
        assert_eq!(
            oa_timeline_text(&MessageBody::Image {
                pic_url: Some("http://p".into()),
                media_id: None
            }),
            "[image] http://p"
        );
        assert_eq!(
            oa_timeline_text(&MessageBody::ShortVideo {
                media_id: None,
                thumb_media_id: None
            }),
            "[shortvideo]"
        );
    }

    #[test]
    fn snippets_are_one_line_and_bounded() {
        assert_eq!(snippet("a\nb"), "a b");
        let long = "字".repeat(300);
        assert_eq!(snippet(&long).chars().count(), 201);
    }

    #[test]
    fn clicks_follows_and_scans_are_kept_as_interactions() {
        let kept = |event| {
            plan(&session(event), 5).iter().any(|s| {
                s.sql.contains("channel_interactions")
                    && s.params == vec!["oa:oCustomer12345".into(), 5i64.into()]
            })
        };
        assert!(kept(EventBody::Click { event_key: None }));
        assert!(kept(EventBody::Subscribe {
            event_key: None,
            ticket: None
        }));
        assert!(kept(EventBody::Scan {
            event_key: None,
            ticket: None
        }));
        assert!(!kept(EventBody::View { event_key: None }));
        assert!(!kept(EventBody::KfCloseSession { kf_account: None }));
    }

    #[test]
    fn statements_have_as_many_params_as_placeholders() {
        for event in one_of_each() {
            for s in plan(&event, 1) {
                assert_eq!(s.sql.matches('?').count(), s.params.len(), "{}", s.sql);
            }
        }
    }
}
