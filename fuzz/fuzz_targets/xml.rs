//! The XML reader on any text: never a panic; what the writer writes, the reader reads back.
#![no_main]
use kefu_edge::xml::{parse, XmlWriter};
use libfuzzer_sys::fuzz_target;

/// The characters XML 1.0 can carry (the writer drops the rest).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse(text);
    let kept: String = text.chars().filter(|&c| is_xml_char(c)).collect();
    let written = XmlWriter::new().cdata("Content", &kept).finish();
    let doc = parse(&written).expect("the writer writes well-formed XML");
    assert_eq!(doc.get("Content").unwrap_or(""), kept);
});
