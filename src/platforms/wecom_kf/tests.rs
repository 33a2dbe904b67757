use super::*;
use crate::settings::Settings;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/vectors/wecom-kf-crypto.json")).unwrap()
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut at = v;
    for k in path {
        at = &at[k];
    }
    at.as_str()
        .unwrap_or_else(|| panic!("vector field {path:?}"))
}

fn settings(v: &Value) -> Settings {
    let pairs = [
        ("WECOM_KF_TOKEN", s(v, &["token"]).to_owned()),
        ("WECOM_KF_AES_KEY", s(v, &["encoding_aes_key"]).to_owned()),
        ("WECOM_CORP_ID", s(v, &["corp_id"]).to_owned()),
    ];
    Settings::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

fn query(case: &Value, echostr: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("msg_signature", s(case, &["msg_signature"]))
        .append_pair("timestamp", s(case, &["timestamp"]))
        .append_pair("nonce", s(case, &["nonce"]));
    if let Some(e) = echostr {
        q.append_pair("echostr", e);
    }
    q.finish()
}

fn at(case: &Value) -> i64 {
    s(case, &["timestamp"]).parse().unwrap()
}

#[test]
fn the_url_check_answers_the_decrypted_echostr_of_the_vectors() {
    let v = vectors();
    let settings = settings(&v);
    let ep = settings.kf_endpoint().unwrap();
    let case = &v["url_check"];
    let q = query(case, Some(s(case, &["echostr"])));
    assert_eq!(
        verify_url(&q, &ep, at(case)).unwrap(),
        s(case, &["expect_reply"])
    );
    // Stale, wrongly signed, or without msg_signature: refused.
    assert_eq!(
        verify_url(&q, &ep, at(case) + 301).unwrap_err().status(),
        403
    );
    let wrong = q.replace(s(case, &["nonce"]), "1");
    assert_eq!(verify_url(&wrong, &ep, at(case)).unwrap_err().status(), 403);
    let unsigned = format!(
        "signature={}&timestamp={}&nonce=1&echostr=x",
        "0".repeat(40),
        at(case)
    );
    assert_eq!(
        verify_url(&unsigned, &ep, at(case)).unwrap_err().status(),
        400
    );
}

#[test]
fn a_signed_callback_of_the_vectors_opens_to_a_sync_of_its_account() {
    let v = vectors();
    let settings = settings(&v);
    let ep = settings.kf_endpoint().unwrap();
    let case = &v["push"];
    let opened = open(
        &query(case, None),
        s(case, &["body"]).as_bytes(),
        &ep,
        at(case),
    )
    .unwrap();
    assert_eq!(opened.plaintext, s(case, &["expect_plaintext"]));
    assert_eq!(
        parse_callback(&opened.plaintext, 7).unwrap(),
        Some(KfSync {
            open_kfid: s(case, &["expect_open_kfid"]).into(),
            token: Some(s(case, &["expect_token"]).into()),
            received_at: 7,
        })
    );
    // Sealed for another CorpID: 403; a body changed under the signature: 403; too large: 413.
    let foreign = &v["foreign_corp"];
    let refused = open(
        &query(foreign, None),
        s(foreign, &["body"]).as_bytes(),
        &ep,
        at(foreign),
    )
    .unwrap_err();
    assert_eq!(
        refused,
        Rejection::Crypto(crate::wechat::crypto::CryptoError::AppIdMismatch)
    );
    assert_eq!(refused.status(), 403);
    let tampered = s(case, &["body"]).replacen("<Encrypt><![CDATA[", "<Encrypt><![CDATA[A", 1);
    assert_eq!(
        open(&query(case, None), tampered.as_bytes(), &ep, at(case))
            .unwrap_err()
            .status(),
        403
    );
    let huge = vec![b' '; crate::xml::MAX_BODY_BYTES + 1];
    assert_eq!(
        open(&query(case, None), &huge, &ep, at(case))
            .unwrap_err()
            .status(),
        413
    );
    assert_eq!(
        open(&query(case, None), b"<xml><nope/></xml>", &ep, at(case))
            .unwrap_err()
            .status(),
        400
    );
}

#[test]
fn the_endpoint_needs_all_three_settings() {
    let v = vectors();
    let full = settings(&v);
    let ep = full.kf_endpoint().unwrap();
    assert!(!ep.allow_unencrypted);
    let without = |name: &'static str| {
        let full = settings(&v);
        let mut s = Settings { ..full };
        match name {
            "WECOM_KF_TOKEN" => s.wecom_kf_token = None,
            "WECOM_KF_AES_KEY" => s.wecom_kf_aes_key = None,
            _ => s.wecom_corp_id = None,
        }
        s.kf_endpoint().err().unwrap().to_string()
    };
    for name in ["WECOM_KF_TOKEN", "WECOM_KF_AES_KEY", "WECOM_CORP_ID"] {
        assert_eq!(without(name), format!("missing setting {name}"));
    }
}

