//! The Official Account (公众号) callback: typed messages and events, the transfer-to-agent
//! decision, and the passive reply XML (seed 000).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::inline::{Answer, Rejection, Reply};
use crate::rules::{CustomerText, Rules};
use crate::wechat::callback::{self, Endpoint, Opened, SealInputs};
use crate::xml::{self, XmlDoc, XmlWriter};

/// Who sent what to which account, and when (the sender's clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope<'a> {
    /// The account's original ID (gh_…): ToUserName of the push.
    pub account: Cow<'a, str>,
    /// The customer's OpenID: FromUserName of the push.
    pub openid: Cow<'a, str>,
    pub create_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OaMessage<'a> {
    #[serde(flatten)]
    pub envelope: Envelope<'a>,
    /// 64-bit: kept as text.
    pub msg_id: Option<Cow<'a, str>>,
    pub body: MessageBody<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msg_type", rename_all = "snake_case")]
pub enum MessageBody<'a> {
    Text {
        content: Cow<'a, str>,
    },
    Image {
        pic_url: Option<Cow<'a, str>>,
        media_id: Option<Cow<'a, str>>,
    },
    Voice {
        media_id: Option<Cow<'a, str>>,
        format: Option<Cow<'a, str>>,
        recognition: Option<Cow<'a, str>>,
    },
    Video {
        media_id: Option<Cow<'a, str>>,
        thumb_media_id: Option<Cow<'a, str>>,
    },
    #[serde(rename = "shortvideo")]
    ShortVideo {
        media_id: Option<Cow<'a, str>>,
        thumb_media_id: Option<Cow<'a, str>>,
    },
    Location {
        latitude: Option<Cow<'a, str>>,
        longitude: Option<Cow<'a, str>>,
        scale: Option<Cow<'a, str>>,
        label: Option<Cow<'a, str>>,
    },
    Link {
        title: Option<Cow<'a, str>>,
        description: Option<Cow<'a, str>>,
        url: Option<Cow<'a, str>>,
    },
    File {
        title: Option<Cow<'a, str>>,
        description: Option<Cow<'a, str>>,
        file_key: Option<Cow<'a, str>>,
        file_md5: Option<Cow<'a, str>>,
        file_total_len: Option<Cow<'a, str>>,
    },
    #[serde(rename = "miniprogrampage")]
    MiniProgramPage {
        title: Option<Cow<'a, str>>,
        app_id: Option<Cow<'a, str>>,
        page_path: Option<Cow<'a, str>>,
        thumb_url: Option<Cow<'a, str>>,
        thumb_media_id: Option<Cow<'a, str>>,
    },
    /// A message type this version does not know; still a customer speaking, so still transferred.
    Other {
        raw_msg_type: Cow<'a, str>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OaEvent<'a> {
    #[serde(flatten)]
    pub envelope: Envelope<'a>,
    pub event: EventBody<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventBody<'a> {
    Subscribe {
        event_key: Option<Cow<'a, str>>,
        ticket: Option<Cow<'a, str>>,
    },
    Unsubscribe,
    Scan {
        event_key: Option<Cow<'a, str>>,
        ticket: Option<Cow<'a, str>>,
    },
    Location {
        latitude: Option<Cow<'a, str>>,
        longitude: Option<Cow<'a, str>>,
        precision: Option<Cow<'a, str>>,
    },
    Click {
        event_key: Option<Cow<'a, str>>,
    },
    View {
        event_key: Option<Cow<'a, str>>,
    },
    KfCreateSession {
        kf_account: Option<Cow<'a, str>>,
    },
    KfCloseSession {
        kf_account: Option<Cow<'a, str>>,
    },
    KfSwitchSession {
        from_kf_account: Option<Cow<'a, str>>,
        to_kf_account: Option<Cow<'a, str>>,
    },
    Other {
        raw_event: Cow<'a, str>,
        event_key: Option<Cow<'a, str>>,
    },
}

/// A parsed push: a customer's message or an event. Its texts borrow from the text it was
/// parsed from where they can (the inline path copies none of them); the queue consumer keeps an
/// owned one (`parse_owned`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push<'a> {
    Message(OaMessage<'a>),
    Event(OaEvent<'a>),
}

impl<'a> Push<'a> {
    pub fn parse(text: &'a str) -> Result<Push<'a>, Rejection> {
        Push::from_doc(xml::parse(text)?)
    }

    /// The push of a parsed document, its texts moved out of the document.
    pub fn from_doc(mut doc: XmlDoc<'a>) -> Result<Push<'a>, Rejection> {
        let mut required = |name: &str| {
            doc.take(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Rejection::Malformed(format!("missing {name}")))
        };
        let account = required("ToUserName")?;
        let openid = required("FromUserName")?;
        let create_time = required("CreateTime")?
            .parse()
            .map_err(|_| Rejection::Malformed("CreateTime is not an integer".into()))?;
        let msg_type = required("MsgType")?;
        let envelope = Envelope {
            account,
            openid,
            create_time,
        };
        if msg_type == "event" {
            let event = required("Event")?;
            let event = parse_event(&mut doc, event);
            return Ok(Push::Event(OaEvent { envelope, event }));
        }
        let body = parse_message_body(&mut doc, msg_type)?;
        Ok(Push::Message(OaMessage {
            envelope,
            msg_id: opt(&mut doc, "MsgId"),
            body,
        }))
    }

    pub fn envelope(&self) -> &Envelope<'a> {
        match self {
            Push::Message(m) => &m.envelope,
            Push::Event(e) => &e.envelope,
        }
    }

    /// Retries of one push share this key: MsgId for messages; sender + time + event (or type,
    /// for the rare message without MsgId) otherwise. Joined rather than `format!`ted, as every
    /// platform's key: each push takes one, inline.
    pub fn dedup_key(&self) -> String {
        let e = self.envelope();
        let mut time = itoa::Buffer::new();
        let time = time.format(e.create_time);
        match self {
            Push::Message(OaMessage {
                msg_id: Some(id), ..
            }) => ["oa:msg", id].join(":"),
            Push::Message(m) => ["oa:msg", &e.openid, time, m.body.type_name()].join(":"),
            Push::Event(ev) => ["oa:event", &e.openid, time, ev.event.raw_name()].join(":"),
        }
    }
}

impl Push<'static> {
    /// A push that owns its texts, to outlive the text it was parsed from (the queue consumer's).
    pub fn parse_owned(text: &str) -> Result<Push<'static>, Rejection> {
        Push::from_doc(xml::parse(text)?.into_owned())
    }
}

fn opt<'a>(doc: &mut XmlDoc<'a>, name: &str) -> Option<Cow<'a, str>> {
    doc.take(name).filter(|v| !v.is_empty())
}

