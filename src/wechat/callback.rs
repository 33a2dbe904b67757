//! The WeChat server-push protocol shared by the Official Account and the WeChat Shop: URL
//! verification (echostr), authenticating a push (signature or msg_signature, timestamp window),
//! unwrapping the AES envelope (XML or JSON), and sealing an encrypted reply.

use std::borrow::Cow;

use super::crypto::{signature_matches, AesKey, Signature};
use crate::inline::Rejection;
use crate::xml::{self, XmlWriter, MAX_BODY_BYTES};

/// The query string WeChat appends to the callback URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackQuery {
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub echostr: Option<String>,
    pub encrypt_type: Option<String>,
    pub msg_signature: Option<String>,
}

impl CallbackQuery {
    pub fn parse(query: &str) -> Self {
        let mut q = CallbackQuery::default();
        for (key, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            let slot = match key.as_ref() {
                "signature" => &mut q.signature,
                "timestamp" => &mut q.timestamp,
                "nonce" => &mut q.nonce,
                "echostr" => &mut q.echostr,
                "encrypt_type" => &mut q.encrypt_type,
                "msg_signature" => &mut q.msg_signature,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        q
    }

    fn timestamp_and_nonce(&self) -> Result<(&str, &str), Rejection> {
        match (self.timestamp.as_deref(), self.nonce.as_deref()) {
            (Some(t), Some(n)) => Ok((t, n)),
            _ => Err(Rejection::Malformed("missing timestamp or nonce".into())),
        }
    }

    fn is_encrypted(&self) -> Result<bool, Rejection> {
        match self.encrypt_type.as_deref() {
            None | Some("") | Some("raw") => Ok(false),
            Some("aes") => Ok(true),
            Some(_) => Err(Rejection::Malformed("unsupported encrypt_type".into())),
        }
    }
}

/// The settings of one callback endpoint.
pub struct Endpoint<'a> {
    pub token: &'a str,
    /// The AES key (as the settings hold it, expanded) and AppID, when the endpoint has an
    /// EncodingAESKey configured.
    pub aes: Option<(&'a AesKey, &'a str)>,
    pub max_skew_secs: i64,
    /// The names of the settings, for error messages.
    pub aes_setting_name: &'static str,
    /// Accept unencrypted pushes although an AES key is set (`ALLOW_UNENCRYPTED_PUSH`, for the
    /// migration window while the merchant switches the console to safe mode). Off by default:
    /// a plain push's signature covers only token, timestamp and nonce, not the body.
    pub allow_unencrypted: bool,
}

/// What a verified push carried, and how to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<'a> {
    /// The plaintext push (XML or JSON): the body itself in plain mode, decrypted otherwise.
    pub plaintext: Cow<'a, str>,
    pub encrypted: bool,
}

/// Checks the timestamp window: a push whose timestamp is further than `max_skew_secs` from
/// `now` (either way) is refused, which bounds the replay of a captured push.
pub fn check_timestamp(timestamp: &str, now: i64, max_skew_secs: i64) -> Result<(), Rejection> {
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| Rejection::Malformed("timestamp is not an integer".into()))?;
    // abs_diff: `now - ts` overflows for timestamps near i64::MIN (and in release would wrap
    // into an accepted value).
    if now.abs_diff(ts) > max_skew_secs.unsigned_abs() {
        return Err(Rejection::StaleTimestamp);
    }
    Ok(())
}

