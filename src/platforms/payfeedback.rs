//! WeChat Pay user complaints (维权, seed 002): the notification, its signature, the resolution
//! deadlines and the complaint lifecycle.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::inline::{body_text, Accepted, Rejection, Reply};
use crate::settings::{required, Settings};
use crate::wechat::callback::check_timestamp;
use crate::wechat::crypto::{constant_time_eq_ignore_ascii_case, hex};
use crate::xml;

const DAY: i64 = 24 * 60 * 60;

/// What the user did: opened a complaint, accepted the merchant's handling, or refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgType {
    Request,
    Confirm,
    Reject,
}

impl MsgType {
    pub fn as_str(self) -> &'static str {
        match self {
            MsgType::Request => "request",
            MsgType::Confirm => "confirm",
            MsgType::Reject => "reject",
        }
    }
}

/// One notification POSTed to the payfeedback URL. Values are kept as sent: the signature is
/// computed over the exact text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub openid: String,
    pub appid: String,
    pub timestamp: String,
    pub msg_type: MsgType,
    pub feedback_id: String,
    pub trans_id: Option<String>,
    pub reason: Option<String>,
    pub solution: Option<String>,
    /// Free-text remarks, usually with the user's phone number: personal data.
    pub ext_info: Option<String>,
    pub app_signature: String,
    pub sign_method: Option<String>,
    pub pic_urls: Vec<String>,
}

impl Notification {
    pub fn parse(text: &str) -> Result<Notification, Rejection> {
        let doc = xml::parse(text)?;
        let opt = |name: &str| doc.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        let required =
            |name: &str| opt(name).ok_or_else(|| Rejection::Malformed(format!("missing {name}")));
        let timestamp = required("TimeStamp")?;
        if timestamp.len() > 32 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::Malformed(
                "TimeStamp is not a number of seconds".into(),
            ));
        }
        let msg_type = match required("MsgType")?.as_str() {
            "request" => MsgType::Request,
            "confirm" => MsgType::Confirm,
            "reject" => MsgType::Reject,
            other => return Err(Rejection::Malformed(format!("unknown MsgType {other:?}"))),
        };
        Ok(Notification {
            openid: required("OpenId")?,
            appid: required("AppId")?,
            timestamp,
            msg_type,
            feedback_id: required("FeedBackId")?,
            trans_id: opt("TransId"),
            reason: opt("Reason"),
            solution: opt("Solution"),
            ext_info: opt("ExtInfo"),
            app_signature: required("AppSignature")?,
            sign_method: opt("SignMethod"),
            pic_urls: doc
                .all("PicInfo/item/PicUrl")
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Checks AppSignature. The seed signs "as WeChat Pay does" over appid, appkey, openid and
    /// timestamp only: lower-case keys in ascending order, raw (not URL-encoded) values joined
    /// as `k=v&…`, hex SHA-1. The other fields are not covered by the signature.
    pub fn verify(&self, pay_sign_key: &str) -> Result<(), Rejection> {
        if pay_sign_key.is_empty() {
            // An empty key would let anyone forge notifications.
            return Err(Rejection::MissingSetting("PAY_SIGN_KEY".into()));
        }
        if let Some(method) = &self.sign_method {
            if !method.eq_ignore_ascii_case("sha1") {
                return Err(Rejection::Malformed(format!(
                    "unsupported SignMethod {method:?}"
                )));
            }
        }
        let expected = app_signature(&self.appid, pay_sign_key, &self.openid, &self.timestamp);
        if constant_time_eq_ignore_ascii_case(&self.app_signature, &expected) {
            Ok(())
        } else {
            Err(Rejection::BadSignature("bad AppSignature"))
        }
    }

    /// WeChat may deliver one notification more than once; a later notification of the same
    /// kind carries a new TimeStamp.
    pub fn dedup_key(&self) -> String {
        [
            "payfeedback",
            &self.feedback_id,
            self.msg_type.as_str(),
            &self.timestamp,
        ]
        .join(":")
    }
}

/// `POST /wechat/payfeedback`: parse, check AppSignature, the AppID (when `WECHAT_APPID` is set)
/// and the timestamp window, and build the event to enqueue. The reply is `success`.
pub fn handle_post<'b>(
    body: &'b [u8],
    settings: &Settings,
    now: i64,
) -> Result<Accepted<'b, Notification>, Rejection> {
    let key = required(&settings.pay_sign_key, "PAY_SIGN_KEY")?;
    let text = body_text(body)?;
    let notification = Notification::parse(text)?;
    notification.verify(key)?;
    if let Some(appid) = &settings.wechat_appid {
        if !constant_time_eq_ignore_ascii_case(&notification.appid, appid) {
            return Err(Rejection::ForeignAppId);
        }
    }
    // The signature does not cover the body's other fields: the window bounds their replay.
    check_timestamp(
        &notification.timestamp,
        now,
        settings.callback_max_skew_secs,
    )?;
    Ok(Accepted {
        push: notification,
        text: Cow::Borrowed(text),
        reply: Reply::success(),
    })
}

