//! Messages to a buyer through the Shop's customer-service API: `POST
//! /channels/ec/commkf/sendmsg?access_token=…` with the Shop's own access_token. The body names
//! the buyer (`open_id`), a `request_id` the platform de-duplicates by (kefu-edge sends the
//! delivery id, so a retry after a timeout is never a second message), the `msg_type` and the
//! object of that type. The answer is classified like every WeChat answer (`http::classify`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::http::HttpRequest;
use crate::wechat::api::token_query;
use crate::wechat::custom_send::MAX_TEXT_BYTES;

/// One message to a buyer, named after its `msg_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopOutgoing {
    Text {
        content: String,
    },
    /// Media uploaded with `commkf/cosupload` first (a cos_url lives 14 days).
    Image {
        cos_url: String,
    },
    Video {
        cos_url: String,
    },
    File {
        cos_url: String,
    },
    /// A product card of this shop.
    ProductShare {
        product_id: String,
    },
    /// An order card of this shop.
    OrderShare {
        order_id: String,
    },
}

impl ShopOutgoing {
    /// The `msg_type` and its object.
    fn wire(&self) -> (&'static str, &'static str, &str) {
        match self {
            ShopOutgoing::Text { content } => ("text", "content", content),
            ShopOutgoing::Image { cos_url } => ("image", "cos_url", cos_url),
            ShopOutgoing::Video { cos_url } => ("video", "cos_url", cos_url),
            ShopOutgoing::File { cos_url } => ("file", "cos_url", cos_url),
            ShopOutgoing::ProductShare { product_id } => {
                ("product_share", "product_id", product_id)
            }
            ShopOutgoing::OrderShare { order_id } => ("order_share", "order_id", order_id),
        }
    }

    /// What a delivered message did, for the ticket timeline (worded as the Official
    /// Account's, which the dashboard translates).
    pub fn summary(&self) -> String {
        match self {
            ShopOutgoing::Text { content } => format!("sent to the customer: {content}"),
            other => format!("sent to the customer: a {} message", other.wire().0),
        }
    }
}

/// The sendmsg request, or why the message cannot be sent (checked here, so a message the
/// platform would refuse costs no call).
pub fn sendmsg_request(
    api_base: &str,
    access_token: &str,
    request_id: &str,
    open_id: &str,
    message: &ShopOutgoing,
) -> Result<HttpRequest, String> {
    if open_id.trim().is_empty() {
        return Err("open_id is empty".into());
    }
    let (msg_type, field, value) = message.wire();
    if value.trim().is_empty() {
        return Err(format!("{msg_type}.{field} is empty"));
    }
    if value.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "{msg_type}.{field} is {} bytes, more than {MAX_TEXT_BYTES}",
            value.len()
        ));
    }
    let mut body = Map::new();
    body.insert("request_id".into(), Value::from(request_id));
    body.insert("open_id".into(), Value::from(open_id));
    body.insert("msg_type".into(), Value::from(msg_type));
    body.insert(msg_type.into(), json!({ field: value }));
    let url = format!(
        "{api_base}/channels/ec/commkf/sendmsg?{}",
        token_query(access_token)
    );
    Ok(HttpRequest::post_json(url, Value::Object(body).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(message: &ShopOutgoing) -> Value {
        let request = sendmsg_request("http://h", "T&1", "reply:7", "oBuyer", message).unwrap();
        assert_eq!(
            request.url,
            "http://h/channels/ec/commkf/sendmsg?access_token=T%261"
        );
        serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
    }

    #[test]
    fn builds_every_msg_type_with_the_delivery_as_request_id() {
        let text = ShopOutgoing::Text {
            content: "您好 \"hi\"".into(),
        };
        assert_eq!(
            body(&text),
            json!({"request_id":"reply:7","open_id":"oBuyer","msg_type":"text","text":{"content":"您好 \"hi\""}})
        );
        for (message, msg_type, object) in [
            (
                ShopOutgoing::Image {
                    cos_url: "https://c/1".into(),
                },
                "image",
                json!({"cos_url":"https://c/1"}),
            ),
            (
                ShopOutgoing::Video {
                    cos_url: "https://c/2".into(),
                },
                "video",
                json!({"cos_url":"https://c/2"}),
            ),
            (
                ShopOutgoing::File {
                    cos_url: "https://c/3".into(),
                },
                "file",
                json!({"cos_url":"https://c/3"}),
            ),
            (
                ShopOutgoing::ProductShare {
                    product_id: "10000141308512".into(),
                },
                "product_share",
                json!({"product_id":"10000141308512"}),
            ),
            (
                ShopOutgoing::OrderShare {
                    order_id: "3721712203692901632".into(),
                },
                "order_share",
                json!({"order_id":"3721712203692901632"}),
            ),
        ] {
            let got = body(&message);
            assert_eq!(got["msg_type"], msg_type);
            assert_eq!(got[msg_type], object);
            assert_eq!(got["request_id"], "reply:7");
        }
    }

    #[test]
    fn refuses_what_the_platform_would() {
        let send = |open_id: &str, m: &ShopOutgoing| {
            sendmsg_request("http://h", "T", "r", open_id, m).unwrap_err()
        };
        let hi = ShopOutgoing::Text {
            content: "hi".into(),
        };
        assert_eq!(send(" ", &hi), "open_id is empty");
        assert_eq!(
            send(
                "o",
                &ShopOutgoing::Text {
                    content: "  ".into()
                }
            ),
            "text.content is empty"
        );
        assert_eq!(
            send(
                "o",
                &ShopOutgoing::OrderShare {
                    order_id: String::new()
                }
            ),
            "order_share.order_id is empty"
        );
        let long = ShopOutgoing::Text {
            content: "x".repeat(MAX_TEXT_BYTES + 1),
        };
        assert!(send("o", &long).contains("more than 2048"));
    }

    #[test]
    fn summaries_name_what_was_sent() {
        assert_eq!(
            ShopOutgoing::OrderShare {
                order_id: "O1".into()
            }
            .summary(),
            "sent to the customer: a order_share message"
        );
        assert_eq!(
            ShopOutgoing::Text {
                content: "hi".into()
            }
            .summary(),
            "sent to the customer: hi"
        );
    }
}