#[test]
fn other_events_are_acknowledged_and_a_callback_without_account_refused() {
    assert_eq!(
        parse_callback(
            "<xml><MsgType>event</MsgType><Event>change_contact</Event></xml>",
            1
        )
        .unwrap(),
        None
    );
    let no_account =
        "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event><Token>t</Token></xml>";
    assert_eq!(parse_callback(no_account, 1).unwrap_err().status(), 400);
    let bad_account =
        "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event><OpenKfId>a b</OpenKfId></xml>";
    assert_eq!(parse_callback(bad_account, 1).unwrap_err().status(), 400);
    let no_token =
        "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event><OpenKfId>wk1</OpenKfId></xml>";
    assert_eq!(parse_callback(no_token, 1).unwrap().unwrap().token, None);
    assert_eq!(parse_callback("<xml>", 1).unwrap_err().status(), 400);
}

#[test]
fn requests_carry_what_the_documentation_names() {
    let sync = KfSync {
        open_kfid: "wk1".into(),
        token: Some("TOK".into()),
        received_at: 0,
    };
    let r = sync_request("http://h", "AT", &sync, Some("C1"));
    assert_eq!(r.url, "http://h/cgi-bin/kf/sync_msg?access_token=AT");
    let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"cursor": "C1", "token": "TOK", "limit": 1000, "open_kfid": "wk1"})
    );
    let first = sync_request(
        "http://h",
        "AT",
        &KfSync {
            token: None,
            ..sync
        },
        None,
    );
    let body: Value = serde_json::from_str(first.body.as_deref().unwrap()).unwrap();
    assert_eq!(body, json!({"limit": 1000, "open_kfid": "wk1"}));

    assert_eq!(
        token_request("http://h", "ww1", "s&x").url,
        "http://h/cgi-bin/gettoken?corpid=ww1&corpsecret=s%26x"
    );
    let to = KfCustomer {
        open_kfid: "wk1".into(),
        external_userid: "wm1".into(),
    };
    let text = KfOutMessage::Text {
        content: "hi".into(),
    };
    let send = send_request("http://h", "AT", &to, "m1", &text);
    assert_eq!(send.url, "http://h/cgi-bin/kf/send_msg?access_token=AT");
    assert_eq!(
        serde_json::from_str::<Value>(send.body.as_deref().unwrap()).unwrap(),
        json!({"touser": "wm1", "open_kfid": "wk1", "msgid": "m1", "msgtype": "text", "text": {"content": "hi"}})
    );
    let welcome = welcome_request("http://h", "AT", "CODE", "m2", &text);
    assert_eq!(
        welcome.url,
        "http://h/cgi-bin/kf/send_msg_on_event?access_token=AT"
    );
    assert_eq!(
        serde_json::from_str::<Value>(welcome.body.as_deref().unwrap()).unwrap(),
        json!({"code": "CODE", "msgid": "m2", "msgtype": "text", "text": {"content": "hi"}})
    );
    let trans = trans_request("http://h", "AT", &to, ServiceState::Human, Some("zhangsan"));
    assert_eq!(
        trans.url,
        "http://h/cgi-bin/kf/service_state/trans?access_token=AT"
    );
    assert_eq!(
        serde_json::from_str::<Value>(trans.body.as_deref().unwrap()).unwrap(),
        json!({"open_kfid": "wk1", "external_userid": "wm1", "service_state": 3, "servicer_userid": "zhangsan"})
    );
    let end = trans_request("http://h", "AT", &to, ServiceState::Ended, None);
    assert!(!end.body.unwrap().contains("servicer_userid"));
    let batch = customers_request("http://h", "AT", &["wm1".into()]);
    assert_eq!(
        serde_json::from_str::<Value>(batch.body.as_deref().unwrap()).unwrap(),
        json!({"external_userid_list": ["wm1"], "need_enter_session_context": 1})
    );
}

