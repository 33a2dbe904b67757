//! Staff ZNS requests and CareSoft's answers: any phone text normalises to a Vietnamese mobile
//! number in the asked form (and again to itself) or is refused; any request body is checked or
//! refused; any answer is classified, with no phone number left unmasked in its reason.
#![no_main]
use kefu_edge::http::{HttpResult, Outcome};
use kefu_edge::platforms::caresoft::{classify_zns, normalize_phone};
use kefu_edge::settings::{PhoneFormat, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (format, prefix, len) in [
        (PhoneFormat::Local, "0", 10),
        (PhoneFormat::International, "84", 11),
    ] {
        if let Ok(phone) = normalize_phone(text, format) {
            assert!(phone.starts_with(prefix) && phone.len() == len, "{phone}");
            assert!(phone.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(
                normalize_phone(&phone, format).as_deref(),
                Ok(phone.as_str())
            );
        }
    }
    let settings = Settings::from_lookup(|name| match name {
        "CARESOFT_BASE_URL" => Some("http://caresoft.test".into()),
        "CARESOFT_API_TOKEN" => Some("T".into()),
        _ => None,
    });
    let _ = kefu_edge::zns::parse(text, data.first() == Some(&b'{'), &settings);
    let status = 100 + u16::from(data.first().copied().unwrap_or(0)) * 2;
    let answer = classify_zns(&HttpResult::Response {
        status,
        body: text.to_owned(),
        retry_after: None,
    });
    if let Outcome::Permanent(reason) | Outcome::Retryable(reason) = &answer.outcome {
        let longest_digits = reason
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digits < 8, "{reason}");
    }
});
