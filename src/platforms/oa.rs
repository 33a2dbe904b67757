//! The Official Account (公众号) callback: typed messages and events, the transfer-to-agent
//! decision, and the passive reply XML (seed 000).

use serde::{Deserialize, Serialize};

use crate::inline::{Accepted, Rejection, Reply};
use crate::rules::Rules;
use crate::wechat::callback::{self, CallbackQuery, Endpoint, SealInputs};
use crate::xml::{self, XmlDoc, XmlWriter};

/// Who sent what to which account, and when (the sender's clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// The account's original ID (gh_…): ToUserName of the push.
    pub account: String,
    /// The customer's OpenID: FromUserName of the push.
    pub openid: String,
    pub create_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OaMessage {
    #[serde(flatten)]
    pub envelope: Envelope,
    /// 64-bit: kept as text.
    pub msg_id: Option<String>,
    pub body: MessageBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msg_type", rename_all = "snake_case")]
pub enum MessageBody {
    Text {
        content: String,
    },
    Image {
        pic_url: Option<String>,
        media_id: Option<String>,
    },
    Voice {
        media_id: Option<String>,
        format: Option<String>,
        recognition: Option<String>,
    },
    Video {
        media_id: Option<String>,
        thumb_media_id: Option<String>,
    },
    #[serde(rename = "shortvideo")]
    ShortVideo {
        media_id: Option<String>,
        thumb_media_id: Option<String>,
    },
    Location {
        latitude: Option<String>,
        longitude: Option<String>,
        scale: Option<String>,
        label: Option<String>,
    },
    Link {
        title: Option<String>,
        description: Option<String>,
        url: Option<String>,
    },
    File {
        title: Option<String>,
        description: Option<String>,
        file_key: Option<String>,
        file_md5: Option<String>,
        file_total_len: Option<String>,
    },
    #[serde(rename = "miniprogrampage")]
    MiniProgramPage {
        title: Option<String>,
        app_id: Option<String>,
        page_path: Option<String>,
        thumb_url: Option<String>,
        thumb_media_id: Option<String>,
    },
    /// A message type this version does not know; still a customer speaking, so still transferred.
    Other {
        raw_msg_type: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OaEvent {
    #[serde(flatten)]
    pub envelope: Envelope,
    pub event: EventBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventBody {
    Subscribe {
        event_key: Option<String>,
        ticket: Option<String>,
    },
    Unsubscribe,
    Scan {
        event_key: Option<String>,
        ticket: Option<String>,
    },
    Location {
        latitude: Option<String>,
        longitude: Option<String>,
        precision: Option<String>,
    },
    Click {
        event_key: Option<String>,
    },
    View {
        event_key: Option<String>,
    },
    KfCreateSession {
        kf_account: Option<String>,
    },
    KfCloseSession {
        kf_account: Option<String>,
    },
    KfSwitchSession {
        from_kf_account: Option<String>,
        to_kf_account: Option<String>,
    },
    Other {
        raw_event: String,
        event_key: Option<String>,
    },
}

/// A parsed push: a customer's message or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    Message(OaMessage),
    Event(OaEvent),
}

impl Push {
    pub fn parse(plaintext: &str) -> Result<Push, Rejection> {
        let doc = xml::parse(plaintext)?;
        let required = |name: &str| {
            doc.get(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Rejection::Malformed(format!("missing {name}")))
        };
        let envelope = Envelope {
            account: required("ToUserName")?.to_owned(),
            openid: required("FromUserName")?.to_owned(),
            create_time: required("CreateTime")?
                .parse()
                .map_err(|_| Rejection::Malformed("CreateTime is not an integer".into()))?,
        };
        let msg_type = required("MsgType")?;
        if msg_type == "event" {
            let event = parse_event(&doc, required("Event")?);
            return Ok(Push::Event(OaEvent { envelope, event }));
        }
        let body = parse_message_body(&doc, msg_type)?;
        Ok(Push::Message(OaMessage {
            envelope,
            msg_id: opt(&doc, "MsgId"),
            body,
        }))
    }

    pub fn envelope(&self) -> &Envelope {
        match self {
            Push::Message(m) => &m.envelope,
            Push::Event(e) => &e.envelope,
        }
    }

    /// Retries of one push share this key: MsgId for messages; sender + time + event (or type,
    /// for the rare message without MsgId) otherwise.
    pub fn dedup_key(&self) -> String {
        let e = self.envelope();
        match self {
            Push::Message(OaMessage {
                msg_id: Some(id), ..
            }) => format!("oa:msg:{id}"),
            Push::Message(m) => format!(
                "oa:msg:{}:{}:{}",
                e.openid,
                e.create_time,
                m.body.type_name()
            ),
            Push::Event(ev) => format!(
                "oa:event:{}:{}:{}",
                e.openid,
                e.create_time,
                ev.event.raw_name()
            ),
        }
    }
}

fn opt(doc: &XmlDoc, name: &str) -> Option<String> {
    doc.get(name).filter(|v| !v.is_empty()).map(str::to_owned)
}

fn parse_message_body(doc: &XmlDoc, msg_type: &str) -> Result<MessageBody, Rejection> {
    let o = |name| opt(doc, name);
    Ok(match msg_type {
        "text" => MessageBody::Text {
            content: doc
                .get("Content")
                .map(str::to_owned)
                .ok_or_else(|| Rejection::Malformed("missing Content".into()))?,
        },
        "image" => MessageBody::Image {
            pic_url: o("PicUrl"),
            media_id: o("MediaId"),
        },
        "voice" => MessageBody::Voice {
            media_id: o("MediaId"),
            format: o("Format"),
            recognition: o("Recognition"),
        },
        "video" => MessageBody::Video {
            media_id: o("MediaId"),
            thumb_media_id: o("ThumbMediaId"),
        },
        "shortvideo" => MessageBody::ShortVideo {
            media_id: o("MediaId"),
            thumb_media_id: o("ThumbMediaId"),
        },
        "location" => MessageBody::Location {
            latitude: o("Location_X"),
            longitude: o("Location_Y"),
            scale: o("Scale"),
            label: o("Label"),
        },
        "link" => MessageBody::Link {
            title: o("Title"),
            description: o("Description"),
            url: o("Url"),
        },
        "file" => MessageBody::File {
            title: o("Title"),
            description: o("Description"),
            file_key: o("FileKey"),
            file_md5: o("FileMd5"),
            file_total_len: o("FileTotalLen"),
        },
        "miniprogrampage" => MessageBody::MiniProgramPage {
            title: o("Title"),
            app_id: o("AppId"),
            page_path: o("PagePath"),
            thumb_url: o("ThumbUrl"),
            thumb_media_id: o("ThumbMediaId"),
        },
        other => MessageBody::Other {
            raw_msg_type: other.to_owned(),
        },
    })
}

fn parse_event(doc: &XmlDoc, event: &str) -> EventBody {
    let o = |name| opt(doc, name);
    // WeChat sends some event names upper-case (SCAN, CLICK, VIEW, LOCATION) and others lower.
    match event.to_ascii_lowercase().as_str() {
        "subscribe" => EventBody::Subscribe {
            event_key: o("EventKey"),
            ticket: o("Ticket"),
        },
        "unsubscribe" => EventBody::Unsubscribe,
        "scan" => EventBody::Scan {
            event_key: o("EventKey"),
            ticket: o("Ticket"),
        },
        "location" => EventBody::Location {
            latitude: o("Latitude"),
            longitude: o("Longitude"),
            precision: o("Precision"),
        },
        "click" => EventBody::Click {
            event_key: o("EventKey"),
        },
        "view" => EventBody::View {
            event_key: o("EventKey"),
        },
        "kf_create_session" => EventBody::KfCreateSession {
            kf_account: o("KfAccount"),
        },
        "kf_close_session" => EventBody::KfCloseSession {
            kf_account: o("KfAccount"),
        },
        "kf_switch_session" => EventBody::KfSwitchSession {
            from_kf_account: o("FromKfAccount"),
            to_kf_account: o("ToKfAccount"),
        },
        _ => EventBody::Other {
            raw_event: event.to_owned(),
            event_key: o("EventKey"),
        },
    }
}

impl MessageBody {
    pub fn type_name(&self) -> &str {
        match self {
            MessageBody::Text { .. } => "text",
            MessageBody::Image { .. } => "image",
            MessageBody::Voice { .. } => "voice",
            MessageBody::Video { .. } => "video",
            MessageBody::ShortVideo { .. } => "shortvideo",
            MessageBody::Location { .. } => "location",
            MessageBody::Link { .. } => "link",
            MessageBody::File { .. } => "file",
            MessageBody::MiniProgramPage { .. } => "miniprogrampage",
            MessageBody::Other { raw_msg_type } => raw_msg_type,
        }
    }
}

impl EventBody {
    /// The event name as WeChat spelt it.
    pub fn raw_name(&self) -> &str {
        match self {
            EventBody::Subscribe { .. } => "subscribe",
            EventBody::Unsubscribe => "unsubscribe",
            EventBody::Scan { .. } => "SCAN",
            EventBody::Location { .. } => "LOCATION",
            EventBody::Click { .. } => "CLICK",
            EventBody::View { .. } => "VIEW",
            EventBody::KfCreateSession { .. } => "kf_create_session",
            EventBody::KfCloseSession { .. } => "kf_close_session",
            EventBody::KfSwitchSession { .. } => "kf_switch_session",
            EventBody::Other { raw_event, .. } => raw_event,
        }
    }
}

/// One agent in the `customservice/getonlinekflist` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineAgent {
    pub kf_account: String,
    #[serde(default)]
    pub status: i64,
    #[serde(default)]
    pub accepted_case: i64,
    #[serde(default)]
    pub auto_accept: i64,
}

/// The cached answer of `customservice/getonlinekflist`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineAgents {
    pub kf_online_list: Vec<OnlineAgent>,
}

/// What routing uses: the merchant's rules and the online agents, as KV holds them. A missing or
/// invalid document routes nothing rather than refusing the customer (the merchant is told
/// through `ignored`), and a missing agent list is "not yet fetched".
pub struct Routing {
    pub rules: Rules,
    pub online: Option<OnlineAgents>,
    /// Why the rules document was ignored, when it was.
    pub ignored: Option<String>,
}

impl Routing {
    pub fn from_documents(rules: Option<&str>, online: Option<&str>) -> Routing {
        let (rules, ignored) = match rules.map(Rules::parse) {
            Some(Ok(rules)) => (rules, None),
            Some(Err(why)) => (Rules::default(), Some(format!("ignoring rules: {why}"))),
            None => (Rules::default(), None),
        };
        Routing {
            rules,
            online: online.and_then(|doc| OnlineAgents::parse(doc).ok()),
            ignored,
        }
    }
}

impl OnlineAgents {
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The least-loaded of `preferred` that is online with free capacity; earlier in the list
    /// wins ties.
    fn pick<'a>(&self, preferred: &'a [String]) -> Option<&'a str> {
        preferred
            .iter()
            .filter_map(|account| {
                let agent = self
                    .kf_online_list
                    .iter()
                    .find(|a| &a.kf_account == account)?;
                (agent.status != 0 && agent.accepted_case < agent.auto_accept)
                    .then_some((agent.accepted_case, account))
            })
            .min_by_key(|(load, _)| *load)
            .map(|(_, account)| account.as_str())
    }
}