fn parse_message_body<'a>(
    doc: &mut XmlDoc<'a>,
    msg_type: Cow<'a, str>,
) -> Result<MessageBody<'a>, Rejection> {
    let mut o = |name| opt(doc, name);
    Ok(match msg_type.as_ref() {
        "text" => MessageBody::Text {
            content: doc
                .take("Content")
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
        _ => MessageBody::Other {
            raw_msg_type: msg_type,
        },
    })
}

fn parse_event<'a>(doc: &mut XmlDoc<'a>, event: Cow<'a, str>) -> EventBody<'a> {
    let mut o = |name| opt(doc, name);
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
            raw_event: event,
            event_key: o("EventKey"),
        },
    }
}

impl MessageBody<'_> {
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

impl EventBody<'_> {
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
        MessageBody::Text { content } => Some(CustomerText::new(content)),
        _ => None,
    };
    if let Some(reply) = text.as_ref().and_then(|t| rules.faq_reply(t)) {
        return Decision::FaqText(reply);
    }
    let route = text.as_ref().and_then(|t| rules.route_for_text(t));
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

/// The randomness one sealed reply takes, drawn when a reply is sealed (a plain push draws
/// none): 16 bytes for its first AES block, and a number its nonce's digits come from.
pub type SealRandomness<'a> = &'a dyn Fn() -> Result<([u8; 16], u64), Rejection>;

