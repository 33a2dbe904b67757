//! The WeChat Shop (微信小店) customer-service push (seed 001): event `commkf_send_msg_to_kf`,
//! sent as JSON or XML at the merchant's choice, parsed into one typed message.
//!
//! Pure functions only: the signature and AES layer (`crate::wechat::callback`) hands over the
//! plaintext; this module never does I/O and never reads a clock.
//!
//! IDs (`msg_id`, `product_id`, `order_id`) exceed 2^53, so they are kept as text. In JSON they
//! may arrive as strings or as numbers; numbers are read through `serde_json::Number` (this crate
//! builds serde_json without `arbitrary_precision`, so every integer up to `u64::MAX` is exact and
//! anything larger would already have been rounded: such a number is refused rather than kept
//! wrong).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Number, Value};

use crate::inline::{Answer, Rejection, Reply};
use crate::wechat::callback::Opened;
use crate::xml::{self, XmlDoc};

pub mod send;

/// The only event this module types; every other event is acknowledged and kept raw.
pub const KF_MESSAGE_EVENT: &str = "commkf_send_msg_to_kf";

/// A buyer's message to the shop's customer service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopMessage {
    /// The shop's UserName: ToUserName of the push.
    pub shop: String,
    /// The buyer's OpenID: FromUserName of the push.
    pub openid: String,
    /// CreateTime of the push (the sender's clock, unix seconds).
    pub create_time: i64,
    /// Monotonic per-message ID; exceeds 2^53, so kept as text.
    pub msg_id: String,
    pub body: ShopBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msg_type", rename_all = "snake_case")]
pub enum ShopBody {
    Text {
        content: String,
    },
    Image {
        cos_url: String,
    },
    Video {
        /// Seconds.
        play_length: Option<u64>,
        cos_url: String,
        /// The cover image.
        ld_img_url: Option<String>,
    },
    File {
        cos_url: String,
    },
    Voice {
        /// The speech-to-text result, when WeChat sent one.
        translated_msg: Option<String>,
        /// Milliseconds (`voice.play_length`).
        play_length_ms: Option<u64>,
        /// False when absent.
        translation_succ: bool,
    },
    ProductShare {
        product_id: String,
    },
    OrderShare {
        order_id: String,
    },
    /// A message type this version does not know: still a buyer speaking, so still kept.
    Other {
        /// `msg_type` as sent (its textual form when it was not a string; empty when absent).
        raw_msg_type: String,
        /// The whole push: the JSON as received, or for XML an object of its leaves.
        raw: Value,
    },
}

/// Any push other than a `commkf_send_msg_to_kf` message: acknowledged and kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopEvent {
    pub shop: String,
    pub openid: String,
    pub create_time: i64,
    pub event: String,
    /// The whole push: the JSON as received, or for XML an object of its leaves.
    pub raw: Value,
}

/// A parsed push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopPush {
    Message(ShopMessage),
    Event(ShopEvent),
}

impl ShopPush {
    /// Parses a decrypted push: JSON when its first non-whitespace character is `{`, XML
    /// otherwise. Missing required fields and malformed bodies are 400s naming the problem.
    pub fn parse(plaintext: &str) -> Result<ShopPush, Rejection> {
        let body = plaintext.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if body.starts_with('{') {
            let value: Value = serde_json::from_str(body)
                .map_err(|e| Rejection::Malformed(format!("malformed JSON: {e}")))?;
            let Value::Object(map) = &value else {
                return Err(Rejection::Malformed("JSON push is not an object".into()));
            };
            parse_from(Source::Json(map), || value.clone())
        } else {
            let doc = xml::parse(body)?;
            parse_from(Source::Xml(&doc), || xml_leaves_to_json(&doc))
        }
    }

    /// Retries of one push share this key: `msg_id` for messages (pushes are retried for about
    /// 3.5 h); buyer + time + event name otherwise.
    pub fn dedup_key(&self) -> String {
        match self {
            ShopPush::Message(m) => ["shop:msg", &m.msg_id].join(":"),
            ShopPush::Event(e) => {
                let mut time = itoa::Buffer::new();
                [
                    "shop:event",
                    &e.openid,
                    time.format(e.create_time),
                    &e.event,
                ]
                .join(":")
            }
        }
    }
}

impl ShopMessage {
    /// One short line for a ticket timeline.
    pub fn timeline_text(&self) -> String {
        match &self.body {
            ShopBody::Text { content } => super::text_line(content),
            ShopBody::Image { cos_url } => format!("[image] {cos_url}"),
            ShopBody::Video {
                play_length: Some(secs),
                cos_url,
                ..
            } => format!("[video {secs}s] {cos_url}"),
            ShopBody::Video { cos_url, .. } => format!("[video] {cos_url}"),
            ShopBody::File { cos_url } => format!("[file] {cos_url}"),
            ShopBody::Voice {
                translated_msg: Some(text),
                translation_succ: true,
                ..
            } if !text.is_empty() => format!("[voice] {text}"),
            ShopBody::Voice { .. } => "[voice] (no translation)".to_owned(),
            ShopBody::ProductShare { product_id } => format!("[product] {product_id}"),
            ShopBody::OrderShare { order_id } => format!("[order] {order_id}"),
            ShopBody::Other { raw_msg_type, .. } if raw_msg_type.is_empty() => {
                "[unknown] (unsupported message type)".to_owned()
            }
            ShopBody::Other { raw_msg_type, .. } => {
                format!("[{raw_msg_type}] (unsupported message type)")
            }
        }
    }

    /// The shared order, for `order_share` messages.
    pub fn order_id(&self) -> Option<&str> {
        match &self.body {
            ShopBody::OrderShare { order_id } => Some(order_id),
            _ => None,
        }
    }
}

impl ShopBody {
    /// `msg_type` as WeChat spells it.
    pub fn type_name(&self) -> Cow<'_, str> {
        let known = match self {
            ShopBody::Text { .. } => Known::Text,
            ShopBody::Image { .. } => Known::Image,
            ShopBody::Video { .. } => Known::Video,
            ShopBody::File { .. } => Known::File,
            ShopBody::Voice { .. } => Known::Voice,
            ShopBody::ProductShare { .. } => Known::ProductShare,
            ShopBody::OrderShare { .. } => Known::OrderShare,
            ShopBody::Other { raw_msg_type, .. } => return Cow::Borrowed(raw_msg_type),
        };
        Cow::Borrowed(known.wire_name())
    }
}

/// The message types this version knows. Their wire names are their `msg_type` and the names
/// of the objects that carry them; `Known::ALL` is the one list of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Text,
    Image,
    Video,
    File,
    Voice,
    ProductShare,
    OrderShare,
}

impl Known {
    const ALL: [Known; 7] = [
        Known::Text,
        Known::Image,
        Known::Video,
        Known::File,
        Known::Voice,
        Known::ProductShare,
        Known::OrderShare,
    ];

    /// A match, not serde: through `serde_json::Value` it carried the Value serializer and
    /// deserializer for this one enum.
    fn wire_name(self) -> &'static str {
        match self {
            Known::Text => "text",
            Known::Image => "image",
            Known::Video => "video",
            Known::File => "file",
            Known::Voice => "voice",
            Known::ProductShare => "product_share",
            Known::OrderShare => "order_share",
        }
    }

    /// The type a `msg_type` names, in any letter case.
    fn named(name: &str) -> Option<Known> {
        Known::ALL
            .into_iter()
            .find(|known| known.wire_name().eq_ignore_ascii_case(name))
    }
}