/// The passive reply to one push, borrowing the reply text and the agent from the rules (they
/// are written into the reply, never kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Events are never transferred (seed 000): agents would see meaningless messages.
    Success,
    /// A matching FAQ answers the customer directly.
    FaqText(&'r str),
    /// Hand the message to the customer-service system, to a named agent when one is free.
    Transfer { kf_account: Option<&'r str> },
}

/// Decides the reply. A routing rule names an agent only when the online list shows it can take
/// the customer: WeChat would otherwise queue the customer on an agent who is away. Without an
/// online list at all (never fetched), the rule's first agent is trusted.
pub fn decide<'r>(push: &Push, rules: &'r Rules, online: Option<&OnlineAgents>) -> Decision<'r> {
    let Push::Message(message) = push else {
        return Decision::Success;
    };
    let text = match &message.body {
        MessageBody::Text { content } => Some(content.as_str()),
        _ => None,
    };
    if let Some(reply) = text.and_then(|t| rules.faq_reply(t)) {
        return Decision::FaqText(reply);
    }
    let route = text.and_then(|t| rules.route_for_text(t));
    let kf_account = route.and_then(|r| match online {
        Some(list) => list.pick(&r.kf_accounts),
        None => r.kf_accounts.first().map(String::as_str),
    });
    Decision::Transfer { kf_account }
}

