//! What kefu-edge knows of a 微信客服 customer's session state (`kf_sessions`): WeCom lets
//! `kf/send_msg` answer only sessions in state 0 or 1, so `reach` refuses a reply to a session
//! known to be elsewhere, and a delivery asks `service_state/get` first when the state is unknown
//! or stale. The statements that keep it; the facts come from the sync (events, a customer's
//! message), `service_state/get`, and the sends' answers.

use crate::platforms::wecom_kf::{self, KfCustomer, KfMessage, ServiceState};
use crate::sql::Statement;
use crate::tickets::recipient_key;

/// A known state is trusted this long. Events keep it current, but not every change comes with
/// one (a session that ends with its 48 hours, a bot's own transfer): older than this, a send
/// asks WeCom again.
pub const FRESH_SECS: i64 = 30 * 60;

/// The customer's row (`?` their recipient key): `service_state`, `known_at`.
pub const STATE_SQL: &str = "SELECT service_state, known_at FROM kf_sessions WHERE recipient = ?";

/// The key of a customer's row: their recipient key on channel `kf`.
pub fn recipient(to: &KfCustomer) -> String {
    recipient_key(wecom_kf::CHANNEL, &to.customer_id())
}

/// The state `known` at `known_at`, if it is fresh at `now`.
pub fn fresh(known: Option<(i64, i64)>, now: i64) -> Option<ServiceState> {
    let (state, known_at) = known?;
    if now - known_at > FRESH_SECS {
        return None;
    }
    ServiceState::try_from(state).ok()
}

/// Records that the customer's session was in `state` at `at`, unless a newer fact is kept.
pub fn remember(
    to: &KfCustomer,
    state: ServiceState,
    servicer_userid: Option<&str>,
    at: i64,
) -> Statement {
    Statement::new(
        "INSERT INTO kf_sessions (recipient, service_state, servicer_userid, known_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (recipient) DO UPDATE SET service_state = excluded.service_state, \
           servicer_userid = excluded.servicer_userid, known_at = excluded.known_at \
         WHERE excluded.known_at >= kf_sessions.known_at",
        vec![
            recipient(to).into(),
            i64::from(state).into(),
            servicer_userid.map(str::to_owned).into(),
            at.into(),
        ],
    )
}

/// Forgets the customer's state (WeCom refused a send for it): the next send asks again.
pub fn forget(to: &KfCustomer) -> Statement {
    Statement::new(
        "DELETE FROM kf_sessions WHERE recipient = ?",
        vec![recipient(to).into()],
    )
}

/// What a pulled message says of its customer's session, as of when it was sent (`at`): a
/// `session_status_change` event sets the state; a customer's message reopens an ended session
/// as new (WeCom: "客户发消息咨询后会话状态变为“未处理”"), and leaves any other state as it was.
pub fn learnt_from(message: &KfMessage, customer: &KfCustomer, at: i64) -> Option<Statement> {
    if let Some(state) = message.session_state_after() {
        let servicer = message
            .content
            .get("event")
            .and_then(|e| e.get("new_servicer_userid"))
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty());
        return Some(remember(customer, state, servicer, at));
    }
    (message.origin == wecom_kf::ORIGIN_CUSTOMER).then(|| {
        Statement::new(
            "UPDATE kf_sessions SET service_state = ?, servicer_userid = NULL, known_at = ? \
             WHERE recipient = ? AND service_state = ? AND known_at <= ?",
            vec![
                i64::from(ServiceState::New).into(),
                at.into(),
                recipient(customer).into(),
                i64::from(ServiceState::Ended).into(),
                at.into(),
            ],
        )
    })
}