/// `POST /wechat/shop`, once `callback::open` has authenticated (and decrypted) the push: parse
/// it. The reply is always the plain `success`, never encrypted (seed 001: "回复 success 或空字符串
/// (无需加密)").
pub fn answer(opened: &Opened) -> Result<Answer<ShopPush>, Rejection> {
    Ok(Answer {
        push: ShopPush::parse(&opened.plaintext)?,
        reply: Reply::success(),
    })
}

fn parse_from(src: Source, raw: impl Fn() -> Value) -> Result<ShopPush, Rejection> {
    let shop = src.required_text("ToUserName")?;
    let openid = src.required_text("FromUserName")?;
    let create_time = src
        .int("CreateTime")?
        .ok_or_else(|| missing("CreateTime"))?;
    let event = src.required_text("Event")?;
    if !event.eq_ignore_ascii_case(KF_MESSAGE_EVENT) {
        return Ok(ShopPush::Event(ShopEvent {
            shop,
            openid,
            create_time,
            event,
            raw: raw(),
        }));
    }
    let msg_id = src.id("msg_id")?.ok_or_else(|| missing("msg_id"))?;
    let body = parse_body(&src, raw)?;
    Ok(ShopPush::Message(ShopMessage {
        shop,
        openid,
        create_time,
        msg_id,
        body,
    }))
}

/// The type named by `msg_type`. The seed's table calls `msg_type` an object, so when it is
/// absent or not a string, the type is taken from the single known object the push carries.
fn message_type(src: &Source) -> (Option<Known>, String) {
    let named = match src.lookup("msg_type") {
        Some(Scalar::Str(s)) => Some(s.trim().to_owned()),
        Some(Scalar::Num(n)) => Some(n.to_string()),
        Some(Scalar::Bool(b)) => Some(b.to_string()),
        Some(Scalar::Composite) | None => None,
    };
    if let Some(name) = named.as_deref().filter(|n| !n.is_empty()) {
        let is_text_name = name.bytes().any(|b| b.is_ascii_alphabetic());
        if is_text_name {
            return (Known::named(name), name.to_owned());
        }
    }
    let present: Vec<Known> = Known::ALL
        .into_iter()
        .filter(|t| src.has_object(t.wire_name()))
        .collect();
    let inferred = match present.as_slice() {
        [only] => Some(*only),
        _ => None,
    };
    (inferred, named.unwrap_or_default())
}

fn parse_body(src: &Source, raw: impl Fn() -> Value) -> Result<ShopBody, Rejection> {
    let (known, raw_msg_type) = message_type(src);
    let Some(kind) = known else {
        return Ok(ShopBody::Other {
            raw_msg_type,
            raw: raw(),
        });
    };
    Ok(match kind {
        Known::Text => ShopBody::Text {
            content: src
                .text("text/content")?
                .ok_or_else(|| missing("text.content"))?,
        },
        Known::Image => ShopBody::Image {
            cos_url: src.required_text("image/cos_url")?,
        },
        Known::Video => ShopBody::Video {
            play_length: src.uint("video/play_length")?,
            cos_url: src.required_text("video/cos_url")?,
            ld_img_url: src.text("video/ld_img_url")?.filter(|s| !s.is_empty()),
        },
        Known::File => ShopBody::File {
            cos_url: src.required_text("file/cos_url")?,
        },
        Known::Voice => {
            if !src.has_object("voice") {
                return Err(missing("voice"));
            }
            ShopBody::Voice {
                translated_msg: src.text("voice/translated_msg")?.filter(|s| !s.is_empty()),
                play_length_ms: src.uint("voice/play_length")?,
                translation_succ: src.boolean("voice/translation_succ")?.unwrap_or(false),
            }
        }
        Known::ProductShare => ShopBody::ProductShare {
            product_id: src
                .id("product_share/product_id")?
                .ok_or_else(|| missing("product_share.product_id"))?,
        },
        Known::OrderShare => ShopBody::OrderShare {
            order_id: src
                .id("order_share/order_id")?
                .ok_or_else(|| missing("order_share.order_id"))?,
        },
    })
}

fn missing(field: &str) -> Rejection {
    Rejection::Malformed(format!("missing {field}"))
}

/// `text/content` → `text.content`, for messages.
fn dotted(path: &str) -> String {
    path.replace('/', ".")
}

/// One push in either encoding, read by `/`-separated paths below the root.
enum Source<'a> {
    Json(&'a Map<String, Value>),
    Xml(&'a XmlDoc<'a>),
}

/// A field's value. JSON `null` counts as absent; XML leaves are always strings.
enum Scalar<'a> {
    Str(&'a str),
    Num(&'a Number),
    Bool(bool),
    /// An object or array where a single value was expected.
    Composite,
}

impl<'a> Source<'a> {
    fn lookup(&self, path: &str) -> Option<Scalar<'a>> {
        match self {
            Source::Json(map) => {
                let mut parts = path.split('/');
                let mut value = map.get(parts.next()?)?;
                for part in parts {
                    value = value.as_object()?.get(part)?;
                }
                match value {
                    Value::Null => None,
                    Value::String(s) => Some(Scalar::Str(s)),
                    Value::Number(n) => Some(Scalar::Num(n)),
                    Value::Bool(b) => Some(Scalar::Bool(*b)),
                    Value::Array(_) | Value::Object(_) => Some(Scalar::Composite),
                }
            }
            Source::Xml(doc) => doc.get(path).map(Scalar::Str),
        }
    }

    /// Whether the push carries the object `name` (in XML: an element `<name>`, even empty).
    fn has_object(&self, name: &str) -> bool {
        match self {
            Source::Json(map) => map.get(name).is_some_and(Value::is_object),
            Source::Xml(doc) => doc.leaves().iter().any(|(p, _)| {
                p.strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }),
        }
    }

    /// A string field; JSON numbers are taken in their textual form.
    fn text(&self, path: &str) -> Result<Option<String>, Rejection> {
        match self.lookup(path) {
            None => Ok(None),
            Some(Scalar::Str(s)) => Ok(Some(s.to_owned())),
            Some(Scalar::Num(n)) => Ok(Some(n.to_string())),
            Some(Scalar::Bool(_) | Scalar::Composite) => Err(Rejection::Malformed(format!(
                "{} is not a string",
                dotted(path)
            ))),
        }
    }

    /// A string field that must be present and non-empty.
    fn required_text(&self, path: &str) -> Result<String, Rejection> {
        self.text(path)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| missing(&dotted(path)))
    }

    /// An ID: any non-empty string as sent, or a non-negative JSON integer in its exact
    /// decimal form.
    fn id(&self, path: &str) -> Result<Option<String>, Rejection> {
        match self.lookup(path) {
            None => Ok(None),
            Some(Scalar::Str(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)),
            Some(Scalar::Num(n)) => exact_id(n).map(Some).ok_or_else(|| {
                Rejection::Malformed(format!(
                    "{} is a JSON number that is not an unsigned integer of at most 64 bits; \
                     send it as a string",
                    dotted(path)
                ))
            }),
            Some(Scalar::Bool(_) | Scalar::Composite) => Err(Rejection::Malformed(format!(
                "{} is not a string or number",
                dotted(path)
            ))),
        }
    }

    /// A non-negative integer, from a JSON number or a decimal string; empty means absent.
    fn uint(&self, path: &str) -> Result<Option<u64>, Rejection> {
        self.integer(path, "a non-negative integer", Number::as_u64)
    }

    /// A signed integer, from a JSON number or a decimal string; empty means absent.
    fn int(&self, path: &str) -> Result<Option<i64>, Rejection> {
        self.integer(path, "an integer", Number::as_i64)
    }

    fn integer<T: std::str::FromStr>(
        &self,
        path: &str,
        what: &str,
        from_number: impl Fn(&Number) -> Option<T>,
    ) -> Result<Option<T>, Rejection> {
        let bad = || Rejection::Malformed(format!("{} is not {what}", dotted(path)));
        match self.lookup(path) {
            None => Ok(None),
            Some(Scalar::Num(n)) => from_number(n).map(Some).ok_or_else(bad),
            Some(Scalar::Str(s)) if s.trim().is_empty() => Ok(None),
            Some(Scalar::Str(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(Scalar::Bool(_) | Scalar::Composite) => Err(bad()),
        }
    }

    /// A flag: JSON bool, 0/1, or the strings "true"/"false"/"1"/"0" (any case); empty means
    /// absent.
    fn boolean(&self, path: &str) -> Result<Option<bool>, Rejection> {
        let bad = || Rejection::Malformed(format!("{} is not a boolean", dotted(path)));
        match self.lookup(path) {
            None => Ok(None),
            Some(Scalar::Bool(b)) => Ok(Some(b)),
            Some(Scalar::Num(n)) => match n.as_u64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(bad()),
            },
            Some(Scalar::Str(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Ok(None)
                } else if s == "1" || s.eq_ignore_ascii_case("true") {
                    Ok(Some(true))
                } else if s == "0" || s.eq_ignore_ascii_case("false") {
                    Ok(Some(false))
                } else {
                    Err(bad())
                }
            }
            Some(Scalar::Composite) => Err(bad()),
        }
    }
}

