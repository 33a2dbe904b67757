//! The checks: each plays one platform's request with the given settings and judges the
//! Worker's answer the way the platform would, naming the setting to fix when it fails.
//!
//! What they send is stored like real traffic: a conversation from the OpenID `kefu-check`, a
//! confirmed (closed) complaint `kefu-check-<time>` and a card-shop event of a type nothing acts
//! on, so staff can recognise and ignore them.

use kefu_edge::platforms::orders;
use kefu_edge::platforms::payfeedback::app_signature;
use kefu_edge::platforms::zalo;
use kefu_edge::settings::Settings;
use kefu_edge::wechat::crypto::{signature, AesKey, CryptoError};
use kefu_edge::xml::{self, XmlDoc, XmlWriter};

use crate::transport::{Answer, Transport};

/// The OpenID and account the checker's pushes come from and go to.
const OPENID: &str = "kefu-check";
const ACCOUNT: &str = "gh_kefu_check";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass(String),
    Fail(String),
    Skip(String),
}

/// Runs every check in order; a check whose settings are absent is skipped. `send_test` names a
/// WeChat Shop buyer to send one test reply to.
pub fn run_all(
    transport: &dyn Transport,
    settings: &Settings,
    send_test: Option<&str>,
    now: i64,
) -> Vec<(&'static str, Verdict)> {
    let run = Run {
        transport,
        settings,
        now,
    };
    let reachable = run.reach();
    if !matches!(reachable, Verdict::Pass(_)) {
        return vec![("reach: GET /healthz", reachable)];
    }
    let msg_id = now * 1000 + i64::from(random_bytes::<2>()[0]);
    let mut checks = vec![
        ("reach: GET /healthz", reachable),
        (
            "oa: URL check (echostr)",
            run.url_check(
                "/wechat/oa",
                settings.wechat_token.as_deref(),
                "WECHAT_TOKEN",
            ),
        ),
        ("oa: plain message", run.oa_plain_message(msg_id + 1)),
        ("oa: safe-mode message", run.oa_safe_message(msg_id)),
        ("oa: event", run.oa_event()),
        ("oa: retried MsgId", run.oa_safe_message(msg_id)),
        (
            "shop: URL check (echostr)",
            run.url_check("/wechat/shop", settings.shop_token.as_deref(), "SHOP_TOKEN"),
        ),
        ("shop: safe-mode message", run.shop_safe_message(msg_id)),
        ("payfeedback: signed 维权 notification", run.payfeedback()),
        ("orders: signed card-shop event", run.card_shop_event(true)),
        ("refused: bad signature", run.refuse_bad_signature()),
        ("refused: stale timestamp", run.refuse_stale_timestamp()),
        (
            "refused: card-shop event with a bad signature",
            run.card_shop_event(false),
        ),
        ("zalo: signed user_send_text", run.zalo_message(true)),
        (
            "refused: Zalo event with a bad signature",
            run.zalo_message(false),
        ),
    ];
    if let Some(openid) = send_test {
        checks.push(("shop: send-test reply", run.send_test(openid)));
    }
    checks
}

struct Run<'a> {
    transport: &'a dyn Transport,
    settings: &'a Settings,
    now: i64,
}

/// The Official Account's settings as a push needs them.
struct OaKeys<'a> {
    token: &'a str,
    aes: Option<(&'a AesKey, &'a str)>,
}

