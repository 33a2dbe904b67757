//! Customer-service messages (客服消息): the JSON body of `message/custom/send` (and of the
//! typing indicator), validated before it is sent. WeChat's answer is classified by
//! `crate::http::classify` (45015, outside the 48-hour window, is permanent).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// WeChat refuses longer text messages; the message is refused here rather than cut, so a
/// customer never reads half an answer.
pub const MAX_TEXT_BYTES: usize = 2048;
/// WeChat's limit on the items of a menu message.
pub const MAX_MENU_ITEMS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub title: String,
    pub description: String,
    pub url: String,
    pub picurl: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    /// Sent back in the user's reply when the item is tapped.
    pub id: String,
    pub content: String,
}

/// One customer-service message, named after its WeChat `msgtype`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "msgtype",
    rename_all = "lowercase",
    try_from = "CustomMessageFields"
)]
pub enum CustomMessage {
    Text {
        content: String,
    },
    Image {
        media_id: String,
    },
    Voice {
        media_id: String,
    },
    Video {
        media_id: String,
        thumb_media_id: String,
        title: String,
        description: String,
    },
    Music {
        title: String,
        description: String,
        musicurl: String,
        hqmusicurl: String,
        thumb_media_id: String,
    },
    News {
        articles: Vec<Article>,
    },
    MsgMenu {
        head_content: String,
        list: Vec<MenuItem>,
        tail_content: String,
    },
    MiniProgramPage {
        title: String,
        appid: String,
        pagepath: String,
        thumb_media_id: String,
    },
    /// The "typing…" indicator: on (`Typing`) or off (`CancelTyping`).
    Typing {
        typing: bool,
    },
}

/// How a message is read: the fields of every `msgtype` side by side, then the ones its type
/// needs taken out. serde's internal tagging would buffer each message and build a reader per
/// variant (27 KB of the wasm); this is one plain struct. Fields of other types are ignored, as
/// unknown fields are.
#[derive(Deserialize)]
struct CustomMessageFields {
    msgtype: String,
    content: Option<String>,
    media_id: Option<String>,
    thumb_media_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    musicurl: Option<String>,
    hqmusicurl: Option<String>,
    articles: Option<Vec<Article>>,
    head_content: Option<String>,
    list: Option<Vec<MenuItem>>,
    tail_content: Option<String>,
    appid: Option<String>,
    pagepath: Option<String>,
    typing: Option<bool>,
}

/// The names `CustomMessage` reads, in the words serde's own errors use.
const MSGTYPES: &str =
    "`text`, `image`, `voice`, `video`, `music`, `news`, `msgmenu`, `miniprogrampage`, `typing`";