/// The exact decimal form of an unsigned JSON integer, or None when it is negative, fractional,
/// or was too large to be held exactly.
fn exact_id(n: &Number) -> Option<String> {
    if n.is_u64() {
        return Some(n.to_string());
    }
    // Only reachable if serde_json is ever built with `arbitrary_precision`: then an integer
    // beyond u64 is neither u64, i64 nor f64, and its text is exact.
    let text = n.to_string();
    (!n.is_i64() && !n.is_f64() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// The leaves of an XML push as a JSON object shaped like the JSON encoding: `text/content` →
/// `{"text":{"content":…}}`. A path seen more than once becomes an array of its texts, in
/// document order. A leaf whose path collides with a leaf or group of another shape (never sent
/// by WeChat) is kept under its full path at the top level, so nothing is lost.
fn xml_leaves_to_json(doc: &XmlDoc) -> Value {
    let mut root = Map::new();
    for (path, text) in doc.leaves() {
        if !insert_leaf(&mut root, path, text) {
            insert_leaf_flat(&mut root, path, text);
        }
    }
    Value::Object(root)
}

fn insert_leaf(map: &mut Map<String, Value>, path: &str, text: &str) -> bool {
    match path.split_once('/') {
        Some((head, rest)) => match map
            .entry(head.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(inner) => insert_leaf(inner, rest, text),
            _ => false,
        },
        None => match map.get_mut(path) {
            None => {
                map.insert(path.to_owned(), Value::String(text.to_owned()));
                true
            }
            Some(Value::Array(items)) => {
                items.push(Value::String(text.to_owned()));
                true
            }
            Some(existing @ Value::String(_)) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(text.to_owned())]);
                true
            }
            Some(_) => false,
        },
    }
}