impl Run<'_> {
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Answer, Verdict> {
        self.transport
            .send(method, path, headers, body)
            .map_err(|e| Verdict::Fail(format!("no answer from the Worker: {e}")))
    }

    fn reach(&self) -> Verdict {
        match self.send("GET", "/healthz", &[], None) {
            Ok(answer) if answer.status == 200 => Verdict::Pass("the Worker answers".into()),
            Ok(answer) => Verdict::Fail(format!(
                "{}: is this the URL of a kefu-edge Worker?",
                refusal(&answer)
            )),
            Err(verdict) => verdict,
        }
    }

    fn oa_keys(&self) -> Result<OaKeys<'_>, Verdict> {
        let token = self
            .settings
            .wechat_token
            .as_deref()
            .ok_or_else(|| Verdict::Skip("WECHAT_TOKEN is not given".into()))?;
        let aes = match &self.settings.wechat_aes_key {
            None => None,
            Some(Err(e)) => return Err(Verdict::Fail(format!("WECHAT_AES_KEY given here: {e}"))),
            Some(Ok(key)) => Some((
                key,
                self.settings
                    .wechat_appid
                    .as_deref()
                    .ok_or_else(|| Verdict::Fail("WECHAT_AES_KEY needs WECHAT_APPID".into()))?,
            )),
        };
        Ok(OaKeys { token, aes })
    }

    fn url_check(&self, path: &str, token: Option<&str>, token_name: &str) -> Verdict {
        let Some(token) = token else {
            return Verdict::Skip(format!("{token_name} is not given"));
        };
        let echostr = hex_random();
        let (ts, nonce) = (self.now.to_string(), hex_random());
        let sig = signature(&[token, &ts, &nonce]);
        let query =
            format!("{path}?signature={sig}&timestamp={ts}&nonce={nonce}&echostr={echostr}");
        let answer = match self.send("GET", &query, &[], None) {
            Ok(answer) => answer,
            Err(verdict) => return verdict,
        };
        match answer.status {
            200 if answer.body == echostr => {
                Verdict::Pass("echostr returned: the platform will accept this URL and Token".into())
            }
            200 => Verdict::Fail(format!(
                "answered 200 but not the echostr (got {:?}): is this URL a kefu-edge?",
                shorten(&answer.body)
            )),
            401 | 403 => Verdict::Fail(format!(
                "{}: the Worker's {token_name} is not the one given here; the console's 令牌(Token) must equal both",
                refusal(&answer)
            )),
            _ => Verdict::Fail(refusal(&answer)),
        }
    }

    /// A plain-mode push is what a console set to 明文模式 sends. With an EncodingAESKey the
    /// Worker must refuse it (its signature does not cover the body), unless told otherwise.
    fn oa_plain_message(&self, msg_id: i64) -> Verdict {
        let keys = match self.oa_keys() {
            Ok(keys) => keys,
            Err(verdict) => return verdict,
        };
        let plaintext = self.text_message(msg_id);
        let answer = match self.push(&keys, &plaintext, false) {
            Ok(answer) => answer,
            Err(verdict) => return verdict,
        };
        let refused_by_design = keys.aes.is_some() && !self.settings.allow_unencrypted_push;
        match (refused_by_design, answer.status) {
            (true, 400..=499) => Verdict::Pass(format!(
                "refused ({} {}) as it must be in safe mode: choose 安全模式 in the console",
                answer.status,
                refusal_code(&answer).unwrap_or_default()
            )),
            (true, _) => Verdict::Fail(format!(
                "a plain push was answered {} although WECHAT_AES_KEY is set: anyone could forge one (is ALLOW_UNENCRYPTED_PUSH on in the Worker?)",
                answer.status
            )),
            (false, 200) => judge_reply(&answer, None, keys.token),
            (false, _) => Verdict::Fail(explain_push_refusal(&answer)),
        }
    }

    fn oa_safe_message(&self, msg_id: i64) -> Verdict {
        let keys = match self.oa_keys() {
            Ok(keys) => keys,
            Err(verdict) => return verdict,
        };
        if keys.aes.is_none() {
            return Verdict::Skip("WECHAT_AES_KEY is not given (plain mode)".into());
        }
        match self.push(&keys, &self.text_message(msg_id), true) {
            Ok(answer) if answer.status == 200 => judge_reply(&answer, keys.aes, keys.token),
            Ok(answer) => Verdict::Fail(explain_push_refusal(&answer)),
            Err(verdict) => verdict,
        }
    }

    fn oa_event(&self) -> Verdict {
        let keys = match self.oa_keys() {
            Ok(keys) => keys,
            Err(verdict) => return verdict,
        };
        let event = self
            .head("event")
            .cdata("Event", "subscribe")
            .cdata("EventKey", "")
            .finish();
        match self.push(&keys, &event, keys.aes.is_some()) {
            Ok(answer) if answer.status == 200 && answer.body == "success" => {
                Verdict::Pass("answered success".into())
            }
            Ok(answer) if answer.status == 200 => Verdict::Fail(format!(
                "an event must be answered success, got {:?}",
                shorten(&answer.body)
            )),
            Ok(answer) => Verdict::Fail(explain_push_refusal(&answer)),
            Err(verdict) => verdict,
        }
    }

    /// A buyer's text as the WeChat Shop pushes it in safe mode: JSON, sealed with
    /// SHOP_AES_KEY for SHOP_APPID, in a JSON envelope. The Shop wants the plain `success`.
    fn shop_safe_message(&self, msg_id: i64) -> Verdict {
        let Some(token) = self.settings.shop_token.as_deref() else {
            return Verdict::Skip("SHOP_TOKEN is not given".into());
        };
        let key = match &self.settings.shop_aes_key {
            None => return Verdict::Skip("SHOP_AES_KEY is not given (plain mode)".into()),
            Some(Err(e)) => return Verdict::Fail(format!("SHOP_AES_KEY given here: {e}")),
            Some(Ok(key)) => key,
        };
        let Some(appid) = self.settings.shop_appid.as_deref() else {
            return Verdict::Fail("SHOP_AES_KEY needs SHOP_APPID".into());
        };
        let plaintext = serde_json::json!({
            "ToUserName": ACCOUNT, "FromUserName": OPENID, "CreateTime": self.now,
            "MsgType": "event", "Event": "commkf_send_msg_to_kf",
            "msg_id": msg_id.to_string(), "msg_type": "text",
            "text": {"content": "kefu-check: a test message, ignore"},
        })
        .to_string();
        let (ts, nonce) = (self.now.to_string(), hex_random());
        let sealed = key.encrypt(&random_bytes::<16>(), &plaintext, appid);
        let query = format!(
            "/wechat/shop?signature={}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
            signature(&[token, &ts, &nonce]),
            signature(&[token, &ts, &nonce, &sealed])
        );
        let body = serde_json::json!({ "ToUserName": ACCOUNT, "Encrypt": sealed }).to_string();
        let answer = match self.send(
            "POST",
            &query,
            &[("Content-Type", "application/json")],
            Some(&body),
        ) {
            Ok(answer) => answer,
            Err(verdict) => return verdict,
        };
        judge_shop_answer(&answer)
    }

    /// One text to a WeChat Shop buyer through the Worker's admin API: their open ticket, then a
    /// reply, which the Worker sends by commkf/sendmsg with the Shop's own token.
    fn send_test(&self, openid: &str) -> Verdict {
        let Some(admin) = self.settings.admin_token.as_deref() else {
            return Verdict::Skip("ADMIN_TOKEN is not given".into());
        };
        let bearer = format!("Bearer {admin}");
        let auth = [("Authorization", bearer.as_str())];
        let list = match self.send("GET", "/api/tickets?channel=shop&limit=500", &auth, None) {
            Ok(answer) if answer.status == 200 => answer,
            Ok(answer) => return Verdict::Fail(format!("listing tickets: {}", refusal(&answer))),
            Err(verdict) => return verdict,
        };
        let Some(ticket) = open_ticket_of(&list.body, openid) else {
            return Verdict::Fail(format!(
                "no open Shop ticket for {openid}: the buyer must write to the shop first (replies are allowed for 48 hours after)"
            ));
        };
        let key = format!("kefu-check-send-test-{}", self.now);
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", key.as_str()),
        ];
        let body = r#"{"text":"kefu-check: a test reply from kefu-edge"}"#;
        let path = format!("/api/tickets/{ticket}/reply");
        match self.send("POST", &path, &headers, Some(body)) {
            Ok(answer) => judge_send_test(&answer, ticket),
            Err(verdict) => verdict,
        }
    }

    fn payfeedback(&self) -> Verdict {
        let Some(key) = self.settings.pay_sign_key.as_deref() else {
            return Verdict::Skip("PAY_SIGN_KEY is not given".into());
        };
        let appid = self.settings.wechat_appid.as_deref().unwrap_or(ACCOUNT);
        let ts = self.now.to_string();
        let body = XmlWriter::new()
            .cdata("OpenId", OPENID)
            .cdata("AppId", appid)
            .number("TimeStamp", self.now)
            .cdata("MsgType", "confirm")
            .cdata("FeedBackId", &format!("kefu-check-{ts}"))
            .cdata("TransId", &format!("kefu-check-{ts}"))
            .cdata("Reason", "kefu-check: a test notification, ignore")
            .cdata("AppSignature", &app_signature(appid, key, OPENID, &ts))
            .cdata("SignMethod", "sha1")
            .finish();
        match self.send("POST", "/wechat/payfeedback", &[], Some(&body)) {
            Ok(answer) if answer.status == 200 => Verdict::Pass("answered success".into()),
            Ok(answer) if refusal_code(&answer).as_deref() == Some("bad_signature") => {
                Verdict::Fail(format!(
                    "{}: the Worker's PAY_SIGN_KEY (the paySignKey) is not the one given here",
                    refusal(&answer)
                ))
            }
            Ok(answer) => Verdict::Fail(refusal(&answer)),
            Err(verdict) => verdict,
        }
    }

    /// A card-shop event signed with the secret, or (`signed` false) with a wrong one, which
    /// must be refused.
    fn card_shop_event(&self, signed: bool) -> Verdict {
        // While the secret rotates, the card shop signs with either: this signs with the first.
        let secret = self.settings.order_webhook_secret.as_deref();
        let Some(secret) = secret.and_then(|s| orders::secrets(s).next()) else {
            return Verdict::Skip("ORDER_WEBHOOK_SECRET is not given".into());
        };
        let ts = self.now.to_string();
        let body = serde_json::json!({
            "id": format!("kefu-check-{ts}"),
            "type": "kefu_check.ping",
            "order": {"id": format!("kefu-check-{ts}")},
        })
        .to_string();
        let key = if signed {
            secret.to_owned()
        } else {
            format!("not-{secret}")
        };
        let sig = orders::signature(&key, &ts, body.as_bytes()).unwrap_or_default();
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Kefu-Timestamp", ts.as_str()),
            ("X-Kefu-Signature", &format!("sha256={sig}")),
        ];
        let answer = match self.send("POST", "/hooks/orders", &headers, Some(&body)) {
            Ok(answer) => answer,
            Err(verdict) => return verdict,
        };
        match (signed, answer.status) {
            (true, 200) => Verdict::Pass("accepted".into()),
            (true, 401) => Verdict::Fail(format!(
                "{}: the Worker's ORDER_WEBHOOK_SECRET is not the one given here",
                refusal(&answer)
            )),
            (false, 401) => Verdict::Pass(format!("refused ({})", refusal(&answer))),
            (false, _) => Verdict::Fail(format!(
                "a wrongly signed event was answered {}, not 401",
                answer.status
            )),
            (true, _) => Verdict::Fail(refusal(&answer)),
        }
    }

    /// A `user_send_text` from the Zalo user `kefu-check`, signed with the OA secret key given
    /// here (or with another one).
    fn zalo_message(&self, signed: bool) -> Verdict {
        let (Some(app_id), Some(secret)) = (
            self.settings.zalo_app_id.as_deref(),
            self.settings.zalo_oa_secret_key.as_deref(),
        ) else {
            return Verdict::Skip("ZALO_APP_ID or ZALO_OA_SECRET_KEY is not given".into());
        };
        let ts = (self.now * 1000).to_string();
        let body = serde_json::json!({
            "app_id": app_id,
            "event_name": "user_send_text",
            "timestamp": ts,
            "sender": {"id": OPENID},
            "recipient": {"id": ACCOUNT},
            "message": {"msg_id": format!("kefu-check-{ts}"), "text": "kefu-check"},
        })
        .to_string();
        let key = if signed {
            secret.to_owned()
        } else {
            format!("not-{secret}")
        };
        let mac = zalo::mac(app_id, body.as_bytes(), &ts, &key);
        let headers = [
            ("Content-Type", "application/json"),
            ("X-ZEvent-Signature", &format!("mac={mac}")),
        ];
        let answer = match self.send("POST", "/zalo/oa", &headers, Some(&body)) {
            Ok(answer) => answer,
            Err(verdict) => return verdict,
        };
        judge_zalo(signed, &answer)
    }

    fn refuse_bad_signature(&self) -> Verdict {
        let token = self.settings.wechat_token.as_deref().unwrap_or("");
        self.expect_refused_url_check(&format!("not-{token}"), self.now, "bad_signature")
    }

    fn refuse_stale_timestamp(&self) -> Verdict {
        let Some(token) = self.settings.wechat_token.as_deref() else {
            return Verdict::Skip("WECHAT_TOKEN is not given".into());
        };
        let stale = self.now - self.settings.callback_max_skew_secs - 3600;
        self.expect_refused_url_check(token, stale, "stale_timestamp")
    }

    fn expect_refused_url_check(&self, token: &str, timestamp: i64, expected: &str) -> Verdict {
        let (ts, nonce) = (timestamp.to_string(), hex_random());
        let sig = signature(&[token, &ts, &nonce]);
        let query = format!("/wechat/oa?signature={sig}&timestamp={ts}&nonce={nonce}&echostr=x");
        match self.send("GET", &query, &[], None) {
            Ok(answer) if refusal_code(&answer).as_deref() == Some(expected) => {
                Verdict::Pass(format!("refused ({})", refusal(&answer)))
            }
            Ok(answer) => Verdict::Fail(format!(
                "answered {} where {expected} was the refusal to give",
                refusal(&answer)
            )),
            Err(verdict) => verdict,
        }
    }

    fn head(&self, msg_type: &str) -> XmlWriter {
        XmlWriter::new()
            .cdata("ToUserName", ACCOUNT)
            .cdata("FromUserName", OPENID)
            .number("CreateTime", self.now)
            .cdata("MsgType", msg_type)
    }

    fn text_message(&self, msg_id: i64) -> String {
        self.head("text")
            .cdata("Content", "kefu-check: a test message, ignore")
            .number("MsgId", msg_id)
            .finish()
    }

    /// Posts a push to `/wechat/oa` as WeChat does: signed, and sealed when `encrypted`.
    fn push(&self, keys: &OaKeys, plaintext: &str, encrypted: bool) -> Result<Answer, Verdict> {
        let (ts, nonce) = (self.now.to_string(), hex_random());
        let sig = signature(&[keys.token, &ts, &nonce]);
        let base =
            format!("/wechat/oa?signature={sig}&timestamp={ts}&nonce={nonce}&openid={OPENID}");
        let (query, body) = match (encrypted, keys.aes) {
            (true, Some((key, appid))) => {
                let sealed = key.encrypt(&random_bytes::<16>(), plaintext, appid);
                let msg_signature = signature(&[keys.token, &ts, &nonce, &sealed]);
                let body = XmlWriter::new()
                    .cdata("ToUserName", ACCOUNT)
                    .cdata("Encrypt", &sealed)
                    .finish();
                (
                    format!("{base}&encrypt_type=aes&msg_signature={msg_signature}"),
                    body,
                )
            }
            _ => (base, plaintext.to_owned()),
        };
        self.send("POST", &query, &[("Content-Type", "text/xml")], Some(&body))
    }
}

