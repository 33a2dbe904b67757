//! `POST /wechat/shop` on any body, as sent and signed and encrypted (JSON and XML envelopes):
//! never a panic; an accepted push survives the queue's JSON round trip and reads back as the
//! same event in the consumer.
#![no_main]
use kefu_edge::event::{Platform, QueueMessage, QueuedEvent, QueuedPush};
use kefu_edge::platforms::shop::answer;
use kefu_edge::settings::Settings;
use kefu_edge::wechat::callback::{open, CallbackQuery};
use kefu_edge::wechat::crypto::{signature, AesKey};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-shop";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wxfuzzshop000001";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let settings = Settings::from_lookup(|name| {
        match name {
            "SHOP_TOKEN" => Some(TOKEN),
            "SHOP_AES_KEY" => Some(AES_KEY),
            "SHOP_APPID" => Some(APPID),
            "ALLOW_UNENCRYPTED_PUSH" => Some("true"),
            _ => None,
        }
        .map(str::to_owned)
    });
    let Ok(endpoint) = settings.shop_endpoint() else {
        return;
    };
    let ts = NOW.to_string();
    let plain = CallbackQuery::parse(&format!(
        "signature={}&timestamp={ts}&nonce=1",
        signature(&[TOKEN, &ts, "1"])
    ));
    // What was accepted, and the text the queue carries for it.
    let open_and_answer = |query: &CallbackQuery, body: &[u8]| {
        let opened = open(query, body, &endpoint, NOW)?;
        answer(&opened).map(|a| (a.push, opened.plaintext.into_owned()))
    };
    let mut accepted = vec![open_and_answer(&plain, data)];
    if let Ok(text) = std::str::from_utf8(data) {
        let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
        let enc = key.encrypt(b"fedcba9876543210", text, APPID);
        let query = CallbackQuery::parse(&format!(
            "encrypt_type=aes&timestamp={ts}&nonce=1&msg_signature={}",
            signature(&[TOKEN, &ts, "1", &enc])
        ));
        for body in [
            format!("<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"),
            format!(r#"{{"Encrypt":"{enc}"}}"#),
        ] {
            accepted.push(open_and_answer(&query, body.as_bytes()));
        }
    }
    for (shop_push, text) in accepted.into_iter().flatten() {
        let push = QueuedPush {
            platform: Platform::Shop,
            received_at: NOW,
            text,
        };
        let message = QueueMessage::Inbound(push.clone());
        assert_eq!(
            QueueMessage::from_json(&message.to_json()).unwrap(),
            message
        );
        assert_eq!(push.event().unwrap(), QueuedEvent::accepted(shop_push, NOW));
    }
});