#[test]
fn send_msgids_fit_the_platform_and_stay_the_same_for_a_delivery() {
    assert_eq!(send_msgid("reply-1_a"), "reply-1_a");
    let long = send_msgid("reply:0123456789abcdef0123456789abcdef");
    assert_eq!(long.len(), 32);
    assert!(long.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(long, send_msgid("reply:0123456789abcdef0123456789abcdef"));
    assert_ne!(long, send_msgid("reply:0123456789abcdef0123456789abcdee"));
    assert_eq!(send_msgid("a:b").len(), 32);
    assert_eq!(send_msgid("").len(), 32);
}

fn response(body: &str) -> HttpResult {
    HttpResult::Response {
        status: 200,
        body: body.into(),
        retry_after: None,
    }
}

#[test]
fn answers_are_classified_by_wecom_errcodes() {
    assert_eq!(
        classify(&response(r#"{"errcode":0,"errmsg":"ok"}"#)),
        Outcome::Delivered
    );
    for code in [40014, 42001, 41001] {
        let answer = format!(r#"{{"errcode":{code},"errmsg":"token"}}"#);
        assert!(
            matches!(classify(&response(&answer)), Outcome::TokenExpired(_)),
            "{code}"
        );
    }
    for (code, says) in [
        (95018, "95018"),
        (95001, "used up"),
        (95000, "open_kfid"),
        (40001, "40001"),
    ] {
        let answer = format!(r#"{{"errcode":{code},"errmsg":"x"}}"#);
        match classify(&response(&answer)) {
            Outcome::Permanent(reason) => assert!(reason.contains(says), "{reason}"),
            other => panic!("{code}: {other:?}"),
        }
    }
    assert!(matches!(
        classify(&response(r#"{"errcode":-1,"errmsg":"busy"}"#)),
        Outcome::Retryable(_)
    ));
    let server_error = HttpResult::Response {
        status: 502,
        body: String::new(),
        retry_after: None,
    };
    assert!(matches!(classify(&server_error), Outcome::Retryable(_)));
    assert!(matches!(
        classify(&HttpResult::NetworkError("timeout".into())),
        Outcome::Retryable(_)
    ));
}

const PAGE: &str = r#"{"errcode":0,"errmsg":"ok","next_cursor":"C2","has_more":1,"msg_list":[
 {"msgid":"m1","open_kfid":"wk1","external_userid":"wm1","send_time":1765158000,"origin":3,"msgtype":"text","text":{"content":"hello","menu_id":"101"}},
 {"msgid":"m2","send_time":1765158001,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wk1","external_userid":"wm1","scene":"shop","scene_param":"o%3D1","welcome_code":"WC1"}},
 {"msgid":"m3","open_kfid":"wk1","external_userid":"wm1","send_time":1765158002,"origin":5,"servicer_userid":"zhangsan","msgtype":"image","image":{"media_id":"MID"}},
 {"msgid":"m4","external_userid":"wm2","send_time":1765158003,"origin":3,"msgtype":"link","link":{"title":"T","url":"http://u"}}
]}"#;

#[test]
fn a_page_is_read_with_each_message_and_its_customer() {
    let page = SyncPage::parse(PAGE).unwrap();
    assert!(page.has_more());
    assert_eq!(page.next_cursor, "C2");
    let [text, event, servicer, link] = &page.msg_list[..] else {
        panic!("four messages")
    };
    assert_eq!(text.timeline_text(), "hello");
    assert_eq!(text.dedup_key(), "kf:msg:m1");
    assert_eq!(event.event_type(), Some("enter_session"));
    assert_eq!(event.welcome_code(), Some("WC1"));
    assert_eq!(
        event.timeline_text(),
        "entered the session (scene shop, scene_param o%3D1)"
    );
    let wm1 = KfCustomer {
        open_kfid: "wk1".into(),
        external_userid: "wm1".into(),
    };
    assert_eq!(event.customer("other"), Some(wm1.clone()));
    assert_eq!(servicer.servicer_userid.as_deref(), Some("zhangsan"));
    assert_eq!(servicer.timeline_text(), "[image]");
    assert_eq!(servicer.welcome_code(), None);
    // No open_kfid in the message: the callback's account.
    assert_eq!(link.customer("wk9").unwrap().open_kfid, "wk9");
    assert_eq!(link.timeline_text(), "[link] T http://u");
    assert_eq!(wm1.customer_id(), "wk1/wm1");
    assert_eq!(KfCustomer::from_customer_id("wk1/wm1"), Some(wm1));
    assert_eq!(KfCustomer::from_customer_id("wk1"), None);
    // Stored as it came, content included.
    let stored = serde_json::to_value(text).unwrap();
    assert_eq!(stored["text"]["content"], "hello");
    let last =
        SyncPage::parse(r#"{"errcode":0,"next_cursor":"C3","has_more":0,"msg_list":[]}"#).unwrap();
    assert!(!last.has_more());
    assert!(SyncPage::parse("not json").is_err());
}

#[test]
fn profiles_are_read_from_their_answers() {
    let profiles = parse_profiles(r#"{"errcode":0,"customer_list":[{"external_userid":"wm1","nickname":"张三","avatar":"http://a","gender":0,"unionid":"u1","enter_session_context":{"scene":"s"}}],"invalid_external_userid":[]}"#).unwrap();
    assert_eq!(profiles[0].nickname.as_deref(), Some("张三"));
    assert_eq!(profiles[0].unionid.as_deref(), Some("u1"));
    // Session states travel in deliveries as their numbers; an unknown one is refused.
    assert_eq!(serde_json::to_value(ServiceState::Ended).unwrap(), json!(4));
    assert_eq!(
        serde_json::from_value::<ServiceState>(json!(3)).unwrap(),
        ServiceState::Human
    );
    assert!(serde_json::from_value::<ServiceState>(json!(9)).is_err());
}

#[test]
fn only_new_and_bot_sessions_take_api_sends() {
    use ServiceState::*;
    let allowed: Vec<bool> = [New, Bot, Queued, Human, Ended]
        .iter()
        .map(|s| s.takes_api_sends())
        .collect();
    assert_eq!(allowed, [true, true, false, false, false]);
}

#[test]
fn the_session_state_is_asked_with_service_state_get_and_read_from_its_answer() {
    let to = KfCustomer {
        open_kfid: "wk1".into(),
        external_userid: "wm1".into(),
    };
    let asked = state_request("http://h", "AT", &to);
    assert_eq!(
        asked.url,
        "http://h/cgi-bin/kf/service_state/get?access_token=AT"
    );
    assert_eq!(
        serde_json::from_str::<Value>(asked.body.as_deref().unwrap()).unwrap(),
        json!({"open_kfid": "wk1", "external_userid": "wm1"})
    );
    assert_eq!(
        StateAnswer::parse(
            r#"{"errcode":0,"errmsg":"ok","service_state":3,"servicer_userid":"zhangsan"}"#
        )
        .unwrap(),
        StateAnswer {
            service_state: ServiceState::Human,
            servicer_userid: Some("zhangsan".into()),
        }
    );
    assert!(StateAnswer::parse(r#"{"errcode":0,"service_state":7}"#).is_err());
    assert!(StateAnswer::parse(r#"{"errcode":0}"#).is_err());
}

#[test]
fn session_status_change_events_say_what_state_they_leave() {
    let event = |origin: i64, event_type: &str, change_type: i64| -> KfMessage {
        serde_json::from_value(json!({"msgid": "e", "origin": origin, "msgtype": "event",
            "event": {"event_type": event_type, "change_type": change_type}}))
        .unwrap()
    };
    let after = |change_type| event(4, "session_status_change", change_type).session_state_after();
    assert_eq!(after(1), Some(ServiceState::Human));
    assert_eq!(after(2), Some(ServiceState::Human));
    assert_eq!(after(3), Some(ServiceState::Ended));
    assert_eq!(after(4), Some(ServiceState::Human));
    assert_eq!(after(9), None);
    assert_eq!(event(4, "enter_session", 3).session_state_after(), None);
    assert_eq!(
        event(3, "session_status_change", 3).session_state_after(),
        None
    );
}