impl Notification {
    /// When the user complained: the notification's TimeStamp, never later than `now`.
    pub fn complained_at(&self, now: i64) -> i64 {
        self.timestamp.parse::<i64>().map_or(now, |t| t.min(now))
    }
}

/// AppSignature: hex SHA-1 of `appid=…&appkey=…&openid=…&timestamp=…` (raw values).
pub fn app_signature(appid: &str, appkey: &str, openid: &str, timestamp: &str) -> String {
    let string1 = format!("appid={appid}&appkey={appkey}&openid={openid}&timestamp={timestamp}");
    hex(&Sha1::digest(string1.as_bytes()))
}

/// What was sold, as the seed's deadlines distinguish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodsKind {
    /// Virtual goods and services: they share the seed's deadlines.
    #[serde(alias = "service")]
    Virtual,
    Physical,
}

/// How long the merchant has to resolve a complaint (seed 002, 1.1 (3)).
///
/// Whatever is unknown is assumed to be whichever possibility gives the shortest deadline still
/// consistent with what is known: answering early costs nothing, answering late means
/// arbitration. So unknown kind → virtual, unknown delivery → not delivered (physical with
/// unknown delivery → 2 days; delivered of unknown kind → 3 days).
pub fn resolution_deadline_secs(kind: Option<GoodsKind>, delivered: Option<bool>) -> i64 {
    let kinds: &[GoodsKind] = match &kind {
        Some(k) => std::slice::from_ref(k),
        None => &[GoodsKind::Virtual, GoodsKind::Physical],
    };
    let deliveries: &[bool] = match &delivered {
        Some(d) => std::slice::from_ref(d),
        None => &[false, true],
    };
    kinds
        .iter()
        .flat_map(|&k| deliveries.iter().map(move |&d| rule_days(k, d) * DAY))
        .min()
        .expect("both candidate lists are non-empty")
}

fn rule_days(kind: GoodsKind, delivered: bool) -> i64 {
    match (kind, delivered) {
        (GoodsKind::Virtual, false) => 1,
        (GoodsKind::Physical, false) => 2,
        (GoodsKind::Virtual, true) => 3,
        (GoodsKind::Physical, true) => 15,
    }
}

/// The moment (unix seconds) a complaint opened at `opened_at` must be resolved by.
pub fn deadline(opened_at: i64, kind: Option<GoodsKind>, delivered: Option<bool>) -> i64 {
    opened_at.saturating_add(resolution_deadline_secs(kind, delivered))
}

/// When to warn staff: a quarter of the time to the deadline is left.
pub fn warning_due(opened_at: i64, deadline: i64) -> i64 {
    if deadline <= opened_at {
        return deadline;
    }
    deadline - (deadline - opened_at) / 4
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintStatus {
    /// The user complained; nobody has handled it yet.
    Open,
    /// Staff resolved it and told WeChat (`payfeedback/update`); the user has not answered.
    Processed,
    /// The user confirmed the resolution.
    Closed,
    /// The user refused the resolution and may ask WeChat to arbitrate.
    Reopened,
}

/// The result of applying one notification to a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub status: ComplaintStatus,
    /// First notification seen for this complaint: create it and start its deadline.
    pub opened: bool,
    /// The complaint has just been closed.
    pub closed: bool,
    /// The complaint has just been reopened: alert staff at once, arbitration is near.
    pub escalate: bool,
}

