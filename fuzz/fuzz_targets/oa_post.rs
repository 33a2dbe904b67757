//! `POST /wechat/oa` on any body: as sent (so authentication is fuzzed too), and signed and
//! encrypted as WeChat would (so the fuzzer reaches the parser and the decision): never a panic,
//! and a safe-mode reply always decrypts.
#![no_main]
use kefu_edge::platforms::oa::{answer, Context};
use kefu_edge::rules::Rules;
use kefu_edge::settings::Settings;
use kefu_edge::wechat::callback::{open, CallbackQuery};
use kefu_edge::wechat::crypto::{signature, AesKey};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-token";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wxfuzz0000000001";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let settings = Settings::from_lookup(|name| {
        match name {
            "WECHAT_TOKEN" => Some(TOKEN),
            "WECHAT_AES_KEY" => Some(AES_KEY),
            "WECHAT_APPID" => Some(APPID),
            "ALLOW_UNENCRYPTED_PUSH" => Some("true"),
            _ => None,
        }
        .map(str::to_owned)
    });
    let rules = Rules::parse(r#"{"faq":[{"keywords":["卡密"],"reply":"see orders"}],"routes":[{"keywords":["refund"],"kf_accounts":["a@gh"]}]}"#).unwrap();
    let Ok(endpoint) = settings.oa_endpoint() else {
        return;
    };
    let ts = NOW.to_string();
    let ctx = |endpoint| Context {
        endpoint,
        rules: &rules,
        online: None,
        now: NOW,
        randomness: &|| Ok((*b"0123456789abcdef", 7)),
    };
    // As sent, in plain mode.
    let plain = CallbackQuery::parse(&format!(
        "signature={}&timestamp={ts}&nonce=1",
        signature(&[TOKEN, &ts, "1"])
    ));
    if let Ok(opened) = open(&plain, data, &endpoint, NOW) {
        let _ = answer(&opened, &ctx(&endpoint));
    }
    // Encrypted and signed: past authentication to the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
    let enc = key.encrypt(b"fedcba9876543210", text, APPID);
    let query = CallbackQuery::parse(&format!(
        "encrypt_type=aes&timestamp={ts}&nonce=1&msg_signature={}",
        signature(&[TOKEN, &ts, "1", &enc])
    ));
    let body = format!("<xml><Encrypt><![CDATA[{enc}]]></Encrypt></xml>");
    let Ok(endpoint) = settings.oa_endpoint() else {
        return;
    };
    let Ok(opened) = open(&query, body.as_bytes(), &endpoint, NOW) else {
        return;
    };
    if let Ok(answered) = answer(&opened, &ctx(&endpoint)) {
        if answered.reply.body.contains("<Encrypt>") {
            let doc = kefu_edge::xml::parse(&answered.reply.body).expect("a sealed reply is XML");
            key.decrypt(doc.get("Encrypt").unwrap(), APPID)
                .expect("a sealed reply decrypts");
        }
    }
});