/// A sealed reply's nonce: decimal digits, at most ten, as WeChat's own.
const NONCE_MODULUS: u64 = 10_000_000_000;

/// Everything one POST needs besides the request: settings, state read from KV, and the
/// server's clock and randomness.
pub struct Context<'a> {
    pub endpoint: &'a Endpoint<'a>,
    pub rules: &'a Rules,
    pub online: Option<&'a OnlineAgents>,
    pub now: i64,
    pub randomness: SealRandomness<'a>,
}

/// `POST /wechat/oa`, once `callback::open` has authenticated (and decrypted) the push: parse,
/// decide, and build the (sealed, in safe mode) reply. The push borrows from the opened text,
/// which the caller then enqueues.
pub fn answer<'t>(opened: &'t Opened<'_>, ctx: &Context) -> Result<Answer<Push<'t>>, Rejection> {
    let push = Push::parse(&opened.plaintext)?;
    let decision = decide(&push, ctx.rules, ctx.online);
    let reply = match reply_xml(&decision, push.envelope(), ctx.now) {
        None => Reply::success(),
        Some(xml) => match (&ctx.endpoint.aes, opened.encrypted) {
            (Some((key, appid)), true) => {
                let (random16, nonce) = (ctx.randomness)()?;
                let mut digits = itoa::Buffer::new();
                let inputs = SealInputs {
                    random16: &random16,
                    timestamp: ctx.now,
                    nonce: digits.format(nonce % NONCE_MODULUS),
                };
                Reply::xml(callback::seal(xml, ctx.endpoint.token, key, appid, &inputs))
            }
            _ => Reply::xml(xml),
        },
    };
    Ok(Answer { push, reply })
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

    /// The AES block and the nonce (`4242`, its digits) every sealed reply of these tests takes.
    fn fixed_randomness() -> Result<([u8; 16], u64), Rejection> {
        Ok((*b"0123456789abcdef", 7 * NONCE_MODULUS + 4242))
    }

    fn rules() -> Rules {
        Rules::parse(r#"{"faq":[{"keywords":["卡密"],"reply":"FAQ ]]> answer"}],"routes":[{"keywords":["refund"],"kf_accounts":["anna@gh_acct","bob@gh_acct"]}]}"#).unwrap()
    }

    /// The push opened as the route opens it (`callback::open`), then answered with `rules`:
    /// the reply, and the push described as the log line names it.
    fn answered(
        query: &callback::CallbackQuery,
        body: &str,
        rules: &Rules,
    ) -> (Reply, Push<'static>) {
        let endpoint = endpoint();
        let opened = callback::open(query, body.as_bytes(), &endpoint, NOW).unwrap();
        let ctx = Context {
            endpoint: &endpoint,
            rules,
            online: None,
            now: NOW,
            randomness: &fixed_randomness,
        };
        let answer = answer(&opened, &ctx).unwrap();
        let push = Push::parse_owned(&opened.plaintext).unwrap();
        assert_eq!(answer.push, push);
        (answer.reply, push)
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
            let push = Push::parse_owned(&event(name, extra)).unwrap();
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
        let push = Push::parse_owned(&text("I want a refund")).unwrap();
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
        let no_route = Push::parse_owned(&text("hello")).unwrap();
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
        let (reply, push) = answered(&plain_query(NOW), &body, &rules());
        assert_eq!(
            reply.body,
            format!("<xml><ToUserName><![CDATA[o_user]]></ToUserName><FromUserName><![CDATA[gh_acct]]></FromUserName><CreateTime>{NOW}</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>")
        );
        assert_eq!(push.dedup_key(), "oa:msg:1234567890123456789");
        assert!(matches!(push, Push::Message(_)));
    }

    #[test]
    fn faq_reply_is_escaped_text() {
        let body = text("我的卡密");
        let (reply, _) = answered(&plain_query(NOW), &body, &rules());
        let doc = xml::parse(&reply.body).unwrap();
        assert_eq!(doc.get("MsgType"), Some("text"));
        assert_eq!(doc.get("Content"), Some("FAQ ]]> answer"));
    }

    #[test]
    fn events_get_success_even_in_safe_mode() {
        let (q, body) = encrypted_push(
            &event("kf_close_session", "<KfAccount>a@gh</KfAccount>"),
            NOW,
        );
        let (reply, push) = answered(&q, &body, &rules());
        assert_eq!(reply, Reply::success());
        assert!(matches!(
            push,
            Push::Event(OaEvent {
                event: EventBody::KfCloseSession { .. },
                ..
            })
        ));
    }

    #[test]
    fn safe_mode_reply_is_sealed_with_transinfo() {
        let (q, body) = encrypted_push(&text("refund please"), NOW);
        let (reply, _) = answered(&q, &body, &rules());
        let doc = xml::parse(&reply.body).unwrap();
        let enc = doc.get("Encrypt").unwrap();
        assert!(signature_matches(
            doc.get("MsgSignature").unwrap(),
            &[TOKEN, &NOW.to_string(), "4242", enc]
        ));
        let key = AesKey::from_encoding_aes_key(crate::wechat::callback::tests::AES_KEY).unwrap();
        let inner = key.decrypt(enc, APPID).unwrap();
        let inner = xml::parse(&inner).unwrap();
        assert_eq!(inner.get("MsgType"), Some("transfer_customer_service"));
        assert_eq!(inner.get("TransInfo/KfAccount"), Some("anna@gh_acct"));
        assert_eq!(inner.get("ToUserName"), Some("o_user"));
    }

    /// The push answered with `randomness` as the source of a sealed reply's randomness.
    fn answered_drawing(
        query: &callback::CallbackQuery,
        body: &str,
        randomness: SealRandomness,
    ) -> Result<Reply, Rejection> {
        let endpoint = endpoint();
        let opened = callback::open(query, body.as_bytes(), &endpoint, NOW).unwrap();
        let rules = rules();
        let ctx = Context {
            endpoint: &endpoint,
            rules: &rules,
            online: None,
            now: NOW,
            randomness,
        };
        answer(&opened, &ctx).map(|answer| answer.reply)
    }

    #[test]
    fn randomness_is_drawn_only_for_a_sealed_reply() {
        let drawn = std::cell::Cell::new(0);
        let counting = || {
            drawn.set(drawn.get() + 1);
            fixed_randomness()
        };
        let plain = answered_drawing(&plain_query(NOW), &text("refund please"), &counting);
        assert!(plain.unwrap().body.contains("transfer_customer_service"));
        assert_eq!(drawn.get(), 0, "a plain reply is not sealed");
        let closed = event("kf_close_session", "<KfAccount>a@gh</KfAccount>");
        let (q, body) = encrypted_push(&closed, NOW);
        assert_eq!(answered_drawing(&q, &body, &counting), Ok(Reply::success()));
        assert_eq!(drawn.get(), 0, "no reply, nothing to seal");
        let (q, body) = encrypted_push(&text("refund please"), NOW);
        assert!(answered_drawing(&q, &body, &counting)
            .unwrap()
            .body
            .contains("<Encrypt>"));
        assert_eq!(drawn.get(), 1);
    }

    #[test]
    fn a_reply_that_cannot_be_sealed_for_want_of_randomness_is_refused() {
        let none = || Err(Rejection::Unavailable("no randomness available".into()));
        let (q, body) = encrypted_push(&text("refund please"), NOW);
        assert_eq!(
            answered_drawing(&q, &body, &none),
            Err(Rejection::Unavailable("no randomness available".into()))
        );
        let plain = answered_drawing(&plain_query(NOW), &text("refund please"), &none);
        assert!(plain.is_ok(), "a plain push needs no randomness");
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