/// Applies a notification to a complaint's current status (`None`: never seen).
///
/// A `request` never changes a known complaint: a repeat (or a late retry arriving after a
/// `confirm`) is not a new complaint. A `reject` reopens from any state, even closed, because an
/// ignored refusal ends in arbitration while a spurious alert costs little. Notifications that
/// change nothing raise no flags, so duplicates never alert twice.
pub fn transition(current: Option<ComplaintStatus>, msg: MsgType) -> Transition {
    let status = match (current, msg) {
        (None, MsgType::Request) => ComplaintStatus::Open,
        (Some(known), MsgType::Request) => known,
        (_, MsgType::Confirm) => ComplaintStatus::Closed,
        (_, MsgType::Reject) => ComplaintStatus::Reopened,
    };
    let changed = current != Some(status);
    Transition {
        status,
        opened: current.is_none(),
        closed: changed && status == ComplaintStatus::Closed,
        escalate: changed && status == ComplaintStatus::Reopened,
    }
}

/// Staff marked the complaint handled. A closed complaint cannot be resolved again: the user
/// already accepted it, and a new update would only confuse them.
pub fn resolve(current: ComplaintStatus) -> Result<ComplaintStatus, &'static str> {
    match current {
        ComplaintStatus::Closed => Err("the complaint is already closed"),
        ComplaintStatus::Open | ComplaintStatus::Processed | ComplaintStatus::Reopened => {
            Ok(ComplaintStatus::Processed)
        }
    }
}