/// The reply XML for a decision (none for `Success`, which is the plain body `success`).
pub fn reply_xml(decision: &Decision, envelope: &Envelope, now: i64) -> Option<String> {
    let head = |msg_type: &str| {
        XmlWriter::new()
            .cdata("ToUserName", &envelope.openid)
            .cdata("FromUserName", &envelope.account)
            .number("CreateTime", now)
            .cdata("MsgType", msg_type)
    };
    match decision {
        Decision::Success => None,
        Decision::FaqText(content) => Some(head("text").cdata("Content", content).finish()),
        Decision::Transfer { kf_account: None } => Some(head("transfer_customer_service").finish()),
        Decision::Transfer {
            kf_account: Some(kf),
        } => Some(
            head("transfer_customer_service")
                .group("TransInfo", |w| w.cdata("KfAccount", kf))
                .finish(),
        ),
    }
}

/// Everything one POST needs besides the request: settings, state read from KV, and the
/// server's clock and randomness.
pub struct Context<'a> {
    pub endpoint: Endpoint<'a>,
    pub rules: &'a Rules,
    pub online: Option<&'a OnlineAgents>,
    pub now: i64,
    pub random16: &'a [u8; 16],
    pub nonce: &'a str,
}

/// `POST /wechat/oa`: authenticate, parse, decide, and build the (sealed, in safe mode) reply
/// and the event to enqueue.
pub fn handle_post<'b>(
    query: &CallbackQuery,
    body: &'b [u8],
    ctx: &Context,
) -> Result<Accepted<'b, Push>, Rejection> {
    let opened = callback::open(query, body, &ctx.endpoint, ctx.now)?;
    let push = Push::parse(&opened.plaintext)?;
    let decision = decide(&push, ctx.rules, ctx.online);
    let reply = match reply_xml(&decision, push.envelope(), ctx.now) {
        None => Reply::success(),
        Some(xml) => match (&ctx.endpoint.aes, opened.encrypted) {
            (Some((key, appid)), true) => {
                let inputs = SealInputs {
                    random16: ctx.random16,
                    timestamp: ctx.now,
                    nonce: ctx.nonce,
                };
                Reply::xml(callback::seal(
                    &xml,
                    ctx.endpoint.token,
                    key,
                    appid,
                    &inputs,
                ))
            }
            _ => Reply::xml(xml),
        },
    };
    Ok(Accepted {
        push,
        text: opened.plaintext,
        reply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::callback::tests::{
        encrypted_push, endpoint, plain_query, APPID, NOW, TOKEN,
    };
    use crate::wechat::crypto::{signature_matches, AesKey};

    fn text(content: &str) -> String {
        format!("<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>1234567890123456789</MsgId></xml>")
    }

    fn event(name: &str, extra: &str) -> String {
        format!("<xml><ToUserName>gh_acct</ToUserName><FromUserName>o_user</FromUserName><CreateTime>1348831860</CreateTime><MsgType>event</MsgType><Event>{name}</Event>{extra}</xml>")
    }

    fn rules() -> Rules {
        Rules::parse(r#"{"faq":[{"keywords":["卡密"],"reply":"FAQ ]]> answer"}],"routes":[{"keywords":["refund"],"kf_accounts":["anna@gh_acct","bob@gh_acct"]}]}"#).unwrap()
    }

    fn ctx<'a>(rules: &'a Rules, online: Option<&'a OnlineAgents>) -> Context<'a> {
        Context {
            endpoint: endpoint(),
            rules,
            online,
            now: NOW,
            random16: b"0123456789abcdef",
            nonce: "n0nce",
        }
    }

    #[test]
    fn parses_every_message_type() {
        let cases = [
            ("image", "<PicUrl>http://p</PicUrl><MediaId>m</MediaId>", MessageBody::Image { pic_url: Some("http://p".into()), media_id: Some("m".into()) }),
            ("voice", "<MediaId>m</MediaId><Format>amr</Format><Recognition>你好</Recognition>", MessageBody::Voice { media_id: Some("m".into()), format: Some("amr".into()), recognition: Some("你好".into()) }),
            ("video", "<MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId>", MessageBody::Video { media_id: Some("m".into()), thumb_media_id: Some("t".into()) }),
            ("shortvideo", "<MediaId>m</MediaId>", MessageBody::ShortVideo { media_id: Some("m".into()), thumb_media_id: None }),
            ("location", "<Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Scale>20</Scale><Label>here</Label>", MessageBody::Location { latitude: Some("23.1".into()), longitude: Some("113.3".into()), scale: Some("20".into()), label: Some("here".into()) }),
            ("link", "<Title>t</Title><Description>d</Description><Url>u</Url>", MessageBody::Link { title: Some("t".into()), description: Some("d".into()), url: Some("u".into()) }),
            ("file", "<Title>a.pdf</Title><FileKey>k</FileKey><FileMd5>5</FileMd5><FileTotalLen>9</FileTotalLen>", MessageBody::File { title: Some("a.pdf".into()), description: None, file_key: Some("k".into()), file_md5: Some("5".into()), file_total_len: Some("9".into()) }),
            ("miniprogrampage", "<Title>t</Title><AppId>wxa</AppId><PagePath>p</PagePath><ThumbUrl>u</ThumbUrl><ThumbMediaId>m</ThumbMediaId>", MessageBody::MiniProgramPage { title: Some("t".into()), app_id: Some("wxa".into()), page_path: Some("p".into()), thumb_url: Some("u".into()), thumb_media_id: Some("m".into()) }),
            ("hologram", "", MessageBody::Other { raw_msg_type: "hologram".into() }),
        ];
        for (msg_type, fields, want) in cases {
            let xml = format!("<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>{msg_type}</MsgType>{fields}<MsgId>42</MsgId></xml>");
            let Push::Message(m) = Push::parse(&xml).unwrap() else {
                panic!("{msg_type}")
            };
            assert_eq!(m.body, want, "{msg_type}");
            assert_eq!(m.body.type_name(), msg_type);
            assert_eq!(m.msg_id.as_deref(), Some("42"));
            assert_eq!(
                decide(&Push::Message(m), &Rules::default(), None),
                Decision::Transfer { kf_account: None },
                "{msg_type}"
            );
        }
    }

    #[test]
    fn parses_every_event_and_never_transfers_one() {
        let cases = [
            (
                "subscribe",
                "<EventKey>qrscene_1</EventKey><Ticket>t</Ticket>",
                EventBody::Subscribe {
                    event_key: Some("qrscene_1".into()),
                    ticket: Some("t".into()),
                },
            ),
            ("unsubscribe", "", EventBody::Unsubscribe),
            (
                "SCAN",
                "<EventKey>1</EventKey>",
                EventBody::Scan {
                    event_key: Some("1".into()),
                    ticket: None,
                },
            ),
            (
                "LOCATION",
                "<Latitude>1</Latitude><Longitude>2</Longitude><Precision>3</Precision>",
                EventBody::Location {
                    latitude: Some("1".into()),
                    longitude: Some("2".into()),
                    precision: Some("3".into()),
                },
            ),
            (
                "CLICK",
                "<EventKey>K</EventKey>",
                EventBody::Click {
                    event_key: Some("K".into()),
                },
            ),
            (
                "VIEW",
                "<EventKey>http://x</EventKey>",
                EventBody::View {
                    event_key: Some("http://x".into()),
                },
            ),
            (
                "kf_create_session",
                "<KfAccount>anna@gh</KfAccount>",
                EventBody::KfCreateSession {
                    kf_account: Some("anna@gh".into()),
                },
            ),
            (
                "kf_close_session",
                "<KfAccount>anna@gh</KfAccount>",
                EventBody::KfCloseSession {
                    kf_account: Some("anna@gh".into()),
                },
            ),
            (
                "kf_switch_session",
                "<FromKfAccount>a@gh</FromKfAccount><ToKfAccount>b@gh</ToKfAccount>",
                EventBody::KfSwitchSession {
                    from_kf_account: Some("a@gh".into()),
                    to_kf_account: Some("b@gh".into()),
                },
            ),
            (
                "TEMPLATESENDJOBFINISH",
                "",
                EventBody::Other {
                    raw_event: "TEMPLATESENDJOBFINISH".into(),
                    event_key: None,
                },
            ),
        ];
        for (name, extra, want) in cases {
            let push = Push::parse(&event(name, extra)).unwrap();
            let Push::Event(e) = &push else {
                panic!("{name}")
            };
            assert_eq!(e.event, want, "{name}");
            assert_eq!(e.event.raw_name(), name);
            assert_eq!(
                push.dedup_key(),
                format!("oa:event:o_user:1348831860:{name}")
            );
            assert_eq!(decide(&push, &rules(), None), Decision::Success, "{name}");
        }
    }

    #[test]
    fn refuses_pushes_missing_required_fields() {
        for xml in [
            "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>",
            "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>soon</CreateTime><MsgType>text</MsgType><Content>x</Content></xml>",
            "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
            "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>",
            "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime></xml>",
        ] {
            assert_eq!(Push::parse(xml).unwrap_err().status(), 400, "{xml}");
        }
    }

    #[test]
    fn dedup_key_prefers_msg_id() {
        assert_eq!(
            Push::parse(&text("hi")).unwrap().dedup_key(),
            "oa:msg:1234567890123456789"
        );
        let no_id = "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>5</CreateTime><MsgType>image</MsgType></xml>";
        assert_eq!(Push::parse(no_id).unwrap().dedup_key(), "oa:msg:o:5:image");
    }

    #[test]
    fn routes_only_to_agents_online_with_capacity() {
        let push = Push::parse(&text("I want a refund")).unwrap();
        let online = |list: &[(&str, i64, i64, i64)]| OnlineAgents {
            kf_online_list: list
                .iter()
                .map(|&(kf, status, accepted_case, auto_accept)| OnlineAgent {
                    kf_account: kf.into(),
                    status,
                    accepted_case,
                    auto_accept,
                })
                .collect(),
        };
        let rules = rules();
        let pick = |o: Option<&OnlineAgents>| match decide(&push, &rules, o) {
            Decision::Transfer { kf_account } => kf_account,
            other => panic!("{other:?}"),
        };
        assert_eq!(pick(None), Some("anna@gh_acct"));
        assert_eq!(
            pick(Some(&online(&[
                ("anna@gh_acct", 1, 5, 5),
                ("bob@gh_acct", 1, 1, 5)
            ]))),
            Some("bob@gh_acct")
        );
        assert_eq!(
            pick(Some(&online(&[
                ("anna@gh_acct", 1, 2, 5),
                ("bob@gh_acct", 1, 1, 5)
            ]))),
            Some("bob@gh_acct")
        );
        assert_eq!(
            pick(Some(&online(&[
                ("anna@gh_acct", 1, 1, 5),
                ("bob@gh_acct", 1, 1, 5)
            ]))),
            Some("anna@gh_acct")
        );
        assert_eq!(
            pick(Some(&online(&[
                ("anna@gh_acct", 0, 0, 5),
                ("carl@gh_acct", 1, 0, 5)
            ]))),
            None
        );
        assert_eq!(pick(Some(&OnlineAgents::default())), None);
        let no_route = Push::parse(&text("hello")).unwrap();
        assert_eq!(
            decide(&no_route, &rules, None),
            Decision::Transfer { kf_account: None }
        );
    }

    #[test]
    fn parses_getonlinekflist_answer() {
        let list = OnlineAgents::parse(r#"{"kf_online_list":[{"kf_account":"a@gh","status":1,"kf_id":"1001","accepted_case":1,"auto_accept":0}]}"#).unwrap();
        assert_eq!(list.kf_online_list[0].kf_account, "a@gh");
        assert!(OnlineAgents::parse("{}").is_err());
    }

    #[test]
    fn plain_transfer_reply_uses_server_clock_and_swaps_parties() {
        let body = text("hello");
        let accepted =
            handle_post(&plain_query(NOW), body.as_bytes(), &ctx(&rules(), None)).unwrap();
        assert_eq!(
            accepted.reply.body,
            format!("<xml><ToUserName><![CDATA[o_user]]></ToUserName><FromUserName><![CDATA[gh_acct]]></FromUserName><CreateTime>{NOW}</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>")
        );
        assert_eq!(accepted.push.dedup_key(), "oa:msg:1234567890123456789");
        assert!(matches!(accepted.push, Push::Message(_)));
    }

    #[test]
    fn faq_reply_is_escaped_text() {
        let body = text("我的卡密");
        let accepted =
            handle_post(&plain_query(NOW), body.as_bytes(), &ctx(&rules(), None)).unwrap();
        let doc = xml::parse(&accepted.reply.body).unwrap();
        assert_eq!(doc.get("MsgType"), Some("text"));
        assert_eq!(doc.get("Content"), Some("FAQ ]]> answer"));
    }

    #[test]
    fn events_get_success_even_in_safe_mode() {
        let (q, body) = encrypted_push(
            &event("kf_close_session", "<KfAccount>a@gh</KfAccount>"),
            NOW,
        );
        let accepted = handle_post(&q, body.as_bytes(), &ctx(&rules(), None)).unwrap();
        assert_eq!(accepted.reply, Reply::success());
        assert!(matches!(
            accepted.push,
            Push::Event(OaEvent {
                event: EventBody::KfCloseSession { .. },
                ..
            })
        ));
    }

    #[test]
    fn safe_mode_reply_is_sealed_with_transinfo() {
        let (q, body) = encrypted_push(&text("refund please"), NOW);
        let accepted = handle_post(&q, body.as_bytes(), &ctx(&rules(), None)).unwrap();
        let doc = xml::parse(&accepted.reply.body).unwrap();
        let enc = doc.get("Encrypt").unwrap();
        assert!(signature_matches(
            doc.get("MsgSignature").unwrap(),
            &[TOKEN, &NOW.to_string(), "n0nce", enc]
        ));
        let key = AesKey::from_encoding_aes_key(crate::wechat::callback::tests::AES_KEY).unwrap();
        let inner = key.decrypt(enc, APPID).unwrap();
        let inner = xml::parse(&inner).unwrap();
        assert_eq!(inner.get("MsgType"), Some("transfer_customer_service"));
        assert_eq!(inner.get("TransInfo/KfAccount"), Some("anna@gh_acct"));
        assert_eq!(inner.get("ToUserName"), Some("o_user"));
    }

    #[test]
    fn routing_falls_back_to_no_rules_and_says_why() {
        let valid = r#"{"faq":[{"keywords":["a"],"reply":"b"}]}"#;
        let online = r#"{"kf_online_list":[]}"#;
        let r = Routing::from_documents(Some(valid), Some(online));
        assert_eq!(
            (r.rules.faq.len(), r.online.is_some(), r.ignored),
            (1, true, None)
        );
        let r = Routing::from_documents(Some("{not json"), Some("garbage"));
        assert_eq!(r.rules, Rules::default());
        assert!(r.online.is_none());
        assert!(r
            .ignored
            .unwrap()
            .starts_with("ignoring rules: rules are not valid JSON"));
        let r = Routing::from_documents(None, None);
        assert_eq!(
            (r.rules, r.online.is_none(), r.ignored),
            (Rules::default(), true, None)
        );
    }
}