/// Judges a 200 answer to a text message: `success`, or a reply addressed to the customer,
/// sealed and signed when the push was (`aes`).
/// What Zalo would make of the answer to a (well or wrongly) signed event.
fn judge_zalo(signed: bool, answer: &Answer) -> Verdict {
    match (signed, answer.status) {
        (true, 200) => Verdict::Pass("accepted".into()),
        (true, 401) => Verdict::Fail(format!(
            "{}: the Worker's ZALO_APP_ID or ZALO_OA_SECRET_KEY is not the one given here",
            refusal(answer)
        )),
        (false, 401) => Verdict::Pass(format!("refused ({})", refusal(answer))),
        (false, status) => Verdict::Fail(format!(
            "a wrongly signed Zalo event was answered {status}, not 401"
        )),
        (true, _) => Verdict::Fail(refusal(answer)),
    }
}

fn judge_reply(answer: &Answer, aes: Option<(&AesKey, &str)>, token: &str) -> Verdict {
    if answer.body == "success" {
        return Verdict::Pass("answered success (no passive reply)".into());
    }
    let reply = match xml::parse(&answer.body) {
        Ok(doc) => doc,
        Err(e) => return Verdict::Fail(format!("the reply is not XML: {e}")),
    };
    let inner = match aes {
        None => reply,
        Some((key, appid)) => match open_sealed_reply(&reply, key, appid, token) {
            Ok(inner) => inner,
            Err(reason) => return Verdict::Fail(reason),
        },
    };
    match (inner.get("ToUserName"), inner.get("MsgType")) {
        (Some(OPENID), Some(msg_type)) => Verdict::Pass(format!(
            "reply {msg_type}{}",
            if aes.is_some() {
                ", sealed: MsgSignature verified, decrypted, AppID matches"
            } else {
                ""
            }
        )),
        (to, _) => Verdict::Fail(format!(
            "the reply is addressed to {to:?}, not to the customer {OPENID:?}"
        )),
    }
}

