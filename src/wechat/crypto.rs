//! The WeChat callback signature and the AES-256-CBC message envelope ("safe"/"compatible" mode),
//! shared by the Official Account and the WeChat Shop.

use aes::cipher::{
    block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit,
};
use base64_simd::STANDARD;
use sha1::{Digest, Sha1};
use subtle::{Choice, ConstantTimeEq};

type Aes256CbcEnc<'k> = cbc::Encryptor<&'k aes::Aes256Enc>;
type Aes256CbcDec<'k> = cbc::Decryptor<&'k aes::Aes256Dec>;

/// WeChat pads to 32 bytes, not the AES block size: a pad byte of up to 32 is legitimate.
const PAD_BLOCK: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// The EncodingAESKey setting is not 43 base64 characters.
    InvalidAesKey,
    /// `Encrypt` is not valid base64 or not a whole number of AES blocks.
    BadBase64,
    /// The PKCS#7 padding is not 1..=32 identical bytes.
    BadPadding,
    /// The declared message length runs past the plaintext.
    BadLength,
    /// The message is not UTF-8.
    BadUtf8,
    /// The trailing AppID is not ours.
    AppIdMismatch,
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CryptoError::InvalidAesKey => "the EncodingAESKey setting is invalid",
            CryptoError::BadBase64 => "Encrypt is not valid base64 ciphertext",
            CryptoError::BadPadding => "bad padding after decryption",
            CryptoError::BadLength => "bad message length after decryption",
            CryptoError::BadUtf8 => "decrypted message is not UTF-8",
            CryptoError::AppIdMismatch => "decrypted AppID does not match",
        })
    }
}

/// hex(sha1(concat(sort(parts)))): the `signature` (token, timestamp, nonce) and the
/// `msg_signature` (the same plus the `Encrypt` text).
pub fn signature(parts: &[&str]) -> String {
    Signature::of(parts).as_str().to_owned()
}

/// A signature in lower-case hex on the stack: what a reply writes and a check compares, with
/// no allocation.
pub struct Signature([u8; 40]);

impl Signature {
    /// The signature of `parts` (see [`signature`]).
    pub fn of(parts: &[&str]) -> Self {
        Signature(hex_digits(&sorted_sha1(parts)))
    }

