//! The AES envelope: what is sealed opens to the same text; any ciphertext is refused or opened,
//! never a panic.
#![no_main]
use kefu_edge::wechat::crypto::AesKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = AesKey::from_encoding_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
    let text = String::from_utf8_lossy(data);
    let random: [u8; 16] = std::array::from_fn(|i| data.get(i).copied().unwrap_or(0));
    let sealed = key.encrypt(&random, &text, "wxfuzz");
    assert_eq!(key.decrypt(&sealed, "wxfuzz").unwrap(), text);
    assert!(key.decrypt(&sealed, "wxother").is_err());
    let _ = key.decrypt(&text, "wxfuzz");
    let _ = AesKey::from_encoding_aes_key(&text);
});