fn field<T>(value: Option<T>, name: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{name}`"))
}

/// `CustomMessage::$variant` with each named field taken from the flat fields, or the error
/// naming the first one missing.
macro_rules! take_fields {
    ($fields:ident, $variant:ident { $($name:ident),+ }) => {
        CustomMessage::$variant {
            $($name: field($fields.$name, stringify!($name))?),+
        }
    };
}

impl TryFrom<CustomMessageFields> for CustomMessage {
    type Error = String;

    fn try_from(f: CustomMessageFields) -> Result<Self, String> {
        Ok(match f.msgtype.as_str() {
            "text" => take_fields!(f, Text { content }),
            "image" => take_fields!(f, Image { media_id }),
            "voice" => take_fields!(f, Voice { media_id }),
            "video" => take_fields!(
                f,
                Video {
                    media_id,
                    thumb_media_id,
                    title,
                    description
                }
            ),
            "music" => take_fields!(
                f,
                Music {
                    title,
                    description,
                    musicurl,
                    hqmusicurl,
                    thumb_media_id
                }
            ),
            "news" => take_fields!(f, News { articles }),
            "msgmenu" => take_fields!(
                f,
                MsgMenu {
                    head_content,
                    list,
                    tail_content
                }
            ),
            "miniprogrampage" => {
                take_fields!(
                    f,
                    MiniProgramPage {
                        title,
                        appid,
                        pagepath,
                        thumb_media_id
                    }
                )
            }
            "typing" => take_fields!(f, Typing { typing }),
            other => {
                return Err(format!(
                    "unknown variant `{other}`, expected one of {MSGTYPES}"
                ))
            }
        })
    }
}

/// Limits that WeChat has changed over time, so they are settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomSendLimits {
    /// The seed allows 10 articles; since October 2018 the platform accepts only 1.
    pub max_news_articles: usize,
}

impl Default for CustomSendLimits {
    fn default() -> Self {
        CustomSendLimits {
            max_news_articles: 1,
        }
    }
}

/// The API path a message goes to: the typing indicator has its own endpoint.
impl CustomMessage {
    /// The `msgtype` WeChat knows this message by.
    pub fn type_name(&self) -> &'static str {
        match self {
            CustomMessage::Text { .. } => "text",
            CustomMessage::Image { .. } => "image",
            CustomMessage::Voice { .. } => "voice",
            CustomMessage::Video { .. } => "video",
            CustomMessage::Music { .. } => "music",
            CustomMessage::News { .. } => "news",
            CustomMessage::MsgMenu { .. } => "msgmenu",
            CustomMessage::MiniProgramPage { .. } => "miniprogrampage",
            CustomMessage::Typing { .. } => "typing",
        }
    }
}

pub fn custom_send_path(msg: &CustomMessage) -> &'static str {
    match msg {
        CustomMessage::Typing { .. } => "/cgi-bin/message/custom/typing",
        _ => "/cgi-bin/message/custom/send",
    }
}

/// The JSON body for `touser`, or why the message cannot be sent. Validating here turns a
/// message WeChat would refuse into a clear reason instead of a wasted call and an errcode.
pub fn build_custom_send(
    touser: &str,
    msg: &CustomMessage,
    limits: &CustomSendLimits,
) -> Result<String, String> {
    if touser.trim().is_empty() {
        return Err("touser is empty".into());
    }
    let (msgtype, payload) = match msg {
        CustomMessage::Text { content } => {
            if content.trim().is_empty() {
                return Err("text content is empty".into());
            }
            if content.len() > MAX_TEXT_BYTES {
                return Err(format!(
                    "text content is {} bytes, more than {MAX_TEXT_BYTES}",
                    content.len()
                ));
            }
            ("text", json!({ "content": content }))
        }
        CustomMessage::Image { media_id } => {
            required("image media_id", media_id)?;
            ("image", json!({ "media_id": media_id }))
        }
        CustomMessage::Voice { media_id } => {
            required("voice media_id", media_id)?;
            ("voice", json!({ "media_id": media_id }))
        }
        CustomMessage::Video {
            media_id,
            thumb_media_id,
            title,
            description,
        } => {
            required("video media_id", media_id)?;
            required("video thumb_media_id", thumb_media_id)?;
            (
                "video",
                json!({
                    "media_id": media_id,
                    "thumb_media_id": thumb_media_id,
                    "title": title,
                    "description": description,
                }),
            )
        }
        CustomMessage::Music {
            title,
            description,
            musicurl,
            hqmusicurl,
            thumb_media_id,
        } => {
            required("music musicurl", musicurl)?;
            required("music hqmusicurl", hqmusicurl)?;
            required("music thumb_media_id", thumb_media_id)?;
            (
                "music",
                json!({
                    "title": title,
                    "description": description,
                    "musicurl": musicurl,
                    "hqmusicurl": hqmusicurl,
                    "thumb_media_id": thumb_media_id,
                }),
            )
        }
        CustomMessage::News { articles } => {
            if articles.is_empty() || articles.len() > limits.max_news_articles {
                return Err(format!(
                    "news needs 1 to {} articles, got {}",
                    limits.max_news_articles,
                    articles.len()
                ));
            }
            ("news", json!({ "articles": articles }))
        }
        CustomMessage::MsgMenu {
            head_content,
            list,
            tail_content,
        } => {
            if list.is_empty() || list.len() > MAX_MENU_ITEMS {
                return Err(format!(
                    "msgmenu needs 1 to {MAX_MENU_ITEMS} items, got {}",
                    list.len()
                ));
            }
            for item in list {
                required("msgmenu item id", &item.id)?;
                required("msgmenu item content", &item.content)?;
            }
            (
                "msgmenu",
                json!({
                    "head_content": head_content,
                    "list": list,
                    "tail_content": tail_content,
                }),
            )
        }
        CustomMessage::MiniProgramPage {
            title,
            appid,
            pagepath,
            thumb_media_id,
        } => {
            required("miniprogrampage title", title)?;
            required("miniprogrampage appid", appid)?;
            required("miniprogrampage pagepath", pagepath)?;
            required("miniprogrampage thumb_media_id", thumb_media_id)?;
            (
                "miniprogrampage",
                json!({
                    "title": title,
                    "appid": appid,
                    "pagepath": pagepath,
                    "thumb_media_id": thumb_media_id,
                }),
            )
        }
        CustomMessage::Typing { typing } => {
            let command = if *typing { "Typing" } else { "CancelTyping" };
            return Ok(json!({ "touser": touser, "command": command }).to_string());
        }
    };
    let mut body = serde_json::Map::new();
    body.insert("touser".into(), Value::from(touser));
    body.insert("msgtype".into(), Value::from(msgtype));
    body.insert(msgtype.into(), payload);
    Ok(Value::Object(body).to_string())
}

fn required(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("{what} is empty"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(msg: &CustomMessage) -> Value {
        let json = build_custom_send("o_user", msg, &CustomSendLimits::default()).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    fn article(n: usize) -> Article {
        Article {
            title: format!("Happy Day {n}"),
            description: "Is Really A Happy Day".into(),
            url: "https://shop.example/a".into(),
            picurl: "https://shop.example/a.jpg".into(),
        }
    }

    fn menu(n: usize) -> CustomMessage {
        CustomMessage::MsgMenu {
            head_content: "您对本次服务是否满意呢?".into(),
            list: (0..n)
                .map(|i| MenuItem {
                    id: format!("10{i}"),
                    content: format!("选项{i}"),
                })
                .collect(),
            tail_content: "欢迎再次光临".into(),
        }
    }

    fn error(msg: &CustomMessage) -> String {
        build_custom_send("o_user", msg, &CustomSendLimits::default()).unwrap_err()
    }

    #[test]
    fn builds_text_image_voice() {
        assert_eq!(
            body(&CustomMessage::Text {
                content: "Hello \"World\"\n你好".into()
            }),
            json!({"touser":"o_user","msgtype":"text","text":{"content":"Hello \"World\"\n你好"}})
        );
        assert_eq!(
            body(&CustomMessage::Image {
                media_id: "MEDIA_ID".into()
            }),
            json!({"touser":"o_user","msgtype":"image","image":{"media_id":"MEDIA_ID"}})
        );
        assert_eq!(
            body(&CustomMessage::Voice {
                media_id: "MEDIA_ID".into()
            }),
            json!({"touser":"o_user","msgtype":"voice","voice":{"media_id":"MEDIA_ID"}})
        );
    }

    #[test]
    fn builds_video_and_music() {
        assert_eq!(
            body(&CustomMessage::Video {
                media_id: "MEDIA_ID".into(),
                thumb_media_id: "THUMB".into(),
                title: "TITLE".into(),
                description: "DESC".into(),
            }),
            json!({"touser":"o_user","msgtype":"video","video":{
                "media_id":"MEDIA_ID","thumb_media_id":"THUMB","title":"TITLE","description":"DESC"}})
        );
        assert_eq!(
            body(&CustomMessage::Music {
                title: "MUSIC_TITLE".into(),
                description: "MUSIC_DESCRIPTION".into(),
                musicurl: "MUSIC_URL".into(),
                hqmusicurl: "HQ_MUSIC_URL".into(),
                thumb_media_id: "THUMB".into(),
            }),
            json!({"touser":"o_user","msgtype":"music","music":{
                "title":"MUSIC_TITLE","description":"MUSIC_DESCRIPTION","musicurl":"MUSIC_URL",
                "hqmusicurl":"HQ_MUSIC_URL","thumb_media_id":"THUMB"}})
        );
    }

    #[test]
    fn builds_news_msgmenu_miniprogrampage() {
        assert_eq!(
            body(&CustomMessage::News {
                articles: vec![article(1)]
            }),
            json!({"touser":"o_user","msgtype":"news","news":{"articles":[{
                "title":"Happy Day 1","description":"Is Really A Happy Day",
                "url":"https://shop.example/a","picurl":"https://shop.example/a.jpg"}]}})
        );
        assert_eq!(
            body(&menu(2)),
            json!({"touser":"o_user","msgtype":"msgmenu","msgmenu":{
                "head_content":"您对本次服务是否满意呢?",
                "list":[{"id":"100","content":"选项0"},{"id":"101","content":"选项1"}],
                "tail_content":"欢迎再次光临"}})
        );
        assert_eq!(
            body(&CustomMessage::MiniProgramPage {
                title: "title".into(),
                appid: "wxapp".into(),
                pagepath: "pages/order?id=1".into(),
                thumb_media_id: "THUMB".into(),
            }),
            json!({"touser":"o_user","msgtype":"miniprogrampage","miniprogrampage":{
                "title":"title","appid":"wxapp","pagepath":"pages/order?id=1","thumb_media_id":"THUMB"}})
        );
    }

    #[test]
    fn builds_typing_commands_for_their_own_endpoint() {
        let on = CustomMessage::Typing { typing: true };
        let off = CustomMessage::Typing { typing: false };
        assert_eq!(body(&on), json!({"touser":"o_user","command":"Typing"}));
        assert_eq!(
            body(&off),
            json!({"touser":"o_user","command":"CancelTyping"})
        );
        assert_eq!(custom_send_path(&on), "/cgi-bin/message/custom/typing");
        assert_eq!(
            custom_send_path(&CustomMessage::Text {
                content: "hi".into()
            }),
            "/cgi-bin/message/custom/send"
        );
    }

    #[test]
    fn refuses_invalid_messages() {
        let text = |content: String| CustomMessage::Text { content };
        let ok = text("hi".into());
        for touser in ["", "  "] {
            assert_eq!(
                build_custom_send(touser, &ok, &CustomSendLimits::default()).unwrap_err(),
                "touser is empty"
            );
        }
        assert_eq!(error(&text(String::new())), "text content is empty");
        assert_eq!(error(&text(" \n".into())), "text content is empty");
        assert!(
            build_custom_send("o", &text("a".repeat(MAX_TEXT_BYTES)), &Default::default()).is_ok()
        );
        // 683 three-byte characters are 2049 bytes: the limit is in bytes, not characters.
        assert_eq!(
            error(&text("好".repeat(683))),
            "text content is 2049 bytes, more than 2048"
        );
        assert_eq!(
            error(&CustomMessage::Image {
                media_id: String::new()
            }),
            "image media_id is empty"
        );
        assert_eq!(
            error(&CustomMessage::Voice {
                media_id: String::new()
            }),
            "voice media_id is empty"
        );
        assert_eq!(
            error(&CustomMessage::Video {
                media_id: "m".into(),
                thumb_media_id: String::new(),
                title: String::new(),
                description: String::new(),
            }),
            "video thumb_media_id is empty"
        );
        assert_eq!(
            error(&CustomMessage::Music {
                title: String::new(),
                description: String::new(),
                musicurl: "u".into(),
                hqmusicurl: "u".into(),
                thumb_media_id: String::new(),
            }),
            "music thumb_media_id is empty"
        );
        assert_eq!(
            error(&CustomMessage::MiniProgramPage {
                title: "t".into(),
                appid: String::new(),
                pagepath: "p".into(),
                thumb_media_id: "m".into(),
            }),
            "miniprogrampage appid is empty"
        );
        assert_eq!(
            error(&CustomMessage::News { articles: vec![] }),
            "news needs 1 to 1 articles, got 0"
        );
        assert_eq!(error(&menu(0)), "msgmenu needs 1 to 10 items, got 0");
        assert!(build_custom_send("o", &menu(10), &Default::default()).is_ok());
        assert_eq!(error(&menu(11)), "msgmenu needs 1 to 10 items, got 11");
        let blank_id = CustomMessage::MsgMenu {
            head_content: String::new(),
            list: vec![MenuItem {
                id: " ".into(),
                content: "满意".into(),
            }],
            tail_content: String::new(),
        };
        assert_eq!(error(&blank_id), "msgmenu item id is empty");
    }

    #[test]
    fn news_article_limit_is_a_setting() {
        let news = |n| CustomMessage::News {
            articles: (0..n).map(article).collect(),
        };
        assert_eq!(CustomSendLimits::default().max_news_articles, 1);
        assert_eq!(error(&news(2)), "news needs 1 to 1 articles, got 2");
        let eight = CustomSendLimits {
            max_news_articles: 8,
        };
        let json = build_custom_send("o", &news(8), &eight).unwrap();
        let parsed: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["news"]["articles"].as_array().unwrap().len(), 8);
        assert_eq!(
            build_custom_send("o", &news(9), &eight).unwrap_err(),
            "news needs 1 to 8 articles, got 9"
        );
    }

    #[test]
    fn every_message_type_round_trips_as_stored() {
        let text = |s: &str| s.to_owned();
        let every = [
            CustomMessage::Text {
                content: text("hi"),
            },
            CustomMessage::Image {
                media_id: text("m"),
            },
            CustomMessage::Voice {
                media_id: text("m"),
            },
            CustomMessage::Video {
                media_id: text("m"),
                thumb_media_id: text("t"),
                title: text("v"),
                description: text("d"),
            },
            CustomMessage::Music {
                title: text("s"),
                description: text("d"),
                musicurl: text("u"),
                hqmusicurl: text("hq"),
                thumb_media_id: text("t"),
            },
            CustomMessage::News {
                articles: vec![article(1)],
            },
            menu(1),
            CustomMessage::MiniProgramPage {
                title: text("p"),
                appid: text("wx1"),
                pagepath: text("pages/i"),
                thumb_media_id: text("t"),
            },
            CustomMessage::Typing { typing: false },
        ];
        for msg in every {
            let json = serde_json::to_string(&msg).unwrap();
            let msgtype = format!(r#""msgtype":"{}""#, msg.type_name());
            assert!(json.contains(&msgtype), "{json}");
            assert_eq!(serde_json::from_str::<CustomMessage>(&json).unwrap(), msg);
        }
    }

    #[test]
    fn a_message_reads_only_its_own_type_s_fields() {
        let read = |json: &str| serde_json::from_str::<CustomMessage>(json);
        assert_eq!(
            read(r#"{"msgtype":"image","media_id":"M","content":"ignored","x":1}"#).unwrap(),
            CustomMessage::Image {
                media_id: "M".into()
            }
        );
        let missing = read(r#"{"msgtype":"video","media_id":"M","title":"t"}"#).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("missing field `thumb_media_id`"),
            "{missing}"
        );
        let null = read(r#"{"msgtype":"text","content":null}"#).unwrap_err();
        assert!(
            null.to_string().contains("missing field `content`"),
            "{null}"
        );
        let unknown = read(r#"{"msgtype":"hologram"}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown variant `hologram`"),
            "{unknown}"
        );
        assert!(read(r#"{"content":"no type"}"#)
            .unwrap_err()
            .to_string()
            .contains("missing field `msgtype`"));
        assert!(read(r#"{"msgtype":"typing","typing":"yes"}"#).is_err());
    }
}