/// The `payfeedback/update` call (seed 002, 3.3) that marks a complaint handled; it has no body
/// and answers `{"errcode":0,"errmsg":"ok"}`.
pub fn payfeedback_update_url(
    api_base: &str,
    access_token: &str,
    openid: &str,
    feedback_id: &str,
) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("access_token", access_token)
        .append_pair("openid", openid)
        .append_pair("feedbackid", feedback_id)
        .finish();
    format!(
        "{}/payfeedback/update?{query}",
        api_base.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-pay-sign-key";
    /// sha1("appid=wx0123456789abcdef&appkey=test-pay-sign-key&openid=oX99MDgNcgwnz3zFN3DNmo8uwa-w&timestamp=1369743511"),
    /// computed with Python's hashlib.
    const SIGNATURE: &str = "8103b2e5a7b3ed0feb23c9b0dcd4486e15a370c0";

    fn body(msg_type: &str, signature: &str, extra: &str) -> String {
        format!(
            "<xml><OpenId><![CDATA[oX99MDgNcgwnz3zFN3DNmo8uwa-w]]></OpenId>\
             <AppId><![CDATA[wx0123456789abcdef]]></AppId><TimeStamp>1369743511</TimeStamp>\
             <MsgType><![CDATA[{msg_type}]]></MsgType><FeedBackId><![CDATA[5883726847655944563]]></FeedBackId>\
             <AppSignature><![CDATA[{signature}]]></AppSignature>{extra}</xml>"
        )
    }

    fn notification(msg_type: &str, signature: &str, extra: &str) -> Notification {
        Notification::parse(&body(msg_type, signature, extra)).unwrap()
    }

    #[test]
    fn parses_a_full_request() {
        let n = notification(
            "request",
            SIGNATURE,
            "<TransId><![CDATA[1900000109201307020305773741]]></TransId>\
             <Reason><![CDATA[商品质量有问题]]></Reason><Solution><![CDATA[补发货给我]]></Solution>\
             <ExtInfo><![CDATA[明天六点前联系我 18610847266]]></ExtInfo><SignMethod><![CDATA[sha1]]></SignMethod>\
             <PicInfo><item><PicUrl><![CDATA[http://mmbiz.qpic.cn/a.jpg]]></PicUrl></item>\
             <item><PicUrl><![CDATA[http://mmbiz.qpic.cn/b.jpg]]></PicUrl></item><item><PicUrl></PicUrl></item></PicInfo>",
        );
        assert_eq!(
            n,
            Notification {
                openid: "oX99MDgNcgwnz3zFN3DNmo8uwa-w".into(),
                appid: "wx0123456789abcdef".into(),
                timestamp: "1369743511".into(),
                msg_type: MsgType::Request,
                feedback_id: "5883726847655944563".into(),
                trans_id: Some("1900000109201307020305773741".into()),
                reason: Some("商品质量有问题".into()),
                solution: Some("补发货给我".into()),
                ext_info: Some("明天六点前联系我 18610847266".into()),
                app_signature: SIGNATURE.into(),
                sign_method: Some("sha1".into()),
                pic_urls: vec![
                    "http://mmbiz.qpic.cn/a.jpg".into(),
                    "http://mmbiz.qpic.cn/b.jpg".into()
                ],
            }
        );
        assert_eq!(
            n.dedup_key(),
            "payfeedback:5883726847655944563:request:1369743511"
        );
        let stored = serde_json::to_value(&n).unwrap();
        assert_eq!(stored["feedback_id"], "5883726847655944563");
        assert_eq!(stored["msg_type"], "request");
    }

    #[test]
    fn parses_every_msg_type_with_only_required_fields() {
        for (raw, want) in [
            ("request", MsgType::Request),
            ("confirm", MsgType::Confirm),
            ("reject", MsgType::Reject),
        ] {
            let n = notification(raw, SIGNATURE, "");
            assert_eq!(n.msg_type, want);
            assert_eq!(n.trans_id, None);
            assert!(n.pic_urls.is_empty());
            assert_eq!(
                n.dedup_key(),
                format!("payfeedback:5883726847655944563:{raw}:1369743511")
            );
        }
    }

    #[test]
    fn signature_known_answer() {
        assert_eq!(
            app_signature(
                "wx0123456789abcdef",
                KEY,
                "oX99MDgNcgwnz3zFN3DNmo8uwa-w",
                "1369743511"
            ),
            SIGNATURE
        );
        assert_eq!(notification("request", SIGNATURE, "").verify(KEY), Ok(()));
    }

    #[test]
    fn uppercase_signature_and_sign_method_are_accepted() {
        let upper = SIGNATURE.to_ascii_uppercase();
        let n = notification(
            "confirm",
            &upper,
            "<SignMethod><![CDATA[SHA1]]></SignMethod>",
        );
        assert_eq!(n.verify(KEY), Ok(()));
    }

    #[test]
    fn wrong_key_or_tampered_fields_are_forbidden() {
        let n = notification("request", SIGNATURE, "");
        assert_eq!(n.verify("other-key").unwrap_err().status(), 403);
        let mut tampered = n.clone();
        tampered.openid = "o_someone_else".into();
        assert_eq!(tampered.verify(KEY).unwrap_err().status(), 403);
        let mut tampered = n.clone();
        tampered.timestamp = "1369743512".into();
        assert_eq!(tampered.verify(KEY).unwrap_err().status(), 403);
        let mut truncated = n;
        truncated.app_signature.pop();
        assert_eq!(truncated.verify(KEY).unwrap_err().status(), 403);
    }

    #[test]
    fn other_sign_method_or_empty_key_is_refused() {
        let n = notification("request", SIGNATURE, "<SignMethod>md5</SignMethod>");
        assert_eq!(n.verify(KEY).unwrap_err().status(), 400);
        let n = notification("request", SIGNATURE, "");
        assert_eq!(n.verify("").unwrap_err().status(), 500);
    }

    #[test]
    fn refuses_bad_input() {
        let reject = |input: &[u8]| body_text(input).and_then(Notification::parse).unwrap_err();
        let big = vec![b' '; xml::MAX_BODY_BYTES + 1];
        assert_eq!(reject(&big).status(), 413);
        assert_eq!(reject(b"<xml><OpenId>\xff</OpenId></xml>").status(), 400);
        for input in [
            String::new(),
            "not xml".into(),
            "<xml><OpenId>o</OpenId>".into(),
            "<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><OpenId>&x;</OpenId></xml>".into(),
            body("refund", SIGNATURE, ""),
            body("request", SIGNATURE, "").replace("1369743511", "yesterday"),
        ] {
            assert_eq!(reject(input.as_bytes()).status(), 400, "{input}");
        }
        let full = body("request", SIGNATURE, "");
        for field in [
            "OpenId",
            "AppId",
            "TimeStamp",
            "MsgType",
            "FeedBackId",
            "AppSignature",
        ] {
            let without = full
                .replace(&format!("<{field}>"), "<Dropped>")
                .replace(&format!("</{field}>"), "</Dropped>");
            let r = reject(without.as_bytes());
            assert_eq!(r.status(), 400);
            assert_eq!(r.to_string(), format!("missing {field}"));
        }
        let empty_id = full.replace("<![CDATA[5883726847655944563]]>", "");
        assert_eq!(
            reject(empty_id.as_bytes()).to_string(),
            "missing FeedBackId"
        );
    }

    #[test]
    fn deadlines_take_the_strictest_rule_consistent_with_what_is_known() {
        use GoodsKind::{Physical, Virtual};
        let cases = [
            (Some(Virtual), Some(false), 1),
            (Some(Physical), Some(false), 2),
            (Some(Virtual), Some(true), 3),
            (Some(Physical), Some(true), 15),
            (None, None, 1),
            (None, Some(false), 1),
            (None, Some(true), 3),
            (Some(Virtual), None, 1),
            (Some(Physical), None, 2),
        ];
        for (kind, delivered, days) in cases {
            assert_eq!(
                resolution_deadline_secs(kind, delivered),
                days * DAY,
                "{kind:?} {delivered:?}"
            );
            assert_eq!(deadline(1_000, kind, delivered), 1_000 + days * DAY);
        }
        assert_eq!(deadline(i64::MAX - 5, None, None), i64::MAX);
    }

    #[test]
    fn goods_kind_reads_services_as_virtual() {
        let kind = |s: &str| serde_json::from_str::<GoodsKind>(s).unwrap();
        assert_eq!(kind("\"virtual\""), GoodsKind::Virtual);
        assert_eq!(kind("\"service\""), GoodsKind::Virtual);
        assert_eq!(kind("\"physical\""), GoodsKind::Physical);
    }

    #[test]
    fn warning_is_due_when_a_quarter_of_the_time_is_left() {
        assert_eq!(warning_due(0, DAY), 18 * 60 * 60);
        assert_eq!(
            warning_due(100, 100 + 15 * DAY),
            100 + 15 * DAY - 15 * DAY / 4
        );
        assert_eq!(warning_due(100, 100), 100);
        assert_eq!(warning_due(100, 50), 50);
    }

    #[test]
    fn every_transition() {
        use ComplaintStatus::*;
        let t = |status, opened, closed, escalate| Transition {
            status,
            opened,
            closed,
            escalate,
        };
        let cases = [
            (None, MsgType::Request, t(Open, true, false, false)),
            (None, MsgType::Confirm, t(Closed, true, true, false)),
            (None, MsgType::Reject, t(Reopened, true, false, true)),
            (Some(Open), MsgType::Request, t(Open, false, false, false)),
            (Some(Open), MsgType::Confirm, t(Closed, false, true, false)),
            (Some(Open), MsgType::Reject, t(Reopened, false, false, true)),
            (
                Some(Processed),
                MsgType::Request,
                t(Processed, false, false, false),
            ),
            (
                Some(Processed),
                MsgType::Confirm,
                t(Closed, false, true, false),
            ),
            (
                Some(Processed),
                MsgType::Reject,
                t(Reopened, false, false, true),
            ),
            (
                Some(Reopened),
                MsgType::Request,
                t(Reopened, false, false, false),
            ),
            (
                Some(Reopened),
                MsgType::Confirm,
                t(Closed, false, true, false),
            ),
            (
                Some(Reopened),
                MsgType::Reject,
                t(Reopened, false, false, false),
            ),
            (
                Some(Closed),
                MsgType::Request,
                t(Closed, false, false, false),
            ),
            (
                Some(Closed),
                MsgType::Confirm,
                t(Closed, false, false, false),
            ),
            (
                Some(Closed),
                MsgType::Reject,
                t(Reopened, false, false, true),
            ),
        ];
        for (current, msg, want) in cases {
            assert_eq!(transition(current, msg), want, "{current:?} {msg:?}");
        }
    }

    #[test]
    fn resolve_refuses_closed_complaints() {
        use ComplaintStatus::*;
        assert_eq!(resolve(Open), Ok(Processed));
        assert_eq!(resolve(Processed), Ok(Processed));
        assert_eq!(resolve(Reopened), Ok(Processed));
        assert!(resolve(Closed).is_err());
        assert_eq!(
            serde_json::to_string(&[Open, Processed, Closed, Reopened]).unwrap(),
            r#"["open","processed","closed","reopened"]"#
        );
    }

    #[test]
    fn update_url_encodes_its_parameters() {
        assert_eq!(
            payfeedback_update_url("https://api.weixin.qq.com/", "TOK&x=1", "o_user+1", "58837"),
            "https://api.weixin.qq.com/payfeedback/update?access_token=TOK%26x%3D1&openid=o_user%2B1&feedbackid=58837"
        );
        assert_eq!(
            payfeedback_update_url("http://127.0.0.1:8787", "t", "o", "f"),
            "http://127.0.0.1:8787/payfeedback/update?access_token=t&openid=o&feedbackid=f"
        );
    }
}