/// The Shop retries a push until it gets `success` (or an empty body).
fn judge_shop_answer(answer: &Answer) -> Verdict {
    match answer.status {
        200 if answer.body == "success" => Verdict::Pass(
            "answered success: sealed with SHOP_AES_KEY, MsgSignature and AppID accepted".into(),
        ),
        200 => Verdict::Fail(format!(
            "the Shop wants success, got {:?}",
            shorten(&answer.body)
        )),
        _ => {
            let hint = match refusal_code(answer).as_deref() {
                Some("bad_signature") => ": SHOP_TOKEN differs from the Worker's",
                Some("foreign_appid") | Some("crypto") => {
                    ": SHOP_AES_KEY or SHOP_APPID differs from the Worker's"
                }
                _ => "",
            };
            Verdict::Fail(format!("{}{hint}", refusal(answer)))
        }
    }
}

/// The id of the buyer's ticket that is not closed, from `GET /api/tickets`.
fn open_ticket_of(list: &str, openid: &str) -> Option<i64> {
    let list: serde_json::Value = serde_json::from_str(list).ok()?;
    list.get("tickets")?
        .as_array()?
        .iter()
        .find(|t| t["customer_id"] == openid && t["status"] != "closed")?
        .get("id")?
        .as_i64()
}

fn judge_send_test(answer: &Answer, ticket: i64) -> Verdict {
    let field = |name| refusal_field(answer, name).unwrap_or_default();
    match answer.status {
        202 => Verdict::Pass(format!(
            "queued as delivery {} by {}: its outcome shows on ticket #{ticket}",
            field("delivery"),
            field("channel")
        )),
        409 => Verdict::Fail(format!("{}: not sent", refusal(answer))),
        _ => Verdict::Fail(refusal(answer)),
    }
}