/// `GET ?signature&timestamp&nonce&echostr`: the server-URL check. Returns the echostr to echo
/// (decrypted first when the check comes in safe mode with `msg_signature`).
pub fn verify_url(q: &CallbackQuery, ep: &Endpoint, now: i64) -> Result<String, Rejection> {
    let (timestamp, nonce) = q.timestamp_and_nonce()?;
    let echostr = q
        .echostr
        .as_deref()
        .ok_or_else(|| Rejection::Malformed("missing echostr".into()))?;
    if let Some(msg_signature) = q.msg_signature.as_deref() {
        if !signature_matches(msg_signature, &[ep.token, timestamp, nonce, echostr]) {
            return Err(Rejection::BadSignature("msg_signature mismatch"));
        }
        check_timestamp(timestamp, now, ep.max_skew_secs)?;
        let (key, appid) = ep
            .aes
            .as_ref()
            .ok_or_else(|| Rejection::MissingSetting((ep.aes_setting_name).to_string()))?;
        return key.decrypt(echostr, appid).map_err(Rejection::Crypto);
    }
    let sig = q
        .signature
        .as_deref()
        .ok_or_else(|| Rejection::Malformed("missing signature".into()))?;
    if !signature_matches(sig, &[ep.token, timestamp, nonce]) {
        return Err(Rejection::BadSignature("signature mismatch"));
    }
    check_timestamp(timestamp, now, ep.max_skew_secs)?;
    Ok(echostr.to_owned())
}

/// Authenticates a POST push and returns its plaintext. Size and UTF-8 are checked before any
/// parsing; the signature before the timestamp so an unsigned probe learns nothing.
pub fn open<'b>(
    q: &CallbackQuery,
    body: &'b [u8],
    ep: &Endpoint,
    now: i64,
) -> Result<Opened<'b>, Rejection> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge);
    }
    let body = simdutf8::basic::from_utf8(body)
        .map_err(|_| Rejection::Malformed("body is not valid UTF-8".into()))?;
    let (timestamp, nonce) = q.timestamp_and_nonce()?;
    if !q.is_encrypted()? {
        if ep.aes.is_some() && !ep.allow_unencrypted {
            return Err(Rejection::UnencryptedPush(ep.aes_setting_name));
        }
        let sig = q
            .signature
            .as_deref()
            .ok_or_else(|| Rejection::Malformed("missing signature".into()))?;
        if !signature_matches(sig, &[ep.token, timestamp, nonce]) {
            return Err(Rejection::BadSignature("signature mismatch"));
        }
        check_timestamp(timestamp, now, ep.max_skew_secs)?;
        return Ok(Opened {
            plaintext: Cow::Borrowed(body),
            encrypted: false,
        });
    }
    let msg_signature = q
        .msg_signature
        .as_deref()
        .ok_or_else(|| Rejection::Malformed("missing msg_signature".into()))?;
    let encrypted = envelope_ciphertext(body)?;
    if !signature_matches(msg_signature, &[ep.token, timestamp, nonce, &encrypted]) {
        return Err(Rejection::BadSignature("msg_signature mismatch"));
    }
    check_timestamp(timestamp, now, ep.max_skew_secs)?;
    let (key, appid) = ep
        .aes
        .as_ref()
        .ok_or_else(|| Rejection::MissingSetting((ep.aes_setting_name).to_string()))?;
    let plaintext = key.decrypt(&encrypted, appid).map_err(Rejection::Crypto)?;
    Ok(Opened {
        plaintext: Cow::Owned(plaintext),
        encrypted: true,
    })
}

/// The `Encrypt` field of an encrypted push, whose envelope is XML (borrowed from it) or JSON.
fn envelope_ciphertext(body: &str) -> Result<Cow<'_, str>, Rejection> {
    let encrypted = if body.trim_start().starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| Rejection::Malformed(format!("malformed JSON: {e}")))?;
        value
            .get("Encrypt")
            .and_then(|v| v.as_str())
            .map(|e| Cow::Owned(e.to_owned()))
    } else {
        xml::first_leaf(body, "Encrypt")?
    };
    encrypted
        .filter(|e| !e.is_empty())
        .ok_or_else(|| Rejection::Malformed("missing Encrypt".into()))
}

/// Randomness and time for one sealed reply, supplied by the caller.
pub struct SealInputs<'a> {
    pub random16: &'a [u8; 16],
    pub timestamp: i64,
    pub nonce: &'a str,
}

