//! The inline path of `POST /wechat/oa` on the host: verify + (decrypt) (`callback::open`), then
//! parse + decide + build reply + (encrypt) (`oa::answer`), in plain and safe mode. Run: `cargo
//! bench --bench callback`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kefu_edge::platforms::oa::{self, Context};
use kefu_edge::rules::Rules;
use kefu_edge::wechat::callback::{self, CallbackQuery, Endpoint};
use kefu_edge::wechat::crypto::{signature, AesKey};

const TOKEN: &str = "bench-token";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wxb11529c136998cb6";
const NOW: i64 = 1_700_000_000;
const MESSAGE: &str = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oUserBench0123456789]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我要退款 refund please]]></Content><MsgId>1234567890123456789</MsgId></xml>";

/// An endpoint in plain mode (no EncodingAESKey) or in safe mode. Built per callback from the
/// key as the Worker's settings hold it (decoded and expanded once per settings load).
fn endpoint(key: Option<&AesKey>) -> Endpoint<'_> {
    Endpoint {
        token: TOKEN,
        aes: key.map(|key| (key, APPID)),
        max_skew_secs: 300,
        aes_setting_name: "WECHAT_AES_KEY",
        allow_unencrypted: false,
    }
}

fn bench(c: &mut Criterion) {
    let rules = Rules::parse(r#"{"faq":[{"keywords":["卡密"],"reply":"see orders"}],"routes":[{"keywords":["refund"],"kf_accounts":["anna@gh_bench"]}]}"#).unwrap();
    let ts = NOW.to_string();
    let plain_query = CallbackQuery::parse(&format!(
        "signature={}&timestamp={ts}&nonce=42",
        signature(&[TOKEN, &ts, "42"])
    ));
    let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
    let enc = key.encrypt(b"0123456789abcdef", MESSAGE, APPID);
    let safe_query = CallbackQuery::parse(&format!(
        "signature={}&timestamp={ts}&nonce=42&encrypt_type=aes&msg_signature={}",
        signature(&[TOKEN, &ts, "42"]),
        signature(&[TOKEN, &ts, "42", &enc])
    ));
    let safe_body = format!("<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>");

    let mut group = c.benchmark_group("oa_post");
    for (mode, safe, query, body) in [
        ("plain", false, &plain_query, MESSAGE.as_bytes()),
        ("safe", true, &safe_query, safe_body.as_bytes()),
    ] {
        group.bench_function(mode, |b| {
            b.iter(|| {
                let endpoint = endpoint(safe.then_some(&key));
                let opened =
                    callback::open(black_box(query), black_box(body), &endpoint, NOW).unwrap();
                let ctx = Context {
                    endpoint: &endpoint,
                    rules: &rules,
                    online: None,
                    now: NOW,
                    randomness: &|| Ok((*b"0123456789abcdef", 7)),
                };
                black_box(oa::answer(&opened, &ctx).unwrap());
                black_box(opened)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