    pub fn as_str(&self) -> &str {
        // Hex digits are ASCII: the check cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Compares a received hex signature with the expected one in constant time (upper-case hex
/// is accepted).
pub fn signature_matches(received: &str, parts: &[&str]) -> bool {
    let Ok(received) = <[u8; 40]>::try_from(received.as_bytes()) else {
        return false;
    };
    let expected = Signature::of(parts);
    // Eight bytes per constant-time step: subtle spends a barrier on each.
    words(&received.map(|b| b.to_ascii_lowercase()))
        .ct_eq(&words(&expected.0))
        .into()
}

fn words(hex: &[u8; 40]) -> [u64; 5] {
    let mut out = [0u64; 5];
    for (word, bytes) in out.iter_mut().zip(hex.as_chunks::<8>().0) {
        *word = u64::from_ne_bytes(*bytes);
    }
    out
}

/// SHA-1 over the parts in sorted order. A signature has three or four parts: they are sorted
/// on the stack; more would be sorted in a Vec.
fn sorted_sha1(parts: &[&str]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    let mut on_stack = [""; 4];
    let mut in_vec;
    let sorted: &mut [&str] = if parts.len() <= on_stack.len() {
        let few = &mut on_stack[..parts.len()];
        few.copy_from_slice(parts);
        few
    } else {
        in_vec = parts.to_vec();
        &mut in_vec
    };
    // Parts rarely share a first byte: comparing it first spares most comparisons a call to
    // memcmp. The order is the same (bytes, lexicographically).
    sorted.sort_unstable_by(|a, b| {
        a.bytes()
            .next()
            .cmp(&b.bytes().next())
            .then_with(|| a.cmp(b))
    });
    for part in sorted.iter() {
        hasher.update(part.as_bytes());
    }
    // Finished in place: `finalize` moves the hasher (state and block buffer) out first, and
    // reading that copy back stalled on store forwarding.
    let mut digest = Default::default();
    hasher.finalize_into_reset(&mut digest);
    digest.into()
}

/// Constant-time equality of two secrets (the length is not hidden).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Constant-time equality of two ASCII strings, letters compared case-insensitively (hex digests
/// may arrive upper-case).
pub fn constant_time_eq_ignore_ascii_case(a: &str, b: &str) -> bool {
    ct_eq_ignore_ascii_case(a.as_bytes(), b.as_bytes())
}

fn ct_eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .fold(Choice::from(1), |same, (x, y)| {
                same & x.to_ascii_lowercase().ct_eq(&y.to_ascii_lowercase())
            })
            .into()
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX_DIGITS[(b >> 4) as usize] as char);
        out.push(HEX_DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// A SHA-1 digest in lower-case hex, on the stack.
fn hex_digits(digest: &[u8; 20]) -> [u8; 40] {
    let mut out = [0u8; 40];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX_DIGITS[(b >> 4) as usize];
        pair[1] = HEX_DIGITS[(b & 0xf) as usize];
    }
    out
}

/// The AES-256 key decoded from a 43-character EncodingAESKey, expanded once for encryption
/// and decryption (the settings hold it, so a callback does no key schedule); the IV is the
/// key's first 16 bytes.
#[derive(Clone)]
pub struct AesKey {
    encrypt: aes::Aes256Enc,
    decrypt: aes::Aes256Dec,
    iv: [u8; 16],
}

impl AesKey {
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::InvalidAesKey);
        }
        // The 43rd character carries 2 bits that a strict decoder refuses unless they are zero;
        // WeChat's own reference implementations accept any, and so does forgiving base64
        // (WHATWG), which also needs no padding. It would skip whitespace too, but a key with
        // whitespace among its 43 characters then decodes short.
        let bytes = base64_simd::forgiving_decode_to_vec(encoding_aes_key.as_bytes())
            .map_err(|_| CryptoError::InvalidAesKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidAesKey)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&key[..16]);
        Ok(AesKey {
            encrypt: aes::Aes256Enc::new(&key.into()),
            decrypt: aes::Aes256Dec::new(&key.into()),
            iv,
        })
    }

    /// base64(AES-256-CBC(random16 || be32(len) || message || appid, PKCS#7 to 32 bytes)).
    pub fn encrypt(&self, random16: &[u8; 16], message: &str, appid: &str) -> String {
        STANDARD.encode_to_string(self.ciphertext(random16, message.to_owned(), appid))
    }

    /// AES-256-CBC(random16 || be32(len) || message || appid, PKCS#7 to 32 bytes): `encrypt`
    /// before base64, for a writer that encodes it in place. The message's own buffer becomes
    /// the ciphertext: a reply is moved along within it, not copied into another.
    pub fn ciphertext(&self, random16: &[u8; 16], message: String, appid: &str) -> Vec<u8> {
        let message_len = message.len();
        let body_len = 16 + 4 + message_len + appid.len();
        let pad = PAD_BLOCK - body_len % PAD_BLOCK;
        let mut buf = message.into_bytes();
        buf.resize(body_len + pad, pad as u8);
        buf.copy_within(..message_len, 20);
        let (prefix, rest) = buf.split_at_mut(20);
        prefix[..16].copy_from_slice(random16);
        prefix[16..].copy_from_slice(&(message_len as u32).to_be_bytes());
        rest[message_len..message_len + appid.len()].copy_from_slice(appid.as_bytes());
        let len = buf.len();
        let cipher = Aes256CbcEnc::inner_iv_init(&self.encrypt, &self.iv.into());
        cipher
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .expect("length is a multiple of the block size by construction");
        buf
    }

    /// Decrypts an `Encrypt` text and checks the trailing AppID against `expected_appid`.
    pub fn decrypt(
        &self,
        encrypted_b64: &str,
        expected_appid: &str,
    ) -> Result<String, CryptoError> {
        let mut buf = STANDARD
            .decode_to_vec(encrypted_b64.trim())
            .map_err(|_| CryptoError::BadBase64)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CryptoError::BadBase64);
        }
        let cipher = Aes256CbcDec::inner_iv_init(&self.decrypt, &self.iv.into());
        let plain = cipher
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::BadBase64)?;
        let pad = *plain.last().ok_or(CryptoError::BadPadding)? as usize;
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CryptoError::BadPadding);
        }
        let (content, padding) = plain.split_at(plain.len() - pad);
        if padding.iter().any(|&b| b as usize != pad) {
            return Err(CryptoError::BadPadding);
        }
        if content.len() < 20 {
            return Err(CryptoError::BadLength);
        }
        let declared =
            u32::from_be_bytes([content[16], content[17], content[18], content[19]]) as usize;
        let rest = &content[20..];
        if declared > rest.len() {
            return Err(CryptoError::BadLength);
        }
        // A plain comparison: the AppID is public (it is in every push), so its timing tells
        // nothing, and a constant-time one spends a barrier per byte.
        let appid_matches =
            std::str::from_utf8(&rest[declared..]).map(|appid| appid == expected_appid);
        // The message becomes the buffer (one move, no copy); a message that is not UTF-8 is
        // reported before anything about the AppID.
        buf.truncate(20 + declared);
        buf.drain(..20);
        let message = String::from_utf8(buf).map_err(|_| CryptoError::BadUtf8)?;
        match appid_matches {
            Ok(true) => Ok(message),
            Ok(false) => Err(CryptoError::AppIdMismatch),
            Err(_) => Err(CryptoError::BadUtf8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../tests/vectors/wechat-crypto.json")).unwrap()
    }

    fn s<'a>(v: &'a Value, k: &str) -> &'a str {
        v[k].as_str().unwrap_or_else(|| panic!("vector field {k}"))
    }

    #[test]
    fn signature_vectors() {
        let v = vectors();
        let cases = v["signature"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let mut parts = vec![s(case, "token"), s(case, "timestamp"), s(case, "nonce")];
            if let Some(e) = case["encrypt"].as_str() {
                parts.push(e);
            }
            assert_eq!(
                signature(&parts),
                s(case, "expect"),
                "{}",
                s(case, "source")
            );
            assert_eq!(Signature::of(&parts).as_str(), s(case, "expect"));
            assert!(signature_matches(s(case, "expect"), &parts));
            assert!(signature_matches(&s(case, "expect").to_uppercase(), &parts));
            if let Some(bad) = case["must_reject"].as_str() {
                assert!(!signature_matches(bad, &parts), "{}", s(case, "source"));
            }
        }
    }

    #[test]
    fn signature_sorts_parts_whatever_their_order_and_duplicates() {
        let naive = |parts: &[&str]| {
            let mut sorted = parts.to_vec();
            sorted.sort_unstable();
            hex(&Sha1::digest(sorted.concat().as_bytes()))
        };
        for parts in [
            &["b", "a", "c"][..],
            &["1700000000", "token", "42", "Encrypt+/="],
            &["x", "x", "a", "x", "b"],
            &["", "a", ""],
            &["ab", "b", "aa", "a", "ba"],
            &["ab", "b", "aa", "a"],
            &[],
        ] {
            assert_eq!(signature(parts), naive(parts), "{parts:?}");
            assert!(signature_matches(&naive(parts), parts), "{parts:?}");
        }
        assert_eq!(signature(&["a", "b"]), signature(&["b", "a"]));
        assert!(!signature_matches("", &["a"]));
        let good = signature(&["a"]);
        assert!(!signature_matches(&good[..39], &["a"]));
        assert!(!signature_matches(&format!("{good}0"), &["a"]));
        // A difference in any of the five words is seen.
        for at in [0, 7, 8, 20, 39] {
            let mut bad = good.clone().into_bytes();
            bad[at] = if bad[at] == b'0' { b'1' } else { b'0' };
            assert!(
                !signature_matches(&String::from_utf8(bad).unwrap(), &["a"]),
                "{at}"
            );
        }
    }

    #[test]
    fn case_insensitive_comparison_is_exact_otherwise() {
        assert!(constant_time_eq_ignore_ascii_case("AbC1", "aBc1"));
        assert!(!constant_time_eq_ignore_ascii_case("abc", "abd"));
        assert!(!constant_time_eq_ignore_ascii_case("abc", "abcd"));
        assert!(constant_time_eq_ignore_ascii_case("", ""));
    }

    #[test]
    fn decrypt_vectors() {
        let v = vectors();
        let cases = v["decrypt"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let src = s(case, "source");
            let parts = [
                s(case, "token"),
                s(case, "timestamp"),
                s(case, "nonce"),
                s(case, "encrypt"),
            ];
            assert!(signature_matches(s(case, "msg_signature"), &parts), "{src}");
            let key = AesKey::from_encoding_aes_key(s(case, "encoding_aes_key")).unwrap();
            let plain = key
                .decrypt(s(case, "encrypt"), s(case, "expect_appid"))
                .unwrap();
            assert_eq!(plain, s(case, "expect_plaintext"), "{src}");
            if let Some(wrong) = case["must_reject_with_appid"].as_str() {
                assert_eq!(
                    key.decrypt(s(case, "encrypt"), wrong),
                    Err(CryptoError::AppIdMismatch),
                    "{src}"
                );
            }
            if let Some(nonce) = case["must_reject_with_nonce"].as_str() {
                let parts = [
                    s(case, "token"),
                    s(case, "timestamp"),
                    nonce,
                    s(case, "encrypt"),
                ];
                assert!(
                    !signature_matches(s(case, "msg_signature"), &parts),
                    "{src}"
                );
            }
        }
    }

    #[test]
    fn encrypt_vectors() {
        let v = vectors();
        let cases = v["encrypt"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let src = s(case, "source");
            let key = AesKey::from_encoding_aes_key(s(case, "encoding_aes_key")).unwrap();
            let random16: [u8; 16] = s(case, "random16").as_bytes().try_into().unwrap();
            let enc = key.encrypt(&random16, s(case, "plaintext"), s(case, "appid"));
            assert_eq!(enc, s(case, "expect_encrypt"), "{src}");
            assert_eq!(
                key.decrypt(&enc, s(case, "appid")).unwrap(),
                s(case, "plaintext")
            );
            if let Some(sig) = case["expect_msg_signature"].as_str() {
                let parts = [
                    s(case, "token"),
                    s(case, "timestamp"),
                    s(case, "nonce"),
                    enc.as_str(),
                ];
                assert_eq!(signature(&parts), sig, "{src}");
            }
        }
    }

    fn key() -> AesKey {
        AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap()
    }

    #[test]
    fn rejects_bad_keys() {
        for bad in [
            "",
            "short",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!",
            "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH",
        ] {
            assert!(AesKey::from_encoding_aes_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_base64_and_block_length() {
        let k = key();
        assert_eq!(k.decrypt("not base64!!", "wx"), Err(CryptoError::BadBase64));
        assert_eq!(k.decrypt("", "wx"), Err(CryptoError::BadBase64));
        assert_eq!(
            k.decrypt(&STANDARD.encode_to_string([0u8; 15]), "wx"),
            Err(CryptoError::BadBase64)
        );
    }

    #[test]
    fn ciphertext_base64_must_be_canonical() {
        let k = key();
        // 320 bytes: 427 characters and one '=', the last character carrying 2 unused bits.
        let good = k.encrypt(b"0123456789abcdef", &"m".repeat(280), "wx");
        assert_eq!(good.len(), 428);
        assert!(good.ends_with('=') && !good.ends_with("=="));
        assert!(k.decrypt(&format!(" {good}\n"), "wx").is_ok());
        let last = STANDARD
            .charset()
            .iter()
            .position(|&c| c == good.as_bytes()[426]);
        let non_canonical = STANDARD.charset()[last.unwrap() | 1] as char;
        for bad in [
            format!("{}{non_canonical}=", &good[..426]),
            good.trim_end_matches('=').to_owned(),
            format!("{}=", good),
            format!("{} {}", &good[..200], &good[200..]),
            format!("{}-{}", &good[..100], &good[101..]),
        ] {
            assert_eq!(k.decrypt(&bad, "wx"), Err(CryptoError::BadBase64), "{bad}");
        }
    }

    #[test]
    fn key_bits_past_the_32nd_byte_are_ignored() {
        // G (0b000110) and E (0b000100) differ only in the 2 bits past the key's 256.
        let ignored =
            AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFE").unwrap();
        let enc = key().encrypt(b"0123456789abcdef", "same key", "wx");
        assert_eq!(ignored.decrypt(&enc, "wx").unwrap(), "same key");
    }

    /// Encrypts raw plaintext without any framing, to forge bad paddings and lengths.
    fn raw_encrypt(k: &AesKey, mut plain: Vec<u8>) -> String {
        let len = plain.len();
        let out = Aes256CbcEnc::inner_iv_init(&k.encrypt, &k.iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .unwrap();
        STANDARD.encode_to_string(out)
    }

    #[test]
    fn rejects_bad_padding() {
        let k = key();
        let mut zero_pad = vec![b'a'; 32];
        zero_pad[31] = 0;
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, zero_pad), "wx"),
            Err(CryptoError::BadPadding)
        );
        let mut too_big = vec![b'a'; 64];
        too_big[63] = 33;
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, too_big), "wx"),
            Err(CryptoError::BadPadding)
        );
        let mut inconsistent = vec![3u8; 32];
        inconsistent[30] = 2;
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, inconsistent), "wx"),
            Err(CryptoError::BadPadding)
        );
    }

    #[test]
    fn accepts_pad_bytes_above_sixteen() {
        // 16 + 4 + 1 + 2 = 23 bytes: 9 pad bytes; with 8 more message bytes, a pad of 17..=32 too.
        let k = key();
        for msg_len in 0..40 {
            let msg = "x".repeat(msg_len);
            let enc = k.encrypt(b"0123456789abcdef", &msg, "wx");
            assert_eq!(k.decrypt(&enc, "wx").unwrap(), msg);
        }
    }

    #[test]
    fn rejects_overlong_declared_length() {
        let k = key();
        let mut plain = vec![b'r'; 16];
        plain.extend_from_slice(&1000u32.to_be_bytes());
        plain.extend_from_slice(b"hello");
        let pad = 32 - plain.len() % 32;
        plain.resize(plain.len() + pad, pad as u8);
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, plain), "wx"),
            Err(CryptoError::BadLength)
        );
    }

    #[test]
    fn rejects_non_utf8_message() {
        let k = key();
        let mut plain = vec![b'r'; 16];
        plain.extend_from_slice(&2u32.to_be_bytes());
        plain.extend_from_slice(&[0xff, 0xfe]);
        plain.extend_from_slice(b"wx");
        let pad = 32 - plain.len() % 32;
        plain.resize(plain.len() + pad, pad as u8);
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, plain.clone()), "wx"),
            Err(CryptoError::BadUtf8)
        );
        // The message is judged before the AppID.
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, plain), "wxother"),
            Err(CryptoError::BadUtf8)
        );
    }

    #[test]
    fn rejects_non_utf8_appid() {
        let k = key();
        let mut plain = vec![b'r'; 16];
        plain.extend_from_slice(&2u32.to_be_bytes());
        plain.extend_from_slice(b"hi");
        plain.extend_from_slice(&[b'w', 0xff]);
        let pad = 32 - plain.len() % 32;
        plain.resize(plain.len() + pad, pad as u8);
        assert_eq!(
            k.decrypt(&raw_encrypt(&k, plain), "wx"),
            Err(CryptoError::BadUtf8)
        );
    }
}