/// Checks a sealed reply's MsgSignature and decrypts it with the AppID check WeChat makes.
fn open_sealed_reply(
    reply: &XmlDoc,
    key: &AesKey,
    appid: &str,
    token: &str,
) -> Result<XmlDoc<'static>, String> {
    let field = |name: &str| {
        reply
            .get(name)
            .ok_or_else(|| format!("the sealed reply has no {name}"))
    };
    let (encrypted, msg_signature) = (field("Encrypt")?, field("MsgSignature")?);
    let (timestamp, nonce) = (field("TimeStamp")?, field("Nonce")?);
    if signature(&[token, timestamp, nonce, encrypted]) != msg_signature {
        return Err("the reply's MsgSignature does not verify with WECHAT_TOKEN".into());
    }
    let plaintext = key.decrypt(encrypted, appid).map_err(|e| match e {
        CryptoError::AppIdMismatch => {
            "the reply is sealed for another AppID: WECHAT_APPID differs".to_owned()
        }
        other => format!("the reply does not decrypt with WECHAT_AES_KEY: {other}"),
    })?;
    xml::parse(&plaintext)
        .map(XmlDoc::into_owned)
        .map_err(|e| format!("the decrypted reply is not XML: {e}"))
}

/// A refused push, with the setting that most likely differs.
fn explain_push_refusal(answer: &Answer) -> String {
    let hint = match refusal_code(answer).as_deref() {
        Some("bad_signature") => ": WECHAT_TOKEN differs from the Worker's",
        Some("foreign_appid") => ": WECHAT_APPID differs from the Worker's",
        Some("crypto") => {
            ": WECHAT_AES_KEY (消息加解密密钥) or WECHAT_APPID differs from the Worker's"
        }
        Some("unencrypted_push") => {
            ": the Worker has an EncodingAESKey; give WECHAT_AES_KEY and WECHAT_APPID here"
        }
        _ => "",
    };
    format!("{}{hint}", refusal(answer))
}