/// The envelope's bytes besides the ciphertext and the nonce: its tags, the signature and the
/// timestamp (at most 20 characters).
const ENVELOPE_OVERHEAD: usize = 200;

/// The encrypted reply envelope: `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.
pub fn seal(reply: String, token: &str, key: &AesKey, appid: &str, inputs: &SealInputs) -> String {
    let ciphertext = key.ciphertext(inputs.random16, reply, appid);
    let base64_len = ciphertext.len().div_ceil(3) * 4;
    // The base64 is written once, into the envelope, and signed where it lies.
    let (envelope, encrypted) =
        XmlWriter::with_capacity(base64_len + inputs.nonce.len() + ENVELOPE_OVERHEAD)
            .base64_cdata("Encrypt", &ciphertext);
    let mut timestamp = itoa::Buffer::new();
    let timestamp = timestamp.format(inputs.timestamp);
    let msg_signature =
        Signature::of(&[token, timestamp, inputs.nonce, envelope.written(encrypted)]);
    envelope
        .cdata("MsgSignature", msg_signature.as_str())
        .number("TimeStamp", inputs.timestamp)
        .cdata("Nonce", inputs.nonce)
        .finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wechat::crypto::signature;
    use std::sync::LazyLock;

    pub const TOKEN: &str = "pamtest";
    pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    pub const APPID: &str = "wxb11529c136998cb6";
    pub const NOW: i64 = 1_700_000_000;

    /// The key of `AES_KEY`, expanded once as the settings do.
    pub fn aes_key() -> &'static AesKey {
        static KEY: LazyLock<AesKey> =
            LazyLock::new(|| AesKey::from_encoding_aes_key(AES_KEY).unwrap());
        &KEY
    }

    pub fn endpoint() -> Endpoint<'static> {
        Endpoint {
            token: TOKEN,
            aes: Some((aes_key(), APPID)),
            max_skew_secs: 300,
            aes_setting_name: "WECHAT_AES_KEY",
            allow_unencrypted: true,
        }
    }

    /// A signed plain-mode query, as WeChat would send it.
    pub fn plain_query(timestamp: i64) -> CallbackQuery {
        let ts = timestamp.to_string();
        CallbackQuery {
            signature: Some(signature(&[TOKEN, &ts, "nonce1"])),
            timestamp: Some(ts),
            nonce: Some("nonce1".into()),
            ..Default::default()
        }
    }

    /// An encrypted push of `plaintext` and its signed query.
    pub fn encrypted_push(plaintext: &str, timestamp: i64) -> (CallbackQuery, String) {
        let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
        let enc = key.encrypt(b"0123456789abcdef", plaintext, APPID);
        let ts = timestamp.to_string();
        let q = CallbackQuery {
            signature: Some(signature(&[TOKEN, &ts, "nonce1"])),
            msg_signature: Some(signature(&[TOKEN, &ts, "nonce1", &enc])),
            timestamp: Some(ts),
            nonce: Some("nonce1".into()),
            encrypt_type: Some("aes".into()),
            ..Default::default()
        };
        (q, format!("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"))
    }

    #[test]
    fn parses_query_with_percent_encoding() {
        let q = CallbackQuery::parse("?signature=ab&timestamp=1&nonce=n%2B1&echostr=a%2Bb%3D&encrypt_type=aes&msg_signature=x&other=1");
        assert_eq!(q.nonce.as_deref(), Some("n+1"));
        assert_eq!(q.echostr.as_deref(), Some("a+b="));
        assert_eq!(q.encrypt_type.as_deref(), Some("aes"));
    }

    #[test]
    fn url_check_echoes_only_when_signed_and_fresh() {
        let mut q = plain_query(NOW);
        q.echostr = Some("12345".into());
        assert_eq!(verify_url(&q, &endpoint(), NOW).unwrap(), "12345");
        assert_eq!(
            verify_url(&q, &endpoint(), NOW + 301).unwrap_err().status(),
            403
        );
        let mut bad = q.clone();
        bad.signature = Some("0".repeat(40));
        assert_eq!(
            verify_url(&bad, &endpoint(), NOW).unwrap_err().status(),
            403
        );
        let mut missing = q.clone();
        missing.echostr = None;
        assert_eq!(
            verify_url(&missing, &endpoint(), NOW).unwrap_err().status(),
            400
        );
    }

    #[test]
    fn url_check_in_safe_mode_decrypts_echostr() {
        let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
        let echostr = key.encrypt(b"0123456789abcdef", "987654321", APPID);
        let ts = NOW.to_string();
        let q = CallbackQuery {
            msg_signature: Some(signature(&[TOKEN, &ts, "n", &echostr])),
            timestamp: Some(ts),
            nonce: Some("n".into()),
            echostr: Some(echostr),
            ..Default::default()
        };
        assert_eq!(verify_url(&q, &endpoint(), NOW).unwrap(), "987654321");
    }

    #[test]
    fn opens_plain_and_encrypted_pushes() {
        let opened = open(&plain_query(NOW), b"<xml/>", &endpoint(), NOW).unwrap();
        assert_eq!(
            opened,
            Opened {
                plaintext: "<xml/>".into(),
                encrypted: false
            }
        );
        let (q, body) = encrypted_push("<xml><A>1</A></xml>", NOW);
        let opened = open(&q, body.as_bytes(), &endpoint(), NOW).unwrap();
        assert_eq!(
            opened,
            Opened {
                plaintext: "<xml><A>1</A></xml>".into(),
                encrypted: true
            }
        );
        let json_body = format!(
            "{{\"ToUserName\":\"gh\",\"Encrypt\":\"{}\"}}",
            extract_encrypt(&body)
        );
        assert!(
            open(&q, json_body.as_bytes(), &endpoint(), NOW)
                .unwrap()
                .encrypted
        );
    }

    fn extract_encrypt(body: &str) -> String {
        xml::parse(body).unwrap().get("Encrypt").unwrap().to_owned()
    }

    #[test]
    fn refuses_bad_pushes_with_specific_statuses() {
        let ep = endpoint();
        let (q, body) = encrypted_push("<xml/>", NOW);
        let status = |q: &CallbackQuery, body: &[u8]| open(q, body, &ep, NOW).unwrap_err().status();
        assert_eq!(status(&q, &vec![b' '; MAX_BODY_BYTES + 1]), 413);
        assert_eq!(status(&plain_query(NOW), b"<xml>\xff</xml>"), 400);
        let mut no_sig = plain_query(NOW);
        no_sig.signature = None;
        assert_eq!(status(&no_sig, b"<xml/>"), 400);
        assert_eq!(status(&plain_query(NOW - 1000), b"<xml/>"), 403);
        let mut wrong = q.clone();
        wrong.msg_signature = Some("f".repeat(40));
        assert_eq!(status(&wrong, body.as_bytes()), 403);
        let mut odd = q.clone();
        odd.encrypt_type = Some("sm4".into());
        assert_eq!(status(&odd, body.as_bytes()), 400);
        assert_eq!(status(&q, b"<xml><ToUserName>x</ToUserName></xml>"), 400);
        // Wrong AppID: a push sealed for another account.
        let other = AesKey::from_encoding_aes_key(AES_KEY).unwrap().encrypt(
            b"0123456789abcdef",
            "<xml/>",
            "wx0000",
        );
        let ts = NOW.to_string();
        let q2 = CallbackQuery {
            msg_signature: Some(signature(&[TOKEN, &ts, "nonce1", &other])),
            ..q.clone()
        };
        let body2 = format!("<xml><Encrypt>{other}</Encrypt></xml>");
        assert_eq!(status(&q2, body2.as_bytes()), 403);
        // Bad base64 with a valid signature over it.
        let q3 = CallbackQuery {
            msg_signature: Some(signature(&[TOKEN, &ts, "nonce1", "@@@"])),
            ..q.clone()
        };
        assert_eq!(status(&q3, b"<xml><Encrypt>@@@</Encrypt></xml>"), 400);
        // Encrypted push but no AES key configured: names the setting.
        let no_aes = Endpoint {
            aes: None,
            ..endpoint()
        };
        let err = open(&q, body.as_bytes(), &no_aes, NOW).unwrap_err();
        assert_eq!(
            (err.status(), err.to_string().as_str()),
            (500, "missing setting WECHAT_AES_KEY")
        );
    }

    #[test]
    fn sealed_reply_verifies_and_decrypts() {
        let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
        let sealed = seal(
            "<xml>reply</xml>".into(),
            TOKEN,
            &key,
            APPID,
            &SealInputs {
                random16: b"0123456789abcdef",
                timestamp: NOW,
                nonce: "n2",
            },
        );
        let doc = xml::parse(&sealed).unwrap();
        let enc = doc.get("Encrypt").unwrap();
        assert_eq!(doc.get("TimeStamp"), Some(NOW.to_string().as_str()));
        assert!(signature_matches(
            doc.get("MsgSignature").unwrap(),
            &[TOKEN, &NOW.to_string(), "n2", enc]
        ));
        assert_eq!(key.decrypt(enc, APPID).unwrap(), "<xml>reply</xml>");
    }

    #[test]
    fn the_envelope_is_written_in_one_allocation_whatever_the_timestamp() {
        let key = AesKey::from_encoding_aes_key(AES_KEY).unwrap();
        for timestamp in [0, NOW, i64::MIN] {
            let sealed = seal(
                "r".repeat(300),
                TOKEN,
                &key,
                APPID,
                &SealInputs {
                    random16: b"0123456789abcdef",
                    timestamp,
                    nonce: "n2",
                },
            );
            let encrypted = xml::parse(&sealed).unwrap().get("Encrypt").unwrap().len();
            assert!(
                sealed.len() <= encrypted + 2 + ENVELOPE_OVERHEAD,
                "{sealed}"
            );
        }
    }

    #[test]
    fn extreme_timestamps_are_stale_not_overflows() {
        for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
            assert_eq!(
                check_timestamp(&ts.to_string(), NOW, 300),
                Err(Rejection::StaleTimestamp),
                "{ts}"
            );
        }
        assert_eq!(check_timestamp(&(NOW - 300).to_string(), NOW, 300), Ok(()));
        assert_eq!(
            check_timestamp(&(NOW + 301).to_string(), NOW, 300),
            Err(Rejection::StaleTimestamp)
        );
        assert_eq!(
            check_timestamp(&i64::MIN.to_string(), i64::MAX, 300),
            Err(Rejection::StaleTimestamp)
        );
    }

    #[test]
    fn with_an_aes_key_an_unencrypted_push_is_refused_unless_allowed() {
        let safe_only = Endpoint {
            allow_unencrypted: false,
            ..endpoint()
        };
        let body = b"<xml><ToUserName>x</ToUserName></xml>";
        // Correctly signed in plain mode, but the body is not covered: forgeable.
        let err = open(&plain_query(NOW), body, &safe_only, NOW).unwrap_err();
        assert_eq!(err, Rejection::UnencryptedPush("WECHAT_AES_KEY"));
        assert_eq!(err.status(), 403);
        assert!(err.to_string().contains("ALLOW_UNENCRYPTED_PUSH"), "{err}");
        // Safe mode still works, and a plain-mode endpoint (no key) takes plain pushes.
        let (q, envelope) = encrypted_push("<xml><A>1</A></xml>", NOW);
        assert!(open(&q, envelope.as_bytes(), &safe_only, NOW).is_ok());
        let plain_only = Endpoint {
            aes: None,
            allow_unencrypted: false,
            ..endpoint()
        };
        assert!(open(&plain_query(NOW), body, &plain_only, NOW).is_ok());
        // The migration window's setting lets them through.
        assert!(open(&plain_query(NOW), body, &endpoint(), NOW).is_ok());
    }
}