fn insert_leaf_flat(map: &mut Map<String, Value>, path: &str, text: &str) {
    match map.get_mut(path) {
        None => {
            map.insert(path.to_owned(), Value::String(text.to_owned()));
        }
        Some(Value::Array(items)) => items.push(Value::String(text.to_owned())),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, Value::String(text.to_owned())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHOP: &str = "gh_shop_1a2b3c";
    const OPENID: &str = "oXy1w5Buyer_OpenId-9";
    const TIME: i64 = 1_730_361_600;
    const MSG_ID: &str = "7433221455238430721";
    const COS: &str = "https://channels.weixin.qq.com/shop/commkf/downloadmedia?encrypted_param=abcDEF&timestamp=1730361600&openid=oXy1w5Buyer_OpenId-9&msg_type=2";
    const COS_VIDEO: &str = "https://channels.weixin.qq.com/shop/commkf/downloadmedia?encrypted_param=vidEnc&timestamp=1730361600&openid=oXy1w5Buyer_OpenId-9&msg_type=7";
    const COS_FILE: &str = "https://channels.weixin.qq.com/shop/commkf/downloadmedia?encrypted_param=fileEnc&timestamp=1730361600&openid=oXy1w5Buyer_OpenId-9&msg_type=8";

    /// A JSON push: the envelope plus `extra` top-level members (without braces).
    fn json_push(extra: &str) -> String {
        format!(
            r#"{{"ToUserName":"{SHOP}","FromUserName":"{OPENID}","CreateTime":{TIME},"MsgType":"event","Event":"commkf_send_msg_to_kf",{extra}}}"#
        )
    }

    /// An XML push: the envelope plus `extra` elements.
    fn xml_push(extra: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[{SHOP}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>{TIME}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[commkf_send_msg_to_kf]]></Event>{extra}</xml>"
        )
    }

    fn xml_escape(s: &str) -> String {
        s.replace('&', "&amp;")
    }

    fn message(body: ShopBody) -> ShopPush {
        ShopPush::Message(ShopMessage {
            shop: SHOP.into(),
            openid: OPENID.into(),
            create_time: TIME,
            msg_id: MSG_ID.into(),
            body,
        })
    }

    fn parse_ok(input: &str) -> ShopPush {
        ShopPush::parse(input).unwrap_or_else(|e| panic!("{input}: {}", e))
    }

    fn parse_err(input: &str) -> Rejection {
        let err = ShopPush::parse(input).expect_err(input);
        assert_eq!(err.status(), 400, "{input}: {}", err);
        err
    }

    fn body_of(push: &ShopPush) -> &ShopBody {
        match push {
            ShopPush::Message(m) => &m.body,
            other => panic!("not a message: {other:?}"),
        }
    }

    /// Every known type as (JSON members, XML elements, expected body).
    fn every_type() -> Vec<(String, String, ShopBody)> {
        vec![
            (
                format!(r#""msg_id":"{MSG_ID}","msg_type":"text","text":{{"content":"测试消息123 <b>&</b>"}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>text</msg_type><text><content><![CDATA[测试消息123 <b>&</b>]]></content></text>"),
                ShopBody::Text { content: "测试消息123 <b>&</b>".into() },
            ),
            (
                format!(r#""msg_id":{MSG_ID},"msg_type":"image","image":{{"cos_url":"{COS}"}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>image</msg_type><image><cos_url>{}</cos_url></image>", xml_escape(COS)),
                ShopBody::Image { cos_url: COS.into() },
            ),
            (
                format!(r#""msg_id":"{MSG_ID}","msg_type":"video","video":{{"play_length":3224,"cos_url":"{COS_VIDEO}","ld_img_url":"{COS}"}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>video</msg_type><video><play_length>3224</play_length><cos_url><![CDATA[{COS_VIDEO}]]></cos_url><ld_img_url><![CDATA[{COS}]]></ld_img_url></video>"),
                ShopBody::Video { play_length: Some(3224), cos_url: COS_VIDEO.into(), ld_img_url: Some(COS.into()) },
            ),
            (
                format!(r#""msg_id":"{MSG_ID}","msg_type":"file","file":{{"cos_url":"{COS_FILE}"}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>file</msg_type><file><cos_url><![CDATA[{COS_FILE}]]></cos_url></file>"),
                ShopBody::File { cos_url: COS_FILE.into() },
            ),
            (
                format!(r#""msg_id":"{MSG_ID}","msg_type":"voice","voice":{{"translated_msg":"您好,问一下这个商品如何下单","play_length":2287,"translation_succ":true}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>voice</msg_type><voice><translated_msg><![CDATA[您好,问一下这个商品如何下单]]></translated_msg><play_length>2287</play_length><translation_succ>true</translation_succ></voice>"),
                ShopBody::Voice { translated_msg: Some("您好,问一下这个商品如何下单".into()), play_length_ms: Some(2287), translation_succ: true },
            ),
            (
                format!(r#""msg_id":"{MSG_ID}","msg_type":"product_share","product_share":{{"product_id":"10000180459876543"}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>product_share</msg_type><product_share><product_id>10000180459876543</product_id></product_share>"),
                ShopBody::ProductShare { product_id: "10000180459876543".into() },
            ),
            (
                format!(r#""msg_id":"{MSG_ID}","msg_type":"order_share","order_share":{{"order_id":"3726522260112345678"}}"#),
                format!("<msg_id>{MSG_ID}</msg_id><msg_type>order_share</msg_type><order_share><order_id><![CDATA[3726522260112345678]]></order_id></order_share>"),
                ShopBody::OrderShare { order_id: "3726522260112345678".into() },
            ),
        ]
    }

    #[test]
    fn every_type_parses_equally_from_json_and_xml() {
        for (json_members, xml_elements, want) in every_type() {
            let from_json = parse_ok(&json_push(&json_members));
            let from_xml = parse_ok(&xml_push(&xml_elements));
            assert_eq!(from_json, message(want.clone()), "{json_members}");
            assert_eq!(from_xml, from_json, "{xml_elements}");
            assert_eq!(from_json.dedup_key(), format!("shop:msg:{MSG_ID}"));
            assert_eq!(from_xml.dedup_key(), from_json.dedup_key());
            let ShopPush::Message(m) = &from_json else {
                panic!("{from_json:?}")
            };
            assert_eq!(
                (m.shop.as_str(), m.openid.as_str(), m.create_time),
                (SHOP, OPENID, TIME)
            );
        }
    }

    #[test]
    fn type_names_match_msg_type() {
        for (json_members, _, want) in every_type() {
            let name = want.type_name().into_owned();
            assert!(
                json_members.contains(&format!(r#""msg_type":"{name}""#)),
                "{name}"
            );
            assert!(Known::named(&name).is_some());
        }
    }

    #[test]
    fn ids_above_2_pow_53_survive_as_json_numbers_and_strings() {
        let cases = [
            ("18446744073709551615", "9007199254740993"),
            ("9007199254740993", "18446744073709551615"),
            ("9007199254740992", "0"),
        ];
        for (msg_id, order_id) in cases {
            let as_numbers = json_push(&format!(
                r#""msg_id":{msg_id},"msg_type":"order_share","order_share":{{"order_id":{order_id}}}"#
            ));
            let as_strings = json_push(&format!(
                r#""msg_id":"{msg_id}","msg_type":"order_share","order_share":{{"order_id":"{order_id}"}}"#
            ));
            let as_xml = xml_push(&format!(
                "<msg_id>{msg_id}</msg_id><msg_type>order_share</msg_type><order_share><order_id>{order_id}</order_id></order_share>"
            ));
            let want = ShopPush::Message(ShopMessage {
                shop: SHOP.into(),
                openid: OPENID.into(),
                create_time: TIME,
                msg_id: msg_id.into(),
                body: ShopBody::OrderShare {
                    order_id: order_id.into(),
                },
            });
            assert_eq!(parse_ok(&as_numbers), want);
            assert_eq!(parse_ok(&as_strings), want);
            assert_eq!(parse_ok(&as_xml), want);
            assert_eq!(want.dedup_key(), format!("shop:msg:{msg_id}"));
        }
        let product = json_push(
            r#""msg_id":9007199254740993,"msg_type":"product_share","product_share":{"product_id":18446744073709551615}"#,
        );
        let ShopPush::Message(m) = parse_ok(&product) else {
            panic!()
        };
        assert_eq!(m.msg_id, "9007199254740993");
        assert_eq!(
            m.body,
            ShopBody::ProductShare {
                product_id: "18446744073709551615".into()
            }
        );
    }

    #[test]
    fn ids_that_cannot_be_kept_exactly_as_numbers_are_refused() {
        for bad in [
            "18446744073709551616",
            "99999999999999999999999",
            "-5",
            "1.5",
            "1e3",
        ] {
            let err = parse_err(&json_push(&format!(
                r#""msg_id":{bad},"msg_type":"text","text":{{"content":"hi"}}"#
            )));
            assert!(err.to_string().contains("msg_id"), "{bad}: {}", err);
            assert!(
                err.to_string().contains("send it as a string"),
                "{}",
                err.to_string()
            );
            let err = parse_err(&json_push(&format!(
                r#""msg_id":"1","msg_type":"order_share","order_share":{{"order_id":{bad}}}"#
            )));
            assert!(
                err.to_string().contains("order_share.order_id"),
                "{}",
                err.to_string()
            );
        }
        // The same values as strings are kept as sent.
        let push = parse_ok(&json_push(
            r#""msg_id":"18446744073709551616","msg_type":"order_share","order_share":{"order_id":"99999999999999999999999"}"#,
        ));
        let ShopPush::Message(m) = push else { panic!() };
        assert_eq!(m.msg_id, "18446744073709551616");
        assert_eq!(m.order_id(), Some("99999999999999999999999"));
        // Booleans and objects are not IDs.
        for bad in ["true", "{}", "[1]"] {
            let err = parse_err(&json_push(&format!(
                r#""msg_id":{bad},"msg_type":"text","text":{{"content":"hi"}}"#
            )));
            assert_eq!(err.to_string(), "msg_id is not a string or number");
        }
    }

    #[test]
    fn translation_succ_accepts_bools_numbers_and_strings() {
        let cases: &[(&str, bool)] = &[
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            (r#""true""#, true),
            (r#""false""#, false),
            (r#""1""#, true),
            (r#""0""#, false),
            (r#""TRUE""#, true),
            (r#""False""#, false),
            ("null", false),
            (r#""""#, false),
        ];
        for (json_value, want) in cases {
            let push = parse_ok(&json_push(&format!(
                r#""msg_id":"1","msg_type":"voice","voice":{{"translated_msg":"在吗","play_length":900,"translation_succ":{json_value}}}"#
            )));
            let ShopBody::Voice {
                translation_succ, ..
            } = body_of(&push)
            else {
                panic!()
            };
            assert_eq!(translation_succ, want, "{json_value}");
        }
        for (xml_value, want) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            (" True ", true),
            ("", false),
        ] {
            let push = parse_ok(&xml_push(&format!(
                "<msg_id>1</msg_id><msg_type>voice</msg_type><voice><translated_msg>在吗</translated_msg><play_length>900</play_length><translation_succ>{xml_value}</translation_succ></voice>"
            )));
            let ShopBody::Voice {
                translation_succ, ..
            } = body_of(&push)
            else {
                panic!()
            };
            assert_eq!(*translation_succ, want, "{xml_value:?}");
        }
    }

    #[test]
    fn translation_succ_absent_means_false_and_garbage_is_refused() {
        let json = parse_ok(&json_push(
            r#""msg_id":"1","msg_type":"voice","voice":{"play_length":1500}"#,
        ));
        let xml = parse_ok(&xml_push(
            "<msg_id>1</msg_id><msg_type>voice</msg_type><voice><play_length>1500</play_length></voice>",
        ));
        let want = ShopBody::Voice {
            translated_msg: None,
            play_length_ms: Some(1500),
            translation_succ: false,
        };
        assert_eq!(body_of(&json), &want);
        assert_eq!(body_of(&xml), &want);
        let empty = ShopBody::Voice {
            translated_msg: None,
            play_length_ms: None,
            translation_succ: false,
        };
        for xml in [
            "<voice></voice>",
            "<voice/>",
            "<voice><translated_msg/></voice>",
        ] {
            let push = parse_ok(&xml_push(&format!(
                "<msg_id>1</msg_id><msg_type>voice</msg_type>{xml}"
            )));
            assert_eq!(body_of(&push), &empty, "{xml}");
        }
        let push = parse_ok(&json_push(r#""msg_id":"1","msg_type":"voice","voice":{}"#));
        assert_eq!(body_of(&push), &empty);
        assert_eq!(
            ShopMessage {
                shop: SHOP.into(),
                openid: OPENID.into(),
                create_time: TIME,
                msg_id: "1".into(),
                body: empty,
            }
            .timeline_text(),
            "[voice] (no translation)"
        );
        for bad in ["2", "-1", "0.5", r#""yes""#, r#""2""#, "{}", "[]"] {
            let err = parse_err(&json_push(&format!(
                r#""msg_id":"1","msg_type":"voice","voice":{{"translation_succ":{bad}}}"#
            )));
            assert_eq!(
                err.to_string(),
                "voice.translation_succ is not a boolean",
                "{bad}"
            );
        }
        let err = parse_err(&xml_push(
            "<msg_id>1</msg_id><msg_type>voice</msg_type><voice><translation_succ>yes</translation_succ></voice>",
        ));
        assert_eq!(err.to_string(), "voice.translation_succ is not a boolean");
    }

    #[test]
    fn numbers_may_be_strings_but_must_be_integers() {
        let push = parse_ok(
            &json_push(&format!(
                r#""msg_id":"1","msg_type":"video","video":{{"play_length":"32","cos_url":"{COS_VIDEO}"}}"#
            ))
            .replace(&format!("\"CreateTime\":{TIME}"), &format!("\"CreateTime\":\"{TIME}\"")),
        );
        let ShopPush::Message(m) = &push else {
            panic!("{push:?}")
        };
        assert_eq!(m.create_time, TIME);
        assert_eq!(
            body_of(&push),
            &ShopBody::Video {
                play_length: Some(32),
                cos_url: COS_VIDEO.into(),
                ld_img_url: None
            }
        );
        for bad in ["-1", "3.5", r#""abc""#, "true", "18446744073709551616"] {
            let err = parse_err(&json_push(&format!(
                r#""msg_id":"1","msg_type":"video","video":{{"play_length":{bad},"cos_url":"{COS_VIDEO}"}}"#
            )));
            assert_eq!(
                err.to_string(),
                "video.play_length is not a non-negative integer",
                "{bad}"
            );
            let err = parse_err(&json_push(&format!(
                r#""msg_id":"1","msg_type":"voice","voice":{{"play_length":{bad}}}"#
            )));
            assert_eq!(
                err.to_string(),
                "voice.play_length is not a non-negative integer",
                "{bad}"
            );
        }
        let err = parse_err(&xml_push(
            "<msg_id>1</msg_id><msg_type>voice</msg_type><voice><play_length>2.2s</play_length></voice>",
        ));
        assert_eq!(
            err.to_string(),
            "voice.play_length is not a non-negative integer"
        );
        for bad in [r#""soon""#, "1.5", "true", "9223372036854775808"] {
            let input = json_push(r#""msg_id":"1","msg_type":"text","text":{"content":"x"}"#)
                .replace(
                    &format!("\"CreateTime\":{TIME}"),
                    &format!("\"CreateTime\":{bad}"),
                );
            assert_eq!(
                parse_err(&input).to_string(),
                "CreateTime is not an integer",
                "{bad}"
            );
        }
        let input = xml_push(
            "<msg_id>1</msg_id><msg_type>text</msg_type><text><content>x</content></text>",
        )
        .replace(
            &format!("<CreateTime>{TIME}</CreateTime>"),
            "<CreateTime>yesterday</CreateTime>",
        );
        assert_eq!(
            parse_err(&input).to_string(),
            "CreateTime is not an integer"
        );
    }

    #[test]
    fn empty_optional_fields_are_absent() {
        let json = parse_ok(&json_push(&format!(
            r#""msg_id":"1","msg_type":"video","video":{{"play_length":"","cos_url":"{COS_VIDEO}","ld_img_url":""}}"#
        )));
        let xml = parse_ok(&xml_push(&format!(
            "<msg_id>1</msg_id><msg_type>video</msg_type><video><play_length/><cos_url><![CDATA[{COS_VIDEO}]]></cos_url><ld_img_url></ld_img_url></video>"
        )));
        let want = ShopBody::Video {
            play_length: None,
            cos_url: COS_VIDEO.into(),
            ld_img_url: None,
        };
        assert_eq!(body_of(&json), &want);
        assert_eq!(body_of(&xml), &want);
        // Empty text is still a message (content is present).
        let push = parse_ok(&json_push(
            r#""msg_id":"1","msg_type":"text","text":{"content":""}"#,
        ));
        assert_eq!(
            body_of(&push),
            &ShopBody::Text {
                content: String::new()
            }
        );
    }

    #[test]
    fn unknown_msg_type_is_kept_raw_and_acknowledged() {
        let json = json_push(
            r#""msg_id":18446744073709551615,"msg_type":"mini_program","mini_program":{"appid":"wx123","title":"领券","page_path":"pages/index"}"#,
        );
        let push = parse_ok(&json);
        let ShopPush::Message(m) = &push else {
            panic!()
        };
        assert_eq!(m.msg_id, "18446744073709551615");
        let ShopBody::Other { raw_msg_type, raw } = &m.body else {
            panic!("{m:?}")
        };
        assert_eq!(raw_msg_type, "mini_program");
        assert_eq!(raw, &serde_json::from_str::<Value>(&json).unwrap());
        assert_eq!(raw["mini_program"]["title"], "领券");
        assert_eq!(raw["msg_id"].to_string(), "18446744073709551615");
        assert_eq!(m.body.type_name(), "mini_program");
        assert_eq!(
            m.timeline_text(),
            "[mini_program] (unsupported message type)"
        );
        assert_eq!(push.dedup_key(), "shop:msg:18446744073709551615");

        let xml = xml_push(
            "<msg_id>7433221455238430721</msg_id><msg_type>mini_program</msg_type><mini_program><appid>wx123</appid><title><![CDATA[领券]]></title><page_path>pages/index</page_path></mini_program>",
        );
        let push = parse_ok(&xml);
        let ShopBody::Other { raw_msg_type, raw } = body_of(&push) else {
            panic!()
        };
        assert_eq!(raw_msg_type, "mini_program");
        assert_eq!(
            raw,
            &json!({
                "ToUserName": SHOP,
                "FromUserName": OPENID,
                "CreateTime": TIME.to_string(),
                "MsgType": "event",
                "Event": "commkf_send_msg_to_kf",
                "msg_id": MSG_ID,
                "msg_type": "mini_program",
                "mini_program": {"appid": "wx123", "title": "领券", "page_path": "pages/index"},
            })
        );
    }

    #[test]
    fn unknown_msg_type_wins_over_a_known_object() {
        let push = parse_ok(&json_push(
            r#""msg_id":"1","msg_type":"emoji","text":{"content":"[微笑]"}"#,
        ));
        let ShopBody::Other { raw_msg_type, .. } = body_of(&push) else {
            panic!()
        };
        assert_eq!(raw_msg_type, "emoji");
    }

    #[test]
    fn msg_type_absent_or_not_a_name_is_taken_from_the_single_object() {
        let want = ShopBody::OrderShare {
            order_id: "3726522260112345678".into(),
        };
        for members in [
            r#""msg_id":"1","order_share":{"order_id":"3726522260112345678"}"#,
            r#""msg_id":"1","msg_type":7,"order_share":{"order_id":"3726522260112345678"}"#,
            r#""msg_id":"1","msg_type":{"order_share":{}},"order_share":{"order_id":"3726522260112345678"}"#,
            r#""msg_id":"1","msg_type":"","order_share":{"order_id":"3726522260112345678"}"#,
        ] {
            assert_eq!(body_of(&parse_ok(&json_push(members))), &want, "{members}");
        }
        let xml = xml_push(
            "<msg_id>1</msg_id><order_share><order_id>3726522260112345678</order_id></order_share>",
        );
        assert_eq!(body_of(&parse_ok(&xml)), &want);
        // Case of a named type does not matter.
        let push = parse_ok(&json_push(
            r#""msg_id":"1","msg_type":"TEXT","text":{"content":"hi"}"#,
        ));
        assert_eq!(
            body_of(&push),
            &ShopBody::Text {
                content: "hi".into()
            }
        );
        // No object, or more than one: kept raw under the number sent (or nothing).
        let push = parse_ok(&json_push(r#""msg_id":"1","msg_type":99"#));
        let ShopBody::Other { raw_msg_type, .. } = body_of(&push) else {
            panic!()
        };
        assert_eq!(raw_msg_type, "99");
        let push = parse_ok(&json_push(
            r#""msg_id":"1","text":{"content":"a"},"image":{"cos_url":"u"}"#,
        ));
        let ShopPush::Message(m) = &push else {
            panic!()
        };
        assert!(matches!(&m.body, ShopBody::Other { raw_msg_type, .. } if raw_msg_type.is_empty()));
        assert_eq!(m.timeline_text(), "[unknown] (unsupported message type)");
    }

    #[test]
    fn other_events_are_kept_raw_in_both_encodings() {
        let json = format!(
            r#"{{"ToUserName":"{SHOP}","FromUserName":"{OPENID}","CreateTime":{TIME},"MsgType":"event","Event":"commkf_kf_session_close","session_id":18446744073709551615}}"#
        );
        let push = parse_ok(&json);
        assert_eq!(
            push,
            ShopPush::Event(ShopEvent {
                shop: SHOP.into(),
                openid: OPENID.into(),
                create_time: TIME,
                event: "commkf_kf_session_close".into(),
                raw: serde_json::from_str(&json).unwrap(),
            })
        );
        assert_eq!(
            push.dedup_key(),
            format!("shop:event:{OPENID}:{TIME}:commkf_kf_session_close")
        );

        let xml = format!(
            "<xml><ToUserName>{SHOP}</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>{TIME}</CreateTime><MsgType>event</MsgType><Event><![CDATA[product_spu_audit]]></Event><ProductSpuAudit><product_id>10000180459876543</product_id><status>3</status></ProductSpuAudit></xml>"
        );
        let push = parse_ok(&xml);
        assert_eq!(
            push,
            ShopPush::Event(ShopEvent {
                shop: SHOP.into(),
                openid: OPENID.into(),
                create_time: TIME,
                event: "product_spu_audit".into(),
                raw: json!({
                    "ToUserName": SHOP,
                    "FromUserName": OPENID,
                    "CreateTime": TIME.to_string(),
                    "MsgType": "event",
                    "Event": "product_spu_audit",
                    "ProductSpuAudit": {"product_id": "10000180459876543", "status": "3"},
                }),
            })
        );
        assert_eq!(
            push.dedup_key(),
            format!("shop:event:{OPENID}:{TIME}:product_spu_audit")
        );
        // Other events need no msg_id or message object.
        let no_msg = xml.replace("product_spu_audit", "order_cancel");
        assert!(matches!(parse_ok(&no_msg), ShopPush::Event(_)));
    }

    #[test]
    fn xml_raw_keeps_repeated_and_colliding_leaves() {
        let doc = xml::parse(
            "<xml><a>1</a><a>2</a><a>3</a><g><x>p</x></g><g><x>q</x><y>r</y></g><g/><s>t</s><s><z>1</z></s></xml>",
        )
        .unwrap();
        assert_eq!(
            xml_leaves_to_json(&doc),
            json!({
                "a": ["1", "2", "3"],
                // `<g/>` collides with the group `g` at the top level: both kept.
                "g": [{"x": ["p", "q"], "y": "r"}, ""],
                "s": "t",
                // A group under a name already used by a leaf: kept under its full path.
                "s/z": "1",
            })
        );
    }

    #[test]
    fn missing_required_fields_are_400s_naming_the_field() {
        let full_json = json_push(r#""msg_id":"1","msg_type":"text","text":{"content":"hi"}"#);
        let full_xml = xml_push(
            "<msg_id>1</msg_id><msg_type>text</msg_type><text><content>hi</content></text>",
        );
        for field in ["ToUserName", "FromUserName", "CreateTime", "Event"] {
            let mut value: Value = serde_json::from_str(&full_json).unwrap();
            value.as_object_mut().unwrap().remove(field);
            assert_eq!(
                parse_err(&value.to_string()).to_string(),
                format!("missing {field}")
            );
            value[field] = Value::Null;
            assert_eq!(
                parse_err(&value.to_string()).to_string(),
                format!("missing {field}")
            );
            value[field] = json!("");
            assert_eq!(
                parse_err(&value.to_string()).to_string(),
                format!("missing {field}")
            );

            let start = full_xml.find(&format!("<{field}>")).unwrap();
            let end_tag = format!("</{field}>");
            let end = full_xml.find(&end_tag).unwrap() + end_tag.len();
            let mut xml = full_xml.clone();
            xml.replace_range(start..end, "");
            assert_eq!(parse_err(&xml).to_string(), format!("missing {field}"));
            let mut empty = full_xml.clone();
            empty.replace_range(start..end, &format!("<{field}></{field}>"));
            assert_eq!(parse_err(&empty).to_string(), format!("missing {field}"));
        }

        let cases: &[(&str, &str, &str)] = &[
            (
                r#""msg_type":"text","text":{"content":"hi"}"#,
                "<msg_type>text</msg_type><text><content>hi</content></text>",
                "msg_id",
            ),
            (
                r#""msg_id":"  ","msg_type":"text","text":{"content":"hi"}"#,
                "<msg_id></msg_id><msg_type>text</msg_type><text><content>hi</content></text>",
                "msg_id",
            ),
            (
                r#""msg_id":"1","msg_type":"text""#,
                "<msg_id>1</msg_id><msg_type>text</msg_type>",
                "text.content",
            ),
            (
                r#""msg_id":"1","msg_type":"text","text":{}"#,
                "<msg_id>1</msg_id><msg_type>text</msg_type><text><other>x</other></text>",
                "text.content",
            ),
            (
                r#""msg_id":"1","msg_type":"image","image":{"cos_url":""}"#,
                "<msg_id>1</msg_id><msg_type>image</msg_type><image><cos_url/></image>",
                "image.cos_url",
            ),
            (
                r#""msg_id":"1","msg_type":"video","video":{"play_length":5}"#,
                "<msg_id>1</msg_id><msg_type>video</msg_type><video><play_length>5</play_length></video>",
                "video.cos_url",
            ),
            (
                r#""msg_id":"1","msg_type":"file","file":{}"#,
                "<msg_id>1</msg_id><msg_type>file</msg_type><file></file>",
                "file.cos_url",
            ),
            (
                r#""msg_id":"1","msg_type":"voice""#,
                "<msg_id>1</msg_id><msg_type>voice</msg_type>",
                "voice",
            ),
            (
                r#""msg_id":"1","msg_type":"product_share","product_share":{"product_id":null}"#,
                "<msg_id>1</msg_id><msg_type>product_share</msg_type><product_share><product_id></product_id></product_share>",
                "product_share.product_id",
            ),
            (
                r#""msg_id":"1","msg_type":"order_share","order_share":{"other":"3726"}"#,
                "<msg_id>1</msg_id><msg_type>order_share</msg_type><order_id>3726</order_id>",
                "order_share.order_id",
            ),
        ];
        for (json_members, xml_elements, field) in cases {
            let want = format!("missing {field}");
            assert_eq!(
                parse_err(&json_push(json_members)).to_string(),
                want,
                "{json_members}"
            );
            assert_eq!(
                parse_err(&xml_push(xml_elements)).to_string(),
                want,
                "{xml_elements}"
            );
        }
    }

    #[test]
    fn wrongly_typed_fields_are_400s() {
        let cases: &[(&str, &str)] = &[
            (
                r#""msg_id":"1","msg_type":"text","text":{"content":{"zh":"hi"}}"#,
                "text.content is not a string",
            ),
            (
                r#""msg_id":"1","msg_type":"text","text":"hi""#,
                "missing text.content",
            ),
            (
                r#""msg_id":"1","msg_type":"image","image":{"cos_url":true}"#,
                "image.cos_url is not a string",
            ),
        ];
        for (members, want) in cases {
            assert_eq!(
                &parse_err(&json_push(members)).to_string(),
                want,
                "{members}"
            );
        }
        let input = json_push(r#""msg_id":"1","msg_type":"text","text":{"content":"x"}"#).replace(
            &format!("\"ToUserName\":\"{SHOP}\""),
            "\"ToUserName\":[\"a\"]",
        );
        assert_eq!(parse_err(&input).to_string(), "ToUserName is not a string");
    }

    #[test]
    fn malformed_bodies_are_400s() {
        for input in [
            "{",
            r#"{"ToUserName":"gh""#,
            r#"{"ToUserName":"gh",}"#,
            "{} trailing",
            "{'ToUserName':'gh'}",
        ] {
            assert!(
                parse_err(input).to_string().starts_with("malformed JSON"),
                "{input}"
            );
        }
        for input in ["[1,2]", "\"text\"", "123"] {
            // Not starting with `{`: read as XML, which refuses it.
            parse_err(input);
        }
        for input in [
            "",
            "   \n",
            "<xml><ToUserName>gh</ToUserName>",
            "<xml><ToUserName>gh</FromUserName></xml>",
            "<!DOCTYPE xml [<!ENTITY x \"y\">]><xml><ToUserName>&x;</ToUserName></xml>",
            "<xml><a><b><c><d>1</d></c></b></a></xml>",
            "ToUserName=gh",
        ] {
            parse_err(input);
        }
    }

    #[test]
    fn detects_json_after_whitespace_and_bom() {
        let members = r#""msg_id":"1","msg_type":"text","text":{"content":"hi"}"#;
        let plain = parse_ok(&json_push(members));
        assert_eq!(parse_ok(&format!("\n\t  {}", json_push(members))), plain);
        assert_eq!(parse_ok(&format!("\u{feff}{}", json_push(members))), plain);
        let xml = xml_push(
            "<msg_id>1</msg_id><msg_type>text</msg_type><text><content>hi</content></text>",
        );
        assert_eq!(
            parse_ok(&format!(
                "\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}"
            )),
            plain
        );
    }

    #[test]
    fn event_name_and_msg_type_ignore_case() {
        let input =
            json_push(r#""msg_id":"1","msg_type":"Order_Share","order_share":{"order_id":"42"}"#)
                .replace("commkf_send_msg_to_kf", "COMMKF_SEND_MSG_TO_KF");
        let ShopPush::Message(m) = parse_ok(&input) else {
            panic!()
        };
        assert_eq!(m.order_id(), Some("42"));
    }

    #[test]
    fn timeline_text_for_every_type() {
        let cases = [
            (
                ShopBody::Text {
                    content: "这个什么时候发货?".into(),
                },
                "这个什么时候发货?".to_owned(),
            ),
            (
                ShopBody::Image {
                    cos_url: COS.into(),
                },
                format!("[image] {COS}"),
            ),
            (
                ShopBody::Video {
                    play_length: Some(32),
                    cos_url: COS_VIDEO.into(),
                    ld_img_url: Some(COS.into()),
                },
                format!("[video 32s] {COS_VIDEO}"),
            ),
            (
                ShopBody::Video {
                    play_length: None,
                    cos_url: COS_VIDEO.into(),
                    ld_img_url: None,
                },
                format!("[video] {COS_VIDEO}"),
            ),
            (
                ShopBody::File {
                    cos_url: COS_FILE.into(),
                },
                format!("[file] {COS_FILE}"),
            ),
            (
                ShopBody::Voice {
                    translated_msg: Some("您好".into()),
                    play_length_ms: Some(2287),
                    translation_succ: true,
                },
                "[voice] 您好".to_owned(),
            ),
            (
                ShopBody::Voice {
                    translated_msg: Some("您好".into()),
                    play_length_ms: Some(2287),
                    translation_succ: false,
                },
                "[voice] (no translation)".to_owned(),
            ),
            (
                ShopBody::Voice {
                    translated_msg: None,
                    play_length_ms: None,
                    translation_succ: true,
                },
                "[voice] (no translation)".to_owned(),
            ),
            (
                ShopBody::Voice {
                    translated_msg: Some(String::new()),
                    play_length_ms: None,
                    translation_succ: true,
                },
                "[voice] (no translation)".to_owned(),
            ),
            (
                ShopBody::ProductShare {
                    product_id: "10000180459876543".into(),
                },
                "[product] 10000180459876543".to_owned(),
            ),
            (
                ShopBody::OrderShare {
                    order_id: "3726522260112345678".into(),
                },
                "[order] 3726522260112345678".to_owned(),
            ),
            (
                ShopBody::Other {
                    raw_msg_type: "emoji".into(),
                    raw: json!({}),
                },
                "[emoji] (unsupported message type)".to_owned(),
            ),
        ];
        for (body, want) in cases {
            let ShopPush::Message(m) = message(body) else {
                panic!()
            };
            assert_eq!(m.timeline_text(), want);
        }
    }

    #[test]
    fn order_id_only_for_order_shares() {
        for (_, _, body) in every_type() {
            let ShopPush::Message(m) = message(body.clone()) else {
                panic!()
            };
            match &body {
                ShopBody::OrderShare { order_id } => {
                    assert_eq!(m.order_id(), Some(order_id.as_str()))
                }
                _ => assert_eq!(m.order_id(), None),
            }
        }
    }

    mod answer {
        use super::*;
        use crate::wechat::callback::tests::{encrypted_push, endpoint, plain_query, NOW};
        use crate::wechat::callback::{self, CallbackQuery};
        use crate::wechat::crypto::signature;

        /// The push opened as the route opens it, then answered.
        fn answered(query: &CallbackQuery, body: &str) -> Result<Answer<ShopPush>, Rejection> {
            let opened = callback::open(query, body.as_bytes(), &endpoint(), NOW)?;
            super::super::answer(&opened)
        }

        fn accepted(query: &CallbackQuery, body: &str) -> Answer<ShopPush> {
            answered(query, body).unwrap_or_else(|e| panic!("{body}: {} {}", e.status(), e))
        }

        fn refused(query: &CallbackQuery, body: &str) -> Rejection {
            answered(query, body).expect_err(body)
        }

        /// The same push in a JSON envelope: `{"ToUserName":…,"Encrypt":…}`.
        fn json_envelope(xml_envelope: &str) -> String {
            let doc = xml::parse(xml_envelope).unwrap();
            json!({ "ToUserName": SHOP, "Encrypt": doc.get("Encrypt").unwrap() }).to_string()
        }

        fn expect_message(accepted: &Answer<ShopPush>, body: &ShopBody) {
            assert_eq!(accepted.reply, Reply::success());
            assert_eq!(accepted.push.dedup_key(), format!("shop:msg:{MSG_ID}"));
            assert_eq!(accepted.push, message(body.clone()));
        }

        #[test]
        fn every_type_plain_and_encrypted_in_json_and_xml() {
            for (json_members, xml_elements, want) in every_type() {
                for plaintext in [json_push(&json_members), xml_push(&xml_elements)] {
                    expect_message(&accepted(&plain_query(NOW), &plaintext), &want);
                    let (query, envelope) = encrypted_push(&plaintext, NOW);
                    expect_message(&accepted(&query, &envelope), &want);
                    expect_message(&accepted(&query, &json_envelope(&envelope)), &want);
                }
            }
        }

        #[test]
        fn other_events_are_accepted_and_kept_raw() {
            let plaintext =
                json_push(r#""x":18446744073709551615"#).replace(KF_MESSAGE_EVENT, "kf_other");
            let (query, envelope) = encrypted_push(&plaintext, NOW);
            let body = json_envelope(&envelope);
            let got = accepted(&query, &body);
            assert_eq!(got.reply, Reply::success());
            assert_eq!(
                got.push.dedup_key(),
                format!("shop:event:{OPENID}:{TIME}:kf_other")
            );
            let ShopPush::Event(ShopEvent {
                shop,
                openid,
                create_time,
                event,
                raw,
            }) = &got.push
            else {
                panic!("{:?}", got.push)
            };
            assert_eq!(
                (shop.as_str(), openid.as_str(), *create_time, event.as_str()),
                (SHOP, OPENID, TIME, "kf_other")
            );
            assert_eq!(raw["x"], json!(18446744073709551615u64));
        }

        #[test]
        fn refuses_bad_pushes_before_parsing() {
            let plaintext = json_push(r#""msg_id":"1","msg_type":"text","text":{"content":"hi"}"#);
            let ts = NOW.to_string();
            let wrong_signature = CallbackQuery {
                signature: Some(signature(&["other-token", &ts, "nonce1"])),
                ..plain_query(NOW)
            };
            let (query, envelope) = encrypted_push(&plaintext, NOW);
            let wrong_msg_signature = CallbackQuery {
                msg_signature: Some("0".repeat(40)),
                ..query.clone()
            };
            let (stale_query, stale_envelope) = encrypted_push(&plaintext, NOW - 301);
            let cases: Vec<(&str, CallbackQuery, String, u16)> = vec![
                ("wrong signature", wrong_signature, plaintext.clone(), 403),
                (
                    "wrong msg_signature",
                    wrong_msg_signature,
                    envelope.clone(),
                    403,
                ),
                (
                    "stale plain",
                    plain_query(NOW - 301),
                    plaintext.clone(),
                    403,
                ),
                ("stale encrypted", stale_query, stale_envelope, 403),
                (
                    "malformed JSON",
                    plain_query(NOW),
                    "{\"ToUserName\":".into(),
                    400,
                ),
                (
                    "malformed XML",
                    plain_query(NOW),
                    "<xml><a></b></xml>".into(),
                    400,
                ),
                (
                    "malformed JSON envelope",
                    query.clone(),
                    "{\"Encrypt\":".into(),
                    400,
                ),
                (
                    "missing field",
                    plain_query(NOW),
                    json_push(r#""msg_type":"text""#),
                    400,
                ),
            ];
            for (name, query, body, status) in cases {
                assert_eq!(refused(&query, &body).status(), status, "{name}");
            }
            let too_large = vec![b' '; crate::xml::MAX_BODY_BYTES + 1];
            let err = callback::open(&plain_query(NOW), &too_large, &endpoint(), NOW).unwrap_err();
            assert_eq!(err.status(), 413);
        }
    }
}