/// The Worker's refusal body: `{"error": <reason>, "code": <code>}`.
fn refusal_field(answer: &Answer, field: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

fn refusal_code(answer: &Answer) -> Option<String> {
    refusal_field(answer, "code")
}

/// The status and the Worker's reason, or the start of the body.
fn refusal(answer: &Answer) -> String {
    let reason = refusal_field(answer, "error").unwrap_or_else(|| shorten(&answer.body));
    format!("{} {reason}", answer.status)
}

fn shorten(text: &str) -> String {
    text.chars().take(160).collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes
}

fn hex_random() -> String {
    kefu_edge::wechat::crypto::hex(&random_bytes::<8>())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "token";
    const APPID: &str = "wxappid";

    fn key() -> AesKey {
        AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
        }
    }

    /// A reply sealed as the Worker seals it, with the signature made under `token`.
    fn sealed(inner: &str, appid: &str, token: &str) -> Answer {
        let encrypted = key().encrypt(&[7; 16], inner, appid);
        let body = XmlWriter::new()
            .cdata("Encrypt", &encrypted)
            .cdata("MsgSignature", &signature(&[token, "1", "n", &encrypted]))
            .cdata("TimeStamp", "1")
            .cdata("Nonce", "n")
            .finish();
        answer(200, &body)
    }

    fn reply_to(openid: &str) -> String {
        XmlWriter::new()
            .cdata("ToUserName", openid)
            .cdata("MsgType", "transfer_customer_service")
            .finish()
    }

    fn judge(answer: &Answer) -> Verdict {
        let key = key();
        judge_reply(answer, Some((&key, APPID)), TOKEN)
    }

    #[test]
    fn a_sealed_reply_to_the_customer_passes() {
        let verdict = judge(&sealed(&reply_to(OPENID), APPID, TOKEN));
        assert!(matches!(&verdict, Verdict::Pass(r) if r.contains("MsgSignature verified")));
        assert!(matches!(judge(&answer(200, "success")), Verdict::Pass(_)));
    }

    #[test]
    fn a_reply_wechat_would_refuse_fails_with_the_setting_to_fix() {
        let fails = |answer: &Answer, expected: &str| match judge(answer) {
            Verdict::Fail(reason) => assert!(reason.contains(expected), "{reason}"),
            other => panic!("{other:?}"),
        };
        fails(&sealed(&reply_to(OPENID), APPID, "other"), "MsgSignature");
        fails(
            &sealed(&reply_to(OPENID), "wxother", TOKEN),
            "WECHAT_APPID differs",
        );
        fails(
            &sealed(&reply_to("someone"), APPID, TOKEN),
            "not to the customer",
        );
        fails(
            &sealed("not xml <", APPID, TOKEN),
            "decrypted reply is not XML",
        );
        fails(
            &answer(200, "<xml><Encrypt>x</Encrypt></xml>"),
            "no MsgSignature",
        );
        fails(&answer(200, "<<"), "not XML");
    }

    #[test]
    fn zalo_answers_are_judged_as_zalo_would() {
        let refused = answer(
            401,
            r#"{"error":"signature mismatch","code":"unauthenticated"}"#,
        );
        assert!(matches!(
            judge_zalo(true, &answer(200, "{}")),
            Verdict::Pass(_)
        ));
        assert!(matches!(judge_zalo(false, &refused), Verdict::Pass(_)));
        assert!(
            matches!(judge_zalo(true, &refused), Verdict::Fail(why) if why.contains("ZALO_OA_SECRET_KEY"))
        );
        assert!(matches!(
            judge_zalo(false, &answer(200, "{}")),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            judge_zalo(true, &answer(500, "x")),
            Verdict::Fail(_)
        ));
    }

    #[test]
    fn refusals_name_the_setting_from_the_workers_code() {
        let refused = |code: &str| {
            explain_push_refusal(&answer(
                403,
                &serde_json::json!({"error": "why", "code": code}).to_string(),
            ))
        };
        assert_eq!(
            refused("bad_signature"),
            "403 why: WECHAT_TOKEN differs from the Worker's"
        );
        assert!(refused("foreign_appid").ends_with("WECHAT_APPID differs from the Worker's"));
        assert!(refused("crypto").contains("WECHAT_AES_KEY"));
        assert!(refused("unencrypted_push").contains("give WECHAT_AES_KEY"));
        assert_eq!(refused("too_large"), "403 why");
        assert_eq!(
            explain_push_refusal(&answer(502, "Bad gateway")),
            "502 Bad gateway"
        );
    }

    #[test]
    fn the_shop_wants_success() {
        assert!(matches!(
            judge_shop_answer(&answer(200, "success")),
            Verdict::Pass(_)
        ));
        assert!(matches!(
            judge_shop_answer(&answer(200, "ok")),
            Verdict::Fail(_)
        ));
        let Verdict::Fail(why) = judge_shop_answer(&answer(
            403,
            r#"{"error":"signature mismatch","code":"bad_signature"}"#,
        )) else {
            panic!("a refusal fails")
        };
        assert!(why.contains("SHOP_TOKEN differs"), "{why}");
    }

    #[test]
    fn send_test_finds_the_buyers_open_ticket_and_judges_the_reply() {
        let list = r#"{"tickets":[{"id":3,"customer_id":"oB","status":"closed"},{"id":4,"customer_id":"oB","status":"open"},{"id":5,"customer_id":"oC","status":"open"}]}"#;
        assert_eq!(open_ticket_of(list, "oB"), Some(4));
        assert_eq!(open_ticket_of(list, "oX"), None);
        assert_eq!(open_ticket_of("not json", "oB"), None);
        let queued = judge_send_test(
            &answer(202, r#"{"delivery":"reply:1","channel":"wechat_shop"}"#),
            4,
        );
        assert_eq!(
            queued,
            Verdict::Pass(
                "queued as delivery reply:1 by wechat_shop: its outcome shows on ticket #4".into()
            )
        );
        let refused = judge_send_test(
            &answer(
                409,
                r#"{"error":"no channel reaches this customer: replies on this channel need SHOP_APPSECRET, which is not set"}"#,
            ),
            4,
        );
        assert!(matches!(refused, Verdict::Fail(why) if why.contains("SHOP_APPSECRET")));
    }
}
